"""One play → its price and its ledger lines (pure: facts in, outcome out).

The outcome records the status of the play:

* ``priced``: eligible, valued by a rate card, split between the parties owed;
* ``suspense``: valued, but nobody can be paid yet (``bad_shares``,
  ``unidentified``, ``no_agreement``, ``not_in_catalog``), or held by an open dispute
  (``disputed``, account ``dispute:D-000001``: ``zamio.royalties.pricing.holds``): one
  suspense line;
* ``ineligible``: fails the eligibility rule: one zero line with the reason;
* ``unpriced``: no rate data applies (``no_rate_card``, ``no_day_period``,
  ``bad_timezone``), or the play cannot be priced at all (``local_time_out_of_range``:
  its station-local start lies beyond the calendar; ``pricing_error``: anything else
  that raised, the error kept in the details): one zero line, re-examined by every run
  until fixed;
* ``reversed``: the play was superseded by a new version: no line of its own,
  only the reversal of what it was owed before.

``outcome_hash`` digests what the ledger would hold (status, gross, recipients,
amounts, rate row).  A recalculation compares it with the stored one, so a play
is reissued only when its money actually moves, never because an e-mail changed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import NamedTuple

from zamio.royalties.pricing.holds import DISPUTED, Holds
from zamio.royalties.pricing.rates import RateBook, Tariff, exact_confidence, exact_seconds, ineligibility
from zamio.royalties.pricing.split import (
    PERCENT_WHOLE,
    Line,
    Owed,
    Society,
    Work,
    catalog_parties,
    ineligible_line,
    owed_to_society,
    split,
)
from zamio.royalties.pricing.works import PlayFacts, Societies


@dataclass(frozen=True)
class Catalog:
    """The catalog facts of a run (or one batch): works by track id, the run's societies and its open disputes.

    Who is owed a work, and a society under its agreements on a day, is decided once per
    catalog and remembered: thousands of plays share a handful of works and days.
    """

    works: dict[int, Work]
    societies: Societies
    holds: Holds = field(default_factory=Holds)
    _by_work: dict[int, Owed] = field(default_factory=dict, compare=False, repr=False)
    _by_society: dict[tuple[int | None, str, date], Owed] = field(default_factory=dict, compare=False, repr=False)
    _by_track: dict[int, Owed | Society] = field(default_factory=dict, compare=False, repr=False)

    def work_owed(self, work: Work) -> Owed:
        """Given a catalog work, return its parties (or bad-shares suspense), decided once per work."""
        owed = self._by_work.get(work.track_id)
        if owed is None:
            owed = self._by_work[work.track_id] = catalog_parties(work)
        return owed

    def track_owner(self, track_id: int) -> Owed | Society:
        """Given a catalog track id, return who is owed its plays on any day (its parties, or suspense),
        or the partner society it is registered to (owed under its agreements on each day)."""
        owner = self._by_track.get(track_id)
        if owner is None:
            work = self.works.get(track_id)
            if work is None:
                return Owed(suspense_reason="unidentified")
            registered = self.societies.by_id.get(work.society_id) if work.society_id is not None else None
            foreign = registered if registered is not None and not registered.is_local else None
            owner = self._by_track[track_id] = foreign if foreign is not None else self.work_owed(work)
        return owner

    def society_owed(self, society: Society | None, territory: str, day: date) -> Owed:
        """Given a partner society (or None), a territory and a day, return what its plays owe it then."""
        key = (society.id if society is not None else None, territory, day)
        owed = self._by_society.get(key)
        if owed is None:
            agreements = self.societies.agreements.get(society.id, []) if society is not None else []
            owed = self._by_society[key] = owed_to_society(society, agreements, territory, day)
        return owed


class PlayPricing(NamedTuple):
    """The outcome of pricing one play (see the module docstring for ``status``).

    ``details`` is what the pricing row records of how it was priced, as compact JSON with sorted
    keys (local time, period, rate, multiplier, seconds; the agreement and its fee for a society).
    """

    play_id: int
    station_id: int
    status: str
    reason: str | None
    play_date: date
    seconds: Decimal
    multiplier: Decimal | None
    gross: int
    currency: str
    rate_card_id: int | None
    lines: tuple[Line, ...]
    details: str | None = None

    @property
    def outcome_hash(self) -> str:
        """A digest of what this outcome books: status, gross, rate row and every line's money."""
        parts = [f"{self.status}|{self.reason}|{self.gross}|{self.currency}|{self.rate_card_id}|{self.seconds}"]
        parts += [f"{ln.kind}|{ln.recipient_type}|{ln.recipient_ref}|{ln.amount}|{ln.society_id}|{ln.reason}"
                  for ln in self.lines]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


#: Why a play is unpriced: rate data missing, or its pricing raised (``parked_play``).
LOCAL_TIME_OUT_OF_RANGE = "local_time_out_of_range"
PRICING_ERROR = "pricing_error"
UNPRICED_REASONS = ("no_rate_card", "no_day_period", "bad_timezone", LOCAL_TIME_OUT_OF_RANGE, PRICING_ERROR)
ERROR_CHARS = 500  # of a pricing error kept in the details

_COMPACT_JSON = json.JSONEncoder(separators=(",", ":"), sort_keys=True)
_LOCAL_TIME, _SECONDS = "\0local_time", "\0seconds"  # stand-ins, cut out of the encoded template


@lru_cache(maxsize=4096)
def details_template(tariff: Tariff, agreement_id: int | None, fee_percent: str | None,
                     society_fee_id: int | None = None) -> tuple[str, str, str]:
    """Given the tariff that priced a play, the agreement its society is paid under (or None) and the
    society's default fee row when the agreement names no fee (or None), return the details JSON around
    the play's local time and seconds: ``head + local_time + middle + seconds + tail`` is the compact
    encoding of the play's details.

    Both values are made of digits, ``.``, ``:``, ``-``, ``+`` and ``T``, which JSON writes as they are,
    so the template is the encoder's own output, cut at two stand-in values.
    """
    card = tariff.card
    assert card is not None  # only a tariff that priced a play has details
    details: dict[str, object] = {"local_time": _LOCAL_TIME, "period": tariff.period,
                                  "rate_per_second": str(card.rate_per_second), "multiplier": str(card.multiplier),
                                  "seconds": _SECONDS}
    if agreement_id is not None:
        details.update(agreement_id=agreement_id, fee_percent=fee_percent)
    if society_fee_id is not None:  # which dated default fee row the fee came from (zamio.catalog.reference)
        details.update(society_fee_id=society_fee_id)
    text = _COMPACT_JSON.encode(details)
    head, rest = text.split(_COMPACT_JSON.encode(_LOCAL_TIME))
    middle, tail = rest.split(_COMPACT_JSON.encode(_SECONDS))
    return head + '"', '"' + middle + '"', '"' + tail


@lru_cache(maxsize=256)
def reason_details(reason: str) -> str:
    """Given the reason of an unpriced or reversed play, return its details JSON."""
    return _COMPACT_JSON.encode({"reason": reason})


def priced_details(tariff: Tariff, local: datetime, seconds: Decimal, owed: Owed | None = None) -> str:
    """Given the tariff that priced a play, its station-local start, its seconds and (for a paid play)
    who is owed it, return the play's details JSON."""
    agreement = owed.agreement if owed is not None else None
    if owed is None or agreement is None:
        head, middle, tail = details_template(tariff, None, None)
    else:
        fee_row = owed.society_fee.id if owed.society_fee is not None else None
        head, middle, tail = details_template(tariff, agreement.id, str(owed.fee_percent), fee_row)
    return f"{head}{local.isoformat()}{middle}{seconds}{tail}"


def owed_for_play(play: PlayFacts, catalog: Catalog, day: date) -> Owed:
    """Given a play, the batch's catalog and the play's local date, return who is owed it."""
    if play.track_id is not None:
        owner = catalog.track_owner(play.track_id)
        return owner if isinstance(owner, Owed) else catalog.society_owed(owner, play.territory, day)
    society = catalog.societies.by_id.get(play.society_id) if play.society_id is not None else None
    if society is not None and society.is_local:
        return Owed(suspense_reason="not_in_catalog")  # a local work we cannot name the parties of
    return catalog.society_owed(society, play.territory, day)


def _unpriced(play: PlayFacts, day: date, seconds: Decimal, currency: str, reason: str) -> PlayPricing:
    return PlayPricing(play.id, play.station_id, "unpriced", reason, day, seconds, None, 0, currency, None,
                       (ineligible_line(reason),), reason_details(reason))


def price_play(play: PlayFacts, book: RateBook, catalog: Catalog) -> PlayPricing:
    """Given a final play, the run's rate book and the batch catalog, return its priced outcome."""
    currency = catalog.societies.local.currency
    seconds = exact_seconds(play.seconds)
    zone = book.zone(play.timezone)
    if zone is None:
        return _unpriced(play, play.started_at.astimezone(UTC).date(), seconds, currency, "bad_timezone")
    local = play.started_at.astimezone(zone)
    day = local.date()
    schedule = book.schedule(play.territory, play.station_class, day)
    tariff = schedule.at(local)
    if tariff is None:
        return _unpriced(play, day, seconds, currency, "no_day_period")
    card = tariff.card
    if card is None:
        return _unpriced(play, day, seconds, currency, "no_rate_card")
    reason = ineligibility(schedule.rule, seconds, exact_confidence(play.confidence), play.category)
    if reason is not None:
        return PlayPricing(play.id, play.station_id, "ineligible", reason, day, seconds, card.multiplier, 0,
                           card.currency, card.id, (ineligible_line(reason),), priced_details(tariff, local, seconds))
    gross = tariff.gross(seconds)
    hold = catalog.holds.dispute_of(play) if catalog.holds.holds else None
    if hold is not None:  # an open dispute covers the play: its money waits in the dispute's account
        held = Line("suspense", "suspense", hold.account, None, gross, reason=DISPUTED, share=PERCENT_WHOLE)
        return PlayPricing(play.id, play.station_id, "suspense", DISPUTED, day, seconds, card.multiplier, gross,
                           card.currency, card.id, (held,), priced_details(tariff, local, seconds))
    owed = owed_for_play(play, catalog, day)
    lines = split(gross, owed, catalog.societies.local, play.recording_key)
    return PlayPricing(play.id, play.station_id, "suspense" if owed.suspense_reason else "priced",
                       owed.suspense_reason, day, seconds, card.multiplier, gross, card.currency, card.id,
                       tuple(lines), priced_details(tariff, local, seconds, owed))


def parked_play(play: PlayFacts, currency: str, error: Exception) -> PlayPricing:
    """Given a final play whose pricing raised and the error, return the unpriced outcome that parks it.

    Its date is the UTC date of its start (the station-local one may not exist) and its details keep
    the error, for ``bin/suspense-report`` and whoever corrects the play.
    """
    reason = LOCAL_TIME_OUT_OF_RANGE if isinstance(error, OverflowError) else PRICING_ERROR
    try:
        seconds = exact_seconds(play.seconds)
    except ArithmeticError:  # not a number of seconds (NaN): booked as none
        seconds = Decimal(0)
    details = _COMPACT_JSON.encode({"reason": reason, "error": f"{type(error).__name__}: {error}"[:ERROR_CHARS]})
    return PlayPricing(play.id, play.station_id, "unpriced", reason, play.started_at.astimezone(UTC).date(),
                       seconds, None, 0, currency, None, (ineligible_line(reason),), details)


def reversed_play(play: PlayFacts, previous_play_date: date, seconds: Decimal, currency: str) -> PlayPricing:
    """Given a superseded play, return the outcome that only reverses what it was owed before."""
    return PlayPricing(play.id, play.station_id, "reversed", "superseded", previous_play_date, seconds, None, 0,
                       currency, None, (), reason_details("superseded"))
