"""Fingerprints: hashes of the catalog's recordings, one set per (track, version), and the fingerprinting queue."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from zamio.db.tables.base import lease_columns, metadata, ref
from zamio.db.types import UTCDateTime

fingerprints = Table(
    "fingerprints",
    metadata,
    Column("hash", Integer, nullable=False),
    # int4 and no foreign key (sql/0002_fingerprints.sql): the row is the unit of storage;
    # fingerprint_sets, written in the same transaction, carries the reference to tracks.
    Column("track_id", Integer, nullable=False),
    Column("frame", Integer, nullable=False),
    Column("version", SmallInteger, nullable=False),
)
# PostgreSQL leaves out the triplets of held notes, never looked up (sql/0011_fingerprints_track_btree.sql):
# the rows the hash index holds, and the condition every lookup repeats so that it may use the index.
HASH_INDEX_CONDITION = "version <> 2 OR (hash >> 11) & 4095 <> 2015"
Index("ix_fingerprints_hash", fingerprints.c.hash, postgresql_where=text(HASH_INDEX_CONDITION))
# Reads a track's whole set: replacing it, cleaning old versions, and the candidate
# tracks of every recognition (sql/0011_fingerprints_track_btree.sql).
Index("ix_fingerprints_track_version", fingerprints.c.track_id, fingerprints.c.version)

fingerprint_sets = Table(
    "fingerprint_sets",
    metadata,
    ref("track_id", "tracks", nullable=False),
    Column("version", SmallInteger, nullable=False),
    Column("hash_count", Integer, nullable=False),
    Column("audio_seconds", Float, nullable=False),
    Column("audio_sha256", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("track_id", "version"),
)

fingerprint_work = Table(
    "fingerprint_work",
    metadata,
    Column("track_id", BigInteger, ForeignKey("tracks.id"), primary_key=True),
    Column("status", Text, nullable=False, server_default="pending"),
    *lease_columns(),
    Column("updated_at", UTCDateTime, nullable=False),
)

