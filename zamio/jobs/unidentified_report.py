"""List the unknown recordings, ranked, with their excerpts to listen to and the money they hold.

One row per unknown recording (U-000001: music heard at least twice that the
catalog lacks) with a current play or money held: its plays, the stations that
aired it, the first and last time it was heard (UTC and the station's time),
the money its suspense account unidentified:U-... holds for those plays (exact,
per currency; released money is not held), the stream title a station sent with
it, and its excerpt.  Ranked by plays (default) or by money held (--by-money),
for every play or those of --station and the UTC days --from..--to, the first
--limit only if given.

Writes a CSV and an HTML page with a player per excerpt (its path relative to
the page, so the page opens from disk; a deleted excerpt says so): by default
unidentified-YYYY-MM-DD.csv and .html in REPORTS_DIR (else var/reports/), or
where --csv and --html say.  The page's template is unidentified.html.j2, which
a file of that name in TEMPLATES_DIR replaces.  Prints a short summary
(nothing with -q, as the schedule runs it).

Examples:
    bin/unidentified-report
    bin/unidentified-report --by-money --limit 50
    bin/unidentified-report --station JOY --from 2026-03-01 --to 2026-03-31 --html /tmp/unknown.html
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from zamio.runtime.errors import UsageError
from zamio.runtime.runner import Job, JobContext

ORDERS = ("plays", "money")  # what the list is ranked by (zamio.reports.unidentified.ranked)

WEEK_SECONDS = 7 * 86400


def add_arguments(parser: argparse.ArgumentParser) -> None:
    order = parser.add_mutually_exclusive_group()
    order.add_argument("--order", choices=ORDERS, default="plays", help="rank by plays (default) or money held")
    order.add_argument(
        "--by-money",
        dest="order",
        action="store_const",
        const="money",
        help="rank by money held (the same as --order money)",
    )
    parser.add_argument(
        "--station", action="append", default=[], metavar="REF", help="only the plays of this station (repeat for more)"
    )
    parser.add_argument(
        "--from", dest="date_from", type=_day, metavar="YYYY-MM-DD", help="only plays from this UTC day on"
    )
    parser.add_argument(
        "--to", dest="date_to", type=_day, metavar="YYYY-MM-DD", help="only plays up to this UTC day, inclusive"
    )
    parser.add_argument("--limit", type=_count, metavar="N", help="only the first N recordings")
    parser.add_argument(
        "--csv", type=Path, metavar="FILE", help="write the CSV here (default: REPORTS_DIR/unidentified-<today>.csv)"
    )
    parser.add_argument(
        "--html", type=Path, metavar="FILE", help="write the page here (default: REPORTS_DIR/unidentified-<today>.html)"
    )


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a day like 2026-03-31") from None


def _count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give a whole number of recordings, 1 or more")
    return int(text)


@dataclass(frozen=True)
class Settings:
    order: str
    stations: list[str]
    date_from: date | None
    date_to: date | None
    limit: int | None
    csv: Path
    html: Path


def settings(args: argparse.Namespace, now: datetime, reports_dir: Path | None) -> Settings:
    """The report asked for; files default to ``reports_dir`` (None: it is needed only when a file is not named)."""
    from zamio.reports import unidentified_page as page

    if args.date_from and args.date_to and args.date_to < args.date_from:
        raise UsageError(f"--to {args.date_to} is before --from {args.date_from}")
    csv_default, html_default = page.default_paths(reports_dir or Path("."), now.date())
    return Settings(
        args.order,
        list(dict.fromkeys(args.station)),
        args.date_from,
        args.date_to,
        args.limit,
        args.csv or csv_default,
        args.html or html_default,
    )


def main(ctx: JobContext) -> None:
    """Read the recordings in one read transaction, rank them, write the CSV and the page, print the summary."""
    from zamio.db.engine import utcnow
    from zamio.reports import unidentified_page as page
    from zamio.reports.unidentified import Selection, ranked, recordings, station_ids
    from zamio.royalties.statements.write import write_text

    now = utcnow()
    named = ctx.args.csv is not None and ctx.args.html is not None
    given = settings(ctx.args, now, None if named else ctx.config.reports_dir())
    template = page.page_template(ctx.config.templates_dir)  # a broken template of the society's stops us here
    with ctx.transaction(read_only=True) as conn:
        ids = station_ids(conn, given.stations) if given.stations else ()
        selection = Selection(ids, given.date_from, given.date_to)
        found = ranked(recordings(conn, selection), given.order, given.limit)
    described = page.selection_text(selection, given.stations)
    quiet = ctx.args.quiet  # the schedule's runs (-q) print nothing, so cron mails only a failure
    if not quiet:
        print("\n".join(page.summary_lines(found, given.order, described)))
    ctx.ok(len(found))
    if ctx.dry_run:
        ctx.note(f"{len(found)} recordings; would write {given.csv} and {given.html}")
        return
    config = ctx.config
    write_text(given.csv, page.csv_text(found, config.var_dir, config.host_name))
    facts = page.PageFacts(now, given.order, described, config.society_name or "zamio")
    write_text(given.html, page.page_html(template, found, facts, given.html, config.var_dir, config.host_name))
    if not quiet:
        print(given.csv)
        print(given.html)
    ctx.note(f"{len(found)} unknown recordings, {sum(r.plays for r in found)} plays; wrote {given.csv}, {given.html}")


JOB = Job("unidentified-report", __doc__, main, period_seconds=WEEK_SECONDS, add_arguments=add_arguments)
