"""Fingerprints: hashes of the catalog's recordings, one set per (track, version), and the fingerprinting queue."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
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
# The triplets of held notes (both frequency differences zero: bits 11..22 of a version 2
# or 3 hash equal 2015) are never looked up (sql/0011_fingerprints_track_btree.sql): the hash
# index leaves them out, and every lookup repeats its condition so that it may use it.
HELD_NOTE_FIELD = (11, 4095)  # (shift, mask) of the two frequency differences in a triplet hash
HELD_NOTE = 2015
HASH_INDEX_CONDITION = "version < 2 OR (hash >> 11) & 4095 <> 2015"
# On PostgreSQL the index is keyed on (hash, frame), as version 3 keeps a triplet's extra
# lookup bits in the frame's high bits (sql/0033_fingerprint_lookup_keys.sql), and covers
# the rest of the row, so that a lookup reads the index alone (sql/0031); cleanup-old-fingerprints
# may give it the compact form (FINGERPRINT_INDEX_COVERING=false).
Index("ix_fingerprints_hash", fingerprints.c.hash, fingerprints.c.frame, postgresql_where=text(HASH_INDEX_CONDITION),
      postgresql_include=["track_id", "version"])
# SQLite reads a track's whole set from its rows: replacing it, cleaning old versions, and
# the candidate tracks of every recognition.  PostgreSQL reads fingerprint_sets.packed
# instead and holds no such index (sql/0031_packed_fingerprint_sets.sql).
Index("ix_fingerprints_track_version", fingerprints.c.track_id, fingerprints.c.version).ddl_if(dialect="sqlite")

fingerprint_sets = Table(
    "fingerprint_sets",
    metadata,
    ref("track_id", "tracks", nullable=False),
    Column("version", SmallInteger, nullable=False),
    Column("hash_count", Integer, nullable=False),
    Column("audio_seconds", Float, nullable=False),
    Column("audio_sha256", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # PostgreSQL: the whole set packed in one value (zamio.recognition.index.pack_set),
    # which recognition reads of a candidate; NULL on SQLite, which reads fingerprints.
    Column("packed", LargeBinary),
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

