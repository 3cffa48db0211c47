"""Delete old fingerprint versions: keep the newest two sets of each track.

A track whose only set is of an old version keeps it.  Deletes a few sets per
transaction, so scanning goes on undisturbed.

Examples:
    bin/cleanup-old-fingerprints
    bin/cleanup-old-fingerprints --keep 1 --dry-run
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from zamio.runtime.errors import UsageError
from zamio.runtime.runner import Job, JobContext

KEEP_VERSIONS = 2  # the current fingerprint version and the one before it


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--keep", type=int, default=KEEP_VERSIONS, metavar="N",
                        help=f"fingerprint versions kept per track, newest first (default {KEEP_VERSIONS})")
    parser.add_argument("--no-maintenance", action="store_true",
                        help="skip rebuilding the hash index when it has grown sparse or its form "
                             "(FINGERPRINT_INDEX_COVERING) changed (PostgreSQL)")


@dataclass(frozen=True)
class Settings:
    keep: int  # fingerprint versions kept per track, newest first
    maintenance: bool  # rebuild the hash index when it needs it


def settings(args: argparse.Namespace) -> Settings:
    if args.keep < 1:
        raise UsageError("--keep must be at least 1: a track must never be left without fingerprints")
    return Settings(args.keep, not args.no_maintenance)


def main(ctx: JobContext) -> None:
    """Delete every fingerprint set older than the newest ``--keep`` versions of
    its track (a track always keeps its newest set, however old), a few sets per
    transaction."""
    from zamio.recognition.enrolment import CLEANUP_SETS_PER_TRANSACTION, delete_set, old_sets

    given = settings(ctx.args)
    with ctx.transaction(read_only=True) as conn:
        stale = old_sets(conn, given.keep)
    if ctx.dry_run:
        ctx.note(f"{len(stale)} old fingerprint sets would be deleted")
        return
    deleted = 0
    batches = range(0, len(stale), CLEANUP_SETS_PER_TRANSACTION)
    for start in ctx.progress(batches, total=len(batches), label="deleting"):
        if ctx.should_stop():
            break
        batch = stale[start:start + CLEANUP_SETS_PER_TRANSACTION]
        with ctx.transaction() as conn:
            deleted += sum(delete_set(conn, track_id, version) for track_id, version in batch)
        ctx.ok(len(batch))
    ctx.note(f"{deleted} fingerprint rows deleted")
    if given.maintenance and not ctx.should_stop():
        _compact_index(ctx)


def _compact_index(ctx: JobContext) -> None:
    from zamio.recognition.hash_index import maintain_hash_index

    assert ctx.engine is not None  # the job needs the database: the runner opened it
    state = maintain_hash_index(ctx.engine, covering=ctx.config.fingerprint_index_covering)
    if state.density is not None:
        form = "covering" if state.covering else "compact"
        ctx.note(f"{form} hash index {state.density:.0%} full" + (f", {state.action}" if state.action else ""))


JOB = Job("cleanup-old-fingerprints", __doc__, main, add_arguments=add_arguments, period_seconds=86400)
