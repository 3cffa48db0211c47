"""Export current plays of a date range as CSV, JSON or JSON lines.

Columns: station_ref, track_ref, isrc, title, artist, started_at, ended_at,
duration_seconds, source, confidence, detections, category, end_estimated,
single_observation, play_id.  Times are UTC ISO 8601; dates select plays by
their UTC start day, --to included.  CSV text cells that a spreadsheet would
treat as a formula are prefixed with a quote.

Examples:
    bin/export-playlogs --from 2026-03-01 --to 2026-03-31 --out march.csv
    bin/export-playlogs --from 2026-03-02 --to 2026-03-02 --station joy-fm --format jsonl
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from zamio.playlogs.terms import EXPORT_FORMATS
from zamio.runtime.errors import UsageError
from zamio.runtime.runner import Job, JobContext


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="date_from", required=True, type=date.fromisoformat, metavar="DATE",
                        help="first day (YYYY-MM-DD, UTC) of plays to export")
    parser.add_argument("--to", dest="date_to", required=True, type=date.fromisoformat, metavar="DATE",
                        help="last day (YYYY-MM-DD, UTC), included")
    parser.add_argument("--station", action="append", metavar="REF", help="only this station (repeat for more)")
    parser.add_argument("--format", choices=EXPORT_FORMATS, default="csv",
                        help="csv (default), json (one array) or jsonl (one object per line)")
    parser.add_argument("--out", type=Path, metavar="FILE", help="write here instead of standard output")


@dataclass(frozen=True)
class Settings:
    date_from: date
    date_to: date  # included
    stations: tuple[str, ...]  # station_refs; empty: every station
    format: str  # one of EXPORT_FORMATS
    out: Path | None  # None: standard output


def settings(args: argparse.Namespace) -> Settings:
    if args.date_to < args.date_from:
        raise UsageError(f"--to {args.date_to} is before --from {args.date_from}")
    return Settings(args.date_from, args.date_to, tuple(args.station or ()), args.format, args.out)


def main(ctx: JobContext) -> None:
    """Write the plays of the range to ``--out`` or standard output."""
    from zamio.playlogs.export import play_records, utc_days, write, write_file

    given = settings(ctx.args)
    start, end = utc_days(given.date_from, given.date_to)
    with ctx.transaction(read_only=True) as conn:
        records = list(play_records(conn, start, end, given.stations))
    if given.out is None:
        write(sys.stdout, records, given.format)
    else:
        write_file(given.out, records, given.format)
    ctx.ok(len(records))
    ctx.note(f"{len(records)} plays from {given.date_from} to {given.date_to}")


JOB = Job("export-playlogs", __doc__, main, add_arguments=add_arguments, dry_run_supported=False,
          lock_scope="host")
