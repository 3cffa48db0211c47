"""Warming the dashboard cache family by family, and what the cache holds: one key's value, the keys with their age."""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime, timedelta

from zamio.cache import store
from zamio.cache.families import CacheValue
from zamio.cache.lookup import get, warm_family
from zamio.db.engine import StoredRow
from zamio.runtime.progress import Progress, Transactions


def warm(transactions: Transactions, progress: Progress, families: Iterable[str], now: datetime,
         ttl: timedelta) -> None:
    """Warm each of ``families`` in turn, one read transaction per family, batched writes; stop when asked."""
    for family in families:
        if progress.should_stop():
            break
        started = time.monotonic()
        written = warm_family(transactions, family, now, ttl)
        progress.ok(written)
        progress.note(f"{family} {written} key(s) in {time.monotonic() - started:.1f}s")


def value_of(transactions: Transactions, key: str) -> CacheValue | None:
    """The fresh value of ``key``, computed and stored if missing or stale; None if its entity is unknown."""
    with transactions() as conn:
        return get(conn, key)


def keys_held(transactions: Transactions, prefix: str) -> list[StoredRow]:
    """The entries whose key starts with ``prefix``, with their times and size."""
    with transactions(read_only=True) as conn:
        return store.listing(conn, prefix)


def listing_lines(rows: list[StoredRow], now: datetime) -> list[str]:
    """A header, then one line per entry: key, age, fresh or expired, size in bytes."""
    lines = [f"{'key':32} {'age':>8} {'state':8} {'bytes':>8}"]
    for row in rows:
        age = int((now - row.computed_at).total_seconds())
        state = "fresh" if row.expires_at > now else "expired"
        lines.append(f"{row.key:32} {_age(age):>8} {state:8} {row.bytes:>8}")
    return lines


def _age(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h"
