"""Apply retention to operational data; never delete plays, money or their audit trail.

Deletes, each after its retention: expired cache entries, sent e-mails, old
job runs, detections that are not part of a play, captures left without
detections (with their audio files), the audio files (not the rows or audio
hashes) of older captures whose money is settled, and rejected snippet files.
The audio behind a play stays until every pricing of the play was paid by a
cycle locked more than EVIDENCE_DISPUTE_WINDOW_DAYS (365) ago.  Works in batches, then
refreshes database statistics.  --dry-run prints what would go.

Runs on every host: each deletes the capture audio files it keeps (and their
rows), one run per host at a time; the database part is done by one host at a
time, and a host that finds it under way skips it.

Examples:
    bin/cleanup-old-data --dry-run
    bin/cleanup-old-data --captures-days 180 --audio-days 60
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass

from zamio.runtime.cleanup import BATCH_SIZE, DEFAULT_DAYS, Folders, Retention, cleanup_old_data
from zamio.runtime.config import Config
from zamio.runtime.locks import held_if_free, holder_label, job_lock
from zamio.runtime.runner import Job, JobContext

#: The lock of the database part, taken by one host at a time (each run holds ``cleanup-old-data@HOST`` too).
DATABASE_PART_LOCK = "cleanup-old-data"

HELP = {
    "captures": "delete captures with no detection after N days",
    "detections": "delete detections that are not part of a play after N days",
    "audio": "delete capture audio files after N days once their plays' money is settled (rows and audio hashes "
             "stay)",
    "job_runs": "delete job runs after N days (the last run and last success of each job stay)",
    "emails": "delete sent e-mails after N days",
    "snippets": "delete rejected snippet files after N days",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    for option, days in DEFAULT_DAYS.items():
        parser.add_argument(f"--{option.replace('_', '-')}-days", dest=f"{option}_days", type=_days, default=days,
                            metavar="N", help=f"{HELP[option]} (default {days})")
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE, metavar="N",
                        help=f"rows deleted per transaction (default {BATCH_SIZE})")
    parser.add_argument("--no-maintenance", action="store_true",
                        help="skip VACUUM/ANALYZE (PostgreSQL), optimize (SQLite)")


def _days(text_value: str) -> int:
    value = int(text_value)
    if value < 1:
        raise argparse.ArgumentTypeError("retention must be at least 1 day")
    return value


@dataclass(frozen=True)
class Settings:
    retention: Retention
    maintenance: bool


def settings(args: argparse.Namespace, config: Config) -> Settings:
    days = {option: getattr(args, f"{option}_days") for option in DEFAULT_DAYS}
    return Settings(Retention(days, args.batch_size, config.evidence_dispute_window_days), not args.no_maintenance)


def main(ctx: JobContext) -> None:
    """Every retention step in order, then maintenance; in a dry run count what would go."""
    given = settings(ctx.args, ctx.config)
    assert ctx.engine is not None  # the job needs the database: the runner opened it
    config = ctx.config
    lock = job_lock(config.database, config.var_dir, DATABASE_PART_LOCK,
                    holder_label(os.getpid(), config.host_name, ctx.run_id))
    cleanup_old_data(ctx.transaction, ctx, ctx.engine, given.retention,
                     Folders(config.var_dir, config.inbox_dir, config.host_name),
                     dry_run=ctx.dry_run, maintenance=given.maintenance, database_part=held_if_free(lock))


JOB = Job("cleanup-old-data", __doc__, main, period_seconds=86400, add_arguments=add_arguments, lock_scope="host")
