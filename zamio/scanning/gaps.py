"""Coverage gaps: time when a station had no successful capture, so "no data" is never
read as "no plays".

A station has a gap when its last successful capture (on any of its links; before the
first one, the time its first link was added) is more than ``2 × SCAN_INTERVAL_SECONDS``
old.  The gap is a ``coverage_gaps`` row (station, ``gap_from`` = that last success,
``gap_to``, reason): :func:`record_open_gaps` writes it and pushes ``gap_to`` to now at
every run while the outage lasts (keyed by station and ``gap_from``, so it is extended,
never duplicated), and :func:`close_gap` ends it at the first good capture.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, func, select

from zamio.db.engine import upsert
from zamio.db.tables import coverage_gaps, stations, stream_links

NOT_SCANNED = "not_scanned"  # no link has an error: the scanner itself did not run


def last_covered(conn: Connection, station_id: int) -> datetime | None:
    """The start of the station's latest successful capture, else when its first link was added."""
    row = conn.execute(select(func.max(stream_links.c.last_success_at), func.min(stream_links.c.created_at))
                       .where(stream_links.c.station_id == station_id)).one()
    return row[0] or row[1]


def close_gap(conn: Connection, station_id: int, covered_until: datetime | None, success_at: datetime,
              gap_seconds: float, reason: str | None) -> bool:
    """Given the station's coverage before a good capture at ``success_at``, record the gap
    between them if it is longer than ``gap_seconds``; return True if there was one."""
    if covered_until is None or success_at - covered_until <= timedelta(seconds=gap_seconds):
        return False
    upsert(conn, coverage_gaps, [{"station_id": station_id, "gap_from": covered_until, "gap_to": success_at,
                                  "reason": reason or NOT_SCANNED}], ["station_id", "gap_from"],
           update=["gap_to"])
    return True


def record_open_gaps(conn: Connection, now: datetime, gap_seconds: float) -> int:
    """Record or extend to ``now`` the gap of every active station whose coverage is older
    than ``gap_seconds``; return how many stations are in a gap."""
    links = stream_links
    covered = func.coalesce(func.max(links.c.last_success_at), func.min(links.c.created_at))
    query = (select(links.c.station_id, covered.label("covered"))
             .join(stations, stations.c.id == links.c.station_id)
             .where(stations.c.active, links.c.active)
             .group_by(links.c.station_id))
    stale = [(row.station_id, row.covered) for row in conn.execute(query)
             if row.covered is not None and now - _aware(row.covered) > timedelta(seconds=gap_seconds)]
    reasons = _reasons(conn, [station_id for station_id, _ in stale])
    rows = [{"station_id": station_id, "gap_from": _aware(since), "gap_to": now,
             "reason": reasons.get(station_id) or NOT_SCANNED} for station_id, since in stale]
    upsert(conn, coverage_gaps, rows, ["station_id", "gap_from"], update=["gap_to", "reason"])
    return len(rows)


def _reasons(conn: Connection, station_ids: list[int]) -> dict[int, str]:
    """The last error of each station's preferred failing link."""
    if not station_ids:
        return {}
    query = (select(stream_links.c.station_id, stream_links.c.last_error_reason)
             .where(stream_links.c.station_id.in_(station_ids), stream_links.c.last_error_reason.isnot(None))
             .order_by(stream_links.c.priority.desc(), stream_links.c.id.desc()))
    return {row.station_id: row.last_error_reason for row in conn.execute(query)}


def _aware(value: datetime | str) -> datetime:
    """Aggregates bypass the column type on SQLite and come back as text: parse them."""
    from zamio.db.types import parse_sqlite_time

    return parse_sqlite_time(value) if isinstance(value, str) else value
