"""How a statement looks: amounts, the cells of a line in CSV and HTML, the HTML page (no database here).

A statement line has the cells of ``LINE_COLUMNS``.  Text cells are written by
``zamio.files.csvwrite`` in the CSV file (quoted, and a formula-like title or name
neutralised) and escaped by ``html.escape`` in the HTML file; amounts are shown
in the currency's minor units, rounded half-even once (``decimal_text``), as
numbers; times are ``YYYY-MM-DD HH:MM:SS`` in UTC.

Two ways to format the lines, with the same bytes:

* ``reference_lines`` formats each line from its database row, cell by cell, as
  written above (used on SQLite, and by the tests as the reference);
* ``formatted_lines`` is for the million lines of a large cycle: it takes plain
  fields (the time already formatted by the database) and formats each distinct
  station, title, artist, kind, share, amount and seconds once, with the same
  functions, then builds the line from the remembered cells.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from zamio.files import csvwrite
from zamio.files.csvwrite import Number
from zamio.values.money import currency_exponent, minor_units

if TYPE_CHECKING:
    from sqlalchemy import Row

    from zamio.royalties.statements.select import StatementCycle

LINE_COLUMNS = ["entry_id", "play_id", "station", "played_at_utc", "title", "artist", "isrc", "seconds",
                "kind", "share_percent", "amount", "adjustment", "reason"]
ESCAPED_CELLS = (2, 4, 5, 6, 8, 9, 11, 12)  # the text cells; ids, times, seconds and amounts are plain ASCII
SHARE_KEY = '"share":"'  # how a ledger line's details hold its share (percent, six places)
# A formatted line: (recipient_type, recipient_ref, currency, recipient_name, amount, csv_line, html_row).
FormattedLine = tuple[str, str, str, "str | None", int, str, str]
# A statement line as plain fields (``formatted_lines``): recipient_type, recipient_ref, currency, recipient_name,
# amount, seconds, entry_id, play_id, station, played_at_utc, title, artist, isrc, kind, details, is_adjustment, reason.
StatementFields = tuple[str, str, str, "str | None", int, float, int, "int | None", "str | None", str, "str | None",
                        "str | None", "str | None", str, "str | None", bool, "str | None"]


def decimal_text(units: int, currency: str) -> Number:
    """Given units and a currency, return the amount in minor units as a plain decimal ("-12.35")."""
    exponent = currency_exponent(currency)
    minor = minor_units(units, currency)
    if exponent == 0:
        return Number(minor)
    whole, fraction = divmod(abs(minor), 10**exponent)
    return Number(f"{'-' if minor < 0 else ''}{whole}.{fraction:0{exponent}d}")


def seconds_text(seconds: float) -> Number:
    """Given played seconds, return them with three places ("120.000"; a reversal's "-120.000")."""
    return Number(f"{seconds:.3f}")


LINE_HEADER = csvwrite.text(LINE_COLUMNS, [])


def utc_text(when: datetime | None) -> str:
    """Given a play's start, return it as ``YYYY-MM-DD HH:MM:SS`` (as stored: UTC), or "" if unknown."""
    if when is None:
        return ""
    if when.year < 1000:  # isoformat pads the year to four digits, strftime does not
        return when.strftime("%Y-%m-%d %H:%M:%S")
    return when.isoformat(" ")[:19]


def share_text(details: str | None) -> Number:
    """Given a ledger line's details, return its share ("" if it has none, as a reversal)."""
    if details and SHARE_KEY in details:
        return Number(details.split(SHARE_KEY, 1)[1].split('"', 1)[0])
    return Number("")


def line_cells(line: Row[Any], period_from: date) -> list[str]:
    """Given a statement line's row (ledger line, play, station, track, play date), return its cells."""
    adjustment = "adjustment" if line.play_date is not None and line.play_date < period_from else ""
    return [str(line.id), str(line.play_id or ""), line.station or "", utc_text(line.started_at), line.title or "",
            line.artist or "", line.isrc or "", seconds_text(line.seconds), line.kind, share_text(line.details),
            decimal_text(line.amount, line.currency), adjustment, line.reason or ""]


class _Escaper(dict):
    """html.escape, remembered per distinct text: station names, titles and artists repeat on every page."""

    def __missing__(self, text: str) -> str:
        escaped = self[text] = html.escape(text)
        return escaped


def html_row(cells: list[str], escape: _Escaper) -> str:
    """Given a line's cells, return its HTML table row, text cells escaped."""
    shown = cells.copy()
    for i in ESCAPED_CELLS:
        shown[i] = escape[shown[i]]
    return "<tr><td>" + "</td><td>".join(shown) + "</td></tr>"


def reference_lines(rows: Iterable[Row[Any]], period_from: date) -> Iterator[FormattedLine]:
    """Given statement line rows in file order, yield them formatted, cell by cell."""
    escape = _Escaper()
    csv_lines = csvwrite.Lines()
    for line in rows:
        cells = line_cells(line, period_from)
        yield (line.recipient_type, line.recipient_ref, line.currency, line.recipient_name, line.amount,
               csv_lines.row(cells), html_row(cells, escape))


class _TextCells(dict):
    """A text's CSV cell (as ``csvwrite`` writes it) and HTML cell, remembered per distinct text."""

    def __init__(self) -> None:
        super().__init__({None: ("", "")})
        self._lines = csvwrite.Lines()

    def __missing__(self, text: str) -> tuple[str, str]:
        cells = self[text] = (self._lines.cell(text), html.escape(text))
        return cells


class _ShareCells(_TextCells):
    """The share cells of a ledger line's details, remembered per distinct details."""

    def __missing__(self, details: str) -> tuple[str, str]:
        text = share_text(details)
        cells = self[details] = (self._lines.cell(text), html.escape(text))
        return cells


class _Amounts(dict):
    """decimal_text, remembered per (units, currency)."""

    def __missing__(self, key: tuple[int, str]) -> str:
        text = self[key] = decimal_text(*key)
        return text


class _Seconds(dict):
    """f"{seconds:.3f}", remembered per value; zero is formatted each time (0.0 and -0.0 are one key)."""

    def __missing__(self, seconds: float) -> str:
        text = self[seconds] = seconds_text(seconds)
        return text


def formatted_lines(rows: Iterable[StatementFields]) -> Iterator[FormattedLine]:
    """Given statement lines as plain fields, yield them formatted; the bytes are those of ``reference_lines``.

    A row is (recipient_type, recipient_ref, currency, recipient_name, amount, seconds, entry_id, play_id,
    station, played_at_utc (text, "" if unknown), title, artist, isrc, kind, details, is_adjustment, reason).
    """
    texts, shares, amounts, seconds_text = _TextCells(), _ShareCells(), _Amounts(), _Seconds()
    for (recipient_type, ref, currency, name, amount, seconds, entry, play, station, played_at, title, artist,
         isrc, kind, details, is_adjustment, reason) in rows:
        st_csv, st_html = texts[station]
        ti_csv, ti_html = texts[title]
        ar_csv, ar_html = texts[artist]
        is_csv, is_html = texts[isrc]
        ki_csv, ki_html = texts[kind]
        sh_csv, sh_html = shares[details]
        re_csv, re_html = texts[reason]
        shown = seconds_text[seconds] if seconds else f"{seconds:.3f}"
        money = amounts[amount, currency]
        adjusted = "adjustment" if is_adjustment else ""
        play_text = str(play) if play else ""
        yield (recipient_type, ref, currency, name, amount,
               f"{entry},{play_text},{st_csv},{played_at},{ti_csv},{ar_csv},{is_csv},{shown},{ki_csv},{sh_csv},"
               f"{money},{adjusted},{re_csv}\n",
               f"<tr><td>{entry}</td><td>{play_text}</td><td>{st_html}</td><td>{played_at}</td><td>{ti_html}"
               f"</td><td>{ar_html}</td><td>{is_html}</td><td>{shown}</td><td>{ki_html}</td><td>{sh_html}</td><td>"
               f"{money}</td><td>{adjusted}</td><td>{re_html}</td></tr>")


def html_page(cycle: StatementCycle, recipient: tuple[str, str, str | None], currency: str, rows: list[str],
              total: int) -> str:
    """Given a cycle, a recipient (type, ref, name) and its lines' HTML rows and total, return the page."""
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
