"""Money: rate cards, periods, eligibility, exchange rates, the append-only ledger, cycles, remittances."""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, Column, Float, Index, Integer, Table, Text, UniqueConstraint, text

from zamio.db.tables.base import id_column, metadata, ref
from zamio.db.types import DateText, ExactDecimal, UTCDateTime
from zamio.values.decimals import CONFIDENCE, EXCHANGE_RATE, MULTIPLIER, PERCENT, RATE

rate_cards = Table(
    "rate_cards",
    metadata,
    id_column(),
    Column("territory", Text, nullable=False),
    Column("station_class", Text, nullable=False),
    Column("period", Text, nullable=False),  # prime | regular | off_peak
    Column("rate_per_second", ExactDecimal(RATE), nullable=False),
    Column("multiplier", ExactDecimal(MULTIPLIER), nullable=False),
    Column("currency", Text, nullable=False),
    Column("effective_from", DateText, nullable=False),
    Column("effective_to", DateText),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("territory", "station_class", "period", "effective_from"),
)

day_periods = Table(
    "day_periods",
    metadata,
    id_column(),
    Column("territory", Text, nullable=False),
    Column("period", Text, nullable=False),
    Column("start_minute", Integer, nullable=False),  # station-local minute of day, inclusive
    Column("end_minute", Integer, nullable=False),  # exclusive
    Column("effective_from", DateText, nullable=False),
    UniqueConstraint("territory", "start_minute", "effective_from"),
)

eligibility_rules = Table(
    "eligibility_rules",
    metadata,
    id_column(),
    Column("territory", Text, nullable=False),
    Column("min_seconds", Float, nullable=False),
    Column("min_confidence", ExactDecimal(CONFIDENCE), nullable=False),
    Column("categories_paid", Text, nullable=False),  # comma-separated categories
    Column("effective_from", DateText, nullable=False),
    UniqueConstraint("territory", "effective_from"),
)

exchange_rates = Table(
    "exchange_rates",
    metadata,
    id_column(),
    Column("from_currency", Text, nullable=False),
    Column("to_currency", Text, nullable=False),
    Column("rate", ExactDecimal(EXCHANGE_RATE), nullable=False),
    Column("effective_from", DateText, nullable=False),
    Column("source", Text),
    UniqueConstraint("from_currency", "to_currency", "effective_from"),
)

royalty_cycles = Table(
    "royalty_cycles",
    metadata,
    id_column(),
    Column("name", Text, nullable=False, unique=True),
    Column("territory", Text, nullable=False),
    Column("period_from", DateText, nullable=False),
    Column("period_to", DateText, nullable=False),
    Column("method", Text, nullable=False),  # per_second | pool
    Column("status", Text, nullable=False),  # open | locked
    Column("rounding", Text, nullable=False),
    Column("input_hash", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("locked_at", UTCDateTime),
    Column("totals", Text),  # JSON: the reconciled totals printed when the cycle was locked
    Column("open_pricings_from", BigInteger),  # lowest pricing id left unassigned at the lock (sql/0009)
    # What the cycle was computed from, recorded at the lock (sql/0013, zamio.royalties.cycles.snapshot):
    Column("input_snapshot", Text),  # JSON: period, method, counts, digests, reference rows
    Column("plays_digest", Text),  # SHA-256 of the (play_id, version, gross) of the pricings it pays
    Column("rates_digest", Text),  # SHA-256 of the rate cards, day periods and eligibility rules in force
    Column("shares_digest", Text),  # SHA-256 of the share tables of the works it pays
    # When its files were written and its statement_ready e-mails queued (sql/0017); empty while a
    # close that locked it has not finished writing them (running the close again finishes it).
    Column("files_written_at", UTCDateTime),
)

royalty_ledger = Table(
    "royalty_ledger",
    metadata,
    id_column(),
    Column("entry_key", Text, nullable=False, unique=True),
    ref("play_id", "play_logs"),
    ref("cycle_id", "royalty_cycles"),
    Column("version", Integer, nullable=False),
    Column("kind", Text, nullable=False),  # share | admin_fee | suspense | ineligible | reversal | pool_share
    # contributor | artist | publisher | society | suspense | local_society
    Column("recipient_type", Text, nullable=False),
    Column("recipient_ref", Text, nullable=False),
    Column("recipient_name", Text),
    ref("society_id", "partner_societies"),
    Column("amount", BigInteger, nullable=False),
    Column("currency", Text, nullable=False),
    Column("seconds", Float, nullable=False, server_default="0"),
    Column("reason", Text),
    ref("rate_card_id", "rate_cards"),
    ref("reverses_id", "royalty_ledger"),
    Column("details", Text),
    Column("run_id", Text),
    Column("created_at", UTCDateTime, nullable=False),
)
Index("ix_royalty_ledger_play", royalty_ledger.c.play_id)
Index("ix_royalty_ledger_recipient", royalty_ledger.c.recipient_type, royalty_ledger.c.recipient_ref)
# Only pool lines have a cycle (sql/0012_royalty_write_path.sql); on PostgreSQL the ledger's play and
# rate card are not foreign keys: the pricing row of the line's (play_id, version) carries them.
Index("ix_royalty_ledger_cycle", royalty_ledger.c.cycle_id, sqlite_where=text("cycle_id IS NOT NULL"),
      postgresql_where=text("cycle_id IS NOT NULL"))

# One row per priced version of a play (sql/0005_royalties.sql).  The ledger lines of a
# version carry the same (play_id, version); reversals of the previous version too.
royalty_pricings = Table(
    "royalty_pricings",
    metadata,
    id_column(),
    ref("play_id", "play_logs", nullable=False),
    Column("version", Integer, nullable=False),
    Column("status", Text, nullable=False),  # priced | ineligible | suspense | unpriced | reversed
    Column("reason", Text),
    ref("station_id", "stations", nullable=False),
    Column("play_date", DateText, nullable=False),  # station-local date of the play's start
    Column("seconds", Float, nullable=False),
    Column("multiplier", ExactDecimal(MULTIPLIER)),  # time-of-day weight, the pool method's weight per second
    Column("gross", BigInteger, nullable=False),  # units owed for this version
    Column("previous_gross", BigInteger, nullable=False, server_default="0"),  # units it reversed
    Column("currency", Text, nullable=False),
    ref("rate_card_id", "rate_cards"),
    Column("outcome_hash", Text, nullable=False),
    Column("details", Text),
    Column("run_id", Text),
    ref("cycle_id", "royalty_cycles"),  # no longer written: cycle_pricings records the cycle (sql/0009)
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("play_id", "version"),
)
# On PostgreSQL play_id, station_id and rate_card_id are not foreign keys (sql/0012_royalty_write_path.sql):
# triggers keep a priced play or rate card from being deleted, and the play references its station.
# The plays every pricing run re-examines (zamio.royalties.pricing.run.RECHECKED_STATUSES).
Index("ix_royalty_pricings_rechecked", royalty_pricings.c.play_id,
      sqlite_where=text("status IN ('suspense', 'unpriced')"),
      postgresql_where=text("status IN ('suspense', 'unpriced')"))

# Which cycle pays each pricing: one row per pricing, written when that cycle is locked, with
# the pricing's play date (sql/0009_cycle_pricings.sql).  Keyed like the pricing, and joined
# to the ledger lines of that pricing by the same key.  cycle_id has no foreign key (a check
# per row would cost more than the insert): it is the cycle locked in the same transaction.
cycle_pricings = Table(
    "cycle_pricings",
    metadata,
    Column("play_id", BigInteger, primary_key=True, autoincrement=False),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("cycle_id", BigInteger, nullable=False),
    Column("play_date", DateText, nullable=False),
)
Index("ix_cycle_pricings_cycle", cycle_pricings.c.cycle_id)

station_licence_fees = Table(
    "station_licence_fees",
    metadata,
    id_column(),
    ref("station_id", "stations", nullable=False),
    Column("period_from", DateText, nullable=False),
    Column("period_to", DateText, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("currency", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("station_id", "period_from", "period_to"),
)

# The days of a licence fee a pool cycle spread, and the units it spread for them (sql/0017):
# one row per (fee, stretch of days), written with the cycle's lines, append-only.  The parts
# of a fee sum to the fee once every day of its period is covered (zamio.royalties.cycles.pool).
licence_fee_parts = Table(
    "licence_fee_parts",
    metadata,
    id_column(),
    ref("fee_id", "station_licence_fees", nullable=False),
    ref("cycle_id", "royalty_cycles", nullable=False),
    Column("day_from", DateText, nullable=False),
    Column("day_to", DateText, nullable=False),  # inclusive
    Column("amount", BigInteger, nullable=False),  # units
    Column("currency", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("fee_id", "day_from"),
)
Index("ix_licence_fee_parts_cycle", licence_fee_parts.c.cycle_id)

cycle_line_items = Table(
    "cycle_line_items",
    metadata,
    id_column(),
    ref("cycle_id", "royalty_cycles", nullable=False),
    Column("recipient_type", Text, nullable=False),
    Column("recipient_ref", Text, nullable=False),
    Column("recipient_name", Text),
    Column("currency", Text, nullable=False),
    Column("plays", Integer, nullable=False),
    Column("seconds", Float, nullable=False),
    Column("gross", BigInteger, nullable=False),
    Column("admin_fee", BigInteger, nullable=False),
    Column("net", BigInteger, nullable=False),
    UniqueConstraint("cycle_id", "recipient_type", "recipient_ref", "currency"),
)

partner_remittances = Table(
    "partner_remittances",
    metadata,
    id_column(),
    ref("cycle_id", "royalty_cycles", nullable=False),
    ref("society_id", "partner_societies", nullable=False),
    Column("currency", Text, nullable=False),
    Column("gross", BigInteger, nullable=False),
    Column("admin_fee", BigInteger, nullable=False),
    Column("net", BigInteger, nullable=False),
    Column("exchange_rate", ExactDecimal(EXCHANGE_RATE), nullable=False),
    Column("net_in_currency", BigInteger, nullable=False),
    Column("status", Text, nullable=False, server_default="pending"),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("cycle_id", "society_id"),
)

# --- payouts (sql/0025) -----------------------------------------------------------------

# The share of domestic distributions the local society keeps, effective-dated per territory:
# a cycle applies the row in force on its last day (zamio.royalties.payouts.deductions).
domestic_commission_rates = Table(
    "domestic_commission_rates",
    metadata,
    id_column(),
    Column("territory", Text, nullable=False),
    Column("commission_percent", ExactDecimal(PERCENT), nullable=False),
    Column("effective_from", DateText, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("territory", "effective_from"),
)

# Tax withheld from a payee's payable amount, per recipient type and residency, effective-dated.
withholding_tax_rates = Table(
    "withholding_tax_rates",
    metadata,
    id_column(),
    Column("territory", Text, nullable=False),
    Column("recipient_type", Text, nullable=False),  # contributor | artist | publisher
    Column("residency", Text, nullable=False),  # resident | non_resident
    Column("tax_percent", ExactDecimal(PERCENT), nullable=False),
    Column("authority", Text, nullable=False),  # the tax authority's reference: the ledger recipient of the tax
    Column("effective_from", DateText, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("territory", "recipient_type", "residency", "effective_from"),
)

# What each recipient of a cycle is owed and paid, recorded when the cycle is locked (append-only).
payout_balances = Table(
    "payout_balances",
    metadata,
    id_column(),
    ref("cycle_id", "royalty_cycles", nullable=False),
    Column("recipient_type", Text, nullable=False),
    Column("recipient_ref", Text, nullable=False),
    Column("recipient_name", Text),
    Column("currency", Text, nullable=False),
    Column("residency", Text, nullable=False),
    Column("gross", BigInteger, nullable=False),  # units earned in the cycle, before deductions
    Column("commission", BigInteger, nullable=False),  # domestic commission deducted
    Column("withholding_tax", BigInteger, nullable=False),  # tax withheld
    Column("brought_forward", BigInteger, nullable=False),  # carried and failed amounts of earlier cycles
    Column("net_payable", BigInteger, nullable=False),  # paid for this cycle (0 when carried)
    Column("carried_forward", BigInteger, nullable=False),  # below the minimum: left for the next cycle
    Column("minimum", BigInteger, nullable=False),  # the minimum payout of the currency at the lock
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("cycle_id", "recipient_type", "recipient_ref", "currency"),
)
Index("ix_payout_balances_recipient", payout_balances.c.recipient_type, payout_balances.c.recipient_ref)

# One payment per cycle, recipient and currency, with the payment details it was prepared with (JSON).
payments = Table(
    "payments",
    metadata,
    id_column(),
    Column("reference", Text, nullable=False, unique=True),  # what the bank or operator confirms it by
    ref("cycle_id", "royalty_cycles", nullable=False),
    Column("recipient_type", Text, nullable=False),
    Column("recipient_ref", Text, nullable=False),
    Column("recipient_name", Text),
    Column("currency", Text, nullable=False),
    Column("amount", BigInteger, nullable=False),  # units
    Column("method", Text, nullable=False),  # bank | mobile_money
    Column("details", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("cycle_id", "recipient_type", "recipient_ref", "currency"),
)
Index("ix_payments_recipient", payments.c.recipient_type, payments.c.recipient_ref)

# What happened to a payment: prepared, sent, settled or failed, each at most once (append-only).
payment_events = Table(
    "payment_events",
    metadata,
    id_column(),
    ref("payment_id", "payments", nullable=False),
    Column("status", Text, nullable=False),
    Column("reason", Text),
    Column("source", Text),  # the confirmation file it came from
    Column("run_id", Text),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("payment_id", "status"),
    CheckConstraint("status IN ('prepared', 'sent', 'settled', 'failed')", name="ck_payment_events_status"),
)
