"""Show whether every scheduled job is succeeding, and what waits for review.

Lists each job of crontab.txt with its schedule, last run, last success, last
error and items, then what waits for review (in the database, and snippets set
aside in the inbox, SNIPPET_INBOX else var/inbox).  With --check, exits 1 naming
each job that is overdue (no success within twice its period) or failing, for a
monitoring system to call.

With --audit, lists the audit log instead: every manual change to money or plays
(corrections of plays, declarations, recalculations, files written despite changed
inputs, reference data loaded), with who made it, why, and the state before and
after, for the UTC days --since to --until (both included; default: everything),
as text, --json, or --csv (one row per entry, for a spreadsheet).

Examples:
    bin/zamio-status
    bin/zamio-status --json
    bin/zamio-status --check -q || echo "zamio needs attention"
    bin/zamio-status --audit --since 2026-03-01 --until 2026-03-31
    bin/zamio-status --audit --since 2026-03-01 --csv > audit-march.csv
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from zamio.files import csvwrite
from zamio.runtime.errors import UsageError
from zamio.runtime.runner import Job, JobContext
from zamio.runtime.schedule import read_crontab


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--check", action="store_true", help="exit 1 if a job is overdue or failing")
    parser.add_argument("--audit", action="store_true", help="list the audit log (manual changes to money and "
                                                             "plays) instead")
    parser.add_argument("--since", type=_day, metavar="YYYY-MM-DD", help="with --audit: the first UTC day listed")
    parser.add_argument("--until", type=_day, metavar="YYYY-MM-DD", help="with --audit: the last UTC day listed")
    parser.add_argument("--csv", action="store_true", help="with --audit: print CSV (one row per entry)")


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a day like 2026-03-01") from None


@dataclass(frozen=True)
class Settings:
    as_json: bool
    check: bool
    audit: bool
    since: datetime | None  # with --audit: the period's first instant
    until: datetime | None  # and the instant after it (the day after --until)
    as_csv: bool


def settings(args: argparse.Namespace) -> Settings:
    if not args.audit and (args.since or args.until or args.csv):
        raise UsageError("--since, --until and --csv go with --audit")
    if args.audit and args.check:
        raise UsageError("--check looks at the jobs; --audit lists the audit log: give one of them")
    if args.json and args.csv:
        raise UsageError("give --json or --csv, not both")
    if args.since and args.until and args.until < args.since:
        raise UsageError(f"--until {args.until} is before --since {args.since}")
    since = datetime.combine(args.since, time(), UTC) if args.since else None
    until = datetime.combine(args.until + timedelta(days=1), time(), UTC) if args.until else None
    return Settings(args.json, args.check, args.audit, since, until, args.csv)


def main(ctx: JobContext) -> int:
    """Print the table (or JSON); with ``--check`` exit 1 if a job is overdue or failing; with ``--audit`` list the
    audit log of the period."""
    from zamio.runtime.status import attention, attention_files, collect, problems, render

    given = settings(ctx.args)
    if given.audit:
        return list_audit(ctx, given)
    with ctx.transaction(read_only=True) as conn:
        statuses = collect(conn, read_crontab())
        waiting = attention(conn)
    waiting.update(attention_files(ctx.config.inbox_dir))
    if given.as_json:
        print(json.dumps({"jobs": [s.as_json() for s in statuses], "waiting": waiting}, indent=2))
    else:
        print(render(statuses, waiting))
    if not given.check:
        return 0
    found = problems(statuses)
    for problem in found:
        ctx.failed("check", problem)
    return 1 if found else 0


def list_audit(ctx: JobContext, given: Settings) -> int:
    """Print the audit log entries of the period asked for, as text, JSON or CSV."""
    from zamio.db.audit import CSV_COLUMNS, entries
    from zamio.runtime.status import audit_text

    with ctx.transaction(read_only=True) as conn:
        found = entries(conn, given.since, given.until)
    if given.as_json:
        print(json.dumps([entry.as_json() for entry in found], indent=2))
    elif given.as_csv:
        sys.stdout.write(csvwrite.text(CSV_COLUMNS, [entry.csv_row() for entry in found]))
    else:
        print(audit_text(found, given.since, given.until))
    return 0


JOB = Job("zamio-status", __doc__, main, add_arguments=add_arguments, dry_run_supported=False, record_runs=False,
          read_only=True)
