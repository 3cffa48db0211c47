"""A locked cycle's files, generated from the ledger only (so ``--regenerate`` is byte-identical): the last step.

In the cycle's folder (default ``var/cycles/<name>``):

* ``statements.csv``: one row per recipient (``recipient_type, recipient,
  recipient_name, currency, plays, seconds, gross, admin_fee, net``); amounts
  in the currency's minor units written as decimals (GHS ``12.35``); a domestic
  payee with a balance of the cycle but no line, a row of zeros;
* ``statements/<type>-<recipient>.<currency>.html``: the statement a recipient reads (summary,
  earnings by work and station, every line explained; ``zamio.royalties.statements.shape``),
  with ``.csv``, its lines: ledger entry, play, station, UTC time, title, artist, ISRC,
  seconds, kind, share, amount as the page shows it, ``adjustment`` for plays of an earlier
  period, reason, station-local time and what the line means in words; and ``.summary.csv``,
  the page's summary (a domestic payee's down to its net payable, with its subtotals) and
  earnings by work and station;
* ``remittances.csv``: one row per partner society, in its currency;
* ``balances.csv``: what the cycle owes each recipient, domestic payees and partner societies alike
  (``payout_balances``, written at the lock): ``recipient_type, recipient, recipient_name, currency,
  gross, commission, withholding_tax, brought_forward, net_payable, carried_forward,
  minimum_payout``, exact to the unit (GHS ``1.4945``), so that on every row gross − commission −
  withholding tax + brought forward = net payable + carried forward.  For a partner society the
  gross is its remittance's ``net_in_currency``: ``remittances.csv`` rounds it to the minor unit,
  this file says what is paid now and what is carried forward to the next cycle.  Not written
  for a cycle locked before balances were kept;
* ``usage/``: the usage report of each partner society (``zamio.royalties.statements.usage``);
* ``summary.txt``: the reconciliation printed when the cycle was locked.

Nothing in a file depends on when it was written: rows are ordered, names
escaped, amounts rounded once (half-even) from exact units, and on a statement
shared out by largest remainder so that its lines add up to its total.  Every CSV file is
written by ``zamio.files.csvwrite``: a title or name a spreadsheet would run as a
formula is written with a leading ``'``; amounts stay numbers.

The lines come selected and ordered by ``zamio.royalties.statements.select``, are cut here
at each new recipient, shaped into its statement by ``zamio.royalties.statements.shape`` and
formatted by ``zamio.royalties.statements.formatting``.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from itertools import groupby
from operator import attrgetter
from pathlib import Path

from sqlalchemy import Connection

from zamio.db.engine import is_sqlite
from zamio.files import csvwrite
from zamio.files.csvwrite import Number
from zamio.royalties.statements.formatting import (
    SHIPPED,
    Formatter,
    Letterhead,
    Presentation,
    decimal_text,
    seconds_text,
)
from zamio.royalties.statements.select import (
    ItemRange,
    StatementCycle,
    balance_only,
    balance_rows,
    identifiers,
    line_item_rows,
    local_society_name,
    payouts,
    remittance_rows,
    statement_fields,
    statement_lines,
    statement_rows,
)
from zamio.royalties.statements.shape import FieldLines, Figures, Recipient, StatementLine, line_of_row, shape
from zamio.values.money import currency_exponent, from_units

STATEMENT_COLUMNS = ["recipient_type", "recipient", "recipient_name", "currency", "plays", "seconds",
                     "gross", "admin_fee", "net"]
REMITTANCE_COLUMNS = ["society_code", "society", "currency", "gross_ghs_units", "gross", "admin_fee", "net",
                      "ledger_currency", "exchange_rate", "net_in_currency"]
BALANCE_COLUMNS = ["recipient_type", "recipient", "recipient_name", "currency", "gross", "commission",
                   "withholding_tax", "brought_forward", "net_payable", "carried_forward", "minimum_payout"]


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
    return csvwrite.text(STATEMENT_COLUMNS, [
        [r.recipient_type, r.recipient_ref, r.recipient_name or "", r.currency, r.plays, seconds_text(r.seconds),
         decimal_text(r.gross, r.currency), decimal_text(r.admin_fee, r.currency), decimal_text(r.net, r.currency)]
        for r in statement_rows(conn, cycle_id)])


def remittances_csv(conn: Connection, cycle_id: int) -> str:
    """Given a cycle, return ``remittances.csv``: GHS figures and the net in the society's currency."""
    return csvwrite.text(REMITTANCE_COLUMNS, [
        [r.code, r.short_name, r.currency, r.gross, decimal_text(r.gross, r.ledger_currency),
         decimal_text(r.admin_fee, r.ledger_currency), decimal_text(r.net, r.ledger_currency), r.ledger_currency,
         Number(format(r.exchange_rate, "f")), decimal_text(r.net_in_currency, r.currency)]
        for r in remittance_rows(conn, cycle_id)])


def exact_text(units: int) -> Number:
    """Given units, return the amount exact to the unit as a plain decimal ("1.4945")."""
    return Number(format(from_units(units), "f"))


def balances_csv(conn: Connection, cycle_id: int) -> str | None:
    """Given a cycle, return ``balances.csv``: each recipient's balance, exact; None for a cycle without
    balances (locked before they were kept)."""
    found = balance_rows(conn, cycle_id)
    if not found:
        return None
    return csvwrite.text(BALANCE_COLUMNS, [
        [r.recipient_type, r.recipient_ref, r.recipient_name or "", r.currency,
         *map(exact_text, (r.gross, r.commission, r.withholding_tax, r.brought_forward, r.net_payable,
                           r.carried_forward, r.minimum))]
        for r in found])


def shaped_lines(conn: Connection, cycle: StatementCycle, items: ItemRange = (None, None)
                 ) -> Iterator[StatementLine]:
    """Given a cycle and a range of its line items, yield their statement lines in file order: on PostgreSQL
    from plain fields, elsewhere from rows (the same lines)."""
    if is_sqlite(conn):
        for row in statement_lines(conn, cycle.id, cycle.method, items):
            yield line_of_row(row, cycle.period_from)
    else:
        yield from map(FieldLines().line, statement_fields(conn, cycle, items))


_RECIPIENT = attrgetter("recipient_type", "recipient_ref", "currency")


def write_recipient_statements(conn: Connection, cycle: StatementCycle, directory: Path,
                               items: ItemRange = (None, None), presentation: Presentation = SHIPPED) -> int:
    """Given a cycle, write each recipient's statement, per currency, into ``directory`` (a folder no reader
    looks at yet: files are written in place): its page (HTML), its lines (CSV) and its summary (CSV);
    return how many statements.

    ``items`` limits it to the recipients of a range of line item ids; ``presentation`` gives the
    letterhead and the society's templates.  The domestic payees with a balance of the cycle but no line
    (``balance_only``) get a statement of their balance alone, written with the range that starts at the
    first line item (each by one process only).
    """
    formatter = Formatter(cycle, Letterhead(presentation.name or local_society_name(conn) or "",
                                            presentation.address, presentation.logo), presentation.page_template())
    known = identifiers(conn)
    figures = {_RECIPIENT(r): Figures(r.admin_fee, r.net) for r in line_item_rows(conn, cycle.id, items)}
    balances = payouts(conn, cycle.id)

    def write(kind: str, ref: str, name: str | None, currency: str, lines: list[StatementLine],
              found: Figures) -> None:
        recipient = Recipient(kind, ref, name, currency, tuple(known.get((kind, ref), ())))
        statement = shape(recipient, found, lines, balances.get((kind, ref, currency)))
        detail_csv, detail_rows = formatter.detail(statement)
        stem = f"{file_stem(kind, ref)}.{currency}"
        _write_new(directory / f"{stem}.csv", detail_csv)
        _write_new(directory / f"{stem}.summary.csv", formatter.summary_csv(statement))
        _write_new(directory / f"{stem}.html", formatter.page(statement, detail_rows))

    count = 0
    for (kind, ref, currency), group in groupby(shaped_lines(conn, cycle, items), key=_RECIPIENT):
        currency_exponent(currency)  # an unknown currency stops here, before its files
        lines = list(group)
        write(kind, ref, max((line.recipient_name for line in lines if line.recipient_name), default=None),
              currency, lines, figures[kind, ref, currency])
        count += 1
    if items[0] is None:
        for row in balance_only(conn, cycle.id):
            currency_exponent(row.currency)
            write(row.recipient_type, row.recipient_ref, row.recipient_name, row.currency, [], Figures(0, 0))
            count += 1
    return count


def _write_new(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` in one go (no temporary name: the folder is not yet in place)."""
    with open(path, "wb") as out:
        out.write(text.encode("utf-8"))
