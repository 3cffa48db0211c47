"""A locked cycle's files, generated from the ledger only (so ``--regenerate`` is byte-identical).

In the cycle's folder (default ``var/cycles/<name>``):

* ``statements.csv``: one row per recipient (``recipient_type, recipient,
  recipient_name, currency, plays, seconds, gross, admin_fee, net``); amounts
  in the currency's minor units written as decimals (GHS ``12.35``);
* ``statements/<type>-<recipient>.<currency>.csv`` and ``.html``: the lines behind each
  amount: ledger entry, play, station, UTC time, title, artist, ISRC, seconds,
  kind, share, amount, and ``adjustment`` for plays of an earlier period;
* ``remittances.csv``: one row per partner society, in its currency;
* ``usage/``: the usage report of each partner society (``zamio.royalties.statements.usage``);
* ``summary.txt``: the reconciliation printed when the cycle was locked.

Nothing in a file depends on when it was written: rows are ordered, names
escaped, amounts rounded once (half-even) from exact units.  Every CSV file is
written by ``zamio.files.csvwrite``: a title or name a spreadsheet would run as a
formula is written with a leading ``'``; amounts stay numbers.

A cycle's statement lines are read by one query, ordered by recipient (the id of
its line item) and play time, and cut into a file at each new recipient.  On
PostgreSQL they come as plain fields through a server-side cursor and are
formatted by ``statement_format.formatted_lines``; on SQLite row by row by
``statement_format.reference_lines``: the same bytes (a test compares the two).
``zamio.royalties.statements.workers`` shares the recipients between processes.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    FromClause,
    Join,
    Row,
    Table,
    and_,
    case,
    func,
    literal,
    select,
)

from zamio.db.engine import is_sqlite
from zamio.db.tables import (
    artists,
    cycle_line_items,
    cycle_pricings,
    partner_remittances,
    partner_societies,
    play_logs,
    royalty_ledger,
    royalty_pricings,
    stations,
    tracks,
)
from zamio.files import csvwrite
from zamio.files.csvwrite import Number
from zamio.royalties.pricing.paid import cycle_lines
from zamio.royalties.statements.formatting import (
    LINE_HEADER,
    StatementFields,
    decimal_text,
    formatted_lines,
    html_page,
    reference_lines,
    seconds_text,
)
from zamio.values.money import currency_exponent

STATEMENT_COLUMNS = ["recipient_type", "recipient", "recipient_name", "currency", "plays", "seconds",
                     "gross", "admin_fee", "net"]
REMITTANCE_COLUMNS = ["society_code", "society", "currency", "gross_ghs_units", "gross", "admin_fee", "net",
                      "ledger_currency", "exchange_rate", "net_in_currency"]
STREAM_ROWS = 5000
ItemRange = tuple["int | None", "int | None"]  # line item ids [low, high), None for no bound


@dataclass(frozen=True)
class StatementCycle:
    """What a statement page shows of its cycle (passed to the statement workers as plain JSON)."""

    id: int
    name: str
    method: str
    period_from: date
    period_to: date

    @classmethod
    def of(cls, cycle: Row[Any]) -> StatementCycle:
        return cls(cycle.id, cycle.name, cycle.method, cycle.period_from, cycle.period_to)


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def file_stem(recipient_type: str, ref: str) -> str:
    """Given a recipient, return a safe, unique file name stem (a digest is added when the ref is altered)."""
    safe = _UNSAFE.sub("_", ref)[:80]
    if safe != ref:
        safe += "-" + hashlib.sha256(ref.encode()).hexdigest()[:8]
    return f"{recipient_type}-{safe}"


def write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(path.name + ".tmp")
    temp.write_text(text, encoding="utf-8", newline="")
    os.replace(temp, path)


def statements_csv(conn: Connection, cycle_id: int) -> str:
    """Given a cycle, return ``statements.csv`` from its line items."""
    rows = conn.execute(select(cycle_line_items).where(cycle_line_items.c.cycle_id == cycle_id).order_by(
        cycle_line_items.c.recipient_type, cycle_line_items.c.recipient_ref, cycle_line_items.c.currency))
    return csvwrite.text(STATEMENT_COLUMNS, [
        [r.recipient_type, r.recipient_ref, r.recipient_name or "", r.currency, r.plays, seconds_text(r.seconds),
         decimal_text(r.gross, r.currency), decimal_text(r.admin_fee, r.currency), decimal_text(r.net, r.currency)]
        for r in rows])


def remittances_csv(conn: Connection, cycle_id: int) -> str:
    """Given a cycle, return ``remittances.csv``: GHS figures and the net in the society's currency."""
    rows = conn.execute(
        select(partner_remittances, partner_societies.c.code, partner_societies.c.short_name,
               cycle_line_items.c.currency.label("ledger_currency"))
        .join(partner_societies, partner_societies.c.id == partner_remittances.c.society_id)
        .join(cycle_line_items, and_(cycle_line_items.c.cycle_id == partner_remittances.c.cycle_id,
                                     cycle_line_items.c.recipient_type == "society",
                                     cycle_line_items.c.recipient_ref == partner_societies.c.code))
        .where(partner_remittances.c.cycle_id == cycle_id).order_by(partner_societies.c.code))
    return csvwrite.text(REMITTANCE_COLUMNS, [
        [r.code, r.short_name, r.currency, r.gross, decimal_text(r.gross, r.ledger_currency),
         decimal_text(r.admin_fee, r.ledger_currency), decimal_text(r.net, r.ledger_currency), r.ledger_currency,
         Number(format(r.exchange_rate, "f")), decimal_text(r.net_in_currency, r.currency)]
        for r in rows])


def _line_source(cycle_id: int, method: str, items: ItemRange
                 ) -> tuple[Join, FromClause, Table, list[ColumnElement[bool]]]:
    """Given a cycle and a range of its line items, return (FROM clause, ledger lines, dated table, conditions)
    of its statement lines; each line is joined to its recipient's line item, which orders the files."""
    e: FromClause
    if method == "pool":
        e = cycle_lines(cycle_id, method)
        pricing = and_(royalty_pricings.c.play_id == e.c.play_id, royalty_pricings.c.version == e.c.version)
        lines, dated = e.outerjoin(royalty_pricings, pricing), royalty_pricings
    else:  # paid.cycle_lines, inlined: the assignments that select the lines also give their play date
        e = royalty_ledger
        lines = e.join(cycle_pricings, and_(cycle_pricings.c.play_id == e.c.play_id,
                                            cycle_pricings.c.version == e.c.version,
                                            cycle_pricings.c.cycle_id == cycle_id, e.c.cycle_id.is_(None)))
        dated = cycle_pricings
    item = cycle_line_items
    lines = (lines.join(item, and_(item.c.cycle_id == cycle_id, item.c.recipient_type == e.c.recipient_type,
                                   item.c.recipient_ref == e.c.recipient_ref, item.c.currency == e.c.currency))
             .outerjoin(play_logs, play_logs.c.id == e.c.play_id)
             .outerjoin(stations, stations.c.id == play_logs.c.station_id)
             .outerjoin(tracks, tracks.c.id == play_logs.c.track_id)
             .outerjoin(artists, artists.c.id == tracks.c.artist_id))
    low, high = items
    conditions = ([item.c.id >= low] if low is not None else []) + ([item.c.id < high] if high is not None else [])
    return lines, e, dated, conditions


def _file_order(e: FromClause) -> list[ColumnElement[Any]]:
    """Lines in file order: by recipient (its line item: sorting one integer, not three texts), then play time."""
    return [cycle_line_items.c.id, play_logs.c.started_at, e.c.id]


SECONDS_SPAN = 10_000_000_000  # more seconds than from 1970 to 2286: a play's second fits below one line item


def _sort_key() -> ColumnElement[int]:
    """PostgreSQL: line item id and play second in one integer ahead of ``_file_order``, the same order, sorted
    faster: lines of one recipient then rarely tie on the first key, which the sort compares without the row."""
    second = func.floor(func.date_part("epoch", play_logs.c.started_at)).cast(BigInteger)  # float: no numeric
    last = SECONDS_SPAN - 1  # no play time: after the others, as NULLS LAST (greatest and least skip NULLs)
    clamped = func.greatest(func.least(func.coalesce(second, last), last), 0)
    return cycle_line_items.c.id * SECONDS_SPAN + clamped


def statement_lines(conn: Connection, cycle_id: int, method: str, items: ItemRange = (None, None)
                    ) -> Iterator[Row[*tuple[Any, ...]]]:
    """Given a cycle, yield its ledger lines with their play, ordered by recipient then play time.

    ``items`` = [low, high) limits them to the recipients of a range of the cycle's line item ids.
    """
    lines, e, dated, conditions = _line_source(cycle_id, method, items)
    query = (
        select(e.c.id, e.c.play_id, e.c.kind, e.c.recipient_type, e.c.recipient_ref, e.c.recipient_name,
               e.c.amount, e.c.currency, e.c.seconds, e.c.reason, e.c.details, play_logs.c.started_at,
               stations.c.name.label("station"), dated.c.play_date,
               func.coalesce(tracks.c.title, play_logs.c.title).label("title"),
               func.coalesce(artists.c.name, play_logs.c.artist).label("artist"),
               func.coalesce(tracks.c.isrc, play_logs.c.isrc).label("isrc"))
        .select_from(lines).where(*conditions).order_by(*_file_order(e)))
    yield from conn.execute(query, execution_options={"stream_results": True, "yield_per": STREAM_ROWS})


def statement_fields(conn: Connection, cycle: StatementCycle, items: ItemRange = (None, None)
                     ) -> Iterator[StatementFields]:
    """PostgreSQL: the statement lines as plain fields for ``formatted_lines``, the time formatted here,
    read through a server-side cursor (a million rows, without building a Row object for each)."""
    lines, e, dated, conditions = _line_source(cycle.id, cycle.method, items)
    played_at = func.to_char(play_logs.c.started_at.op("AT TIME ZONE")(literal("UTC")), "FMYYYY-MM-DD HH24:MI:SS")
    query = (
        select(e.c.recipient_type, e.c.recipient_ref, e.c.currency, e.c.recipient_name, e.c.amount, e.c.seconds,
               e.c.id, e.c.play_id, stations.c.name, func.coalesce(played_at, ""),
               func.coalesce(tracks.c.title, play_logs.c.title), func.coalesce(artists.c.name, play_logs.c.artist),
               func.coalesce(tracks.c.isrc, play_logs.c.isrc), e.c.kind, e.c.details,
               case((dated.c.play_date < cycle.period_from, True), else_=False), e.c.reason)
        .select_from(lines).where(*conditions).order_by(_sort_key(), *_file_order(e)))
    compiled = query.compile(dialect=conn.dialect)
    _read_whole_cycles(conn)
    driver = conn.connection.dbapi_connection
    assert driver is not None  # the connection of an open transaction
    cursor: Any = driver.cursor(name="statement_lines")  # psycopg2's server-side cursor: the driver has no types
    try:
        cursor.itersize = STREAM_ROWS
        cursor.execute(str(compiled), compiled.params)
        yield from cursor
    finally:
        cursor.close()


def _read_whole_cycles(conn: Connection) -> None:
    """Plan this transaction's queries (PostgreSQL) for reading every line of a cycle: sorts in memory, not on
    disk; a cursor planned for all its rows, not its first tenth; and hash joins, not index probes: a few
    recipients (the ineligible plays, a large publisher) hold most lines, which the planner cannot foresee."""
    conn.exec_driver_sql("SET LOCAL work_mem = '256MB'")
    conn.exec_driver_sql("SET LOCAL cursor_tuple_fraction = 1.0")
    conn.exec_driver_sql("SET LOCAL enable_nestloop = off")


def recipient_ranges(conn: Connection, cycle_id: int, parts: int) -> list[ItemRange]:
    """Given a cycle, cut its line items into at most ``parts`` ranges of ids with about equal lines.

    A line item weighs its plays (the local society: the society lines its fees were taken
    from), so that each range has about as many statement lines to write.
    """
    rows = conn.execute(select(cycle_line_items.c.id, cycle_line_items.c.recipient_type, cycle_line_items.c.plays)
                        .where(cycle_line_items.c.cycle_id == cycle_id).order_by(cycle_line_items.c.id)).all()
    society_plays = sum(max(plays, 0) for _, kind, plays in rows if kind == "society")
    weights = [1 + (society_plays if kind == "local_society" else max(plays, 0)) for _, kind, plays in rows]
    share = sum(weights) / max(parts, 1)
    cuts: list[int] = []
    running = 0
    for (item_id, _, _), weight in zip(rows, weights):
        if running >= share * (len(cuts) + 1) and len(cuts) < parts - 1:
            cuts.append(item_id)
        running += weight
    bounds: list[int | None] = [None, *cuts, None]
    return list(zip(bounds[:-1], bounds[1:]))


def write_recipient_statements(conn: Connection, cycle: StatementCycle, directory: Path,
                               items: ItemRange = (None, None)) -> int:
    """Given a cycle, write one CSV and one HTML statement per recipient and currency into ``directory``
    (a folder no reader looks at yet: files are written in place); return how many.

    ``items`` limits it to the recipients of a range of line item ids.  On PostgreSQL the lines
    come as plain fields for ``formatted_lines``; elsewhere as rows for ``reference_lines``.
    """
    if is_sqlite(conn):
        lines = reference_lines(statement_lines(conn, cycle.id, cycle.method, items), cycle.period_from)
    else:
        lines = formatted_lines(statement_fields(conn, cycle, items))
    count = 0
    for (kind, ref, currency), group in groupby(lines, key=itemgetter(0, 1, 2)):
        currency_exponent(currency)  # an unknown currency stops here, before its files
        csv_lines, html_rows, total, name = [], [], 0, None
        for _, _, _, line_name, amount, csv_line, html_row in group:
            csv_lines.append(csv_line)
            html_rows.append(html_row)
            total += amount
            if line_name and (name is None or line_name > name):
                name = line_name
        stem = f"{file_stem(kind, ref)}.{currency}"
        _write_new(directory / f"{stem}.csv", LINE_HEADER + "".join(csv_lines))
        _write_new(directory / f"{stem}.html", html_page(cycle, (kind, ref, name), currency, html_rows, total))
        count += 1
    return count


def _write_new(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` in one go (no temporary name: the folder is not yet in place)."""
    with open(path, "wb") as out:
        out.write(text.encode("utf-8"))
