#!/usr/bin/env python3
"""Royalty engine benchmark on PostgreSQL: price and split a million plays, then close a cycle.

Creates a scratch database and bulk-loads 200 stations, 20,000 tracks (local
works with 1-3 contributors, some through publishers, some with bad shares, some
foreign works under agreements) and N plays over one month with COPY; then a
second scratch database with the same catalog and the first ``--fair-plays`` of
those plays (the same generator and seed: the same rows and ids).  Then, in one
run:

1. **old baseline** (``--baseline old`` or ``both``): the upstream calculator's
   shape, on a sample of ``--old-sample`` plays into a scratch table: a
   transaction per play, the play, its station and its rate card read per play,
   a query per contributor and one per publisher whose result is thrown away,
   one INSERT per line.  It prices by the UTC hour, checks no eligibility, knows
   no partner society and writes no pricing rows: it does more work and a
   different job, so it is kept only to compare with the figures of earlier runs.
2. **fair baseline** (``--baseline fair`` or ``both``): the same pricing as the
   engine, written the way a competent programmer writes it without the
   engine's set-based design, over every play of the second database, into its
   real ``royalty_pricings`` and ``royalty_ledger``:

   * what does not change during a run is read once into dicts: stations, rate
     cards, day periods, eligibility rules, societies and agreements, and the
     whole catalog (each track with its artist and publishers, share tables), and the
     society each mapped ISRC is mapped to (``isrc_mappings``);
   * one transaction per batch of ``--batch-size`` plays, as the engine: one
     query reads the batch (final plays without a pricing, after the last one
     taken: the shape of the engine's query);
   * each play is priced on its own in plain Python, every decision taken anew:
     its station's zone, the period its station-local start falls in and the
     rate card in force found by scanning the dicts' lists, the eligibility
     rule, a Decimal gross rounded by ``zamio.values.money.round_units``, who is owed it
     (the share table checked and split by ``zamio.values.money.allocate``, or a partner
     society under the agreement in force, its admin fee by ``percent_of``, or
     suspense), details by ``json.dumps``, the outcome hash by ``hashlib``;
   * the batch's pricing rows and ledger lines are written when the batch is
     priced, one executemany per table through SQLAlchemy's ``insert()`` (which
     sends them as multi-row INSERTs): how one writes many rows with SQLAlchemy.
     Writing each play's rows as it is priced would add a round trip per play,
     and a text INSERT through psycopg2's executemany one per line: that would
     measure the network, not pricing.

   What it leaves to the engine: deciding once per work and per day, minute
   schedules, integer splits, COPY, and a second worker (it is one loop).  It
   covers what the benchmark's data needs, the first pricing of final plays,
   with every rule the engine applies to them (station-local periods, unpriced
   plays, eligibility, share tables, partner societies and admin fees, suspense
   for bad shares, missing agreements and unknown recordings, the same
   rounding); reversals and recalculations are not part of it.  Its database is
   smaller than the engine's (its sample against N plays): smaller indexes, if
   anything in its favour.
3. **engine**: ``price_pending`` (the hourly job's function) over every play of
   the first database, ``--workers`` batches at once as the job does (default 2);
4. **check** (with the fair baseline): its pricing rows and ledger lines against
   the engine's for the same plays, every column but ids, run ids and times,
   row by row and as totals per recipient.  Printed; a difference makes the
   benchmark exit with status 1 once the rest has run.  The benchmark's data
   reaches few of the rules (two time zones, catalog works only):
   ``tests/db/test_royalty_bench.py`` holds the fair baseline to the pricing job on
   a scenario that reaches every one;
5. ``close_cycle`` + ``write_files`` (bin/process-royalty-cycle) over the month.

The first line states the conditions (server, settings, data, caches, CPUs and
``os.getloadavg()`` at the start); the headline at the end repeats them with the
load at the end and gives the three rates.  Caches are warm: every table is read
right after it was written and analysed, on a server not restarted.  Heavy: run
it alone.

    python3 bench/royalty_bench.py --admin-url postgresql://postgres:postgres@127.0.0.1:5432/postgres
    python3 bench/royalty_bench.py --plays 20000 --fair-plays 20000 --old-sample 1000   # small
    python3 bench/royalty_bench.py --plays 50000 --keep      # keep the databases
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import random
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import BigInteger, Engine, bindparam, exists, func, insert, select, text  # noqa: E402
from sqlalchemy.orm import aliased  # noqa: E402

from zamio.catalog.identifiers import normalise_isrc  # noqa: E402
from zamio.db.engine import open_engine, transaction, utcnow  # noqa: E402
from zamio.db.tables import (  # noqa: E402
    artists,
    contributors,
    day_periods,
    eligibility_rules,
    isrc_mappings,
    partner_societies,
    play_logs,
    publishers,
    rate_cards,
    reciprocal_agreements,
    royalty_ledger,
    royalty_pricings,
    society_admin_fees,
    stations,
    tracks,
)
from zamio.db.url import parse_database_url  # noqa: E402
from zamio.royalties.pricing.ledger import LEDGER_COLUMNS, PRICING_COLUMNS  # noqa: E402
from zamio.royalties.terms import BATCH_PLAYS, WORKERS  # noqa: E402
from zamio.runtime.config import normalise_station_class  # noqa: E402
from zamio.runtime.migrate import migrate  # noqa: E402
from zamio.values.money import allocate, format_amount, percent_of, round_units  # noqa: E402

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DATABASE_PREFIX = "zamio_bench_royalty_"
CLASSES = ["class_a", "class_b", "class_c", "online", "community"]
STATIONS, TRACKS = 200, 20_000
MONTH_START = datetime(2026, 3, 1, tzinfo=UTC)
CACHES = "warm (each table read right after it was written and analysed; server not restarted)"


def copy(conn, table: str, columns: list[str], rows) -> None:  # noqa: ANN001
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join("\\N" if v is None else str(v) for v in row) + "\n")
    buffer.seek(0)
    cursor = conn.connection.dbapi_connection.cursor()
    cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", buffer)
    cursor.close()


def generate(engine, plays: int, seed: int = 7) -> None:  # noqa: ANN001
    rng = random.Random(seed)
    now = "2026-01-01 00:00:00+00"
    with engine.begin() as conn:
        copy(conn, "stations", ["station_ref", "name", "station_class", "timezone", "country", "created_at"],
             [(f"st{i}", f"Station {i}", CLASSES[i % 5], "Africa/Lagos" if i % 10 == 0 else "Africa/Accra", "GH",
               now) for i in range(1, STATIONS + 1)])
        copy(conn, "publishers", ["publisher_ref", "name", "created_at"],
             [(f"pub{i}", f"Publisher {i}", now) for i in range(1, 201)])
        copy(conn, "artists", ["artist_ref", "name", "publisher_id", "created_at"],
             [(f"art{i}", f"Artist {i}", (i % 200) + 1 if i % 4 == 0 else None, now) for i in range(1, 5001)])
        societies = dict(conn.execute(text("SELECT code, id FROM partner_societies")).all())
        foreign = [societies[c] for c in ("052", "010", "021", "058")]
        conn.execute(text("INSERT INTO reciprocal_agreements (society_id, territory, admin_fee_percent, "
                          "effective_from, status, created_at) VALUES (:s, 'GH', 15, '2025-01-01', 'active', now())"),
                     [{"s": s} for s in foreign[:3]])  # SACEM has no agreement: its plays go to suspense
        tracks, shares = [], []
        for t in range(1, TRACKS + 1):
            society = foreign[t % 4] if t % 10 == 0 else None
            tracks.append((f"t{t}", f"Track {t}", rng.randint(1, 5000), society, f"GHA12{t:07d}", now, now))
            if society is None and t % 5 != 0:
                n = 1 + t % 3
                parts = [Decimal(100) / n] * n if n != 3 else [Decimal("33.33"), Decimal("33.33"), Decimal("33.34")]
                if t % 50 == 1:
                    parts[0] -= 10  # bad shares
                for k, part in enumerate(parts):
                    shares.append((t, f"party{(t * 7 + k) % 30000}", f"Writer {k}", "composer", part,
                                   (t + k) % 200 + 1 if (t + k) % 3 == 0 else None, now))
        copy(conn, "tracks", ["track_ref", "title", "artist_id", "society_id", "isrc", "created_at", "updated_at"],
             tracks)
        copy(conn, "contributors", ["track_id", "party_ref", "name", "role", "share_percent", "publisher_id",
                                    "created_at"], shares)
    seconds_in_month = 31 * 86400
    for start in range(0, plays, 200_000):
        with engine.begin() as conn:
            rows = []
            for i in range(start + 1, min(plays, start + 200_000) + 1):
                at = MONTH_START + timedelta(seconds=rng.randrange(seconds_in_month))
                track = rng.randint(1, TRACKS)
                rows.append((f"play{i}", 1, rng.randint(1, STATIONS), track, f"track:{track}", "local", at.isoformat(),
                             at.isoformat(), rng.choice((5, 30, 120, 180, 200, 240, 300)), "final",
                             round(rng.uniform(0.3, 1.0), 3), now))
            copy(conn, "play_logs", ["play_key", "version", "station_id", "track_id", "recording_key", "source",
                                     "started_at", "ended_at", "duration_seconds", "status", "confidence_avg",
                                     "created_at"], rows)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))


# --- the old baseline: the upstream calculator's shape, kept to compare with earlier runs ------------

BASELINE_PERIODS = [(0, 6, "off_peak"), (6, 10, "prime"), (10, 16, "regular"), (16, 20, "prime"),
                    (20, 24, "regular")]


def old_baseline(engine, sample: int) -> float:  # noqa: ANN001
    """Row by row, as the upstream calculator: a transaction per play, a query per contributor; plays/s."""
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE bench_baseline_ledger (LIKE royalty_ledger INCLUDING ALL)"))
        ids = list(conn.execute(text("SELECT id FROM play_logs ORDER BY id LIMIT :n"), {"n": sample}).scalars())
    started = time.perf_counter()
    for play_id in ids:
        with engine.begin() as conn:
            play = conn.execute(text("SELECT * FROM play_logs WHERE id = :i"), {"i": play_id}).one()
            station = conn.execute(text("SELECT * FROM stations WHERE id = :i"), {"i": play.station_id}).one()
            hour = play.started_at.hour
            period = next(p for a, b, p in BASELINE_PERIODS if a <= hour < b)
            card = conn.execute(text("SELECT * FROM rate_cards WHERE station_class = :c AND period = :p"),
                                {"c": station.station_class, "p": period}).one()
            gross = round_units(card.rate_per_second * card.multiplier * Decimal(str(play.duration_seconds)))
            people = conn.execute(text("SELECT id FROM contributors WHERE track_id = :t ORDER BY id"),
                                  {"t": play.track_id}).scalars().all()
            parts = []
            for cid in people:  # one query per contributor, one for its publisher
                c = conn.execute(text("SELECT * FROM contributors WHERE id = :i"), {"i": cid}).one()
                if c.publisher_id:
                    conn.execute(text("SELECT * FROM publishers WHERE id = :i"), {"i": c.publisher_id}).one()
                parts.append(c)
            amounts = allocate(gross, [p.share_percent for p in parts]) if parts else [gross]
            refs = [p.party_ref for p in parts] or ["artist"]
            for ref, amount in zip(refs, amounts):
                conn.execute(text(
                    "INSERT INTO bench_baseline_ledger (entry_key, play_id, version, kind, recipient_type, "
                    "recipient_ref, amount, currency, seconds, created_at) VALUES "
                    "(:k, :p, 1, 'share', 'contributor', :r, :a, 'GHS', :s, now())"),
                    {"k": f"b{play_id}:{ref}", "p": play_id, "r": ref, "a": amount, "s": play.duration_seconds})
    return len(ids) / (time.perf_counter() - started)


# --- the fair baseline: the engine's rules, one play at a time in plain Python -----------------------

HUNDRED = Decimal(100)
MILLISECOND = Decimal("0.001")  # played seconds are priced to the millisecond
MILLIONTH = Decimal("0.000001")  # confidences are kept to six places
SECONDS_COUNTED = ("share", "suspense", "ineligible")  # an admin fee line does not count the play's seconds


class Rule(NamedTuple):
    """An eligibility rule, its categories split once as it is read."""

    effective_from: date
    min_seconds: Decimal
    min_confidence: Decimal
    categories: frozenset[str]


class Line(NamedTuple):
    """One ledger line of a play, before its key (zamio.royalties.pricing.split.Line)."""

    kind: str
    recipient_type: str
    recipient_ref: str
    recipient_name: str | None
    amount: int
    society_id: int | None = None
    reason: str | None = None
    share: Decimal | None = None


class Priced(NamedTuple):
    """What the fair baseline decided for one play: its pricing row's facts and its lines."""

    status: str
    reason: str | None
    play_date: date
    seconds: Decimal
    multiplier: Decimal | None
    gross: int
    currency: str
    rate_card_id: int | None
    details: str
    lines: list[Line]


@dataclass
class Reference:
    """What the fair baseline reads once per run and keeps in dicts, as loaded (rows)."""

    stations: dict[int, Any] = field(default_factory=dict)
    cards: dict[tuple[str, str, str], list[Any]] = field(default_factory=lambda: defaultdict(list))
    periods: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))
    rules: dict[str, list[Rule]] = field(default_factory=lambda: defaultdict(list))
    societies: dict[int, Any] = field(default_factory=dict)
    local: Any = None
    agreements: dict[int, list[Any]] = field(default_factory=lambda: defaultdict(list))
    fees: dict[int, list[Any]] = field(default_factory=lambda: defaultdict(list))  # society's dated fees, latest first
    works: dict[int, Any] = field(default_factory=dict)
    shares: dict[int, list[Any]] = field(default_factory=lambda: defaultdict(list))
    mapped: dict[str, int] = field(default_factory=dict)  # normalised ISRC → the society it is mapped to

    @classmethod
    def load(cls, conn) -> Reference:  # noqa: ANN001
        ref = cls()
        ref.stations = {row.id: row for row in conn.execute(select(stations))}
        for row in conn.execute(select(rate_cards)):
            ref.cards[row.territory, row.station_class, row.period].append(row)
        for row in conn.execute(select(day_periods)):
            ref.periods[row.territory].append(row)
        for row in conn.execute(select(eligibility_rules)):
            ref.rules[row.territory].append(Rule(
                row.effective_from, Decimal(str(row.min_seconds)), row.min_confidence,
                frozenset(c.strip() for c in row.categories_paid.split(",") if c.strip())))
        ref.societies = {row.id: row for row in conn.execute(select(partner_societies))}
        ref.local = next(s for s in ref.societies.values() if s.is_local)
        for row in conn.execute(select(reciprocal_agreements)):
            ref.agreements[row.society_id].append(row)
        for row in conn.execute(select(society_admin_fees).order_by(society_admin_fees.c.effective_from.desc())):
            ref.fees[row.society_id].append(row)
        artist_publisher, track_publisher = aliased(publishers), aliased(publishers)
        ref.works = {row.id: row for row in conn.execute(
            select(tracks.c.id, tracks.c.society_id, artists.c.artist_ref, artists.c.name.label("artist_name"),
                   artist_publisher.c.publisher_ref.label("ap_ref"), artist_publisher.c.name.label("ap_name"),
                   track_publisher.c.publisher_ref.label("tp_ref"), track_publisher.c.name.label("tp_name"))
            .join(artists, artists.c.id == tracks.c.artist_id)
            .outerjoin(artist_publisher, artist_publisher.c.id == artists.c.publisher_id)
            .outerjoin(track_publisher, track_publisher.c.id == tracks.c.publisher_id))}
        for row in conn.execute(
                select(contributors.c.track_id, contributors.c.party_ref, contributors.c.name,
                       contributors.c.share_percent, publishers.c.publisher_ref,
                       publishers.c.name.label("publisher_name"))
                .outerjoin(publishers, publishers.c.id == contributors.c.publisher_id)
                .order_by(contributors.c.track_id, contributors.c.party_ref, contributors.c.role)):
            ref.shares[row.track_id].append(row)
        ref.mapped = {row.isrc: row.society_id for row in conn.execute(
            select(isrc_mappings.c.isrc, isrc_mappings.c.society_id).where(isrc_mappings.c.status == "mapped"))}
        return ref


def period_at(ref: Reference, territory: str, day: date, minute: int) -> str | None:
    """The period a station-local minute falls in: of the periods of the latest set in force on the
    day, the covering one that starts last; None if none covers it."""
    rows = [p for p in ref.periods.get(territory, []) if p.effective_from <= day]
    if not rows:
        return None
    current = max(p.effective_from for p in rows)
    covering = [p for p in rows if p.effective_from == current and p.start_minute <= minute < p.end_minute]
    return max(covering, key=lambda p: p.start_minute).period if covering else None


def card_in_force(ref: Reference, territory: str, station_class: str, period: str, day: date) -> Any:
    """The rate card in force on the day (the latest start wins), or None."""
    found = None
    for card in ref.cards.get((territory, station_class, period), []):
        if card.effective_from <= day and (card.effective_to is None or day < card.effective_to):
            if found is None or card.effective_from > found.effective_from:
                found = card
    return found


def rule_in_force(ref: Reference, territory: str, day: date) -> Rule | None:
    found = None
    for rule in ref.rules.get(territory, []):
        if rule.effective_from <= day and (found is None or rule.effective_from > found.effective_from):
            found = rule
    return found


def ineligible_because(rule: Rule | None, seconds: Decimal, confidence: Decimal | None, category: str) -> str | None:
    if rule is None:
        return None
    if rule.categories and category not in rule.categories:
        return "category_not_paid"
    if seconds < rule.min_seconds:
        return "below_min_seconds"
    if confidence is not None and confidence < rule.min_confidence:
        return "low_confidence"
    return None


def owner_of(ref: Reference, play: Any, territory: str, day: date) -> tuple:
    """Who is owed a play: ("parties", [(payee, weight)]), ("society", society, agreement, fee) or
    ("suspense", reason); payee = (recipient type, reference, name)."""
    if play.track_id is not None:
        work = ref.works.get(play.track_id)
        if work is None:
            return ("suspense", "unidentified")
        society = ref.societies.get(work.society_id) if work.society_id is not None else None
        if society is not None and not society.is_local:
            return society_owner(ref, society, territory, day)
        return work_owner(work, ref.shares.get(work.id, []))
    isrc = normalise_isrc(play.isrc) if play.isrc else None
    society_id = ref.mapped.get(isrc, play.society_id) if isrc else play.society_id  # the mapping first
    society = ref.societies.get(society_id) if society_id is not None else None
    if society is None:
        return ("suspense", "unidentified")
    if society.is_local:
        return ("suspense", "not_in_catalog")  # a local work whose parties we cannot name
    return society_owner(ref, society, territory, day)


def society_owner(ref: Reference, society: Any, territory: str, day: date) -> tuple:
    """The latest agreement row in force (drafts aside) decides; it pays only if active.  Its fee, else
    the society's dated default fee of that day (before the first, the first), else the society's own."""
    found = None
    for a in ref.agreements.get(society.id, []):
        if (a.status.lower() != "draft" and a.territory == territory and a.effective_from <= day
                and (a.expires_on is None or day < a.expires_on)):
            if found is None or a.effective_from > found.effective_from:
                found = a
    if found is None or found.status.lower() != "active":
        return ("suspense", "no_agreement")
    if found.admin_fee_percent is not None:
        return ("society", society, found, found.admin_fee_percent, None)
    dated = ref.fees.get(society.id, [])
    fee_row = next((f for f in dated if f.effective_from <= day), dated[-1] if dated else None)
    if fee_row is None:
        return ("society", society, found, society.default_admin_fee_percent, None)
    return ("society", society, found, fee_row.admin_fee_percent, fee_row.id)


def work_owner(work: Any, shares: list[Any]) -> tuple:
    if not shares:  # the artist, through its publisher, else the track's, else directly
        if work.ap_ref:
            return ("parties", [(("publisher", work.ap_ref, work.ap_name), HUNDRED)])
        if work.tp_ref:
            return ("parties", [(("publisher", work.tp_ref, work.tp_name), HUNDRED)])
        return ("parties", [(("artist", work.artist_ref, work.artist_name), HUNDRED)])
    percents = [s.share_percent for s in shares]
    if sum(percents) != HUNDRED or any(p < 0 for p in percents):
        return ("suspense", "bad_shares")
    weights: dict[tuple, Decimal] = {}
    for s in shares:  # a share held through a publisher is paid to it; one recipient's parts are added
        payee = ("publisher", s.publisher_ref, s.publisher_name) if s.publisher_ref else \
            ("contributor", s.party_ref, s.name)
        weights[payee] = weights.get(payee, Decimal(0)) + s.share_percent
    return ("parties", [(payee, weight) for payee, weight in weights.items() if weight > 0])


def lines_for(gross: int, owner: tuple, local: Any, recording_key: str) -> list[Line]:
    if owner[0] == "suspense":
        reason = owner[1]
        return [Line("suspense", "suspense", f"{reason}:{recording_key}", None, gross, reason=reason, share=HUNDRED)]
    if owner[0] == "society":
        _, society, _agreement, fee, _fee_row = owner
        fee = fee or Decimal(0)
        fee_units, rest = percent_of(gross, fee)
        return [Line("admin_fee", "local_society", local.code, local.short_name, fee_units, society.id, share=fee),
                Line("share", "society", society.code, society.short_name, rest, society.id, share=HUNDRED - fee)]
    parties = owner[1]
    weights = [weight for _, weight in parties]
    amounts = allocate(gross, weights, [(kind, ref) for (kind, ref, _name), _ in parties])
    whole = sum(weights)
    return [Line("share", kind, ref, name, amount, share=weight * HUNDRED / whole)
            for ((kind, ref, name), weight), amount in zip(parties, amounts)]


def compact_json(value: dict) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def unpriced(reason: str, day: date, seconds: Decimal, currency: str) -> Priced:
    return Priced("unpriced", reason, day, seconds, None, 0, currency, None, compact_json({"reason": reason}),
                  [Line("ineligible", "ineligible", reason, None, 0, reason=reason)])


def price_one(ref: Reference, play: Any) -> Priced:
    """Price one final play by the engine's rules (zamio.royalties.pricing.price), from scratch."""
    station = ref.stations[play.station_id]
    territory, currency = station.country, ref.local.currency
    seconds = max(Decimal(play.duration_seconds).quantize(MILLISECOND, ROUND_HALF_EVEN), Decimal(0))
    confidence = None
    if play.confidence_avg is not None:
        confidence = Decimal(play.confidence_avg).quantize(MILLIONTH, ROUND_HALF_EVEN)
        if confidence > 1:  # an ACRCloud score out of 100
            confidence = confidence / 100
    try:
        zone = ZoneInfo(station.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return unpriced("bad_timezone", play.started_at.astimezone(UTC).date(), seconds, currency)
    local = play.started_at.astimezone(zone)
    day = local.date()
    period = period_at(ref, territory, day, local.hour * 60 + local.minute)
    if period is None:
        return unpriced("no_day_period", day, seconds, currency)
    card = card_in_force(ref, territory, normalise_station_class(station.station_class), period, day)
    if card is None:
        return unpriced("no_rate_card", day, seconds, currency)
    details = {"local_time": local.isoformat(), "period": period, "rate_per_second": str(card.rate_per_second),
               "multiplier": str(card.multiplier), "seconds": str(seconds)}
    reason = ineligible_because(rule_in_force(ref, territory, day), seconds, confidence, play.category)
    if reason is not None:
        return Priced("ineligible", reason, day, seconds, card.multiplier, 0, card.currency, card.id,
                      compact_json(details), [Line("ineligible", "ineligible", reason, None, 0, reason=reason)])
    gross = round_units(card.rate_per_second * card.multiplier * seconds)
    owner = owner_of(ref, play, territory, day)
    if owner[0] == "society":
        details.update(agreement_id=owner[2].id, fee_percent=str(owner[3]))
        if owner[4] is not None:
            details.update(society_fee_id=owner[4])
    status, reason = ("suspense", owner[1]) if owner[0] == "suspense" else ("priced", None)
    return Priced(status, reason, day, seconds, card.multiplier, gross, card.currency, card.id,
                  compact_json(details), lines_for(gross, owner, ref.local, play.recording_key))


def outcome_hash(p: Priced) -> str:
    """The digest a recalculation compares (zamio.royalties.pricing.price.PlayPricing.outcome_hash)."""
    parts = [f"{p.status}|{p.reason}|{p.gross}|{p.currency}|{p.rate_card_id}|{p.seconds}"]
    parts += [f"{ln.kind}|{ln.recipient_type}|{ln.recipient_ref}|{ln.amount}|{ln.society_id}|{ln.reason}"
              for ln in p.lines]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


def rows_of(play: Any, p: Priced, run_id: str, now: datetime) -> tuple[dict, list[dict]]:
    """The pricing row (version 1) and ledger lines of a play, as inserted."""
    seconds = float(p.seconds)
    pricing = {"play_id": play.id, "version": 1, "status": p.status, "reason": p.reason,
               "station_id": play.station_id, "play_date": p.play_date, "seconds": seconds,
               "multiplier": p.multiplier, "gross": p.gross, "previous_gross": 0, "currency": p.currency,
               "rate_card_id": p.rate_card_id, "outcome_hash": outcome_hash(p), "details": p.details,
               "run_id": run_id, "created_at": now}
    lines = [{"entry_key": f"p{play.id}:v1:{ln.kind}:{ln.recipient_type}:{ln.recipient_ref}", "play_id": play.id,
              "version": 1, "kind": ln.kind, "recipient_type": ln.recipient_type, "recipient_ref": ln.recipient_ref,
              "recipient_name": ln.recipient_name, "society_id": ln.society_id, "amount": ln.amount,
              "currency": p.currency, "seconds": seconds if ln.kind in SECONDS_COUNTED else 0.0,
              "reason": ln.reason, "rate_card_id": p.rate_card_id,
              "details": None if ln.share is None else f'{{"share":"{ln.share:.6f}"}}',
              "run_id": run_id, "created_at": now} for ln in p.lines]
    return pricing, lines


def unpriced_plays(batch_size: int):  # noqa: ANN201
    """Final plays without a pricing after ``:after``, in id order (the shape of the engine's query:
    the bound is repeated inside NOT EXISTS so PostgreSQL does not merge against every pricing)."""
    after = bindparam("after", type_=BigInteger)
    return (select(play_logs.c.id, play_logs.c.station_id, play_logs.c.started_at, play_logs.c.duration_seconds,
                   play_logs.c.confidence_avg, play_logs.c.category, play_logs.c.track_id, play_logs.c.society_id,
                   play_logs.c.recording_key, play_logs.c.isrc)
            .where(play_logs.c.status == "final", play_logs.c.id > after,
                   ~exists().where(royalty_pricings.c.play_id == play_logs.c.id, royalty_pricings.c.play_id > after))
            .order_by(play_logs.c.id).limit(batch_size))


def fair_baseline(engine: Engine, batch_size: int, run_id: str) -> Counter:
    """Price every final play without a pricing, one play at a time, a transaction per batch;
    return the plays per status."""
    statuses: Counter = Counter()
    with engine.begin() as conn:
        ref = Reference.load(conn)
    query, after = unpriced_plays(batch_size), 0
    while True:
        with engine.begin() as conn:
            plays = conn.execute(query, {"after": after}).all()
            if not plays:
                return statuses
            now, pricings, lines = utcnow(), [], []
            for play in plays:
                priced = price_one(ref, play)
                pricing, play_lines = rows_of(play, priced, run_id, now)
                pricings.append(pricing)
                lines.extend(play_lines)
                statuses[priced.status] += 1
            conn.execute(insert(royalty_pricings), pricings)
            conn.execute(insert(royalty_ledger), lines)
            after = plays[-1].id


# --- the check: the fair baseline's books against the engine's, for the same plays --------------------

PRICING_COMPARED = [c for c in PRICING_COLUMNS if c not in ("run_id", "created_at")]
LEDGER_COMPARED = [c for c in LEDGER_COLUMNS if c not in ("run_id", "created_at")]
PLAY_COMPARED = ("id", "play_key", "version", "station_id", "track_id", "society_id", "recording_key",
                 "category", "started_at", "duration_seconds", "confidence_avg", "status")
SHOWN = 5  # differences printed


@dataclass
class Comparison:
    """The fair baseline's books against the engine's for plays 1 to ``last``."""

    last: int = 0
    pricings: int = 0
    lines: int = 0
    recipients: int = 0
    totals: Counter = field(default_factory=Counter)  # units per currency
    differences: list[str] = field(default_factory=list)

    def report(self) -> str:
        if not self.differences:
            amounts = ", ".join(format_amount(units, c) for c, units in sorted(self.totals.items()))
            return (f"check: fair baseline = engine for plays 1 to {self.last:,} (two databases): "
                    f"{self.pricings:,} pricing rows and {self.lines:,} ledger lines identical (every column "
                    f"but id, run and time); totals of {self.recipients:,} recipients identical ({amounts})")
        return "\n".join([f"check FAILED: fair baseline ≠ engine for plays 1 to {self.last:,}:"]
                         + [f"  {d}" for d in self.differences])


def _rows(conn, table, columns: list[str], last: int) -> list[tuple]:  # noqa: ANN001
    key = table.c.id if table is play_logs else table.c.play_id
    query = select(*(table.c[c] for c in columns)).where(key <= last).order_by(table.c.id)
    return [tuple(row) for row in conn.execute(query)]


def _books(engine: Engine, last: int) -> tuple[list[tuple], list[tuple], list[tuple]]:
    with engine.connect() as conn:
        return (_rows(conn, play_logs, list(PLAY_COMPARED), last),
                _rows(conn, royalty_pricings, PRICING_COMPARED, last),
                _rows(conn, royalty_ledger, LEDGER_COMPARED, last))


def _recipient_totals(lines: list[tuple]) -> dict[tuple, tuple[int, Decimal]]:
    """Units and seconds per (currency, recipient type, reference); seconds added exactly, as written."""
    at = {c: LEDGER_COMPARED.index(c) for c in ("currency", "recipient_type", "recipient_ref", "amount", "seconds")}
    totals: dict[tuple, list] = defaultdict(lambda: [0, Decimal(0)])
    for line in lines:
        total = totals[line[at["currency"]], line[at["recipient_type"]], line[at["recipient_ref"]]]
        total[0] += line[at["amount"]]
        total[1] += Decimal(repr(line[at["seconds"]]))
    return {key: (units, seconds) for key, (units, seconds) in totals.items()}


def _differing(name: str, fair: list[tuple], engine: list[tuple]) -> list[str]:
    only_fair, only_engine = Counter(fair) - Counter(engine), Counter(engine) - Counter(fair)
    if not only_fair and not only_engine:
        return []
    found = [f"{sum(only_fair.values()):,} {name} of the fair baseline not booked by the engine, "
             f"{sum(only_engine.values()):,} of the engine not by the fair baseline"]
    found += [f"fair baseline: {row}" for row in sorted(only_fair, key=str)[:SHOWN]]
    found += [f"engine:        {row}" for row in sorted(only_engine, key=str)[:SHOWN]]
    return found


def compare_books(engine_db: Engine, fair_db: Engine) -> Comparison:
    """Given the engine's database and the fair baseline's (holding the first plays of the engine's),
    compare their pricing rows, ledger lines and per-recipient totals for the fair database's plays."""
    with fair_db.connect() as conn:
        last = conn.execute(select(func.max(play_logs.c.id))).scalar() or 0
    fair, engine = _books(fair_db, last), _books(engine_db, last)
    result = Comparison(last, len(fair[1]), len(fair[2]))
    if fair[0] != engine[0]:
        result.differences.append("the two databases do not hold the same plays: nothing else compared")
        return result
    result.differences += _differing("pricing rows", fair[1], engine[1])
    result.differences += _differing("ledger lines", fair[2], engine[2])
    fair_totals, engine_totals = _recipient_totals(fair[2]), _recipient_totals(engine[2])
    result.recipients = len(fair_totals)
    result.differences += _differing("recipient totals (units, seconds)", [(*k, *v) for k, v in fair_totals.items()],
                                     [(*k, *v) for k, v in engine_totals.items()])
    for (currency, _type, _ref), (units, _seconds) in fair_totals.items():
        result.totals[currency] += units
    return result


# --- the write floor ------------------------------------------------------------------------------------

FLOOR_TABLES = ("royalty_pricings", "royalty_ledger")


def _table_text(engine: Engine, table: str) -> tuple[str, int]:
    """Given a table, return its rows as COPY text, and how many."""
    buffer = io.StringIO()
    with engine.connect() as conn:
        cursor = conn.connection.dbapi_connection.cursor()
        cursor.copy_expert(f"COPY {table} TO STDOUT", buffer)
        cursor.close()
    text_ = buffer.getvalue()
    return text_, text_.count("\n")


def _copy_part(engine: Engine, table: str, part: str) -> None:
    with engine.begin() as conn:
        cursor = conn.connection.dbapi_connection.cursor()
        cursor.copy_expert(f"COPY {table} FROM STDIN", io.StringIO(part))
        cursor.close()


def write_floor(engine: Engine, sessions: int) -> tuple[float, dict[str, int]]:
    """Time writing the engine's own pricing rows and ledger lines again, and nothing else.

    Their COPY text, read beforehand, is written by ``sessions`` sessions at once (as the
    engine's workers) into copies of the two tables with the same columns, defaults, keys and
    indexes (``LIKE … INCLUDING ALL``; foreign keys are not copied, which makes the floor
    lower, not higher).  No implementation that books these rows can price faster than this,
    so it bounds what any engine can reach against the fair baseline on this machine."""
    texts = {table: _table_text(engine, table) for table in FLOOR_TABLES}
    copies = {table: f"floor_{table}" for table in FLOOR_TABLES}
    with engine.begin() as conn:
        for table, copy_ in copies.items():
            conn.execute(text(f"CREATE TABLE {copy_} (LIKE {table} INCLUDING ALL)"))
    try:
        t0 = time.perf_counter()
        for table, copy_ in copies.items():
            lines = texts[table][0].splitlines(keepends=True)
            parts = ["".join(lines[i::sessions]) for i in range(sessions)]
            with ThreadPoolExecutor(sessions) as pool:
                list(pool.map(lambda part, copy_=copy_: _copy_part(engine, copy_, part), parts))
        seconds = time.perf_counter() - t0
    finally:
        with engine.begin() as conn:
            for copy_ in copies.values():
                conn.execute(text(f"DROP TABLE {copy_}"))
    return seconds, {table: count for table, (_, count) in texts.items()}


# --- the run ------------------------------------------------------------------------------------------

def server_facts(engine: Engine) -> str:
    with engine.connect() as conn:
        version, buffers, synchronous = (conn.execute(text(f"SHOW {name}")).scalar()
                                         for name in ("server_version", "shared_buffers", "synchronous_commit"))
    return (f"PostgreSQL {version.split()[0]} at {engine.url.host}:{engine.url.port} "
            f"(shared_buffers {buffers}, synchronous_commit {synchronous})")


def workers(args: argparse.Namespace) -> str:
    return f"{args.workers} worker" + ("s" if args.workers != 1 else "")


def load_average() -> str:
    return " ".join(f"{load:.2f}" for load in os.getloadavg())


@dataclass
class Figures:
    """What one run measured, for its headline."""

    conditions: str
    load_at_start: str
    engine: float = 0.0
    fair: float | None = None
    fair_plays: int = 0
    old: float | None = None
    check: Comparison | None = None
    floor: float | None = None

    def headline(self, args: argparse.Namespace) -> str:
        lines = [f"headline: {self.conditions}; load average (1, 5, 15 min) {self.load_at_start} at start, "
                 f"{load_average()} at end",
                 f"  engine (set-based, {workers(args)}, batches of {args.batch_size:,}): "
                 f"{self.engine:,.0f} plays/s over {args.plays:,} plays"]
        if self.fair is not None:
            lines.append(f"  fair baseline (row by row in Python, one loop, batches of {args.batch_size:,}): "
                         f"{self.fair:,.0f} plays/s over {self.fair_plays:,} plays: the engine is "
                         f"{self.engine / self.fair:,.1f}× faster")
        if self.floor is not None:
            ceiling = f" = a ceiling of {self.floor / self.fair:,.1f}× the fair baseline" if self.fair else ""
            lines.append(f"  write floor (the engine's own rows written again, nothing priced): {self.floor:,.0f} "
                         f"plays/s{ceiling}; the engine reaches {self.engine / self.floor:.0%} of it")
        if self.old is not None:
            lines.append(f"  old baseline (the upstream calculator's shape, a transaction per play): {self.old:,.0f} "
                         f"plays/s over {args.old_sample:,} plays: the engine is {self.engine / self.old:,.0f}× faster")
        if self.check is not None:
            lines.append("  check: " + ("fair baseline = engine" if not self.check.differences else "FAILED")
                         + f" for plays 1 to {self.check.last:,}")
        return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plays", type=int, default=1_000_000)
    parser.add_argument("--baseline", choices=("both", "fair", "old"), default="both",
                        help="row-by-row baselines measured beside the engine (default both)")
    parser.add_argument("--fair-plays", type=int, default=50_000,
                        help="plays of the fair baseline's database, all priced and checked (default 50,000)")
    parser.add_argument("--old-sample", "--baseline-sample", dest="old_sample", type=int, default=5000,
                        help="plays priced by the old baseline (default 5,000)")
    parser.add_argument("--workers", type=int, default=WORKERS,
                        help=f"batches priced at once, as the job's --workers (default {WORKERS})")
    parser.add_argument("--batch-size", type=int, default=BATCH_PLAYS,
                        help=f"plays per pricing transaction, as the job's --batch-size (default {BATCH_PLAYS})")
    parser.add_argument("--admin-url", default=ADMIN_URL)
    parser.add_argument("--keep", action="store_true", help="keep the scratch databases")
    args = parser.parse_args()
    load_at_start = load_average()
    name = f"{DATABASE_PREFIX}{uuid.uuid4().hex[:8]}"
    names = [name] + ([f"{name}_fair"] if args.baseline in ("both", "fair") else [])
    admin = open_engine(args.admin_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for each in names:
            conn.execute(text(f'CREATE DATABASE "{each}"'))
    urls = [parse_database_url(args.admin_url, "--admin-url").with_database(each).text for each in names]
    engines = [open_engine(url) for url in urls]
    try:
        passed = run(engines[0], engines[1] if len(engines) > 1 else None, args, load_at_start)
    finally:
        for engine in engines:
            engine.dispose()
        if not args.keep:
            with admin.connect() as conn:
                for each in names:
                    conn.execute(text(f'DROP DATABASE "{each}" WITH (FORCE)'))
        else:
            print("kept databases " + ", ".join(urls))
    sys.exit(0 if passed else 1)


def run(engine: Engine, fair_db: Engine | None, args: argparse.Namespace, load_at_start: str) -> bool:
    """Generate, measure and check; print as it goes; return whether the check passed (or was not run)."""
    from zamio.royalties.cycles.process import CycleSpec, close_cycle, report_lines, write_files
    from zamio.royalties.pricing.run import price_pending
    from zamio.royalties.statements.formatting import SHIPPED

    conditions = (f"{args.plays:,} plays, {STATIONS:,} stations, {TRACKS:,} tracks; {server_facts(engine)}; "
                  f"caches {CACHES}; {os.cpu_count()} CPUs")
    figures = Figures(conditions, load_at_start)
    print(f"conditions: {conditions}; load average (1, 5, 15 min) {load_at_start} at start")
    migrate(engine)
    t0 = time.perf_counter()
    generate(engine, args.plays)
    print(f"generated {args.plays:,} plays, {STATIONS:,} stations, {TRACKS:,} tracks in "
          f"{time.perf_counter() - t0:.1f} s")
    if fair_db is not None:
        figures.fair_plays = min(args.fair_plays, args.plays)
        migrate(fair_db)
        generate(fair_db, figures.fair_plays)
        print(f"generated the fair baseline's database: the same catalog and the first {figures.fair_plays:,} plays")
    if args.baseline in ("both", "old"):
        figures.old = old_baseline(engine, args.old_sample)
        print(f"old baseline (the upstream calculator's shape: a transaction per play, a query per contributor, "
              f"sample of {args.old_sample:,}): {figures.old:,.0f} plays/s")
    if fair_db is not None:
        t0 = time.perf_counter()
        statuses = fair_baseline(fair_db, args.batch_size, "bench-fair")
        seconds = time.perf_counter() - t0
        figures.fair = figures.fair_plays / seconds
        print(f"fair baseline (row by row in Python, batches of {args.batch_size:,}): {figures.fair_plays:,} plays "
              f"in {seconds:.1f} s = {figures.fair:,.0f} plays/s; "
              + ", ".join(f"{n} {status}" for status, n in sorted(statuses.items())))
    t0 = time.perf_counter()
    stats = price_pending(partial(transaction, engine), "bench", workers=args.workers, batch_size=args.batch_size)
    priced = time.perf_counter() - t0
    figures.engine = args.plays / priced
    against = [f"{figures.engine / figures.fair:,.1f}× the fair baseline"] if figures.fair else []
    against += [f"{figures.engine / figures.old:,.0f}× the old"] if figures.old else []
    print(f"set-based pricing ({workers(args)}, batches of {args.batch_size:,}): {args.plays:,} plays in "
          f"{priced:.1f} s = {figures.engine:,.0f} plays/s ({', '.join(against) or 'no baseline'}); "
          f"{', '.join(stats.phrases())}")
    floor_seconds, floor_rows = write_floor(engine, args.workers)
    figures.floor = args.plays / floor_seconds
    print(f"write floor: the engine's {floor_rows['royalty_pricings']:,} pricing rows and "
          f"{floor_rows['royalty_ledger']:,} ledger lines copied again ({workers(args)}, COPY into copies of "
          f"their tables with their indexes, no foreign keys) in {floor_seconds:.1f} s = "
          f"{figures.floor:,.0f} plays/s")
    if fair_db is not None:
        figures.check = compare_books(engine, fair_db)
        print(figures.check.report())
    with engine.connect() as conn:
        lines = conn.execute(text("SELECT count(*) FROM royalty_ledger")).scalar()
    print(f"ledger lines written: {lines:,}")
    out = Path(tempfile.mkdtemp(prefix="zamio-cycle-"))
    t0 = time.perf_counter()
    with transaction(engine) as conn:
        cycle, found = close_cycle(conn, CycleSpec("2026-03", date(2026, 3, 1), date(2026, 3, 31)), "bench")
    closed = time.perf_counter() - t0
    with transaction(engine, read_only=True) as conn:
        write_files(conn, cycle, out, SHIPPED)
    total = time.perf_counter() - t0
    print("\n".join(report_lines(cycle, found)))
    files = sum(1 for p in out.rglob("*") if p.is_file())
    print(f"cycle closed (locked, line items, remittances) in {closed:.1f} s; with its {files:,} files in "
          f"{total:.1f} s ({out})")
    print(figures.headline(args))
    return figures.check is None or not figures.check.differences


if __name__ == "__main__":
    main()
