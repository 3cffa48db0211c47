"""The scan run: many cheap capture slots feeding a few hearing workers, results recorded one by one.

A capture spends almost all its time waiting for real-time audio, and a fraction of a
second of CPU once the audio is in (decode, fingerprint, lookup, match).  So the run
has two thread pools: ``concurrency`` capture slots that only read sockets, and
``hearing_workers`` (one per core) that decode and recognise.  A slot is free again as
soon as its audio is in; the capture then waits in the hearing queue, which is bounded
(no new capture starts while ``concurrency`` captures wait to be heard), so memory
stays bounded too.

The main thread claims work (links, see :mod:`zamio.scanning.links`; snippets, see
:mod:`zamio.scanning.snippets`), passes finished captures on to the hearing workers,
and records each result in its own short transaction as soon as it arrives.  Workers
write nothing but the ACRCloud budget.  A capture starts only when it and every
hearing ahead of it can finish before ``--max-seconds`` (:mod:`zamio.scanning.pacing`):
links not claimed stay due and are first in the next run.  At the end, stations
without coverage get their gap.

``--station REF`` scans the named stations now, due or not, under the same lock and
leases; nothing else (no other station, no snippet) is touched.

Stopping.  When the run is asked to stop (SIGTERM or SIGINT: ``progress.should_stop()``)
no capture or snippet is started any more, and the captures under way end within a
fraction of a second (every wait of :mod:`zamio.streams` looks at the request): one
with at least ``CaptureLimits.min_seconds`` of audio is heard and recorded as the
shorter capture it is, one with less is dropped and its link given back, due as before
(no failure counted).  Everything received is heard and recorded as usual, then the run
ends.  A second signal ends the run at once (:meth:`_Scan.abandon`): every capture and
hearing is given up (ffmpeg killed, nothing of them recorded), the links not recorded
are given back, and the run does not wait for a thread stuck in a DNS lookup or an
ACRCloud request (:mod:`zamio.scanning.pools`).
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Connection, Engine

from zamio.db.engine import utcnow
from zamio.db.replicas import LookupDatabases
from zamio.runtime.errors import ItemError, ZamioError
from zamio.runtime.progress import Progress, Transactions
from zamio.scanning import alerts, gaps, links, listening, snippets
from zamio.scanning.outcomes import Heard
from zamio.scanning.pacing import HearingPace
from zamio.scanning.pools import WorkerPool
from zamio.scanning.records import CaptureFacts, file_unknown, record_capture
from zamio.scanning.settings import DECODE_TIMEOUT_SECONDS, PROCESSING_MARGIN_SECONDS, ScanSettings
from zamio.streams import Capture, CaptureStopped, StreamError, capture, redact_url

if TYPE_CHECKING:
    from zamio.recognition.unknown import Merger
    from zamio.scanning.fallback import AcrCloudFallback
    from zamio.scanning.hearing import Recogniser

log = logging.getLogger(__name__)

CONNECT_ALLOWANCE_SECONDS = 3.0  # the least time beyond the audio window a capture is given
WAIT_POLL_SECONDS = 1.0
PROGRESS_LOG_SECONDS = 5.0
SNIPPETS_QUEUED_PER_WORKER = 2  # keeps the hearing workers fed without crowding out the links
# After a second stop signal, how long the run waits for its captures and hearings to give up
# (they look at the request every STOP_POLL_SECONDS): their ffmpeg is then dead and their
# scratch files removed.  A thread still busy after it (a DNS lookup) is left behind.
ABANDON_WAIT_SECONDS = 2.0


@dataclass(frozen=True)
class Captured:
    """What a capture slot hands to the hearing workers: the audio, or why there is none."""

    link: links.Link
    attempted_at: datetime
    clip: Capture | None
    error: ItemError | None = None  # a StreamError, or an unexpected failure of the slot
    stopped: bool = False  # the run was asked to stop before the capture had enough audio
    listening: bool = False  # a long capture of unknown music, heard in pieces (zamio.scanning.listening)


@dataclass(frozen=True)
class LinkResult:
    link: links.Link
    attempted_at: datetime
    clip: Capture | None
    heard: Heard


#: What the run hands to a pool: a link to capture, a capture to hear or a snippet to examine.
Work = links.Link | Captured | snippets.Snippet


@dataclass
class Tally:
    captures: int = 0
    matched: int = 0
    unmatched_music: int = 0  # no-match captures judged music
    unknown_heard: int = 0  # captures filed into unknown recordings
    via_acrcloud: int = 0
    link_failures: int = 0
    snippets: int = 0
    rejected: int = 0
    retry_later: int = 0
    alerts: int = 0
    busy: int = 0
    given_back: int = 0  # captures ended by the stop with too little audio: their links stay due
    fatal: ZamioError | None = None
    handled_links: set[int] = field(default_factory=set)
    handled_stations: set[int] = field(default_factory=set)


class TimedProgress(Progress, Protocol):
    """A run's progress that also tells the seconds left before it must stop
    (``--max-seconds``): a capture starts only when it can finish in time."""

    def time_left(self) -> float: ...


def scan_station_streams(engine: Engine, transactions: Transactions, settings: ScanSettings,
                         progress: TimedProgress, *, owner: str, dry_run: bool, merge: Merger | None = None) -> None:
    """Scan the due stream links and the snippet inbox once, claiming links as ``owner``;
    a dry run calls no fallback and moves no snippet.  ``merge``: how filing merges two unknown
    recordings it finds to be one song (``zamio.recognition.unknown``).

    Raise ConfigError (exit 78) when ACRCloud refuses the credentials, UsageError (exit 2)
    when ``settings.station_refs`` names no station; failed links and rejected snippets
    are item failures (exit 1) recorded on their rows.
    """
    if settings.station_refs:
        with transactions(read_only=True) as conn:
            settings = replace(settings, station_ids=links.stations_named(conn, settings.station_refs))
    scan = _Scan(engine, transactions, settings, progress, owner=owner, dry_run=dry_run)
    try:
        scan.run(WorkerPool(settings.concurrency, "capture"), WorkerPool(settings.hearing_workers, "hearing"))
    except BaseException:  # a second SIGTERM, or a fault of the run: end now, keep what is recorded
        scan.abandon()
        raise
    scan.close()
    scan.log_pace()
    with transactions() as conn:
        in_gap = gaps.record_open_gaps(conn, utcnow(), settings.gap_seconds)
    file_unknown_music(transactions, progress, scan.tally, dry_run=dry_run, merge=merge)
    _summarise(progress, scan.tally, in_gap, scan.fallback)
    if scan.tally.fatal is not None:
        raise scan.tally.fatal


def file_unknown_music(transactions: Transactions, progress: Progress, tally: Tally, *, dry_run: bool,
                       merge: Merger | None = None) -> None:
    """File the music heard with no match, this run's and any a killed run left, into
    unknown recordings (``zamio.recognition.unknown``), a batch per transaction.  A dry
    run files one batch and rolls it back."""
    from zamio.recognition.unknown import FILE_BATCH

    while not progress.should_stop():
        with transactions() as conn:
            processed, filed = file_unknown(conn, FILE_BATCH, merge)
        tally.unknown_heard += len(filed)
        if dry_run or processed < FILE_BATCH:
            return


def _summarise(progress: Progress, tally: Tally, in_gap: int, fallback: AcrCloudFallback | None) -> None:
    progress.note(f"{tally.captures} captures, {tally.matched} matched")
    if tally.unmatched_music:
        progress.note(f"{tally.unmatched_music} unmatched captures of music")
    if tally.unknown_heard:
        progress.note(f"{tally.unknown_heard} captures filed into unknown recordings")
    if fallback is not None:
        progress.note(f"{tally.via_acrcloud} via ACRCloud ({fallback.requests_spent} requests)")
    if tally.link_failures:
        progress.note(f"{tally.link_failures} links failing")
    if tally.busy:
        progress.note(f"{tally.busy} stations being scanned by another run, left to it")
    if tally.given_back:
        progress.note(f"{tally.given_back} captures stopped with too little audio, left for the next run")
    if tally.snippets or tally.rejected:
        progress.note(f"{tally.snippets} snippets, {tally.rejected} rejected")
    if tally.retry_later:
        progress.note(f"{tally.retry_later} snippets left in the inbox until ACRCloud answers")
    if tally.alerts:
        progress.note(f"{tally.alerts} stream-down e-mails queued")
    if in_gap:
        progress.note(f"{in_gap} stations without coverage")


class _Scan:
    """One run's loop: keep the capture slots and the hearing workers busy, record results as they come."""

    def __init__(self, engine: Engine, transactions: Transactions, settings: ScanSettings,
                 progress: TimedProgress, *, owner: str, dry_run: bool) -> None:
        self.engine, self.transactions, self.settings, self.progress = engine, transactions, settings, progress
        self.owner, self.dry_run = owner, dry_run
        self.fallback: AcrCloudFallback | None = None
        self.tally = Tally()
        self.pace = HearingPace(workers=settings.hearing_workers, cores=settings.cores)
        self.capturing = 0  # captures in flight
        self.in_flight = 0  # every submitted piece of work not yet recorded
        self.finished: queue.SimpleQueue[tuple[Future[Any], Work]] = queue.SimpleQueue()
        self.inbox = snippets.find_snippets(settings.inbox) if settings.snippets else []
        self.links_exhausted = not settings.streams
        self.capture_pool: WorkerPool | None = None
        self.hearing_pool: WorkerPool | None = None
        self.unrecorded: dict[int, links.Link] = {}  # links claimed whose scan is not recorded yet
        self.listening: set[int] = set()  # stations playing unknown music under naming titles: captured longer
        self.long_captures = 0  # long captures started by this run
        self.abandoned = threading.Event()  # the run must end at once: give every piece of work up
        self.started_at = time.monotonic()
        self.next_pace_log = 0.0

    @cached_property
    def recogniser(self) -> Recogniser:
        """Made on first use (in the main thread): a run with nothing to do never loads numpy and the decoder."""
        from zamio.scanning.decoding import BatchDecoder
        from zamio.scanning.fallback import open_fallback
        from zamio.scanning.hearing import Recogniser

        self.fallback = open_fallback(self.engine, self.settings.fallback, self.dry_run)
        cores = self.settings.cores
        decoder = BatchDecoder(leaders=max(1, cores // 2), timeout_seconds=DECODE_TIMEOUT_SECONDS,
                               should_stop=self.abandoned.is_set)
        lookups = LookupDatabases.open(self.engine, self.settings.fingerprint_replicas,
                                       host_name=self.settings.host_name or "", application_name="zamio scan")
        return Recogniser(self.engine, self.fallback, cpu_slots=cores, decoder=decoder,
                          cache_mb=self.settings.recognition_cache_mb, should_stop=self.abandoned.is_set,
                          lookups=lookups)

    def log_pace(self) -> None:
        """Say how fast the hearing stage went (-v): what capacity planning needs."""
        if self.pace.seconds is None:
            return
        decoder = self.recogniser.decoder
        batches = f"; {decoder.decoded} decoded in {decoder.batches} shared ffmpeg runs" if decoder else ""
        log.info("hearing: %.2f s per capture with %d workers, about %.1f captures/s%s",
                 self.pace.seconds, self.pace.workers, self.pace.per_second, batches)
        if self.recogniser.lookups.replicated:
            log.info("fingerprint lookups served: %s", self.recogniser.lookups.summary())

    def run(self, capture_pool: WorkerPool, hearing_pool: WorkerPool) -> None:
        self.capture_pool, self.hearing_pool = capture_pool, hearing_pool
        while True:
            self._fill()
            if not self.in_flight:
                return
            try:
                future, work = self.finished.get(timeout=WAIT_POLL_SECONDS)
            except queue.Empty:
                continue
            self.in_flight -= 1
            self._done(work, future)

    def close(self) -> None:
        """The run's work is all recorded: end the pools' threads."""
        for pool in (self.capture_pool, self.hearing_pool):
            if pool is not None:
                pool.shutdown()

    def abandon(self) -> None:
        """End the run now (a second SIGTERM, or a fault of the run): give up every capture and
        hearing under way (their ffmpeg killed, nothing of them recorded), wait a moment for
        them to let go, and give back the links not recorded, due as before.  Never raises:
        the reason the run ends is the exception on its way up."""
        self.abandoned.set()
        until = time.monotonic() + ABANDON_WAIT_SECONDS
        ended = True
        for pool in (self.hearing_pool, self.capture_pool):
            if pool is not None and not pool.shutdown(wait_seconds=max(0.0, until - time.monotonic())):
                ended = False
        if not ended:
            log.info("a capture or hearing was still busy after %g s; left behind", ABANDON_WAIT_SECONDS)
        left = list(self.unrecorded.values())
        if not left:
            return
        try:
            with self.transactions() as conn:
                for link in left:
                    links.release_unscanned(conn, link, self.owner)
        except Exception as error:  # the leases then run out by themselves
            log.warning("could not give back %d stream links (their leases run out by themselves): %s",
                        len(left), error)
            return
        log.warning("stopped at once: %d captures under way dropped, their stations left due", len(left))

    def _stopping(self) -> bool:
        """What a capture under way looks at: end now (with what it has, if enough)."""
        return self.abandoned.is_set() or self.progress.should_stop()

    def _submit(self, pool: WorkerPool, work: Work, fn: Callable[..., Any], *args: Any) -> None:
        future = pool.submit(fn, *args)
        self.in_flight += 1
        future.add_done_callback(lambda done: self.finished.put((done, work)))

    def _fill(self) -> None:
        self._log_progress()
        if self.tally.fatal is not None or self.progress.should_stop():
            return
        self._feed_snippets()
        if not self.links_exhausted:
            self._start_captures()

    def _log_progress(self) -> None:
        """Every few seconds (-vv): the two stages' load, to see where a run's time goes."""
        elapsed = time.monotonic() - self.started_at
        if elapsed < self.next_pace_log or not log.isEnabledFor(logging.DEBUG):
            return
        self.next_pace_log = elapsed + PROGRESS_LOG_SECONDS
        log.debug("at %.0f s: %d capturing, %d waiting to be heard, %d recorded, hearing %.1f/s",
                  elapsed, self.capturing, self.pace.waiting, self.tally.captures, self.pace.per_second)

    def _feed_snippets(self) -> None:
        assert self.hearing_pool is not None
        while (self.inbox and self.pace.waiting < SNIPPETS_QUEUED_PER_WORKER * self.pace.workers
               and self.progress.time_left() > PROCESSING_MARGIN_SECONDS):
            snippet = self.inbox.pop(0)
            self.pace.waiting += 1
            self._submit(self.hearing_pool, snippet, _timed, snippets.examine, snippet, self.engine,
                         self.recogniser)

    def _start_captures(self) -> None:
        """Claim and start as many captures as slots are free and time allows."""
        assert self.capture_pool is not None
        concurrency = self.settings.concurrency
        free = min(concurrency - self.capturing, concurrency - self.pace.waiting)  # the queue is bounded too
        spare = self.progress.time_left() - PROCESSING_MARGIN_SECONDS
        if free <= 0 or spare < self.settings.capture_seconds + CONNECT_ALLOWANCE_SECONDS:
            return
        if not math.isinf(spare):
            free = min(free, self.pace.captures_that_fit(
                spare_seconds=spare, capture_seconds=self.settings.capture_seconds + CONNECT_ALLOWANCE_SECONDS,
                capturing=self.capturing))
            if free <= 0:
                return
        claimed = self._claim(free)
        self.unrecorded.update((link.id, link) for link in claimed)
        self.links_exhausted = not claimed
        if claimed:
            assert self.recogniser is not None  # made here, in the main thread, before a worker needs it
        for link in claimed:
            self.capturing += 1
            self._submit(self.capture_pool, link, self._capture_link, link, spare, self._listens_to(link, spare))

    def _claim(self, limit: int) -> list[links.Link]:
        with self.transactions() as conn:
            if self.settings.station_ids is None:
                claimed = links.claim_links(conn, owner=self.owner, limit=limit,
                                            lease_seconds=self.settings.lease_seconds,
                                            exclude=self.tally.handled_links)
            else:
                claimed = self._claim_named(conn, limit)
            if self.settings.listens:
                self.listening |= listening.listening_stations(conn, {link.station_id for link in claimed}, utcnow(),
                                                               self.settings.interval_seconds)
        self.tally.handled_links.update(link.id for link in claimed)
        return claimed

    def _claim_named(self, conn: Connection, limit: int) -> list[links.Link]:
        """Claim the next of the stations named on the command line, due or not."""
        assert self.settings.station_ids is not None
        wanted = [station for station in self.settings.station_ids
                  if station not in self.tally.handled_stations][:limit]
        claimed, busy = links.claim_station_links(conn, owner=self.owner, station_ids=wanted,
                                                  lease_seconds=self.settings.lease_seconds)
        self.tally.handled_stations.update(wanted)
        for station_ref in busy:
            log.warning("station %s is being scanned by another run; left to it", station_ref)
            self.tally.busy += 1
            self.progress.skipped()
        return claimed

    def _listens_to(self, link: links.Link, window_seconds: float) -> bool:
        """Whether to capture long (in the main thread): listening station, whole fit, run's long captures left."""
        if (link.station_id not in self.listening or window_seconds < self.settings.listen_limits.total_timeout
                or self.long_captures >= listening.LONG_CAPTURES_PER_CORE * self.settings.cores):
            return False
        self.long_captures += 1
        return True

    def _capture_link(self, link: links.Link, window_seconds: float, long: bool = False) -> Captured:
        """Read one link's audio (in a capture slot): no CPU-heavy work here."""
        attempted = utcnow()
        limits = self.settings.listen_limits if long else self.settings.limits
        if window_seconds < limits.total_timeout:  # late in the run: end the capture in time
            limits = replace(limits, total_timeout=window_seconds)
        try:
            return Captured(link, attempted, capture(link.url, limits, should_stop=self._stopping), listening=long)
        except StreamError as error:
            return Captured(link, attempted, None, error)
        except CaptureStopped:
            return Captured(link, attempted, None, stopped=True)

    def _hear_capture(self, captured: Captured, recogniser: Recogniser) -> LinkResult:
        """Decode and recognise one capture (in a hearing worker)."""
        clip = captured.clip
        assert clip is not None
        longest = 3 * max(self.settings.capture_seconds, self.settings.listen_seconds) + 10
        spans = (listening.spans_of(clip.seconds or self.settings.listen_seconds, clip.titles,
                                    self.settings.capture_seconds) if captured.listening else None)
        heard = recogniser.hear(clip.audio, clip.codec, clip.url_used, longest, spans)
        return LinkResult(captured.link, captured.attempted_at, clip, heard)

    def _done(self, work: Work, future: Future[Any]) -> None:
        try:
            result = future.result()
        except Exception as error:  # a bug met on one item must not lose the others' results
            log.error("unexpected error on %s:\n%s", work, "".join(traceback.format_exception(error)))
            result = _internal_failure(work, error)
        else:
            if not isinstance(work, links.Link):  # a hearing: (seconds it took, result)
                seconds, result = result
                self.pace.measured(seconds)
        if isinstance(work, links.Link):
            self.capturing -= 1
            self._captured(result)
            return
        self.pace.waiting -= 1
        if isinstance(work, Captured):
            self._record_link(result)
        else:
            self._record_snippet(result)

    def _captured(self, captured: Captured) -> None:
        """A capture slot is done: pass the audio on to be heard, give the link back (the
        stop came before the capture had enough audio), or record why there is none."""
        if captured.stopped:
            self._give_back(captured.link)
            return
        if captured.clip is None:
            error = captured.error or ItemError("no audio", "internal_error")
            self._record_link(LinkResult(captured.link, captured.attempted_at, None,
                                         Heard("error", error=error, failed=True)))
            return
        assert self.hearing_pool is not None
        self.pace.waiting += 1
        self._submit(self.hearing_pool, captured, _timed, self._hear_capture, captured, self.recogniser)

    def _record_link(self, result: LinkResult) -> None:
        link, heard, clip = result.link, result.heard, result.clip
        facts = CaptureFacts(
            station_id=link.station_id, source="stream", stream_link_id=link.id,
            started_at=clip.started_at if clip else result.attempted_at, audio=clip.audio if clip else b"",
            url_used=clip.url_used if clip else redact_url(link.url), codec=clip.codec if clip else None,
            icy_title=clip.icy_title if clip else None, seconds=clip.seconds if clip else 0.0,
            burst_seconds=clip.burst_seconds if clip else None)
        with self.transactions() as conn:
            if heard.pieces:
                listening.record_pieces(conn, facts, heard)
            else:
                record_capture(conn, facts, heard)
            if heard.outcome in ("match", "no_match"):
                self._link_ok(conn, link, facts.started_at, result.attempted_at)
            else:
                self._link_failed(conn, link, heard.error, result.attempted_at)
        self.unrecorded.pop(link.id, None)
        for part in [piece.heard for piece in heard.pieces] or [heard]:
            self._count(f"station {link.station_ref} link {link.id}", part)
        # A result changes which links are eligible (a failed primary frees its backup).
        self.links_exhausted = not self.settings.streams

    def _give_back(self, link: links.Link) -> None:
        with self.transactions() as conn:
            links.release_unscanned(conn, link, self.owner)
        self.unrecorded.pop(link.id, None)
        self.tally.given_back += 1
        self.progress.skipped()
        log.info("station %s link %s: the run is stopping and the capture had too little audio; "
                 "the link stays due", link.station_ref, link.id)

    def _link_ok(self, conn: Connection, link: links.Link, started_at: datetime, attempted_at: datetime) -> None:
        covered = gaps.last_covered(conn, link.station_id)
        gaps.close_gap(conn, link.station_id, covered, started_at, self.settings.gap_seconds, link.last_error_reason)
        if not links.link_succeeded(conn, link, self.owner, started_at=started_at, attempted_at=attempted_at,
                                    interval_seconds=self.settings.interval_seconds):
            log.warning("station %s link %s: the lease ran out during the scan; the capture is kept",
                        link.station_ref, link.id)

    def _link_failed(self, conn: Connection, link: links.Link, error: ItemError | None, attempted_at: datetime) -> None:
        reason = error.reason if error else "item_failed"
        message = str(error) if error else "failed"
        failures = links.link_failed(conn, link, self.owner, reason=reason, message=message,
                                     attempted_at=attempted_at, interval_seconds=self.settings.interval_seconds)
        self.tally.link_failures += 1
        if alerts.should_alert(link, failures, self.settings.alert_after):
            self.tally.alerts += alerts.queue_stream_down(
                conn, link, failures=failures, reason=reason, message=message,
                operator_email=self.settings.operator_email, now=utcnow(), mail_templates=self.settings.mail_templates)

    def _record_snippet(self, examined: snippets.Examined) -> None:
        snippet = examined.snippet
        if examined.rejected is not None or examined.earlier is not None:
            self._set_aside(examined)
            return
        assert examined.sidecar is not None and examined.heard is not None and snippet.audio is not None
        if snippets.retry_later(examined.heard):
            self._leave_for_later(examined, examined.heard)
            return
        target = snippets.stored_path(self.settings.snippets_dir, examined.sidecar, snippet.audio)
        facts = CaptureFacts(station_id=int(examined.station_id or 0), source="snippet",
                             started_at=examined.sidecar.started_at, audio=examined.data,
                             chunk_id=examined.sidecar.chunk_id, codec=_codec(examined.data),
                             icy_title=examined.sidecar.title,
                             audio_path=str(target), audio_host=self.settings.host_name)
        with self.transactions() as conn:
            earlier = self._record_chunk(conn, facts, examined.heard)
        if earlier is not None:
            self._set_aside(replace(examined, earlier=earlier))
            return
        if not self.dry_run:
            snippets.file_away(snippet, target, examined.data)
        self.tally.snippets += 1
        self._count(f"snippet {snippet.name}", examined.heard, link_failure=False)

    @staticmethod
    def _record_chunk(conn: Connection, facts: CaptureFacts, heard: Heard) -> snippets.Recorded | None:
        """Record a snippet's capture; return instead the capture its chunk_id was recorded
        as meanwhile (another file of the chunk in this run, or another host's run)."""
        assert facts.chunk_id is not None
        earlier = snippets.recorded_chunk(conn, facts.chunk_id)
        if earlier is not None:
            return earlier
        record_capture(conn, facts, heard)
        kept = snippets.recorded_chunk(conn, facts.chunk_id)
        # A host that recorded it at the same moment keeps its row: this audio is then a copy or a conflict.
        return kept if kept is not None and kept.audio_sha256 != facts.audio_sha256 else None

    def _leave_for_later(self, examined: snippets.Examined, heard: Heard) -> None:
        """ACRCloud was not asked for a reason of its own (credentials, outage): the
        snippet stays in the inbox, unrecorded, so a later run identifies it."""
        log.warning("snippet %s left in the inbox for a later run: %s", examined.snippet.name, heard.error)
        self.tally.retry_later += 1
        if heard.fatal is not None and self.tally.fatal is None:
            self.tally.fatal = heard.fatal
        self.progress.skipped()

    def _set_aside(self, examined: snippets.Examined) -> None:
        earlier = examined.earlier
        if earlier is not None:
            assert examined.sidecar is not None  # a recorded chunk is found by its side-car's chunk_id
            unfinished = snippets.unfinished_path(earlier)
            if unfinished is not None and snippets.same_audio(earlier, examined.data) and not self.dry_run:
                # Recorded by a run that stopped before storing the audio: finish its work.
                snippets.file_away(examined.snippet, unfinished, examined.data)
                self.progress.skipped()
                return
            error: ItemError = snippets.copy_of_recorded(examined.sidecar, earlier, examined.data)
        else:
            assert examined.rejected is not None  # set aside: a recorded chunk, else rejected
            error = examined.rejected
        if error.reason == "duplicate_chunk":
            self.progress.skipped()
        else:
            self.tally.rejected += 1
            self.progress.failed(f"snippet {examined.snippet.name}", error)
        if not self.dry_run:
            snippets.reject(examined.snippet, error)

    def _count(self, what: str, heard: Heard, link_failure: bool = True) -> None:
        self.tally.captures += 1
        if heard.outcome == "match":
            self.tally.matched += 1
            self.tally.via_acrcloud += heard.acr is not None
        self.tally.unmatched_music += heard.content == "music"
        if heard.fatal is not None and self.tally.fatal is None:
            self.tally.fatal = heard.fatal
        if heard.failed and (link_failure or heard.outcome != "silence"):
            self.progress.failed(what, heard.error or "failed")
        else:
            self.progress.ok()


def _internal_failure(work: Work, error: Exception) -> Captured | LinkResult | snippets.Examined:
    failure = ItemError(f"unexpected {type(error).__name__}: {error}", "internal_error")
    if isinstance(work, links.Link):
        return Captured(work, utcnow(), None, failure)
    if isinstance(work, Captured):
        return LinkResult(work.link, work.attempted_at, None, Heard("error", error=failure, failed=True))
    return snippets.Examined(work, rejected=failure)


def _timed(fn: Callable[..., Any], *args: Any) -> tuple[float, Any]:
    """Run ``fn`` and return (the wall seconds it took, its result): the pace of the hearing stage."""
    started = time.monotonic()
    result = fn(*args)
    return time.monotonic() - started, result


def _codec(data: bytes) -> str | None:
    from zamio.recognition.audio import probe_codec

    return probe_codec(data)
