"""Every CSV file a person opens is written here, safe to open in a spreadsheet.

Statements, remittances, usage reports, the suspense report, play-log exports
and analytics carry titles, artist, recipient and station names that someone
typed.  A spreadsheet runs a cell beginning with ``=``, ``+``, ``-``, ``@``, a
tab or a carriage return as a formula (CSV injection), so such a *text* cell is
written with a leading ``'``, which spreadsheets show as text (the OWASP rule).

What is text is decided by the value's type, never by its look, so a typed
title ``-2+3`` (or ``-5``) is text while an amount the code computed stays a
number:

* ``str``: text, guarded;
* ``int``, ``float``, ``Decimal``: numbers, written as they are;
* ``Number``: the text of a number the code formatted itself (an amount in minor
  units ``-12.35``, seconds ``0.500``), written as it is;
* ``None``: an empty cell; ``True`` / ``False``: ``true`` / ``false``.

Three ways to write, with the same cells: ``Writer`` (a ``csv.writer`` over a
file), ``text`` (a whole file as a string) and ``Lines`` (one row or one cell at
a time, for files assembled from remembered cells, as statements are).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: What a cell holds (see the module docstring); ``bool`` is an ``int``.
Cell = str | int | float | Decimal | None


class Number(str):
    """The text of a number the code formatted itself: written as it is, never guarded."""

    __slots__ = ()


def safe_value(value: Cell) -> str | int | float | Decimal:
    """Given a cell value, return what is written: text a spreadsheet would run as a formula gets a leading ``'``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not isinstance(value, Number):
        return "'" + value
    return value


class Writer:
    """A ``csv.writer`` whose every cell passes ``safe_value``."""

    def __init__(self, handle: SupportsWrite[str], lineterminator: str = "\r\n") -> None:
        self._csv = csv.writer(handle, lineterminator=lineterminator)

    def writerow(self, row: Iterable[Cell]) -> None:
        self._csv.writerow([safe_value(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[Cell]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(handle: IO[str], lineterminator: str = "\r\n") -> Writer:
    """Given an open text file (opened with ``newline=""``), return a guarded CSV writer on it."""
    return Writer(handle, lineterminator)


def text(header: Sequence[str], rows: Iterable[Iterable[Cell]], lineterminator: str = "\n") -> str:
    """Given a header and rows, return the CSV file as text (``"\\n"`` line ends unless told)."""
    out = io.StringIO()
    guarded = Writer(out, lineterminator)
    guarded.writerow(header)
    guarded.writerows(rows)
    return out.getvalue()


class _LastWrite:
    """A file for csv.writer that keeps only the one row just written (csv.writer writes a row at once)."""

    text = ""

    def write(self, text: str) -> None:
        self.text = text


class Lines:
    """Rows, or single cells, formatted one at a time as ``Writer`` writes them (for files built from lines)."""

    def __init__(self, lineterminator: str = "\n") -> None:
        self._last = _LastWrite()
        self._writer = Writer(self._last, lineterminator)
        self._cut = len(lineterminator) + 1  # a cell's row ends with "," and the line end

    def row(self, cells: Iterable[Cell]) -> str:
        """Given a row's cells, return its line, line end included."""
        self._writer.writerow(cells)
        return self._last.text

    def cell(self, value: Cell) -> str:
        """Given one value, return its cell as it appears within a line (guarded, quoted where needed)."""
        self._writer.writerow([value, ""])  # a second cell: csv.writer quotes a row of one empty cell
        return self._last.text[:-self._cut]
