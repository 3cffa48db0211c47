"""ACRCloud identification client (the documented identify protocol, version 1).

``POST https://{host}/v1/identify`` with a multipart/form-data body: the file part
``sample`` and the fields ``access_key``, ``sample_bytes``, ``timestamp``, ``signature``,
``data_type=audio`` and ``signature_version=1``, where ``signature`` is
base64(HMAC-SHA1(access_secret, "POST\\n/v1/identify\\n{access_key}\\naudio\\n1\\n{timestamp}"))
and the timestamp string is the same in the form and in the signed text.

Usage::

    client = AcrCloudClient(AcrCloudConfig(host, access_key, access_secret),
                            before_request=budget.spend_one)
    result = client.identify_pcm(pcm_s16le_mono, sample_rate_hz=8000)
    if result.matched:
        result.best.title, result.best.isrc, result.best.offset_seconds

Outcomes: status 0 is a match, 1001 a normal "no match", 2004 (no fingerprint: silence)
a result with ``no_fingerprint``.  Errors: 3001/3014 raise :class:`AcrCloudAuthError`
(a ConfigError); 3003, and 3015 when its message speaks of a limit or QPS, raise
:class:`AcrCloudLimitExceeded` (a TemporaryFailure: the caller opens its circuit
breaker); connection errors, timeouts, HTTP 5xx/429 and statuses 3000/2005 are retried
with bounded exponential back-off and then raise :class:`AcrCloudUnavailable` (a
ServiceUnavailable: the service, not the clip, failed); a body that is not the
documented JSON raises :class:`AcrCloudBadResponse`, any other status
:class:`AcrCloudRejected` (both item errors).

The request goes through ``requests`` (the sample as a ``files=`` part, a connect and a read
timeout, no proxy or .netrc from the environment); its retries are a urllib3 ``Retry``
(``_Attempts``) holding the policy above, shared by urllib3's retries of network failures and
HTTP statuses and the client's retries of the transient ACRCloud statuses.  A retry sent by
urllib3 carries the first attempt's timestamp, well within ACRCloud's clock tolerance.

Budgets per run or day and the circuit breaker live in the database and belong to the
caller: ``before_request`` is called before every HTTP request (retries included, since
each counts against the ACRCloud quota) and may raise to refuse it.  The secret never
appears in reprs, logs or messages.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import logging
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Self

import requests
from requests.adapters import HTTPAdapter
from urllib3 import BaseHTTPResponse
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError, ReadTimeoutError
from urllib3.util.retry import RequestHistory, Retry

from zamio.catalog.identifiers import IsrcValue, normalise_iswc, parse_isrc_field
from zamio.runtime.errors import ConfigError, ItemError, ServiceUnavailable, TemporaryFailure

log = logging.getLogger(__name__)

IDENTIFY_PATH = "/v1/identify"
DATA_TYPE = "audio"
SIGNATURE_VERSION = "1"
MAX_SAMPLE_SECONDS = 12.0  # ACRCloud recognises only the first 12 s of a sample
MIN_SAMPLE_SECONDS = 1.0  # the SDK refuses less (status 2006)
MAX_SAMPLE_BYTES = 1_000_000  # encoded samples: the documented demo limit is < 1 MB
MAX_RESPONSE_BYTES = 2_000_000
SAMPLE_WIDTH_BYTES = 2  # 16-bit PCM
SUCCESS, NO_RESULT, NO_FINGERPRINT = 0, 1001, 2004
AUTH_STATUSES = frozenset({3001, 3014})
LIMIT_STATUS, AMBIGUOUS_LIMIT_STATUS = 3003, 3015
TRANSIENT_STATUSES = frozenset({2005, 3000})
TRANSIENT_HTTP = frozenset({429, 500, 502, 503, 504})


class AcrCloudAuthError(ConfigError):
    """ACRCloud refused the access key or the signature (3001, 3014)."""


class AcrCloudLimitExceeded(TemporaryFailure):
    """The project's request limit is reached (3003, or 3015 naming a limit)."""


class AcrCloudUnavailable(ServiceUnavailable):
    """ACRCloud could not be reached or kept failing transiently after the retries."""

    reason = "acrcloud_unavailable"


class AcrCloudBadResponse(ItemError):
    """ACRCloud answered with something other than its documented JSON."""

    reason = "acrcloud_bad_response"


class AcrCloudRejected(ItemError):
    """ACRCloud rejected this request with another status; ``reason`` is ``acrcloud_<code>``."""

    reason = "acrcloud_rejected"


class AcrCloudBadSample(ItemError):
    """The sample is too short or too large to send."""

    reason = "acrcloud_bad_sample"


@dataclass(frozen=True)
class AcrCloudConfig:
    """Where and how to call ACRCloud; times in seconds.

    ``attempts`` counts HTTP requests per identification (first try plus retries); the
    waits between them start at ``backoff_seconds`` and double, and stop once their sum
    would pass ``max_backoff_seconds``.
    """

    host: str
    access_key: str
    access_secret: str = field(repr=False)
    scheme: str = "https"
    timeout_seconds: float = 10.0  # for the answer (the read timeout)
    connect_timeout_seconds: float = 5.0
    attempts: int = 3
    backoff_seconds: float = 0.5
    max_backoff_seconds: float = 4.0


@dataclass(frozen=True)
class AcrCloudMatch:
    """One candidate of ``metadata.music[]``; times in milliseconds as ACRCloud sends them.

    ``isrcs`` keeps every ISRC received, normalised, each marked valid or not.
    """

    acrid: str | None
    title: str | None
    artists: tuple[str, ...]
    album: str | None
    label: str | None
    isrcs: tuple[IsrcValue, ...]
    iswc: str | None
    upc: str | None
    score: float | None
    duration_ms: int | None
    play_offset_ms: int | None
    db_begin_time_offset_ms: int | None
    db_end_time_offset_ms: int | None
    sample_begin_time_offset_ms: int | None
    sample_end_time_offset_ms: int | None
    release_date: str | None = None

    @property
    def isrc(self) -> str | None:
        """The first valid ISRC, or None."""
        return next((value.normalised for value in self.isrcs if value.valid), None)

    @property
    def offset_seconds(self) -> float | None:
        """Seconds into the track at which the sample starts: ``db_begin - sample_begin``
        (falling back to ``play_offset - sample_end``, as play_offset marks the match end)."""
        if self.db_begin_time_offset_ms is not None:
            return (self.db_begin_time_offset_ms - (self.sample_begin_time_offset_ms or 0)) / 1000
        if self.play_offset_ms is not None and self.sample_end_time_offset_ms is not None:
            return (self.play_offset_ms - self.sample_end_time_offset_ms) / 1000
        return None


@dataclass(frozen=True)
class AcrCloudResult:
    """The outcome of one identification; ``best`` is the highest-scoring candidate."""

    status_code: int
    status_msg: str
    matched: bool
    no_fingerprint: bool = False
    best: AcrCloudMatch | None = None
    candidates: tuple[AcrCloudMatch, ...] = ()
    raw: dict[str, object] = field(default_factory=dict, repr=False)


def sign(access_key: str, access_secret: str, timestamp: str, data_type: str = DATA_TYPE) -> str:
    """Given the credentials and the timestamp string, return the request signature."""
    text = "\n".join(("POST", IDENTIFY_PATH, access_key, data_type, SIGNATURE_VERSION, timestamp))
    digest = hmac.new(access_secret.encode(), text.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def pcm_to_wav(pcm: bytes, sample_rate_hz: int, channels: int = 1,
               max_seconds: float = MAX_SAMPLE_SECONDS) -> bytes:
    """Given 16-bit little-endian PCM, return a WAV file of at most ``max_seconds``.

    Raise AcrCloudBadSample if it holds less than MIN_SAMPLE_SECONDS of audio.
    """
    frame_bytes = SAMPLE_WIDTH_BYTES * channels
    frames = len(pcm) // frame_bytes
    if frames < MIN_SAMPLE_SECONDS * sample_rate_hz:
        raise AcrCloudBadSample(f"audio sample of {frames / sample_rate_hz:.2f} s is too short "
                                f"for ACRCloud (at least {MIN_SAMPLE_SECONDS:g} s)",
                                reason="sample_too_short")
    frames = min(frames, int(max_seconds * sample_rate_hz))
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(SAMPLE_WIDTH_BYTES)
        wav.setframerate(sample_rate_hz)
        wav.writeframes(pcm[:frames * frame_bytes])
    return out.getvalue()


def form_fields(config: AcrCloudConfig, sample_bytes: int, timestamp: str) -> dict[str, str]:
    """The text fields of an identify request (the ``sample`` file part goes beside them)."""
    return {"access_key": config.access_key, "sample_bytes": str(sample_bytes), "timestamp": timestamp,
            "signature": sign(config.access_key, config.access_secret, timestamp),
            "data_type": DATA_TYPE, "signature_version": SIGNATURE_VERSION}


class _Transient(Exception):
    """A failure worth retrying; ``why`` describes it without secrets."""

    def __init__(self, why: str, status: int | None = None) -> None:
        super().__init__(why)
        self.why = why
        self.status = status


class _Attempts(Retry):
    """urllib3's Retry with the client's policy, for one identification.

    ``total`` is ``attempts - 1``; the wait before retry k is ``backoff_seconds * 2**(k-1)``,
    and the retries stop once the waits would add up to more than ``max_backoff_seconds``.
    Connection failures, timeouts and HTTP 429/5xx are retried by urllib3 inside the request;
    the client retries transient ACRCloud statuses (3000, 2005, in a 200 answer) and failures
    while reading the answer through the same object, so one budget of attempts covers both.
    The wait goes through the client's ``sleep`` and every retry through its
    ``before_request`` hook, as every request counts against the quota.
    """

    def __init__(self, *args: Any, client: AcrCloudClient | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.client = client

    @classmethod
    def first(cls, client: AcrCloudClient) -> _Attempts:
        return cls(total=client.config.attempts - 1, connect=None, read=None, status=None, other=None,
                   redirect=False, allowed_methods=None, status_forcelist=TRANSIENT_HTTP,
                   raise_on_status=False, respect_retry_after_header=False,
                   backoff_factor=client.config.backoff_seconds, client=client)

    def new(self, **kwargs: object) -> Self:
        return super().new(client=self.client, **kwargs)

    def get_backoff_time(self) -> float:
        failures = len(self.history)
        return self.backoff_factor * 2 ** (failures - 1) if failures else 0.0

    def is_exhausted(self) -> bool:
        waits = sum(self.backoff_factor * 2 ** k for k in range(len(self.history)))
        return super().is_exhausted() or (self.client is not None
                                          and waits > self.client.config.max_backoff_seconds)

    def sleep(self, response: BaseHTTPResponse | None = None) -> None:
        assert self.client is not None
        wait = self.get_backoff_time()
        log.info("ACRCloud attempt %d failed (%s); retrying in %.1f s",
                 len(self.history), self.client.describe(self.history[-1]), wait)
        self.client.sleep(wait)
        self.client.before_each_request()


class AcrCloudClient:
    """Identifies audio samples with ACRCloud; see the module docstring for outcomes.

    ``requests_sent`` counts HTTP requests made by this client (an in-memory per-run
    counter); ``sleep`` and ``clock`` (epoch seconds) are injectable for tests.
    """

    def __init__(self, config: AcrCloudConfig, *,
                 before_request: Callable[[], None] | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.before_request = before_request
        self.sleep = sleep
        self.clock = clock
        self.requests_sent = 0

    def __repr__(self) -> str:
        return f"AcrCloudClient(host={self.config.host!r}, requests_sent={self.requests_sent})"

    @property
    def url(self) -> str:
        return f"{self.config.scheme}://{self.config.host}{IDENTIFY_PATH}"

    def identify_pcm(self, pcm: bytes, sample_rate_hz: int, channels: int = 1) -> AcrCloudResult:
        """Given 16-bit little-endian PCM, identify its first 12 s (sent as WAV).

        Raise AcrCloudBadSample for less than 1 s, and the errors of :meth:`identify_sample`.
        """
        return self.identify_sample(pcm_to_wav(pcm, sample_rate_hz, channels), "audio/wav")

    def identify_sample(self, sample: bytes, content_type: str = "application/octet-stream"
                        ) -> AcrCloudResult:
        """Given an encoded audio sample (at most MAX_SAMPLE_BYTES; only its first 12 s
        count), return the AcrCloudResult; raise the errors listed in the module docstring."""
        if len(sample) > MAX_SAMPLE_BYTES:
            raise AcrCloudBadSample(f"audio sample of {len(sample)} bytes exceeds the "
                                    f"{MAX_SAMPLE_BYTES}-byte cap; send at most 12 s",
                                    reason="sample_too_large")
        sent_before = self.requests_sent
        attempts = _Attempts.first(self)
        with requests.Session() as session:
            session.trust_env = False  # no proxy or .netrc from the environment: the host named is the one called
            adapter = HTTPAdapter(max_retries=attempts)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            self.before_each_request()
            while True:
                try:
                    status, payload, used = self._post(session, sample, content_type)
                except requests.RequestException as error:  # urllib3 retried it already, to the end
                    raise self._unavailable(self.requests_sent - sent_before, self.describe(error)) from None
                try:
                    return _interpret(status, payload)
                except _Transient as failure:
                    if failure.status in TRANSIENT_HTTP:  # urllib3 retried it already, to the end
                        raise self._unavailable(self.requests_sent - sent_before, failure.why) from None
                    try:
                        adapter.max_retries = used.increment("POST", self.url, error=failure)
                    except MaxRetryError:
                        raise self._unavailable(self.requests_sent - sent_before, failure.why) from None
                    adapter.max_retries.sleep()

    def before_each_request(self) -> None:
        """Ask ``before_request`` (which may refuse), then count the request."""
        if self.before_request is not None:
            self.before_request()
        self.requests_sent += 1

    def _unavailable(self, attempts: int, why: str) -> AcrCloudUnavailable:
        return AcrCloudUnavailable(f"ACRCloud at {self.config.host} failed {attempts} time(s), "
                                   f"last: {why}; check the network and ACRCLOUD_HOST")

    def _post(self, session: requests.Session, sample: bytes, content_type: str
              ) -> tuple[int, bytes, Retry]:
        """POST the sample (signed now); return (HTTP status, response body, the Retry in force
        for the answer).  Raise the requests error once urllib3 has retried a network failure
        to the end, and _Transient when reading the answer fails."""
        fields = form_fields(self.config, len(sample), str(int(self.clock())))
        response = session.post(self.url, data=fields, files={"sample": ("sample", sample, content_type)},
                                headers={"Accept": "application/json"}, stream=True, allow_redirects=False,
                                timeout=(self.config.connect_timeout_seconds, self.config.timeout_seconds))
        with response:
            used = response.raw.retries or Retry(0)
            try:
                payload = b""
                for chunk in response.iter_content(64 * 1024):
                    payload += chunk
                    if len(payload) > MAX_RESPONSE_BYTES:
                        break
            except requests.RequestException as error:
                raise _Transient(self.describe(error)) from None
        return response.status_code, payload, used

    def describe(self, failure: object) -> str:
        """Say what failed (a requests or urllib3 error, or a retry's history entry), without secrets."""
        if isinstance(failure, RequestHistory):
            return failure.error and self.describe(failure.error) or f"HTTP {failure.status}"
        if isinstance(failure, _Transient):
            return failure.why
        reason = failure.args[0] if isinstance(failure, requests.RequestException) and failure.args else failure
        if isinstance(reason, MaxRetryError) and reason.reason is not None:
            reason = reason.reason
        if isinstance(reason, (ReadTimeoutError, requests.ReadTimeout, TimeoutError)) \
                and not isinstance(reason, ConnectTimeoutError):
            return f"no answer within {self.config.timeout_seconds:g} s"
        if isinstance(reason, (ConnectTimeoutError, requests.ConnectTimeout)) \
                and not isinstance(reason, NewConnectionError):
            return f"no connection within {self.config.connect_timeout_seconds:g} s"
        return f"{type(reason).__name__}: {reason}"


def _interpret(http_status: int, payload: bytes) -> AcrCloudResult:
    """Given the HTTP status and body of an identify response, return the result or raise
    per the status policy (``_Transient`` for what is worth retrying)."""
    if http_status in TRANSIENT_HTTP:
        raise _Transient(f"HTTP {http_status}", http_status)
    if len(payload) > MAX_RESPONSE_BYTES:
        raise AcrCloudBadResponse(f"ACRCloud answered with more than {MAX_RESPONSE_BYTES} bytes")
    try:
        document = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise AcrCloudBadResponse(f"ACRCloud answered HTTP {http_status} with a body that is "
                                  "not JSON; retry later, report it if it persists",
                                  reason="acrcloud_bad_response") from None
    code, message = _status(document, http_status)
    return _by_status(code, message, document)


def _status(document: Any, http_status: int) -> tuple[int, str]:
    found = document.get("status") if isinstance(document, dict) else None
    status: dict[str, Any] = found if isinstance(found, dict) else {}
    code = status.get("code")
    if isinstance(code, str) and code.isdigit():
        code = int(code)
    if not isinstance(code, int) or isinstance(code, bool):
        raise AcrCloudBadResponse(f"ACRCloud answered HTTP {http_status} without a status "
                                  "code; retry later, report it if it persists")
    return code, str(status.get("msg") or "")


def _by_status(code: int, message: str, document: dict[str, object]) -> AcrCloudResult:
    if code == SUCCESS:
        candidates = parse_candidates(document)
        best = max(candidates, key=lambda c: -1.0 if c.score is None else c.score, default=None)
        return AcrCloudResult(code, message, bool(candidates), False, best, candidates, document)
    if code == NO_RESULT:
        return AcrCloudResult(code, message, False, raw=document)
    if code == NO_FINGERPRINT:
        return AcrCloudResult(code, message, False, no_fingerprint=True, raw=document)
    if code in AUTH_STATUSES:
        hint = " and that the server clock is right (signatures carry a timestamp)" \
            if code == 3014 else ""
        raise AcrCloudAuthError(f"ACRCloud refused the credentials ({code} {message}); check "
                                f"ACRCLOUD_ACCESS_KEY and ACRCLOUD_ACCESS_SECRET{hint}")
    if code == LIMIT_STATUS or (code == AMBIGUOUS_LIMIT_STATUS and _mentions_limit(message)):
        raise AcrCloudLimitExceeded(f"ACRCloud request limit reached ({code} {message}); "
                                    "wait for the quota to reset or raise the plan's limit")
    if code in TRANSIENT_STATUSES:
        raise _Transient(f"status {code} {message}")
    raise AcrCloudRejected(f"ACRCloud rejected the request ({code} {message})",
                           reason=f"acrcloud_{code}")


def _mentions_limit(message: str) -> bool:
    lowered = message.lower()
    return "limit" in lowered or "qps" in lowered


def parse_candidates(document: dict[str, object]) -> tuple[AcrCloudMatch, ...]:
    """Given a status-0 document, return its ``metadata.music`` candidates in order.

    Raise AcrCloudBadResponse when ``metadata`` or ``music`` has the wrong shape.
    """
    metadata = document.get("metadata", {})
    music = metadata.get("music", []) if isinstance(metadata, dict) else None
    if not isinstance(music, list) or not all(isinstance(entry, dict) for entry in music):
        raise AcrCloudBadResponse("ACRCloud answered status 0 without a metadata.music list; "
                                  "retry later, report it if it persists")
    return tuple(parse_match(entry) for entry in music)


def parse_match(entry: dict[str, object]) -> AcrCloudMatch:
    """Given one ``metadata.music[]`` entry, return its AcrCloudMatch (missing fields: None)."""
    ids = entry.get("external_ids")
    external: dict[str, object] = ids if isinstance(ids, dict) else {}
    return AcrCloudMatch(
        acrid=_text(entry.get("acrid")), title=_text(entry.get("title")),
        artists=tuple(name for name in map(_name, _list(entry.get("artists"))) if name),
        album=_name(entry.get("album")), label=_text(entry.get("label")),
        isrcs=tuple(parse_isrc_field([str(v) for v in _list(external.get("isrc"))])),
        iswc=normalise_iswc(_first(external.get("iswc"))), upc=_first(external.get("upc")),
        score=_number(entry.get("score"), float), duration_ms=_number(entry.get("duration_ms")),
        play_offset_ms=_number(entry.get("play_offset_ms")),
        db_begin_time_offset_ms=_number(entry.get("db_begin_time_offset_ms")),
        db_end_time_offset_ms=_number(entry.get("db_end_time_offset_ms")),
        sample_begin_time_offset_ms=_number(entry.get("sample_begin_time_offset_ms")),
        sample_end_time_offset_ms=_number(entry.get("sample_end_time_offset_ms")),
        release_date=_text(entry.get("release_date")))


def _list(value: object) -> list[object]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _text(value: object) -> str | None:
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        return None
    return str(value).strip() or None


def _name(value: object) -> str | None:
    return _text(value.get("name")) if isinstance(value, dict) else _text(value)


def _first(value: object) -> str | None:
    return next((text for text in map(_text, _list(value)) if text), None)


def _number(value: Any, kind: type = int) -> Any:
    if isinstance(value, bool):
        return None
    try:
        return kind(float(value)) if kind is int else kind(value)
    except (TypeError, ValueError):
        return None
