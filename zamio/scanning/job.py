"""The scan run: captures and snippets in a bounded thread pool, results recorded one by one.

The main thread claims work (links, see :mod:`zamio.scanning.links`; snippets, see
:mod:`zamio.scanning.snippets`) whenever a worker is free, and records each result in
its own short transaction as soon as it arrives.  Workers capture, decode and
recognise; they write nothing but the ACRCloud budget.  No new capture starts when
the run could not finish it before ``--max-seconds``: links not claimed stay due and
are first in the next run.  At the end, stations without coverage get their gap.
"""

from __future__ import annotations

import logging
import os
import traceback
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING

from zamio.db import utcnow
from zamio.errors import ItemError, ZamioError
from zamio.jobs import JobContext
from zamio.scanning import alerts, gaps, links, snippets
from zamio.scanning.outcomes import Heard
from zamio.scanning.records import CaptureFacts, record_capture
from zamio.scanning.settings import (
    PROCESSING_MARGIN_SECONDS,
    ScanSettings,
    scan_settings,
)
from zamio.streams import Capture, StreamError, capture, redact_url

if TYPE_CHECKING:
    from zamio.scanning.fallback import AcrCloudFallback
    from zamio.scanning.hearing import Recogniser

log = logging.getLogger(__name__)

CONNECT_ALLOWANCE_SECONDS = 3.0  # the least time beyond the audio window a capture is given
WAIT_POLL_SECONDS = 1.0


@dataclass(frozen=True)
class LinkResult:
    link: links.Link
    attempted_at: datetime
    clip: Capture | None
    heard: Heard


@dataclass
class Tally:
    captures: int = 0
    matched: int = 0
    via_acrcloud: int = 0
    link_failures: int = 0
    snippets: int = 0
    rejected: int = 0
    alerts: int = 0
    fatal: ZamioError | None = None
    handled_links: set[int] = field(default_factory=set)


def scan_station_streams(ctx: JobContext) -> None:
    """Scan the due stream links and the snippet inbox once (the body of ``bin/scan-station-streams``).

    Raise ConfigError (exit 78) when ACRCloud refuses the credentials; failed links and
    rejected snippets are item failures (exit 1) recorded on their rows.
    """
    settings = scan_settings(ctx.config, ctx.args)
    scan = _Scan(ctx, settings)
    with ThreadPoolExecutor(settings.concurrency, thread_name_prefix="scan") as pool:
        scan.run(pool)
    with ctx.transaction() as conn:
        in_gap = gaps.record_open_gaps(conn, utcnow(), settings.gap_seconds)
    _summarise(ctx, scan.tally, in_gap, scan.fallback)
    if scan.tally.fatal is not None:
        raise scan.tally.fatal


def _fallback(ctx: JobContext) -> AcrCloudFallback | None:
    from zamio.scanning.fallback import AcrCloudFallback, acrcloud_client_config

    config = ctx.config
    if not config.acrcloud_configured or ctx.dry_run:  # a dry run sends nothing anywhere
        return None
    return AcrCloudFallback(ctx.engine, acrcloud_client_config(config), run_budget=config.acrcloud_run_budget,
                            daily_budget=config.acrcloud_daily_budget)


def _summarise(ctx: JobContext, tally: Tally, in_gap: int, fallback: AcrCloudFallback | None) -> None:
    ctx.note(f"{tally.captures} captures, {tally.matched} matched")
    if fallback is not None:
        ctx.note(f"{tally.via_acrcloud} via ACRCloud ({fallback.requests_spent} requests)")
    if tally.link_failures:
        ctx.note(f"{tally.link_failures} links failing")
    if tally.snippets or tally.rejected:
        ctx.note(f"{tally.snippets} snippets, {tally.rejected} rejected")
    if tally.alerts:
        ctx.note(f"{tally.alerts} stream-down e-mails queued")
    if in_gap:
        ctx.note(f"{in_gap} stations without coverage")


class _Scan:
    """One run's loop: keep the pool busy, record results as they come."""

    def __init__(self, ctx: JobContext, settings: ScanSettings) -> None:
        self.ctx, self.settings = ctx, settings
        self.fallback: AcrCloudFallback | None = None
        self.tally = Tally()
        self.pending: dict[Future, object] = {}
        self.inbox = snippets.find_snippets(settings.inbox) if settings.snippets else []
        self.links_exhausted = not settings.streams

    @cached_property
    def recogniser(self) -> Recogniser:
        """Made on first use: a run with nothing to do never loads numpy and the decoder."""
        from zamio.scanning.hearing import Recogniser

        self.fallback = _fallback(self.ctx)
        return Recogniser(self.ctx.engine, self.fallback, cpu_slots=os.cpu_count() or 1)

    def run(self, pool: ThreadPoolExecutor) -> None:
        while True:
            self._fill(pool)
            if not self.pending:
                return
            done, _ = wait(self.pending, timeout=WAIT_POLL_SECONDS, return_when=FIRST_COMPLETED)
            for future in done:
                work = self.pending.pop(future)
                self._record(work, future)

    def _fill(self, pool: ThreadPoolExecutor) -> None:
        free = self.settings.concurrency - len(self.pending)
        if free <= 0 or self.tally.fatal is not None or self.ctx.should_stop():
            return
        while free and self.inbox and self.ctx.time_left() > PROCESSING_MARGIN_SECONDS:
            snippet = self.inbox.pop(0)
            self.pending[pool.submit(snippets.examine, snippet, self.ctx.engine, self.recogniser)] = snippet
            free -= 1
        window = self.ctx.time_left() - PROCESSING_MARGIN_SECONDS
        if free and not self.links_exhausted and window >= self.settings.capture_seconds + CONNECT_ALLOWANCE_SECONDS:
            claimed = self._claim(free)
            self.links_exhausted = not claimed
            for link in claimed:
                self.pending[pool.submit(self._scan_link, link, window, self.recogniser)] = link

    def _claim(self, limit: int) -> list[links.Link]:
        with self.ctx.transaction() as conn:
            claimed = links.claim_links(conn, owner=self.ctx.owner, limit=limit,
                                        lease_seconds=self.settings.lease_seconds,
                                        exclude=self.tally.handled_links)
        self.tally.handled_links.update(link.id for link in claimed)
        return claimed

    def _scan_link(self, link: links.Link, window_seconds: float, recogniser: Recogniser) -> LinkResult:
        """Capture, decode and recognise one link (in a worker thread)."""
        attempted = utcnow()
        limits = self.settings.limits
        if window_seconds < limits.total_timeout:  # late in the run: end the capture in time
            limits = replace(limits, total_timeout=window_seconds)
        try:
            clip = capture(link.url, limits)
        except StreamError as error:
            return LinkResult(link, attempted, None, Heard("error", error=error, failed=True))
        heard = recogniser.hear(clip.audio, clip.codec, clip.url_used, max_seconds=3 * limits.seconds + 10)
        return LinkResult(link, attempted, clip, heard)

    def _record(self, work: object, future: Future) -> None:
        try:
            result = future.result()
        except Exception as error:  # a bug met on one item must not lose the others' results
            log.error("unexpected error on %s:\n%s", work, "".join(traceback.format_exception(error)))
            result = _internal_failure(work, error)
        if isinstance(work, links.Link):
            self._record_link(result)
        else:
            self._record_snippet(result)
        # A result changes which links are eligible (a failed primary frees its backup).
        self.links_exhausted = not self.settings.streams

    def _record_link(self, result: LinkResult) -> None:
        link, heard, clip = result.link, result.heard, result.clip
        facts = CaptureFacts(
            station_id=link.station_id, source="stream", stream_link_id=link.id,
            started_at=clip.started_at if clip else result.attempted_at, audio=clip.audio if clip else b"",
            url_used=clip.url_used if clip else redact_url(link.url), codec=clip.codec if clip else None,
            icy_title=clip.icy_title if clip else None, seconds=clip.seconds if clip else 0.0)
        with self.ctx.transaction() as conn:
            record_capture(conn, facts, heard)
            if heard.outcome in ("match", "no_match"):
                self._link_ok(conn, link, facts.started_at, result.attempted_at)
            else:
                self._link_failed(conn, link, heard.error, result.attempted_at)
        self._count(f"station {link.station_ref} link {link.id}", heard)

    def _link_ok(self, conn, link: links.Link, started_at: datetime, attempted_at: datetime) -> None:
        covered = gaps.last_covered(conn, link.station_id)
        gaps.close_gap(conn, link.station_id, covered, started_at, self.settings.gap_seconds, link.last_error_reason)
        if not links.link_succeeded(conn, link, self.ctx.owner, started_at=started_at, attempted_at=attempted_at,
                                    interval_seconds=self.settings.interval_seconds):
            log.warning("station %s link %s: the lease ran out during the scan; the capture is kept",
                        link.station_ref, link.id)

    def _link_failed(self, conn, link: links.Link, error: ItemError | None, attempted_at: datetime) -> None:
        reason = error.reason if error else "item_failed"
        message = str(error) if error else "failed"
        failures = links.link_failed(conn, link, self.ctx.owner, reason=reason, message=message,
                                     attempted_at=attempted_at, interval_seconds=self.settings.interval_seconds)
        self.tally.link_failures += 1
        if alerts.should_alert(link, failures, self.settings.alert_after):
            self.tally.alerts += alerts.queue_stream_down(
                conn, link, failures=failures, reason=reason, message=message,
                operator_email=self.ctx.config.operator_email, now=utcnow())

    def _record_snippet(self, examined: snippets.Examined) -> None:
        snippet = examined.snippet
        if examined.rejected is not None or examined.duplicate_of is not None:
            self._set_aside(examined)
            return
        assert examined.sidecar is not None and examined.heard is not None and snippet.audio is not None
        target = snippets.stored_path(self.settings.snippets_dir, examined.sidecar, snippet.audio)
        facts = CaptureFacts(station_id=int(examined.station_id or 0), source="snippet",
                             started_at=examined.sidecar.started_at, audio=examined.data,
                             chunk_id=examined.sidecar.chunk_id, codec=_codec(examined.data),
                             audio_path=str(target))
        with self.ctx.transaction() as conn:
            record_capture(conn, facts, examined.heard)
        if not self.ctx.dry_run:
            snippets.file_away(snippet, target)
        self.tally.snippets += 1
        self._count(f"snippet {snippet.name}", examined.heard, link_failure=False)

    def _set_aside(self, examined: snippets.Examined) -> None:
        if examined.duplicate_path is not None and not self.ctx.dry_run:
            # Recorded by a run that stopped before moving the file: finish its work.
            snippets.file_away(examined.snippet, examined.duplicate_path)
            self.ctx.skipped()
            return
        if examined.duplicate_of is not None:
            error = snippets.BadSnippet(f"chunk_id {examined.sidecar.chunk_id!r} was already recorded as capture "
                                        f"{examined.duplicate_of}; this copy is set aside", "duplicate_chunk")
            self.ctx.skipped()
        else:
            error = examined.rejected
            self.tally.rejected += 1
            self.ctx.failed(f"snippet {examined.snippet.name}", error)
        if not self.ctx.dry_run:
            snippets.reject(examined.snippet, error)

    def _count(self, what: str, heard: Heard, link_failure: bool = True) -> None:
        self.tally.captures += 1
        if heard.outcome == "match":
            self.tally.matched += 1
            self.tally.via_acrcloud += heard.acr is not None
        if heard.fatal is not None and self.tally.fatal is None:
            self.tally.fatal = heard.fatal
        if heard.failed and (link_failure or heard.outcome != "silence"):
            self.ctx.failed(what, heard.error or "failed")
        else:
            self.ctx.ok()


def _internal_failure(work: object, error: Exception) -> object:
    failure = ItemError(f"unexpected {type(error).__name__}: {error}", "internal_error")
    if isinstance(work, links.Link):
        return LinkResult(work, utcnow(), None, Heard("error", error=failure, failed=True))
    return snippets.Examined(work, rejected=failure)  # type: ignore[arg-type]


def _codec(data: bytes) -> str | None:
    from zamio.audio import probe_codec

    return probe_codec(data)
