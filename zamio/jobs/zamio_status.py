"""Show whether every scheduled job is succeeding, and what waits for review.

Lists each job of crontab.txt with its schedule, last run, last success, last
error and items, then what waits for review (in the database, and snippets set
aside in the inbox, SNIPPET_INBOX else var/inbox).  With --check, exits 1 naming
each job that is overdue (no success within twice its period) or failing, for a
monitoring system to call.

Examples:
    bin/zamio-status
    bin/zamio-status --json
    bin/zamio-status --check -q || echo "zamio needs attention"
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass

from zamio.runtime.runner import Job, JobContext
from zamio.runtime.schedule import read_crontab
from zamio.runtime.status import attention, attention_files, collect, problems, render


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--check", action="store_true", help="exit 1 if a job is overdue or failing")


@dataclass(frozen=True)
class Settings:
    as_json: bool
    check: bool


def settings(args: argparse.Namespace) -> Settings:
    return Settings(args.json, args.check)


def main(ctx: JobContext) -> int:
    """Print the table (or JSON); with ``--check`` exit 1 if a job is overdue or failing."""
    given = settings(ctx.args)
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


JOB = Job("zamio-status", __doc__, main, add_arguments=add_arguments, dry_run_supported=False, record_runs=False,
          read_only=True)
