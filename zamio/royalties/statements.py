"""A locked cycle's files, generated from the ledger only (so ``--regenerate`` is byte-identical).

In the cycle's folder (default ``var/cycles/<name>``):

* ``statements.csv``: one row per recipient (``recipient_type, recipient,
  recipient_name, currency, plays, seconds, gross, admin_fee, net``); amounts
  in the currency's minor units written as decimals (GHS ``12.35``);
* ``statements/<type>-<recipient>.<currency>.csv`` and ``.html``: the lines behind each
  amount: ledger entry, play, station, UTC time, title, artist, ISRC, seconds,
  kind, share, amount, and ``adjustment`` for plays of an earlier period;
* ``remittances.csv``: one row per partner society, in its currency;
* ``usage/``: the usage report of each partner society (``zamio.royalties.usage_reports``);
* ``summary.txt``: the reconciliation printed when the cycle was locked.

Nothing in a file depends on when it was written: rows are ordered, names
escaped, amounts rounded once (half-even) from exact units.
"""

from __future__ import annotations

import csv
import hashlib
import html
import io
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from itertools import groupby
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, and_, func, select, tuple_

from zamio.db import is_sqlite
from zamio.money import currency_exponent, minor_units
from zamio.royalties.closing import cycle_entries
from zamio.tables import (artists, cycle_line_items, partner_remittances, partner_societies, play_logs,
                          royalty_ledger, royalty_pricings, stations, tracks)

STATEMENT_COLUMNS = ["recipient_type", "recipient", "recipient_name", "currency", "plays", "seconds",
                     "gross", "admin_fee", "net"]
LINE_COLUMNS = ["entry_id", "play_id", "station", "played_at_utc", "title", "artist", "isrc", "seconds",
                "kind", "share_percent", "amount", "adjustment", "reason"]
REMITTANCE_COLUMNS = ["society_code", "society", "currency", "gross_ghs_units", "gross", "admin_fee", "net",
                      "ledger_currency", "exchange_rate", "net_in_currency"]
STREAM_ROWS = 5000
Recipient = tuple[str, str]  # (recipient_type, recipient_ref)
RecipientRange = tuple[Recipient | None, Recipient | None]  # [low, high), None for no bound


@dataclass(frozen=True)
class StatementCycle:
    """What a statement page shows of its cycle (passed to the statement workers as plain JSON)."""

    id: int
    name: str
    method: str
    period_from: date
    period_to: date

    @classmethod
    def of(cls, cycle: Any) -> StatementCycle:
        return cls(cycle.id, cycle.name, cycle.method, cycle.period_from, cycle.period_to)


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def decimal_text(units: int, currency: str) -> str:
    """Given units and a currency, return the amount in minor units as a plain decimal ("-12.35")."""
    exponent = currency_exponent(currency)
    minor = minor_units(units, currency)
    if exponent == 0:
        return str(minor)
    whole, fraction = divmod(abs(minor), 10**exponent)
    return f"{'-' if minor < 0 else ''}{whole}.{fraction:0{exponent}d}"


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


def csv_text(header: list[str], rows: list[list[Any]]) -> str:
    """Given a header and rows, return CSV text with "\\n" line ends."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def statements_csv(conn: Connection, cycle_id: int) -> str:
    """Given a cycle, return ``statements.csv`` from its line items."""
    rows = conn.execute(select(cycle_line_items).where(cycle_line_items.c.cycle_id == cycle_id).order_by(
        cycle_line_items.c.recipient_type, cycle_line_items.c.recipient_ref, cycle_line_items.c.currency))
    return csv_text(STATEMENT_COLUMNS, [
        [r.recipient_type, r.recipient_ref, r.recipient_name or "", r.currency, r.plays, f"{r.seconds:.3f}",
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
    return csv_text(REMITTANCE_COLUMNS, [
        [r.code, r.short_name, r.currency, r.gross, decimal_text(r.gross, r.ledger_currency),
         decimal_text(r.admin_fee, r.ledger_currency), decimal_text(r.net, r.ledger_currency), r.ledger_currency,
         format(r.exchange_rate, "f"), decimal_text(r.net_in_currency, r.currency)]
        for r in rows])


def statement_lines(conn: Connection, cycle_id: int, method: str,
                    recipients: RecipientRange = (None, None)) -> Iterator[Any]:
    """Given a cycle, yield its ledger lines with their play, ordered by recipient then play time.

    ``recipients`` = [low, high) limits them to a range of (recipient_type, recipient_ref),
    compared as the database orders them, so that ranges cut between two recipients' lines.
    """
    if method == "pool":
        e = cycle_entries(cycle_id, method)
        pricing = and_(royalty_pricings.c.play_id == e.c.play_id, royalty_pricings.c.version == e.c.version)
        lines = e.outerjoin(royalty_pricings, pricing)
    else:  # the pricings that select the lines also give their play date: one join, not two
        e = royalty_ledger
        lines = e.join(royalty_pricings, and_(royalty_pricings.c.play_id == e.c.play_id,
                                              royalty_pricings.c.version == e.c.version,
                                              royalty_pricings.c.cycle_id == cycle_id, e.c.cycle_id.is_(None)))
    query = (
        select(e.c.id, e.c.play_id, e.c.kind, e.c.recipient_type, e.c.recipient_ref, e.c.recipient_name,
               e.c.amount, e.c.currency, e.c.seconds, e.c.reason, e.c.details, play_logs.c.started_at,
               stations.c.name.label("station"), royalty_pricings.c.play_date,
               func.coalesce(tracks.c.title, play_logs.c.title).label("title"),
               func.coalesce(artists.c.name, play_logs.c.artist).label("artist"),
               func.coalesce(tracks.c.isrc, play_logs.c.isrc).label("isrc"))
        .select_from(lines)
        .outerjoin(play_logs, play_logs.c.id == e.c.play_id)
        .outerjoin(stations, stations.c.id == play_logs.c.station_id)
        .outerjoin(tracks, tracks.c.id == play_logs.c.track_id)
        .outerjoin(artists, artists.c.id == tracks.c.artist_id)
        .order_by(e.c.recipient_type, e.c.recipient_ref, e.c.currency, play_logs.c.started_at, e.c.id))
    low, high = recipients
    if low is not None:
        query = query.where(tuple_(e.c.recipient_type, e.c.recipient_ref) >= tuple_(*low))
    if high is not None:
        query = query.where(tuple_(e.c.recipient_type, e.c.recipient_ref) < tuple_(*high))
    if not is_sqlite(conn):
        conn.exec_driver_sql("SET LOCAL work_mem = '256MB'")  # sort a month of lines in memory, not on disk
    yield from conn.execute(query, execution_options={"stream_results": True, "yield_per": STREAM_ROWS})


def _utc_text(when: datetime | None) -> str:
    """Given a play's start, return it as ``YYYY-MM-DD HH:MM:SS`` (as stored: UTC), or "" if unknown."""
    if when is None:
        return ""
    if when.year < 1000:  # isoformat pads the year to four digits, strftime does not
        return when.strftime("%Y-%m-%d %H:%M:%S")
    return when.isoformat(" ")[:19]


def _line_cells(line: Any, period_from: date) -> list[str]:
    share = ""
    if line.details and '"share"' in line.details:
        share = line.details.split('"share":"', 1)[1].split('"', 1)[0]
    adjustment = "adjustment" if line.play_date is not None and line.play_date < period_from else ""
    return [str(line.id), str(line.play_id or ""), line.station or "", _utc_text(line.started_at), line.title or "",
            line.artist or "", line.isrc or "", f"{line.seconds:.3f}", line.kind, share,
            decimal_text(line.amount, line.currency), adjustment, line.reason or ""]


class _Escaper(dict):
    """html.escape, remembered per distinct text: station names, titles and artists repeat on every page."""

    def __missing__(self, text: str) -> str:
        escaped = self[text] = html.escape(text)
        return escaped


ESCAPED_CELLS = (2, 4, 5, 6, 8, 9, 11, 12)  # the text cells; ids, times, seconds and amounts are plain ASCII


def _html_row(cells: list[str], escape: _Escaper) -> str:
    shown = cells.copy()
    for i in ESCAPED_CELLS:
        shown[i] = escape[shown[i]]
    return "<tr><td>" + "</td><td>".join(shown) + "</td></tr>"


def _html_page(cycle: Any, recipient: tuple[str, str, str | None], currency: str, rows: list[str],
               total: int) -> str:
    kind, ref, name = recipient
    esc = html.escape
    head = "".join(f"<th>{esc(c)}</th>" for c in LINE_COLUMNS)
    body = "\n".join(rows)
    title = f"{esc(cycle.name)}: statement for {esc(name or ref)}"
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{title}</title>\n<style>body{{font-family:sans-serif}}table{{border-collapse:collapse}}"
        "td,th{border:1px solid #ccc;padding:2px 6px}td:nth-child(11){text-align:right}</style></head>\n"
        f"<body><h1>{title}</h1>\n<p>{esc(kind)} {esc(ref)}, period {cycle.period_from} to {cycle.period_to}, "
        f"{len(rows)} lines, total {esc(currency)} {esc(decimal_text(total, currency))}</p>\n"
        f"<table><thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody></table></body></html>\n")


def recipient_ranges(conn: Connection, cycle_id: int, parts: int) -> list[RecipientRange]:
    """Given a cycle, cut its recipients into at most ``parts`` contiguous ranges of about equal lines.

    A recipient weighs its plays (the local society: the society lines its fees were taken
    from), so that each range has about as many statement lines to write.
    """
    rows = conn.execute(select(cycle_line_items.c.recipient_type, cycle_line_items.c.recipient_ref,
                               func.sum(cycle_line_items.c.plays))
                        .where(cycle_line_items.c.cycle_id == cycle_id)
                        .group_by(cycle_line_items.c.recipient_type, cycle_line_items.c.recipient_ref)
                        .order_by(cycle_line_items.c.recipient_type, cycle_line_items.c.recipient_ref)).all()
    society_plays = sum(max(int(plays), 0) for kind, _, plays in rows if kind == "society")
    weights = [1 + (society_plays if kind == "local_society" else max(int(plays), 0)) for kind, _, plays in rows]
    share = sum(weights) / max(parts, 1)
    cuts: list[Recipient] = []
    running = 0
    for (kind, ref, _), weight in zip(rows, weights):
        if running >= share * (len(cuts) + 1) and len(cuts) < parts - 1:
            cuts.append((kind, ref))
        running += weight
    bounds: list[Recipient | None] = [None, *cuts, None]
    return list(zip(bounds[:-1], bounds[1:]))


def write_recipient_statements(conn: Connection, cycle: Any, folder: Path,
                               recipients: RecipientRange = (None, None)) -> int:
    """Given a cycle, write one CSV and one HTML statement per recipient and currency; return how many.

    ``recipients`` limits it to a range of them (see ``statement_lines``).
    """
    count = 0
    escape = _Escaper()
    lines = statement_lines(conn, cycle.id, cycle.method, recipients)
    (folder / "statements").mkdir(parents=True, exist_ok=True)
    for (kind, ref, currency), group in groupby(lines, key=lambda ln: (ln.recipient_type, ln.recipient_ref,
                                                                       ln.currency)):
        group = list(group)
        cells = [_line_cells(line, cycle.period_from) for line in group]
        total = sum(line.amount for line in group)
        name = max((line.recipient_name for line in group if line.recipient_name), default=None)
        stem = f"{file_stem(kind, ref)}.{currency}"
        write_text(folder / "statements" / f"{stem}.csv", csv_text(LINE_COLUMNS, cells))
        rows = [_html_row(c, escape) for c in cells]
        write_text(folder / "statements" / f"{stem}.html", _html_page(cycle, (kind, ref, name), currency, rows,
                                                                      total))
        count += 1
    return count
