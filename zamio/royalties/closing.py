"""Closing a royalty cycle in SQL: which ledger lines it pays, line items, remittances, totals.

A cycle pays the lines of the pricings assigned to it.  When it is locked, every
pricing not yet assigned whose station-local play date is on or before the
cycle's last day is assigned to it (``royalty_pricings.cycle_id``): the plays of
its period, plus the **adjustments** (late plays, reversals, corrections) of
periods already locked, which therefore never reopen a locked cycle.

* ``per_second`` cycles pay those pricings' own lines (``royalty_ledger.cycle_id`` empty);
* ``pool`` cycles pay the lines written by the pool distribution
  (``royalty_ledger.cycle_id`` = the cycle); the per-second pricings assigned to a
  pool cycle served as its weights and are not paid again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, localcontext

from sqlalchemy import Connection, and_, case, func, literal, select, update

from zamio.db import is_sqlite
from zamio.errors import DataError
from zamio.money import from_units, round_units
from zamio.tables import (cycle_line_items, exchange_rates, partner_remittances, partner_societies, royalty_cycles,
                          royalty_ledger, royalty_pricings, station_licence_fees)

PAYEE_TYPES = ("contributor", "artist", "publisher", "society")
RATE_PLACES = Decimal("0.0000000001")  # exchange rates are stored NUMERIC(24,10)


def assign_pricings(conn: Connection, cycle_id: int, period_to: date) -> int:
    """Given a cycle and its last day, assign it every unassigned pricing up to that day; return how many."""
    result = conn.execute(update(royalty_pricings)
                          .where(royalty_pricings.c.cycle_id.is_(None), royalty_pricings.c.play_date <= period_to)
                          .values(cycle_id=cycle_id))
    if not is_sqlite(conn):
        # The planner must see the new cycle_id values, and the lines priced since the last analysis:
        # with stale counts it joins a million lines by nested loops.
        conn.exec_driver_sql("ANALYZE royalty_pricings")
        conn.exec_driver_sql("ANALYZE royalty_ledger")
    return max(result.rowcount, 0)


def cycle_entries(cycle_id: int, method: str):  # noqa: ANN201  (a SQLAlchemy FROM clause)
    """Given a cycle id and its method, return the ledger lines it pays, as a subquery."""
    if method == "pool":
        return select(royalty_ledger).where(royalty_ledger.c.cycle_id == cycle_id).subquery("entries")
    return (select(royalty_ledger)
            .join(royalty_pricings, and_(royalty_pricings.c.play_id == royalty_ledger.c.play_id,
                                         royalty_pricings.c.version == royalty_ledger.c.version))
            .where(royalty_pricings.c.cycle_id == cycle_id, royalty_ledger.c.cycle_id.is_(None))
            .subquery("entries"))


def write_line_items(conn: Connection, cycle_id: int, method: str) -> int:
    """Given a cycle, aggregate its lines per recipient into cycle_line_items; return the row count.

    plays = lines that pay a play (a reversal counts −1, admin fees 0); a society's gross
    adds back the admin fee deducted from it; the local society's row holds the fees.
    One pass over the lines: grouped by recipient and society, folded here.
    """
    e = cycle_entries(cycle_id, method)
    plays = func.sum(case((e.c.recipient_type == "local_society", 0), (e.c.kind == "reversal", -1), else_=1))
    groups = conn.execute(
        select(e.c.recipient_type, e.c.recipient_ref, e.c.currency, e.c.society_id,
               func.max(e.c.recipient_name).label("name"), plays.label("plays"),
               func.sum(e.c.seconds).label("seconds"), func.sum(e.c.amount).label("net"))
        .group_by(e.c.recipient_type, e.c.recipient_ref, e.c.currency, e.c.society_id)).all()
    codes = dict(conn.execute(select(partner_societies.c.id, partner_societies.c.code)).all())
    fees: dict[tuple[str, str], int] = {}
    items: dict[tuple[str, str, str], dict] = {}
    for g in groups:
        if g.recipient_type == "local_society" and g.society_id is not None:
            key = (codes[g.society_id], g.currency)
            fees[key] = fees.get(key, 0) + int(g.net)
        item = items.setdefault((g.recipient_type, g.recipient_ref, g.currency), dict(
            cycle_id=cycle_id, recipient_type=g.recipient_type, recipient_ref=g.recipient_ref,
            recipient_name=None, currency=g.currency, plays=0, seconds=0.0, gross=0, admin_fee=0, net=0))
        item["recipient_name"] = max(filter(None, (item["recipient_name"], g.name)), default=None)
        item["plays"] += int(g.plays)
        item["seconds"] += float(g.seconds or 0)
        item["net"] += int(g.net)
    for (kind, ref, currency), item in items.items():
        item["seconds"] = round(item["seconds"], 3)
        item["admin_fee"] = fees.get((ref, currency), 0) if kind == "society" else 0
        item["gross"] = item["net"] + item["admin_fee"]
    if items:
        conn.execute(cycle_line_items.insert(), [items[k] for k in sorted(items)])
    return len(items)


def exchange_rate(conn: Connection, source: str, target: str, day: date) -> Decimal:
    """Given two currencies and a day, return the rate in force (direct, else the inverse of the reverse).

    Raise DataError naming the pair if neither is stored: a remittance is never converted at 1.
    """
    if source == target:
        return Decimal(1)
    for a, b, invert in ((source, target, False), (target, source, True)):
        rate = conn.execute(select(exchange_rates.c.rate).where(
            exchange_rates.c.from_currency == a, exchange_rates.c.to_currency == b,
            exchange_rates.c.effective_from <= day).order_by(exchange_rates.c.effective_from.desc()).limit(1)
        ).scalar()
        if rate is not None:
            if not invert:
                return rate
            with localcontext() as ctx:
                ctx.prec = 34
                return (Decimal(1) / rate).quantize(RATE_PLACES)
    raise DataError(f"no exchange rate {source}→{target} in force on {day}; "
                    "load one with bin/import-catalog --exchange-rates")


def write_remittances(conn: Connection, cycle_id: int, period_to: date, now) -> int:  # noqa: ANN001
    """Given a locked-to-be cycle, write one remittance per partner society from its line items."""
    rows = conn.execute(
        select(partner_societies.c.id, partner_societies.c.currency.label("society_currency"),
               cycle_line_items.c.currency, cycle_line_items.c.gross, cycle_line_items.c.admin_fee,
               cycle_line_items.c.net)
        .join(partner_societies, partner_societies.c.code == cycle_line_items.c.recipient_ref)
        .where(cycle_line_items.c.cycle_id == cycle_id, cycle_line_items.c.recipient_type == "society")
        .order_by(partner_societies.c.code)).all()
    remittances = []
    for row in rows:
        rate = exchange_rate(conn, row.currency, row.society_currency, period_to)
        remittances.append(dict(
            cycle_id=cycle_id, society_id=row.id, currency=row.society_currency, gross=row.gross,
            admin_fee=row.admin_fee, net=row.net, exchange_rate=rate,
            net_in_currency=round_units(from_units(row.net) * rate), status="pending", created_at=now))
    if remittances:
        conn.execute(partner_remittances.insert(), remittances)
    return len(remittances)


@dataclass(frozen=True)
class Totals:
    """A cycle's reconciliation in one currency, in units."""

    currency: str
    gross: int  # what was priced (or, for a pool, the licence fees spread)
    payees: int
    suspense: int
    admin_fees: int
    ineligible_plays: int
    plays: int  # distinct plays with a line in the cycle (reissued plays once)

    @property
    def reconciled(self) -> bool:
        return self.payees + self.suspense + self.admin_fees == self.gross


def totals(conn: Connection, cycle_id: int, method: str, gross: dict[str, int]) -> list[Totals]:
    """Given a cycle's line items and its independently summed gross per currency, return its totals."""
    rows = conn.execute(select(cycle_line_items).where(cycle_line_items.c.cycle_id == cycle_id)).all()
    e = cycle_entries(cycle_id, method)
    plays = dict(conn.execute(select(e.c.currency, func.count(func.distinct(e.c.play_id)))
                              .where(e.c.kind != "reversal").group_by(e.c.currency)).all())
    found = []
    for currency in sorted({r.currency for r in rows} | set(gross)):
        mine = [r for r in rows if r.currency == currency]
        found.append(Totals(
            currency=currency, gross=gross.get(currency, 0),
            payees=sum(r.net for r in mine if r.recipient_type in PAYEE_TYPES),
            suspense=sum(r.net for r in mine if r.recipient_type == "suspense"),
            admin_fees=sum(r.net for r in mine if r.recipient_type == "local_society"),
            ineligible_plays=sum(r.plays for r in mine if r.recipient_type == "ineligible"),
            plays=int(plays.get(currency, 0)),
        ))
    return found


def priced_gross(conn: Connection, cycle_id: int) -> dict[str, int]:
    """Given a per-second cycle, return Σ (gross − previous gross) of its pricings, per currency."""
    return {cur: int(total) for cur, total in conn.execute(
        select(royalty_pricings.c.currency, func.sum(royalty_pricings.c.gross - royalty_pricings.c.previous_gross))
        .where(royalty_pricings.c.cycle_id == cycle_id).group_by(royalty_pricings.c.currency))}


def pricings_digest(conn: Connection, cycle_id: int, method: str, period: tuple[date, date]) -> str:
    """Given a cycle, return a digest of its input: method, period and the pricing set assigned to it."""
    row = conn.execute(select(
        func.count(), func.coalesce(func.sum(royalty_pricings.c.id), 0),
        func.coalesce(func.sum(royalty_pricings.c.gross), 0), func.max(royalty_pricings.c.id),
    ).where(royalty_pricings.c.cycle_id == cycle_id)).one()
    fees = conn.execute(select(func.count(), func.coalesce(func.sum(station_licence_fees.c.amount), 0)).where(
        station_licence_fees.c.period_from >= period[0], station_licence_fees.c.period_to <= period[1],
        literal(method) == "pool")).one()
    text = json.dumps([method, str(period[0]), str(period[1]), [int(v or 0) for v in row], list(map(int, fees))])
    return hashlib.sha256(text.encode()).hexdigest()


def lock(conn: Connection, cycle_id: int, digest: str, found: list[Totals], now) -> None:  # noqa: ANN001
    """Given a reconciled cycle, record its totals and input digest and mark it locked."""
    conn.execute(update(royalty_cycles).where(royalty_cycles.c.id == cycle_id).values(
        status="locked", locked_at=now, input_hash=digest,
        totals=json.dumps([t.__dict__ for t in found], sort_keys=True)))
