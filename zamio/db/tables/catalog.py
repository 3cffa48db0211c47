"""Catalog: publishers, artists, partner societies and agreements, tracks, contributors, partner repertoire,
and the ISRC → partner society mappings decided from it."""

from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, Column, Float, Index, Table, Text, UniqueConstraint

from zamio.db.tables.base import id_column, metadata, ref
from zamio.db.types import DateText, ExactDecimal, UTCDateTime
from zamio.values.decimals import PERCENT

publishers = Table(
    "publishers",
    metadata,
    id_column(),
    Column("publisher_ref", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("email", Text),
    Column("ipi", Text),
    Column("created_at", UTCDateTime, nullable=False),
)

artists = Table(
    "artists",
    metadata,
    id_column(),
    Column("artist_ref", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    ref("publisher_id", "publishers"),
    Column("email", Text),
    Column("ipi", Text),
    Column("country", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("weekly_summary", Boolean, nullable=False, server_default="1"),  # False: unsubscribed (sql/0026)
)

partner_societies = Table(
    "partner_societies",
    metadata,
    id_column(),
    Column("code", Text, nullable=False, unique=True),  # CISAC code, 3 digits
    Column("name", Text, nullable=False),
    Column("short_name", Text, nullable=False, unique=True),
    Column("country", Text),
    Column("currency", Text, nullable=False),
    Column("default_admin_fee_percent", ExactDecimal(PERCENT), nullable=False),  # the latest of society_admin_fees
    Column("is_local", Boolean, nullable=False, server_default="0"),
    Column("email", Text),
    Column("created_at", UTCDateTime, nullable=False),
)

# A society's default admin fee, effective-dated (sql/0017): the row in force on a play's date is
# the latest effective_from on or before it; a change is a new row, a used row is never edited.
society_admin_fees = Table(
    "society_admin_fees",
    metadata,
    id_column(),
    ref("society_id", "partner_societies", nullable=False),
    # NUMERIC(24,10) on PostgreSQL (sql/0017 came after 0016 narrowed the other percentages); the
    # type still keeps six places on both databases.
    Column("admin_fee_percent", ExactDecimal(PERCENT), nullable=False),
    Column("effective_from", DateText, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("society_id", "effective_from"),
)

reciprocal_agreements = Table(
    "reciprocal_agreements",
    metadata,
    id_column(),
    ref("society_id", "partner_societies", nullable=False),
    Column("territory", Text, nullable=False),
    Column("admin_fee_percent", ExactDecimal(PERCENT)),
    Column("effective_from", DateText, nullable=False),
    Column("expires_on", DateText),
    Column("status", Text, nullable=False),
    Column("reporting_frequency", Text, nullable=False, server_default="quarterly"),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("society_id", "territory", "effective_from"),
)

tracks = Table(
    "tracks",
    metadata,
    id_column(),
    Column("track_ref", Text, nullable=False, unique=True),
    Column("title", Text, nullable=False),
    ref("artist_id", "artists", nullable=False),
    ref("publisher_id", "publishers"),
    ref("society_id", "partner_societies"),  # registered to a partner society: a foreign work
    Column("album", Text),
    Column("isrc", Text),
    Column("iswc", Text),
    Column("duration_seconds", Float),
    Column("audio_path", Text),
    Column("category", Text, nullable=False, server_default="music"),
    Column("active", Boolean, nullable=False, server_default="1"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)
Index("ix_tracks_isrc", tracks.c.isrc)

contributors = Table(
    "contributors",
    metadata,
    id_column(),
    ref("track_id", "tracks", nullable=False),
    Column("party_ref", Text, nullable=False),  # IPI name number, else a slug of the name
    Column("name", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("share_percent", ExactDecimal(PERCENT), nullable=False),
    ref("publisher_id", "publishers"),
    Column("email", Text),
    Column("ipi", Text),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("track_id", "party_ref", "role"),
)

partner_repertoire = Table(
    "partner_repertoire",
    metadata,
    id_column(),
    ref("society_id", "partner_societies", nullable=False),
    Column("isrc", Text, nullable=False),
    Column("iswc", Text),
    Column("title", Text),
    Column("artist", Text),
    Column("share_percent", ExactDecimal(PERCENT)),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("society_id", "isrc"),
)
Index("ix_partner_repertoire_isrc", partner_repertoire.c.isrc)

# One row per normalised ISRC seen on detections and plays, written by bin/update-pro-mappings only
# (zamio.catalog.mappings, sql/0019): the partner society that claims it in partner_repertoire.
# Pricing takes a play's society from here (zamio.royalties.pricing.works.with_mapped_societies).
isrc_mappings = Table(
    "isrc_mappings",
    metadata,
    id_column(),
    Column("isrc", Text, nullable=False, unique=True),  # normalised (zamio.catalog.identifiers)
    Column("status", Text, nullable=False),  # mapped | ambiguous | unknown (re-checked) | invalid_isrc
    ref("society_id", "partner_societies"),  # set exactly when mapped
    Column("decided_at", UTCDateTime, nullable=False),  # when it took its status
    Column("checked_at", UTCDateTime, nullable=False),  # when the job last looked at it
    CheckConstraint("status IN ('mapped', 'ambiguous', 'unknown', 'invalid_isrc')", name="ck_isrc_mappings_status"),
    CheckConstraint("(status = 'mapped') = (society_id IS NOT NULL)", name="ck_isrc_mappings_society"),
)

# Who is paid and how (sql/0025): one row per recipient as the ledger names it, loaded by
# bin/import-catalog --payees (zamio.catalog.payees).
payees = Table(
    "payees",
    metadata,
    id_column(),
    Column("recipient_type", Text, nullable=False),  # contributor | artist | publisher | society
    Column("recipient_ref", Text, nullable=False),
    Column("name", Text),
    Column("residency", Text, nullable=False, server_default="resident"),  # resident | non_resident
    Column("payment_method", Text),  # bank | mobile_money; empty: payments are held
    Column("bank_name", Text),
    Column("account_number", Text),
    Column("branch_code", Text),
    Column("mobile_money_number", Text),  # MSISDN, international form without +
    Column("mobile_money_network", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("recipient_type", "recipient_ref"),
)
