"""The few SQL fragments that differ between SQLite and PostgreSQL in aggregate queries.

Timestamps are stored as fixed-width UTC text on SQLite
(``YYYY-MM-DD HH:MM:SS.ffffff``, see ``zamio.db.types``), so a UTC day or hour
bucket is a prefix of the text there, while PostgreSQL formats a
``timestamptz`` at UTC.  Both give the same strings (``2026-03-01``,
``2026-03-01 14``), so the Python that reads the buckets is shared.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection

from zamio.db.types import sqlite_time_text


def _sqlite(conn: Connection) -> bool:
    return conn.dialect.name == "sqlite"


def utc_day(conn: Connection, column: str) -> str:
    """SQL giving the UTC calendar day of timestamp ``column`` as ``YYYY-MM-DD`` text."""
    if _sqlite(conn):
        return f"substr({column}, 1, 10)"
    return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"


def utc_hour(conn: Connection, column: str) -> str:
    """SQL giving the UTC hour of timestamp ``column`` as ``YYYY-MM-DD HH`` text (hour 00-23)."""
    if _sqlite(conn):
        return f"substr({column}, 1, 13)"
    return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24')"


def bind_time(conn: Connection, moment: datetime) -> str | datetime:
    """Given an aware instant, return the value to bind in a text() query comparing with a stored timestamp."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: zamio compares UTC instants only")
    moment = moment.astimezone(UTC)
    return sqlite_time_text(moment) if _sqlite(conn) else moment


def read_time(value: datetime | str | None) -> datetime | None:
    """Given a timestamp read by a text() query (text on SQLite), return an aware UTC datetime."""
    if value is None or isinstance(value, datetime):
        return value.astimezone(UTC) if value is not None else None
    parsed = datetime.fromisoformat(str(value))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
