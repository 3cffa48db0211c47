"""Price every final, not yet priced play and split it into the royalty ledger.

Each play is valued by the rate card in force for its station's class and the
time-of-day period of its start in the station's own time zone, checked against
the eligibility rule, and split between the parties owed (contributors, artists,
publishers, partner societies less the admin fee, or suspense with a reason).
Plays in suspense are re-examined on every run; --recalculate re-examines all
priced plays after a correction and books reversals plus new lines, and records
who asked (--by, default the OS user), why (--reason) and what moved in the
audit log.

Examples:
    bin/calculate-royalty-distributions
    bin/calculate-royalty-distributions --dry-run -v
    bin/calculate-royalty-distributions --recalculate --from 2026-03-01 --to 2026-03-31
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from zamio.jobs.audit_options import add_by, who
from zamio.royalties.terms import BATCH_PLAYS, WORKERS
from zamio.runtime.errors import UsageError
from zamio.runtime.runner import Job, JobContext

if TYPE_CHECKING:
    from zamio.db.audit import Who
    from zamio.royalties.pricing.run import PricingStats
    from zamio.runtime.progress import Progress


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--batch-size", type=int, default=BATCH_PLAYS, metavar="N",
                        help=f"plays per transaction (default {BATCH_PLAYS})")
    parser.add_argument("--workers", type=int, default=WORKERS, metavar="N",
                        help=f"batches priced at once, each on its own connection (PostgreSQL; default "
                             f"{WORKERS}; SQLite always prices one batch at a time)")
    parser.add_argument("--recalculate", action="store_true",
                        help="re-examine every priced play (after a rate or share correction): "
                             "reverse and rebook those whose money changed")
    parser.add_argument("--from", dest="date_from", type=date.fromisoformat, metavar="YYYY-MM-DD",
                        help="with --recalculate: first station-local play date to re-examine")
    parser.add_argument("--to", dest="date_to", type=date.fromisoformat, metavar="YYYY-MM-DD",
                        help="with --recalculate: last station-local play date to re-examine")
    add_by(parser, "with --recalculate: why, kept in the audit log with what the run moved (default: "
                   f"{DEFAULT_REASON!r})")


DEFAULT_REASON = "re-examination of priced plays after a correction of rates or shares"


@dataclass(frozen=True)
class Settings:
    batch_size: int
    workers: int
    recalculate: bool
    date_from: date | None
    date_to: date | None
    who: Who | None  # with --recalculate: who asked for it, and why


def settings(args: argparse.Namespace, run_id: str = "") -> Settings:
    if not args.recalculate and (args.by is not None or args.reason is not None):
        raise UsageError("--by and --reason go with --recalculate: the hourly pricing is nobody's manual change")
    asked_by = who(args, run_id, DEFAULT_REASON) if args.recalculate else None
    return Settings(args.batch_size, args.workers, args.recalculate, args.date_from, args.date_to, asked_by)


def main(ctx: JobContext) -> None:
    """Price pending plays, count outcomes, report unpriced plays as failures; record a recalculation in the
    audit log."""
    from zamio.royalties.pricing.run import price_pending, record_recalculation

    given = settings(ctx.args, ctx.run_id)
    stats = price_pending(
        ctx.transaction, ctx.run_id, batch_size=given.batch_size, should_stop=ctx.should_stop,
        recalculate=given.recalculate, date_from=given.date_from, date_to=given.date_to, workers=given.workers)
    count(stats, ctx)
    if given.who is not None and not ctx.dry_run:
        with ctx.transaction() as conn:
            entry = record_recalculation(conn, given.who, given.date_from, given.date_to, stats)
        ctx.note(f"audit entry {entry}")


def count(stats: PricingStats, progress: Progress) -> None:
    """Count what a pricing run booked: priced plays ok, unchanged ones skipped, unpriced ones failed."""
    from zamio.royalties.pricing.price import UNPRICED_REASONS

    unpriced = stats.statuses.get("unpriced", 0)
    progress.ok(stats.booked - unpriced)
    progress.skipped(stats.unchanged)
    if unpriced:
        reasons = ", ".join(f"{r} {n}" for r, n in sorted(stats.reasons.items()) if r in UNPRICED_REASONS)
        progress.failed(f"{unpriced} plays", f"cannot be priced ({reasons}): load rate cards, fix the station's "
                                             "class or time zone, or correct the play (bin/suspense-report lists "
                                             "them); the next run prices them", n=unpriced)
    for phrase in stats.phrases():
        progress.note(phrase)


JOB = Job("calculate-royalty-distributions", __doc__, main, period_seconds=3600, add_arguments=add_arguments)
