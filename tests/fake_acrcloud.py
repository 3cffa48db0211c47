"""A fake ACRCloud identify endpoint on 127.0.0.1, speaking the documented protocol.

It parses the multipart/form-data request, checks the fields, the access key, the
HMAC-SHA1 signature and the timestamp (within ``MAX_CLOCK_SKEW_SECONDS``) like the real
service (3001 for an unknown key, 3014 for a bad signature or a stale timestamp,
3006 for missing fields or a ``sample_bytes`` that does not match), then answers with
the JSON of the scenario at hand.

Usage::

    with FakeAcrCloud() as fake:
        fake.respond("http_500", "match")   # one scenario per request, then the default
        client = AcrCloudClient(fake.config(), sleep=lambda s: None)
        result = client.identify_pcm(pcm, 8000)
        fake.requests[-1].fields["signature_version"] == "1"

``fake.respond_match(isrc="GBAYE0601498")`` answers the next request with a match of one recording
of that ISRC (any ISRC the service may send, well-formed or not), as the real service names one;
``offsets=False`` leaves the offset fields out of it.

Scenarios: ``match`` (two candidates, the second scoring higher, ISRCs as a list),
``no_match`` (1001), ``no_fingerprint`` (2004), ``invalid_key`` (3001),
``invalid_signature`` (3014), ``limit`` (3003), ``qps_limit`` (3015 "QPS limit
exceeded"), ``service_error`` (3000), ``malformed_json``, ``http_500``, ``slow``
(answers a match after ``slow_seconds``), ``rejected`` (3006).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from zamio.recognition.acrcloud import AcrCloudConfig

ACCESS_KEY = "fake-access-key"
ACCESS_SECRET = "fake-access-secret-do-not-print"
MAX_CLOCK_SKEW_SECONDS = 300
REQUIRED_FIELDS = ("access_key", "sample_bytes", "timestamp", "signature", "data_type",
                   "signature_version")

MATCH_METADATA = {
    "timestamp_utc": "2026-05-18 14:59:20",
    "music": [
        {"acrid": "0f1e2d3c4b5a69788796a5b4c3d2e1f0", "title": "Akwaaba (Live)", "score": 71,
         "artists": [{"name": "Kojo Antwi"}], "album": {"name": "Live in Accra"},
         "duration_ms": 301000, "play_offset_ms": 9000, "db_begin_time_offset_ms": 2000,
         "db_end_time_offset_ms": 9000, "sample_begin_time_offset_ms": 0,
         "sample_end_time_offset_ms": 7000, "external_ids": {"isrc": "GHA121500007"}},
        {"acrid": "6049f11da7095e8bb8266871d4a70873", "title": "Mpempem", "score": 100,
         "artists": [{"name": "Daddy Lumba"}, {"name": "Ofori Amponsah", "langs": []}],
         "album": {"name": "Aben Wo Ha"}, "label": "Lumba Productions",
         "release_date": "1998-01-01", "duration_ms": 254000, "play_offset_ms": 64740,
         "db_begin_time_offset_ms": 52480, "db_end_time_offset_ms": 64740,
         "sample_begin_time_offset_ms": 240, "sample_end_time_offset_ms": 12500,
         "result_from": 3,
         "external_ids": {"isrc": ["gh-a12-98-00012", "ISRC GHA129800012", "BAD-ISRC"],
                          "upc": "0602537351381", "iswc": "T-034.524.680-1"},
         "external_metadata": {"spotify": {"track": {"id": "4uLU6hMCjMI75M1A2tKUQC"}}}},
    ],
}
SCENARIOS = {
    "match": (200, {"status": {"msg": "Success", "code": 0, "version": "1.0"},
                    "result_type": 0, "cost_time": 0.7, "metadata": MATCH_METADATA}),
    "no_match": (200, {"status": {"msg": "No result", "code": 1001, "version": "1.0"}}),
    "no_fingerprint": (200, {"status": {"msg": "Can't generate fingerprint", "code": 2004,
                                        "version": "1.0"}}),
    "invalid_key": (200, {"status": {"msg": "Missing/Invalid Access Key", "code": 3001}}),
    "invalid_signature": (200, {"status": {"msg": "Invalid signature", "code": 3014}}),
    "limit": (200, {"status": {"msg": "Limit exceeded", "code": 3003}}),
    "qps_limit": (200, {"status": {"msg": "QPS limit exceeded", "code": 3015}}),
    "service_error": (200, {"status": {"msg": "Http Error", "code": 3000}}),
    "rejected": (200, {"status": {"msg": "Invalid arguments", "code": 3006}}),
    "http_500": (500, None),
    "malformed_json": (200, None),
    "slow": (200, None),
}


@dataclass
class ReceivedRequest:
    """One request as the fake saw it; ``answered`` is the status code it sent back."""

    path: str
    content_type: str
    fields: dict[str, str]
    sample: bytes = field(repr=False)
    sample_content_type: str | None
    answered: int | None = None


def match_of(isrc: str, title: str = "Song", artist: str = "Band", score: int = 100, offsets: bool = True,
             duration_ms: int = 200000) -> dict:
    """The answer naming one recording with this ISRC, heard from its start (offset 0); without
    ``offsets``, the answer leaves out every offset field, as the service may."""
    acrid = hashlib.md5(isrc.encode()).hexdigest()
    music = {"acrid": acrid, "title": title, "score": score, "artists": [{"name": artist}],
             "album": {"name": title}, "duration_ms": duration_ms, "external_ids": {"isrc": isrc}}
    if offsets:
        music.update(play_offset_ms=6000, db_begin_time_offset_ms=0, db_end_time_offset_ms=6000,
                     sample_begin_time_offset_ms=0, sample_end_time_offset_ms=6000)
    return {"status": {"msg": "Success", "code": 0, "version": "1.0"}, "result_type": 0, "cost_time": 0.5,
            "metadata": {"timestamp_utc": "2026-05-18 14:59:20", "music": [music]}}


def expected_signature(access_key: str, secret: str, data_type: str, version: str,
                       timestamp: str) -> str:
    """The signature ACRCloud computes for these fields."""
    text = "\n".join(("POST", "/v1/identify", access_key, data_type, version, timestamp))
    digest = hmac.new(secret.encode(), text.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, str], bytes, str | None]:
    """Return (text fields, the ``sample`` part's bytes, its content type) of a form body."""
    message = BytesParser(policy=policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    fields, sample, sample_type = {}, b"", None
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        if name == "sample":
            sample, sample_type = payload, part.get_content_type()
        else:
            fields[name] = payload.decode()
    return fields, sample, sample_type


class _Handler(BaseHTTPRequestHandler):
    server: FakeAcrCloud._Server

    def do_POST(self) -> None:  # noqa: N802
        fake = self.server.owner
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        content_type = self.headers.get("Content-Type", "")
        fields, sample, sample_type = parse_multipart(content_type, body)
        request = ReceivedRequest(self.path, content_type, fields, sample, sample_type)
        fake.requests.append(request)
        scenario, status, document = fake.answer(request)
        request.answered = status
        self._send(scenario, status, document, fake.slow_seconds)

    def _send(self, scenario: str | None, status: int, document, slow_seconds: float) -> None:
        if scenario == "slow":
            time.sleep(slow_seconds)
            document = SCENARIOS["match"][1]
        payload = (b'{"status": {"code": 0, "msg": "Succ' if scenario == "malformed_json"
                   else json.dumps(document or {"error": "internal"}).encode())
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        try:
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting

    def log_message(self, format: str, *args) -> None:  # noqa: A002
        pass


class FakeAcrCloud:
    """The fake service; a context manager.  See the module docstring."""

    class _Server(ThreadingHTTPServer):
        daemon_threads = True
        block_on_close = False
        owner: FakeAcrCloud

    def __init__(self, access_key: str = ACCESS_KEY, access_secret: str = ACCESS_SECRET,
                 default: str = "match", slow_seconds: float = 1.0) -> None:
        self.access_key, self.access_secret = access_key, access_secret
        self.default, self.slow_seconds = default, slow_seconds
        self.requests: list[ReceivedRequest] = []
        self._queue: deque[str | tuple[str, int, dict]] = deque()
        self._lock = threading.Lock()
        self._server = self._Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self.host = f"127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)

    def respond(self, *scenarios: str) -> None:
        """Answer the next requests with these scenarios, in order, then the default."""
        unknown = set(scenarios) - set(SCENARIOS)
        assert not unknown, f"unknown scenarios {unknown}"
        self._queue.extend(scenarios)

    def respond_match(self, isrc: str, **names: object) -> None:
        """Answer the next request (after those queued) with a match of the recording ``isrc`` (see ``match_of``)."""
        self._queue.append(("match", 200, match_of(isrc, **names)))

    def config(self, **overrides) -> AcrCloudConfig:
        """An AcrCloudConfig for this fake (plain HTTP, short timeout)."""
        values = dict(host=self.host, access_key=self.access_key,
                      access_secret=self.access_secret, scheme="http", timeout_seconds=2.0)
        values.update(overrides)
        return AcrCloudConfig(**values)

    def answer(self, request: ReceivedRequest) -> tuple[str | None, int, dict | None]:
        """Check the request like the real service, then take the next scenario; return
        (scenario or None when refused, HTTP status, JSON document)."""
        problem = self.check(request)
        with self._lock:
            scenario = self._queue.popleft() if self._queue else self.default
        if problem is not None:
            return None, 200, {"status": {"msg": problem[1], "code": problem[0]}}
        if isinstance(scenario, tuple):
            return scenario
        return (scenario, *SCENARIOS[scenario])

    def check(self, request: ReceivedRequest) -> tuple[int, str] | None:
        """Return (status code, message) of what the real service would refuse, or None."""
        fields = request.fields
        if (request.path != "/v1/identify"
                or not request.content_type.startswith("multipart/form-data")):
            return 3002, "Invalid Content-Type or path"
        if any(name not in fields for name in REQUIRED_FIELDS) or not request.sample:
            return 3006, "Invalid arguments"
        if fields["access_key"] != self.access_key:
            return 3001, "Missing/Invalid Access Key"
        if (fields["data_type"], fields["signature_version"]) != ("audio", "1") \
                or int(fields["sample_bytes"]) != len(request.sample):
            return 3006, "Invalid arguments"
        signature = expected_signature(self.access_key, self.access_secret, fields["data_type"],
                                       fields["signature_version"], fields["timestamp"])
        if not hmac.compare_digest(signature, fields["signature"]):
            return 3014, "Invalid signature"
        if abs(time.time() - float(fields["timestamp"])) > MAX_CLOCK_SKEW_SECONDS:
            return 3014, "Invalid signature (timestamp out of range)"
        return None

    def __enter__(self) -> FakeAcrCloud:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
