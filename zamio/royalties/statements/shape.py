"""What a statement says, before it is written: the second step of writing a cycle's statements.

Given one recipient's ledger lines (from ``zamio.royalties.statements.select``), in play order,
``shape`` returns the ``Statement`` a person reads, top to bottom:

1. the **summary**: labelled lines (``SUMMARY_LINES`` in ``zamio.royalties.statements.summary``),
   each shown only when it applies, that add up to the total: the royalties for plays of the
   period, the administration fee a partner society's lines were taken net of, other kinds of
   line (what suspense holds, plays not paid), and each adjustment for plays of earlier
   periods, explained in words; for a domestic payee
   (``Payout``: its balance of the cycle), the gross, the domestic commission and the withholding
   tax with their rates, the net for the cycle, what earlier cycles brought forward (carried below
   the minimum payout, payments that failed) and what is carried forward to the next, down to the
   net payable.  A new kind of ledger line gets its summary line by adding one entry to
   ``SUMMARY_LINES``;
2. **earnings by work**, and by station within each work: plays, minutes, amount (the lines of a
   play: the gross; the cycle's own lines, its deductions, are in the summary and the detail);
3. the **detail**: every line, its play's station-local and UTC time, seconds, share and
   amount, with what a reason code means written out (``REASONS``).

**Totals that add up.**  The ledger holds units of 1/10,000 of the currency; a statement shows
the currency's minor units (pesewas).  Rounding each amount on its own would print lines that
do not add up to the printed total, so amounts are rounded **from the top down by largest
remainder** (``rounded_parts``): the net is the ledger's net rounded once (half-even, the figure
``statements.csv`` prints); the works share it, each work's amount is shared by its stations and
each station's by its lines, each part within one minor unit of its exact amount; the summary
lines share the net the same way.  So every table sums to the total printed under it, and that
total is the ledger's.  Minutes (tenths of a minute) are shared the same way.

A summary with **subtotals** (a payee's gross, its net for the cycle) shows each subtotal as the
ledger's figure rounded once (``statements.csv``'s gross and net), and the lines between two
subtotals share their difference by largest remainder; the net payable is whole minor units.
So the works add up to the gross, the deductions take it to the net, and what was brought and
carried forward takes the net to the net payable, each figure within a minor unit of the ledger's.

No database here: the lines come as ``StatementLine`` tuples, built from a SQLite row
(``line_of_row``) or from PostgreSQL's plain fields (``line_of_fields``) into the same values.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from typing import NamedTuple, Protocol
from zoneinfo import ZoneInfo

from zamio.royalties.statements.summary import (
    COMMISSION,
    DEDUCTION_KINDS,
    PAYABLE,
    TOTAL_LABELS,
    WITHHOLDING,
    Part,
    Payout,
    Sums,
    summary_units,
    units_per_minor,
)
from zamio.values.money import round_half_even

SHARE_KEY = '"share":"'  # how a ledger line's details hold its share (percent, six places)
REVERSES_KEY = "reverses_kind"  # how a reversal's details name the kind of line it takes back
CORRECTION = "correction: "  # what the select step puts before the reason of a correction by hand
MS_PER_TENTH_MINUTE = 6000  # minutes are shown to a tenth


# A statement line as PostgreSQL's plain fields (``select.statement_fields``): recipient_type, recipient_ref,
# currency, recipient_name, amount, seconds, entry_id, play_id, station, played_at_utc, title, artist, isrc, kind,
# details, is_adjustment, reason, station time zone.
StatementFields = tuple[str, str, str, "str | None", int, float, int, "int | None", "str | None", str, "str | None",
                        "str | None", "str | None", str, "str | None", bool, "str | None", "str | None"]


class StatementLine(NamedTuple):
    """One ledger line of a statement, with its play, as shown (times and share as text)."""

    recipient_type: str
    recipient_ref: str
    currency: str
    recipient_name: str | None
    amount: int  # units
    seconds: float
    entry: int
    play: int | None
    station: str
    played_utc: str  # YYYY-MM-DD HH:MM:SS, "" if unknown
    played_local: str  # the same instant in the station's time zone, "" if unknown
    title: str
    artist: str
    isrc: str
    kind: str
    share: str  # percent, six places; "" when the line has none (a reversal)
    adjustment: bool  # a play of a period before the cycle's
    reason: str
    reverses: str  # the kind of line a reversal takes back; "" for other lines


# --- what each reason code means ------------------------------------------------------------------

#: Every reason code the pricing, the pool, the suspense declarations and a cycle's deductions write on a ledger
#: line, in words
#: (tests/unit/test_statement_shape.py finds the codes in the code base and checks each has its sentence).
REASONS = {
    # a play not paid (an ``ineligible`` line of zero)
    "below_min_seconds": "Not paid: the play was shorter than the shortest play the tariff pays.",
    "low_confidence": "Not paid: the recording was not recognised with enough certainty.",
    "category_not_paid": "Not paid: recordings of this category (jingles, adverts) earn no royalties.",
    # a play not priced yet (a zero line; every pricing run tries it again)
    "no_rate_card": "Not priced yet: no tariff was in force for this station on the day of the play.",
    "no_day_period": "Not priced yet: the tariff does not cover the time of day of the play.",
    "bad_timezone": "Not priced yet: the station's time zone is not known.",
    "local_time_out_of_range": "Not priced: the time of the play lies outside the calendar.",
    "pricing_error": "Not priced yet: pricing the play failed, and the society is looking into it.",
    # money held in suspense
    "unidentified": "Held in suspense: the recording could not be matched to a work or to its society.",
    "no_agreement": "Held in suspense: no agreement with the work's society was in force on the day of the play.",
    "bad_shares": "Held in suspense: the shares registered for the work do not add up to 100 %.",
    "not_in_catalog": "Held in suspense: the recording is the society's own repertoire but not in its catalog "
                      "yet.",
    "no_eligible_plays": "Held in suspense: the station's licence fee had no eligible plays to be shared among.",
    "disputed": "Held in suspense: a dispute over the play is open; the money waits for its decision.",
    # a line taken back
    "recalculated": "Taken back and paid again: the play was priced again after a correction of the tariff, the "
                    "shares or the society it belongs to.",
    "superseded": "Taken back: a corrected report of the play replaced it.",
    "dispute_released": "Taken out of suspense: the dispute that held it was resolved, and the money goes to whom "
                        "the play belongs to.",
    "non_distributable": "Taken out of suspense: declared non-distributable once the time limit to claim it "
                         "had passed.",
    # a cycle's deductions from a domestic payee (no play: booked when the cycle was locked)
    COMMISSION: "Domestic commission: the part of the cycle's gross royalties the society keeps for its work.",
    WITHHOLDING: "Withholding tax: taken from the cycle's royalties after the commission and paid to the tax "
                 "authority.",
}


def reason_text(reason: str) -> str:
    """Given a line's reason as the ledger and the corrections give it (``superseded; correction: typo``),
    return it in words; a code without a sentence is shown as it is."""
    if not reason:
        return ""
    told = ""
    if CORRECTION in reason:
        reason, told = reason.split(CORRECTION, 1)
        reason = reason.rstrip("; ")
        told = f"Corrected by the society: {told}"
    code = REASONS.get(reason, reason) if reason else ""
    return " ".join(part for part in (code, told) if part)


def line_note(line: StatementLine) -> str:
    """Given a statement line, return what explains it in words ("" for a plain payment of the period)."""
    parts = [reason_text(line.reason)]
    if line.adjustment:
        parts.insert(0, "Adjustment: a play of an earlier period.")
    return " ".join(part for part in parts if part)


# --- rounding that adds up ----------------------------------------------------------------------

def rounded_parts(parts: Sequence[int], per_shown: int, total: int) -> list[int]:
    """Given exact parts, how many of their units one shown unit is, and the shown total, return the shown parts:
    each part's floor, plus one for the parts with the largest remainders (the earlier part first on a tie),
    as many as make them sum to ``total``.  ``total`` must lie between the floors' sum and that plus the
    number of parts (as the rounded sum of the parts, or a part given by this function one level up, does)."""
    shown, remainders = [], []
    for part in parts:
        whole, remainder = divmod(part, per_shown)
        shown.append(whole)
        remainders.append(remainder)
    missing = total - sum(shown)
    if not 0 <= missing <= len(parts):
        raise ValueError(f"a shown total of {total} cannot be shared among parts {list(parts)} of {per_shown}")
    if missing:
        for i in sorted(range(len(parts)), key=lambda i: -remainders[i])[:missing]:
            shown[i] += 1
    return shown


def milliseconds(seconds: float) -> int:
    return round(seconds * 1000) if seconds == seconds else 0  # NaN: none


# --- the statement -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Recipient:
    """Who a statement is for: the ledger's recipient, its name, currency and identifiers (label, value)."""

    type: str
    ref: str
    name: str | None
    currency: str
    identifiers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Figures:
    """A line item's figures (units), as ``cycle_line_items`` holds them."""

    admin_fee: int
    net: int


@dataclass
class Earned:
    """What a work, or a station within a work, earned: plays, minutes (tenths shown) and amount (minor units
    shown), with the exact sums behind them."""

    plays: int = 0
    ms: int = 0
    units: int = 0
    tenths: int = 0
    minor: int = 0


@dataclass
class StationEarned(Earned):
    station: str = ""


@dataclass
class WorkEarned(Earned):
    title: str = ""
    artist: str = ""
    isrc: str = ""
    stations: dict[str, StationEarned] = field(default_factory=dict)


@dataclass(frozen=True)
class SummaryLine:
    label: str
    units: int
    minor: int
    subtotal: bool = False


@dataclass(frozen=True)
class Statement:
    """One recipient's statement for one cycle, shaped: every amount in minor units as shown (see the module)."""

    recipient: Recipient
    summary: list[SummaryLine]
    total: SummaryLine
    works: list[WorkEarned]
    all_works: Earned
    lines: list[StatementLine]
    minor: list[int]  # each line's amount as shown, in the order of ``lines``
    notes: list[str]  # each line's explanation in words


def plays_paid(line: StatementLine) -> int:
    """The plays a line pays, as the line items count them: a reversal takes one back, an admin fee pays none,
    nor does a line of no play (a cycle's deduction)."""
    if line.recipient_type == "local_society" or line.play is None:
        return 0
    return -1 if line.kind == "reversal" else 1


def sums_of(recipient: Recipient, figures: Figures, lines: Iterable[StatementLine],
            payout: Payout | None = None) -> Sums:
    period: dict[str, int] = {}
    adjustments: dict[str, int] = {}
    for line in lines:
        if line.adjustment:
            why = reason_text(line.reason) or "Plays reported or priced after their period was closed."
            adjustments[why] = adjustments.get(why, 0) + line.amount
        else:
            kind = line.reverses or line.kind
            period[kind] = period.get(kind, 0) + line.amount
    fee = figures.admin_fee if recipient.type == "society" else 0
    return Sums(recipient.type, period, adjustments, fee, recipient.currency, payout)


def shown_summary(parts: Sequence[Part], per_minor: int, total: int) -> list[SummaryLine]:
    """Given the summary's parts and subtotals (units), one minor unit in units and the total shown, return the
    summary as shown: each subtotal its sum rounded once, the lines between two subtotals (or the last one and
    the total) sharing their difference by largest remainder."""
    shown: list[SummaryLine] = []
    pending: list[Part] = []
    before = 0  # the last subtotal shown, in minor units

    def settle(upto: int) -> None:
        for part, minor in zip(pending, rounded_parts([p.units for p in pending], per_minor, upto - before)):
            shown.append(SummaryLine(part.label, part.units, minor))
        pending.clear()

    for part in parts:
        if part.subtotal:
            rounded = round_half_even(part.units, per_minor)
            settle(rounded)
            shown.append(SummaryLine(part.label, part.units, rounded, subtotal=True))
            before = rounded
        else:
            pending.append(part)
    settle(total)
    return shown


def shape(recipient: Recipient, figures: Figures, lines: list[StatementLine], payout: Payout | None = None
          ) -> Statement:
    """Given a recipient, its line item's figures, its lines in play order and, for a domestic payee, its
    balance of the cycle, return its statement.

    Raise ValueError if the lines do not add up to the line item's net, or the net with what was brought and
    carried forward to the balance's net payable (the statement would not be the ledger's).
    """
    net = sum(line.amount for line in lines)
    if net != figures.net:
        raise ValueError(f"the statement lines of {recipient.type} {recipient.ref} ({recipient.currency}) sum to "
                         f"{net} units, its line item to {figures.net}")
    per_minor = units_per_minor(recipient.currency)
    net_minor = round_half_even(net, per_minor)
    total = SummaryLine(TOTAL_LABELS.get(recipient.type, PAYABLE), net, net_minor)
    if payout is not None:
        payable = net + payout.brought_forward
        if payable != payout.carried.payable:
            raise ValueError(f"the balance of {recipient.type} {recipient.ref} ({recipient.currency}) owes "
                             f"{payout.carried.payable} units, its lines and what was brought forward {payable}")
        paid = payout.carried.net_payable
        total = SummaryLine(PAYABLE, paid, round_half_even(paid, per_minor))
    summary = shown_summary(summary_units(sums_of(recipient, figures, lines, payout)), per_minor, total.minor)

    # Each line is added to its station within its work, once; a work's sums are its stations', the works' total
    # theirs (integers: the same sums in any order).
    works: dict[tuple[str, str, str], WorkEarned] = {}
    groups: dict[tuple[tuple[str, str, str], str], tuple[list[int], list[int]]] = {}  # → [plays, ms, units], lines
    own: list[int] = []  # the lines of no play (a cycle's deductions): not earnings of a work
    for i, line in enumerate(lines):
        if line.play is None and line.kind in DEDUCTION_KINDS:
            own.append(i)
            continue
        key = (line.title, line.artist, line.isrc)
        group = groups.get((key, line.station))
        if group is None:
            group = groups[key, line.station] = ([0, 0, 0], [])
        sums, indices = group
        sums[0] += plays_paid(line)
        sums[1] += milliseconds(line.seconds)
        sums[2] += line.amount
        indices.append(i)
    members: dict[tuple[tuple[str, str, str], str], list[int]] = {}
    for (key, name), ((plays, ms, units), indices) in groups.items():
        work = works.get(key)
        if work is None:
            work = works[key] = WorkEarned(title=key[0], artist=key[1], isrc=key[2])
        work.stations[name] = StationEarned(plays, ms, units, station=name)
        work.plays += plays
        work.ms += ms
        work.units += units
        members[key, name] = indices
    every = Earned(sum(w.plays for w in works.values()), sum(w.ms for w in works.values()),
                   sum(w.units for w in works.values()))
    ordered = sorted(works.values(), key=lambda w: (-w.units, w.title, w.artist, w.isrc))
    # The works share the gross (rounded once), the cycle's own lines the rest of the net.
    every.minor, every.tenths = round_half_even(every.units, per_minor), round_half_even(every.ms, MS_PER_TENTH_MINUTE)
    _share(every, ordered, per_minor)
    minor = [0] * len(lines)
    for i, part in zip(own, rounded_parts([lines[i].amount for i in own], per_minor, net_minor - every.minor)):
        minor[i] = part
    for work in ordered:
        stations = sorted(work.stations.values(), key=lambda s: (-s.units, s.station))
        work.stations = {s.station: s for s in stations}
        _share(work, stations, per_minor)
        for station in stations:
            indices = members[(work.title, work.artist, work.isrc), station.station]
            for i, part in zip(indices, rounded_parts([lines[i].amount for i in indices], per_minor, station.minor)):
                minor[i] = part
    notes: dict[tuple[str, bool], str] = {}  # what explains a line depends on its reason and period only
    for line in lines:
        if (line.reason, line.adjustment) not in notes:
            notes[line.reason, line.adjustment] = line_note(line)
    return Statement(recipient, summary, total, ordered, every, lines, minor,
                     [notes[line.reason, line.adjustment] for line in lines])


def _share(whole: Earned, parts: Sequence[Earned], per_minor: int) -> None:
    """Share ``whole``'s shown amount and minutes among ``parts`` (largest remainder)."""
    amounts = rounded_parts([p.units for p in parts], per_minor, whole.minor)
    tenths = rounded_parts([p.ms for p in parts], MS_PER_TENTH_MINUTE, whole.tenths)
    for part, minor, tenth in zip(parts, amounts, tenths):
        part.minor, part.tenths = minor, tenth


# --- a line from the database --------------------------------------------------------------------

_ZONES: dict[str, tzinfo | None] = {}


def zone(name: str | None) -> tzinfo | None:
    """Given a station's time zone name, return the zone (None if unknown), remembered per name."""
    if name is None:
        return None
    if name not in _ZONES:
        try:
            _ZONES[name] = ZoneInfo(name)
        except (ValueError, OSError):  # an unknown or malformed name (a play of it is not priced either)
            _ZONES[name] = None
    return _ZONES[name]


def time_text(when: datetime | None) -> str:
    """Given an instant, return it as ``YYYY-MM-DD HH:MM:SS`` in its own zone, or "" if unknown."""
    if when is None:
        return ""
    if when.year < 1000:  # isoformat pads the year to four digits, strftime does not
        return when.strftime("%Y-%m-%d %H:%M:%S")
    return when.isoformat(" ")[:19]


def local_text(when: datetime | None, station_zone: tzinfo | None) -> str:
    """Given a play's start (UTC) and its station's zone, return the station-local time ("" if unknown)."""
    if when is None or station_zone is None:
        return ""
    try:
        return time_text(when.replace(tzinfo=UTC).astimezone(station_zone))
    except (OverflowError, ValueError):  # beyond the calendar in the station's zone
        return ""


def parse_utc(text: str) -> datetime | None:
    """Given ``YYYY-MM-DD HH:MM:SS`` (a year of fewer digits too, as PostgreSQL formats it), return it."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        day, clock = text.split(" ")
        year, month, mday = (int(part) for part in day.split("-"))
        hour, minute, second = (int(part) for part in clock.split(":"))
        return datetime(year, month, mday, hour, minute, second)


def share_text(details: str | None) -> str:
    """Given a ledger line's details, return its share ("" if it has none, as a reversal)."""
    if details and SHARE_KEY in details:
        return details.split(SHARE_KEY, 1)[1].split('"', 1)[0]
    return ""


def reverses_text(kind: str, details: str | None) -> str:
    """Given a line's kind and details, return the kind a reversal takes back ("" for other lines)."""
    if kind != "reversal" or not details:
        return ""
    try:
        told = json.loads(details)
    except ValueError:
        return ""
    found = told.get(REVERSES_KEY) if isinstance(told, dict) else None
    return found if isinstance(found, str) else ""


class LineRow(Protocol):
    """A statement line's row as ``select.statement_lines`` gives it."""

    id: int
    play_id: int | None
    kind: str
    recipient_type: str
    recipient_ref: str
    recipient_name: str | None
    amount: int
    currency: str
    seconds: float
    reason: str | None
    details: str | None
    started_at: datetime | None
    station: str | None
    timezone: str | None
    play_date: date | None
    title: str | None
    artist: str | None
    isrc: str | None


def line_of_row(line: LineRow, period_from: date) -> StatementLine:
    """Given a statement line's row (``select.statement_lines``), return it as a statement line."""
    started = line.started_at.replace(tzinfo=None) if line.started_at is not None else None
    return StatementLine(
        line.recipient_type, line.recipient_ref, line.currency, line.recipient_name, line.amount, line.seconds,
        line.id, line.play_id, line.station or "", time_text(started),
        local_text(started, zone(line.timezone)), line.title or "", line.artist or "", line.isrc or "", line.kind,
        share_text(line.details), line.play_date is not None and line.play_date < period_from, line.reason or "",
        reverses_text(line.kind, line.details))


class FieldLines:
    """PostgreSQL's plain fields (``select.statement_fields``) as statement lines: what repeats (a station's zone,
    a share, a reversal's details) is read once."""

    def __init__(self) -> None:
        self.shares: dict[str | None, str] = {}
        self.reverses: dict[tuple[str, str | None], str] = {}

    def line(self, fields: StatementFields) -> StatementLine:
        (recipient_type, ref, currency, name, amount, seconds, entry, play, station, played_at, title, artist,
         isrc, kind, details, is_adjustment, reason, timezone) = fields
        share = self.shares.get(details)
        if share is None:
            share = self.shares[details] = share_text(details)
        reverses = self.reverses.get((kind, details))
        if reverses is None:
            reverses = self.reverses[kind, details] = reverses_text(kind, details)
        return StatementLine(recipient_type, ref, currency, name, amount, seconds, entry, play, station or "",
                             played_at, local_text(parse_utc(played_at), zone(timezone)), title or "", artist or "",
                             isrc or "", kind, share, bool(is_adjustment), reason or "", reverses)
