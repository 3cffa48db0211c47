"""The money a change to plays moves, before the pricing run books it (read only).

Given the plays a change supersedes and the plays it makes billable (new versions,
duplicates billed in the place of a superseded play), ``money_moved`` says what the next
``calculate-royalty-distributions`` run will book for them:

* a superseded play: the reversal of its standing ledger lines (those of its latest
  pricing; nothing if it was never priced), and which locked cycle paid them, if any (the
  next cycle then pays the change as an adjustment);
* a billable play: its price under the rate data stored now, computed by the pricing's own
  code (``zamio.royalties.pricing.price.price_play``), never by rules of its own (a play an
  open dispute covers is held in the dispute's account, as the pricing run will hold it).

Used by ``bin/correct-plays`` inside the correction's transaction (rolled back in a dry run),
so the plays it reads are those the correction leaves.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, and_, func, select

from zamio.db.tables import cycle_pricings, royalty_cycles, royalty_pricings
from zamio.royalties.pricing.holds import Holds
from zamio.royalties.pricing.ledger import Previous, standing_lines
from zamio.royalties.pricing.price import Catalog, parked_play, price_play
from zamio.royalties.pricing.rates import RateBook
from zamio.royalties.pricing.works import Societies, load_plays, load_works
from zamio.values.money import from_units

Recipient = tuple[str, str, str]  # recipient type, reference, currency


@dataclass(frozen=True)
class PlayMoney:
    """What one play is owed (its standing lines, or its price now), per recipient."""

    play_id: int
    status: str  # its pricing status (priced, suspense, ineligible, unpriced, ...), or "not priced"
    reason: str | None
    gross: int
    currency: str
    lines: tuple[tuple[str, str, int], ...]  # (recipient type, reference, units)
    paid_by: str | None = None  # the locked cycle that paid its standing lines

    def phrase(self) -> str:
        why = f" {self.reason}" if self.reason else ""
        money = f"{self.currency} {from_units(self.gross)}"
        paid = (f", paid by locked cycle {self.paid_by}: the next cycle pays the change as an adjustment"
                if self.paid_by else "")
        return f"play {self.play_id}: {money} ({self.status}{why}{paid})"


@dataclass(frozen=True)
class MoneyMoved:
    """The money a change moves: what its superseded plays held, what its billable plays would be priced at."""

    reversed: tuple[PlayMoney, ...]
    priced: tuple[PlayMoney, ...]

    def by_recipient(self) -> dict[Recipient, int]:
        """The units each recipient gains (negative: loses), in recipient order; recipients that net to zero left
        out."""
        moved: Counter[Recipient] = Counter()
        for sign, plays in ((-1, self.reversed), (1, self.priced)):
            for play in plays:
                for kind, ref, units in play.lines:
                    moved[(kind, ref, play.currency)] += sign * units
        return {key: units for key, units in sorted(moved.items()) if units}

    def totals(self) -> dict[str, int]:
        """The units moved per currency (the gross of the new plays less that of the superseded ones)."""
        total: Counter[str] = Counter()
        for play in self.reversed:
            total[play.currency] -= play.gross
        for play in self.priced:
            total[play.currency] += play.gross
        return dict(sorted(total.items()))

    def lines(self, indent: str = "  ") -> list[str]:
        """The movement as printed: each play, then each recipient, then the total per currency."""
        found = [f"{indent}superseded {p.phrase()}: reversed" for p in self.reversed]
        found += [f"{indent}billable {p.phrase()}" for p in self.priced]
        width = max((len(f"{kind} {ref}") for kind, ref, _ in self.by_recipient()), default=0)
        found += [f"{indent}{f'{kind} {ref}':<{width}}  {currency} {from_units(units):>14}"
                  for (kind, ref, currency), units in self.by_recipient().items()]
        found += [f"{indent}{'total':<{width}}  {currency} {from_units(units):>14}"
                  for currency, units in self.totals().items()]
        return found


def _latest(conn: Connection, play_ids: Sequence[int]) -> dict[int, Previous]:
    """The latest pricing of each play that has one."""
    p = royalty_pricings
    newest = (select(p.c.play_id, func.max(p.c.version).label("version"))
              .where(p.c.play_id.in_(list(play_ids))).group_by(p.c.play_id).subquery("newest"))
    rows = conn.execute(select(p.c.play_id, p.c.version, p.c.status, p.c.gross, p.c.outcome_hash, p.c.play_date,
                               p.c.seconds)
                        .join(newest, and_(newest.c.play_id == p.c.play_id, newest.c.version == p.c.version)))
    return {row.play_id: Previous._make(row) for row in rows}


def _standing(conn: Connection, play_ids: Sequence[int], local_currency: str) -> list[PlayMoney]:
    latest = _latest(conn, play_ids) if play_ids else {}
    details = {row.play_id: (row.reason, row.currency) for row in conn.execute(
        select(royalty_pricings.c.play_id, royalty_pricings.c.version, royalty_pricings.c.reason,
               royalty_pricings.c.currency).where(royalty_pricings.c.play_id.in_(list(latest))))
        if latest[row.play_id].version == row.version}
    paid = {play_id: name for play_id, version, name in conn.execute(
        select(cycle_pricings.c.play_id, cycle_pricings.c.version, royalty_cycles.c.name)
        .join(royalty_cycles, royalty_cycles.c.id == cycle_pricings.c.cycle_id)
        .where(cycle_pricings.c.play_id.in_(list(latest)), royalty_cycles.c.status == "locked"))
        if latest[play_id].version == version}
    lines = standing_lines(conn, [p for p in latest.values() if p.status != "reversed"])
    found = []
    for play_id in play_ids:
        previous = latest.get(play_id)
        if previous is None or previous.status == "reversed":
            found.append(PlayMoney(play_id, "not priced" if previous is None else "reversed already", None, 0,
                                   local_currency, ()))
            continue
        reason, currency = details[play_id]
        held = tuple((line.recipient_type, line.recipient_ref, int(line.amount)) for line in lines.get(play_id, []))
        found.append(PlayMoney(play_id, previous.status, reason, sum(u for _, _, u in held), currency, held,
                               paid.get(play_id)))
    return found


def _priced(conn: Connection, play_ids: Sequence[int], book: RateBook, societies: Societies) -> list[PlayMoney]:
    plays = load_plays(conn, play_ids)
    catalog = Catalog(load_works(conn, {p.track_id for p in plays if p.track_id is not None}), societies,
                      Holds.load(conn))
    found = []
    for play in plays:
        try:
            outcome = price_play(play, book, catalog)
        except Exception as error:  # as the pricing run: a play that cannot be priced is parked, with its reason
            outcome = parked_play(play, societies.local.currency, error)
        lines = tuple((line.recipient_type, line.recipient_ref, line.amount) for line in outcome.lines)
        found.append(PlayMoney(play.id, outcome.status, outcome.reason, outcome.gross, outcome.currency, lines))
    return found


def money_moved(conn: Connection, superseded: Sequence[int], billable: Sequence[int]) -> MoneyMoved:
    """Given the plays a change superseded and those it made billable (rows as they now stand in ``conn``'s
    transaction), return the money the next pricing run will move for them."""
    societies = Societies.load(conn)
    reversed_ = _standing(conn, list(superseded), societies.local.currency)
    priced = _priced(conn, list(billable), RateBook.load(conn), societies) if billable else []
    return MoneyMoved(tuple(reversed_), tuple(priced))
