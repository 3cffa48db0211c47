"""Listening longer to a station that plays music the catalog does not hold.

A station is captured for ``SCAN_CAPTURE_SECONDS`` every scan interval: one airing of a song
is heard for a sixth of it, and two airings of an unregistered song share audio (and so join
in the unknown index, :mod:`zamio.recognition.unknown`) only when their captures fall within
a few seconds of the same point of the song.  A station whose last capture was music with no
match (:func:`listening_stations`) is therefore captured for ``SCAN_LISTEN_SECONDS`` instead
(as much of it as the run's time left allows: up to the station's next capture when the run may
last that long), so that the index holds most of each airing and two airings share audio.  Once
a capture of it is a catalog song, talk, an advertisement or a failure, it is captured as usual
again.

A long capture is never recorded whole: it is heard in pieces of an ordinary capture's length,
back to back (:mod:`zamio.recognition.pieces`), each like an ordinary capture, and
:func:`record_pieces` records each piece as a capture of its own (its own ``capture_key``,
``started_at`` and ``seconds``; the bytes and SHA-256 of the whole capture it was cut from; the
whole capture's key as its ``hearing_key``), all in one transaction, so a run killed while
recording leaves the whole capture or none.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import Connection, func, select

from zamio.db.tables import captures
from zamio.scanning.outcomes import Heard
from zamio.scanning.records import CaptureFacts, record_capture

#: A last capture older than this many scan intervals does not count: the station was off the
#: air or failing meanwhile, and its song has ended.
RECENT_INTERVALS = 2


def listening_stations(conn: Connection, station_ids: Collection[int], now: datetime,
                       interval_seconds: float) -> set[int]:
    """Of these stations, those whose latest capture, recent (``RECENT_INTERVALS``), was music
    with no match: the ones to listen to longer."""
    if not station_ids:
        return set()
    since = now - timedelta(seconds=RECENT_INTERVALS * interval_seconds)
    latest = (select(captures.c.station_id, func.max(captures.c.started_at).label("started_at"))
              .where(captures.c.station_id.in_(sorted(station_ids)), captures.c.started_at >= since)
              .group_by(captures.c.station_id).subquery())
    query = (select(captures.c.station_id)
             .join(latest, (latest.c.station_id == captures.c.station_id)
                   & (latest.c.started_at == captures.c.started_at))
             .where(captures.c.outcome == "no_match", captures.c.content == "music"))
    return {int(station_id) for station_id in conn.execute(query).scalars()}


def record_pieces(conn: Connection, facts: CaptureFacts, heard: Heard) -> None:
    """Record each piece of a long capture (``heard.pieces``) as a capture placed at its time, all
    of them naming the long capture as their hearing (filed together: :mod:`zamio.recognition.hearings`)."""
    hearing = facts.capture_key
    for piece in heard.pieces:
        started = facts.started_at + timedelta(seconds=piece.offset_seconds)
        record_capture(conn, replace(facts, started_at=started, seconds=piece.seconds, hearing_key=hearing),
                       piece.heard)
