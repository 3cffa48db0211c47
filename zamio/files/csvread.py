"""Reading CSV files for import: header checks, per-row errors with line numbers, field parsers.

Every importer (``zamio.catalog.imports`` and the reference-data loaders of
``zamio.catalog.reference``) is a *loader*::

    loader(conn, path: Path, report: ImportReport, who: Who | None = None) -> None

and is built on :func:`load_rows`: the header is checked first (a missing
column makes the whole file unusable: ``DataError``, exit 65); then each row is
handled inside its own savepoint, so a bad row (``RowError`` or any
``ItemError``) is rolled back alone, recorded in the report with its line
number and reason, and the good rows still load.  A row with a NUL character in a
column read is refused the same way before it is handled, whatever the file:
PostgreSQL text cannot hold one, so both databases refuse the same rows.  A row
error whose exit code is 65 (a row refused as bad data, not merely unreadable: a
change to a reference row already used by money) makes the report's ``exit_code``
65.  A loader that keys its rows passes the key to :func:`load_rows`: a later row
repeating an earlier row's key is refused with its line number, naming the earlier
line, instead of silently replacing it.

Values are stripped; empty cells read as None.  Files may start with a UTF-8
byte-order mark (spreadsheets write one).  Numbers are read by
``zamio.values.decimals.parse_decimal`` (a point or a comma before the decimals, never a
thousands separator) and checked against the digits their kind keeps.  Whether a
file with bad rows loads its good rows is the job's decision: ``bin/import-catalog``
refuses the files that set money whole (``zamio.catalog.imports.MONEY_FILES``).
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol, overload

from sqlalchemy import Connection, exc

from zamio.runtime.config import STATION_CLASS_SPELLINGS, STATION_CLASSES, normalise_station_class
from zamio.runtime.errors import EXIT_ITEMS_FAILED, DataError, ItemError
from zamio.values.decimals import DecimalKind, NumberFormatError, parse_decimal

if TYPE_CHECKING:
    from zamio.db.audit import Who

Row = dict[str, str | None]
RowHandler = Callable[[Connection, Row], object]  # what it returns is not used


class Loader(Protocol):
    """A loader of one kind of file: its rows from ``path`` into the database, its bad rows into ``report``; what
    it adds or corrects of the data money is computed from is recorded in the audit log by ``who`` (nothing is
    recorded without one)."""

    def __call__(self, conn: Connection, path: Path, report: ImportReport, who: Who | None = None) -> None: ...


#: The key a row is stored by, in words ("track_ref 'GH-001'"), so a file giving one key twice is caught;
#: None, or an ItemError, when the key cannot be read: the handler then refuses the row naming the field.
RowKey = Callable[[Row], str | None]


class RowError(ItemError):
    """One CSV row is invalid; the message says which field and what is expected."""

    reason = "bad_row"


@dataclass
class ImportReport:
    """The outcome of loading one file: rows loaded and (line number, reason) of each bad row."""

    name: str = ""
    rows_ok: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    exit_code: int = 0  # the highest exit code of the rows rejected (0: none)

    def ok(self) -> None:
        self.rows_ok += 1

    def error(self, line: int, reason: str, exit_code: int = EXIT_ITEMS_FAILED) -> None:
        self.errors.append((line, reason))
        self.exit_code = max(self.exit_code, exit_code)

    @property
    def summary(self) -> str:
        return f"{self.name}: {self.rows_ok} rows loaded, {len(self.errors)} rejected"


def read_rows(path: Path, required: Sequence[str], optional: Sequence[str] = ()) -> Iterator[tuple[int, Row]]:
    """Given a CSV file with a header line, yield (line number of the row's first line,
    row) with stripped values, empty cells as None, and only the ``required`` and
    ``optional`` columns.  Raise DataError if the file cannot be read, is empty, lacks a
    required column (all missing columns are named) or names a column read twice."""
    try:
        handle = open(path, newline="", encoding="utf-8-sig")
    except OSError as error:
        raise DataError(f"cannot read {path}: {error.strerror}") from None
    with handle:
        reader = csv.reader(handle)
        header = _header(reader, path, required, optional)
        wanted = [(i, name) for i, name in enumerate(header) if name in set(required) | set(optional)]
        line = reader.line_num + 1
        try:
            for cells in reader:
                if any(c.strip() for c in cells):
                    yield line, {name: _cell(cells, i) for i, name in wanted}
                line = reader.line_num + 1
        except (csv.Error, UnicodeDecodeError) as error:
            raise DataError(f"{path} line {line}: the file is not valid CSV ({error}); "
                            "fix it and import again") from None


def _header(reader: Iterator[list[str]], path: Path, required: Sequence[str], optional: Sequence[str]) -> list[str]:
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise DataError(f"{path} is empty; it needs a header line with {', '.join(required)}") from None
    except (csv.Error, UnicodeDecodeError) as error:
        raise DataError(f"{path}: cannot read the header line ({error}); save the file as UTF-8 CSV") from None
    missing = [name for name in required if name not in header]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)}; the header must name "
                        f"{', '.join(required)}")
    columns: dict[str, list[int]] = {}
    for number, name in enumerate(header, 1):
        if name in required or name in optional:
            columns.setdefault(name, []).append(number)
    repeated = {name: numbers for name, numbers in columns.items() if len(numbers) > 1}
    if repeated:
        where = "; ".join(f"{name} in columns {', '.join(map(str, numbers))}" for name, numbers in repeated.items())
        raise DataError(f"{path}: the header names a column twice ({where}), so which value a row gives is "
                        "unclear; keep one of each and import again")
    return header


def _cell(cells: list[str], index: int) -> str | None:
    value = cells[index].strip() if index < len(cells) else ""
    return value or None


def load_rows(conn: Connection, path: Path, report: ImportReport, handle: RowHandler,
              required: Sequence[str], optional: Sequence[str] = (), key: RowKey | None = None) -> None:
    """Run ``handle(conn, row)`` for every row of ``path`` (see ``read_rows``), each in a
    savepoint: a row raising ``ItemError`` or a database integrity error is rolled back
    and recorded in ``report`` with its line number; the others stay.  A row with a NUL
    character in a field is recorded so without being handled.  Raise DataError as
    ``read_rows`` does, before any row is handled if the header is wrong.

    With a ``key``, a row whose key an earlier row of the file already gave is not handled:
    it is recorded as refused, naming that earlier line, and the earlier row stands (else the
    last row would win unseen)."""
    report.name = report.name or Path(path).name
    first_lines: dict[str, int] = {}
    for line, row in read_rows(path, required, optional):
        refused = _nul_fields(row) or _repeated_key(key, row, line, first_lines)
        if refused is not None:
            report.error(line, refused)
            continue
        savepoint = conn.begin_nested()
        try:
            handle(conn, row)
        except ItemError as error:
            savepoint.rollback()
            report.error(line, str(error), error.exit_code)
        except exc.IntegrityError as error:
            savepoint.rollback()
            report.error(line, f"conflicts with data already stored ({_first_line(error)})")
        else:
            savepoint.commit()
            report.ok()


def _nul_fields(row: Row) -> str | None:
    """Why a row with a NUL character in a field is refused, naming each such field; None for a clean row."""
    fields = [name for name, value in row.items() if value is not None and "\x00" in value]
    if not fields:
        return None
    verb = "contains" if len(fields) == 1 else "contain"
    return (f"{', '.join(fields)} {verb} a NUL character, which no text field can hold; remove it and import "
            "the line again")


def _repeated_key(key: RowKey | None, row: Row, line: int, first_lines: dict[str, int]) -> str | None:
    """Why the row on ``line`` is refused as a repeat of an earlier row of the file, or None (and the
    line is remembered as its key's first)."""
    try:
        described = key(row) if key is not None else None
    except ItemError:
        return None  # an unreadable key: the handler refuses the row, naming the field
    if described is None:
        return None
    first = first_lines.setdefault(described, line)
    if first == line:
        return None
    return (f"{described} is already on line {first}; a file gives each once, so this line is refused: "
            "keep the line meant and delete the other")


def _first_line(error: exc.DBAPIError) -> str:
    return str(error.orig).strip().splitlines()[0]


# --- field parsers: each returns the value or raises RowError naming the field -----


def text(row: Mapping[str, str | None], name: str) -> str:
    """Return the non-empty value of column ``name``; raise RowError if it is empty."""
    value = row.get(name)
    if not value:
        raise RowError(f"{name} is empty; it is required")
    return value


@overload
def decimal(row: Mapping[str, str | None], name: str, *, minimum: Decimal | None = None,
            maximum: Decimal | None = None, kind: DecimalKind | None = None, required: Literal[True]) -> Decimal: ...


@overload
def decimal(row: Mapping[str, str | None], name: str, *, minimum: Decimal | None = None,
            maximum: Decimal | None = None, kind: DecimalKind | None = None,
            required: bool = False) -> Decimal | None: ...


def decimal(row: Mapping[str, str | None], name: str, *, minimum: Decimal | None = None,
            maximum: Decimal | None = None, kind: DecimalKind | None = None,
            required: bool = False) -> Decimal | None:
    """Return column ``name`` as an exact Decimal read by ``zamio.values.decimals.parse_decimal`` (a point
    or a comma before the decimals, never a thousands separator); None if empty, unless
    ``required``.  Raise RowError naming the column, the value and what to write instead if it is
    not such a number, has more digits than ``kind`` keeps (never rounded) or lies outside
    ``minimum``..``maximum``."""
    value = row.get(name)
    if value is None:
        if required:
            raise RowError(f"{name} is empty; it is required")
        return None
    try:
        number = parse_decimal(value)
    except NumberFormatError as error:
        raise RowError(f"{name} {value!r} {error}") from None
    problem = kind.problem(number) if kind is not None else None
    if problem is not None:
        raise RowError(f"{name} {value!r} {problem}")
    _check_range(name, value, number, minimum, maximum)
    return number


@overload
def number(row: Mapping[str, str | None], name: str, *, minimum: Decimal | None = None,
           maximum: Decimal | None = None, kind: DecimalKind | None = None, required: Literal[True]) -> float: ...


@overload
def number(row: Mapping[str, str | None], name: str, *, minimum: Decimal | None = None,
           maximum: Decimal | None = None, kind: DecimalKind | None = None,
           required: bool = False) -> float | None: ...


def number(row: Mapping[str, str | None], name: str, *, minimum: Decimal | None = None,
           maximum: Decimal | None = None, kind: DecimalKind | None = None,
           required: bool = False) -> float | None:
    """``decimal`` as a float, for measurements stored as floats such as seconds.  ``kind`` bounds
    the decimal places to those the float's reader keeps exactly (``SECONDS``: milliseconds)."""
    value = decimal(row, name, minimum=minimum, maximum=maximum, kind=kind, required=required)
    return None if value is None else float(value)


def _check_range(name: str, raw: str, value: Decimal, minimum: Decimal | None, maximum: Decimal | None) -> None:
    accepted = (f"; the accepted range is {minimum} to {maximum}" if minimum is not None and maximum is not None
                else "")
    if minimum is not None and value < minimum:
        raise RowError(f"{name} {raw} is below the minimum {minimum}{accepted}")
    if maximum is not None and value > maximum:
        raise RowError(f"{name} {raw} is above the maximum {maximum}{accepted}")


def choice(row: Mapping[str, str | None], name: str, choices: Sequence[str], default: str | None = None) -> str:
    """Return column ``name`` lower-cased if it is one of ``choices`` (``default`` if
    empty and a default is given); raise RowError otherwise."""
    value = row.get(name)
    if value is None and default is not None:
        return default
    if value is None or value.lower() not in choices:
        raise RowError(f"{name} {value!r} is not one of {', '.join(choices)}")
    return value.lower()


YES = ("yes", "y", "true", "1")
NO = ("no", "n", "false", "0")


def yes_no(row: Mapping[str, str | None], name: str) -> bool | None:
    """Return column ``name`` as True for yes (``yes``, ``y``, ``true``, ``1``, any case), False for no
    (``no``, ``n``, ``false``, ``0``), None if empty; raise RowError otherwise."""
    value = row.get(name)
    if value is None:
        return None
    if value.lower() in YES:
        return True
    if value.lower() in NO:
        return False
    raise RowError(f"{name} {value!r} is neither yes nor no")


def station_class(row: Mapping[str, str | None], name: str = "station_class") -> str:
    """Return column ``name`` as a station class key of ``STATION_CLASSES``, read with its aliases
    (``zamio.runtime.config.normalise_station_class``: "A", "Class A" and "class-a" are ``class_a``);
    raise RowError if it is empty or no station class."""
    value = text(row, name)
    key = normalise_station_class(value)
    if key not in STATION_CLASSES:
        raise RowError(f"{name} {value!r} is not one of {STATION_CLASS_SPELLINGS}")
    return key


#: A date as YYYY-MM-DD, and only so: ``date.fromisoformat`` also reads 20260301 and week dates (2026-W10-1).
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def iso_date(row: Mapping[str, str | None], name: str) -> date | None:
    """Return column ``name`` as a date from YYYY-MM-DD (None if empty); raise RowError otherwise."""
    value = row.get(name)
    if value is None:
        return None
    try:
        if not ISO_DATE.fullmatch(value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise RowError(f"{name} {value!r} is not a date written YYYY-MM-DD") from None


EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def email(row: Mapping[str, str | None], name: str) -> str | None:
    """Return column ``name`` if it looks like an e-mail address (None if empty); raise RowError otherwise."""
    value = row.get(name)
    if value is not None and not EMAIL_PATTERN.match(value):
        raise RowError(f"{name} {value!r} is not an e-mail address")
    return value


def slug(name: str) -> str:
    """Return a stable reference made from a name: ASCII lower-case words joined by
    hyphens (``"Kwame Eugène & Co"`` -> ``"kwame-eugene-co"``); raise RowError if
    nothing is left."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    value = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    if not value:
        raise RowError(f"cannot make a reference from the name {name!r}; use letters or digits")
    return value
