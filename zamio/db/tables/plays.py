"""Plays: one row per airing, linked to the detections behind it.

``status`` is ``final`` (current and billed: the royalty engine prices it), ``duplicate``
(current, but reporting an airing another play already bills: kept as evidence, with
``duplicate_of`` naming that play, never priced) or ``superseded`` (no longer current:
replaced by a new version or withdrawn; ledger lines it had are reversed).  At most one
final play per airing (zamio.playlogs.billing).  Rows are never deleted and a final row's facts are never edited: only
``status``, ``superseded_at``, ``duplicate_of`` and, for a correction by hand, ``corrected_by_id`` change when it
stops being current.
See docs/playlogs.md.

A dispute (sql/0024, ``zamio.playlogs.disputes``) claims that plays, or a recording's shares or identity, are
wrong; while it is open the money of the plays it covers is held in suspense.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Float, Index, Integer, Table, Text, UniqueConstraint, text

from zamio.db.tables.base import id_column, metadata, ref
from zamio.db.types import DateText, UTCDateTime

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

# The plays of a recording, by catalog track and by ISRC: what a dispute over a recording covers (sql/0028).
Index("ix_play_logs_track", play_logs.c.track_id)
Index("ix_play_logs_isrc", play_logs.c.isrc)

play_detections = Table(
    "play_detections",
    metadata,
    ref("play_id", "play_logs", nullable=False),
    ref("detection_id", "detections", nullable=False),
    UniqueConstraint("play_id", "detection_id"),
)
Index("ix_play_detections_detection", play_detections.c.detection_id)

# Disputes (sql/0024, zamio.playlogs.disputes): D-000001 is the row with id 1.  What a dispute covers is its
# station and period ([starts_at, ends_at) in UTC), its recording (track_id, isrc) or its plays
# (dispute_plays, by play key: every version of a named play).  status open → resolved, once.
disputes = Table(
    "disputes",
    metadata,
    id_column(),
    Column("event_key", Text, nullable=False, unique=True),  # the opening asked: sent again, it adds nothing
    Column("kind", Text, nullable=False),  # plays | shares | identity
    Column("claimant_type", Text, nullable=False),  # artist | publisher | society | station
    Column("claimant_ref", Text, nullable=False),
    ref("station_id", "stations"),
    Column("period_from", DateText),  # station-local days, as given
    Column("period_to", DateText),
    Column("starts_at", UTCDateTime),
    Column("ends_at", UTCDateTime),
    ref("track_id", "tracks"),
    Column("isrc", Text),  # the recording's ISRC, normalised: plays naming it are covered too
    Column("recording", Text),  # the recording as the person named it (track reference or ISRC)
    Column("status", Text, nullable=False),  # open | resolved
    Column("opened_at", UTCDateTime, nullable=False),
    Column("opened_by", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("decision", Text),  # upheld | rejected | partly
    Column("resolved_at", UTCDateTime),
    Column("resolved_by", Text),
    Column("resolution", Text),  # the reason of the decision
)
Index("ix_disputes_open", disputes.c.status, disputes.c.station_id)

dispute_plays = Table(
    "dispute_plays",
    metadata,
    ref("dispute_id", "disputes", nullable=False),
    Column("play_key", Text, nullable=False),
    ref("play_id", "play_logs", nullable=False),  # the version named when the dispute was opened
    UniqueConstraint("dispute_id", "play_key", name="uq_dispute_plays"),
)
Index("ix_dispute_plays_key", dispute_plays.c.play_key)
