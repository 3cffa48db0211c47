"""Operations: cache entries, the e-mail outbox, weekly summaries queued, job runs, the audit log, schema migrations."""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, Table, Text, UniqueConstraint

from zamio.db.tables.base import id_column, lease_columns, metadata
from zamio.db.tables.recognition import captures, detections
from zamio.db.types import UTCDateTime

schema_migrations = Table(
    "schema_migrations",
    metadata,
    Column("version", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("checksum", Text, nullable=False),
    Column("applied_at", UTCDateTime, nullable=False),
)


cache_entries = Table(
    "cache_entries",
    metadata,
    Column("key", Text, primary_key=True),
    Column("value", Text, nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("computed_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)

email_outbox = Table(
    "email_outbox",
    metadata,
    id_column(),
    Column("dedupe_key", Text, nullable=False, unique=True),
    Column("recipient", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("body_text", Text, nullable=False),
    Column("body_html", Text),
    Column("template", Text, nullable=False),
    Column("status", Text, nullable=False, server_default="queued"),  # queued|sending|transmitting|sent|failed|unknown
    *lease_columns(),
    Column("message_id", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    Column("attachments", Text),  # JSON: [{filename, content_type, path, size, sha256}] (sql/0023); empty: none
)
Index("ix_email_outbox_status", email_outbox.c.status, email_outbox.c.next_attempt_at)

# One row per weekly summary queued (bin/send-weekly-summaries, sql/0026), in the e-mail's transaction: its
# unique key sends a summary once per ISO week, kind and recipient, and outlives the sent e-mail's retention.
weekly_summaries = Table(
    "weekly_summaries",
    metadata,
    id_column(),
    Column("week", Text, nullable=False),  # ISO week, 2026-W48
    Column("kind", Text, nullable=False),  # artist | station
    Column("recipient_ref", Text, nullable=False),  # artist_ref | station_ref
    Column("recipient", Text, nullable=False),  # the address it was queued for
    Column("dedupe_key", Text, nullable=False),  # its message's key in email_outbox
    Column("queued_at", UTCDateTime, nullable=False),
    UniqueConstraint("week", "kind", "recipient_ref"),
)

job_runs = Table(
    "job_runs",
    metadata,
    id_column(),
    Column("run_id", Text, nullable=False, unique=True),
    Column("job", Text, nullable=False),
    Column("host", Text, nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Column("status", Text, nullable=False),  # running | ok | items_failed | locked | failed | interrupted
    Column("exit_code", Integer),
    Column("items_ok", Integer, nullable=False, server_default="0"),
    Column("items_failed", Integer, nullable=False, server_default="0"),
    Column("items_skipped", Integer, nullable=False, server_default="0"),
    Column("error", Text),
    Column("started_by", Text, nullable=False, server_default="schedule"),  # schedule | manual (sql/0021)
)
Index("ix_job_runs_job_started", job_runs.c.job, job_runs.c.started_at)
Index("ix_job_runs_job_started_by", job_runs.c.job, job_runs.c.started_by, job_runs.c.started_at)

audit_log = Table(
    "audit_log",
    metadata,
    id_column(),
    Column("event_key", Text, nullable=False, unique=True),  # e.g. cycle:2026-Q3:locked; makes a retried write a no-op
    Column("at", UTCDateTime, nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("entity", Text, nullable=False),
    Column("entity_id", Text),
    Column("details", Text),
    # sql/0020: why, and the state before and after (JSON text); written by zamio.db.audit only, append-only.
    Column("reason", Text),  # required of every entry zamio writes; empty only on rows written before 0020
    Column("before_json", Text),
    Column("after_json", Text),
)
Index("ix_audit_log_entity", audit_log.c.entity, audit_log.c.entity_id)
Index("ix_audit_log_at", audit_log.c.at)
Index("ix_job_runs_started", job_runs.c.started_at)
Index("ix_email_outbox_sent", email_outbox.c.sent_at)

# Retention (bin/cleanup-old-data) looks rows up by age; these indexes on the recognition tables serve
# only that, so they are declared here with it (play_detections (detection_id) is in zamio/db/tables/plays.py).
Index("ix_detections_detected", detections.c.detected_at)
Index("ix_captures_started", captures.c.started_at)
