"""Recognise audio files against the catalog, optionally recording them as captures: the work of
``bin/detect-audio`` (``zamio/jobs/detect_audio.py``).

One process handles any number of files, so numpy, the database connection and
the fingerprint code are loaded once.  Each file gives one line of output (text,
or a JSON object with ``--json``); a file that cannot be read or decoded gives
an ``error`` and the others are still processed.

With ``--record --station REF --at TIME`` each file is stored by the scanner's
writer (:mod:`zamio.scanning.records`) as an uploaded snippet would be: a
``captures`` row (source ``file``, key ``file:<sha256>:<station_ref>:<time>``)
with its outcome, and for a match a ``detections`` row (source ``local``).
Recording the same file again for the same station and time changes nothing.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, select

from zamio.db.tables import artists, stations, tracks
from zamio.runtime.errors import DataError, ItemError
from zamio.runtime.progress import Transactions
from zamio.scanning.outcomes import Heard
from zamio.scanning.records import CaptureFacts, record_capture

if TYPE_CHECKING:
    from zamio.recognition.index import PairCache
    from zamio.recognition.match import MatchResult

DEFAULT_ANALYSE_SECONDS = 30.0  # a longer file is recognised from its start
MAX_FILE_SECONDS = 3 * 3600.0
DECODE_TIMEOUT_SECONDS = 120


@dataclass
class Detection:
    """The result for one file: a match (track fields set) or none, or an error."""

    file: str
    match: bool = False
    track_id: int | None = None
    track_ref: str | None = None
    title: str | None = None
    artist: str | None = None
    isrc: str | None = None
    offset_seconds: float | None = None
    speed: float | None = None
    confidence: float | None = None
    score: int | None = None
    seconds: float | None = None
    source: str = "local"
    content: str | None = None  # for no match: music, speech or noise (zamio.recognition.content)
    error: str | None = None
    message: str | None = None


def find_station(conn: Connection, station_ref: str) -> int:
    """Return the id of the station ``station_ref``; raise DataError if there is none."""
    found = conn.execute(select(stations.c.id).where(stations.c.station_ref == station_ref)).scalar()
    if found is None:
        raise DataError(f"no station with station_ref {station_ref!r}; import it with import-catalog --stations")
    return found


@dataclass(frozen=True)
class FileAudio:
    """What was read of a file: its bytes (empty when it could not be read), format and
    decoded length in seconds."""

    data: bytes = field(default=b"", repr=False)
    codec: str | None = None
    seconds: float = 0.0


def recognise(transactions: Transactions, path: Path, analyse_seconds: float,
              cache: PairCache | None = None) -> tuple[Detection, FileAudio, Heard]:
    """Given a file, the seconds from its start to match on (and a ``PairCache`` kept
    across files, or None), return its ``Detection`` (an error on any item problem), its
    ``FileAudio`` and what was heard in it, as the scanner's writer records it."""
    from zamio.recognition import audio
    from zamio.recognition.index import identify
    from zamio.scanning.hearing import judged

    result = Detection(file=str(path))
    try:
        data = audio.read_file(path)
    except OSError as error:
        unreadable = ItemError(f"cannot read {path} ({error.strerror})", "audio_missing")
        return _failed(result, unreadable), FileAudio(), Heard("error", error=unreadable, failed=True)
    except ItemError as refused:  # a device, FIFO, folder or oversized file: not read at all
        return _failed(result, refused), FileAudio(), Heard("error", error=refused, failed=True)
    codec = audio.probe_codec(data)
    try:
        samples = audio.decode_file(path, max_seconds=MAX_FILE_SECONDS, timeout_seconds=DECODE_TIMEOUT_SECONDS)
    except ItemError as error:
        outcome = "silence" if isinstance(error, audio.SilentAudio) else "error"
        return _failed(result, error), FileAudio(data, codec), Heard(outcome, error=error, failed=True)
    seconds = samples.size / audio.ANALYSIS_RATE
    result.seconds = round(seconds, 3)
    with transactions(read_only=True) as conn:
        found = identify(conn, samples[: int(analyse_seconds * audio.ANALYSIS_RATE)], cache)
        if found is not None:
            _fill_match(conn, result, found)
    if found is not None:
        return result, FileAudio(data, codec, seconds), Heard("match", seconds, local=found)
    heard = judged(Heard("no_match", seconds), samples[: int(analyse_seconds * audio.ANALYSIS_RATE)])
    result.content = heard.content
    return result, FileAudio(data, codec, seconds), heard


def _failed(result: Detection, error: ItemError) -> Detection:
    result.error, result.message = error.reason, str(error)
    return result


def _fill_match(conn: Connection, result: Detection, found: MatchResult) -> None:
    row = conn.execute(select(tracks.c.track_ref, tracks.c.title, tracks.c.isrc, artists.c.name)
                       .join(artists, artists.c.id == tracks.c.artist_id).where(tracks.c.id == found.track_id)).first()
    result.match = True
    result.track_id = found.track_id
    if row is not None:
        result.track_ref, result.title, result.isrc, result.artist = row
    result.offset_seconds = round(found.offset_seconds, 3)
    result.speed = round(found.speed, 4)
    result.confidence = round(found.confidence, 4)
    result.score = found.score


def format_result(result: Detection, as_json: bool) -> str:
    """Return the output line of one result: a JSON object, or text for people."""
    if as_json:
        return json.dumps(asdict(result), ensure_ascii=False)
    if result.error:
        return f"{result.file}: error: {result.error}: {result.message}"
    if not result.match:
        return f"{result.file}: no match" + (f" ({result.content})" if result.content else "")
    return (f"{result.file}: {result.track_ref} {result.title!r} by {result.artist} at {result.offset_seconds:.1f} s, "
            f"speed {result.speed:.3f}, confidence {result.confidence:.3f}")


def record(conn: Connection, path: Path, file_audio: FileAudio, heard: Heard, station_id: int, station_ref: str,
           heard_at: datetime) -> None:
    """Store one file as a capture of ``station_ref`` heard at ``heard_at`` (and its
    detection if it matched); a capture already recorded under the same key is left as it is."""
    record_capture(conn, CaptureFacts(station_id=station_id, source="file", started_at=heard_at, audio=file_audio.data,
                                      station_ref=station_ref, codec=file_audio.codec,
                                      audio_path=str(path.resolve()), seconds=file_audio.seconds), heard)
