"""Stream titles as evidence of what a station aired: which titles name an item, and which one a recording carries.

Many stations send the title of what they air (an ICY title on the stream, RadioText on FM, kept
as ``captures.icy_title``).  A title names the item aired only where it changes with the items:
one kept on a station's consecutive captures for longer than ``TITLE_RUN_SECONDS`` (the station's
name, a programme's) names none, and one also on a capture heard as a catalog track was left on
over another song.  :func:`run_of` finds a title's run of captures; filing's sequence evidence
(``zamio.recognition.sequence``) reads pairs of captures with it; filing itself asks :func:`one_item` whether
a capture and the captures it aligned with carry one item's title (``zamio.recognition.unknown``); and
:func:`recording_title` gives the title an unknown recording's captures carry, by which the unidentified report
groups the recordings a person should listen to as possibly one song (``zamio.reports.unidentified``).

A capture keeps the last title it heard, so one across a change of song carries the next song's
title.  A recording's title is therefore read from its captures whose title did not change since
the station's capture before, where that one was heard as the recording too (the song went on
under a new title: the next item's, sent as the capture ended), and is the one more than half of
those carrying a naming title agree on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import Connection, select

from zamio.db.engine import StoredRow
from zamio.db.tables import captures, detections, unknown_captures

#: A stream title kept on a station's consecutive captures for longer than this (first capture's
#: start to last capture's end) is a station's or a programme's name, not a song's: songs aired on
#: radio rarely run past 10 minutes.
TITLE_RUN_SECONDS = 720.0


def title_key(title: str | None) -> str | None:
    """A stream title as titles are compared: blanks collapsed, case folded; None if blank."""
    key = " ".join((title or "").split()).casefold()
    return key or None


def run_of(conn: Connection, station_id: int, capture_id: int, started_at: datetime, title: str) -> list[int] | None:
    """The station's consecutive captures carrying ``title`` (a :func:`title_key`) around this capture, or None
    when they last longer than ``TITLE_RUN_SECONDS`` (first capture's start to last capture's end): then the
    title names no item."""
    c = captures.c
    near = conn.execute(select(c.id, c.started_at, c.seconds, c.icy_title)
                        .where(c.station_id == station_id,
                               c.started_at >= started_at - timedelta(seconds=TITLE_RUN_SECONDS),
                               c.started_at <= started_at + timedelta(seconds=TITLE_RUN_SECONDS))
                        .order_by(c.started_at, c.id)).all()
    first = last = [int(r.id) for r in near].index(capture_id)
    while first > 0 and title_key(near[first - 1].icy_title) == title:
        first -= 1
    while last + 1 < len(near) and title_key(near[last + 1].icy_title) == title:
        last += 1
    lasted = (near[last].started_at - near[first].started_at).total_seconds() + float(near[last].seconds or 0.0)
    # A run reaching the window's edge and going on past it lasts longer than the window's half.
    reaches_out = ((first == 0 and _title_of(_capture_beside(conn, station_id, near[first].started_at, -1)) == title)
                   or (last == len(near) - 1
                       and _title_of(_capture_beside(conn, station_id, near[last].started_at, 1)) == title))
    if lasted > TITLE_RUN_SECONDS or reaches_out:
        return None
    return [int(r.id) for r in near[first:last + 1]]


def _capture_beside(conn: Connection, station_id: int, started_at: datetime, way: int) -> StoredRow | None:
    """The station's capture (id and title) just before (``way`` -1) or just after (1) this moment, or None."""
    c = captures.c
    side, order = ((c.started_at < started_at, (c.started_at.desc(), c.id.desc())) if way < 0
                   else (c.started_at > started_at, (c.started_at, c.id)))
    return conn.execute(select(c.id, c.icy_title).where(c.station_id == station_id, side)
                        .order_by(*order).limit(1)).first()


def _title_of(capture: StoredRow | None) -> str | None:
    """A capture's title as :func:`title_key` compares it (None for no capture)."""
    return title_key(capture.icy_title) if capture is not None else None


def heard_as_track(conn: Connection, capture_id: int) -> bool:
    """Whether the capture was recognised as a catalog track."""
    matched = conn.execute(select(detections.c.id).where(detections.c.capture_id == capture_id,
                                                         detections.c.source != "unknown",
                                                         detections.c.track_id.is_not(None)).limit(1)).first()
    return matched is not None


class Runs:
    """The title runs read so far (capture id -> its run, None where its title names no item), so a report
    reading many recordings reads each run once."""

    def __init__(self) -> None:
        self._known: dict[int, list[int] | None] = {}

    def naming_run(self, conn: Connection, station_id: int, capture_id: int, started_at: datetime,
                   title: str) -> list[int] | None:
        """The capture's title run when the title names the item it holds (the run is short, and none of it was
        heard as a catalog track), else None."""
        if capture_id not in self._known:
            run = run_of(conn, station_id, capture_id, started_at, title)
            if run is not None and any(heard_as_track(conn, member) for member in run):
                run = None
            for member in run or [capture_id]:
                self._known[member] = run
        return self._known[capture_id]

    def naming(self, conn: Connection, station_id: int, capture_id: int, started_at: datetime, title: str) -> bool:
        """Whether the capture's title names the item it holds (:meth:`naming_run`)."""
        return self.naming_run(conn, station_id, capture_id, started_at, title) is not None


def one_item(conn: Connection, capture_ids: Collection[int]) -> bool:
    """Whether these captures all carry one stream title, and it names the item each holds on its station
    (:meth:`Runs.naming`): their stations say they aired one song.  A capture across the end of one song carries
    the next song's title, so it and a capture of each of the two songs agree only where the next song is the
    same on every airing (a segue aired again and again: the residual risk of sequence evidence too)."""
    wanted = set(capture_ids)
    rows = conn.execute(select(captures.c.id, captures.c.station_id, captures.c.started_at, captures.c.icy_title)
                        .where(captures.c.id.in_(sorted(wanted)))).all()
    keys = {title_key(row.icy_title) for row in rows}
    if len(rows) != len(wanted) or len(keys) != 1 or None in keys:
        return False
    key, runs = keys.pop(), Runs()
    assert key is not None
    return all(runs.naming(conn, int(row.station_id), int(row.id), row.started_at, key) for row in rows)


def _changed_within(conn: Connection, row: StoredRow, key: str, members: set[int]) -> bool:
    """Whether the title changed between the station's capture before this one and this one while both were heard
    as the recording: the song went on, so the new title is the next item's, sent as this capture ended."""
    before = _capture_beside(conn, int(row.station_id), row.started_at, -1)
    return before is not None and int(before.id) in members and _title_of(before) != key


def recording_title(conn: Connection, recording_id: int, runs: Runs | None = None) -> str | None:
    """The stream title an unknown recording carries: the naming title (:class:`Runs`) on more than half of its
    captures that carry a naming title not changed within the recording (:func:`_changed_within`), as first sent
    (blanks collapsed); None when there is none or no majority."""
    runs = runs or Runs()
    u = unknown_captures.c
    rows = conn.execute(select(u.capture_id, u.station_id, u.started_at, captures.c.icy_title)
                        .join_from(unknown_captures, captures, captures.c.id == u.capture_id)
                        .where(u.unknown_id == recording_id, u.status == "joined", captures.c.icy_title.is_not(None))
                        .order_by(u.started_at, u.capture_id)).all()
    members = {int(row.capture_id) for row in rows}
    counted: Counter[str] = Counter()
    shown: dict[str, str] = {}
    for row in rows:
        key = title_key(row.icy_title)
        if key is None or _changed_within(conn, row, key, members):
            continue
        if runs.naming(conn, int(row.station_id), int(row.capture_id), row.started_at, key):
            counted[key] += 1
            shown.setdefault(key, " ".join(row.icy_title.split()))
    if not counted:
        return None
    key, votes = counted.most_common(1)[0]
    return shown[key] if 2 * votes > sum(counted.values()) else None
