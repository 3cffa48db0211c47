"""The ACRCloud fallback: identify a capture the local catalog did not recognise.

Used only when ACRCloud is configured and the local match failed on audio that is not
silence.  Every HTTP request (retries included) first spends one unit of two budgets:

* the run budget (``ACRCLOUD_RUN_BUDGET``), counted in memory;
* the day budget (``ACRCLOUD_DAILY_BUDGET``), an atomic increment of
  ``acrcloud_usage.requests`` for the UTC day, shared by every host.

A circuit breaker (``acrcloud_usage.blocked_until``) stops all hosts from calling once
ACRCloud says the project's limit is exceeded (for ``LIMIT_BREAKER_SECONDS``) or keeps
failing (for ``UNAVAILABLE_BREAKER_SECONDS``).  Refusals raise :class:`FallbackSkipped`,
an item error whose reason is recorded on the capture.  Secrets never reach a log line.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypedDict

from sqlalchemy import Connection, Engine, select, update

from zamio.catalog.identifiers import normalise_iswc
from zamio.db.engine import insert_ignore, transaction, upsert, utcnow
from zamio.db.tables import acrcloud_usage
from zamio.recognition.acrcloud import (
    MAX_SAMPLE_SECONDS,
    AcrCloudClient,
    AcrCloudConfig,
    AcrCloudLimitExceeded,
    AcrCloudResult,
    AcrCloudUnavailable,
)
from zamio.runtime.config import Config
from zamio.runtime.errors import ItemError
from zamio.scanning.settings import FallbackSettings

LIMIT_BREAKER_SECONDS = 3600  # "limit exceeded": quotas reset slowly, ask again in an hour
UNAVAILABLE_BREAKER_SECONDS = 300  # down after the client's own retries: give it five minutes
RAW_RESPONSE_MAX_CHARS = 4000  # the trimmed JSON kept on a detection
PCM_FULL_SCALE = 32767

if TYPE_CHECKING:
    import numpy as np


class FallbackSkipped(ItemError):
    """The fallback was not asked: a budget is spent or the breaker is open."""

    reason = "acrcloud_skipped"


@dataclass
class _RunCounters:
    spent: int = 0
    open_until: datetime | None = None


def acrcloud_client_config(config: Config) -> AcrCloudConfig:
    """Given a configuration with ACRCloud set, return the client's settings.

    ``ACRCLOUD_HOST`` is a host name (``identify-eu-west-1.acrcloud.com``, HTTPS) or a
    URL whose scheme is kept (``http://127.0.0.1:8080`` for a local test service).
    """
    host, scheme = str(config.acrcloud_host), "https"
    for prefix in ("https://", "http://"):
        if host.startswith(prefix):
            scheme, host = prefix[:-3], host[len(prefix):]
    return AcrCloudConfig(host=host.rstrip("/"), access_key=str(config.acrcloud_access_key),
                          access_secret=str(config.acrcloud_access_secret), scheme=scheme)


def fallback_settings(config: Config) -> FallbackSettings | None:
    """Given the configuration, return the ACRCloud fallback it asks for (client and
    budgets), or None when ACRCloud is not configured.  Every job that recognises
    audio (the scan, ``detect-audio``) reads it here, so they fall back alike."""
    if not config.acrcloud_configured:
        return None
    return FallbackSettings(acrcloud_client_config(config), run_budget=config.acrcloud_run_budget,
                            daily_budget=config.acrcloud_daily_budget)


def open_fallback(engine: Engine, wanted: FallbackSettings | None, dry_run: bool) -> AcrCloudFallback | None:
    """Given the fallback a run asks for, return it ready to use, or None when there is
    none or the run is a dry run (which sends nothing anywhere)."""
    if wanted is None or dry_run:
        return None
    return AcrCloudFallback(engine, wanted.client, run_budget=wanted.run_budget, daily_budget=wanted.daily_budget)


def samples_to_pcm(samples: np.ndarray, seconds: float = MAX_SAMPLE_SECONDS, rate_hz: int = 8000) -> bytes:
    """Given float samples in [-1, 1] at ``rate_hz``, return the first ``seconds`` as
    16-bit little-endian PCM (what the identify call sends)."""
    import numpy as np

    head = np.clip(samples[: int(seconds * rate_hz)], -1.0, 1.0)
    return (head * PCM_FULL_SCALE).astype("<i2").tobytes()


class AcrCloudFallback:
    """Identifies captures with ACRCloud within the run and day budgets; thread-safe."""

    def __init__(self, engine: Engine, client_config: AcrCloudConfig, *, run_budget: int,
                 daily_budget: int) -> None:
        self.engine = engine
        self.client_config = client_config
        self.run_budget = run_budget
        self.daily_budget = daily_budget
        self._lock = threading.Lock()
        self._run = _RunCounters()

    @property
    def requests_spent(self) -> int:
        return self._run.spent

    def identify(self, samples: np.ndarray, rate_hz: int = 8000) -> AcrCloudResult:
        """Given float samples at ``rate_hz``, return ACRCloud's answer for their first 12 s.

        Raise FallbackSkipped when a budget or the breaker refuses; the errors of
        ``AcrCloudClient`` otherwise (the breaker opens on a limit or an outage).
        """
        client = AcrCloudClient(self.client_config, before_request=self._spend_one)
        try:
            return client.identify_pcm(samples_to_pcm(samples, rate_hz=rate_hz), rate_hz)
        except AcrCloudLimitExceeded:
            self._open_breaker(LIMIT_BREAKER_SECONDS, 3003)
            raise
        except AcrCloudUnavailable:
            self._open_breaker(UNAVAILABLE_BREAKER_SECONDS, None)
            raise

    def _spend_one(self) -> None:
        """The client's ``before_request`` hook: spend one request or raise FallbackSkipped."""
        now = utcnow()
        with self._lock:
            if self._run.open_until is not None and self._run.open_until > now:
                raise FallbackSkipped("ACRCloud is paused after a limit or an outage", reason="acrcloud_breaker_open")
            if self._run.spent >= self.run_budget:
                raise FallbackSkipped(f"the run budget of {self.run_budget} ACRCloud requests is spent "
                                      "(ACRCLOUD_RUN_BUDGET)", reason="acrcloud_run_budget")
            with transaction(self.engine) as conn:
                refusal = spend_daily(conn, now, self.daily_budget)
            if refusal is not None:
                raise refusal
            self._run.spent += 1

    def _open_breaker(self, seconds: float, status: int | None) -> None:
        until = utcnow() + timedelta(seconds=seconds)
        with self._lock:
            self._run.open_until = until
            with transaction(self.engine) as conn:
                open_breaker(conn, until, status)


def spend_daily(conn: Connection, now: datetime, daily_budget: int) -> FallbackSkipped | None:
    """Count one request against today's (UTC) budget, atomically; return the refusal
    instead when the breaker is open or ``daily_budget`` requests were already made."""
    blocked = conn.execute(
        select(acrcloud_usage.c.blocked_until).where(
            acrcloud_usage.c.day >= (now - timedelta(days=1)).date(), acrcloud_usage.c.blocked_until > now)
    ).first()
    if blocked is not None:
        return FallbackSkipped(f"ACRCloud is paused until {blocked[0]:%Y-%m-%d %H:%M} UTC after a limit or "
                               "an outage", reason="acrcloud_breaker_open")
    insert_ignore(conn, acrcloud_usage, [{"day": now.date(), "requests": 0}], ["day"])
    spent = conn.execute(
        update(acrcloud_usage)
        .where(acrcloud_usage.c.day == now.date(), acrcloud_usage.c.requests < daily_budget)
        .values(requests=acrcloud_usage.c.requests + 1)
    )
    if spent.rowcount != 1:
        return FallbackSkipped(f"today's budget of {daily_budget} ACRCloud requests is spent "
                               "(ACRCLOUD_DAILY_BUDGET)", reason="acrcloud_daily_budget")
    return None


def open_breaker(conn: Connection, until: datetime, status: int | None) -> None:
    """Stop every host from calling ACRCloud before ``until`` (kept on today's usage row)."""
    row = {"day": utcnow().date(), "blocked_until": until, "last_status": status}
    upsert(conn, acrcloud_usage, [row], ["day"], update=["blocked_until", "last_status"])


class AcrCloudFields(TypedDict):
    """The detection columns an ACRCloud match fills."""

    acrcloud_id: str | None
    title: str | None
    artist: str | None
    album: str | None
    label: str | None
    isrc: str | None
    isrc_valid: bool | None
    iswc: str | None
    duration_seconds: float | None
    offset_seconds: float | None
    confidence: float | None
    score: float | None
    raw_status_code: int
    raw_response: str


def detection_fields(result: AcrCloudResult) -> AcrCloudFields:
    """Given a matched ACRCloud result, return the detection columns of its best candidate."""
    best = result.best
    assert best is not None  # a capture is a match by ACRCloud only when its best candidate is set
    isrc_value = next((v for v in best.isrcs if v.valid), best.isrcs[0] if best.isrcs else None)
    return {
        "acrcloud_id": best.acrid,
        "title": best.title,
        "artist": ", ".join(best.artists) or None,
        "album": best.album,
        "label": best.label,
        "isrc": isrc_value.normalised if isrc_value else None,
        "isrc_valid": isrc_value.valid if isrc_value else None,
        "iswc": normalise_iswc(best.iswc) if best.iswc else None,
        "duration_seconds": best.duration_ms / 1000 if best.duration_ms else None,
        "offset_seconds": best.offset_seconds,
        "confidence": min(1.0, best.score / 100) if best.score is not None else None,
        "score": best.score,
        "raw_status_code": result.status_code,
        "raw_response": trimmed_response(result),
    }


def trimmed_response(result: AcrCloudResult) -> str:
    """The key fields of an ACRCloud answer as JSON, at most RAW_RESPONSE_MAX_CHARS long."""
    keep = ("acrid", "title", "score", "duration_ms", "play_offset_ms", "db_begin_time_offset_ms",
            "db_end_time_offset_ms", "sample_begin_time_offset_ms", "sample_end_time_offset_ms",
            "external_ids", "label", "release_date")
    found = result.raw.get("metadata")
    metadata: dict[str, Any] = found if isinstance(found, dict) else {}
    music = [{k: entry.get(k) for k in keep if k in entry}
             for entry in (metadata.get("music") or []) if isinstance(entry, dict)]
    document = {"status": result.raw.get("status"), "music": music}
    text = json.dumps(document, ensure_ascii=False, sort_keys=True)
    while len(text) > RAW_RESPONSE_MAX_CHARS and music:
        music.pop()  # the document's list: the last candidates go first
        text = json.dumps(document, ensure_ascii=False, sort_keys=True)
    return text[:RAW_RESPONSE_MAX_CHARS]
