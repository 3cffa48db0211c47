"""What a cycle deducts from its domestic payees' money, booked in the ledger when it is locked.

A payee's **gross** for a cycle is the sum of its lines the cycle pays (its shares of the plays,
reversals and adjustments; a pool cycle's lines of the licence fees).  Of each domestic payee's
gross (contributor, artist, publisher, in each currency):

* the **domestic commission** the local society keeps is ``percent_of(gross, rate)``, the rate of
  ``domestic_commission_rates`` in force for the cycle's territory on its last day;
* the **withholding tax** is ``percent_of(gross − commission, rate)``, the rate of
  ``withholding_tax_rates`` in force then for the payee's type and residency (``payees``,
  resident unless loaded otherwise), paid to the rate's authority.

Both are rounded once, half-even, to a unit, and each is booked as a pair of ledger lines of the
cycle (``cycle_id`` set, no play): minus the amount on the payee, plus the amount on the account
(``domestic_commission`` / the local society's code, ``tax_authority`` / the authority), kind
``domestic_commission`` or ``withholding_tax``, the rate row named in the details.  The pair sums
to zero, so a cycle still reconciles: payees + suspense + admin fees + domestic commission +
withholding tax (+ non-distributable) = gross.  A negative gross (a clawback larger than the
cycle's earnings) gives back commission and tax in proportion.  Partner societies pay no domestic
commission (their admin fee is taken per play) and no withholding tax.

Keys: ``c<cycle>:<kind>:<side>:<payee type>:<payee ref>:<currency>`` (side ``from`` the payee,
``to`` the account), unique: a close run again books nothing twice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select

from zamio.db.tables import domestic_commission_rates, partner_societies, payees, royalty_ledger, withholding_tax_rates
from zamio.royalties.pricing.ledger import bulk_insert
from zamio.royalties.pricing.paid import COMMISSION, WITHHOLDING, cycle_lines, recipient_sums
from zamio.values.money import percent_of

DOMESTIC_TYPES = ("contributor", "artist", "publisher")
RESIDENT = "resident"
COMMISSION_ACCOUNT = "domestic_commission"  # the recipient type of the commission the local society keeps
TAX_AUTHORITY = "tax_authority"  # the recipient type of the tax withheld

Recipient = tuple[str, str, str]  # (recipient type, reference, currency)


@dataclass(frozen=True)
class Rate:
    """A rate row applied: its id, percentage and, for a tax, the authority it is paid to."""

    id: int
    percent: Decimal
    authority: str | None = None


@dataclass(frozen=True)
class Deduction:
    """A domestic payee's gross in one currency, and what the cycle deducted from it (units)."""

    recipient_type: str
    recipient_ref: str
    name: str | None
    currency: str
    residency: str
    gross: int
    commission: int
    withholding_tax: int
    commission_rate: Rate | None
    tax_rate: Rate | None

    @property
    def payable(self) -> int:
        """What is left to pay of this cycle's gross: gross − commission − tax."""
        return self.gross - self.commission - self.withholding_tax


def commission_rate(conn: Connection, territory: str, day: date) -> Rate | None:
    """Given a territory and a day, return the domestic commission in force (latest start on or before it)."""
    r = domestic_commission_rates
    row = conn.execute(select(r.c.id, r.c.commission_percent).where(r.c.territory == territory,
                                                                      r.c.effective_from <= day)
                       .order_by(r.c.effective_from.desc()).limit(1)).first()
    return Rate(row.id, row.commission_percent) if row is not None else None


def tax_rates(conn: Connection, territory: str, day: date) -> dict[tuple[str, str], Rate]:
    """Given a territory and a day, return the withholding tax in force per (recipient type, residency)."""
    r = withholding_tax_rates
    found: dict[tuple[str, str], Rate] = {}
    for row in conn.execute(select(r).where(r.c.territory == territory, r.c.effective_from <= day)
                            .order_by(r.c.effective_from)):
        found[row.recipient_type, row.residency] = Rate(row.id, row.tax_percent, row.authority)
    return found


def residencies(conn: Connection) -> dict[tuple[str, str], str]:
    """Return the residency of every payee loaded, by (recipient type, reference)."""
    return {(t, ref): residency for t, ref, residency in conn.execute(
        select(payees.c.recipient_type, payees.c.recipient_ref, payees.c.residency))}


def domestic_gross(conn: Connection, cycle_id: int, method: str) -> dict[Recipient, tuple[str | None, int]]:
    """Given a cycle, return each domestic payee's name and gross (units) per currency, from the lines it pays."""
    sums = recipient_sums(cycle_lines(cycle_id, method))
    found: dict[Recipient, tuple[str | None, int]] = {}
    for g in conn.execute(sums):
        if g.recipient_type not in DOMESTIC_TYPES:
            continue
        key = (g.recipient_type, g.recipient_ref, g.currency)
        name, units = found.get(key, (None, 0))
        found[key] = (max(filter(None, (name, g.name)), default=None), units + int(g.net))
    return found


def deductions(gross: dict[Recipient, tuple[str | None, int]], commission: Rate | None,
               taxes: dict[tuple[str, str], Rate], residency: dict[tuple[str, str], str]) -> list[Deduction]:
    """Given the domestic payees' gross, the commission and tax rates in force and the payees' residency, return
    what is deducted from each (pure)."""
    found = []
    for (kind, ref, currency), (name, units) in sorted(gross.items()):
        where = residency.get((kind, ref), RESIDENT)
        fee = percent_of(units, commission.percent)[0] if commission is not None else 0
        tax_rate = taxes.get((kind, where))
        tax = percent_of(units - fee, tax_rate.percent)[0] if tax_rate is not None else 0
        found.append(Deduction(kind, ref, name, currency, where, units, fee, tax, commission, tax_rate))
    return found


def _local_society(conn: Connection) -> tuple[str, str]:
    row = conn.execute(select(partner_societies.c.code, partner_societies.c.short_name)
                       .where(partner_societies.c.is_local)).first()
    if row is None:
        raise LookupError("no local society is stored (partner_societies.is_local); run bin/migrate")
    return row.code, row.short_name


def _line(cycle_id: int, kind: str, side: str, d: Deduction, recipient: tuple[str, str, str | None], amount: int,
          details: dict[str, Any], run_id: str, now: datetime) -> dict[str, Any]:
    recipient_type, ref, name = recipient
    return {
        "entry_key": f"c{cycle_id}:{kind}:{side}:{d.recipient_type}:{d.recipient_ref}:{d.currency}",
        "play_id": None, "cycle_id": cycle_id, "version": 0, "kind": kind, "recipient_type": recipient_type,
        "recipient_ref": ref, "recipient_name": name, "society_id": None, "amount": amount,
        "currency": d.currency, "seconds": 0.0, "reason": kind, "rate_card_id": None, "reverses_id": None,
        "details": json.dumps(details, separators=(",", ":"), sort_keys=True), "run_id": run_id, "created_at": now,
    }


def book(conn: Connection, cycle_id: int, method: str, territory: str, last_day: date, run_id: str,
         now: datetime) -> list[Deduction]:
    """Given a cycle being locked (its lines assigned or spread), compute and book its deductions (module
    docstring); return them, one per domestic payee and currency, zero deductions included."""
    found = deductions(domestic_gross(conn, cycle_id, method), commission_rate(conn, territory, last_day),
                       tax_rates(conn, territory, last_day), residencies(conn))
    local_code, local_name = _local_society(conn)
    rows = []
    for d in found:
        payee = (d.recipient_type, d.recipient_ref, d.name)
        if d.commission and d.commission_rate is not None:
            details = {"commission_rate_id": d.commission_rate.id,
                       "percent": format(d.commission_rate.percent, "f"), "base": d.gross}
            rows.append(_line(cycle_id, COMMISSION, "from", d, payee, -d.commission, details, run_id, now))
            rows.append(_line(cycle_id, COMMISSION, "to", d, (COMMISSION_ACCOUNT, local_code, local_name),
                              d.commission, {**details, "from": f"{d.recipient_type}:{d.recipient_ref}"}, run_id, now))
        if d.withholding_tax and d.tax_rate is not None:
            details = {"tax_rate_id": d.tax_rate.id, "percent": format(d.tax_rate.percent, "f"),
                       "base": d.gross - d.commission, "residency": d.residency}
            authority = d.tax_rate.authority or TAX_AUTHORITY
            rows.append(_line(cycle_id, WITHHOLDING, "from", d, payee, -d.withholding_tax, details, run_id, now))
            rows.append(_line(cycle_id, WITHHOLDING, "to", d, (TAX_AUTHORITY, authority, authority),
                              d.withholding_tax, {**details, "from": f"{d.recipient_type}:{d.recipient_ref}"},
                              run_id, now))
    bulk_insert(conn, royalty_ledger, rows, ["entry_key"])
    return found
