"""Pool distribution ("follow the dollar"): a station's licence fee spread over its own plays.

**Which days a cycle spreads.**  A licence fee covers a period of days, which need not
match the cycles' (an annual fee under monthly cycles).  A pool cycle spreads, for each
fee of its territory's stations, every day of the fee's period up to the cycle's last
day that no cycle has spread yet: its own days, and earlier days left over (a fee loaded
after the cycle covering its first days was locked, or days of a per-second cycle),
which it pays as adjustments, as it does late plays.  Days after its last day stay
pending until a pool cycle covering them is closed: nothing of a fee is ever dropped.
The days spread at once are cut at the periods of the cycles (the cycle's own, and each
locked cycle's), and each stretch of days is one **part** (``licence_fee_parts``).

**How much a part gets.**  Pro rata by days, by cumulative rounding: with the fee's
amount A (units) over its N days, the first k days are worth C(k) = A × k / N rounded
half-even to a unit, and the part of days k₁ + 1 … k₂ (counted from the fee's first day)
is C(k₂) − C(k₁).  The parts of a fee telescope to C(N) − C(0) = A exactly, in whatever
order, and however many, cycles cover its period; each part is within a unit of its
exact share.  (GHS 365.00 over 365 days: a 31-day January gets 31.00; GHS 100.00 over
2026: January C(31) = 84,931.5… → 84,932 units, February C(59) − C(31) = 161,644 − 84,932.)

**Over which plays.**  A part (in units) is allocated over the station's eligible plays
of its days in proportion to their **weighted seconds** (played seconds × the
time-of-day multiplier of the rate card that valued them), by largest remainder with
the play id as tie-break, so the parts sum exactly to it.  Each play's part is then split
between the parties owed exactly as a per-second price would be.  A part with no
eligible play to spread over is held whole in suspense (``no_eligible_plays:<station>``,
reason ``no_eligible_plays``), never dropped.  The lines are written with the cycle's
id; the part row with them, in the same transaction.

**Plays under dispute.**  A play's part is spread whatever its pricing holds, but while an
open dispute covers the play (``zamio.royalties.pricing.holds``: the oldest, if several do)
the part is not split: it is booked whole to the dispute's suspense account
(``dispute:D-000001``, reason ``disputed``).  Once the dispute is resolved, the next pool
cycle of the territory **releases** each such line, as adjustments, as it pays late fee
days: the line is reversed (reason ``dispute_released``) and its units go to whom the play
belongs to then: the play's current version, split as any part (an upheld reassignment: the
new recording's parties; a rejection: the original ones), or, when no version of the play
is eligible any more (voided, or no longer paid), spread again over the station's eligible
plays of the same part by weighted seconds (none: held in ``no_eligible_plays:<station>``).
The reversal and the new lines sum to zero, so the cycle still reconciles to the fees it
spread.  A play whose current version is not priced yet waits for a later cycle.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, func, select

from zamio.db.engine import StoredRow
from zamio.db.tables import (
    disputes,
    licence_fee_parts,
    play_logs,
    royalty_cycles,
    royalty_ledger,
    royalty_pricings,
    station_licence_fees,
    stations,
)
from zamio.playlogs.disputes import RESOLVED, account
from zamio.royalties.pricing.holds import DISPUTED, Holds
from zamio.royalties.pricing.ledger import bulk_insert, reversal_row
from zamio.royalties.pricing.price import Catalog, owed_for_play
from zamio.royalties.pricing.rates import exact_seconds
from zamio.royalties.pricing.split import Line, split
from zamio.royalties.pricing.works import Societies, load_plays, load_works
from zamio.values.money import allocate, from_units, round_half_even

log = logging.getLogger(__name__)

ELIGIBLE_STATUSES = ("priced", "suspense")
BATCH_PLAYS = 1000
NO_PLAYS = "no_eligible_plays"
ONE_DAY = timedelta(days=1)
RELEASED = "dispute_released"  # the reason of the reversal of a pool line a resolved dispute held
LINE_FEE = re.compile(r"^c\d+:f(\d+):")  # the fee a pool line's entry key names

_latest = royalty_pricings.alias("latest")
WEIGHTS_QUERY = (
    select(royalty_pricings.c.play_id, royalty_pricings.c.version, royalty_pricings.c.seconds,
           royalty_pricings.c.multiplier, royalty_pricings.c.play_date)
    .join(play_logs, play_logs.c.id == royalty_pricings.c.play_id)
    .where(play_logs.c.status == "final", royalty_pricings.c.status.in_(ELIGIBLE_STATUSES),
           royalty_pricings.c.version == select(func.max(_latest.c.version))
           .where(_latest.c.play_id == royalty_pricings.c.play_id).scalar_subquery())
    .order_by(royalty_pricings.c.play_id)
)


@dataclass(frozen=True)
class Fee:
    """A station's licence fee for a period (both days inclusive), in units."""

    id: int
    station_id: int
    station_ref: str
    period_from: date
    period_to: date
    amount: int
    currency: str

    @property
    def days(self) -> int:
        return (self.period_to - self.period_from).days + 1

    def worth(self, first: date, last: date) -> int:
        """Given a stretch of the fee's days (inclusive), return its units by cumulative rounding
        (module docstring): C(days up to ``last``) − C(days before ``first``)."""
        before, through = (first - self.period_from).days, (last - self.period_from).days + 1
        return self._cumulative(through) - self._cumulative(before)

    def _cumulative(self, days: int) -> int:
        return round_half_even(self.amount * days, self.days)


@dataclass(frozen=True)
class Part:
    """A stretch of a fee's days spread at once, and its units."""

    fee: Fee
    day_from: date
    day_to: date
    amount: int


@dataclass
class PoolSpread:
    """What a pool cycle spread: units per currency, and the units of fee days after its last day still pending."""

    spread: dict[str, int] = field(default_factory=dict)
    pending: dict[str, int] = field(default_factory=dict)
    released: dict[str, int] = field(default_factory=dict)  # units of resolved disputes released, per currency


def fees_started_by(conn: Connection, territory: str, last_day: date) -> list[Fee]:
    """Given a territory and a cycle's last day, return the licence fees of its stations starting on or before it."""
    rows = conn.execute(
        select(station_licence_fees.c.id, station_licence_fees.c.station_id, stations.c.station_ref,
               station_licence_fees.c.period_from, station_licence_fees.c.period_to,
               station_licence_fees.c.amount, station_licence_fees.c.currency)
        .join(stations, stations.c.id == station_licence_fees.c.station_id)
        .where(stations.c.country == territory, station_licence_fees.c.period_from <= last_day)
        .order_by(station_licence_fees.c.station_id, station_licence_fees.c.period_from,
                  station_licence_fees.c.id))
    return [Fee(**row._mapping) for row in rows]


def spread_days(conn: Connection, fee_ids: Iterable[int]) -> dict[int, list[tuple[date, date]]]:
    """Given fee ids, return the stretches of days already spread of each (from its parts), in day order."""
    found: dict[int, list[tuple[date, date]]] = {}
    ids = sorted(set(fee_ids))
    for start in range(0, len(ids), BATCH_PLAYS):
        for row in conn.execute(select(licence_fee_parts.c.fee_id, licence_fee_parts.c.day_from,
                                       licence_fee_parts.c.day_to)
                                .where(licence_fee_parts.c.fee_id.in_(ids[start:start + BATCH_PLAYS]))
                                .order_by(licence_fee_parts.c.fee_id, licence_fee_parts.c.day_from)):
            found.setdefault(row.fee_id, []).append((row.day_from, row.day_to))
    return found


def cycle_starts(conn: Connection, territory: str, period_from: date) -> set[date]:
    """Given a territory and the first day of the cycle being closed, return the days a stretch of fee days is cut
    before: the first day of that cycle and of each locked cycle, and the day after each locked cycle's last."""
    cuts = {period_from}
    for first, last in conn.execute(select(royalty_cycles.c.period_from, royalty_cycles.c.period_to).where(
            royalty_cycles.c.territory == territory, royalty_cycles.c.status == "locked")):
        cuts.update((first, last + ONE_DAY))
    return cuts


def unspread(fee: Fee, spread: list[tuple[date, date]], last_day: date) -> Iterator[tuple[date, date]]:
    """Given a fee, its stretches already spread (in day order) and a cycle's last day, yield the stretches of
    its days up to that day not spread yet."""
    day, end = fee.period_from, min(fee.period_to, last_day)
    for first, last in spread:
        if day < first:
            yield day, min(first - ONE_DAY, end)
        day = max(day, last + ONE_DAY)
        if day > end:
            return
    if day <= end:
        yield day, end


def cut(stretch: tuple[date, date], cuts: set[date]) -> Iterator[tuple[date, date]]:
    """Given a stretch of days and the days to cut before, yield its pieces (one per cycle period it touches)."""
    first, last = stretch
    for day in sorted(c for c in cuts if first < c <= last):
        yield first, day - ONE_DAY
        first = day
    yield first, last


def parts_due(conn: Connection, territory: str, period_from: date,
              period_to: date) -> tuple[list[Part], dict[str, int]]:
    """Given a pool cycle being closed, return the parts of licence fees it spreads, and per currency the units
    of fee days after its last day (pending until a cycle covering them is closed)."""
    fees = fees_started_by(conn, territory, period_to)
    spread = spread_days(conn, (f.id for f in fees))
    cuts = cycle_starts(conn, territory, period_from)
    parts: list[Part] = []
    pending: dict[str, int] = {}
    for fee in fees:
        for first, last in unspread(fee, spread.get(fee.id, []), fee.period_to):
            if first > period_to:
                pending[fee.currency] = pending.get(fee.currency, 0) + fee.worth(first, last)
                continue
            if last > period_to:
                pending[fee.currency] = pending.get(fee.currency, 0) + fee.worth(period_to + ONE_DAY, last)
            parts += [Part(fee, a, b, fee.worth(a, b)) for a, b in cut((first, min(last, period_to)), cuts)]
    return parts, pending


def _row(cycle_id: int, key: str, play_id: int | None, version: int, line: Line, currency: str,
         seconds: float, run_id: str, now: datetime) -> dict[str, Any]:
    return {
        "entry_key": key, "play_id": play_id, "cycle_id": cycle_id, "version": version, "kind": line.kind,
        "recipient_type": line.recipient_type, "recipient_ref": line.recipient_ref,
        "recipient_name": line.recipient_name, "society_id": line.society_id, "amount": line.amount,
        "currency": currency, "seconds": seconds if line.kind != "admin_fee" else 0.0, "reason": line.reason,
        "rate_card_id": None, "reverses_id": None,
        "details": None if line.share is None else f'{{"share":"{line.share:.6f}"}}',
        "run_id": run_id, "created_at": now,
    }


def spread_part(conn: Connection, cycle_id: int, part: Part, societies: Societies, holds: Holds, run_id: str,
                now: datetime) -> int:
    """Given a part of a licence fee, allocate it over the station's weighted plays of its days, write the
    lines and the part row; return the units written (always exactly ``part.amount``)."""
    fee = part.fee
    bulk_insert(conn, licence_fee_parts, [dict(fee_id=fee.id, cycle_id=cycle_id, day_from=part.day_from,
                                               day_to=part.day_to, amount=part.amount, currency=fee.currency,
                                               created_at=now)], ["fee_id", "day_from"])
    if part.amount == 0:  # a few days of a small fee can round to nothing: the days are spread, no line
        return 0
    return _spread_over_plays(conn, cycle_id, part, part.amount, f"c{cycle_id}:f{fee.id}", societies, holds,
                              run_id, now)


def _spread_over_plays(conn: Connection, cycle_id: int, part: Part, units: int, prefix: str, societies: Societies,
                       holds: Holds, run_id: str, now: datetime) -> int:
    """Given a part's days and units to spread over its station's eligible plays of them (the part itself, or a
    released play's units), write the lines keyed under ``prefix``; return the units written (``units``)."""
    fee = part.fee
    plays = conn.execute(WEIGHTS_QUERY.where(
        royalty_pricings.c.station_id == fee.station_id,
        and_(royalty_pricings.c.play_date >= part.day_from, royalty_pricings.c.play_date <= part.day_to))).all()
    weights = [exact_seconds(p.seconds) * (p.multiplier or Decimal(1)) for p in plays]
    if not plays or sum(weights) == 0:
        log.warning("licence fee %d of station %s, days %s to %s: no eligible play to spread %s %s over; held in "
                    "suspense (%s:%s)", fee.id, fee.station_ref, part.day_from, part.day_to,
                    fee.currency, from_units(units), NO_PLAYS, fee.station_ref)
        line = Line("suspense", "suspense", f"{NO_PLAYS}:{fee.station_ref}", None, units, reason=NO_PLAYS)
        key = f"{prefix}:d{part.day_from.isoformat()}:suspense"
        bulk_insert(conn, royalty_ledger, [_row(cycle_id, key, None, 0, line, fee.currency, 0.0, run_id, now)],
                    ["entry_key"])
        return units
    amounts = allocate(units, weights, tie_break=[p.play_id for p in plays])
    for start in range(0, len(plays), BATCH_PLAYS):
        chunk = list(zip(plays[start:start + BATCH_PLAYS], amounts[start:start + BATCH_PLAYS]))
        _split_chunk(conn, cycle_id, fee, chunk, prefix, societies, holds, run_id, now)
    return sum(amounts)


def _split_chunk(conn: Connection, cycle_id: int, fee: Fee, chunk: list[tuple[Any, int]], prefix: str,
                 societies: Societies, holds: Holds, run_id: str, now: datetime) -> None:
    facts = {p.id: p for p in load_plays(conn, [p.play_id for p, _ in chunk])}
    catalog = Catalog(load_works(conn, [f.track_id for f in facts.values() if f.track_id is not None]), societies)
    rows = []
    for weight_row, amount in chunk:
        play = facts[weight_row.play_id]
        hold = holds.dispute_of(play) if holds.holds else None
        if hold is not None:  # an open dispute covers the play: its part waits, whole, in the dispute's account
            lines = [Line("suspense", "suspense", hold.account, None, amount, reason=DISPUTED)]
        else:
            owed = owed_for_play(play, catalog, weight_row.play_date)  # agreements in force on the local date
            lines = split(amount, owed, societies.local, play.recording_key)
        for line in lines:
            key = f"{prefix}:p{play.id}:{line.kind}:{line.recipient_type}:{line.recipient_ref}"
            rows.append(_row(cycle_id, key, play.id, weight_row.version, line, fee.currency,
                             float(weight_row.seconds), run_id, now))
    bulk_insert(conn, royalty_ledger, rows, ["entry_key"])


# --- money held by disputes, released once they are resolved --------------------------------------------------


def held_lines(conn: Connection, territory: str) -> list[StoredRow]:
    """Given a territory, return the lines its pool cycles booked to disputes now resolved and not released yet,
    by id.  Read by account (the ledger's recipient index): the pool lines of those accounts are the held lines
    and their reversals."""
    resolved = conn.execute(select(disputes.c.id).where(disputes.c.status == RESOLVED).order_by(disputes.c.id)
                            ).scalars().all()
    found: list[StoredRow] = []
    for start in range(0, len(resolved), BATCH_PLAYS):
        accounts = [account(int(i)) for i in resolved[start:start + BATCH_PLAYS]]
        found += conn.execute(
            select(royalty_ledger).join(royalty_cycles, royalty_cycles.c.id == royalty_ledger.c.cycle_id)
            .where(royalty_ledger.c.recipient_type == "suspense", royalty_ledger.c.recipient_ref.in_(accounts),
                   royalty_cycles.c.territory == territory, royalty_cycles.c.method == "pool")).all()
    released = {r.reverses_id for r in found if r.kind == "reversal"}
    return sorted((r for r in found if r.kind == "suspense" and r.reason == DISPUTED and r.play_id is not None
                   and r.id not in released), key=lambda r: r.id)


def _fee(conn: Connection, fee_id: int) -> Fee:
    row = conn.execute(
        select(station_licence_fees.c.id, station_licence_fees.c.station_id, stations.c.station_ref,
               station_licence_fees.c.period_from, station_licence_fees.c.period_to,
               station_licence_fees.c.amount, station_licence_fees.c.currency)
        .join(stations, stations.c.id == station_licence_fees.c.station_id)
        .where(station_licence_fees.c.id == fee_id)).one()
    return Fee(**row._mapping)


def release(conn: Connection, cycle_id: int, held: StoredRow, societies: Societies, holds: Holds, run_id: str,
            now: datetime) -> int:
    """Given a pool line a resolved dispute held, reverse it and pay its units to whom the play belongs to now
    (module docstring), as lines of ``cycle_id``; return the units released (0: the play's current version is
    not priced yet, and the line waits)."""
    found = LINE_FEE.match(held.entry_key)
    assert found is not None  # written by spread_part under its cycle and fee
    fee = _fee(conn, int(found[1]))
    key = play_logs.alias("key")
    current = conn.execute(
        select(play_logs.c.id).join(key, key.c.play_key == play_logs.c.play_key)
        .where(key.c.id == held.play_id, play_logs.c.status == "final")).scalar()
    pricing = None
    if current is not None:
        newest = conn.execute(select(royalty_pricings.c.status).where(royalty_pricings.c.play_id == current)
                              .order_by(royalty_pricings.c.version.desc()).limit(1)).scalar()
        if newest is None:
            return 0
        pricing = conn.execute(WEIGHTS_QUERY.where(royalty_pricings.c.play_id == current)).first()
    bulk_insert(conn, royalty_ledger, [reversal_row(held, held.play_id, held.version, RELEASED, run_id, now,
                                                    cycle_id=cycle_id, key=f"c{cycle_id}:r{held.id}")],
                ["entry_key"])
    prefix = f"c{cycle_id}:f{fee.id}:r{held.id}"
    if pricing is not None and exact_seconds(pricing.seconds) * (pricing.multiplier or Decimal(1)) > 0:
        _split_chunk(conn, cycle_id, fee, [(pricing, held.amount)], prefix, societies, holds, run_id, now)
        return int(held.amount)
    day = conn.execute(select(royalty_pricings.c.play_date).where(
        royalty_pricings.c.play_id == held.play_id, royalty_pricings.c.version == held.version)).scalar_one()
    part = conn.execute(select(licence_fee_parts.c.day_from, licence_fee_parts.c.day_to).where(
        licence_fee_parts.c.fee_id == fee.id, licence_fee_parts.c.day_from <= day,
        licence_fee_parts.c.day_to >= day)).one()
    return _spread_over_plays(conn, cycle_id, Part(fee, part.day_from, part.day_to, int(held.amount)),
                              int(held.amount), prefix, societies, holds, run_id, now)


def distribute(conn: Connection, cycle_id: int, territory: str, period_from: date, period_to: date, run_id: str,
               now: datetime) -> PoolSpread:
    """Given a pool cycle being closed, spread every licence fee day due and release what resolved disputes held
    (module docstring); return the units spread, still pending and released, per currency."""
    societies, holds = Societies.load(conn), Holds.load(conn)
    parts, pending = parts_due(conn, territory, period_from, period_to)
    result = PoolSpread(pending=pending)
    for part in parts:
        units = spread_part(conn, cycle_id, part, societies, holds, run_id, now)
        result.spread[part.fee.currency] = result.spread.get(part.fee.currency, 0) + units
    for held in held_lines(conn, territory):
        units = release(conn, cycle_id, held, societies, holds, run_id, now)
        result.released[held.currency] = result.released.get(held.currency, 0) + units
    for currency, units in sorted(result.released.items()):
        if units:
            log.info("%s %s held in pool cycles by disputes now resolved: released to whom the plays belong to",
                     currency, from_units(units))
    for currency, units in sorted(pending.items()):
        if units:
            log.info("%s %s of licence fees are for days after %s: spread by the pool cycles that cover them",
                     currency, from_units(units), period_to)
    return result
