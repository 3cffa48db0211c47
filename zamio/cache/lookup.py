"""One key's value, read fresh or recomputed alone (:func:`get`), and a whole family warmed (:func:`warm_family`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine

from zamio.cache import store
from zamio.cache.families import FAMILIES, CacheValue
from zamio.cache.terms import DEFAULT_TTL
from zamio.db.engine import transaction, utcnow
from zamio.runtime.errors import UsageError
from zamio.runtime.progress import Transactions


def parse_key(key: str) -> tuple[str, int | None]:
    """Given a cache key, return (family, entity id or None); raise UsageError for a key no family owns."""
    family, _, rest = key.partition(":")
    if family not in FAMILIES or not rest:
        raise UsageError(f"unknown cache key {key!r}; "
                         "keys look like station:12, artist:3, platform:overview, charts:week")
    if family in ("platform", "charts"):
        return family, None
    if not rest.isdigit():
        raise UsageError(f"cache key {key!r}: the part after '{family}:' must be a numeric id")
    return family, int(rest)


def compute(conn: Connection, key: str, now: datetime) -> CacheValue | None:
    """Compute the value of one key (None if its entity does not exist)."""
    family, entity_id = parse_key(key)
    return FAMILIES[family](conn, now, entity_id).get(key)


@contextmanager
def _connection(bind: Engine | Connection) -> Iterator[Connection]:
    if isinstance(bind, Connection):
        yield bind
    else:
        with transaction(bind) as conn:
            yield conn


def get(bind: Engine | Connection, key: str, now: datetime | None = None) -> CacheValue | None:
    """Return the fresh value of ``key``; on a miss recompute and store that key only; None if its entity is unknown.

    Given a Connection the work happens in the caller's transaction; given an
    Engine in a transaction of its own.
    """
    now = now or utcnow()
    with _connection(bind) as conn:
        entry = store.read(conn, key)
        if entry is not None and entry.fresh(now):
            return entry.value
        value = compute(conn, key, now)
        if value is not None:
            store.put(conn, {key: value}, now)
        return value


def warm_family(transactions: Transactions, family: str, now: datetime, ttl: timedelta = DEFAULT_TTL) -> int:
    """Recompute every key of ``family`` and write them in batches; return the number of keys written.

    The family is computed in one read transaction, so its keys agree with each other.
    """
    with transactions(read_only=True) as conn:
        values = FAMILIES[family](conn, now, None)
    keys = sorted(values)
    for start in range(0, len(keys), store.WRITE_BATCH):
        with transactions() as conn:
            store.put(conn, {k: values[k] for k in keys[start:start + store.WRITE_BATCH]}, now, ttl)
    return len(keys)
