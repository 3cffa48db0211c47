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
A batch's pricing rows and lines are written as COPY text straight from its
issues, one formatted string per row, the parts a recipient's lines share
formatted once (``_line_parts``); ``_copy_text`` formats any other rows column by
column.  Both give the same text for the same row (a test holds them to it).
On SQLite (one writer at a time, ``BEGIN IMMEDIATE``) through
``INSERT … ON CONFLICT DO NOTHING``.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any, NamedTuple, cast

from sqlalchemy import Connection, Table, bindparam, select
from sqlalchemy.dialects import sqlite as sqlite_dialect

from zamio.db.engine import StoredRow, is_sqlite
from zamio.db.tables import royalty_ledger, royalty_pricings
from zamio.royalties.pricing.price import PlayPricing
from zamio.royalties.pricing.split import Line

LEDGER_COLUMNS = [c.name for c in royalty_ledger.columns if c.name != "id"]
PRICING_COLUMNS = [c.name for c in royalty_pricings.columns if c.name != "id"]


class Previous(NamedTuple):
    """The latest stored pricing of a play."""

    play_id: int
    version: int
    status: str
    gross: int
    outcome_hash: str
    play_date: date
    seconds: float


class Issue(NamedTuple):
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


def standing_lines(conn: Connection, previous: Iterable[Previous]) -> dict[int, list[StoredRow]]:
    """Given latest pricings, return the ledger lines of exactly those versions, by play id."""
    wanted = {p.play_id: p.version for p in previous}
    if not wanted:
        return {}
    found: dict[int, list[StoredRow]] = {}
    for row in conn.execute(STANDING_QUERY, {"ids": sorted(wanted)}):
        if wanted.get(row.play_id) == row.version:
            found.setdefault(row.play_id, []).append(row)
    return found


def line_key(play_id: int, version: int, line: Line) -> str:
    """Given a play, a version and a line, return the line's unique entry key."""
    return f"p{play_id}:v{version}:{line.kind}:{line.recipient_type}:{line.recipient_ref}"


# An admin fee does not count the seconds; money declared non-distributable keeps those it was held for.
PAID_SECONDS_KINDS = frozenset(("share", "suspense", "ineligible", "non_distributable"))
_NULL = "\\N"  # NULL in COPY text
_COPY_SPECIALS = re.compile(r"[\\\t\n\r]")
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _line_values(issue: Issue, line: Line, seconds: float, run_id: str, now: datetime) -> tuple[object, ...]:
    """Given an issue and one of its lines, return the ledger row in LEDGER_COLUMNS order."""
    pricing = issue.pricing
    kind = line.kind
    return (
        f"p{pricing.play_id}:v{issue.version}:{kind}:{line.recipient_type}:{line.recipient_ref}", pricing.play_id,
        None, issue.version, kind, line.recipient_type, line.recipient_ref, line.recipient_name, line.society_id,
        line.amount, pricing.currency, seconds if kind in PAID_SECONDS_KINDS else 0.0, line.reason,
        pricing.rate_card_id, None, None if line.share is None else f'{{"share":"{line.share:.6f}"}}', run_id, now,
    )


def reversal_row(original: StoredRow, play_id: int, version: int, reason: str, run_id: str,
                 now: datetime, cycle_id: int | None = None, key: str | None = None) -> dict[str, object]:
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


def _pricing_values(issue: Issue, run_id: str, now: datetime) -> tuple[object, ...]:
    """Given an issue, return its pricing row in PRICING_COLUMNS order."""
    p = issue.pricing
    return (
        p.play_id, issue.version, p.status, p.reason, p.station_id, p.play_date, float(p.seconds), p.multiplier,
        p.gross, issue.previous.gross if issue.previous else 0, p.currency, p.rate_card_id, p.outcome_hash,
        p.details or None, run_id, None, now,
    )


def book(conn: Connection, issues: Sequence[Issue], standing: Mapping[int, list[StoredRow]], run_id: str,
         now: datetime) -> list[Issue]:
    """Given outcomes to book and the standing lines of their previous versions, write them.

    Return the issues this transaction booked (an issue whose ``(play, version)`` another run
    booked first is left out, with none of its lines written).
    """
    if not issues:
        return []
    if is_sqlite(conn):
        inserted = insert_rows(conn, royalty_pricings, PRICING_COLUMNS,
                               [_pricing_values(i, run_id, now) for i in issues], ["play_id", "version"],
                               returning="play_id")
        booked = [i for i in issues if i.pricing.play_id in inserted]
        rows = [row for issue in booked for row in _ledger_values(issue, standing, run_id, now)]
        insert_rows(conn, royalty_ledger, LEDGER_COLUMNS, rows, ["entry_key"])
        return booked
    pricing_rows, line_rows = _issue_texts(issues, standing, run_id, now)
    clashed = _copy_insert(conn, royalty_pricings, PRICING_COLUMNS, "".join(pricing_rows), ["play_id", "version"],
                           "play_id")
    if clashed is None:
        booked = list(issues)
    else:
        booked = [i for i in issues if i.pricing.play_id in clashed]
        line_rows = [rows for i, rows in zip(issues, line_rows) if i.pricing.play_id in clashed]
    _copy_insert(conn, royalty_ledger, LEDGER_COLUMNS, "".join(line_rows), ["entry_key"])
    return booked


def _reversal_values(issue: Issue, standing: Mapping[int, list[StoredRow]], run_id: str,
                     now: datetime) -> list[tuple[object, ...]]:
    """Given an issue, return the reversals of its previous version's standing lines, as ledger rows."""
    if issue.previous is None:
        return []
    play_id = issue.pricing.play_id
    return [tuple(reversal_row(original, play_id, issue.version, issue.reversal_reason or "recalculated",
                               run_id, now)[c] for c in LEDGER_COLUMNS)
            for original in standing.get(play_id, [])]


def _ledger_values(issue: Issue, standing: Mapping[int, list[StoredRow]], run_id: str,
                   now: datetime) -> list[tuple[object, ...]]:
    """Given an issue, return its ledger rows: the reversals it books, then its own lines."""
    seconds = float(issue.pricing.seconds)
    return _reversal_values(issue, standing, run_id, now) + [
        _line_values(issue, line, seconds, run_id, now) for line in issue.pricing.lines]


def _issue_texts(issues: Sequence[Issue], standing: Mapping[int, list[StoredRow]], run_id: str,
                 now: datetime) -> tuple[list[str], list[str]]:
    """Given issues, the standing lines of their previous versions, the run and its clock, return
    per issue its pricing row and its ledger rows (reversals, then lines) in COPY text.

    The same text as ``_copy_text`` of ``_pricing_values`` and ``_ledger_values``, written row by
    row: what the lines of one recipient share is formatted once (``_line_parts``).
    """
    clock = now.isoformat()
    pricing_last = f"{_text(run_id)}\t{_NULL}\t{clock}\n"  # run_id, cycle_id, created_at
    line_last = f"{_text(run_id)}\t{clock}\n"  # run_id, created_at
    pricing_rows, line_rows = [], []
    for issue in issues:
        p = issue.pricing
        play, version, seconds = p.play_id, issue.version, str(float(p.seconds))
        card = _NULL if p.rate_card_id is None else p.rate_card_id
        currency = _optional_text(p.currency)
        pricing_rows.append(
            f"{play}\t{version}\t{_optional_text(p.status)}\t{_optional_text(p.reason)}\t{p.station_id}\t"
            f"{p.play_date.isoformat()}\t{seconds}\t{_NULL if p.multiplier is None else format(p.multiplier, 'f')}\t"
            f"{p.gross}\t{issue.previous.gross if issue.previous else 0}\t{currency}\t{card}\t{p.outcome_hash}\t"
            f"{_text(p.details) if p.details else _NULL}\t{pricing_last}")
        rows = [_copy_text(_reversal_values(issue, standing, run_id, now))] if issue.previous else []
        for line in p.lines:
            key, columns, paid, reason, details = _line_parts(line[:4] + line[5:])
            rows.append(f"p{play}:v{version}:{key}\t{play}\t{_NULL}\t{version}\t{columns}\t{line.amount}\t"
                        f"{currency}\t{seconds if paid else '0.0'}\t{reason}\t{card}\t{_NULL}\t{details}\t"
                        f"{line_last}")
        line_rows.append("".join(rows))
    return pricing_rows, line_rows


@lru_cache(maxsize=1 << 16)
def _line_parts(line: tuple[str, str, str, str | None, int | None, str | None, Decimal | None]
                ) -> tuple[str, str, bool, str, str]:
    """Given a line without its amount, return what every line of that recipient and kind writes:
    (entry key suffix, columns kind to society_id, whether it counts the seconds, reason, details),
    in COPY text."""
    kind, recipient_type, recipient_ref, recipient_name, society_id, reason, share = line
    key = _text(f"{kind}:{recipient_type}:{recipient_ref}")
    columns = "\t".join((_text(kind), _text(recipient_type), _text(recipient_ref),
                         _NULL if recipient_name is None else _text(recipient_name),
                         _NULL if society_id is None else str(society_id)))
    details = _NULL if share is None else _text(f'{{"share":"{share:.6f}"}}')
    return key, columns, kind in PAID_SECONDS_KINDS, _optional_text(reason), details


@lru_cache(maxsize=1024)
def _optional_text(value: str | None) -> str:
    """Given a text of few values (a status, a reason code, a currency) or None, return it in COPY text."""
    return _NULL if value is None else _text(value)


def _text(value: str) -> str:
    """Given a text, return it in COPY text format (tab, line breaks and backslash escaped)."""
    return value.translate(_COPY_ESCAPES) if _COPY_SPECIALS.search(value) else value


def bulk_insert(conn: Connection, table: Table, rows: Sequence[Mapping[str, object]], keys: Sequence[str],
                returning: str | None = None) -> set[object]:
    """Insert rows, skipping those whose unique ``keys`` exist; return the ``returning`` values inserted.

    Without ``returning`` the returned set is empty.
    """
    if not rows:
        return set()
    columns = list(rows[0].keys())
    return insert_rows(conn, table, columns, [tuple(row[c] for c in columns) for row in rows], keys, returning)


def insert_rows(conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[tuple[object, ...]],
                keys: Sequence[str], returning: str | None = None) -> set[object]:
    """``bulk_insert`` for rows given as tuples in ``columns`` order."""
    if not rows:
        return set()
    if is_sqlite(conn):
        return _sqlite_insert(conn, table, columns, rows, keys, returning)
    clashed = _copy_insert(conn, table, columns, _copy_text(rows), keys, returning)
    if not returning:
        return set()
    if clashed is not None:
        return clashed
    at = list(columns).index(returning)
    return {row[at] for row in rows}


def _sqlite_insert(conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[tuple[object, ...]],
                   keys: Sequence[str], returning: str | None) -> set[object]:
    # SQLite has one writer at a time and every write transaction starts with BEGIN IMMEDIATE, so
    # the versions this transaction read as latest cannot have been booked by another run since:
    # every row is new, and the conflict clause only guards against a caller's mistake.
    stmt = sqlite_dialect.insert(table).on_conflict_do_nothing(index_elements=list(keys))
    conn.execute(stmt, [dict(zip(columns, row)) for row in rows])
    if not returning:
        return set()
    at = list(columns).index(returning)
    return {row[at] for row in rows}


def _value_text(value: Any) -> str:
    """Given a Python value, return it in COPY text format (\\N for NULL, escaped text)."""
    kind = type(value)
    if value is None:
        return _NULL
    if kind is int or kind is float:
        return str(value)
    if kind is str:
        return _text(value)
    if kind is bool:
        return "t" if value else "f"
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value).translate(_COPY_ESCAPES)


def _column_text(values: tuple[object, ...]) -> Sequence[str]:
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
        return [_NULL] * len(values)
    if kinds <= _NUMBERS:
        return [(_NULL if v is None else str(v)) for v in values] if nullable else list(map(str, values))
    if kinds == _TEXT:
        texts = cast("tuple[str | None, ...]", values)
        present = [v for v in texts if v is not None] if nullable else cast("tuple[str, ...]", values)
        if _COPY_SPECIALS.search("".join(present)) is None:
            return [(_NULL if v is None else v) for v in texts] if nullable else present
    return [_value_text(v) for v in values]


_NONE = type(None)
_NUMBERS = frozenset((int, float))
_TEXT = frozenset((str,))


def _copy_text(rows: Sequence[tuple[object, ...]]) -> str:
    """Given rows of Python values, return them in COPY text format, one line per row."""
    if not rows:
        return ""
    columns = [_column_text(values) for values in zip(*rows)]
    return "\n".join(map("\t".join, zip(*columns))) + "\n"


COPY_CHUNK = 1 << 20  # characters handed to the driver per read: a batch's rows in a few calls


def _copy_from(conn: Connection, table_name: str, columns: Sequence[str], text: str) -> None:
    driver = conn.connection.dbapi_connection
    assert driver is not None  # the connection of an open transaction
    cursor: Any = driver.cursor()  # psycopg2's, for its copy_expert: the driver has no types
    try:
        cursor.copy_expert(f"COPY {table_name} ({', '.join(columns)}) FROM STDIN", io.StringIO(text), COPY_CHUNK)
    finally:
        cursor.close()


def _copy_insert(conn: Connection, table: Table, columns: Sequence[str], text: str, keys: Sequence[str],
                 returning: str | None = None) -> set[object] | None:
    """Given rows as COPY text, insert them, skipping those whose unique ``keys`` exist.

    Return None when every row went in, else the ``returning`` values of the rows inserted
    (an empty set without ``returning``).
    """
    # Rows are nearly always all new (a clash needs two runs on the same plays at once): COPY them
    # straight into the table under a savepoint, and only if a unique key clashes, roll back to it
    # and take the slower path that skips the rows already there.
    from psycopg2.errors import UniqueViolation  # type: ignore[import-untyped]  # only PostgreSQL comes here; no stubs

    if not text:
        return None
    savepoint = conn.begin_nested()
    try:
        _copy_from(conn, table.name, columns, text)
    except UniqueViolation:
        savepoint.rollback()
        return _copy_insert_skipping(conn, table, columns, text, keys, returning)
    savepoint.commit()
    return None


def _copy_insert_skipping(conn: Connection, table: Table, columns: Sequence[str], text: str,
                          keys: Sequence[str], returning: str | None) -> set[object]:
    names = ", ".join(columns)
    temp = f"zamio_tmp_{table.name}"
    conn.exec_driver_sql(
        f"CREATE TEMP TABLE IF NOT EXISTS {temp} ON COMMIT DROP AS SELECT {names} FROM {table.name} WITH NO DATA")
    _copy_from(conn, temp, columns, text)
    tail = f" RETURNING {returning}" if returning else ""
    result = conn.exec_driver_sql(
        f"INSERT INTO {table.name} ({names}) SELECT {names} FROM {temp} "
        f"ON CONFLICT ({', '.join(keys)}) DO NOTHING{tail}")
    inserted = {row[0] for row in result} if returning else set()
    conn.exec_driver_sql(f"TRUNCATE {temp}")
    return inserted
