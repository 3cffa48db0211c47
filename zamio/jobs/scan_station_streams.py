"""Capture a window of audio from each due station stream and each uploaded snippet,
recognise it against the catalog (ACRCloud as fallback when configured) and record
captures, detections, link health and coverage gaps.  Several hosts may run it at once:
they share the stations through leases.

Examples:
    bin/scan-station-streams -q
    bin/scan-station-streams --capture-seconds 10 --concurrency 32 -v
    bin/scan-station-streams --only snippets --inbox /srv/uploads
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

from zamio.runtime.config import MAX_LISTEN_SECONDS, MAX_SCAN_CONCURRENCY, Config
from zamio.runtime.errors import UsageError
from zamio.runtime.runner import Job, JobContext

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from zamio.recognition.unknown import SameSong

    # The run's settings are the scanner's own dataclass: the scanning modules read it throughout.
    from zamio.scanning.settings import ScanSettings as Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--capture-seconds", type=float, metavar="N",
                        help="seconds of audio to capture per stream link (default: SCAN_CAPTURE_SECONDS, 20)")
    parser.add_argument("--listen-seconds", type=float, metavar="N",
                        help="seconds captured from a station playing unknown music under stream titles that name "
                             "its items (default: SCAN_LISTEN_SECONDS, 60; 0, or no more than --capture-seconds: "
                             "as any other)")
    parser.add_argument("--concurrency", type=int, metavar="N",
                        help="capture slots: streams read at once (default: SCAN_CONCURRENCY, 192)")
    parser.add_argument("--inbox", type=Path, metavar="DIR",
                        help="folder of uploaded snippets (default: SNIPPET_INBOX, else var/inbox)")
    parser.add_argument("--only", choices=("streams", "snippets"),
                        help="scan only the stream links, or only the snippet inbox")
    parser.add_argument("--station", action="append", metavar="REF", dest="stations",
                        help="scan this station now, due or not (repeatable); nothing else is scanned")


def settings(args: argparse.Namespace, config: Config) -> Settings:
    """Given the parsed command line and the configuration, return the run's settings;
    raise UsageError for an out-of-range option."""
    from zamio.mail import templates as mail_templates
    from zamio.scanning.fallback import fallback_settings
    from zamio.scanning.settings import HEARING_WORKERS_PER_CORE, ScanSettings

    capture_seconds = args.capture_seconds or config.capture_seconds
    concurrency = args.concurrency or config.scan_concurrency
    if not 3.0 <= capture_seconds <= 120.0:
        raise UsageError("--capture-seconds must be between 3 and 120")
    listen_seconds = config.listen_seconds if args.listen_seconds is None else args.listen_seconds
    if not 0.0 <= listen_seconds <= MAX_LISTEN_SECONDS:
        raise UsageError(f"--listen-seconds must be between 0 and {MAX_LISTEN_SECONDS:g}")
    if not 1 <= concurrency <= MAX_SCAN_CONCURRENCY:
        raise UsageError(f"--concurrency must be between 1 and {MAX_SCAN_CONCURRENCY}")
    only = getattr(args, "only", None)
    station_refs = tuple(dict.fromkeys(getattr(args, "stations", None) or ()))
    if station_refs and only == "snippets":
        raise UsageError("--station scans stream links; it cannot be combined with --only snippets")
    return ScanSettings(
        capture_seconds=capture_seconds,
        listen_seconds=listen_seconds,
        concurrency=concurrency,
        interval_seconds=config.scan_interval_seconds,
        alert_after=config.stream_failure_alert_after,
        allow_private=config.allow_private_streams,
        inbox=args.inbox or config.inbox_dir,
        snippets_dir=config.var_dir / "snippets",
        streams=only in (None, "streams"),
        snippets=only in (None, "snippets") and not station_refs,
        hearing_workers=HEARING_WORKERS_PER_CORE * (os.cpu_count() or 1),
        cores=os.cpu_count() or 1,
        station_refs=station_refs,
        operator_email=config.operator_email,
        recognition_cache_mb=config.recognition_cache_mb,
        host_name=config.host_name,
        fingerprint_replicas=config.fingerprint_replicas,
        fallback=fallback_settings(config),
        mail_templates=mail_templates.load(config.templates_dir) if only != "snippets" else None,
    )


def main(ctx: JobContext) -> None:
    """Scan the due stream links and the snippet inbox once; the run's summary says what was found."""
    from zamio.scanning.job import scan_station_streams

    assert ctx.engine is not None  # the job needs the database: the runner opened it
    scan_station_streams(ctx.engine, ctx.transaction, settings(ctx.args, ctx.config), ctx,
                         owner=ctx.owner, dry_run=ctx.dry_run, merge=_merge_same_song)


def _merge_same_song(conn: Connection, same: SameSong) -> bool:
    """Filing's merge of two unknown recordings found to be one song: the play logs' (imported when first
    needed, so a scan that finds none loads no corrections machinery)."""
    from zamio.playlogs.identify import merge_same_song

    return merge_same_song(conn, same)


JOB = Job("scan-station-streams", __doc__, main, add_arguments=add_arguments, period_seconds=120, lock_scope="host")
