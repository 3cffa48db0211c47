"""Writing money: pricing rows and ledger lines, idempotent, append-only, with reversals.

Keys (unique, so a re-run or a concurrent run books nothing twice):

* a pricing row: ``(play_id, version)``; version 1 is a play's first pricing, each
  recalculation that moves money adds the next version;
* a ledger line: ``p<play>:v<version>:<kind>:<recipient type>:<recipient ref>``;
* a reversal of line N, booked with version v: ``p<play>:v<v>:reversal:<N>``.

The lines of one version plus the reversals booked with it sum to
``gross − previous_gross`` of its pricing row.  A version's pricing row and its
lines are written in the same transaction, and lines are written only for
pricing rows this transaction inserted (``RETURNING``), so two runs that race on
the same play cannot mix their lines.

On PostgreSQL rows go through ``COPY`` into a temporary table and one
``INSERT … SELECT … ON CONFLICT DO NOTHING``; on SQLite (one writer at a time,
``BEGIN IMMEDIATE``) through ``INSERT … ON CONFLICT DO NOTHING``.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Table, bindparam, func, select
from sqlalchemy.dialects import sqlite as sqlite_dialect

from zamio.db import is_sqlite
from zamio.royalties.pricing import PlayPricing
from zamio.royalties.split import Line
from zamio.tables import royalty_ledger, royalty_pricings

LEDGER_COLUMNS = [c.name for c in royalty_ledger.columns if c.name != "id"]
PRICING_COLUMNS = [c.name for c in royalty_pricings.columns if c.name != "id"]


@dataclass(frozen=True)
class Previous:
    """The latest stored pricing of a play."""

    play_id: int
    version: int
    status: str
    gross: int
    outcome_hash: str
    play_date: date
    seconds: float


@dataclass(frozen=True)
class Issue:
    """A pricing outcome to book as ``version``, reversing the standing lines of ``previous``."""

    pricing: PlayPricing
    version: int
    previous: Previous | None
    reversal_reason: str | None = None


_latest = royalty_pricings.alias("latest")
LATEST_QUERY = select(
    royalty_pricings.c.play_id, royalty_pricings.c.version, royalty_pricings.c.status, royalty_pricings.c.gross,
    royalty_pricings.c.outcome_hash, royalty_pricings.c.play_date, royalty_pricings.c.seconds,
).where(
    royalty_pricings.c.play_id.in_(bindparam("ids", expanding=True)),
    royalty_pricings.c.version == select(func.max(_latest.c.version))
    .where(_latest.c.play_id == royalty_pricings.c.play_id).scalar_subquery(),
)

STANDING_QUERY = select(royalty_ledger).where(
    royalty_ledger.c.play_id.in_(bindparam("ids", expanding=True)),
    royalty_ledger.c.kind != "reversal",
    royalty_ledger.c.cycle_id.is_(None),  # pool lines belong to their cycle, not to a pricing version
).order_by(royalty_ledger.c.id)


def latest_pricings(conn: Connection, play_ids: Sequence[int]) -> dict[int, Previous]:
    """Given play ids, return the latest pricing of each play that has one, by play id."""
    if not play_ids:
        return {}
    return {row.play_id: Previous(**row._mapping) for row in conn.execute(LATEST_QUERY, {"ids": list(play_ids)})}


def standing_lines(conn: Connection, previous: Iterable[Previous]) -> dict[int, list[Any]]:
    """Given latest pricings, return the ledger lines of exactly those versions, by play id."""
    wanted = {p.play_id: p.version for p in previous}
    if not wanted:
        return {}
    found: dict[int, list[Any]] = {}
    for row in conn.execute(STANDING_QUERY, {"ids": sorted(wanted)}):
        if wanted.get(row.play_id) == row.version:
            found.setdefault(row.play_id, []).append(row)
    return found


def line_key(play_id: int, version: int, line: Line) -> str:
    """Given a play, a version and a line, return the line's unique entry key."""
    return f"p{play_id}:v{version}:{line.kind}:{line.recipient_type}:{line.recipient_ref}"


def _line_row(issue: Issue, line: Line, run_id: str, now: datetime) -> dict[str, Any]:
    pricing = issue.pricing
    seconds = float(pricing.seconds) if line.kind in ("share", "suspense", "ineligible") else 0.0
    return {
        "entry_key": line_key(pricing.play_id, issue.version, line), "play_id": pricing.play_id,
        "cycle_id": None, "version": issue.version, "kind": line.kind,
        "recipient_type": line.recipient_type, "recipient_ref": line.recipient_ref,
        "recipient_name": line.recipient_name, "society_id": line.society_id, "amount": line.amount,
        "currency": pricing.currency, "seconds": seconds, "reason": line.reason,
        "rate_card_id": pricing.rate_card_id, "reverses_id": None,
        "details": None if line.share is None else f'{{"share":"{line.share:.6f}"}}',
        "run_id": run_id, "created_at": now,
    }


def reversal_row(original: Any, play_id: int, version: int, reason: str, run_id: str,
                 now: datetime, cycle_id: int | None = None, key: str | None = None) -> dict[str, Any]:
    """Given a stored ledger line, return the line that cancels it (negated amount and seconds)."""
    return {
        "entry_key": key or f"p{play_id}:v{version}:reversal:{original.id}", "play_id": original.play_id,
        "cycle_id": cycle_id, "version": version, "kind": "reversal",
        "recipient_type": original.recipient_type, "recipient_ref": original.recipient_ref,
        "recipient_name": original.recipient_name, "society_id": original.society_id,
        "amount": -original.amount, "currency": original.currency, "seconds": -original.seconds,
        "reason": reason, "rate_card_id": original.rate_card_id, "reverses_id": original.id,
        "details": json.dumps({"reverses_kind": original.kind}), "run_id": run_id, "created_at": now,
    }


def _pricing_row(issue: Issue, run_id: str, now: datetime) -> dict[str, Any]:
    p = issue.pricing
    return {
        "play_id": p.play_id, "version": issue.version, "status": p.status, "reason": p.reason,
        "station_id": p.station_id, "play_date": p.play_date, "seconds": float(p.seconds),
        "multiplier": p.multiplier, "gross": p.gross,
        "previous_gross": issue.previous.gross if issue.previous else 0, "currency": p.currency,
        "rate_card_id": p.rate_card_id, "outcome_hash": p.outcome_hash,
        "details": json.dumps(p.details, separators=(",", ":"), sort_keys=True) if p.details else None,
        "run_id": run_id, "cycle_id": None, "created_at": now,
    }


def book(conn: Connection, issues: Sequence[Issue], standing: Mapping[int, list[Any]], run_id: str,
         now: datetime) -> list[Issue]:
    """Given outcomes to book and the standing lines of their previous versions, write them.

    Return the issues this transaction booked (an issue whose ``(play, version)`` another run
    booked first is left out, with none of its lines written).
    """
    if not issues:
        return []
    inserted = bulk_insert(conn, royalty_pricings, [_pricing_row(i, run_id, now) for i in issues],
                           ["play_id", "version"], returning="play_id")
    booked = [i for i in issues if i.pricing.play_id in inserted]
    rows = []
    for issue in booked:
        play_id = issue.pricing.play_id
        for original in standing.get(play_id, []) if issue.previous else []:
            rows.append(reversal_row(original, play_id, issue.version, issue.reversal_reason or "recalculated",
                                     run_id, now))
        rows.extend(_line_row(issue, line, run_id, now) for line in issue.pricing.lines)
    bulk_insert(conn, royalty_ledger, rows, ["entry_key"])
    return booked


def bulk_insert(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]], keys: Sequence[str],
                returning: str | None = None) -> set[Any]:
    """Insert rows, skipping those whose unique ``keys`` exist; return the ``returning`` values inserted.

    Without ``returning`` the returned set is empty.
    """
    if not rows:
        return set()
    if is_sqlite(conn):
        return _sqlite_insert(conn, table, rows, keys, returning)
    return _copy_insert(conn, table, rows, keys, returning)


def _sqlite_insert(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]], keys: Sequence[str],
                   returning: str | None) -> set[Any]:
    # SQLite has one writer at a time and every write transaction starts with BEGIN IMMEDIATE, so
    # the versions this transaction read as latest cannot have been booked by another run since:
    # every row is new, and the conflict clause only guards against a caller's mistake.
    stmt = sqlite_dialect.insert(table).on_conflict_do_nothing(index_elements=list(keys))
    conn.execute(stmt, list(rows))
    return {r[returning] for r in rows} if returning else set()


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_value(value: Any) -> str:
    """Given a Python value, return it in COPY text format (\\N for NULL, escaped text)."""
    kind = type(value)
    if value is None:
        return "\\N"
    if kind is int or kind is float:
        return str(value)
    if kind is str:
        if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
            return value.translate(_COPY_ESCAPES)
        return value
    if kind is bool:
        return "t" if value else "f"
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value).translate(_COPY_ESCAPES)


def _copy_insert(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]], keys: Sequence[str],
                 returning: str | None) -> set[Any]:
    columns = list(rows[0].keys())
    names = ", ".join(columns)
    temp = f"zamio_tmp_{table.name}"
    conn.exec_driver_sql(
        f"CREATE TEMP TABLE IF NOT EXISTS {temp} ON COMMIT DROP AS SELECT {names} FROM {table.name} WITH NO DATA")
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join(_copy_value(row[c]) for c in columns))
        buffer.write("\n")
    buffer.seek(0)
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        cursor.copy_expert(f"COPY {temp} ({names}) FROM STDIN", buffer)
    finally:
        cursor.close()
    tail = f" RETURNING {returning}" if returning else ""
    result = conn.exec_driver_sql(
        f"INSERT INTO {table.name} ({names}) SELECT {names} FROM {temp} "
        f"ON CONFLICT ({', '.join(keys)}) DO NOTHING{tail}")
    inserted = {row[0] for row in result} if returning else set()
    conn.exec_driver_sql(f"TRUNCATE {temp}")
    return inserted
