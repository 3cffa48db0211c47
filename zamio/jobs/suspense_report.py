"""List the money held in suspense by age, and declare what is past the limit non-distributable.

One line per station, month of use and suspense account (reason and recording:
ISRC, catalog track, ACRCloud id or title), with the plays and amount still held,
the age since the end of that month, and the day the money becomes
non-distributable: --years (default 3) after the end of the year of use.  Items
on or past that day are flagged PAST LIMIT.  --declare moves their money to the
non_distributable account with append-only ledger lines, shown by the next cycle,
and records who did it (--by, default the OS user) and why (--reason, default the
limit and the day) in the audit log.

Examples:
    bin/suspense-report
    bin/suspense-report --as-of 2030-01-15 --years 3 --csv var/suspense.csv
    bin/suspense-report --declare --dry-run
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from zamio.files import csvwrite
from zamio.jobs.audit_options import add_by, who
from zamio.royalties.terms import DEFAULT_LIMIT_YEARS
from zamio.runtime.errors import UsageError
from zamio.runtime.runner import Job, JobContext

if TYPE_CHECKING:
    from zamio.db.audit import Who
    from zamio.royalties.suspense.report import Policy


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--as-of", type=date.fromisoformat, metavar="YYYY-MM-DD",
                        help="the day ages are counted to (default today, UTC)")
    parser.add_argument("--years", type=int, default=DEFAULT_LIMIT_YEARS, metavar="N",
                        help=f"money is non-distributable N years after the end of the year of use "
                             f"(default {DEFAULT_LIMIT_YEARS}, the EU rule)")
    parser.add_argument("--csv", type=Path, metavar="FILE", help="also write every item, with all its columns, here")
    parser.add_argument("--declare", action="store_true",
                        help="move the money of the plays past the limit to the non_distributable account "
                             "(append-only ledger lines; shown by the next cycle), recorded in the audit log")
    add_by(parser, "with --declare: why, kept in the audit log (default: the limit and the day)")


@dataclass(frozen=True)
class Settings:
    policy: Policy
    as_of: date
    csv: Path | None
    declare: bool
    who: Who | None  # with --declare: who declares, and why


def settings(args: argparse.Namespace, run_id: str = "") -> Settings:
    from zamio.royalties.suspense.declarations import default_reason
    from zamio.royalties.suspense.report import MAX_LIMIT_YEARS, Policy

    if not 0 <= args.years <= MAX_LIMIT_YEARS:
        raise UsageError(f"--years {args.years}: give a number of years from 0 to {MAX_LIMIT_YEARS}")
    if not args.declare and (args.by is not None or args.reason is not None):
        raise UsageError("--by and --reason go with --declare: a report changes nothing")
    policy, as_of = Policy(args.years), args.as_of or datetime.now(UTC).date()
    declared_by = who(args, run_id, default_reason(as_of, policy)) if args.declare else None
    return Settings(policy, as_of, args.csv, args.declare, declared_by)


def main(ctx: JobContext) -> None:
    """Print the ageing of the money in suspense, write ``--csv``, ``--declare`` if asked."""
    from zamio.royalties.statements.write import write_text
    from zamio.royalties.suspense.declarations import declare_past_limit
    from zamio.royalties.suspense.report import (
        CSV_COLUMNS,
        ageing,
        csv_rows,
        declared_total,
        held_items,
        report_lines,
        unpriced_lines,
        unpriced_plays,
    )

    given = settings(ctx.args, ctx.run_id)
    with ctx.transaction(read_only=True) as conn:
        items = ageing(held_items(conn), given.as_of, given.policy)
        declared = declared_total(conn)
        unpriced = unpriced_plays(conn)
    print("\n".join(report_lines(items, given.as_of, given.policy, declared) + unpriced_lines(unpriced)))
    if given.csv is not None and not ctx.dry_run:
        write_text(given.csv, csvwrite.text(CSV_COLUMNS, csv_rows(items, given.as_of)))
    ctx.ok(len(items))
    ctx.note(f"{len(items)} items held, {sum(a.past_limit(given.as_of) for a in items)} past the limit, "
             f"{sum(u.plays for u in unpriced)} plays not priced")
    if given.declare:
        done = declare_past_limit(ctx.transaction, ctx.run_id, given.as_of, given.policy,
                                  should_stop=ctx.should_stop, who=given.who)
        print(done.line(ctx.dry_run))
        ctx.note(f"{done.plays} plays declared non-distributable")


JOB = Job("suspense-report", __doc__, main, add_arguments=add_arguments)
