"""``cache_entries``: whole JSON values per key, written atomically, read only while fresh.

A value is written in one statement (an upsert of the complete JSON text), so a
reader sees the previous value or the new one, never a mixture.  A value is
fresh while ``expires_at`` is in the future and its ``schema_version`` is the
one this code writes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, func, select

from zamio.cache.families import SCHEMA_VERSION, CacheValue
from zamio.cache.terms import DEFAULT_TTL
from zamio.db.engine import StoredRow, upsert
from zamio.db.tables import cache_entries

WRITE_BATCH = 500  # keys per upsert statement batch (one transaction each)


@dataclass(frozen=True)
class Entry:
    key: str
    value: CacheValue
    schema_version: int
    computed_at: datetime
    expires_at: datetime

    def fresh(self, now: datetime) -> bool:
        return self.expires_at > now and self.schema_version == SCHEMA_VERSION


def put(conn: Connection, values: Mapping[str, CacheValue], now: datetime, ttl: timedelta = DEFAULT_TTL) -> int:
    """Write ``values`` (key → JSON-able dict) with computed time ``now``; return how many keys were written."""
    rows = [
        {"key": key, "value": json.dumps(value, separators=(",", ":"), default=str, sort_keys=True),
         "schema_version": SCHEMA_VERSION, "computed_at": now, "expires_at": now + ttl}
        for key, value in values.items()
    ]
    upsert(conn, cache_entries, rows, ["key"])
    return len(rows)


def read(conn: Connection, key: str) -> Entry | None:
    """Return the stored entry of ``key`` (fresh or not), or None."""
    row = conn.execute(select(cache_entries).where(cache_entries.c.key == key)).first()
    if row is None:
        return None
    return Entry(row.key, json.loads(row.value), row.schema_version, row.computed_at, row.expires_at)


def listing(conn: Connection, prefix: str = "") -> list[StoredRow]:
    """Return (key, computed_at, expires_at, schema_version, bytes) of every entry whose key starts with ``prefix``."""
    c = cache_entries.c
    query = select(c.key, c.computed_at, c.expires_at, c.schema_version, func.length(c.value).label("bytes"))
    if prefix:
        query = query.where(c.key.startswith(prefix, autoescape=True))
    return list(conn.execute(query.order_by(c.key)))
