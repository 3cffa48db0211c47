"""Fingerprint chosen tracks now, with a progress bar on a terminal.

Tracks that already have the current fingerprint version are skipped unless
--force is given (which also retries tracks parked as failed).  Then the open unknown
recordings are checked against the new tracks, as bin/auto-fingerprint-new-tracks does
(UNKNOWN_AUTO_NAMING).

Examples:
    bin/batch-fingerprint-tracks --track GH-001 GH-002
    bin/batch-fingerprint-tracks --all --force
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from zamio.runtime.runner import Job, JobContext


def add_arguments(parser: argparse.ArgumentParser) -> None:
    chosen = parser.add_mutually_exclusive_group(required=True)
    chosen.add_argument("--track", nargs="+", metavar="REF", help="the track_ref of each track to fingerprint")
    chosen.add_argument("--all", action="store_true", help="every active track with audio")
    parser.add_argument("--force", action="store_true",
                        help="fingerprint again tracks that already have the current version (and parked ones)")


@dataclass(frozen=True)
class Settings:
    track_refs: tuple[str, ...] | None  # None: every active track with audio (--all)
    force: bool


def settings(args: argparse.Namespace) -> Settings:
    return Settings(None if args.all else tuple(args.track), args.force)


def main(ctx: JobContext) -> None:
    """Fingerprint the tracks named by ``--track`` (or ``--all``) now, with a
    progress bar on a terminal; ``--force`` redoes tracks already done or parked."""
    from zamio.jobs.auto_fingerprint_new_tracks import name_from_catalog
    from zamio.recognition.enrolment import fingerprint_queued, has_current, requeue, select_tracks
    from zamio.recognition.reference import check_reference_fingerprint

    given = settings(ctx.args)
    if not ctx.dry_run:
        check_reference_fingerprint()  # exit 78 before any write on a host whose numpy/scipy differ
    with ctx.transaction(read_only=ctx.dry_run) as conn:
        ids = select_tracks(conn, given.track_refs)
        chosen = ids if given.force else [i for i in ids if not has_current(conn, i)]
        ctx.skipped(len(ids) - len(chosen))
        if not ctx.dry_run:
            requeue(conn, chosen)
    if ctx.dry_run:
        ctx.note(f"{len(chosen)} tracks would be fingerprinted")
        return
    track_ids = chosen if given.track_refs is not None else None
    working = fingerprint_queued(ctx.transaction, ctx, owner=ctx.owner, limit=len(chosen), track_ids=track_ids)
    for _ in ctx.progress(working, total=len(chosen), label="fingerprinting"):
        pass  # each track is counted as it is done
    name_from_catalog(ctx)


JOB = Job("batch-fingerprint-tracks", __doc__, main, add_arguments=add_arguments, lock_scope="host")
