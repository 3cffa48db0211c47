"""Money held by open disputes: which plays pricing books to a dispute's suspense account, and what it holds.

While a dispute (``zamio.playlogs.disputes``) is open, the money of every play it covers is
booked to the suspense account ``dispute:D-000001`` with the reason ``disputed``
(``zamio.royalties.pricing.price.price_play`` asks ``Holds.dispute_of``), whoever the play
would pay otherwise: nothing of it is paid out.  The pricing run finds the plays to hold in
a pass of its own per open dispute (``dispute_passes``): the plays it covers whose latest
pricing does not hold them yet, priced before the dispute was opened; plays of its scope
priced later are held as they are priced.  A held play is in suspense, so every run
re-examines it, and once the dispute is resolved its money goes to whoever the play belongs
to then (a reversal of the suspense line and the new lines), paid by the next cycle.  A pool
cycle asks ``Holds.dispute_of`` too, for the part of a licence fee it gives each play
(``zamio.royalties.cycles.pool``).

The open disputes are read once per run (they are few): their station and period, their
recording, and the ids of every version of the plays they name.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, Select, and_, exists, func, or_, select

from zamio.db.tables import dispute_plays, disputes, play_logs, royalty_pricings, stations, tracks
from zamio.playlogs.disputes import OPEN, account, covered_ids, covered_plays, label
from zamio.royalties.pricing.paid import paid_lines
from zamio.royalties.pricing.works import PlayFacts

DISPUTED = "disputed"  # the reason of a pricing held by a dispute
SUSPENSE = "suspense"


@dataclass(frozen=True)
class Hold:
    """One open dispute, as pricing tests a play against it."""

    id: int
    station_id: int | None
    starts_at: datetime | None
    ends_at: datetime | None
    track_id: int | None
    isrc: str | None

    @property
    def account(self) -> str:
        return account(self.id)

    def covers(self, play: PlayFacts, named: frozenset[int]) -> bool:
        """Given a play and the ids of the plays this dispute names (every version), whether it covers the play."""
        if play.id in named:
            return True
        if (self.station_id is not None and self.starts_at is not None and self.ends_at is not None
                and play.station_id == self.station_id and self.starts_at <= play.started_at < self.ends_at):
            return True
        if self.track_id is not None and play.track_id == self.track_id:
            return True
        return self.isrc is not None and play.isrc == self.isrc


@dataclass(frozen=True)
class Holds:
    """The open disputes of a run (none: nothing is held)."""

    holds: tuple[Hold, ...] = ()
    named: dict[int, frozenset[int]] = field(default_factory=dict)  # dispute id → ids of the plays it names

    @classmethod
    def load(cls, conn: Connection) -> Holds:
        """Given a connection, return the open disputes and the plays they name."""
        d = disputes.c
        holds = tuple(Hold(row.id, row.station_id, row.starts_at, row.ends_at, row.track_id, row.isrc)
                      for row in conn.execute(select(d.id, d.station_id, d.starts_at, d.ends_at, d.track_id, d.isrc)
                                              .where(d.status == OPEN).order_by(d.id)))
        if not holds:
            return cls()
        named: dict[int, set[int]] = {}
        for dispute_id, play_id in conn.execute(
                select(dispute_plays.c.dispute_id, play_logs.c.id)
                .join(play_logs, play_logs.c.play_key == dispute_plays.c.play_key)
                .where(dispute_plays.c.dispute_id.in_([h.id for h in holds]))):
            named.setdefault(int(dispute_id), set()).add(int(play_id))
        return cls(holds, {k: frozenset(v) for k, v in named.items()})

    def dispute_of(self, play: PlayFacts) -> Hold | None:
        """Given a play, return the open dispute holding its money (the oldest, if several cover it), or None."""
        for hold in self.holds:
            if hold.covers(play, self.named.get(hold.id, frozenset())):
                return hold
        return None


def dispute_passes(holds: Holds, base: Select[*tuple[object, ...]]
                   ) -> list[tuple[str, Select[*tuple[object, ...]]]]:
    """Given the run's open disputes and the query of final plays with their latest pricing, return one pass per
    open dispute: the plays it covers whose latest pricing does not hold them in its account."""
    passes = []
    for hold in holds.holds:
        covered = play_logs.c.id.in_(covered_ids(hold.id))
        not_held = or_(royalty_pricings.c.reason.is_(None), royalty_pricings.c.reason != DISPUTED,
                       royalty_pricings.c.status != SUSPENSE)
        passes.append((f"dispute {label(hold.id)}", base.where(covered, not_held)))
    return passes


def held(conn: Connection, dispute_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """Given disputes, return what each holds now in its suspense account, in units per currency: the lines booked
    to it less their reversals, read as the statements read money (``zamio.royalties.pricing.paid``); a dispute
    holding nothing is left out."""
    ids = {account(i): i for i in dispute_ids}
    if not ids:
        return {}
    line = paid_lines()
    found: dict[int, dict[str, int]] = {}
    for ref, currency, units in conn.execute(
            select(line.c.recipient_ref, line.c.currency, func.sum(line.c.amount))
            .where(line.c.recipient_type == SUSPENSE, line.c.recipient_ref.in_(list(ids)))
            .group_by(line.c.recipient_ref, line.c.currency)):
        if units:
            found.setdefault(ids[ref], {})[currency] = int(units)
    return found


def held_by_play(conn: Connection, dispute_id: int, play_ids: Sequence[int]) -> dict[int, tuple[str, int]]:
    """Given a dispute and plays, return what its account holds now for each play: (currency, units)."""
    if not play_ids:
        return {}
    line = paid_lines()
    rows = conn.execute(
        select(line.c.play_id, line.c.currency, func.sum(line.c.amount))
        .where(and_(line.c.recipient_type == SUSPENSE, line.c.recipient_ref == account(dispute_id),
                    line.c.play_id.in_(list(play_ids))))
        .group_by(line.c.play_id, line.c.currency))
    return {int(play): (currency, int(units)) for play, currency, units in rows if units}


@dataclass(frozen=True)
class CoveredPlay:
    """A current play a dispute covers, with its latest pricing and what the dispute's account holds for it."""

    id: int
    station: str
    timezone: str
    started_at: datetime
    seconds: float
    recording: str
    status: str  # its latest pricing's status (and reason), or "not priced"
    held: int
    currency: str | None


def covered_money(conn: Connection, dispute_id: int) -> list[CoveredPlay]:
    """Given a dispute, return the current plays it covers, by start, with their latest pricing and what is held."""
    rows = conn.execute(
        covered_plays(dispute_id)
        .with_only_columns(play_logs.c.id, stations.c.station_ref, stations.c.timezone, play_logs.c.started_at,
                           play_logs.c.duration_seconds, tracks.c.track_ref, play_logs.c.isrc, play_logs.c.title)
        .join_from(play_logs, stations, stations.c.id == play_logs.c.station_id)
        .outerjoin(tracks, tracks.c.id == play_logs.c.track_id)
        .order_by(None).order_by(play_logs.c.started_at, play_logs.c.id)).all()
    ids = [int(r.id) for r in rows]
    p, newer = royalty_pricings, royalty_pricings.alias("newer")
    latest = {int(r.play_id): r for r in conn.execute(
        select(p.c.play_id, p.c.status, p.c.reason).where(
            p.c.play_id.in_(ids), ~exists().where(newer.c.play_id == p.c.play_id, newer.c.version > p.c.version)))
    } if ids else {}
    money = held_by_play(conn, dispute_id, ids)
    found = []
    for r in rows:
        pricing = latest.get(int(r.id))
        status = "not priced" if pricing is None else \
            pricing.status + (f" {pricing.reason}" if pricing.reason else "")
        currency, units = money.get(int(r.id), (None, 0))
        found.append(CoveredPlay(int(r.id), r.station_ref, r.timezone, r.started_at, float(r.duration_seconds),
                                 r.track_ref or (f"ISRC {r.isrc}" if r.isrc else r.title or "unnamed"), status,
                                 units, currency))
    return found
