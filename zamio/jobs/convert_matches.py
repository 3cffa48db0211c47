"""Merge detections into play logs: one play per airing, with start, end and duration.

Each station's detections are grouped by recording and implied start (capture time
minus the offset inside the recording); a play is written once its evidence is in
(a few minutes after it ends) and never rewritten: a late detection that changes a
stored play writes a new version that supersedes it.  Plays corrected by hand
(bin/correct-plays) are never rebuilt: a late detection inside one is set pinned
and left alone.  Detections that cannot be converted are retried with back-off,
then parked for review (bin/zamio-status).

Examples:
    bin/convert-matches
    bin/convert-matches --station joy-fm --dry-run -v
    bin/convert-matches --as-of 2026-03-02T18:00:00Z
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from zamio.playlogs.airings import DEFAULT_SETTLE_SECONDS, DEFAULT_START_TOLERANCE_SECONDS
from zamio.playlogs.terms import DEFAULT_BATCH_ROWS, DEFAULT_MAX_ATTEMPTS
from zamio.runtime.config import Config
from zamio.runtime.errors import UsageError
from zamio.runtime.runner import Job, JobContext
from zamio.values.instants import ImplausibleTime, parse_play_time

if TYPE_CHECKING:
    from zamio.playlogs.convert import ConvertSettings, StationResult


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--station", action="append", metavar="REF",
                        help="convert only this station (station_ref; repeat for more)")
    parser.add_argument("--as-of", metavar="TIME", type=as_of_time,
                        help="treat TIME (ISO 8601 with offset, from 1970 to a day ahead of now) as now: replay "
                             "history, e.g. a simulated day")
    parser.add_argument("--tolerance-seconds", type=float, default=DEFAULT_START_TOLERANCE_SECONDS, metavar="S",
                        help="detections whose implied starts differ by more are different airings "
                             "(default: %(default)s)")
    parser.add_argument("--settle-seconds", type=float, default=None, metavar="S",
                        help="wait this long after an airing's last possible detection before writing it "
                             "(default: 300, or two scan intervals plus a capture if longer)")
    parser.add_argument("--max-attempts", type=int, default=DEFAULT_MAX_ATTEMPTS, metavar="N",
                        help="park a detection that failed to convert N times (default: %(default)s)")
    parser.add_argument("--batch-rows", type=int, default=DEFAULT_BATCH_ROWS, metavar="N",
                        help="capture rows read per station transaction (default: %(default)s)")


def as_of_time(text: str) -> datetime:
    """``--as-of``: an ISO 8601 time with an offset that a play can have; ArgumentTypeError otherwise.

    The converter writes plays up to this time, so it is bounded like every play time people give.
    """
    from zamio.db.engine import utcnow

    try:
        return parse_play_time(text, utcnow())
    except ImplausibleTime as error:
        raise argparse.ArgumentTypeError(f"{text!r} {error}") from None
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time with an offset such as "
                                         f"2026-03-02T18:00:00Z ({error})") from None


@dataclass(frozen=True)
class Settings:
    convert: ConvertSettings
    station_refs: tuple[str, ...]  # empty: every station with detections waiting
    as_of: datetime | None  # None: now


def settings(args: argparse.Namespace, config: Config) -> Settings:
    """The converter's settings from its options and the scan settings of the configuration."""
    from zamio.playlogs.convert import LOOKBACK_SCAN_INTERVALS, ConvertSettings

    interval = float(config.scan_interval_seconds)
    capture = float(config.capture_seconds)
    settle = args.settle_seconds if args.settle_seconds is not None else max(
        DEFAULT_SETTLE_SECONDS, 2 * interval + capture)
    if args.tolerance_seconds < 0 or settle < 0 or args.max_attempts < 1 or args.batch_rows < 10:
        raise UsageError("--tolerance-seconds and --settle-seconds must be >= 0, --max-attempts >= 1, "
                         "--batch-rows >= 10")
    convert = ConvertSettings(
        start_tolerance_seconds=args.tolerance_seconds, settle_seconds=settle,
        lookback_seconds=LOOKBACK_SCAN_INTERVALS * interval, batch_rows=args.batch_rows,
        max_attempts=args.max_attempts,
    )
    return Settings(convert, tuple(args.station or ()), args.as_of)


def main(ctx: JobContext) -> None:
    """Convert every station with waiting detections, one after another."""
    from zamio.db.engine import utcnow
    from zamio.playlogs.convert import StationResult, convert_station, pending_stations, station_ids

    given = settings(ctx.args, ctx.config)
    now = given.as_of or utcnow()
    with ctx.transaction(read_only=True) as conn:
        wanted = station_ids(conn, given.station_refs) if given.station_refs else None
        todo = pending_stations(conn, now, wanted)
    assert ctx.engine is not None  # the job needs the database: the runner opened it
    total = StationResult()
    for station_id in ctx.progress(todo, len(todo), "stations"):
        if ctx.should_stop():
            break
        result = convert_station(ctx.engine, station_id, now, given.convert, dry_run=ctx.dry_run,
                                 should_stop=ctx.should_stop)
        total.add(result)
        ctx.ok(result.stored)
        for detection_id, message in result.failed:
            ctx.failed(f"station {station_id} detection {detection_id}", message)
    ctx.note(summary(total, len(todo)))


def summary(total: StationResult, stations_seen: int) -> str:
    """The run's phrase for the summary line: stations and plays, then only the counts that are not zero."""
    parts = [f"{stations_seen} stations", f"{total.stored} plays stored"]
    for count, label in ((total.revised, "revised"), (total.withdrawn, "withdrawn"),
                         (total.parked, "detections parked"), (total.conflicts, "conflicting detections"),
                         (total.duplicates, "already billed from another report"),
                         (total.pinned, "detections left to corrections by hand")):
        if count:
            parts.append(f"{count} {label}")
    return ", ".join(parts)


JOB = Job("convert-matches", __doc__, main, period_seconds=120, add_arguments=add_arguments)
