"""Paying a locked cycle: payments prepared once, written to payment files, confirmed, settled or failed.

**Prepare** (``prepare``): every balance of the cycle with a net payable
(``zamio.royalties.payouts.balances``), domestic payees and partner societies alike, becomes one
payment (``payments``, unique per cycle, recipient and currency: never prepared twice, even by two
runs at once) with the recipient's payment details as loaded (``payees``, kept on the payment as
JSON) and a ``prepared`` event.  A recipient without payment details is **held**: no payment, listed
with the reason, and prepared by a later run once its details are loaded.  Its reference is
``ZP<cycle id>-<10 hex digits>`` (a digest of the recipient and currency), what a bank or an
operator confirms it by.

**Files** (``payment_files``): the payments of the cycle still ``prepared`` (not yet sent), one
row each: ``bank-transfers.csv`` and ``mobile-money-<NETWORK>.csv`` (MTN MoMo bulk payment:
``msisdn, amount, currency, reference, name``), and ``held.csv``; amounts in the currency's minor
units (``20.00``).

**Confirm** (``confirm``): a CSV of references marks payments ``sent`` (the file handed to the bank
or operator: its ``reference`` column), or ``settled`` or ``failed`` with a ``reason`` (the
bank's or operator's answer: ``reference, status, reason``).  Each row is applied alone: a bad row
(unknown reference, unknown status, a failure without reason, a settled payment said to fail, a
failed one said to settle) is refused with its line and reason while the others are applied; a
row already applied is applied again as nothing.  A failed payment's amount is brought forward by
the next cycle locked.  A partner society's payment is its remittance: ``partner_remittances.status``
follows the payment's latest event.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, and_, func, select, update

from zamio.db.engine import StoredRow, insert_ignore, utcnow
from zamio.db.tables import partner_remittances, partner_societies, payees, payment_events, payments, royalty_cycles
from zamio.files import csvwrite
from zamio.files.csvread import ImportReport, RowError, load_rows
from zamio.royalties.payouts.balances import Balance, balances
from zamio.royalties.statements.formatting import decimal_text
from zamio.runtime.errors import DataError

PREPARED, SENT, SETTLED, FAILED = "prepared", "sent", "settled", "failed"
OUTCOMES = (SETTLED, FAILED)
NO_DETAILS = "no payment details: load them with bin/import-catalog --payees, then run bin/payouts again"
BANK_COLUMNS = ["reference", "recipient_type", "recipient", "name", "bank_name", "account_number", "branch_code",
                "currency", "amount"]
MOBILE_COLUMNS = ["msisdn", "amount", "currency", "reference", "name"]
HELD_COLUMNS = ["recipient_type", "recipient", "name", "currency", "amount", "reason"]
DETAIL_COLUMNS = ("bank_name", "account_number", "branch_code", "mobile_money_number", "mobile_money_network")


def locked_cycle(conn: Connection, name: str) -> StoredRow:
    """Given a cycle name, return its row; raise DataError unless it is locked."""
    cycle = conn.execute(select(royalty_cycles).where(royalty_cycles.c.name == name)).first()
    if cycle is None:
        raise DataError(f"no cycle {name}: close it first with bin/process-royalty-cycle")
    if cycle.status != "locked":
        raise DataError(f"cycle {name} is {cycle.status}, not locked: close it first with bin/process-royalty-cycle")
    return cycle


def reference(cycle_id: int, recipient_type: str, recipient_ref: str, currency: str) -> str:
    """The reference of a cycle's payment to a recipient in a currency: short, plain, the same every run."""
    digest = hashlib.sha256(f"{recipient_type}\0{recipient_ref}\0{currency}".encode()).hexdigest()[:10].upper()
    return f"ZP{cycle_id}-{digest}"


@dataclass
class Prepared:
    """What a run of ``prepare`` found: payments prepared now, prepared before, and balances held (with why)."""

    new: int = 0
    earlier: int = 0
    held: list[tuple[Balance, str]] = field(default_factory=list)


def _details(conn: Connection) -> dict[tuple[str, str], StoredRow]:
    return {(r.recipient_type, r.recipient_ref): r for r in conn.execute(select(payees))}


def prepare(conn: Connection, cycle: StoredRow, run_id: str, now: datetime | None = None) -> Prepared:
    """Given a locked cycle, prepare a payment for each balance with a net payable that has none yet and payment
    details (module docstring); return what was done."""
    now = now or utcnow()
    details = _details(conn)
    done = Prepared()
    for balance in balances(conn, cycle.id):
        if balance.net_payable <= 0:
            continue
        if balance.payment_reference is not None:
            done.earlier += 1
            continue
        payee = details.get((balance.recipient_type, balance.recipient_ref))
        if payee is None or payee.payment_method is None:
            done.held.append((balance, NO_DETAILS))
            continue
        ref = reference(cycle.id, balance.recipient_type, balance.recipient_ref, balance.currency)
        kept = {name: getattr(payee, name) for name in DETAIL_COLUMNS if getattr(payee, name)}
        added = insert_ignore(conn, payments, [dict(
            reference=ref, cycle_id=cycle.id, recipient_type=balance.recipient_type,
            recipient_ref=balance.recipient_ref, recipient_name=payee.name or balance.recipient_name,
            currency=balance.currency, amount=balance.net_payable, method=payee.payment_method,
            details=json.dumps(kept, sort_keys=True), created_at=now)], ["cycle_id", "recipient_type",
                                                                         "recipient_ref", "currency"])
        payment_id = conn.execute(select(payments.c.id).where(payments.c.reference == ref)).scalar_one()
        insert_ignore(conn, payment_events, [dict(payment_id=payment_id, status=PREPARED, run_id=run_id,
                                                  created_at=now)], ["payment_id", "status"])
        _mirror_remittance(conn, cycle.id, balance.recipient_type, balance.recipient_ref, PREPARED)
        if added:
            done.new += 1
        else:  # another run prepared it first
            done.earlier += 1
    return done


def _mirror_remittance(conn: Connection, cycle_id: int, recipient_type: str, code: str, status: str) -> None:
    """A partner society's payment is its remittance: record the payment's latest state on it."""
    if recipient_type != "society":
        return
    society = select(partner_societies.c.id).where(partner_societies.c.code == code).scalar_subquery()
    conn.execute(update(partner_remittances).where(partner_remittances.c.cycle_id == cycle_id,
                                                   partner_remittances.c.society_id == society)
                 .values(status=status))


@dataclass(frozen=True)
class Payment:
    """A payment of a cycle with its latest state."""

    reference: str
    recipient_type: str
    recipient_ref: str
    name: str | None
    currency: str
    amount: int
    method: str
    details: dict[str, str]
    status: str


def cycle_payments(conn: Connection, cycle_id: int) -> list[Payment]:
    """Given a cycle, return its payments with their latest state, in recipient order."""
    latest = (select(payment_events.c.payment_id, func.max(payment_events.c.id).label("event_id"))
              .group_by(payment_events.c.payment_id).subquery("latest"))
    rows = conn.execute(select(payments, payment_events.c.status)
                        .join(latest, latest.c.payment_id == payments.c.id)
                        .join(payment_events, payment_events.c.id == latest.c.event_id)
                        .where(payments.c.cycle_id == cycle_id)
                        .order_by(payments.c.recipient_type, payments.c.recipient_ref, payments.c.currency))
    return [Payment(r.reference, r.recipient_type, r.recipient_ref, r.recipient_name, r.currency, r.amount,
                    r.method, json.loads(r.details), r.status) for r in rows]


def payment_files(found: list[Payment], held: list[tuple[Balance, str]]) -> dict[str, str]:
    """Given a cycle's payments and its held balances, return the payment files (name → CSV text) of the payments
    not sent yet, and ``held.csv``."""
    waiting = [p for p in found if p.status == PREPARED]
    files = {"bank-transfers.csv": csvwrite.text(BANK_COLUMNS, [
        [p.reference, p.recipient_type, p.recipient_ref, p.name, p.details.get("bank_name"),
         p.details.get("account_number"), p.details.get("branch_code"), p.currency,
         decimal_text(p.amount, p.currency)] for p in waiting if p.method == "bank"])}
    networks: dict[str, list[Payment]] = defaultdict(list)
    for p in waiting:
        if p.method == "mobile_money":
            networks[p.details.get("mobile_money_network", "")].append(p)
    for network, group in sorted(networks.items()):
        files[f"mobile-money-{network}.csv"] = csvwrite.text(MOBILE_COLUMNS, [
            [p.details.get("mobile_money_number"), decimal_text(p.amount, p.currency), p.currency, p.reference,
             p.name] for p in group])
    files["held.csv"] = csvwrite.text(HELD_COLUMNS, [
        [b.recipient_type, b.recipient_ref, b.recipient_name, b.currency, decimal_text(b.net_payable, b.currency),
         reason] for b, reason in held])
    return files


def reconciliation(cycle: StoredRow, all_balances: list[Balance], found: list[Payment],
                   held: list[tuple[Balance, str]]) -> list[str]:
    """Given a cycle's balances, payments and held balances, return per currency its net payable and where it is:
    in this run's files, sent or settled before, failed, held; they sum to the net payable."""
    lines = []
    for currency in sorted({b.currency for b in all_balances}):
        net = sum(b.net_payable for b in all_balances if b.currency == currency)
        mine = [p for p in found if p.currency == currency]
        parts = [(label, sum(p.amount for p in mine if p.status == status and (method is None or p.method == method)))
                 for label, status, method in (("bank transfers", PREPARED, "bank"),
                                               ("mobile money", PREPARED, "mobile_money"),
                                               ("sent", SENT, None), ("settled", SETTLED, None),
                                               ("failed", FAILED, None))]
        parts.append(("held", sum(b.net_payable for b, _ in held if b.currency == currency)))
        verdict = "exact" if sum(units for _, units in parts) == net else "MISMATCH"
        shown = " + ".join(f"{label} {decimal_text(units, currency)}" for label, units in parts if units)
        lines.append(f"cycle {cycle.name} {currency} net payable {decimal_text(net, currency)} = "
                     f"{shown or 'nothing'}: {verdict}")
    return lines


# --- confirmations ---------------------------------------------------------------------------

CONFIRM_COLUMNS = {SENT: (("reference",), ()), SETTLED: (("reference", "status"), ("reason",))}


def _apply(conn: Connection, row: dict[str, str | None], step: str, source: str, run_id: str,
           applied: Callable[[str], None]) -> None:
    ref = row.get("reference")
    if not ref:
        raise RowError("reference is empty; it is required")
    payment = conn.execute(select(payments).where(payments.c.reference == ref)).first()
    if payment is None:
        raise RowError(f"reference {ref!r} is no payment prepared by bin/payouts")
    status = SENT if step == SENT else (row.get("status") or "").lower()
    if status not in ((SENT,) if step == SENT else OUTCOMES):
        raise RowError(f"status {row.get('status')!r} is not one of {', '.join(OUTCOMES)}")
    reason = row.get("reason")
    if status == FAILED and not reason:
        raise RowError(f"payment {ref} failed without a reason: give the bank's or operator's reason")
    seen = dict(conn.execute(select(payment_events.c.status, payment_events.c.reason)
                             .where(payment_events.c.payment_id == payment.id)).all())
    if status in seen:
        return  # confirmed before: nothing more to record
    ended = [s for s in OUTCOMES if s in seen]
    if ended:
        raise RowError(f"payment {ref} was {ended[0]} already; it cannot be {status} too")
    conn.execute(payment_events.insert().values(payment_id=payment.id, status=status,
                                                reason=reason if status == FAILED else None, source=source,
                                                run_id=run_id, created_at=utcnow()))
    _mirror_remittance(conn, payment.cycle_id, payment.recipient_type, payment.recipient_ref, status)
    applied(status)


def confirm(conn: Connection, path: Path, step: str, report: ImportReport, run_id: str) -> dict[str, int]:
    """Given a confirmation CSV and its step (``sent``, or ``settled`` for settled and failed rows), record each
    row's event (module docstring); bad rows go into ``report``.  Return how many events were recorded per status."""
    counts: dict[str, int] = defaultdict(int)
    required, optional = CONFIRM_COLUMNS[step]

    def count(status: str) -> None:
        counts[status] += 1

    load_rows(conn, path, report, lambda c, row: _apply(c, row, step, path.name, run_id, count), required,
              optional, key=lambda row: f"reference {row.get('reference')!r}" if row.get("reference") else None)
    return dict(counts)


def failed_since(conn: Connection, cycle_id: int) -> list[StoredRow]:
    """Given a cycle, return its failed payments with the reason (they are brought forward by the next lock)."""
    return list(conn.execute(
        select(payments.c.reference, payments.c.recipient_type, payments.c.recipient_ref, payments.c.currency,
               payments.c.amount, payment_events.c.reason)
        .join(payment_events, and_(payment_events.c.payment_id == payments.c.id, payment_events.c.status == FAILED))
        .where(payments.c.cycle_id == cycle_id).order_by(payments.c.reference)))
