"""``bin/calculate-royalty-distributions``: price final plays and split them into the ledger.

Each run makes three passes, each in batches of ``--batch-size`` plays (one
transaction per batch, a few set-based queries per batch):

1. **reversals**: plays superseded by a new version since they were priced get
   their standing lines reversed (the new version is an ordinary final play);
2. **new plays**: every final play without a pricing is priced and split;
3. **re-examination**: plays in suspense or unpriced are priced again, so money
   is released as soon as a society mapping, an agreement, a share table or a
   rate card arrives; with ``--recalculate`` every priced play (optionally in
   ``--from``/``--to``, station-local dates) is examined after a rate or share
   correction.  A play is reissued only if its outcome changed: its standing
   lines are reversed and the new version booked, never updated.

A run killed at any instant loses at most its current batch, which the next run
redoes; nothing is booked twice (see ``zamio.royalties.ledger``).
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Select, func, select

from zamio.db import utcnow
from zamio.money import format_amount
from zamio.royalties.catalog import Societies, load_plays, load_works
from zamio.royalties.ledger import Issue, book, latest_pricings, standing_lines
from zamio.royalties.pricing import Catalog, price_play, reversed_play
from zamio.royalties.rates import RateBook
from zamio.tables import play_logs, royalty_pricings

BATCH_PLAYS = 1000
RECHECKED_STATUSES = ("suspense", "unpriced")
Transaction = Callable[[], AbstractContextManager[Connection]]


@dataclass
class PricingStats:
    """What a pricing run booked: plays per outcome status, unchanged plays, gross per currency."""

    statuses: Counter = field(default_factory=Counter)
    reasons: Counter = field(default_factory=Counter)
    unchanged: int = 0
    gross: Counter = field(default_factory=Counter)

    @property
    def booked(self) -> int:
        return sum(self.statuses.values())

    def phrases(self) -> list[str]:
        """The run's summary, as phrases for the one-line log."""
        parts = [f"{n} {status}" for status, n in sorted(self.statuses.items())]
        parts += [f"{format_amount(units, currency)} booked" for currency, units in sorted(self.gross.items())]
        if self.unchanged:
            parts.append(f"{self.unchanged} unchanged")
        return parts or ["nothing to price"]


_latest = royalty_pricings.alias("latest")
_LATEST_VERSION = (select(func.max(_latest.c.version)).where(_latest.c.play_id == play_logs.c.id)
                   .scalar_subquery())


def _with_latest(statuses: tuple[str, ...] | None = None) -> Select:
    query = (select(play_logs.c.id).join(royalty_pricings, royalty_pricings.c.play_id == play_logs.c.id)
             .where(royalty_pricings.c.version == _LATEST_VERSION))
    if statuses:
        query = query.where(royalty_pricings.c.status.in_(statuses))
    return query


def candidate_queries(recalculate: bool, date_from: date | None, date_to: date | None,
                      run_id: str = "") -> list[tuple[str, Select]]:
    """Given the run's options, return (pass name, query of play ids) in the order they are run.

    The re-examination skips plays this run (``run_id``) has just priced.
    """
    reversals = _with_latest().where(play_logs.c.status == "superseded", royalty_pricings.c.status != "reversed")
    new = select(play_logs.c.id).where(
        play_logs.c.status == "final",
        ~select(royalty_pricings.c.id).where(royalty_pricings.c.play_id == play_logs.c.id).exists())
    recheck = _with_latest(None if recalculate else RECHECKED_STATUSES).where(
        play_logs.c.status == "final", royalty_pricings.c.run_id != run_id)
    if date_from is not None:
        recheck = recheck.where(royalty_pricings.c.play_date >= date_from)
    if date_to is not None:
        recheck = recheck.where(royalty_pricings.c.play_date <= date_to)
    return [("reversals", reversals), ("new plays", new), ("re-examination", recheck)]


def batches(transaction: Transaction, query: Select, size: int, should_stop: Callable[[], bool]
            ) -> Iterator[tuple[Connection, list[int]]]:
    """Yield (connection, play ids) for successive batches of ``query``, each inside its own transaction.

    Batches follow the play id (keyset), so the loop ends even when nothing is written (a dry run).
    """
    after = 0
    while not should_stop():
        with transaction() as conn:
            ids = list(conn.execute(query.where(play_logs.c.id > after).order_by(play_logs.c.id).limit(size))
                       .scalars())
            if not ids:
                return
            yield conn, ids
        after = ids[-1]


def price_batch(conn: Connection, ids: list[int], book_: RateBook, societies: Societies, run_id: str,
                stats: PricingStats, works: dict | None = None) -> list[Issue]:
    """Given play ids, price them and book every changed outcome; return the issues booked.

    ``works`` is the run's cache of catalog works (read once per run, then only new tracks).
    """
    plays = load_plays(conn, ids)
    latest = latest_pricings(conn, ids)
    works = load_works(conn, [p.track_id for p in plays if p.track_id is not None], {} if works is None else works)
    catalog = Catalog(works, societies)
    issues = []
    for play in plays:
        previous = latest.get(play.id)
        if play.status == "superseded":
            if previous is None or previous.status == "reversed":
                continue
            outcome = reversed_play(play, previous.play_date, Decimal(previous.seconds), societies.local.currency)
            issues.append(Issue(outcome, previous.version + 1, previous, "superseded"))
            continue
        if play.status != "final":
            continue
        outcome = price_play(play, book_, catalog)
        if previous is not None and previous.outcome_hash == outcome.outcome_hash:
            stats.unchanged += 1
            continue
        issues.append(Issue(outcome, previous.version + 1 if previous else 1, previous, "recalculated"))
    standing = standing_lines(conn, [i.previous for i in issues if i.previous is not None])
    booked = book(conn, issues, standing, run_id, utcnow())
    for issue in booked:
        stats.statuses[issue.pricing.status] += 1
        if issue.pricing.reason:
            stats.reasons[issue.pricing.reason] += 1
        delta = issue.pricing.gross - (issue.previous.gross if issue.previous else 0)
        stats.gross[issue.pricing.currency] += delta
    return booked


def price_pending(transaction: Transaction, run_id: str, *, batch_size: int = BATCH_PLAYS,
                  should_stop: Callable[[], bool] = lambda: False, recalculate: bool = False,
                  date_from: date | None = None, date_to: date | None = None,
                  progress: Callable[[int], None] | None = None) -> PricingStats:
    """Given a transaction factory, run the three pricing passes; return what was booked.

    ``transaction()`` must return a context manager yielding a connection in a fresh
    transaction (``JobContext.transaction``), or the same one for a single-transaction run.
    """
    with transaction() as conn:
        rates, societies = RateBook.load(conn), Societies.load(conn)
    stats = PricingStats()
    works: dict = {}  # this run's catalog works: share tables are read once per run, not per batch
    for _name, query in candidate_queries(recalculate, date_from, date_to, run_id):
        for conn, ids in batches(transaction, query, batch_size, should_stop):
            price_batch(conn, ids, rates, societies, run_id, stats, works)
            if progress is not None:
                progress(len(ids))
    return stats


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``bin/calculate-royalty-distributions``."""
    parser.add_argument("--batch-size", type=int, default=BATCH_PLAYS, metavar="N",
                        help=f"plays per transaction (default {BATCH_PLAYS})")
    parser.add_argument("--recalculate", action="store_true",
                        help="re-examine every priced play (after a rate or share correction): "
                             "reverse and rebook those whose money changed")
    parser.add_argument("--from", dest="date_from", type=date.fromisoformat, metavar="YYYY-MM-DD",
                        help="with --recalculate: first station-local play date to re-examine")
    parser.add_argument("--to", dest="date_to", type=date.fromisoformat, metavar="YYYY-MM-DD",
                        help="with --recalculate: last station-local play date to re-examine")


def calculate_royalty_distributions(ctx: Any) -> None:
    """Job entry point: price pending plays, count outcomes, report unpriced plays as failures."""
    args = ctx.args
    stats = price_pending(
        ctx.transaction, ctx.run_id, batch_size=args.batch_size, should_stop=ctx.should_stop,
        recalculate=args.recalculate, date_from=args.date_from, date_to=args.date_to)
    unpriced = stats.statuses.get("unpriced", 0)
    ctx.ok(stats.booked - unpriced)
    ctx.skipped(stats.unchanged)
    if unpriced:
        reasons = ", ".join(f"{r} {n}" for r, n in sorted(stats.reasons.items())
                            if r in ("no_rate_card", "no_day_period", "bad_timezone"))
        ctx.failed(f"{unpriced} plays", f"no rate applies ({reasons}); load rate cards or fix the "
                                       "station's class or time zone, the next run prices them", n=unpriced)
    for phrase in stats.phrases():
        ctx.note(phrase)
