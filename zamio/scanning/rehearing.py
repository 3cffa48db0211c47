"""Hearing kept captures again once a song the catalog lacked has been named (``bin/identify-unknown``).

An unknown recording is heard only where its captures matched each other in the unknown
index; an airing heard under talk, judged speech, or heard once before the recording existed
was a ``no_match`` and nothing more.  Once the song is named as a catalog track, the kept
captures (those whose audio file this host still has: snippets and recorded files) that
matched nothing since a given moment are recognised again by the catalog's matcher
(``zamio.recognition.index.identify``: the other tracks are the rivals that set the level of
chance), and each recognised as *that* track gets a local detection
(``zamio.scanning.records.record_late_match``), from which ``bin/convert-matches`` makes
plays as usual.  A capture recognised as another track is left as it is: naming one song
decides nothing about the others.

A capture with a detection already, or filed into an unknown recording, is not heard again
(its recording's plays move by correction), so a second run writes nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, exists, or_, select

from zamio.db.tables import captures, detections, unknown_captures
from zamio.runtime.errors import ItemError
from zamio.runtime.progress import Progress, Transactions
from zamio.scanning.records import record_late_match


@dataclass(frozen=True)
class Kept:
    """A kept capture of no match: where its audio is and when it was heard."""

    capture_id: int
    station_id: int
    started_at: datetime
    audio_path: str


@dataclass
class Heard:
    """What hearing the kept captures again found."""

    checked: int = 0
    found: list[int] = field(default_factory=list)  # the captures now detections of the track
    unreadable: int = 0


def kept_no_match(conn: Connection, since: datetime, host_name: str) -> list[Kept]:
    """The captures since ``since`` that matched nothing, have no detection, belong to no unknown
    recording and whose audio file this host keeps, in the order heard."""
    filed = exists().where(unknown_captures.c.capture_id == captures.c.id, unknown_captures.c.unknown_id.is_not(None))
    detected = exists().where(detections.c.capture_id == captures.c.id)
    query = (
        select(captures.c.id, captures.c.station_id, captures.c.started_at, captures.c.audio_path)
        .where(
            captures.c.outcome == "no_match",
            captures.c.started_at >= since,
            captures.c.audio_path.is_not(None),
            or_(captures.c.audio_host.is_(None), captures.c.audio_host == host_name),
            ~filed,
            ~detected,
        )
        .order_by(captures.c.started_at, captures.c.id)
    )
    return [Kept(int(r.id), int(r.station_id), r.started_at, r.audio_path) for r in conn.execute(query)]


def hear_again(transactions: Transactions, progress: Progress, track_id: int, since: datetime, host_name: str) -> Heard:
    """Recognise the kept captures of no match since ``since`` again; write a detection of each heard as
    ``track_id``, one transaction per capture.  A file gone or unreadable is counted, never fatal."""
    from zamio.recognition.audio import decode_file
    from zamio.recognition.index import PairCache, identify

    with transactions(read_only=True) as conn:
        kept = kept_no_match(conn, since, host_name)
    heard = Heard()
    cache = PairCache()
    for capture in kept:
        if progress.should_stop():
            break
        try:
            samples = decode_file(capture.audio_path, should_stop=progress.should_stop)
        except (ItemError, OSError):
            heard.unreadable += 1
            continue
        heard.checked += 1
        with transactions() as conn:
            result = identify(conn, samples, cache)
            if result is None or result.track_id != track_id:
                continue
            if record_late_match(
                conn,
                capture.capture_id,
                capture.station_id,
                capture.started_at,
                track_id,
                float(result.offset_seconds),
                float(result.speed),
                float(result.confidence),
                float(result.score),
            ):
                heard.found.append(capture.capture_id)
    return heard
