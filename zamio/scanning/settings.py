"""The settings of one scan run, read once from the configuration and the command line."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path

from zamio.runtime.config import Config
from zamio.runtime.errors import UsageError
from zamio.streams import CaptureLimits

# A capture may take this much longer than its audio window (connecting, playlists,
# waiting for the next HLS segment, a stall): half the window, at least MIN_SLACK.
CAPTURE_SLACK_SHARE = 0.5
MIN_CAPTURE_SLACK_SECONDS = 8.0
# Decoding and recognising a 20 s window takes well under a second (bench/scan_bench.py);
# the margin also covers a slow database write at the end of a run.
PROCESSING_MARGIN_SECONDS = 8.0
# A failing link waits scan_interval × 2^(failures-1), at most this long.
LINK_BACKOFF_CAP_SECONDS = 30 * 60
# A station with no successful capture for this many scan intervals has a coverage gap.
GAP_INTERVALS = 2
# ffmpeg gets this long to decode one capture or snippet.
DECODE_TIMEOUT_SECONDS = 30.0
# Hearing threads per core: enough for ffmpeg batches of several captures (see
# zamio.scanning.decoding) while the recognitions are bounded to one per core.
HEARING_WORKERS_PER_CORE = 8
# Snippets longer than this are refused (device uploads are a few tens of seconds).
MAX_SNIPPET_SECONDS = 600.0


@dataclass(frozen=True)
class ScanSettings:
    """How one run scans: window, concurrency, schedule and where snippets arrive.

    Times are in seconds.  ``limits`` bounds each stream capture; ``lease_seconds``
    is how long a claimed link stays ours (past a crash it becomes claimable again).
    ``concurrency`` is the number of capture slots (waiting for audio costs no CPU);
    ``hearing_workers`` the captures being decoded and recognised at once (several per
    core: most of them wait for a shared ffmpeg batch), of which at most ``cores``
    fingerprint and match at the same moment.
    ``station_refs`` (from ``--station``) limits the run to those stations, due or not;
    ``station_ids`` are their ids once looked up.
    """

    capture_seconds: float
    concurrency: int
    interval_seconds: int
    alert_after: int
    allow_private: bool
    inbox: Path
    snippets_dir: Path
    streams: bool = True
    snippets: bool = True
    hearing_workers: int = 1
    cores: int = 1
    station_refs: tuple[str, ...] = ()
    station_ids: tuple[int, ...] | None = None

    @property
    def limits(self) -> CaptureLimits:
        return CaptureLimits(
            seconds=self.capture_seconds,
            total_timeout=self.capture_seconds + max(MIN_CAPTURE_SLACK_SECONDS,
                                                     CAPTURE_SLACK_SHARE * self.capture_seconds),
            min_seconds=min(5.0, self.capture_seconds),
            allow_private=self.allow_private,
        )

    @property
    def time_per_capture(self) -> float:
        """The longest one capture, decode and recognition can take: claim nothing with less left."""
        return self.limits.total_timeout + PROCESSING_MARGIN_SECONDS

    @property
    def lease_seconds(self) -> float:
        return 2 * self.time_per_capture + 60.0

    @property
    def gap_seconds(self) -> float:
        return GAP_INTERVALS * self.interval_seconds


def add_scan_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``bin/scan-station-streams`` to ``parser``."""
    parser.add_argument("--capture-seconds", type=float, metavar="N",
                        help="seconds of audio to capture per stream link (default: SCAN_CAPTURE_SECONDS, 20)")
    parser.add_argument("--concurrency", type=int, metavar="N",
                        help="capture slots: streams read at once (default: SCAN_CONCURRENCY, 192)")
    parser.add_argument("--inbox", type=Path, metavar="DIR",
                        help="folder of uploaded snippets (default: SNIPPET_INBOX, else var/inbox)")
    parser.add_argument("--only", choices=("streams", "snippets"),
                        help="scan only the stream links, or only the snippet inbox")
    parser.add_argument("--station", action="append", metavar="REF", dest="stations",
                        help="scan this station now, due or not (repeatable); nothing else is scanned")


def scan_settings(config: Config, args: argparse.Namespace) -> ScanSettings:
    """Given the configuration and the parsed command line, return the run's settings;
    raise UsageError for an out-of-range option."""
    capture_seconds = args.capture_seconds or config.capture_seconds
    concurrency = args.concurrency or config.scan_concurrency
    if not 3.0 <= capture_seconds <= 120.0:
        raise UsageError("--capture-seconds must be between 3 and 120")
    if not 1 <= concurrency <= 256:
        raise UsageError("--concurrency must be between 1 and 256")
    only = getattr(args, "only", None)
    station_refs = tuple(dict.fromkeys(getattr(args, "stations", None) or ()))
    if station_refs and only == "snippets":
        raise UsageError("--station scans stream links; it cannot be combined with --only snippets")
    return ScanSettings(
        capture_seconds=capture_seconds,
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
    )
