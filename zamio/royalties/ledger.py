"""Writing money: pricing rows and ledger lines, idempotent, append-only, with reversals.

Keys (unique, so a re-run or a concurrent run books nothing twice):

* a pricing row: ``(play_id, version)``; version 1 is a play's first pricing, each
  recalculation that moves money adds the next version;
* a ledger line: ``p<play>:v<version>:<kind>:<recipient type>:<recipient ref>``;
* a reversal of line N, booked with version v: ``p<play>:v<v>:reversal:<N>``.

The lines of one version plus the reversals booked with it sum to
``gross − previous_gross`` of its pricing row.  A version's pricing row and its
lines are written in the same transaction, and lines are written only for
pricing rows this transaction inserted (all of them, or those ``RETURNING``
gives), so two runs that race on the same play cannot mix their lines.

On PostgreSQL rows go by ``COPY`` straight into their table under a savepoint;
if a unique key clashes (another run booked the same plays first) the savepoint
is rolled back and the rows go through a temporary table and one
``INSERT … SELECT … ON CONFLICT DO NOTHING``, which skips the rows already there.
On SQLite (one writer at a time, ``BEGIN IMMEDIATE``) through
``INSERT … ON CONFLICT DO NOTHING``.
"""

from __future__ import annotations

import io
import json
import re
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


STANDING_QUERY = select(royalty_ledger).where(
    royalty_ledger.c.play_id.in_(bindparam("ids", expanding=True)),
    royalty_ledger.c.kind != "reversal",
    royalty_ledger.c.cycle_id.is_(None),  # pool lines belong to their cycle, not to a pricing version
).order_by(royalty_ledger.c.id)


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


PAID_SECONDS_KINDS = frozenset(("share", "suspense", "ineligible"))  # an admin fee does not count the seconds


def _line_values(issue: Issue, line: Line, seconds: float, run_id: str, now: datetime) -> tuple:
    """Given an issue and one of its lines, return the ledger row in LEDGER_COLUMNS order."""
    pricing = issue.pricing
    kind = line.kind
    return (
        f"p{pricing.play_id}:v{issue.version}:{kind}:{line.recipient_type}:{line.recipient_ref}", pricing.play_id,
        None, issue.version, kind, line.recipient_type, line.recipient_ref, line.recipient_name, line.society_id,
        line.amount, pricing.currency, seconds if kind in PAID_SECONDS_KINDS else 0.0, line.reason,
        pricing.rate_card_id, None, None if line.share is None else f'{{"share":"{line.share:.6f}"}}', run_id, now,
    )


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


_COMPACT_JSON = json.JSONEncoder(separators=(",", ":"), sort_keys=True)  # json.dumps with these options


def _pricing_values(issue: Issue, run_id: str, now: datetime) -> tuple:
    """Given an issue, return its pricing row in PRICING_COLUMNS order."""
    p = issue.pricing
    return (
        p.play_id, issue.version, p.status, p.reason, p.station_id, p.play_date, float(p.seconds), p.multiplier,
        p.gross, issue.previous.gross if issue.previous else 0, p.currency, p.rate_card_id, p.outcome_hash,
        _COMPACT_JSON.encode(p.details) if p.details else None, run_id, None, now,
    )


def book(conn: Connection, issues: Sequence[Issue], standing: Mapping[int, list[Any]], run_id: str,
         now: datetime) -> list[Issue]:
    """Given outcomes to book and the standing lines of their previous versions, write them.

    Return the issues this transaction booked (an issue whose ``(play, version)`` another run
    booked first is left out, with none of its lines written).
    """
    if not issues:
        return []
    inserted = insert_rows(conn, royalty_pricings, PRICING_COLUMNS,
                           [_pricing_values(i, run_id, now) for i in issues], ["play_id", "version"],
                           returning="play_id")
    booked = [i for i in issues if i.pricing.play_id in inserted]
    rows = []
    for issue in booked:
        play_id = issue.pricing.play_id
        for original in standing.get(play_id, []) if issue.previous else []:
            reversal = reversal_row(original, play_id, issue.version, issue.reversal_reason or "recalculated",
                                    run_id, now)
            rows.append(tuple(reversal[c] for c in LEDGER_COLUMNS))
        seconds = float(issue.pricing.seconds)
        rows.extend(_line_values(issue, line, seconds, run_id, now) for line in issue.pricing.lines)
    insert_rows(conn, royalty_ledger, LEDGER_COLUMNS, rows, ["entry_key"])
    return booked


def bulk_insert(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]], keys: Sequence[str],
                returning: str | None = None) -> set[Any]:
    """Insert rows, skipping those whose unique ``keys`` exist; return the ``returning`` values inserted.

    Without ``returning`` the returned set is empty.
    """
    if not rows:
        return set()
    columns = list(rows[0].keys())
    return insert_rows(conn, table, columns, [tuple(row[c] for c in columns) for row in rows], keys, returning)


def insert_rows(conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[tuple],
                keys: Sequence[str], returning: str | None = None) -> set[Any]:
    """``bulk_insert`` for rows given as tuples in ``columns`` order."""
    if not rows:
        return set()
    if is_sqlite(conn):
        return _sqlite_insert(conn, table, columns, rows, keys, returning)
    return _copy_insert(conn, table, columns, rows, keys, returning)


def _sqlite_insert(conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[tuple],
                   keys: Sequence[str], returning: str | None) -> set[Any]:
    # SQLite has one writer at a time and every write transaction starts with BEGIN IMMEDIATE, so
    # the versions this transaction read as latest cannot have been booked by another run since:
    # every row is new, and the conflict clause only guards against a caller's mistake.
    stmt = sqlite_dialect.insert(table).on_conflict_do_nothing(index_elements=list(keys))
    conn.execute(stmt, [dict(zip(columns, row)) for row in rows])
    if not returning:
        return set()
    at = list(columns).index(returning)
    return {row[at] for row in rows}


_COPY_SPECIALS = re.compile(r"[\\\t\n\r]")
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _value_text(value: Any) -> str:
    """Given a Python value, return it in COPY text format (\\N for NULL, escaped text)."""
    kind = type(value)
    if value is None:
        return "\\N"
    if kind is int or kind is float:
        return str(value)
    if kind is str:
        return value.translate(_COPY_ESCAPES) if _COPY_SPECIALS.search(value) else value
    if kind is bool:
        return "t" if value else "f"
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value).translate(_COPY_ESCAPES)


def _column_text(values: tuple) -> Sequence[str]:
    """Given one column's values, return them in COPY text format, a whole column at a time.

    A column is mostly of one type (ids, keys, the run's clock), so the common cases are
    formatted by C loops; anything else goes value by value through ``_value_text``.
    """
    first = values[0]
    if type(first) is datetime and all(v is first for v in values):  # the run's clock, on every row
        return [first.isoformat()] * len(values)
    kinds = set(map(type, values))
    nullable = _NONE in kinds
    kinds.discard(_NONE)
    if not kinds:
        return ["\\N"] * len(values)
    if kinds <= _NUMBERS:
        return [("\\N" if v is None else str(v)) for v in values] if nullable else list(map(str, values))
    if kinds == _TEXT:
        present = [v for v in values if v is not None] if nullable else values
        if _COPY_SPECIALS.search("".join(present)) is None:
            return [("\\N" if v is None else v) for v in values] if nullable else values
    return [_value_text(v) for v in values]


_NONE = type(None)
_NUMBERS = frozenset((int, float))
_TEXT = frozenset((str,))


def _copy_text(rows: Sequence[tuple]) -> str:
    """Given rows of Python values, return them in COPY text format, one line per row."""
    if not rows:
        return ""
    columns = [_column_text(values) for values in zip(*rows)]
    return "\n".join(map("\t".join, zip(*columns))) + "\n"


def _copy_from(conn: Connection, table_name: str, columns: Sequence[str], rows: Sequence[tuple]) -> None:
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        cursor.copy_expert(f"COPY {table_name} ({', '.join(columns)}) FROM STDIN", io.StringIO(_copy_text(rows)))
    finally:
        cursor.close()


def _copy_insert(conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[tuple],
                 keys: Sequence[str], returning: str | None) -> set[Any]:
    # Rows are nearly always all new (a clash needs two runs on the same plays at once): COPY them
    # straight into the table under a savepoint, and only if a unique key clashes, roll back to it
    # and take the slower path that skips the rows already there.
    from psycopg2.errors import UniqueViolation  # only PostgreSQL comes here

    savepoint = conn.begin_nested()
    try:
        _copy_from(conn, table.name, columns, rows)
    except UniqueViolation:
        savepoint.rollback()
        return _copy_insert_skipping(conn, table, columns, rows, keys, returning)
    savepoint.commit()
    if not returning:
        return set()
    at = list(columns).index(returning)
    return {row[at] for row in rows}


def _copy_insert_skipping(conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[tuple],
                          keys: Sequence[str], returning: str | None) -> set[Any]:
    names = ", ".join(columns)
    temp = f"zamio_tmp_{table.name}"
    conn.exec_driver_sql(
        f"CREATE TEMP TABLE IF NOT EXISTS {temp} ON COMMIT DROP AS SELECT {names} FROM {table.name} WITH NO DATA")
    _copy_from(conn, temp, columns, rows)
    tail = f" RETURNING {returning}" if returning else ""
    result = conn.exec_driver_sql(
        f"INSERT INTO {table.name} ({names}) SELECT {names} FROM {temp} "
        f"ON CONFLICT ({', '.join(keys)}) DO NOTHING{tail}")
    inserted = {row[0] for row in result} if returning else set()
    conn.exec_driver_sql(f"TRUNCATE {temp}")
    return inserted
