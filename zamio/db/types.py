"""Column types that behave the same on SQLite and PostgreSQL.

SQLite has no timestamp, date or decimal type.  These decorators store
timestamps as fixed-width UTC text (so text order is time order and SQLite's
``date()`` understands them), dates as ``YYYY-MM-DD`` text and exact decimals
(rates, percentages) as decimal text, while PostgreSQL gets ``timestamptz``,
``date`` and ``numeric`` of the digits the decimal's kind keeps
(``zamio.values.decimals``).  Money is not a decimal column at all: it is a BIGINT
count of ten-thousandths of the currency unit on both databases (see
``zamio.values.money``).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import Date, DateTime, Numeric, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from zamio.values.decimals import DecimalKind


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC instant; naive datetimes are refused so local time never sneaks in."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[str] | TypeEngine[datetime]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(26))
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> str | datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: zamio stores UTC instants only")
        value = value.astimezone(UTC)
        return sqlite_time_text(value) if dialect.name == "sqlite" else value

    def process_result_value(self, value: str | datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            return parse_sqlite_time(value)
        return value.astimezone(UTC)


def sqlite_time_text(moment: datetime) -> str:
    """Given an aware UTC instant, return its stored SQLite form, the year always in four digits.

    (``strftime("%Y")`` writes the year 1 as ``1``, which neither sorts before 2026 as text nor
    reads back.)
    """
    return moment.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


_SHORT_YEAR = re.compile(r"^(\d{1,3})-")


def parse_sqlite_time(text: str) -> datetime:
    """Parse the stored SQLite form (or any ISO 8601 string) into an aware UTC datetime.

    A year stored in fewer than four digits (``strftime`` wrote years before 1000 so before
    ``sqlite_time_text``) is read as the year it names.
    """
    short = _SHORT_YEAR.match(text)
    if short:
        text = f"{int(short.group(1)):04d}{text[short.end(1):]}"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


class DateText(TypeDecorator[date]):
    """A calendar date: ``date`` on PostgreSQL, ``YYYY-MM-DD`` text on SQLite."""

    impl = Date
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[str] | TypeEngine[date]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(10))
        return dialect.type_descriptor(Date())

    def process_bind_param(self, value: date | None, dialect: Dialect) -> str | date | None:
        if value is None:
            return None
        return value.isoformat() if dialect.name == "sqlite" else value

    def process_result_value(self, value: str | date | None, dialect: Dialect) -> date | None:
        if value is None or isinstance(value, date):
            return value
        return date.fromisoformat(value)


class ExactDecimal(TypeDecorator[Decimal]):
    """An exact decimal of one kind (a rate, a percentage): ``numeric`` on PostgreSQL, decimal text on SQLite.

    The kind (``zamio.values.decimals``) fixes the digits kept, the same on both databases: PostgreSQL's
    ``NUMERIC(precision, places)``, and on both a value with more decimal places or whole digits is
    refused here (ValueError) before PostgreSQL could round it or SQLite keep digits PostgreSQL would not.
    """

    impl = Numeric
    cache_ok = True

    def __init__(self, kind: DecimalKind) -> None:
        super().__init__(kind.precision, kind.places, asdecimal=True)
        self.kind = kind

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[str] | TypeEngine[Decimal]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(40))
        return dialect.type_descriptor(Numeric(self.kind.precision, self.kind.places, asdecimal=True))

    def process_bind_param(self, value: Decimal | int | str | None, dialect: Dialect) -> str | Decimal | None:
        if value is None:
            return None
        if isinstance(value, float):
            raise ValueError("floats are not accepted for exact decimal columns; pass a Decimal")
        exact = self.kind.check(Decimal(value))
        return format(exact, "f") if dialect.name == "sqlite" else exact

    def process_result_value(self, value: str | Decimal | None, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return normalise_decimal(Decimal(value) if not isinstance(value, Decimal) else value)


def normalise_decimal(value: Decimal) -> Decimal:
    """Drop trailing zeros that PostgreSQL's fixed scale adds, keeping integers unexponented."""
    normal = value.normalize()
    return normal.quantize(Decimal(1)) if normal == normal.to_integral() else normal
