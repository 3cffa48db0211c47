"""The shared MetaData and the column helpers every table module uses."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Integer, MetaData, Text

from zamio.db.types import UTCDateTime

metadata = MetaData()


def id_column() -> Column[int]:
    return Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)


def ref(name: str, table: str, nullable: bool = True) -> Column[int]:
    return Column(name, BigInteger, ForeignKey(f"{table}.id"), nullable=nullable)


def lease_columns() -> list[Column[object]]:
    return [
        Column("attempts", Integer, nullable=False, server_default="0"),
        Column("next_attempt_at", UTCDateTime),
        Column("last_error", Text),
        Column("lease_owner", Text),
        Column("lease_expires_at", UTCDateTime),
    ]
