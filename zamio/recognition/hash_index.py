"""The hash index of ``fingerprints`` on PostgreSQL: its two forms, how full it is, and its rebuild.

The lookup (``zamio.recognition.index``) reads rows by hash and range of frames through
``ix_fingerprints_hash``, keyed on (hash, frame) (sql/0033).  In its covering form (the
default) the index carries the track and version too, so a lookup reads the index alone;
the compact form holds the key only, a tenth less storage, and
each row a lookup returns is then read from the table.  ``bin/cleanup-old-fingerprints`` gives
the index the form ``FINGERPRINT_INDEX_COVERING`` asks for and rebuilds it once it is sparse.
SQLite has nothing of this to do.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, Engine

from zamio.db.engine import is_sqlite
from zamio.db.tables.fingerprints import HASH_INDEX_CONDITION

HASH_INDEX = "ix_fingerprints_hash"
PAGE_BYTES = 8192
#: Bytes of one entry of the hash index with its line pointer (4): the index tuple is
#: 8 bytes of header and the key (hash, frame), 16; the covering form adds track_id and
#: version (6 bytes), padded to 24.
HASH_INDEX_ENTRY_BYTES = {False: 20, True: 28}
#: The columns the covering form carries beside the hash, so that a lookup reads the
#: index alone (an index-only scan) instead of one heap page per row it returns.
KEY_COLUMNS = "hash, frame"
COVERING_COLUMNS = "track_id, version"
#: A b-tree built in one pass fills its leaf pages to 90 %.  Rows stored track by track
#: insert random hashes, which split pages and leave the hash index about 70 % full: a
#: quarter larger than it need be (bench/results/recognition.md).  Below this density it
#: is rebuilt (``maintain_hash_index``).
REBUILD_HASH_INDEX_BELOW = 0.8
#: Leaf pages of the hash index are built full (sql/0031_packed_fingerprint_sets.sql): a
#: catalog grows by a small part of itself a day, and a rebuild follows once it is sparse.
HASH_INDEX_FILLFACTOR = 100
_NEXT_INDEX = HASH_INDEX + "_next"


@dataclass(frozen=True)
class HashIndexState:
    """What ``maintain_hash_index`` found and did: the index's density before (None on
    SQLite), whether it was covering, and what was done (None, "compacted", "made
    covering" or "made compact")."""

    density: float | None
    covering: bool
    action: str | None


def hash_index_density(conn: Connection) -> tuple[float, bool] | None:
    """Given a PostgreSQL connection, return (how full the hash index's pages are, 0..1,
    whether it is the covering form), from the planner's statistics (entries times
    their size over the pages' bytes); None on SQLite or before statistics exist."""
    if is_sqlite(conn):
        return None
    row = conn.exec_driver_sql(
        "SELECT c.reltuples, c.relpages, i.indnatts > i.indnkeyatts FROM pg_class c "
        "JOIN pg_index i ON i.indexrelid = c.oid WHERE c.relname = %(name)s", {"name": HASH_INDEX}).first()
    if row is None or row[0] <= 0 or row[1] <= 1:
        return None
    covering = bool(row[2])
    return float(row[0]) * HASH_INDEX_ENTRY_BYTES[covering] / (float(row[1]) * PAGE_BYTES), covering


def maintain_hash_index(engine: Engine, *, covering: bool = True,
                        below: float = REBUILD_HASH_INDEX_BELOW) -> HashIndexState:
    """Given an engine, give the hash index of ``fingerprints`` the form asked for
    (``covering`` or compact) and rebuild it if its density is under ``below``
    (PostgreSQL; SQLite has nothing to do); return what was found and done.

    Both rebuilds run beside the old index without blocking recognition or
    fingerprinting: ``REINDEX ... CONCURRENTLY`` for the same form, a new index built
    ``CONCURRENTLY`` and swapped in by one short transaction for the other form.  What
    a run killed half-way leaves (an index ``..._ccnew`` or ``..._next``) is dropped first.
    """
    if engine.dialect.name != "postgresql":
        return HashIndexState(None, False, None)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        # CONCURRENTLY cannot run in a transaction block, hence the autocommit connection.
        _drop_leftovers(conn)
        conn.exec_driver_sql("ANALYZE fingerprints")  # the density reads the planner's statistics
        found = hash_index_density(conn)
        if found is None:
            return HashIndexState(None, False, None)
        density, is_covering = found
        if is_covering != covering:
            _swap_in(conn, covering)
            return HashIndexState(density, is_covering, "made covering" if covering else "made compact")
        if density < below:
            conn.exec_driver_sql(f"REINDEX INDEX CONCURRENTLY {HASH_INDEX}")
            return HashIndexState(density, is_covering, "compacted")
    return HashIndexState(density, is_covering, None)


def index_definition(covering: bool = True) -> str:
    """The hash index's columns, fill and condition, as sql/0033_fingerprint_lookup_keys.sql makes them."""
    include = f" INCLUDE ({COVERING_COLUMNS})" if covering else ""
    return f"({KEY_COLUMNS}){include} WITH (fillfactor = {HASH_INDEX_FILLFACTOR}) WHERE {HASH_INDEX_CONDITION}"


def _drop_leftovers(conn: Connection) -> None:
    leftovers = conn.exec_driver_sql(
        "SELECT c.relname FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid "
        "WHERE (c.relname LIKE %(ccnew)s AND NOT i.indisvalid) OR c.relname = %(next)s",
        {"ccnew": HASH_INDEX + "_ccnew%", "next": _NEXT_INDEX}).scalars().all()
    for name in leftovers:
        conn.exec_driver_sql(f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"')


def _swap_in(conn: Connection, covering: bool) -> None:
    """Build the hash index in the other form beside the current one, then swap them."""
    conn.exec_driver_sql(f"CREATE INDEX CONCURRENTLY {_NEXT_INDEX} ON fingerprints {index_definition(covering)}")
    # The swap: two statements in one message are one transaction, so there is no moment
    # without the index, and the exclusive lock the drop takes lasts an instant.
    conn.exec_driver_sql(f"DROP INDEX {HASH_INDEX}; ALTER INDEX {_NEXT_INDEX} RENAME TO {HASH_INDEX}")
    conn.exec_driver_sql("ANALYZE fingerprints")
