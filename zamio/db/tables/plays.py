"""Plays: one row per airing, linked to the detections behind it.

``status`` is ``final`` (current and billed: the royalty engine prices it), ``duplicate``
(current, but reporting an airing another play already bills: kept as evidence, with
``duplicate_of`` naming that play, never priced) or ``superseded`` (no longer current:
replaced by a new version or withdrawn; ledger lines it had are reversed).  At most one
final play per airing (zamio.playlogs.billing).  Rows are never deleted and a final row's facts are never edited: only
``status``, ``superseded_at``, ``duplicate_of`` and, for a correction by hand, ``corrected_by_id`` change when it
stops being current.
See docs/playlogs.md.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Float, Index, Integer, Table, Text, UniqueConstraint, text

from zamio.db.tables.base import id_column, metadata, ref
from zamio.db.types import UTCDateTime

play_logs = Table(
    "play_logs",
    metadata,
    id_column(),
    Column("play_key", Text, nullable=False),
    Column("version", Integer, nullable=False, server_default="1"),
    ref("station_id", "stations", nullable=False),
    ref("track_id", "tracks"),
    Column("recording_key", Text, nullable=False),
    # The recording as every source can name it, to find reports of one airing (sql/0015):
    # isrc:<ISRC>, else track:<id>, else acr:<ACRCloud id>, else the recording key.
    Column("recording_ref", Text),
    Column("acrcloud_id", Text),
    Column("isrc", Text),
    Column("title", Text),
    Column("artist", Text),
    Column("category", Text, nullable=False, server_default="music"),
    Column("source", Text, nullable=False),  # local | acrcloud | imported | manual (added by hand)
    Column("started_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime, nullable=False),
    Column("duration_seconds", Float, nullable=False),
    Column("end_estimated", Boolean, nullable=False, server_default="0"),
    Column("single_observation", Boolean, nullable=False, server_default="0"),
    Column("status", Text, nullable=False),  # final | duplicate | superseded
    ref("supersedes_id", "play_logs"),
    Column("detection_count", Integer, nullable=False, server_default="0"),
    Column("confidence_avg", Float),
    Column("confidence_min", Float),
    # The partner society of the play's catalog track as stored (import or conversion): "mapped" with one,
    # else "unmapped".  An ISRC's society is in isrc_mappings (bin/update-pro-mappings, sql/0019), which pricing
    # reads first; rows stored before 0019 may hold that job's outcome here, kept as pricing's fallback.
    ref("society_id", "partner_societies"),
    Column("society_status", Text, nullable=False, server_default="unmapped"),
    Column("import_ref", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("finalised_at", UTCDateTime),
    Column("first_captured_at", UTCDateTime),  # detected plays: capture of the first detection
    Column("speed", Float),  # detected plays: measured playback speed
    ref("duplicate_of", "play_logs"),  # a duplicate: the play billing its airing
    Column("superseded_at", UTCDateTime),
    # Corrections by hand (sql/0020, zamio.playlogs.corrections): the audit entry of the correction that wrote
    # this version, and of the one that replaced or voided it.  Plays with either are left alone by the converter.
    ref("correction_id", "audit_log"),
    ref("corrected_by_id", "audit_log"),
    UniqueConstraint("play_key", "version"),
)
Index("ix_play_logs_station_started", play_logs.c.station_id, play_logs.c.started_at)
Index("ix_play_logs_status", play_logs.c.status)
Index("ix_play_logs_station_first_capture", play_logs.c.station_id, play_logs.c.first_captured_at)
# At most one current version per play: the database's own guard against double billing.
Index(
    "ux_play_logs_current",
    play_logs.c.play_key,
    unique=True,
    sqlite_where=text("status = 'final'"),
    postgresql_where=text("status = 'final'"),
)

# Reports of one airing: the billed play they duplicate.  On top of this the database refuses a
# second final play of one airing (sql/0015: an exclusion constraint on PostgreSQL, triggers on SQLite).
Index("ix_play_logs_duplicate_of", play_logs.c.duplicate_of,
      sqlite_where=text("duplicate_of IS NOT NULL"), postgresql_where=text("duplicate_of IS NOT NULL"))

# The few plays corrected by hand, by station and time: what the converter must leave alone (sql/0020).
_CORRECTED = "correction_id IS NOT NULL OR corrected_by_id IS NOT NULL"
Index("ix_play_logs_corrected", play_logs.c.station_id, play_logs.c.started_at,
      sqlite_where=text(_CORRECTED), postgresql_where=text(_CORRECTED))

play_detections = Table(
    "play_detections",
    metadata,
    ref("play_id", "play_logs", nullable=False),
    ref("detection_id", "detections", nullable=False),
    UniqueConstraint("play_id", "detection_id"),
)
Index("ix_play_detections_detection", play_detections.c.detection_id)
