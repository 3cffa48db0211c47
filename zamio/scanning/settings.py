"""The settings of one scan run, read once from the configuration and the command line
(by ``zamio.jobs.scan_station_streams``)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from zamio.streams import CaptureLimits

if TYPE_CHECKING:
    from zamio.db.url import DatabaseUrl
    from zamio.mail.templates import MailTemplates
    from zamio.recognition.acrcloud import AcrCloudConfig

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
class FallbackSettings:
    """The ACRCloud fallback of a run: the client's settings and the two request budgets
    (``ACRCLOUD_RUN_BUDGET``, ``ACRCLOUD_DAILY_BUDGET``; see :mod:`zamio.scanning.fallback`)."""

    client: AcrCloudConfig
    run_budget: int
    daily_budget: int


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
    ``station_ids`` are their ids once looked up.  ``operator_email`` receives the
    stream-down e-mails, ``recognition_cache_mb`` bounds the candidates kept across
    captures (0: none), ``fingerprint_replicas`` serve the fingerprint lookups (none: the
    database itself), and ``fallback`` is None when ACRCloud is not configured.  ``mail_templates`` render
    the stream-down e-mails (None: the shipped ones).  ``listen_seconds``: the window of a station
    playing unknown music under titles that name its items (``zamio.scanning.listening``; not more
    than ``capture_seconds``: none is captured longer).
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
    operator_email: str | None = None
    recognition_cache_mb: int = 0
    host_name: str | None = None  # kept on each snippet capture: the host whose var/ holds its audio
    fingerprint_replicas: tuple[DatabaseUrl, ...] = field(default=(), repr=False)  # FINGERPRINT_DATABASE_URL
    fallback: FallbackSettings | None = None
    mail_templates: MailTemplates | None = field(default=None, repr=False)
    listen_seconds: float = 0.0

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
    def listens(self) -> bool:
        """Whether stations playing unknown music are captured longer."""
        return self.listen_seconds > self.capture_seconds

    @property
    def listen_limits(self) -> CaptureLimits:
        """The bounds of a long capture: a longer window, the slack of an ordinary one (connecting
        and stalls take no longer for a longer window)."""
        return replace(self.limits, seconds=self.listen_seconds,
                       total_timeout=self.limits.total_timeout - self.capture_seconds + self.listen_seconds)

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
