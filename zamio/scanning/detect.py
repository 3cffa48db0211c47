"""Recognise audio files against the catalog, optionally recording them as captures: the work of
``bin/detect-audio`` (``zamio/jobs/detect_audio.py``).

One process handles any number of files, so numpy, the database connection and
the fingerprint code are loaded once.  Each file gives one line of output (text,
or a JSON object with ``--json``); a file that cannot be read or decoded gives
an ``error`` and the others are still processed.

Files are heard by the scanner's own :class:`~zamio.scanning.hearing.Recogniser`:
the local catalog first, then, when ACRCloud is configured, the ACRCloud fallback
with the same run and day budgets and circuit breaker as the scan.

With ``--record --station REF --at TIME`` each file is stored by the scanner's
writer (:mod:`zamio.scanning.records`) as an uploaded snippet would be: a
``captures`` row (source ``file``, key ``file:<sha256>:<station_ref>:<time>``)
with its outcome, and for a match a ``detections`` row (source ``local`` or
``acrcloud``).  Recording the same file again for the same station and time
changes nothing.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, select

from zamio.db.tables import artists, stations, tracks
from zamio.runtime.errors import DataError, ItemError
from zamio.runtime.progress import Transactions
from zamio.scanning.outcomes import Heard
from zamio.scanning.records import CaptureFacts, record_capture, track_by_isrc

if TYPE_CHECKING:
    from zamio.recognition.acrcloud import AcrCloudResult
    from zamio.recognition.match import MatchResult
    from zamio.scanning.hearing import Recogniser

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


def recognise(transactions: Transactions, recogniser: Recogniser, path: Path,
              analyse_seconds: float) -> tuple[Detection, FileAudio, Heard]:
    """Given a file and the seconds from its start to match on, return its ``Detection``
    (an error on any item problem), its ``FileAudio`` and what ``recogniser`` heard in
    it (the local catalog, else the ACRCloud fallback it holds), as the scanner's writer
    records it."""
    from zamio.recognition import audio

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
    heard = recogniser.recognise(samples[: int(analyse_seconds * audio.ANALYSIS_RATE)])
    heard = replace(heard, seconds=seconds)  # the file's length, not the part analysed
    with transactions(read_only=True) as conn:
        if heard.local is not None:
            _fill_match(conn, result, heard.local)
        elif heard.outcome == "match" and heard.acr is not None:
            _fill_acrcloud(conn, result, heard.acr)
    if heard.outcome != "match":
        result.content = heard.content
    if heard.error is not None:
        if heard.failed:
            _failed(result, heard.error)
        else:  # ACRCloud found nothing, or was not asked: a plain no-match, with the reason
            result.message = str(heard.error)
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


def _fill_acrcloud(conn: Connection, result: Detection, answer: AcrCloudResult) -> None:
    """Fill ``result`` from ACRCloud's best candidate; the catalog track is named when
    exactly one active track has its ISRC, as the detection will name it."""
    from zamio.scanning.fallback import detection_fields

    fields = detection_fields(answer)
    result.match, result.source = True, "acrcloud"
    result.title, result.artist, result.isrc = fields["title"], fields["artist"], fields["isrc"]
    result.track_id = track_by_isrc(conn, fields["isrc"])
    if result.track_id is not None:
        result.track_ref = conn.execute(select(tracks.c.track_ref).where(tracks.c.id == result.track_id)).scalar()
    offset, confidence, score = fields["offset_seconds"], fields["confidence"], fields["score"]
    result.offset_seconds = round(offset, 3) if offset is not None else None
    result.confidence = round(confidence, 4) if confidence is not None else None
    result.score = round(score) if score is not None else None


def format_result(result: Detection, as_json: bool) -> str:
    """Return the output line of one result: a JSON object, or text for people."""
    if as_json:
        return json.dumps(asdict(result), ensure_ascii=False)
    if result.error:
        return f"{result.file}: error: {result.error}: {result.message}"
    if not result.match:
        content = f" ({result.content})" if result.content else ""
        return f"{result.file}: no match{content}" + (f": {result.message}" if result.message else "")
    if result.source == "local":
        return (f"{result.file}: {result.track_ref} {result.title!r} by {result.artist} at "
                f"{result.offset_seconds:.1f} s, speed {result.speed:.3f}, confidence {result.confidence:.3f}")
    named = f"{result.track_ref} " if result.track_ref else ""
    where = f" at {result.offset_seconds:.1f} s" if result.offset_seconds is not None else ""
    sure = f", confidence {result.confidence:.3f}" if result.confidence is not None else ""
    isrc = f" ({result.isrc})" if result.isrc else ""
    return f"{result.file}: {named}{result.title!r} by {result.artist}{isrc}{where}{sure}, by ACRCloud"


def record(conn: Connection, path: Path, file_audio: FileAudio, heard: Heard, station_id: int, station_ref: str,
           heard_at: datetime) -> None:
    """Store one file as a capture of ``station_ref`` heard at ``heard_at`` (and its
    detection if it matched); a capture already recorded under the same key is left as it is."""
    record_capture(conn, CaptureFacts(station_id=station_id, source="file", started_at=heard_at, audio=file_audio.data,
                                      station_ref=station_ref, codec=file_audio.codec,
                                      audio_path=str(path.resolve()), seconds=file_audio.seconds), heard)
