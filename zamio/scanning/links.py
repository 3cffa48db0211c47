"""Stream links: which one to scan next, and their health after a scan.

Choosing a link (:func:`claim_links`): a link is scanned when its station is active,
it is active and due (``next_due_at``), it is not backing off (``next_attempt_at``)
and no other host holds it.  One link per station: the lowest ``priority`` (0 is the
primary) among the station's active links that are not backing off, and none while
another link of the station is leased.  So the backup takes over as soon as the
primary fails, and the primary is tried again when its back-off ends.  Claims are
ordered by ``next_due_at``: a link left due when a run ran out of time is first next
run.  On PostgreSQL ``FOR UPDATE SKIP LOCKED`` lets several hosts claim at once.

Scanning named stations now (:func:`claim_station_links`, ``--station``): the
station's preferred link is leased whether it is due or backing off (a person asked
for it), but never while any link of the station is leased: a scan in progress
elsewhere is left to finish.

Health (:func:`link_succeeded`, :func:`link_failed`): a success resets the failure
count and makes every link of the station due one scan interval after the capture
started; a failure counts, records its reason and backs the link off for
``interval × 2^(failures-1)`` seconds, at most ``LINK_BACKOFF_CAP_SECONDS``.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Connection, and_, exists, or_, select, update

from zamio.db.engine import StoredRow, utcnow
from zamio.db.tables import stations, stream_links
from zamio.runtime import leases
from zamio.runtime.errors import UsageError
from zamio.scanning.settings import LINK_BACKOFF_CAP_SECONDS

ERROR_MESSAGE_MAX_CHARS = 2000


@dataclass(frozen=True)
class Link:
    """A claimed stream link and what the scan needs to know about its station."""

    id: int
    station_id: int
    station_ref: str
    station_name: str
    contact_email: str | None
    url: str
    priority: int
    consecutive_failures: int
    last_success_at: datetime | None
    alerted_at: datetime | None
    last_error_reason: str | None = None


def claim_links(conn: Connection, *, owner: str, limit: int, lease_seconds: float,
                exclude: Collection[int] = (), now: datetime | None = None) -> list[Link]:
    """Lease up to ``limit`` due links, one per station, to ``owner``; return them.

    ``exclude`` lists link ids already handled in this run (a dry run rolls its
    writes back, so without it the same links would come back forever).
    """
    now = now or utcnow()
    where = _eligible(now)
    if exclude:
        where = and_(where, stream_links.c.id.notin_(list(exclude)))
    rows = leases.claim(conn, stream_links, owner=owner, limit=limit, lease_seconds=lease_seconds,
                        where=where, order_by=[stream_links.c.next_due_at.asc().nulls_first(),
                                               stream_links.c.priority], now=now)
    if not rows:
        return []
    station_rows = conn.execute(select(stations.c.id, stations.c.station_ref, stations.c.name,
                                       stations.c.contact_email)
                                .where(stations.c.id.in_({r.station_id for r in rows})))
    by_id = {s.id: s for s in station_rows}
    return [_link(row, by_id[row.station_id]) for row in rows]


def stations_named(conn: Connection, refs: Collection[str]) -> tuple[int, ...]:
    """Given station refs, return their ids in the same order; raise UsageError naming
    every ref that is unknown, or whose station is inactive or has no active link."""
    rows = conn.execute(select(stations.c.id, stations.c.station_ref, stations.c.active,
                               exists().where(stream_links.c.station_id == stations.c.id,
                                              stream_links.c.active).label("has_link"))
                        .where(stations.c.station_ref.in_(list(refs)))).all()
    found = {row.station_ref: row for row in rows}
    unknown = [ref for ref in refs if ref not in found]
    if unknown:
        raise UsageError(f"no station with station_ref {', '.join(unknown)}; check the references")
    idle = [ref for ref in refs if not found[ref].active or not found[ref].has_link]
    if idle:
        raise UsageError(f"station {', '.join(idle)}: inactive or without an active stream link; "
                         "nothing to scan")
    return tuple(found[ref].id for ref in refs)


def claim_station_links(conn: Connection, *, owner: str, station_ids: Collection[int], lease_seconds: float,
                        now: datetime | None = None) -> tuple[list[Link], list[str]]:
    """Lease the preferred link of each station to ``owner``, due or not; return the links
    claimed and the refs of the stations left alone because one of their links is leased.

    The preferred link is the lowest ``priority`` among the active links not backing
    off, else the lowest ``priority`` of all (every link backing off: retry the primary).
    """
    now = now or utcnow()
    if not station_ids:
        return [], []
    rows = conn.execute(select(stream_links).where(stream_links.c.station_id.in_(list(station_ids)),
                                                   stream_links.c.active)
                        .order_by(stream_links.c.priority, stream_links.c.id)).all()
    station_rows = {s.id: s for s in conn.execute(
        select(stations.c.id, stations.c.station_ref, stations.c.name, stations.c.contact_email)
        .where(stations.c.id.in_(list(station_ids))))}
    claimed, busy = [], []
    for station_id in station_ids:
        own = [row for row in rows if row.station_id == station_id]
        chosen = _preferred(own, now)
        if chosen is None:
            continue
        if _lease_if_station_free(conn, chosen.id, station_id, owner, lease_seconds, now):
            claimed.append(_link(chosen, station_rows[station_id]))
        else:
            busy.append(station_rows[station_id].station_ref)
    return claimed, busy


def _preferred(rows: list[StoredRow], now: datetime) -> StoredRow | None:
    """The link a person asking for a scan now means: the first not backing off, else the first."""
    ready = [row for row in rows if row.next_attempt_at is None or row.next_attempt_at <= now]
    candidates = ready or rows
    return candidates[0] if candidates else None


def _lease_if_station_free(conn: Connection, link_id: int, station_id: int, owner: str,
                           lease_seconds: float, now: datetime) -> bool:
    """Lease one link unless a link of its station is leased (compare and set: two
    claimers racing for the same row cannot both win)."""
    other = stream_links.alias("other")
    station_leased = exists().where(other.c.station_id == station_id, other.c.lease_expires_at > now)
    result = conn.execute(update(stream_links)
                          .where(stream_links.c.id == link_id, ~station_leased)
                          .values(lease_owner=owner, lease_expires_at=now + timedelta(seconds=lease_seconds),
                                  attempts=stream_links.c.attempts + 1))
    return result.rowcount == 1


def _eligible(now: datetime) -> ColumnElement[bool]:
    other = stream_links.alias("other")
    not_backing_off = or_(other.c.next_attempt_at.is_(None), other.c.next_attempt_at <= now)
    preferred_exists = exists().where(
        other.c.station_id == stream_links.c.station_id, other.c.active, not_backing_off,
        or_(other.c.priority < stream_links.c.priority,
            and_(other.c.priority == stream_links.c.priority, other.c.id < stream_links.c.id)))
    sibling_leased = exists().where(
        other.c.station_id == stream_links.c.station_id, other.c.id != stream_links.c.id,
        other.c.lease_expires_at > now)
    station_active = exists().where(stations.c.id == stream_links.c.station_id, stations.c.active)
    return and_(stream_links.c.active, station_active,
                or_(stream_links.c.next_due_at.is_(None), stream_links.c.next_due_at <= now),
                ~preferred_exists, ~sibling_leased)


def _link(row: StoredRow, station: StoredRow) -> Link:
    return Link(id=row.id, station_id=row.station_id, station_ref=station.station_ref,
                station_name=station.name, contact_email=station.contact_email, url=row.url,
                priority=row.priority, consecutive_failures=row.consecutive_failures,
                last_success_at=row.last_success_at, alerted_at=row.alerted_at,
                last_error_reason=row.last_error_reason)


def release_unscanned(conn: Connection, link: Link, owner: str) -> None:
    """Give back a claimed link that was not scanned (the run stopped): it stays due, and
    the claim is not counted as an attempt."""
    leases.release(conn, stream_links, link.id, owner, attempts=stream_links.c.attempts - 1)


def link_succeeded(conn: Connection, link: Link, owner: str, *, started_at: datetime,
                   attempted_at: datetime, interval_seconds: float) -> bool:
    """Record a good capture on ``link``; make its station's links due one interval after
    ``started_at``.  Return False if the lease had been lost (the capture is kept anyway)."""
    due = started_at + timedelta(seconds=interval_seconds)
    kept = leases.release(conn, stream_links, link.id, owner, next_due_at=due, consecutive_failures=0,
                          last_success_at=started_at, last_attempt_at=attempted_at, last_error_reason=None,
                          last_error=None, alerted_at=None, attempts=0, next_attempt_at=None)
    conn.execute(update(stream_links)
                 .where(stream_links.c.station_id == link.station_id, stream_links.c.id != link.id,
                        or_(stream_links.c.next_due_at.is_(None), stream_links.c.next_due_at < due))
                 .values(next_due_at=due))
    return kept


def link_failed(conn: Connection, link: Link, owner: str, *, reason: str, message: str,
                attempted_at: datetime, interval_seconds: float) -> int:
    """Record a failed scan of ``link`` and back it off; return its consecutive failures.

    ``next_due_at`` is left as it was, so the station's backup link is due at once.
    """
    failures = link.consecutive_failures + 1
    retry_at = attempted_at + timedelta(seconds=backoff_seconds(failures, interval_seconds))
    leases.release(conn, stream_links, link.id, owner, consecutive_failures=failures,
                   last_attempt_at=attempted_at, last_error_reason=reason,
                   last_error=message[:ERROR_MESSAGE_MAX_CHARS], next_attempt_at=retry_at)
    return failures


def backoff_seconds(failures: int, interval_seconds: float) -> float:
    """Seconds a link waits after its ``failures``-th failure in a row: one scan interval,
    doubling, at most LINK_BACKOFF_CAP_SECONDS."""
    return leases.backoff_seconds(failures, base=interval_seconds, cap=LINK_BACKOFF_CAP_SECONDS)


def mark_alerted(conn: Connection, link: Link, at: datetime) -> None:
    """Remember that the outage of ``link`` has been announced."""
    conn.execute(update(stream_links).where(stream_links.c.id == link.id).values(alerted_at=at))
