"""Claiming work items with leases, so several runs (on several hosts) share a queue without doing an item twice.

A queue table carries ``lease_owner``, ``lease_expires_at``, ``attempts``,
``next_attempt_at`` and ``last_error``.  :func:`claim` takes up to ``limit``
eligible rows whose lease is free or expired and stamps them with the caller
as owner, in one short transaction:

* PostgreSQL: ``SELECT ... FOR UPDATE SKIP LOCKED`` so concurrent claimers
  take disjoint rows without waiting for each other;
* SQLite: the transaction starts with ``BEGIN IMMEDIATE`` (``zamio.db.engine``), so
  claimers are serialised by the database lock.

A claimer that dies keeps its rows until the lease expires; the next claim
takes them again and ``attempts`` shows it.  After ``max_attempts`` an item is
parked by the caller for a person to look at, never retried forever.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Column, Connection, Table, and_, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from zamio.db.engine import StoredRow, is_sqlite, utcnow

#: Back-off after the n-th failure: BASE × 2^(n-1), capped.
BACKOFF_BASE_SECONDS = 60
BACKOFF_CAP_SECONDS = 6 * 3600


def backoff_seconds(attempts: int, base: float = BACKOFF_BASE_SECONDS, cap: float = BACKOFF_CAP_SECONDS) -> float:
    """Seconds to wait before retrying an item that has failed ``attempts`` times (1, 2, 4 ... × base)."""
    return min(cap, base * 2 ** max(0, attempts - 1))


def claim(
    conn: Connection,
    table: Table,
    *,
    owner: str,
    limit: int,
    lease_seconds: float,
    where: ColumnElement[bool] | None = None,
    order_by: Sequence[ColumnElement[object]] = (),
    now: datetime | None = None,
) -> list[StoredRow]:
    """Lease up to ``limit`` free, due rows of ``table`` matching ``where`` to ``owner``; return them."""
    now = now or utcnow()
    key = _key_column(table)
    due = and_(
        or_(table.c.lease_expires_at.is_(None), table.c.lease_expires_at < now),
        or_(table.c.next_attempt_at.is_(None), table.c.next_attempt_at <= now),
    )
    condition = and_(due, where) if where is not None else due
    query = select(key).where(condition).order_by(*order_by, key).limit(limit)
    if not is_sqlite(conn):
        query = query.with_for_update(skip_locked=True)
    ids = [row[0] for row in conn.execute(query)]
    if not ids:
        return []
    conn.execute(
        update(table)
        .where(key.in_(ids))
        .values(lease_owner=owner, lease_expires_at=now + timedelta(seconds=lease_seconds),
                attempts=table.c.attempts + 1)
    )
    return list(conn.execute(select(table).where(key.in_(ids)).order_by(*order_by, key)))


def release(conn: Connection, table: Table, item_id: int, owner: str, **values: object) -> bool:
    """Clear ``owner``'s lease on one row, setting ``values``; False if the lease was lost to another claimer."""
    key = _key_column(table)
    result = conn.execute(
        update(table)
        .where(key == item_id, table.c.lease_owner == owner)
        .values(lease_owner=None, lease_expires_at=None, **values)
    )
    return result.rowcount == 1


def fail(conn: Connection, table: Table, item_id: int, owner: str, attempts: int, error: str,
         **values: object) -> bool:
    """Release a failed item with its reason and the time of its next attempt (exponential back-off)."""
    retry_at = utcnow() + timedelta(seconds=backoff_seconds(attempts))
    return release(conn, table, item_id, owner, last_error=error[:2000], next_attempt_at=retry_at, **values)


def _key_column(table: Table) -> Column[int]:
    (column,) = table.primary_key.columns
    return column
