"""Money held in suspense, keyed and aged, and the non-distributable limit.

A play nobody can be paid for yet (``unidentified``, ``no_agreement``,
``not_in_catalog``, ``bad_shares``; a pool fee without plays) books its money to
a suspense account named ``<reason>:<recording>``.  This report lists what those
accounts hold, one **item** per

* station (its reference),
* period (the month of the station-local play date),
* suspense account, with the best identifier of the recording: its ISRC, else the
  catalog track, else the ACRCloud id, else its title,

with the plays and the amount still held (reversals netted: an item released by
re-examination, when its recording is identified or its agreement arrives, drops
out), its **age** (whole days and years since the end of its period) and the day
it becomes **non-distributable**: following Art. 13 of Directive 2014/26/EU,
``--years`` (default 3) after the end of the financial year of its period, taken
as the calendar year.  Items on or past that day are flagged; ``--declare``
moves their money to the ``non_distributable`` account
(``zamio.royalties.suspense.declarations``).

Lines booked by pricing count as they stand, closed into a cycle or not yet;
the pricings of a pool cycle were its weights, not money, and are left out;
the pool's own suspense lines count.

Below the money come the plays that are **not priced** at all (their latest pricing
is ``unpriced``: no rate card or day period applies, the station's time zone is
unknown, or pricing the play raised, e.g. its station-local date lies beyond the
calendar): no money is booked for them yet, so they hold nothing in suspense, but
they wait for a person just the same.  One line per station and reason, with the
plays, their dates and the first and last play id.

``--csv`` is written by ``zamio.files.csvwrite``: a title or artist a spreadsheet
would run as a formula gets a leading ``'``; plays and amounts stay numbers.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from sqlalchemy import Connection, Select, and_, case, exists, func, select

from zamio.db.tables import artists, play_logs, royalty_cycles, royalty_ledger, royalty_pricings, stations, tracks
from zamio.royalties.pricing.paid import paid_lines
from zamio.royalties.terms import DEFAULT_LIMIT_YEARS
from zamio.values.money import from_units

MAX_LIMIT_YEARS = 100
SUSPENSE = "suspense"
POOL_FEE_REASON = "no_eligible_plays"  # a pool fee without plays: its account names the station
CSV_COLUMNS = ["station", "period", "reason", "identifier", "isrc", "track", "title", "artist", "plays",
               "amount_units", "amount", "currency", "method", "period_end", "age_days", "age_bucket",
               "non_distributable_from", "past_limit", "account"]


@dataclass(frozen=True)
class Policy:
    """When held money becomes non-distributable: ``years`` after the end of its period's calendar year."""

    years: int = DEFAULT_LIMIT_YEARS

    def non_distributable_from(self, period_end: date) -> date:
        """Given the last day of a period, return the first day its money is non-distributable."""
        return date(period_end.year + self.years + 1, 1, 1)

    def last_day_of_use(self, as_of: date) -> date:
        """Given a day, return the last play date whose money is non-distributable on that day."""
        return date(as_of.year - self.years - 1, 12, 31)


@dataclass(frozen=True)
class Item:
    """Money one suspense account holds for one station and month."""

    account: str  # the ledger's recipient_ref: "<reason>:<recording>"
    station: str
    period: str  # YYYY-MM
    currency: str
    method: str  # per_second (booked by pricing) or pool (booked by a pool cycle)
    plays: int
    amount: int  # units
    isrc: str | None = None
    track: str | None = None
    acrcloud_id: str | None = None
    title: str | None = None
    artist: str | None = None

    @property
    def reason(self) -> str:
        return self.account.split(":", 1)[0]

    @property
    def identifier(self) -> str:
        """The best name of the recording: ISRC, catalog track, ACRCloud id, title, else the account."""
        for kind, value in (("isrc", self.isrc), ("track", self.track), ("acr", self.acrcloud_id),
                            ("title", self.title)):
            if value:
                return f"{kind}:{value}"
        return self.account.split(":", 1)[-1]

    @property
    def period_end(self) -> date:
        year, month = map(int, self.period.split("-"))
        return date(year, month, calendar.monthrange(year, month)[1])


@dataclass(frozen=True)
class AgedItem:
    """An item with its age on the report's day and where it stands against the limit."""

    item: Item
    age_days: int
    age_years: int
    non_distributable_from: date

    def past_limit(self, as_of: date) -> bool:
        return as_of >= self.non_distributable_from

    @property
    def bucket(self) -> str:
        return f"{self.age_years}-{self.age_years + 1}y"


def completed_years(start: date, end: date) -> int:
    """Given two days, return the whole years from ``start`` to ``end`` (0 if ``end`` is not after it)."""
    if end <= start:
        return 0
    years = end.year - start.year
    return years - ((end.month, end.day) < (start.month, start.day))


def aged(item: Item, as_of: date, policy: Policy) -> AgedItem:
    """Given an item, a day and the policy, return the item with its age and non-distributable day."""
    end = item.period_end
    return AgedItem(item, max((as_of - end).days, 0), completed_years(end, as_of), policy.non_distributable_from(end))


# --- reading the suspense accounts ---------------------------------------------

def _priced_lines_query() -> Select[*tuple[object, ...]]:
    """Suspense lines of plays, summed per account, currency, station, play date and method: the lines that
    are money (``zamio.royalties.pricing.paid``: a pool cycle's weights are not)."""
    line, pricing = paid_lines(), royalty_pricings
    method = case((line.c.cycle_id.is_(None), "per_second"), else_="pool")
    plays = func.sum(case((line.c.kind == "reversal", -1), else_=1))
    return (select(line.c.recipient_ref, line.c.currency, stations.c.station_ref, pricing.c.play_date,
                   method.label("method"), plays.label("plays"), func.sum(line.c.amount).label("amount"),
                   func.max(func.coalesce(tracks.c.isrc, play_logs.c.isrc)).label("isrc"),
                   func.max(tracks.c.track_ref).label("track"), func.max(play_logs.c.acrcloud_id).label("acr"),
                   func.max(func.coalesce(tracks.c.title, play_logs.c.title)).label("title"),
                   func.max(func.coalesce(artists.c.name, play_logs.c.artist)).label("artist"))
            .join(pricing, and_(pricing.c.play_id == line.c.play_id, pricing.c.version == line.c.version))
            .join(stations, stations.c.id == pricing.c.station_id)
            .outerjoin(play_logs, play_logs.c.id == line.c.play_id)
            .outerjoin(tracks, tracks.c.id == play_logs.c.track_id)
            .outerjoin(artists, artists.c.id == tracks.c.artist_id)
            .where(line.c.recipient_type == SUSPENSE)
            .group_by(line.c.recipient_ref, line.c.currency, stations.c.station_ref, pricing.c.play_date, method))


def _fee_lines_query() -> Select[*tuple[object, ...]]:
    """Suspense lines of pool fees without plays, with the last day of the cycle that booked them."""
    line = royalty_ledger
    return (select(line.c.recipient_ref, line.c.currency, royalty_cycles.c.period_to,
                   func.sum(line.c.amount).label("amount"))
            .join(royalty_cycles, royalty_cycles.c.id == line.c.cycle_id)
            .where(line.c.recipient_type == SUSPENSE, line.c.play_id.is_(None))
            .group_by(line.c.recipient_ref, line.c.currency, royalty_cycles.c.period_to))


@dataclass(frozen=True)
class Unpriced:
    """Plays of one station whose latest pricing is ``unpriced`` for one reason (no money booked)."""

    station: str
    reason: str
    plays: int
    first_day: date
    last_day: date
    first_play: int
    last_play: int


def unpriced_plays(conn: Connection) -> list[Unpriced]:
    """Given a connection, return the plays waiting unpriced, by station and reason."""
    pricing, later = royalty_pricings, royalty_pricings.alias("later")
    latest = ~exists().where(later.c.play_id == pricing.c.play_id, later.c.version > pricing.c.version)
    query = (select(stations.c.station_ref, pricing.c.reason, func.count(), func.min(pricing.c.play_date),
                    func.max(pricing.c.play_date), func.min(pricing.c.play_id), func.max(pricing.c.play_id))
             .join(stations, stations.c.id == pricing.c.station_id)
             .where(pricing.c.status == "unpriced", latest)
             .group_by(stations.c.station_ref, pricing.c.reason)
             .order_by(stations.c.station_ref, pricing.c.reason))
    return [Unpriced(*row) for row in conn.execute(query)]


def unpriced_lines(unpriced: list[Unpriced]) -> list[str]:
    """Given the plays waiting unpriced, return the report's lines about them."""
    if not unpriced:
        return ["not priced: no plays"]
    lines = [f"not priced (no money booked; every pricing run tries them again): "
             f"{sum(u.plays for u in unpriced)} plays",
             f"  {'station':<12} {'reason':<24} {'plays':>6}  {'play dates':<23} play ids"]
    for u in unpriced:
        days = str(u.first_day) if u.first_day == u.last_day else f"{u.first_day} to {u.last_day}"
        ids = str(u.first_play) if u.first_play == u.last_play else f"{u.first_play} to {u.last_play}"
        lines.append(f"  {u.station:<12} {u.reason or '':<24} {u.plays:>6}  {days:<23} {ids}")
    return lines


def _month(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def held_items(conn: Connection) -> list[Item]:
    """Given a connection, return every item of money still held in suspense (net amount not zero)."""
    found: dict[tuple[str, str, str, str, str], Item] = {}
    for row in conn.execute(_priced_lines_query()):
        key = (row.recipient_ref, row.station_ref, _month(row.play_date), row.currency, row.method)
        item = Item(row.recipient_ref, row.station_ref, key[2], row.currency, row.method, int(row.plays),
                    int(row.amount), row.isrc, row.track, row.acr, row.title, row.artist)
        found[key] = _merged(found.get(key), item)
    for row in conn.execute(_fee_lines_query()):
        reason, _, station = row.recipient_ref.partition(":")
        key = (row.recipient_ref, station if reason == POOL_FEE_REASON else "", _month(row.period_to),
               row.currency, "pool")
        found[key] = _merged(found.get(key), Item(row.recipient_ref, key[1], key[2], row.currency, "pool", 0,
                                                  int(row.amount)))
    return [item for item in found.values() if item.amount != 0]


def _merged(known: Item | None, more: Item) -> Item:
    """Given an item (or None) and another part of it (another day of the month), return their sum."""
    if known is None:
        return more
    return replace(known, plays=known.plays + more.plays, amount=known.amount + more.amount,
                   isrc=_either(known.isrc, more.isrc), track=_either(known.track, more.track),
                   acrcloud_id=_either(known.acrcloud_id, more.acrcloud_id), title=_either(known.title, more.title),
                   artist=_either(known.artist, more.artist))


def _either(known: str | None, more: str | None) -> str | None:
    """The greater of two names of the recording, or the one given (None if neither is)."""
    return max(filter(None, (known, more)), default=None)


def declared_total(conn: Connection) -> dict[str, int]:
    """Given a connection, return the units declared non-distributable so far, per currency."""
    line = royalty_ledger
    return {currency: int(units) for currency, units in conn.execute(
        select(line.c.currency, func.sum(line.c.amount)).where(line.c.recipient_type == "non_distributable")
        .group_by(line.c.currency).order_by(line.c.currency))}


def ageing(items: Iterable[Item], as_of: date, policy: Policy) -> list[AgedItem]:
    """Given items, a day and the policy, return them aged, oldest first (then by station and account)."""
    return sorted((aged(i, as_of, policy) for i in items),
                  key=lambda a: (a.item.period, a.item.station, a.item.account, a.item.currency, a.item.method))


# --- printing ------------------------------------------------------------------

def csv_rows(items: list[AgedItem], as_of: date) -> list[list[str | int | Decimal]]:
    """Given aged items, return the rows of ``--csv`` (``CSV_COLUMNS``): numbers as numbers, the rest text."""
    return [[a.item.station, a.item.period, a.item.reason, a.item.identifier, a.item.isrc or "", a.item.track or "",
             a.item.title or "", a.item.artist or "", a.item.plays, a.item.amount, from_units(a.item.amount),
             a.item.currency, a.item.method, a.item.period_end.isoformat(), a.age_days, a.bucket,
             a.non_distributable_from.isoformat(), "yes" if a.past_limit(as_of) else "no", a.item.account]
            for a in items]


def _money(amounts: dict[str, int]) -> str:
    return ", ".join(f"{currency} {from_units(units)}" for currency, units in sorted(amounts.items())) or "nothing"


def _items(items: list[AgedItem]) -> str:
    return f"{len(items)} item{'' if len(items) == 1 else 's'}"


def _sums(items: Iterable[AgedItem]) -> dict[str, int]:
    sums: dict[str, int] = {}
    for a in items:
        sums[a.item.currency] = sums.get(a.item.currency, 0) + a.item.amount
    return sums


def report_lines(items: list[AgedItem], as_of: date, policy: Policy, declared: dict[str, int]) -> list[str]:
    """Given aged items, return the report as printed: one line per item, then totals by age bucket."""
    lines = [f"suspense on {as_of}: non-distributable {policy.years} years after the end of the year of use",
             f"{'age':<6} {'period':<8} {'station':<12} {'reason':<18} {'identifier':<28} {'plays':>6} "
             f"{'amount':>14} {'':<4} non-distributable from"]
    for a in items:
        flag = "  PAST LIMIT" if a.past_limit(as_of) else ""
        lines.append(f"{a.bucket:<6} {a.item.period:<8} {a.item.station:<12} {a.item.reason:<18} "
                     f"{a.item.identifier:<28} {a.item.plays:>6} {from_units(a.item.amount):>14} "
                     f"{a.item.currency:<4} {a.non_distributable_from}{flag}")
    for bucket in sorted({a.bucket for a in items}, key=lambda b: int(b.split("-")[0])):
        mine = [a for a in items if a.bucket == bucket]
        lines.append(f"by age {bucket}: {_items(mine)}, {_money(_sums(mine))}")
    past = [a for a in items if a.past_limit(as_of)]
    lines.append(f"held: {_items(items)}, {_money(_sums(items))}; past the limit: {_items(past)}, "
                 f"{_money(_sums(past))}")
    lines.append(f"declared non-distributable so far: {_money(declared)}")
    return lines
