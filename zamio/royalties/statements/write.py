"""A locked cycle's files, generated from the ledger only (so ``--regenerate`` is byte-identical): the last step.

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

The lines come selected and ordered by ``zamio.royalties.statements.select``, shaped and
formatted by ``zamio.royalties.statements.formatting``, and are cut here into a file at
each new recipient.
"""

from __future__ import annotations

import hashlib
import os
import re
from itertools import groupby
from operator import itemgetter
from pathlib import Path

from sqlalchemy import Connection

from zamio.db.engine import is_sqlite
from zamio.files import csvwrite
from zamio.files.csvwrite import Number
from zamio.royalties.statements.formatting import (
    LINE_HEADER,
    decimal_text,
    formatted_lines,
    html_page,
    reference_lines,
    seconds_text,
)
from zamio.royalties.statements.select import (
    ItemRange,
    StatementCycle,
    remittance_rows,
    statement_fields,
    statement_lines,
    statement_rows,
)
from zamio.values.money import currency_exponent

STATEMENT_COLUMNS = ["recipient_type", "recipient", "recipient_name", "currency", "plays", "seconds",
                     "gross", "admin_fee", "net"]
REMITTANCE_COLUMNS = ["society_code", "society", "currency", "gross_ghs_units", "gross", "admin_fee", "net",
                      "ledger_currency", "exchange_rate", "net_in_currency"]


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
