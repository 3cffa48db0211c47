"""Fingerprint the catalog tracks that lack the current fingerprint version.

Queues every active track with an audio file and no fingerprint set of the
current version, then fingerprints up to --limit of them.  Hosts running it at
the same time share the queue.  A track whose audio fails is retried with
back-off and parked as failed after 5 attempts (see bin/zamio-status).

Then the open unknown recordings are checked against the tracks new to them: one whose
captures' kept prints the catalog now recognises as one new track, and as no other, is
named as it as bin/identify-unknown names it (actor catalog-naming, the evidence in the
audit entry), its held money released by the next calculate-royalty-distributions run;
one whose captures name different tracks is left open and listed.  UNKNOWN_AUTO_NAMING=false
switches the check off (docs/operations.md).

Examples:
    bin/auto-fingerprint-new-tracks --limit 50
    bin/auto-fingerprint-new-tracks --dry-run
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from zamio.runtime.runner import Job, JobContext

DEFAULT_LIMIT = 50  # tracks fingerprinted per run


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
    from zamio.recognition.enrolment import count_missing, enqueue_missing, fingerprint_queued
    from zamio.recognition.fingerprint import FINGERPRINT_VERSION
    from zamio.recognition.reference import check_reference_fingerprint

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
    name_from_catalog(ctx)


def name_from_catalog(ctx: JobContext) -> None:
    """Check the open unknown recordings against the tracks new to them, then look the new tracks up among the
    airings heard once (``zamio.playlogs.heard_once``), unless UNKNOWN_AUTO_NAMING is off."""
    if not ctx.config.unknown_auto_naming or ctx.should_stop():
        return
    from zamio.playlogs import catalog_naming

    tally = catalog_naming.check(ctx.transaction, ctx, ctx.config.host_name)
    for line in catalog_naming.lines(tally):
        print(line, flush=True)
    if tally.named or tally.unnamed:
        ctx.note(f"{len(tally.named)} unknown recordings named from the catalog, {len(tally.unnamed)} left open")
    if ctx.should_stop():
        return
    from zamio.playlogs import heard_once

    found = heard_once.check(ctx.transaction, ctx)
    for line in heard_once.lines(found):
        print(line, flush=True)
    if found.found:
        ctx.note(f"{len(found.found)} airings heard once found as their newly registered tracks")


JOB = Job("auto-fingerprint-new-tracks", __doc__, main, add_arguments=add_arguments, period_seconds=600,
          lock_scope="host")
