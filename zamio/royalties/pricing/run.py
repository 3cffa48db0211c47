"""Price final plays and split them into the ledger.

Each run makes three passes, each in batches of ``--batch-size`` plays (one
transaction per batch: one query reads the batch, one ``COPY`` writes its pricings
and one its lines; ``--workers`` batches at once on PostgreSQL):

1. **reversals**: plays superseded by a new version since they were priced get
   their standing lines reversed (the new version is an ordinary final play);
2. **new plays**: every final play without a pricing is priced and split;
3. **re-examination**: plays in suspense or unpriced are priced again, so money
   is released as soon as a society mapping, an agreement, a share table or a
   rate card arrives, or the dispute holding it is resolved; with ``--recalculate`` every priced play (optionally in
   ``--from``/``--to``, station-local dates) is examined after a rate or share
   correction, except money declared non-distributable.  A play is reissued
   only if its outcome changed: its standing lines are reversed and the new
   version booked, never updated.  Such a run asked by a person is recorded in
   the audit log (``record_recalculation``);
4. **disputes**: one pass per open dispute (``zamio.royalties.pricing.holds``): the
   plays it covers that were priced before it was opened are priced again, their
   money now held in the dispute's suspense account.

A play whose pricing raises (its station-local date beyond the calendar, a duration that
is not a number) is parked as ``unpriced`` with its reason and the error in its details,
and the rest of its batch is priced: one bad play never stops the pricing of the others.

A run killed at any instant loses at most its current batch, which the next run
redoes; nothing is booked twice (see ``zamio.royalties.pricing.ledger``).
"""

from __future__ import annotations

import gc
import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import cast

from sqlalchemy import BigInteger, Connection, Select, bindparam, select

from zamio.db import audit
from zamio.db.audit import Who
from zamio.db.engine import StoredRow, is_sqlite, utcnow
from zamio.db.tables import play_logs, royalty_pricings, stations
from zamio.royalties.pricing.holds import Holds, dispute_passes
from zamio.royalties.pricing.ledger import Issue, Previous, book, standing_lines
from zamio.royalties.pricing.price import Catalog, parked_play, price_play, reversed_play
from zamio.royalties.pricing.rates import RateBook
from zamio.royalties.pricing.works import (
    PLAY_COLUMNS,
    PLAY_FIELDS,
    PlayFacts,
    Societies,
    load_works,
    with_mapped_societies,
)
from zamio.royalties.terms import BATCH_PLAYS
from zamio.runtime.progress import Transactions
from zamio.values.money import format_amount

log = logging.getLogger(__name__)

RECHECKED_STATUSES = ("suspense", "unpriced")
DECLARED_STATUS = "non_distributable"  # never re-examined: see zamio.royalties.suspense.declarations


@dataclass
class PricingStats:
    """What a pricing run booked: plays per outcome status, unchanged plays, gross per currency."""

    statuses: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    unchanged: int = 0
    gross: Counter[str] = field(default_factory=Counter)

    @classmethod
    def merged(cls, parts: list[PricingStats]) -> PricingStats:
        """Given the stats of a run's workers, return their sum."""
        total = cls()
        for part in parts:
            total.statuses.update(part.statuses)
            total.reasons.update(part.reasons)
            total.unchanged += part.unchanged
            total.gross.update(part.gross)
        return total

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


_newer = royalty_pricings.alias("newer")
# A play's latest pricing is the one no version of the same play comes after: an anti-join on the
# (play_id, version) key, which PostgreSQL runs for the rows the query keeps (a max(version) per
# play it evaluated for every play of the table, seconds per batch on a million plays).
_LATEST = ~select(_newer.c.id).where(_newer.c.play_id == royalty_pricings.c.play_id,
                                     _newer.c.version > royalty_pricings.c.version).exists()
PREVIOUS_COLUMNS = (  # ledger.Previous, field by field
    royalty_pricings.c.play_id, royalty_pricings.c.version, royalty_pricings.c.status, royalty_pricings.c.gross,
    royalty_pricings.c.outcome_hash, royalty_pricings.c.play_date, royalty_pricings.c.seconds,
)


AFTER = bindparam("after", type_=BigInteger)  # the keyset: plays after the last one of the previous batch


def _plays() -> Select[*tuple[object, ...]]:
    return (select(*PLAY_COLUMNS).join(stations, stations.c.id == play_logs.c.station_id)
            .where(play_logs.c.id > AFTER))


def _with_latest(statuses: tuple[str, ...] | None = None) -> Select[*tuple[object, ...]]:
    query = (_plays().add_columns(*PREVIOUS_COLUMNS)
             .join(royalty_pricings, royalty_pricings.c.play_id == play_logs.c.id)
             .where(royalty_pricings.c.play_id > AFTER, _LATEST))
    if statuses:
        query = query.where(royalty_pricings.c.status.in_(statuses))
    return query


def candidate_queries(recalculate: bool, date_from: date | None, date_to: date | None,
                      run_id: str = "", holds: Holds | None = None) -> list[tuple[str, Select[*tuple[object, ...]]]]:
    """Given the run's options, return (pass name, query) in the order they are run.

    Each query reads the plays to examine with their station's facts (``PLAY_COLUMNS``) and,
    for plays priced before, their latest pricing (``PREVIOUS_COLUMNS``): one query per batch,
    in play id order (the pricings' own for plays priced before, so that the few in suspense are
    read from their partial index, not found among every play).  The re-examination skips plays
    this run (``run_id``) has just priced.  Each open dispute of ``holds`` adds a pass over the plays it
    covers that its account does not hold yet.
    """
    reversals = _with_latest().where(play_logs.c.status == "superseded", royalty_pricings.c.status != "reversed")
    # The keyset bound is repeated inside NOT EXISTS: without it PostgreSQL may merge the plays with
    # every pricing from the first one on, a cost that grows with each batch.
    new = _plays().where(
        play_logs.c.status == "final",
        ~select(royalty_pricings.c.id).where(royalty_pricings.c.play_id == play_logs.c.id,
                                             royalty_pricings.c.play_id > AFTER).exists())
    recheck = _with_latest(None if recalculate else RECHECKED_STATUSES).where(
        play_logs.c.status == "final", royalty_pricings.c.run_id != run_id)
    if recalculate:  # money declared non-distributable stays so (zamio.royalties.suspense.declarations)
        recheck = recheck.where(royalty_pricings.c.status != DECLARED_STATUS)
    if date_from is not None:
        recheck = recheck.where(royalty_pricings.c.play_date >= date_from)
    if date_to is not None:
        recheck = recheck.where(royalty_pricings.c.play_date <= date_to)
    held = _with_latest().where(play_logs.c.status == "final", royalty_pricings.c.run_id != run_id,
                                royalty_pricings.c.status != DECLARED_STATUS)
    return [("reversals", reversals.order_by(royalty_pricings.c.play_id)),
            ("new plays", new.order_by(play_logs.c.id)),
            ("re-examination", recheck.order_by(royalty_pricings.c.play_id))] + [
        (name, query.order_by(royalty_pricings.c.play_id))
        for name, query in dispute_passes(holds or Holds(), held)]


class Keyset:
    """The position of a pass over its query: the last play id handed out, shared by the workers of a run."""

    def __init__(self, query: Select[*tuple[object, ...]], size: int) -> None:
        self.query = query.limit(size)  # ordered by the play id
        self.after = 0
        self.done = False
        self.lock = threading.Lock()
        self._driver_sql: tuple[str, dict[str, object]] | None = None

    def take(self, conn: Connection) -> tuple[list[PlayFacts], dict[int, Previous]]:
        """Given a connection, read the next batch (plays, latest pricing by play id); empty at the end.

        Batches follow the play id, so a pass ends even when nothing is written (a dry run), and
        workers sharing a keyset never take the same play.
        """
        with self.lock:
            if self.done:
                return [], {}
            rows = self._rows(conn)
            if not rows:
                self.done = True
                return [], {}
            self.after = cast(int, rows[-1][0])  # the play id
        plays = with_mapped_societies(conn, [PlayFacts._make(row[:PLAY_FIELDS]) for row in rows])
        previous = (Previous._make(row[PLAY_FIELDS:]) for row in rows if len(row) > PLAY_FIELDS)
        latest = {p.play_id: p for p in previous}
        return plays, latest

    def _rows(self, conn: Connection) -> Sequence[StoredRow]:
        if is_sqlite(conn):  # SQLite keeps instants and dates as text: the column types read them
            return conn.execute(self.query, {"after": self.after}).all()
        # On PostgreSQL the driver's own values are those the column types would give (instants are
        # aware, dates are dates), so the query goes to the driver as text, compiled once per pass with
        # its parameters, and its values come back as the driver made them: a million plays skip a
        # million conversions of their instants.
        if self._driver_sql is None:
            state = self.query.params(after=0).compile(dialect=conn.dialect).construct_expanded_state()
            processors = state.processors
            self._driver_sql = state.statement, {
                name: processors[name](value) if name in processors else value
                for name, value in state.parameters.items()}
        sql, params = self._driver_sql
        return conn.exec_driver_sql(sql, {**params, "after": self.after}).all()


def batches(transaction: Transactions, keyset: Keyset, should_stop: Callable[[], bool]
            ) -> Iterator[tuple[Connection, list[PlayFacts], dict[int, Previous]]]:
    """Yield (connection, plays, latest pricing by play id) for the keyset's next batches, each
    inside its own transaction, until the pass is over or ``should_stop()``."""
    while not should_stop():
        with transaction() as conn:
            plays, latest = keyset.take(conn)
            if not plays:
                return
            yield conn, plays, latest


def price_batch(conn: Connection, plays: list[PlayFacts], latest: dict[int, Previous], book_: RateBook,
                catalog: Catalog, run_id: str, stats: PricingStats) -> list[Issue]:
    """Given a batch of plays and their latest pricings, price them and book every changed outcome;
    return the issues booked.

    ``catalog`` is the run's: works are read once per run (then only new tracks), and who is owed
    a work is decided once.
    """
    load_works(conn, [p.track_id for p in plays if p.track_id is not None], catalog.works)
    societies = catalog.societies
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
        try:
            outcome = price_play(play, book_, catalog)
        except Exception as error:  # one play that cannot be priced is parked with its reason, never the batch
            outcome = parked_play(play, societies.local.currency, error)
            if previous is None or previous.outcome_hash != outcome.outcome_hash:
                log.warning("play %s cannot be priced (%s): %s", play.id, outcome.reason, outcome.details)
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


def price_pending(transaction: Transactions, run_id: str, *, batch_size: int = BATCH_PLAYS,
                  should_stop: Callable[[], bool] = lambda: False, recalculate: bool = False,
                  date_from: date | None = None, date_to: date | None = None,
                  progress: Callable[[int], None] | None = None, workers: int = 1) -> PricingStats:
    """Given a transaction factory, run the three pricing passes; return what was booked.

    ``transaction()`` opens a fresh transaction (a job's :class:`~zamio.runtime.progress.Transactions`), or
    gives the same one for a single-transaction run (:func:`~zamio.runtime.progress.within`; then ``workers``
    must be 1).  With ``workers`` > 1 on PostgreSQL, that many batches are
    priced at once, each in its own transaction on its own connection: one prices while another
    waits for the database.  SQLite has one writer at a time: there, batches go one by one.
    """
    with transaction() as conn:
        rates, societies, holds = RateBook.load(conn), Societies.load(conn), Holds.load(conn)
        if is_sqlite(conn):
            workers = 1
    catalog = Catalog({}, societies, holds)  # this run's works: share tables are read once per run, not per batch
    stats = [PricingStats() for _ in range(max(workers, 1))]

    def work(keyset: Keyset, mine: PricingStats) -> None:
        for conn, plays, latest in batches(transaction, keyset, should_stop):
            price_batch(conn, plays, latest, rates, catalog, run_id, mine)
            if progress is not None:
                with keyset.lock:
                    progress(len(plays))

    with fewer_collections():
        for _name, query in candidate_queries(recalculate, date_from, date_to, run_id, holds):
            keyset = Keyset(query, batch_size)
            if len(stats) == 1:
                work(keyset, stats[0])
                continue
            with ThreadPoolExecutor(len(stats), thread_name_prefix="pricing") as pool:
                futures = [pool.submit(work, keyset, mine) for mine in stats]
                wait(futures, return_when=FIRST_EXCEPTION)
                keyset.done = True  # a failed worker stops the others after their current batch
                for future in futures:
                    future.result()
    return PricingStats.merged(stats)


def record_recalculation(conn: Connection, who: Who, date_from: date | None, date_to: date | None,
                         stats: PricingStats) -> int:
    """Given who asked for a ``--recalculate`` run and why, its play dates and what it booked, record its audit
    entry (``pricing.recalculate``); return the entry's id.  The money itself is in the ledger, version by
    version; the entry says who moved it, why, over which dates, and how much."""
    scope = f"{date_from or 'the first play'} to {date_to or 'the last play'}"
    return audit.record(conn, who, audit.Change(
        "pricing.recalculate", "royalty_pricings", scope,
        before={"from": date_from, "to": date_to},
        after={"reissued": dict(sorted(stats.statuses.items())), "unchanged": stats.unchanged,
               "gross_moved": dict(sorted(stats.gross.items()))}),
        event_key=f"pricing.recalculate:{who.run_id}" if who.run_id else None)


YOUNG_OBJECTS_PER_COLLECTION = 100_000  # the collector's first threshold while plays are priced (default 700)
_collections_lock = threading.Lock()
_collections_paused = 0
_collections_threshold: tuple[int, ...] = ()


@contextmanager
def fewer_collections() -> Iterator[None]:
    """While plays are priced, let the cyclic garbage collector run far less often.

    A batch allocates tens of thousands of tuples that live until the batch is written and then
    go by reference counting; with the default threshold the collector traverses each of them
    several times, and the run's catalog besides (a quarter of the job's Python time on the
    benchmark).  Pricing makes no reference cycles worth collecting sooner.  Runs at once in one
    process share one setting, restored by the last to finish.
    """
    global _collections_paused, _collections_threshold
    with _collections_lock:
        if _collections_paused == 0:
            _collections_threshold = gc.get_threshold()
            gc.set_threshold(YOUNG_OBJECTS_PER_COLLECTION, *_collections_threshold[1:])
        _collections_paused += 1
    try:
        yield
    finally:
        with _collections_lock:
            _collections_paused -= 1
            if _collections_paused == 0:
                gc.set_threshold(*_collections_threshold)
