"""Apply retention to operational data; never delete plays, money or their audit trail.

Deletes, each after its retention: expired cache entries, sent e-mails, old
job runs, detections that are not part of a play, captures left without
detections (with their audio files), the audio files (not the rows or audio
hashes) of older captures whose money is settled, and rejected snippet files.
Music with no match heard once is forgotten after UNKNOWN_RETENTION_DAYS (90,
--unknown-days); an unknown recording keeps its excerpt file and its prints
while its suspense account unidentified:U-... holds money, and its prints go
once it is released and the recording was not heard for as long.
The audio behind a play stays until every pricing of the play was paid by a
cycle locked more than EVIDENCE_DISPUTE_WINDOW_DAYS (365) ago.  Works in batches, then
refreshes database statistics.  --dry-run prints what would go.

Runs on every host: each deletes the capture audio files it keeps (and their
rows), one run per host at a time; the database part is done by one host at a
time, and a host that finds it under way skips it.

--retired-host NAME does only this, from any other host: host NAME is out of
service and its files are gone with it, so the captures naming it forget their
audio files (rows and audio hashes stay), except those whose play's money is
not settled; recorded in the audit log (--by, --reason).  NAME must have run no
job for a day.

Examples:
    bin/cleanup-old-data --dry-run
    bin/cleanup-old-data --captures-days 180 --audio-days 60
    bin/cleanup-old-data --unknown-days 365
    bin/cleanup-old-data --retired-host monitor-2 --by ama --dry-run
"""

from __future__ import annotations

import argparse
import os
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from zamio.jobs.audit_options import add_by, who
from zamio.runtime.config import Config
from zamio.runtime.errors import TemporaryFailure, UsageError
from zamio.runtime.locks import held_if_free, holder_label, job_lock
from zamio.runtime.retention import BATCH_SIZE, DEFAULT_DAYS
from zamio.runtime.runner import Job, JobContext

if TYPE_CHECKING:
    from zamio.db.audit import Who
    from zamio.runtime.cleanup import Retention

#: The lock of the database part, taken by one host at a time (each run holds ``cleanup-old-data@HOST`` too).
DATABASE_PART_LOCK = "cleanup-old-data"
RETIRED_REASON = "the host is out of service and its capture audio files are gone with it"

HELP = {
    "captures": "delete captures with no detection after N days",
    "detections": "delete detections that are not part of a play after N days",
    "audio": "delete capture audio files after N days once their plays' money is settled (rows and audio hashes "
             "stay)",
    "job_runs": "delete job runs after N days (the last run and last success of each job stay)",
    "emails": "delete sent e-mails after N days",
    "snippets": "delete rejected snippet files after N days",
    "unknown": "forget music with no match heard once after N days (its unknown-index prints and candidate row), "
               "and the prints of an unknown recording not heard for N days once its suspense holds no money",
}
#: The retentions whose default is a setting rather than a constant: option → the setting's name.
FROM_SETTINGS = {"unknown": "UNKNOWN_RETENTION_DAYS"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    for option, days in DEFAULT_DAYS.items():
        setting = FROM_SETTINGS.get(option)
        default = f"{setting}, else {days}" if setting else str(days)
        parser.add_argument(f"--{option.replace('_', '-')}-days", dest=f"{option}_days", type=_days,
                            default=None if setting else days, metavar="N", help=f"{HELP[option]} (default {default})")
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE, metavar="N",
                        help=f"rows deleted per transaction (default {BATCH_SIZE})")
    parser.add_argument("--no-maintenance", action="store_true",
                        help="skip VACUUM/ANALYZE (PostgreSQL), optimize (SQLite)")
    parser.add_argument("--retired-host", metavar="NAME",
                        help="only release the audio references of the captures kept by host NAME, out of service "
                             "with its files (not those whose money is unsettled), recorded in the audit log")
    add_by(parser, f"with --retired-host: why, kept in the audit log (default: {RETIRED_REASON!r})")


def _days(text_value: str) -> int:
    value = int(text_value)
    if value < 1:
        raise argparse.ArgumentTypeError("retention must be at least 1 day")
    return value


@dataclass(frozen=True)
class Settings:
    retention: Retention
    maintenance: bool
    retired_host: str | None = None  # --retired-host: release that host's audio references, nothing else
    who: Who | None = None  # with --retired-host: who releases them, and why


def settings(args: argparse.Namespace, config: Config, run_id: str = "") -> Settings:
    from zamio.runtime.cleanup import Retention

    days = {option: getattr(args, f"{option}_days") for option in DEFAULT_DAYS}
    days["unknown"] = days["unknown"] or config.unknown_retention_days
    retired = (args.retired_host or "").strip() or None
    if args.retired_host is not None and retired is None:
        raise UsageError("--retired-host is empty: give the name the host recorded (captures.audio_host)")
    if retired is None and (args.by is not None or args.reason is not None):
        raise UsageError("--by and --reason go with --retired-host: nothing else here is a manual change")
    return Settings(Retention(days, args.batch_size, config.evidence_dispute_window_days), not args.no_maintenance,
                    retired, who(args, run_id, RETIRED_REASON) if retired else None)


def main(ctx: JobContext) -> None:
    """Every retention step in order, then maintenance; in a dry run count what would go.  With
    ``--retired-host``, only release that host's audio references."""
    from zamio.runtime.cleanup import Folders, cleanup_old_data

    given = settings(ctx.args, ctx.config, ctx.run_id)
    assert ctx.engine is not None  # the job needs the database: the runner opened it
    config = ctx.config
    lock = job_lock(config.database, config.var_dir, DATABASE_PART_LOCK,
                    holder_label(os.getpid(), config.host_name, ctx.run_id))
    if given.retired_host is not None:
        assert given.who is not None  # settings() gives one with --retired-host
        release(ctx, given.retired_host, given.who, given.retention, held_if_free(lock))
        return
    cleanup_old_data(ctx.transaction, ctx, ctx.engine, given.retention,
                     Folders(config.var_dir, config.inbox_dir, config.host_name),
                     dry_run=ctx.dry_run, maintenance=given.maintenance, database_part=held_if_free(lock))


def release(ctx: JobContext, host: str, by: Who, retention: Retention,
            database_part: AbstractContextManager[bool]) -> None:
    """Release retired ``host``'s audio references while holding the database part's lock."""
    from zamio.runtime.cleanup import release_retired_host

    with database_part as ours:
        if not ours:
            raise TemporaryFailure("the database part of cleanup-old-data is under way on another host; run this "
                                   "again when it is done")
        done = release_retired_host(ctx.transaction, ctx, host, ctx.config.host_name, by, dry_run=ctx.dry_run,
                                    batch_size=retention.batch_size,
                                    dispute_window_days=retention.dispute_window_days)
    ctx.note(f"host {host} retired: {done.released} capture audio reference(s) "
             + ("would be released" if ctx.dry_run else "released")
             + f", {done.held} kept for unsettled money")


JOB = Job("cleanup-old-data", __doc__, main, period_seconds=86400, add_arguments=add_arguments, lock_scope="host")
