"""Closing a royalty cycle in SQL: which ledger lines it pays, line items, remittances, totals.

A cycle pays the lines of the pricings assigned to it.  When it is locked, every
pricing not yet assigned whose station-local play date is on or before the
cycle's last day is assigned to it (one row per pricing in ``cycle_pricings``):
the plays of its period, plus the **adjustments** (late plays, reversals,
corrections) of periods already locked, which therefore never reopen a locked
cycle.  A pricing is assigned once (``cycle_pricings`` is keyed by the pricing).

* ``per_second`` cycles pay those pricings' own lines (``royalty_ledger.cycle_id`` empty);
* ``pool`` cycles pay the lines written by the pool distribution
  (``royalty_ledger.cycle_id`` = the cycle); the per-second pricings assigned to a
  pool cycle served as its weights and are not paid again.

Which lines a cycle pays, and their sums per recipient, are ``zamio.royalties.pricing.paid``'s:
the dashboards and reports read money through the same queries.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, localcontext
from typing import Any

from sqlalchemy import Connection, Exists, Subquery, Table, and_, exists, func, insert, literal, select, update

from zamio.db.engine import is_sqlite
from zamio.db.tables import (
    cycle_line_items,
    cycle_pricings,
    exchange_rates,
    partner_remittances,
    partner_societies,
    royalty_cycles,
    royalty_pricings,
)
from zamio.royalties.payouts.deductions import COMMISSION_ACCOUNT, TAX_AUTHORITY, Deduction
from zamio.royalties.pricing.paid import cycle_lines, recipient_sums
from zamio.runtime.errors import DataError
from zamio.values.decimals import EXCHANGE_RATE
from zamio.values.money import from_units, round_units

PAYEE_TYPES = ("contributor", "artist", "publisher", "society")
NON_DISTRIBUTABLE = "non_distributable"  # the account suspense moves to when declared non-distributable
RATE_PLACES = EXCHANGE_RATE.quantum  # an inverse rate is rounded to the places an exchange rate keeps


def exclude_pricing(conn: Connection) -> None:
    """Wait for the pricings being written, and hold off new ones and other closes until this transaction ends.

    Then no pricing below the highest id seen can appear later, which makes ``open_pricings_from``
    safe to record, and a close sees every cycle locked before it.  SQLite needs nothing: its
    writing transactions already run one at a time.
    """
    if not is_sqlite(conn):
        conn.exec_driver_sql("LOCK TABLE royalty_pricings IN SHARE ROW EXCLUSIVE MODE")


def use_memory(conn: Connection) -> None:
    """Let this transaction's sorts and hashes of a month of lines run in memory (PostgreSQL), not on disk."""
    if not is_sqlite(conn):
        conn.exec_driver_sql("SET LOCAL work_mem = '256MB'")


def assign_pricings(conn: Connection, cycle_id: int, period_to: date) -> int:
    """Given a cycle and its last day, assign it every unassigned pricing up to that day; return how many.

    Also records on the cycle the lowest pricing id left unassigned, where the next cycle starts looking.
    """
    exclude_pricing(conn)  # close_cycle took it first; locking again is a no-op
    start = _first_open_pricing(conn)
    p = royalty_pricings
    # Sorted into key order (the key's index grows at its end); the sort also reads every candidate
    # before the first row goes in, so the check never scans the rows this statement adds.
    chosen = (select(p.c.play_id, p.c.version, literal(cycle_id), p.c.play_date)
              .where(p.c.id >= start, p.c.play_date <= period_to, ~_assigned(p))
              .order_by(p.c.play_id, p.c.version))
    result = conn.execute(insert(cycle_pricings).from_select(["play_id", "version", "cycle_id", "play_date"],
                                                             chosen))
    _analyze(conn)
    conn.execute(update(royalty_cycles).where(royalty_cycles.c.id == cycle_id).values(
        open_pricings_from=_first_unassigned(conn, start, period_to)))
    return max(result.rowcount, 0)


def _first_open_pricing(conn: Connection) -> int:
    """Return the lowest pricing id a new assignment must look at (0 if no cycle recorded one)."""
    return int(conn.execute(select(func.max(royalty_cycles.c.open_pricings_from))
                            .where(royalty_cycles.c.status == "locked")).scalar() or 0)


def _assigned(p: Table) -> Exists:
    """Given ``royalty_pricings``, the SQL condition that its pricing is assigned to a cycle."""
    return exists().where(cycle_pricings.c.play_id == p.c.play_id, cycle_pricings.c.version == p.c.version)


def _first_unassigned(conn: Connection, start: int, period_to: date) -> int:
    """Return the lowest pricing id from ``start`` on that no cycle pays, or one past the highest id.

    Only pricings dated after ``period_to`` can be left: the others were just assigned, or before.
    """
    p = royalty_pricings
    left = conn.execute(select(func.min(p.c.id)).where(p.c.id >= start, p.c.play_date > period_to,
                                                       ~_assigned(p))).scalar()
    return left if left is not None else (conn.execute(select(func.max(p.c.id))).scalar() or 0) + 1


def _analyze(conn: Connection) -> None:
    """Refresh the planner's counts of what a close joins (PostgreSQL): the new assignments, and the
    lines priced since the last analysis; with stale counts it joins a million lines by nested loops."""
    if is_sqlite(conn):
        return
    conn.exec_driver_sql("ANALYZE cycle_pricings")
    conn.exec_driver_sql("ANALYZE royalty_pricings (id, play_id, version, play_date)")
    conn.exec_driver_sql("ANALYZE royalty_ledger (play_id, version, cycle_id, recipient_type, recipient_ref)")


def paid_pricings(cycle_id: int) -> Subquery:
    """Given a cycle id, return the pricings assigned to it (royalty_pricings rows), as a subquery."""
    return (select(royalty_pricings)
            .join(cycle_pricings, and_(cycle_pricings.c.play_id == royalty_pricings.c.play_id,
                                       cycle_pricings.c.version == royalty_pricings.c.version))
            .where(cycle_pricings.c.cycle_id == cycle_id)
            .subquery("paid"))


def write_line_items(conn: Connection, cycle_id: int, method: str, deducted: list[Deduction] | None = None) -> int:
    """Given a cycle (and the deductions booked from its domestic payees), aggregate its lines per recipient into
    cycle_line_items; return the row count.

    plays = lines that pay a play (a reversal counts −1, admin fees and deductions 0); a society's gross
    adds back the admin fee deducted from it; the local society's row holds the fees.  A domestic payee's
    gross is before its deductions, its admin fee the domestic commission, its net after commission and
    withholding tax.  One pass over the lines: grouped by recipient and society, folded here.
    """
    groups = conn.execute(recipient_sums(cycle_lines(cycle_id, method))).all()
    codes = dict(conn.execute(select(partner_societies.c.id, partner_societies.c.code)).all())
    fees: dict[tuple[str, str], int] = {}
    items: dict[tuple[str, str, str], dict[str, Any]] = {}
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
    taken = {(d.recipient_type, d.recipient_ref, d.currency): d for d in deducted or []}
    for (kind, ref, currency), item in items.items():
        item["seconds"] = round(item["seconds"], 3)
        item["admin_fee"] = fees.get((ref, currency), 0) if kind == "society" else 0
        item["gross"] = item["net"] + item["admin_fee"]
        payee = taken.get((kind, ref, currency))
        if payee is not None:
            item["admin_fee"], item["gross"] = payee.commission, payee.gross
    if items:
        conn.execute(cycle_line_items.insert(), [items[k] for k in sorted(items)])
    if not is_sqlite(conn):  # the statements join every line to its item: the planner must count them
        conn.exec_driver_sql("ANALYZE cycle_line_items")
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


def write_remittances(conn: Connection, cycle_id: int, period_to: date, now: datetime) -> int:
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
    non_distributable: int = 0  # suspense declared non-distributable (zamio.royalties.suspense.report)
    fees_pending: int = 0  # pool: licence fee units of days after the cycle, left for the cycles covering them
    commission: int = 0  # domestic commission the local society kept (zamio.royalties.payouts.deductions)
    withholding_tax: int = 0  # tax withheld from domestic payees

    @property
    def reconciled(self) -> bool:
        return (self.payees + self.suspense + self.admin_fees + self.commission + self.withholding_tax
                + self.non_distributable == self.gross)


def totals(conn: Connection, cycle_id: int, method: str, gross: dict[str, int],
           fees_pending: dict[str, int] | None = None) -> list[Totals]:
    """Given a cycle's line items and its independently summed gross per currency (and for a pool cycle the
    licence fee units left for later cycles), return its totals."""
    fees_pending = fees_pending or {}
    rows = conn.execute(select(cycle_line_items).where(cycle_line_items.c.cycle_id == cycle_id)).all()
    e = cycle_lines(cycle_id, method)
    paid = select(e.c.currency, e.c.play_id).where(e.c.kind != "reversal").distinct().subquery("paid")
    plays: dict[str, int] = dict(conn.execute(select(paid.c.currency, func.count(paid.c.play_id))
                                              .group_by(paid.c.currency)).all())
    found = []
    currencies = {r.currency for r in rows} | set(gross) | {c for c, units in fees_pending.items() if units}
    for currency in sorted(currencies):
        mine = [r for r in rows if r.currency == currency]
        found.append(Totals(
            currency=currency, gross=gross.get(currency, 0),
            payees=sum(r.net for r in mine if r.recipient_type in PAYEE_TYPES),
            suspense=sum(r.net for r in mine if r.recipient_type == "suspense"),
            admin_fees=sum(r.net for r in mine if r.recipient_type == "local_society"),
            non_distributable=sum(r.net for r in mine if r.recipient_type == NON_DISTRIBUTABLE),
            commission=sum(r.net for r in mine if r.recipient_type == COMMISSION_ACCOUNT),
            withholding_tax=sum(r.net for r in mine if r.recipient_type == TAX_AUTHORITY),
            ineligible_plays=sum(r.plays for r in mine if r.recipient_type == "ineligible"),
            plays=int(plays.get(currency, 0)),
            fees_pending=fees_pending.get(currency, 0),
        ))
    return found


def lock(conn: Connection, cycle_id: int, inputs: dict[str, str], found: list[Totals], now: datetime) -> None:
    """Given a reconciled cycle, record its totals and input snapshot (``snapshot.columns_of``) and mark it locked."""
    conn.execute(update(royalty_cycles).where(royalty_cycles.c.id == cycle_id).values(
        status="locked", locked_at=now, totals=json.dumps([t.__dict__ for t in found], sort_keys=True), **inputs))
