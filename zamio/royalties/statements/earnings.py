"""What people read of the money: per recipient and cycle (or not yet in a cycle), from ``paid`` alone.

The dashboards (``zamio.cache``) and analytics reports (``zamio.reports``) take every money
figure from here, and here from ``zamio.royalties.pricing.paid``, whose queries also make the cycle
line items and statements.  So a recipient's figure for a cycle is the net of its line item
in that cycle's ``statements.csv``, to the unit (``amount`` is written as the statements
write it, in the currency's minor units).  Figures not yet in a cycle are what per-second
pricing has booked so far; the pricing lines a pool cycle took as weights count nowhere.

**An artist's money.**  The ledger names the recipient a line pays (``zamio.royalties.pricing.split``):
an ``artist`` only for a work of hers without contributors and without a publisher; a
``contributor`` party (its IPI name number, else the slug of its name) for a share of a
work; a ``publisher`` for what is paid through it.  An artist's figures are therefore:

* **as artist**: the lines paying ``artist`` / her reference;
* **as contributor**: the lines paying her contributor parties, on any work: her reference
  itself (a contributor registered under her name without an IPI has the same slug), and
  the party of each contributor of one of her own works who is she: same reference, same
  IPI as the artist, or, registered with an IPI, her name;
* **through her publisher**: the publisher lines of plays of her own works that pay the
  publisher for her alone: every publisher line of a work of hers without contributors
  (the split owes such a work 100 % to the artist and pays it to the work's publisher,
  else the artist's default publisher), and, on a work with contributors, the lines of a publisher
  through which only she is paid.  A publisher paid for her and co-writers together gets
  one line for all of them (the split adds their parts before allocating), which cannot be
  divided back exactly: that money shows on the publisher's figures, not on hers.

  A cycle's deductions from the publisher (its domestic commission and withholding tax,
  ``zamio.royalties.payouts.deductions``) are lines of the cycle, not of a play: her figure
  through the publisher bears their part in proportion to her lines, ``deducted × hers ÷ the
  publisher's gross in the cycle``, rounded half-even to a unit.  A publisher paid for her alone
  in a cycle is deducted from her lines only, so her figure is then its statement's net, to the
  unit.  (Figures of plays aired in a period have no deductions, which belong to no play.)

Whose line is whose follows the catalog as it is now; a correction of the catalog reissues
the plays it touches (a reversal and a new line), both read under the same attribution.
Each of her figures is one recipient's (``recipient_type``, ``recipient``), so it matches
that recipient's statement; the publisher's part is the part of the publisher's statement
made of her works' lines.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypedDict, final

from sqlalchemy import Column, Connection, FromClause, Select, Subquery, case, func, select

from zamio.db.engine import StoredRow
from zamio.db.tables import artists, contributors, play_logs, publishers, royalty_cycles, royalty_ledger, tracks
from zamio.files.csvread import RowError, slug
from zamio.royalties.pricing.paid import DEDUCTION_KINDS, paid_lines, recipient_sums
from zamio.royalties.statements.formatting import decimal_text
from zamio.values.money import round_half_even

NOT_IN_A_CYCLE = "not yet in a cycle"
#: (cycle, publisher, currency) → (the publisher's gross paid by the cycle, the cycle's deductions from it), units
Deducted = dict[tuple[int, str, str], tuple[int, int]]
IN_LIST_CHUNK = 500  # references per IN (...) list


@dataclass(frozen=True)
class Aired:
    """Only the money of plays aired in [since, until) (aware UTC instants)."""

    since: datetime
    until: datetime


@dataclass(frozen=True)
class Cycle:
    """A cycle as a figure names it; ``None`` stands for money not yet in a cycle."""

    id: int
    name: str
    period_from: date


class Figure(TypedDict):
    """A money figure as dashboards and reports show it: exact units, and the amount as statements write it."""

    cycle: str | None  # the cycle's name; money not yet in a cycle has a label, or None
    currency: str
    amount_units: int
    amount: str  # in the currency's minor units (``decimal_text``)
    plays: int


@final  # final: ``"recipient" in figure`` tells the two kinds of figure apart
class RecipientFigure(Figure):
    """What one recipient is paid (``Earning.as_json``)."""

    recipient_type: str
    recipient: str


@final
class KindFigure(Figure):
    """What plays earned as one kind of ledger line (``kind_earnings``)."""

    kind: str


class HeldFigure(TypedDict):
    """What the suspense accounts hold in one currency (``held_in_suspense``)."""

    currency: str
    amount_units: int
    amount: str
    entries: int


@dataclass(frozen=True)
class Earning:
    """What one recipient is paid (``units``, exact) for ``plays`` in one cycle, or not yet in a cycle."""

    cycle: Cycle | None
    recipient_type: str
    recipient_ref: str
    currency: str
    units: int
    plays: int

    def as_json(self, none_label: str | None = None) -> RecipientFigure:
        """Return the figure as the dashboards and reports show it (``cycle`` None → ``none_label``)."""
        return {"cycle": self.cycle.name if self.cycle else none_label, "recipient_type": self.recipient_type,
                "recipient": self.recipient_ref, "currency": self.currency, "amount_units": self.units,
                "amount": decimal_text(self.units, self.currency), "plays": self.plays}


def _when(cycle: Cycle | None) -> tuple[int, date, int]:
    """Cycles in the order of their periods, money not yet in a cycle last."""
    return (0, cycle.period_from, cycle.id) if cycle else (1, date.max, 0)


def _order(earning: Earning) -> tuple[int, date, int, str, str, str]:
    return (*_when(earning.cycle), earning.recipient_type, earning.recipient_ref, earning.currency)


def _cycles(conn: Connection) -> dict[int, Cycle]:
    rows = conn.execute(select(royalty_cycles.c.id, royalty_cycles.c.name, royalty_cycles.c.period_from))
    return {row.id: Cycle(row.id, row.name, row.period_from) for row in rows}


class _Sums:
    """Figures being added up: (cycle, recipient, currency) → [units, plays]."""

    def __init__(self) -> None:
        self.parts: dict[tuple[int | None, str, str, str], list[int]] = defaultdict(lambda: [0, 0])

    def add(self, row: StoredRow) -> None:
        part = self.parts[(row.paid_by, row.recipient_type, row.recipient_ref, row.currency)]
        part[0] += int(row.net)
        part[1] += int(row.plays)

    def earnings(self, cycles: dict[int, Cycle]) -> list[Earning]:
        found = [Earning(cycles.get(paid_by) if paid_by is not None else None, kind, ref, currency, units, plays)
                 for (paid_by, kind, ref, currency), (units, plays) in self.parts.items()]
        return sorted(found, key=_order)


def _sums(lines: Subquery, aired: Aired | None, by_work: bool = False) -> Select[*tuple[object, ...]]:
    """``recipient_sums`` of ``lines``; with ``aired`` only those of plays aired then; ``by_work`` adds the
    work (track) played and its artist to the keys."""
    source: FromClause = lines
    extra: list[Column[int]] = []
    if aired is not None or by_work:
        source = source.join(play_logs, play_logs.c.id == lines.c.play_id)
    if by_work:
        source = source.join(tracks, tracks.c.id == play_logs.c.track_id)
        extra = [play_logs.c.track_id, tracks.c.artist_id]
    query = recipient_sums(lines, *extra, source=source)
    if aired is not None:
        query = query.where(play_logs.c.started_at >= aired.since, play_logs.c.started_at < aired.until)
    return query


def _chunks(values: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(values), IN_LIST_CHUNK):
        yield values[start:start + IN_LIST_CHUNK]


def recipient_earnings(conn: Connection, recipient_type: str, refs: Iterable[str] | None = None,
                       aired: Aired | None = None) -> dict[str, list[Earning]]:
    """Given a recipient type (``publisher``, ``contributor``, ``artist``, ``society``, ``suspense``) and
    optionally some of its references, return reference → its figures per cycle and currency.

    With ``aired``, only the lines of plays aired in that period (a pool fee without plays has none).
    """
    lines = paid_lines()
    base = _sums(lines, aired).where(lines.c.recipient_type == recipient_type)
    queries = [base] if refs is None else [base.where(lines.c.recipient_ref.in_(chunk))
                                           for chunk in _chunks(sorted(set(refs)))]
    sums: dict[str, _Sums] = defaultdict(_Sums)
    for query in queries:
        for row in conn.execute(query):
            sums[row.recipient_ref].add(row)
    cycles = _cycles(conn)
    return {ref: found.earnings(cycles) for ref, found in sums.items()}


@dataclass
class ArtistClaims:
    """Where one artist's money is booked: her contributor parties, and the publishers paid for her alone."""

    ref: str
    parties: set[str] = field(default_factory=set)
    # (track id, publisher reference): on that work of hers, the publisher is paid for her alone
    publisher_for_her: set[tuple[int, str]] = field(default_factory=set)
    works_with_contributors: set[int] = field(default_factory=set)

    def pays_her(self, track_id: int, publisher_ref: str) -> bool:
        """Whether a publisher line of a play of her work ``track_id`` is paid for her alone."""
        return track_id not in self.works_with_contributors or (track_id, publisher_ref) in self.publisher_for_her


def _is_her(artist: Any, contributor: Any) -> bool:
    """Whether a contributor of one of her works is the artist herself (see the module's rules)."""
    if contributor.party_ref == artist.artist_ref:
        return True
    if contributor.ipi is not None and artist.ipi is not None:
        return contributor.ipi == artist.ipi
    if contributor.ipi is not None:
        try:
            return slug(contributor.name) == artist.artist_ref
        except RowError:  # a name without letters or digits names nobody
            return False
    return False


def artist_claims(conn: Connection, artist_id: int | None = None) -> dict[int, ArtistClaims]:
    """Given an artist id (or None for all), return each artist's claims, by artist id."""
    people = select(artists.c.id, artists.c.artist_ref, artists.c.ipi)
    if artist_id is not None:
        people = people.where(artists.c.id == artist_id)
    found = {row.id: (row, ArtistClaims(row.artist_ref, {row.artist_ref})) for row in conn.execute(people)}
    shares = (select(tracks.c.artist_id, contributors.c.track_id, contributors.c.party_ref, contributors.c.name,
                     contributors.c.ipi, publishers.c.publisher_ref)
              .join(tracks, tracks.c.id == contributors.c.track_id)
              .outerjoin(publishers, publishers.c.id == contributors.c.publisher_id))
    if artist_id is not None:
        shares = shares.where(tracks.c.artist_id == artist_id)
    others: set[tuple[int, str]] = set()  # (work, publisher) paid for someone else too
    for share in conn.execute(shares):
        if share.artist_id not in found:
            continue
        artist, claims = found[share.artist_id]
        claims.works_with_contributors.add(share.track_id)
        her = _is_her(artist, share)
        if her:
            claims.parties.add(share.party_ref)
        if share.publisher_ref is not None:
            (claims.publisher_for_her if her else others).add((share.track_id, share.publisher_ref))
    for _, claims in found.values():
        claims.publisher_for_her -= others
    return {artist: claims for artist, (_, claims) in found.items()}


def publisher_deductions(conn: Connection, refs: Iterable[str] | None = None) -> Deducted:
    """Given publisher references (None: all), return (cycle, publisher, currency) → (the publisher's gross paid by
    the cycle, the cycle's deductions from it), both in units, for the publishers a cycle deducted from."""
    lines = paid_lines()
    deduction = lines.c.kind.in_(DEDUCTION_KINDS)
    keys = [lines.c.paid_by, lines.c.recipient_ref, lines.c.currency]
    deducted = func.sum(case((deduction, lines.c.amount), else_=0))
    cycles = select(royalty_ledger.c.cycle_id).where(royalty_ledger.c.kind.in_(DEDUCTION_KINDS),
                                                      royalty_ledger.c.recipient_type == "publisher").distinct()
    base = (select(*keys, func.sum(case((deduction, 0), else_=lines.c.amount)).label("gross"),
                   deducted.label("deducted"))
            .where(lines.c.recipient_type == "publisher", lines.c.paid_by.in_(cycles))
            .group_by(*keys).having(deducted != 0))
    queries = [base] if refs is None else [base.where(lines.c.recipient_ref.in_(chunk))
                                           for chunk in _chunks(sorted(set(refs)))]
    return {(row.paid_by, row.recipient_ref, row.currency): (int(row.gross), int(row.deducted))
            for query in queries for row in conn.execute(query)}


def _bear_deductions(sums: _Sums, deducted: Deducted) -> None:
    """Take from an artist's figures through publishers their part of each cycle's deductions from the publisher:
    deducted × hers ÷ the publisher's gross, rounded half-even (all of it when the gross is hers alone)."""
    for (paid_by, _, ref, currency), part in sums.parts.items():
        gross, taken = deducted.get((paid_by, ref, currency), (0, 0)) if paid_by is not None else (0, 0)
        if taken and gross:
            sign = 1 if gross > 0 else -1
            part[0] += round_half_even(sign * taken * part[0], sign * gross)


def artist_earnings(conn: Connection, artist_id: int | None = None,
                    aired: Aired | None = None) -> dict[int, list[Earning]]:
    """Given an artist id (or None for all), return artist id → her figures per cycle, recipient and currency:
    as artist, as contributor, and through her publisher (see the module's rules)."""
    claims = artist_claims(conn, artist_id)
    refs = {c.ref for c in claims.values()}
    by_ref = recipient_earnings(conn, "artist", refs if artist_id is not None else None, aired)
    parties = {party for c in claims.values() for party in c.parties}
    by_party = recipient_earnings(conn, "contributor", parties if artist_id is not None else None, aired)
    sums: dict[int, _Sums] = defaultdict(_Sums)
    lines = paid_lines()
    works = _sums(lines, aired, by_work=True).where(lines.c.recipient_type == "publisher")
    if artist_id is not None:
        works = works.where(tracks.c.artist_id == artist_id)
    for row in conn.execute(works):
        mine = claims.get(row.artist_id)
        if mine is not None and mine.pays_her(row.track_id, row.recipient_ref):
            sums[row.artist_id].add(row)
    if aired is None and sums:
        publishers_paid = {ref for through in sums.values() for (_, _, ref, _) in through.parts}
        deducted = publisher_deductions(conn, publishers_paid if artist_id is not None else None)
        for through in sums.values():
            _bear_deductions(through, deducted)
    cycles = _cycles(conn)
    result: dict[int, list[Earning]] = {}
    for artist, mine in claims.items():
        found = by_ref.get(mine.ref, []) + [e for p in sorted(mine.parties) for e in by_party.get(p, [])]
        found += sums[artist].earnings(cycles) if artist in sums else []
        if found:
            result[artist] = sorted(found, key=_order)
    return result


def kind_earnings(conn: Connection, aired: Aired, station_id: int | None = None) -> list[KindFigure]:
    """Given a period (and a station), return what its plays' money was, per cycle, line kind and currency,
    with the number of plays that have lines of that kind (a play split three ways counts once)."""
    lines = paid_lines()
    keys = [lines.c.paid_by, lines.c.kind, lines.c.currency]
    plays = func.count(lines.c.play_id.distinct())
    query = (select(*keys, plays.label("plays"), func.sum(lines.c.amount).label("net"))
             .select_from(lines.join(play_logs, play_logs.c.id == lines.c.play_id))
             .where(play_logs.c.started_at >= aired.since, play_logs.c.started_at < aired.until)
             .group_by(*keys))
    if station_id is not None:
        query = query.where(play_logs.c.station_id == station_id)
    cycles = _cycles(conn)
    rows = [(cycles.get(r.paid_by) if r.paid_by is not None else None, r.kind, r.currency, int(r.net), int(r.plays))
            for r in conn.execute(query)]
    rows.sort(key=lambda r: (*_when(r[0]), r[1], r[2]))
    return [{"cycle": cycle.name if cycle else NOT_IN_A_CYCLE, "kind": kind, "currency": currency,
             "amount_units": units, "amount": decimal_text(units, currency), "plays": plays}
            for cycle, kind, currency, units, plays in rows]


def held_in_suspense(conn: Connection) -> list[HeldFigure]:
    """Return the money suspense accounts hold, per currency: paid into a cycle's suspense or not yet in a cycle."""
    lines = paid_lines()
    query = (select(lines.c.currency, func.sum(lines.c.amount).label("net"), func.count().label("entries"))
             .where(lines.c.recipient_type == "suspense").group_by(lines.c.currency).order_by(lines.c.currency))
    return [{"currency": r.currency, "amount_units": int(r.net), "amount": decimal_text(int(r.net), r.currency),
             "entries": int(r.entries)} for r in conn.execute(query)]


