"""What each recipient of a cycle is owed and paid: one ``payout_balances`` row per cycle, recipient and currency.

Written when the cycle is locked, in the same transaction, after its deductions
(``zamio.royalties.payouts.deductions``) and remittances; append-only.  For a domestic payee
(contributor, artist, publisher) the cycle's **gross** and deductions are those of its ledger
lines; for a partner society, its remittance's net in its own currency (no commission, no tax).

* **brought forward**: what earlier cycles left the recipient in that currency: the amounts they
  carried forward, plus the payments that failed (``payment_events``), minus what later locks
  already brought forward.  A recipient with such an amount gets a row even without earnings;
* **payable** = gross − commission − tax + brought forward;
* the **net payable** is the payable in whole minor units of the currency (GHS 0.01), paid when it
  is at least the currency's minimum payout (``MIN_PAYOUT``; no minimum: any positive amount),
  else nothing;
* the **carried forward** is the rest (all of it when below the minimum, or not positive; else
  the fraction of a minor unit), brought forward by the next cycle locked.

So for every row: commission + withholding tax + net payable + carried forward = gross + brought
forward, exactly.  ``recipient_balance`` gives one row's figures with the state of its payment.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, insert, select

from zamio.db.tables import (
    partner_remittances,
    partner_societies,
    payees,
    payment_events,
    payments,
    payout_balances,
)
from zamio.royalties.payouts.deductions import RESIDENT, Deduction
from zamio.values.money import AMOUNT_SCALE, currency_exponent

Key = tuple[str, str, str]  # (recipient type, reference, currency)


@dataclass(frozen=True)
class Balance:
    """A recipient's figures for one cycle and currency, in units, and where its payment stands."""

    cycle_id: int
    recipient_type: str
    recipient_ref: str
    recipient_name: str | None
    currency: str
    residency: str
    gross: int
    commission: int
    withholding_tax: int
    brought_forward: int
    net_payable: int
    carried_forward: int
    minimum: int
    payment_reference: str | None = None
    payment_status: str | None = None  # prepared | sent | settled | failed; None: not prepared
    payment_reason: str | None = None  # why it failed

    @property
    def payable(self) -> int:
        """gross − commission − tax + brought forward: what the recipient was owed at the lock."""
        return self.gross - self.commission - self.withholding_tax + self.brought_forward


def whole_minor_units(units: int, currency: str) -> int:
    """Given units, return the largest amount of whole minor units of ``currency`` not above them, in units."""
    step = 10 ** (AMOUNT_SCALE - min(currency_exponent(currency), AMOUNT_SCALE))
    return units - units % step


def settle(payable: int, currency: str, minimum: int) -> tuple[int, int]:
    """Given what a recipient is owed (units), its currency and the minimum payout, return (net payable, carried
    forward), which sum to ``payable``."""
    paid = whole_minor_units(payable, currency)
    if paid <= 0 or paid < minimum:
        return 0, payable
    return paid, payable - paid


def available(conn: Connection) -> dict[Key, int]:
    """Return what earlier cycles left each recipient (units, non-zero only): carried forward plus failed payments,
    minus what was brought forward since."""
    b = payout_balances
    found: dict[Key, int] = {}
    for kind, ref, currency, units in conn.execute(
            select(b.c.recipient_type, b.c.recipient_ref, b.c.currency,
                   func.sum(b.c.carried_forward - b.c.brought_forward))
            .group_by(b.c.recipient_type, b.c.recipient_ref, b.c.currency)):
        found[kind, ref, currency] = int(units or 0)
    failed = (select(payments.c.recipient_type, payments.c.recipient_ref, payments.c.currency,
                     func.sum(payments.c.amount))
              .join(payment_events, and_(payment_events.c.payment_id == payments.c.id,
                                         payment_events.c.status == "failed"))
              .group_by(payments.c.recipient_type, payments.c.recipient_ref, payments.c.currency))
    for kind, ref, currency, units in conn.execute(failed):
        found[kind, ref, currency] = found.get((kind, ref, currency), 0) + int(units or 0)
    return {key: units for key, units in found.items() if units}


def _remittances(conn: Connection, cycle_id: int) -> list[Any]:
    return list(conn.execute(
        select(partner_societies.c.code, partner_societies.c.short_name, partner_remittances.c.currency,
               partner_remittances.c.net_in_currency)
        .join(partner_societies, partner_societies.c.id == partner_remittances.c.society_id)
        .where(partner_remittances.c.cycle_id == cycle_id).order_by(partner_societies.c.code)))


def record(conn: Connection, cycle_id: int, found: Iterable[Deduction], minimums: Mapping[str, int],
           now: datetime) -> int:
    """Given a cycle being locked, its deductions and the minimum payout per currency (units), write its
    balances (module docstring); return how many."""
    earned: dict[Key, dict[str, Any]] = {}
    for d in found:
        earned[d.recipient_type, d.recipient_ref, d.currency] = dict(
            recipient_name=d.name, residency=d.residency, gross=d.gross, commission=d.commission,
            withholding_tax=d.withholding_tax)
    for r in _remittances(conn, cycle_id):
        earned["society", r.code, r.currency] = dict(recipient_name=r.short_name, residency=RESIDENT,
                                                     gross=int(r.net_in_currency), commission=0, withholding_tax=0)
    left = available(conn)
    residency = {(t, ref): (name, where) for t, ref, name, where in conn.execute(
        select(payees.c.recipient_type, payees.c.recipient_ref, payees.c.name, payees.c.residency))}
    rows = []
    for key in sorted(set(earned) | set(left)):
        kind, ref, currency = key
        name, where = residency.get((kind, ref), (None, RESIDENT))
        row = earned.get(key) or dict(recipient_name=name, residency=where, gross=0, commission=0, withholding_tax=0)
        brought = left.get(key, 0)
        minimum = minimums.get(currency, 0)
        net, carried = settle(row["gross"] - row["commission"] - row["withholding_tax"] + brought, currency, minimum)
        rows.append(dict(cycle_id=cycle_id, recipient_type=kind, recipient_ref=ref, currency=currency,
                         brought_forward=brought, net_payable=net, carried_forward=carried, minimum=minimum,
                         created_at=now, **row))
    if rows:
        conn.execute(insert(payout_balances), rows)
    return len(rows)


def balances(conn: Connection, cycle_id: int) -> list[Balance]:
    """Given a cycle, return its balances with the state of their payments, in recipient order."""
    return _read(conn, payout_balances.c.cycle_id == cycle_id)


def recipient_balance(conn: Connection, cycle_id: int, recipient_type: str, recipient_ref: str,
                      currency: str | None = None) -> Balance | None:
    """Given a cycle and a recipient (as statements.csv names it), return its figures for the cycle: gross,
    domestic commission, withholding tax, brought forward, net payable, carried forward, and its payment.

    ``currency`` picks one when the recipient has several in the cycle (else ValueError).  None when the cycle
    owes the recipient nothing and brought nothing forward for it."""
    b = payout_balances
    found = _read(conn, and_(b.c.cycle_id == cycle_id, b.c.recipient_type == recipient_type,
                             b.c.recipient_ref == recipient_ref,
                             *([b.c.currency == currency] if currency is not None else [])))
    if len(found) > 1:
        raise ValueError(f"{recipient_type} {recipient_ref} has balances in {', '.join(x.currency for x in found)} "
                         "in this cycle: name the currency")
    return found[0] if found else None


def _read(conn: Connection, condition: Any) -> list[Balance]:
    b, p = payout_balances, payments
    latest = (select(payment_events.c.payment_id, func.max(payment_events.c.id).label("event_id"))
              .group_by(payment_events.c.payment_id).subquery("latest"))
    event = payment_events.alias("event")
    query = (select(b, p.c.reference, event.c.status, event.c.reason)
             .select_from(b.outerjoin(p, and_(p.c.cycle_id == b.c.cycle_id, p.c.recipient_type == b.c.recipient_type,
                                              p.c.recipient_ref == b.c.recipient_ref, p.c.currency == b.c.currency))
                          .outerjoin(latest, latest.c.payment_id == p.c.id)
                          .outerjoin(event, event.c.id == latest.c.event_id))
             .where(condition).order_by(b.c.recipient_type, b.c.recipient_ref, b.c.currency))
    return [Balance(r.cycle_id, r.recipient_type, r.recipient_ref, r.recipient_name, r.currency, r.residency,
                    r.gross, r.commission, r.withholding_tax, r.brought_forward, r.net_payable, r.carried_forward,
                    r.minimum, r.reference, r.status, r.reason if r.status == "failed" else None)
            for r in conn.execute(query)]
