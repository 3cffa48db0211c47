"""Rate data, read from the database once per run: rate cards, day periods, eligibility rules.

Everything that decides a play's price is data, not code.  A play is priced by
the rate card of its station's territory (``stations.country``) and class, for
the time-of-day period its **start** falls in, in the **station's own time
zone** (``stations.timezone``), on the station-local date of that start:

    gross = rate_per_second × multiplier × played seconds     (Decimal, exact)

rounded once to units (ten-thousandths) half-even.  A row is in force on day D
when ``effective_from ≤ D`` and (``effective_to`` is empty or ``D < effective_to``);
when several are, the latest ``effective_from`` wins, so a new tariff is loaded
as new rows, never by editing old ones.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TypeAlias
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection, select

from zamio.db.tables import day_periods, eligibility_rules, rate_cards
from zamio.runtime.config import normalise_station_class  # noqa: F401 (re-exported for pricing)
from zamio.values.decimals import CONFIDENCE, CONFIDENCE_SCORE_ABOVE, SECONDS
from zamio.values.money import UNITS_PER_MAJOR, round_half_even

SECONDS_PLACES = SECONDS.places  # played seconds are priced to the millisecond
SECONDS_QUANTUM = SECONDS.quantum
MINUTES_PER_DAY = 24 * 60
CONFIDENCE_PLACES = CONFIDENCE.places
CONFIDENCE_QUANTUM = CONFIDENCE.quantum
FLOAT_RATIO_BELOW = 1e15  # floats below this quantize in integers with digits to spare in a Decimal's 28


@dataclass(frozen=True)
class RateCard:
    """One tariff row: units of ``currency`` per second, times a time-of-day multiplier."""

    id: int
    territory: str
    station_class: str
    period: str
    rate_per_second: Decimal
    multiplier: Decimal
    currency: str
    effective_from: date
    effective_to: date | None


#: A ``day_periods`` row: territory, period name, start and end minute of the day, first day in force.
DayPeriod: TypeAlias = tuple[str, str, int, int, date]


@dataclass(frozen=True)
class EligibilityRule:
    """What a play must meet to be paid: seconds played, confidence (0..1), category."""

    id: int
    territory: str
    min_seconds: Decimal
    min_confidence: Decimal
    categories: frozenset[str]
    effective_from: date


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: one per period of a day schedule
class Tariff:
    """A time-of-day period of one station class on one day, with the card in force (None: no card).

    ``factor`` is ``rate_per_second × multiplier``, computed once for the thousands of plays the
    period prices.
    """

    period: str
    card: RateCard | None
    factor: Decimal | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        factor = self.card.rate_per_second * self.card.multiplier if self.card is not None else None
        object.__setattr__(self, "factor", factor)

    def gross(self, seconds: Decimal) -> int:
        """Given exact played seconds, return the play's gross in units.

        gross = rate_per_second × multiplier × seconds (Decimal, in that order), rounded once to
        units half-even: ``round_units`` of the product, with its checks left out (the factors are
        finite Decimals).
        """
        if self.factor is None:
            raise TypeError(f"period {self.period} has no rate card to price with")
        numerator, denominator = (self.factor * seconds).as_integer_ratio()
        return round_half_even(numerator * UNITS_PER_MAJOR, denominator)


@dataclass(frozen=True)
class DaySchedule:
    """What prices the plays of one territory and station class on one station-local day.

    ``by_minute[m]`` is the tariff of the period minute ``m`` of the day falls in (None: no period
    covers it); ``rule`` is the eligibility rule in force (None: every play is eligible).
    """

    by_minute: tuple[Tariff | None, ...]
    rule: EligibilityRule | None

    def at(self, local: datetime) -> Tariff | None:
        """Given a station-local time on this day, return the tariff of its period, or None."""
        return self.by_minute[local.hour * 60 + local.minute]


def in_force(effective_from: date, effective_to: date | None, day: date) -> bool:
    """Given a validity window (to exclusive, None = open) and a day, return whether it applies."""
    return effective_from <= day and (effective_to is None or day < effective_to)


def exact_seconds(seconds: float | Decimal | None) -> Decimal:
    """Given played seconds (a float column), return them as a Decimal to the millisecond, ≥ 0."""
    if seconds is None:
        return Decimal(0)
    if type(seconds) is float and 0.0 < seconds < FLOAT_RATIO_BELOW:
        return quantized_float(seconds, SECONDS_PLACES)
    value = Decimal(seconds).quantize(SECONDS_QUANTUM, rounding=ROUND_HALF_EVEN)
    return max(value, Decimal(0))


def exact_confidence(confidence: float | None) -> Decimal | None:
    """Given a stored confidence (0..1, or an ACRCloud 0..100 score), return it on 0..1; None stays None."""
    if confidence is None:
        return None
    if type(confidence) is float and 0.0 < confidence < FLOAT_RATIO_BELOW:
        value = quantized_float(confidence, CONFIDENCE_PLACES)
    else:
        value = Decimal(confidence).quantize(CONFIDENCE_QUANTUM, rounding=ROUND_HALF_EVEN)  # 0.7 stays 0.7
    return value / 100 if value > CONFIDENCE_SCORE_ABOVE else value


def quantized_float(value: float, places: int) -> Decimal:
    """Given a float in (0, FLOAT_RATIO_BELOW), return ``Decimal(value).quantize(10**-places, ROUND_HALF_EVEN)``.

    A float is exactly n / 2**k: rounding n × 10**places / 2**k half-even to an integer gives the
    same digits as quantizing its exact Decimal expansion, in a few integer operations instead of
    fifty-digit decimal arithmetic (a play has two such numbers).
    """
    numerator, denominator = value.as_integer_ratio()
    return Decimal(round_half_even(numerator * 10**places, denominator)).scaleb(-places)


class RateBook:
    """The rate data of one run, indexed for per-play lookups (built per run, never module-global)."""

    def __init__(self, cards: Iterable[RateCard], periods: Iterable[DayPeriod], rules: Iterable[EligibilityRule]):
        self._cards: dict[tuple[str, str, str], list[RateCard]] = {}
        for card in sorted(cards, key=lambda c: c.effective_from, reverse=True):
            self._cards.setdefault((card.territory, card.station_class, card.period), []).append(card)
        self._periods: dict[str, list[DayPeriod]] = {}
        for row in sorted(periods, key=lambda p: (p[4], p[2]), reverse=True):
            self._periods.setdefault(row[0], []).append(row)
        self._rules: dict[str, list[EligibilityRule]] = {}
        for rule in sorted(rules, key=lambda r: r.effective_from, reverse=True):
            self._rules.setdefault(rule.territory, []).append(rule)
        self._zones: dict[str, ZoneInfo | None] = {}
        self._card_memo: dict[tuple[str, str, str, date], RateCard | None] = {}
        self._period_memo: dict[tuple[str, date], list[DayPeriod]] = {}
        self._schedules: dict[tuple[str, str, date], DaySchedule] = {}

    @classmethod
    def load(cls, conn: Connection) -> RateBook:
        """Given a connection, return the rate book of every rate card, period and rule stored."""
        cards = [RateCard(**row._mapping) for row in conn.execute(select(
            rate_cards.c.id, rate_cards.c.territory, rate_cards.c.station_class, rate_cards.c.period,
            rate_cards.c.rate_per_second, rate_cards.c.multiplier, rate_cards.c.currency,
            rate_cards.c.effective_from, rate_cards.c.effective_to))]
        periods = [tuple(row) for row in conn.execute(select(
            day_periods.c.territory, day_periods.c.period, day_periods.c.start_minute,
            day_periods.c.end_minute, day_periods.c.effective_from))]
        rules = [EligibilityRule(
            id=row.id, territory=row.territory, min_seconds=Decimal(str(row.min_seconds)),
            min_confidence=row.min_confidence, effective_from=row.effective_from,
            categories=frozenset(c.strip() for c in row.categories_paid.split(",") if c.strip()),
        ) for row in conn.execute(select(eligibility_rules))]
        return cls(cards, periods, rules)

    def zone(self, name: str) -> ZoneInfo | None:
        """Given an IANA time-zone name, return the zone, or None if it is unknown."""
        if name not in self._zones:
            try:
                self._zones[name] = ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                self._zones[name] = None
        return self._zones[name]

    def period(self, territory: str, local: datetime) -> str | None:
        """Given a territory and a station-local time, return its period name, or None if none covers it."""
        return self._period_at(territory, local.date(), local.hour * 60 + local.minute)

    def _period_at(self, territory: str, day: date, minute: int) -> str | None:
        for _territory, name, start, end, _from in self._day_periods(territory, day):
            if start <= minute < end:
                return name
        return None

    def _day_periods(self, territory: str, day: date) -> list[DayPeriod]:
        """Given a territory and a day, return the period rows in force, the first match first."""
        if (territory, day) not in self._period_memo:
            rows = self._periods.get(territory, [])
            current = max((r[4] for r in rows if r[4] <= day), default=None)
            self._period_memo[territory, day] = [r for r in rows if r[4] == current]
        return self._period_memo[territory, day]

    def schedule(self, territory: str, station_class: str, day: date) -> DaySchedule:
        """Given a territory, a station class as written and a station-local day, return its schedule.

        Built once per (territory, class, day) from ``period``, ``rate_card`` and ``eligibility``,
        so pricing a play is a lookup by its minute of the day.
        """
        key = (territory, station_class, day)
        found = self._schedules.get(key)
        if found is None:
            found = self._schedules[key] = self._build_schedule(territory, normalise_station_class(station_class),
                                                                day)
        return found

    def _build_schedule(self, territory: str, station_class: str, day: date) -> DaySchedule:
        by_minute: list[Tariff | None] = [None] * MINUTES_PER_DAY
        # Paint each period over its minutes, the first match (``period``) last so that it wins.
        for _territory, name, start, end, _from in reversed(self._day_periods(territory, day)):
            tariff = Tariff(name, self.rate_card(territory, station_class, name, day))
            first, last = max(start, 0), min(end, MINUTES_PER_DAY)
            by_minute[first:max(first, last)] = [tariff] * max(last - first, 0)
        return DaySchedule(tuple(by_minute), self.eligibility(territory, day))

    def rate_card(self, territory: str, station_class: str, period: str, day: date) -> RateCard | None:
        """Given territory, class, period and station-local day, return the card in force, or None."""
        key = (territory, station_class, period, day)
        if key not in self._card_memo:
            found = None
            for card in self._cards.get(key[:3], []):
                if in_force(card.effective_from, card.effective_to, day):
                    found = card
                    break
            self._card_memo[key] = found
        return self._card_memo[key]

    def eligibility(self, territory: str, day: date) -> EligibilityRule | None:
        """Given a territory and a day, return the eligibility rule in force, or None (all plays eligible)."""
        for rule in self._rules.get(territory, []):
            if rule.effective_from <= day:
                return rule
        return None


def ineligibility(rule: EligibilityRule | None, seconds: Decimal, confidence: Decimal | None,
                  category: str) -> str | None:
    """Given the rule in force and a play's facts, return None if it is paid, else the reason code.

    Reason codes: ``category_not_paid``, ``below_min_seconds``, ``low_confidence`` (checked
    in that order).  A play without a confidence (an imported station log) is not gated on it.
    """
    if rule is None:
        return None
    if rule.categories and category not in rule.categories:
        return "category_not_paid"
    if seconds < rule.min_seconds:
        return "below_min_seconds"
    if confidence is not None and confidence < rule.min_confidence:
        return "low_confidence"
    return None
