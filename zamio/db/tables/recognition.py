"""Stations and what was heard: stations, stream links, captures, coverage gaps, detections, ACRCloud usage."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Float, ForeignKey, Index, Integer, Table, Text, UniqueConstraint

from zamio.db.tables.base import id_column, lease_columns, metadata, ref
from zamio.db.types import DateText, UTCDateTime

stations = Table(
    "stations",
    metadata,
    id_column(),
    Column("station_ref", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("city", Text),
    Column("region", Text),
    Column("country", Text, nullable=False, server_default="GH"),
    Column("station_class", Text, nullable=False),
    Column("timezone", Text, nullable=False, server_default="Africa/Accra"),
    Column("contact_email", Text),
    Column("active", Boolean, nullable=False, server_default="1"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("weekly_summary", Boolean, nullable=False, server_default="1"),  # False: unsubscribed (sql/0026)
)

stream_links = Table(
    "stream_links",
    metadata,
    id_column(),
    ref("station_id", "stations", nullable=False),
    Column("url", Text, nullable=False),
    Column("priority", Integer, nullable=False, server_default="0"),  # 0 primary, higher = backup
    Column("active", Boolean, nullable=False, server_default="1"),
    Column("next_due_at", UTCDateTime),
    Column("consecutive_failures", Integer, nullable=False, server_default="0"),
    Column("last_success_at", UTCDateTime),
    Column("last_attempt_at", UTCDateTime),
    Column("last_error_reason", Text),
    Column("alerted_at", UTCDateTime),
    *lease_columns(),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("station_id", "url"),
)

captures = Table(
    "captures",
    metadata,
    id_column(),
    Column("capture_key", Text, nullable=False, unique=True),  # link:<id>:<time>, snippet:<chunk id>, file:<sha256>:…
    ref("station_id", "stations", nullable=False),
    ref("stream_link_id", "stream_links"),
    Column("source", Text, nullable=False),  # stream | snippet | file
    Column("chunk_id", Text, unique=True),
    Column("url_used", Text),
    Column("started_at", UTCDateTime, nullable=False),
    Column("seconds", Float, nullable=False, server_default="0"),
    Column("codec", Text),
    Column("bytes", Integer, nullable=False, server_default="0"),
    Column("audio_sha256", Text),
    Column("audio_path", Text),
    Column("audio_host", Text),  # the host whose var/ keeps the file (NULL: recorded before hosts were kept)
    Column("icy_title", Text),
    Column("outcome", Text, nullable=False),  # match | no_match | silence | error
    Column("error_reason", Text),
    Column("error_message", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("burst_seconds", Float),  # started_at is this much before the first byte's arrival (stream captures)
    Column("content", Text),  # music | speech | noise: what a no_match capture contains (NULL: not judged)
    Column("music_probability", Float),  # the classifier's probability of music behind `content`
)
Index("ix_captures_station_started", captures.c.station_id, captures.c.started_at)
Index("ix_captures_audio_host", captures.c.audio_host, captures.c.started_at)
Index("ix_captures_content", captures.c.content, captures.c.started_at)

coverage_gaps = Table(
    "coverage_gaps",
    metadata,
    id_column(),
    ref("station_id", "stations", nullable=False),
    Column("gap_from", UTCDateTime, nullable=False),
    Column("gap_to", UTCDateTime, nullable=False),
    Column("reason", Text, nullable=False),
    UniqueConstraint("station_id", "gap_from"),
)

detections = Table(
    "detections",
    metadata,
    id_column(),
    ref("capture_id", "captures", nullable=False),
    ref("station_id", "stations", nullable=False),
    Column("detected_at", UTCDateTime, nullable=False),  # the capture's first audio byte
    Column("source", Text, nullable=False),  # local | acrcloud
    ref("track_id", "tracks"),
    Column("acrcloud_id", Text),
    Column("isrc", Text),
    Column("isrc_valid", Boolean),
    Column("iswc", Text),
    Column("title", Text),
    Column("artist", Text),
    Column("album", Text),
    Column("label", Text),
    Column("duration_seconds", Float),
    Column("offset_seconds", Float),
    Column("speed", Float, nullable=False, server_default="1"),
    Column("confidence", Float),
    Column("score", Float),
    # The partner society of the catalog track heard, when recorded ("mapped"), else "unmapped"; an ISRC's
    # society is in isrc_mappings (sql/0019; rows recorded before it may hold bin/update-pro-mappings' outcome).
    ref("society_id", "partner_societies"),
    Column("society_status", Text, nullable=False, server_default="unmapped"),
    Column("raw_status_code", Integer),
    Column("raw_response", Text),
    Column("convert_status", Text, nullable=False, server_default="pending"),
    Column("convert_attempts", Integer, nullable=False, server_default="0"),
    Column("convert_next_attempt_at", UTCDateTime),
    Column("convert_error", Text),
    Column("created_at", UTCDateTime, nullable=False),
    ref("unknown_id", "unknown_recordings"),  # source 'unknown': the unknown recording heard (sql/0029)
    UniqueConstraint("capture_id", "source"),
)
Index("ix_detections_convert", detections.c.convert_status, detections.c.station_id, detections.c.detected_at)

acrcloud_usage = Table(
    "acrcloud_usage",
    metadata,
    Column("day", DateText, primary_key=True),
    Column("requests", Integer, nullable=False, server_default="0"),
    Column("blocked_until", UTCDateTime),
    Column("last_status", Integer),
)

# Unknown recordings (sql/0029): music the catalog does not hold, heard more than once.
unknown_recordings = Table(
    "unknown_recordings",
    metadata,
    id_column(),
    Column("unknown_ref", Text, nullable=False, unique=True),  # U-000001
    Column("first_heard_at", UTCDateTime, nullable=False),
    Column("last_heard_at", UTCDateTime, nullable=False),
    Column("span_from", Float, nullable=False),  # the part of the song heard so far, in its own seconds
    Column("span_to", Float, nullable=False),
    Column("icy_title", Text),  # the first stream title a station sent with it
    Column("excerpt_path", Text),  # the first of its captures that kept audio
    Column("excerpt_host", Text),
    Column("created_at", UTCDateTime, nullable=False),
    # Named or merged by hand (sql/0030, bin/identify-unknown): resolved, never filed under its U- again.
    ref("track_id", "tracks"),
    Column("track_offset_seconds", Float),  # where the recording's time 0 lies in the track
    ref("merged_into_id", "unknown_recordings"),
    Column("resolved_at", UTCDateTime),
    Column("resolved_by", Text),
    ref("resolved_audit_id", "audit_log"),
    # Checked against the fingerprint sets created up to then (sql/0033, zamio.playlogs.catalog_naming).
    Column("catalog_checked_at", UTCDateTime),
    # What the catalog suggests for it when the check left it open, JSON (sql/0034); NULL once named or merged.
    Column("catalog_suggestion", Text),
)

unknown_captures = Table(
    "unknown_captures",
    metadata,
    Column("capture_id", BigInteger, ForeignKey("captures.id"), primary_key=True, autoincrement=False),
    ref("station_id", "stations", nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("seconds", Float, nullable=False),
    Column("hash_count", Integer, nullable=False),
    Column("status", Text, nullable=False),  # pending | single | joined
    ref("unknown_id", "unknown_recordings"),
    Column("offset_seconds", Float),  # where the capture starts in the unknown recording's time
    Column("aligned", Integer),  # the aligned hashes that joined it
    Column("created_at", UTCDateTime, nullable=False),
    Column("filed_at", UTCDateTime),
)
Index("ix_unknown_captures_status", unknown_captures.c.status, unknown_captures.c.started_at)
Index("ix_unknown_captures_unknown", unknown_captures.c.unknown_id)

# The unknown index: like fingerprints, but of captures, and never read by a catalog lookup.
unknown_prints = Table(
    "unknown_prints",
    metadata,
    Column("hash", Integer, nullable=False),
    Column("capture_id", BigInteger, nullable=False),
    Column("frame", Integer, nullable=False),
)
Index("ix_unknown_prints_hash", unknown_prints.c.hash)
Index("ix_unknown_prints_capture", unknown_prints.c.capture_id)

# Airings heard once, found when their song is registered: one row per fingerprint set whose prints were looked up
# among the captures heard once before it (sql/0035, zamio.playlogs.heard_once).
unknown_track_checks = Table(
    "unknown_track_checks",
    metadata,
    Column("track_id", BigInteger, ForeignKey("tracks.id"), primary_key=True, autoincrement=False),
    Column("set_created_at", UTCDateTime, primary_key=True),
    Column("checked_at", UTCDateTime, nullable=False),
    Column("candidates", Integer, nullable=False),  # the captures heard once that shared its audio
    Column("found", Integer, nullable=False),  # those the catalog's matcher recognised as the track
)
