"""A statement's summary, line by line: which lines a recipient's sums and its balance give, in words.

``SUMMARY_LINES`` lists the rules in the order a reader reads them; each gives its lines, none when it
does not apply, and a subtotal is the sum of the lines above it (``zamio.royalties.statements.shape``
rounds each subtotal once and shares the lines between two of them).  A new kind of ledger line gets
its line by adding one rule here.  No database here: a domestic payee's balance comes as a ``Payout``
(``zamio.royalties.statements.select.payouts``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from zamio.values.money import AMOUNT_SCALE, currency_exponent, round_half_even

# the kinds of a cycle's deductions, as ``zamio.royalties.pricing.paid`` books them (lines of no play)
COMMISSION, WITHHOLDING = "domestic_commission", "withholding_tax"
DEDUCTION_KINDS = (COMMISSION, WITHHOLDING)


def units_per_minor(currency: str) -> int:
    """Given a currency, return how many ledger units one of its minor units is (GHS: 100)."""
    return 10 ** (AMOUNT_SCALE - currency_exponent(currency))


@dataclass(frozen=True)
class FailedPayment:
    """A payment of an earlier cycle that failed, brought forward by this one: its reference, cycle, amount
    (units) and the bank's or operator's reason."""

    reference: str
    cycle: str
    amount: int
    reason: str


@dataclass(frozen=True)
class Carried:
    """What a balance carried forward (units) and why: the payable before, the net payable and the minimum
    payout at its lock (units)."""

    payable: int
    net_payable: int
    minimum: int

    @property
    def units(self) -> int:
        return self.payable - self.net_payable


@dataclass(frozen=True)
class Payout:
    """A domestic payee's balance of the cycle (``payout_balances``), with what explains it: the rates of its
    deductions (percent as booked in their lines' details), its residency, the earlier balance it brought
    forward from and the failed payments brought forward since."""

    brought_forward: int
    carried: Carried  # this cycle's: what it owed, paid and carried forward
    residency: str = "resident"
    commission_percent: str | None = None
    tax_percent: str | None = None
    earlier: Carried | None = None  # the payee's balance before, in this currency
    failed: tuple[FailedPayment, ...] = ()


@dataclass(frozen=True)
class Sums:
    """What a recipient's lines add up to, as the summary lines read it (units)."""

    recipient_type: str
    period: dict[str, int]  # the period's lines by kind (a reversal under the kind it takes back)
    adjustments: dict[str, int]  # earlier periods' lines by what explains them, in order of appearance
    admin_fee: int  # what the local society kept of a partner society's lines (its line item), else 0
    currency: str = "GHS"
    payout: Payout | None = None  # a domestic payee's balance of the cycle


class Part(NamedTuple):
    """A labelled amount of the summary (units); a subtotal is the sum of every part above it."""

    label: str
    units: int
    subtotal: bool = False


SummaryRule = Callable[[Sums], list[Part]]
RESIDENCY = {"resident": "resident", "non_resident": "non-resident"}


def kind_line(label: str, kind: str, with_fee: bool = False) -> SummaryRule:
    """The summary line of the period's lines of ``kind`` (shown when there are any); ``with_fee``: before the
    administration fee deducted from them."""
    def lines(sums: Sums) -> list[Part]:
        if kind not in sums.period and not (with_fee and sums.admin_fee):
            return []
        return [Part(label, sums.period.get(kind, 0) + (sums.admin_fee if with_fee else 0))]
    return lines


def admin_fee_line(sums: Sums) -> list[Part]:
    return [Part("Administration fee kept by the society", -sums.admin_fee)] if sums.admin_fee else []


def adjustment_lines(sums: Sums) -> list[Part]:
    return [Part(f"Adjustment for earlier periods \u2014 {why[:1].lower()}{why[1:].rstrip('.')}", units)
            for why, units in sums.adjustments.items()]


def other_lines(sums: Sums) -> list[Part]:
    return [Part(f"Other lines ({kind})", units) for kind, units in sums.period.items() if kind not in SUMMARY_KINDS]


def _deducted(sums: Sums) -> bool:
    """Whether the lines are a payee's: a cycle's deductions taken from royalties (not an account's alone)."""
    return any(k in sums.period for k in DEDUCTION_KINDS) and (
        any(k not in DEDUCTION_KINDS for k in sums.period) or bool(sums.adjustments))


def gross_line(sums: Sums) -> list[Part]:
    return [Part("Gross royalties of the cycle", 0, subtotal=True)] if _deducted(sums) else []


def percent_text(percent: str) -> str:
    """A rate as booked ("10", "12.50") as a reader reads it ("10 %", "12.5 %")."""
    if "." in percent:
        percent = percent.rstrip("0").rstrip(".")
    return f"{percent} %"


def commission_line(sums: Sums) -> list[Part]:
    if COMMISSION not in sums.period:
        return []
    if not _deducted(sums):
        return [Part("Domestic commission kept from payees' royalties", sums.period[COMMISSION])]
    rate = sums.payout.commission_percent if sums.payout else None
    told = f", {percent_text(rate)} of the gross" if rate else ""
    return [Part(f"Domestic commission kept by the society{told}", sums.period[COMMISSION])]


def tax_line(sums: Sums) -> list[Part]:
    if WITHHOLDING not in sums.period:
        return []
    if not _deducted(sums):
        return [Part("Withholding tax taken from payees' royalties", sums.period[WITHHOLDING])]
    told = ""
    if sums.payout and sums.payout.tax_percent:
        where = RESIDENCY.get(sums.payout.residency, sums.payout.residency.replace("_", " "))
        told = f", {percent_text(sums.payout.tax_percent)} of the gross less the commission, the rate for a " \
               f"{where} payee"
    return [Part(f"Withholding tax{told}", sums.period[WITHHOLDING])]


def amount_text(units: int, currency: str) -> str:
    """An amount of a rule's label ("GHS 2.00"): a minimum payout, in whole minor units."""
    exponent = currency_exponent(currency)
    minor = round_half_even(units, units_per_minor(currency))
    whole, fraction = divmod(abs(minor), 10**exponent)
    return f"{currency} {'-' if minor < 0 else ''}{whole:,}" + (f".{fraction:0{exponent}d}" if exponent else "")


def carry_reason(carried: Carried, currency: str) -> str:
    """Why a balance carried an amount forward, in words (the rules of ``payouts.balances.settle``)."""
    one = amount_text(units_per_minor(currency), currency)
    if carried.payable <= 0:
        return "nothing is paid while the amount owed is not above zero"
    if carried.net_payable or carried.payable < units_per_minor(currency):
        return f"the part below {one}, paid once it makes a whole {one}"
    return f"below the minimum payout of {amount_text(carried.minimum, currency)}"


def net_line(sums: Sums) -> list[Part]:
    """The net of the cycle (``statements.csv``'s net), shown when earlier or later cycles take it further."""
    payout = sums.payout
    if payout is None or not (payout.brought_forward or payout.carried.units):
        return []
    return [Part("Net royalties of the cycle", 0, subtotal=True)]


def brought_forward_lines(sums: Sums) -> list[Part]:
    """What earlier cycles left the payee: the amount its earlier balance carried forward, and the payments that
    failed since, each named (one line for them all if they do not match what the balance brought)."""
    payout = sums.payout
    if payout is None or not payout.brought_forward:
        return []
    carried = payout.earlier.units if payout.earlier is not None else 0
    found = []
    if carried:
        assert payout.earlier is not None
        found.append(Part("Brought forward from earlier cycles \u2014 carried forward, "
                          f"{carry_reason(payout.earlier, sums.currency)}", carried))
    failed = payout.brought_forward - carried
    if failed and sum(p.amount for p in payout.failed) == failed:
        found += [Part(f"Brought forward from earlier cycles \u2014 payment {p.reference} of cycle {p.cycle} "
                       f"failed: {p.reason}", p.amount) for p in payout.failed]
    elif failed:
        found.append(Part("Brought forward from earlier cycles \u2014 payments that failed", failed))
    return found


def carried_forward_line(sums: Sums) -> list[Part]:
    payout = sums.payout
    if payout is None or not payout.carried.units:
        return []
    return [Part(f"Carried forward to the next cycle \u2014 {carry_reason(payout.carried, sums.currency)}",
                 -payout.carried.units)]


#: The summary, line by line: each rule gives its lines (none when it does not apply), a subtotal the sum of the
#: lines above it.  The kinds the period rules read are listed in ``SUMMARY_KINDS``; a kind no rule reads gets a
#: line of its own.
SUMMARY_LINES: tuple[SummaryRule, ...] = (
    kind_line("Royalties for plays of the period", "share", with_fee=True),
    admin_fee_line,
    kind_line("Administration fees kept on partner societies' works", "admin_fee"),
    kind_line("Held in suspense for plays of the period", "suspense"),
    kind_line("Declared non-distributable", "non_distributable"),
    kind_line("Plays of the period not paid", "ineligible"),
    adjustment_lines,
    other_lines,
    gross_line,
    commission_line,
    tax_line,
    net_line,
    brought_forward_lines,
    carried_forward_line,
)
SUMMARY_KINDS = ("share", "admin_fee", "suspense", "non_distributable", "ineligible", *DEDUCTION_KINDS)
TOTAL_LABELS = {"suspense": "Total held in suspense", "non_distributable": "Total declared non-distributable",
                "ineligible": "Total", "local_society": "Total administration fees",
                "domestic_commission": "Total domestic commission", "tax_authority": "Total withholding tax"}
PAYABLE = "Net payable"


def summary_units(sums: Sums) -> list[Part]:
    """Given a recipient's sums, return the summary's lines (units), in order, each that applies; a subtotal
    holds the sum of the lines above it."""
    found, running = [], 0
    for rule in SUMMARY_LINES:
        for part in rule(sums):
            if part.subtotal:
                part = part._replace(units=running)
            else:
                running += part.units
            found.append(part)
    return found


