"""Pool distribution ("follow the dollar"): a station's licence fee spread over its own plays.

For every licence fee of a station whose period lies inside the cycle, the fee
(in units) is allocated over that station's eligible plays of the fee's period in
proportion to their **weighted seconds** (played seconds × the time-of-day
multiplier of the rate card that valued them), by largest remainder with the play
id as tie-break, so the parts sum exactly to the fee.  Each play's part is then
split between the parties owed exactly as a per-second price would be.  A fee
with no eligible play to spread over goes whole to suspense
(``no_eligible_plays``).  The lines are written with the cycle's id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, func, select

from zamio.money import allocate
from zamio.royalties.catalog import Societies, load_plays, load_works
from zamio.royalties.ledger import bulk_insert
from zamio.royalties.pricing import Catalog, owed_for_play
from zamio.royalties.rates import exact_seconds
from zamio.royalties.split import Line, split
from zamio.tables import play_logs, royalty_ledger, royalty_pricings, station_licence_fees, stations

ELIGIBLE_STATUSES = ("priced", "suspense")
BATCH_PLAYS = 1000

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
    """A station's licence fee for a period, in units."""

    id: int
    station_id: int
    station_ref: str
    period_from: date
    period_to: date
    amount: int
    currency: str


def fees_in(conn: Connection, period_from: date, period_to: date) -> list[Fee]:
    """Given a cycle period, return the licence fees whose own period lies inside it."""
    rows = conn.execute(
        select(station_licence_fees.c.id, station_licence_fees.c.station_id, stations.c.station_ref,
               station_licence_fees.c.period_from, station_licence_fees.c.period_to,
               station_licence_fees.c.amount, station_licence_fees.c.currency)
        .join(stations, stations.c.id == station_licence_fees.c.station_id)
        .where(station_licence_fees.c.period_from >= period_from, station_licence_fees.c.period_to <= period_to)
        .order_by(station_licence_fees.c.station_id, station_licence_fees.c.period_from))
    return [Fee(**row._mapping) for row in rows]


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


def spread_fee(conn: Connection, cycle_id: int, fee: Fee, societies: Societies, run_id: str,
               now: datetime) -> int:
    """Given one licence fee, allocate it over the station's weighted plays and write the lines.

    Return the units written (always exactly ``fee.amount``).
    """
    plays = conn.execute(WEIGHTS_QUERY.where(
        royalty_pricings.c.station_id == fee.station_id,
        and_(royalty_pricings.c.play_date >= fee.period_from, royalty_pricings.c.play_date <= fee.period_to))).all()
    weights = [exact_seconds(p.seconds) * (p.multiplier or Decimal(1)) for p in plays]
    if not plays or sum(weights) == 0:
        line = Line("suspense", "suspense", f"no_eligible_plays:{fee.station_ref}", None, fee.amount,
                    reason="no_eligible_plays")
        bulk_insert(conn, royalty_ledger, [_row(cycle_id, f"c{cycle_id}:f{fee.id}:suspense", None, 0, line,
                                                fee.currency, 0.0, run_id, now)], ["entry_key"])
        return fee.amount
    amounts = allocate(fee.amount, weights, tie_break=[p.play_id for p in plays])
    for start in range(0, len(plays), BATCH_PLAYS):
        chunk = list(zip(plays[start:start + BATCH_PLAYS], amounts[start:start + BATCH_PLAYS]))
        _split_chunk(conn, cycle_id, fee, chunk, societies, run_id, now)
    return sum(amounts)


def _split_chunk(conn: Connection, cycle_id: int, fee: Fee, chunk: list[tuple[Any, int]], societies: Societies,
                 run_id: str, now: datetime) -> None:
    facts = {p.id: p for p in load_plays(conn, [p.play_id for p, _ in chunk])}
    catalog = Catalog(load_works(conn, [f.track_id for f in facts.values() if f.track_id is not None]), societies)
    rows = []
    for weight_row, amount in chunk:
        play = facts[weight_row.play_id]
        owed = owed_for_play(play, catalog, weight_row.play_date)  # agreements in force on the local date
        for line in split(amount, owed, societies.local, play.recording_key):
            key = f"c{cycle_id}:f{fee.id}:p{play.id}:{line.kind}:{line.recipient_type}:{line.recipient_ref}"
            rows.append(_row(cycle_id, key, play.id, weight_row.version, line, fee.currency,
                             float(weight_row.seconds), run_id, now))
    bulk_insert(conn, royalty_ledger, rows, ["entry_key"])


def distribute(conn: Connection, cycle_id: int, period_from: date, period_to: date, run_id: str,
               now: datetime) -> dict[str, int]:
    """Given a pool cycle, spread every licence fee of its period; return the units spread per currency."""
    societies = Societies.load(conn)
    spread: dict[str, int] = {}
    for fee in fees_in(conn, period_from, period_to):
        spread[fee.currency] = spread.get(fee.currency, 0) + spread_fee(conn, cycle_id, fee, societies, run_id, now)
    return spread
