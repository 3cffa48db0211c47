"""Fingerprint the catalog tracks that lack the current fingerprint version.

Queues every active track with an audio file and no fingerprint set of the
current version, then fingerprints up to --limit of them.  Hosts running it at
the same time share the queue.  A track whose audio fails is retried with
back-off and parked as failed after 5 attempts (see bin/zamio-status).

Examples:
    bin/auto-fingerprint-new-tracks --limit 50
    bin/auto-fingerprint-new-tracks --dry-run
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from zamio.recognition.enrolment import DEFAULT_LIMIT, count_missing, enqueue_missing, fingerprint_queued
from zamio.recognition.fingerprint import FINGERPRINT_VERSION
from zamio.recognition.reference import check_reference_fingerprint
from zamio.runtime.runner import Job, JobContext


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--limit", type=int, default=DEFAULT_LIMIT, metavar="N",
                        help=f"fingerprint at most N tracks in this run (default {DEFAULT_LIMIT})")


@dataclass(frozen=True)
class Settings:
    limit: int  # tracks fingerprinted in this run, at most


def settings(args: argparse.Namespace) -> Settings:
    return Settings(args.limit)


def main(ctx: JobContext) -> None:
    """Queue active tracks with audio that lack the current version, then
    fingerprint up to ``--limit`` of the due ones."""
    given = settings(ctx.args)
    if ctx.dry_run:
        with ctx.transaction(read_only=True) as conn:
            ctx.note(f"{count_missing(conn)} tracks lack fingerprint v{FINGERPRINT_VERSION}")
        return
    check_reference_fingerprint()  # exit 78 before any write on a host whose numpy/scipy differ
    with ctx.transaction() as conn:
        queued = enqueue_missing(conn)
    if queued:
        ctx.note(f"{queued} tracks queued")
    for _ in fingerprint_queued(ctx.transaction, ctx, owner=ctx.owner, limit=given.limit):
        pass  # each track is counted as it is done


JOB = Job("auto-fingerprint-new-tracks", __doc__, main, add_arguments=add_arguments, period_seconds=600,
          lock_scope="host")
