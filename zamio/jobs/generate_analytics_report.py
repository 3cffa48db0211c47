"""Write an analytics report for a station, artist, publisher or the platform.

Plays by day and by hour (station-local hours for a station), top tracks and
stations, royalties from the ledger, detection confidence and coverage gaps,
for whole days --from..--to, as CSV (one file per section, safe to open in a
spreadsheet), JSON and an HTML page with charts.  Files go to --out, else to
REPORTS_DIR (a folder every host sees), else to var/reports/; the paths written
are printed.

Examples:
    bin/generate-analytics-report --type platform
    bin/generate-analytics-report --type station --ref JOY --from 2026-03-01 --to 2026-03-31
    bin/generate-analytics-report --type artist --ref A12 --from 2026-01-01 --to 2026-03-31 --format html --out /tmp
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from zamio.reports.terms import FORMATS, REPORT_TYPES
from zamio.runtime.errors import UsageError
from zamio.runtime.runner import Job, JobContext


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--type", required=True, choices=REPORT_TYPES, help="what the report is about")
    parser.add_argument("--ref", help="the station, artist or publisher ref (or numeric id); not for platform")
    parser.add_argument("--from", dest="date_from", type=_date, metavar="YYYY-MM-DD",
                        help="first day, inclusive (default: yesterday)")
    parser.add_argument("--to", dest="date_to", type=_date, metavar="YYYY-MM-DD",
                        help="last day, inclusive (default: --from, or yesterday)")
    parser.add_argument("--format", default=",".join(FORMATS), metavar="LIST",
                        help="comma-separated: csv, json, html (default: all three)")
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="output folder (default: $REPORTS_DIR, else $ZAMIO_VAR_DIR/reports)")


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-03-31") from None


def formats_of(text: str) -> tuple[str, ...]:
    """Given ``--format``, return the formats in a fixed order; raise UsageError for an unknown one."""
    wanted = {f.strip().lower() for f in text.split(",") if f.strip()}
    unknown = wanted - set(FORMATS)
    if unknown or not wanted:
        raise UsageError(f"--format takes a list of {', '.join(FORMATS)}; got {text!r}")
    return tuple(f for f in FORMATS if f in wanted)


@dataclass(frozen=True)
class Settings:
    kind: str
    ref: str | None
    date_from: date
    date_to: date
    formats: tuple[str, ...]
    folder: Path


def settings(args: argparse.Namespace, now: datetime, reports_dir: Callable[[], Path]) -> Settings:
    """The report asked for; the days default to the one before ``now`` (UTC), the folder to ``reports_dir()``."""
    formats = formats_of(args.format)
    date_from = args.date_from or (now - timedelta(days=1)).date()
    date_to = args.date_to or (args.date_from or date_from)
    return Settings(args.type, args.ref, date_from, date_to, formats, args.out or reports_dir())


def main(ctx: JobContext) -> None:
    """Resolve the subject, build the document in one read transaction, write the requested files."""
    from zamio.db.engine import utcnow
    from zamio.reports import data
    from zamio.reports.writing import base_name, write

    now = utcnow()
    given = settings(ctx.args, now, ctx.config.reports_dir)
    with ctx.transaction(read_only=True) as conn:
        subject = data.find_subject(conn, given.kind, given.ref)
        doc = data.build(conn, subject, given.date_from, given.date_to, now)
    base = base_name(doc)
    if ctx.dry_run:
        ctx.note(f"would write {', '.join(given.formats)} as {given.folder / base}.*")
        return
    given.folder.mkdir(parents=True, exist_ok=True)
    written = write(doc, given.folder, base, given.formats)
    if not ctx.args.quiet:  # the schedule's runs (-q) print nothing, so cron mails only a failure
        print(*written, sep="\n")
    ctx.ok(len(written))
    ctx.note(f"{doc['totals']['plays']} plays, {len(written)} file(s) in {given.folder}")


JOB = Job("generate-analytics-report", __doc__, main, period_seconds=86400, add_arguments=add_arguments)
