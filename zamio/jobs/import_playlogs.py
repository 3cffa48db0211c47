"""Import plays reported by other monitoring services or partner societies from CSV.

Columns: station_ref, started_at (ISO 8601 with offset), duration_seconds, and
track_ref or isrc; optional title, artist, source, confidence, import_ref.  Rows
are stored as plays with source "imported"; importing a file again adds
nothing, and a row sent again under its import_ref with other facts is a
correction (a new version of its play).  Whoever reports an airing first bills
it: a row reporting an airing billed already is kept as a duplicate, never
billed.  Bad rows are listed with their line numbers (exit 1); a file that
cannot be read or lacks a column stops the import (exit 65).

Examples:
    bin/import-playlogs radiomonitor-2026-03.csv --source radiomonitor
    bin/import-playlogs station-logs/*.csv --dry-run
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from zamio.runtime.runner import Job, JobContext


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE.csv", help="CSV files of plays")
    parser.add_argument("--source", default="imported", metavar="NAME",
                        help="who reported the plays, when a row has no source column (default: %(default)s)")


@dataclass(frozen=True)
class Settings:
    files: tuple[Path, ...]
    source: str  # who reported the rows without a source column


def settings(args: argparse.Namespace) -> Settings:
    return Settings(tuple(args.files), args.source)


def main(ctx: JobContext) -> None:
    """Load each file in a transaction of its own; report bad rows with their line numbers."""
    from zamio.playlogs.imports import import_playlogs

    given = settings(ctx.args)
    import_playlogs(ctx.transaction, given.files, given.source, ctx)


JOB = Job("import-playlogs", __doc__, main, add_arguments=add_arguments)
