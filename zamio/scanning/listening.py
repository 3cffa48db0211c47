"""Listening longer to a station that plays music the catalog does not hold, cut where its titles change.

A station is captured for ``SCAN_CAPTURE_SECONDS`` every scan interval, so one airing of a song is
heard at a sixth of it, and two airings of an unregistered song join in the unknown index
(:mod:`zamio.recognition.unknown`) only when their captures fall on the same seconds of the song.
A station whose last capture was music with no match, under a stream title that names its items
(:func:`listening_stations`), is captured for ``SCAN_LISTEN_SECONDS`` instead, so that the index
holds most of each airing and two airings overlap.  Once a capture of it is a catalog song, talk,
an advertisement, a failure or carries a title that names nothing, it is captured as usual again.
A run starts at most ``LONG_CAPTURES_PER_CORE`` long captures a core, so that listening never
crowds ordinary captures out of a full host.

A long capture is recorded in pieces cut where the stream's title changed while it was read
(:func:`pieces`): the station's items changed there, a few seconds either way (the title travels
beside the audio, not inside it, and the encoder's buffer delays one against the other), so
``CHANGE_MARGIN_SECONDS`` (8) either side of each change are left out and no piece holds two items.
Each piece is heard like an ordinary capture and :func:`record_pieces` records it as a capture of
its own (its own ``capture_key``, ``started_at``, ``seconds`` and title; the bytes and SHA-256 of
the whole capture it was cut from), all in one transaction, so a run killed while recording leaves
the whole capture or none.

Titles alone decide: where the sound changes inside one title (a song's quiet bridge, a presenter
over the outro) nothing is cut, so a piece is as long as the item allows.  That is why listening
needs a title that names items: a station sending its own name over everything gives no cut, and
a long capture of it could hold two songs.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import Connection, func, select

from zamio.db.tables import captures
from zamio.recognition.titles import TITLE_RUN_SECONDS, Runs, title_key
from zamio.scanning.outcomes import Heard
from zamio.scanning.records import CaptureFacts, record_capture
from zamio.streams.model import HeardTitle

#: A last capture older than this many scan intervals does not count: the station was off the
#: air or failing meanwhile, and its song has ended.
RECENT_INTERVALS = 2
#: Audio this close to a change of title is left out of a long capture's pieces: where the item
#: changed is known only to the encoder's buffer (a few seconds either way).  5 s mixed two songs
#: in one recording where titles came 6 s late (bench/hearing_filing_bench.py); 8 s did not, for
#: one song of 70 fewer in one recording where they came on time.
CHANGE_MARGIN_SECONDS = 8.0
#: A part of a long capture shorter than this is left out: a jingle or a station's name between
#: two songs, too short to identify a song anyway.
MIN_PIECE_SECONDS = 10.0
#: Long captures a run starts, per core; the other stations playing unknown music get ordinary ones.  A long
#: capture costs about 0.4 CPU-seconds more than an ordinary one (bench/results/unknown_week.md); 15 a core
#: take 6 of the 70 CPU-seconds a core gives a tick's hearing, what 1,000 stations a tick leave spare on two
#: cores (bench/results/scanning.md), so listening never costs a station its capture.
LONG_CAPTURES_PER_CORE = 15


@dataclass(frozen=True)
class Span:
    """A piece of a long capture: from ``start`` to ``end`` seconds of its audio, under ``title``."""

    start: float
    end: float
    title: str | None


def listening_stations(conn: Connection, station_ids: Collection[int], now: datetime,
                       interval_seconds: float) -> set[int]:
    """Of these stations, those to listen to longer: the latest capture, recent (``RECENT_INTERVALS``), was
    music with no match, and its stream title and the title the station sent before it both name an item."""
    if not station_ids:
        return set()
    since = now - timedelta(seconds=RECENT_INTERVALS * interval_seconds)
    latest = (select(captures.c.station_id, func.max(captures.c.started_at).label("started_at"))
              .where(captures.c.station_id.in_(sorted(station_ids)), captures.c.started_at >= since)
              .group_by(captures.c.station_id).subquery())
    rows = conn.execute(select(captures.c.id, captures.c.station_id, captures.c.started_at, captures.c.icy_title)
                        .join(latest, (latest.c.station_id == captures.c.station_id)
                              & (latest.c.started_at == captures.c.started_at))
                        .where(captures.c.outcome == "no_match", captures.c.content == "music",
                               captures.c.icy_title.is_not(None))).all()
    runs = Runs()
    return {int(row.station_id) for row in rows
            if titles_name_items(conn, int(row.station_id), int(row.id), row.started_at, row.icy_title, runs)}


def titles_name_items(conn: Connection, station_id: int, capture_id: int, started_at: datetime, title: str,
                      runs: Runs) -> bool:
    """Whether the station's titles follow its items at this capture: its title names an item (a run no longer
    than ``TITLE_RUN_SECONDS``, on no capture heard as a catalog track), and so did the different title the
    station sent before it.  A programme's name changes too, but stays on for more than that run."""
    key = title_key(title)
    run = runs.naming_run(conn, station_id, capture_id, started_at, key) if key is not None else None
    if run is None:
        return False
    c = captures.c
    before = conn.execute(select(c.id, c.started_at, c.icy_title)
                          .where(c.station_id == station_id, c.id.not_in(run),
                                 c.started_at <= started_at, c.started_at >= started_at - timedelta(
                                     seconds=2 * TITLE_RUN_SECONDS))
                          .order_by(c.started_at.desc(), c.id.desc()).limit(1)).first()
    before_key = title_key(before.icy_title) if before is not None else None
    return before is not None and before_key is not None and runs.naming(
        conn, station_id, int(before.id), before.started_at, before_key)


def pieces(seconds: float, titles: Sequence[HeardTitle], *, margin: float = CHANGE_MARGIN_SECONDS,
           shortest: float = MIN_PIECE_SECONDS) -> list[Span]:
    """The pieces of a capture of ``seconds`` between the changes of title it heard (every title after the
    first), ``margin`` seconds either side of each change left out and none shorter than ``shortest``."""
    changes = [heard for heard in titles[1:] if 0.0 < heard.at_seconds < seconds]
    titled = [titles[0].title if titles else None, *(heard.title for heard in changes)]
    bounds = [0.0, *(x for heard in changes for x in (heard.at_seconds - margin, heard.at_seconds + margin)),
              seconds]
    return [Span(round(start, 3), round(end, 3), title)
            for start, end, title in zip(bounds[::2], bounds[1::2], titled, strict=True) if end - start >= shortest]


def spans_of(seconds: float, titles: Sequence[HeardTitle], ordinary_seconds: float) -> list[Span]:
    """What to hear of a long capture: its :func:`pieces`; or, when it heard no title (a backup stream without
    them) or no piece is long enough (titles changing every few seconds), its first ``ordinary_seconds``, what an
    ordinary capture would have heard: without a change of title to cut at, a longer capture could hold two songs."""
    found = pieces(seconds, titles) if titles else []
    return found or [first_window(seconds, titles, ordinary_seconds)]


def first_window(seconds: float, titles: Sequence[HeardTitle], window: float) -> Span:
    """The first ``window`` seconds of a capture, under the last title heard by their end: an ordinary capture."""
    end = min(seconds, window)
    heard = [title.title for title in titles if title.at_seconds <= end]
    return Span(0.0, end, heard[-1] if heard else None)


def record_pieces(conn: Connection, facts: CaptureFacts, heard: Heard) -> None:
    """Record each piece of a long capture (``heard.pieces``) as a capture placed at its time, under its title."""
    for piece in heard.pieces:
        started = facts.started_at + timedelta(seconds=piece.offset_seconds)
        record_capture(conn, replace(facts, started_at=started, seconds=piece.seconds, icy_title=piece.title),
                       piece.heard)
