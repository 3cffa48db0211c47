"""Who is owed a play's money, and exactly how much each party gets (pure: no database).

Rules (the contract the tests check with hand-computed statements):

* **Catalog work, contributors registered**: their ``share_percent`` must sum to
  exactly 100; otherwise the whole play goes to suspense with reason
  ``bad_shares`` (never silently pro-rated).  A contributor with a publisher is
  paid through that publisher (the recipient is the publisher); parts owed to the
  same recipient are added together before splitting.
* **Catalog work, no contributors**: the artist is owed 100 %, paid through the
  track's publisher if it names one, else the artist's default publisher (the
  artists file's ``publisher``), else directly: the work's own publishing deal is
  the more specific fact, as on the dashboards and reports.
* **Foreign work** (a catalog track registered to a partner society, or an
  external recording mapped to one): owed to that society under the reciprocal
  agreement in force on the play's date for the station's territory: of the rows
  with ``effective_from ≤ date < expires_on`` (drafts left out) the latest
  ``effective_from``, if its status is ``active`` (so a change, a suspension or a
  termination is a new row from the day it applies).  The local society keeps the
  admin fee (the agreement's, else the society's default fee in force on that
  date, ``society_admin_fees``) as its own line (``local_society`` / ``admin_fee``);
  the partner gets the rest.  No agreement in force → suspense ``no_agreement``; an
  unknown society → suspense ``unidentified``.
* Parts are allocated by largest remainder with the recipient as tie-break, so
  the lines of a play always sum exactly to its gross.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cached_property
from typing import NamedTuple

from zamio.royalties.pricing.rates import in_force
from zamio.values.money import allocate_integers, integer_weights, percent_of

PERCENT_WHOLE = Decimal(100)
ACTIVE = "active"
DRAFT = "draft"  # an agreement not yet signed: it neither pays nor ends the one before it


@dataclass(frozen=True)
class Payee:
    """A recipient of money: ``contributor``, ``artist``, ``publisher`` or ``society`` and its reference."""

    recipient_type: str
    ref: str
    name: str | None = None


@dataclass(frozen=True)
class Contributor:
    """A registered share of a work; ``publisher`` is set when the share is paid through one."""

    party_ref: str
    name: str
    share: Decimal
    publisher: Payee | None = None


@dataclass(frozen=True)
class Work:
    """What a catalog track contributes to a split."""

    track_id: int
    artist: Payee
    artist_publisher: Payee | None
    track_publisher: Payee | None
    society_id: int | None
    contributors: tuple[Contributor, ...]


@dataclass(frozen=True)
class SocietyFee:
    """A society's default admin fee from a day on (a row of ``society_admin_fees``)."""

    id: int
    percent: Decimal
    effective_from: date


@dataclass(frozen=True)
class Society:
    """A collective management organisation (CISAC code) and its defaults.

    ``fees`` are its default admin fees, latest first; ``default_fee`` is the latest, used alone only
    where no dated fee is known.
    """

    id: int
    code: str
    short_name: str
    name: str
    currency: str
    default_fee: Decimal
    is_local: bool
    email: str | None = None
    fees: tuple[SocietyFee, ...] = ()

    def fee_on(self, day: date) -> SocietyFee | None:
        """Given a day, return the default fee in force: the latest starting on or before it (before the first
        one starts, the first one: a society always has a default fee).  None when no dated fee is known."""
        for fee in self.fees:
            if fee.effective_from <= day:
                return fee
        return self.fees[-1] if self.fees else None


@dataclass(frozen=True)
class Agreement:
    """A reciprocal agreement with a partner society for one territory."""

    id: int
    society_id: int
    territory: str
    fee: Decimal | None
    effective_from: date
    expires_on: date | None
    status: str


@dataclass(frozen=True)
class Party:
    """A payee with its weight in percent."""

    payee: Payee
    weight: Decimal


@dataclass(frozen=True)
class SharePlan:
    """Weighted parties made ready to split many totals: integer weights, tie-break keys, line shares.

    Built once per party table (a work is played many times); ``lines`` then runs on integers.
    """

    parties: tuple[Party, ...]
    weights: tuple[int, ...]  # the parties' weights scaled to integers, in exact proportion
    keys: tuple[tuple[str, str], ...]  # tie-break: (recipient type, reference)
    shares: tuple[Decimal, ...]  # percent of the play each line stands for
    # each line's fields but its amount: recipient type, reference, name, share
    heads: tuple[tuple[str, str, str | None, Decimal], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "heads", tuple((p.payee.recipient_type, p.payee.ref, p.payee.name, share)
                                                for p, share in zip(self.parties, self.shares)))

    @classmethod
    def of(cls, parties: Sequence[Party]) -> SharePlan:
        """Given weighted parties, return their plan; raise ValueError if the weights are unusable."""
        weights = [p.weight for p in parties]
        exact = integer_weights(weights)
        whole = sum(weights)
        return cls(tuple(parties), tuple(exact), tuple((p.payee.recipient_type, p.payee.ref) for p in parties),
                   tuple(p.weight * PERCENT_WHOLE / whole for p in parties))

    def lines(self, total: int) -> list[Line]:
        """Given a total in units, return one share line per party, summing exactly to total."""
        # Most works have one party, owed the whole: no allocation to compute.
        amounts = [total] if len(self.weights) == 1 else allocate_integers(total, self.weights, self.keys)
        return [Line("share", recipient_type, ref, name, amount, None, None, share)
                for (recipient_type, ref, name, share), amount in zip(self.heads, amounts)]


@dataclass(frozen=True)
class Owed:
    """Who is owed a play: parties by weight, a society under an agreement, or suspense with a reason."""

    parties: tuple[Party, ...] = ()
    society: Society | None = None
    agreement: Agreement | None = None
    fee_percent: Decimal | None = None
    suspense_reason: str | None = None
    society_fee: SocietyFee | None = None  # the society's default fee, when the agreement names no fee

    @cached_property
    def plan(self) -> SharePlan:
        """The parties' split plan, computed once for however many plays this decision serves."""
        return SharePlan.of(self.parties)


class Line(NamedTuple):
    """One ledger line of a play, before it has a key: kind, recipient, amount in units.

    A named tuple: a play makes one to three of them, a million plays millions.
    """

    kind: str  # share | admin_fee | suspense | ineligible
    recipient_type: str
    recipient_ref: str
    recipient_name: str | None
    amount: int
    society_id: int | None = None
    reason: str | None = None
    share: Decimal | None = None  # percent of the play this line stands for


def catalog_parties(work: Work) -> Owed:
    """Given a catalog work, return the parties owed (weights in percent) or suspense ``bad_shares``."""
    if not work.contributors:
        payee = work.track_publisher or work.artist_publisher or work.artist
        return Owed(parties=(Party(payee, PERCENT_WHOLE),))
    shares = [c.share for c in work.contributors]
    if sum(shares) != PERCENT_WHOLE or any(s < 0 for s in shares):
        return Owed(suspense_reason="bad_shares")
    weights: dict[Payee, Decimal] = {}
    for contributor in work.contributors:
        payee = contributor.publisher or Payee("contributor", contributor.party_ref, contributor.name)
        weights[payee] = weights.get(payee, Decimal(0)) + contributor.share
    return Owed(parties=tuple(Party(p, w) for p, w in weights.items() if w > 0))


def agreement_in_force(agreements: Iterable[Agreement], territory: str, day: date) -> Agreement | None:
    """Given a society's agreements, a territory and a day, return the agreement that pays on that day, or None.

    Of the rows in force (drafts left out) the latest start wins, as for rate cards; it pays if it is active.
    """
    found = [a for a in agreements
             if a.status.lower() != DRAFT and a.territory == territory
             and in_force(a.effective_from, a.expires_on, day)]
    latest = max(found, key=lambda a: a.effective_from, default=None)
    return latest if latest is not None and latest.status.lower() == ACTIVE else None


def owed_to_society(society: Society | None, agreements: Sequence[Agreement], territory: str,
                    day: date) -> Owed:
    """Given the society a foreign work belongs to, return it with its fee, or suspense with a reason."""
    if society is None:
        return Owed(suspense_reason="unidentified")
    agreement = agreement_in_force(agreements, territory, day)
    if agreement is None:
        return Owed(suspense_reason="no_agreement")
    if agreement.fee is not None:
        return Owed(society=society, agreement=agreement, fee_percent=agreement.fee)
    default = society.fee_on(day)
    return Owed(society=society, agreement=agreement, society_fee=default,
                fee_percent=default.percent if default is not None else society.default_fee)


def split_parties(total: int, parties: Sequence[Party]) -> list[Line]:
    """Given a total in units and weighted parties, return share lines summing exactly to total.

    Largest remainder; equal remainders go to the smallest (recipient type, reference).
    """
    return SharePlan.of(parties).lines(total)


def split_society(total: int, society: Society, fee_percent: Decimal, local: Society) -> list[Line]:
    """Given a total, a partner society, its admin fee in percent and the local society, return two lines.

    The fee (rounded half-even to a unit) is the local society's ``admin_fee`` line; the
    partner's ``share`` line is the rest, so the two sum exactly to ``total``.
    """
    fee, rest = percent_of(total, fee_percent)
    return [
        Line("admin_fee", "local_society", local.code, local.short_name, fee, society_id=society.id,
             share=fee_percent),
        Line("share", "society", society.code, society.short_name, rest, society_id=society.id,
             share=PERCENT_WHOLE - fee_percent),
    ]


def split(total: int, owed: Owed, local: Society, suspense_ref: str) -> list[Line]:
    """Given a play's gross in units and who is owed it, return its ledger lines (summing to total).

    ``suspense_ref`` names the suspense account (reason and recording) when nobody can be paid.
    """
    if owed.suspense_reason is not None:
        return [Line("suspense", "suspense", f"{owed.suspense_reason}:{suspense_ref}", None, total,
                     reason=owed.suspense_reason, share=PERCENT_WHOLE)]
    if owed.society is not None:
        return split_society(total, owed.society, owed.fee_percent or Decimal(0), local)
    return owed.plan.lines(total)


def ineligible_line(reason: str) -> Line:
    """Given an eligibility reason code, return the zero line that accounts for an unpaid play."""
    return Line("ineligible", "ineligible", reason, None, 0, reason=reason)
