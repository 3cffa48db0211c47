"""A radio stream server on 127.0.0.1 for tests and the demo, serving real encoded audio.

Usage::

    audio = build_test_audio(tmp_dir)            # or the session fixture ``stream_audio``
    routes = {
        "/station1": IcyAudioRoute(audio.mp3, metaint=8192, title="Artist - Song"),
        "/plain.aac": AudioRoute(audio.aac, "audio/aac"),
        "/listen.pls": PlaylistRoute("[playlist]\\nFile1={base}/station1\\n", "audio/x-scpls"),
        "/hls": HlsRoute(audio.ts_segments, 1.0, durations=audio.ts_durations),  # /hls/live.m3u8
        "/gone": StatusRoute(404),
    }
    with StreamServer(routes) as server:
        url = server.url("/station1")
        routes["/station1"].set_audio(other_mp3, title="Other - Song")   # switch songs live

Routes (each serves every request to its path; :class:`HlsRoute` serves its subtree):

* :class:`AudioRoute` ``(audio, content_type="audio/mpeg", *, header=b"", byte_rate=None,
  pace=None, burst_bytes=0, metaint=None, title=None, name="Test Radio", bitrate_kbps=None,
  status_line="HTTP/1.0 200 OK", chunked=False, loop=True, auth=None, reset_after=None, titles=())``:
  ``header`` once, then ``audio`` in a loop.  ``pace`` is a multiple of real time
  (``byte_rate`` bytes/s of audio; None = as fast as the client reads) after an initial
  ``burst_bytes``.  ``metaint`` adds ICY metadata when the client asks with
  ``Icy-MetaData: 1`` (the title in the first block and whenever it changes, L = 0 in
  between); ``titles``, pairs (byte of ``audio``, title), instead sends the title in force
  at the audio's position as each block is sent (a playout changing title with its items).
  ``status_line="ICY 200 OK"`` imitates SHOUTcast v1.  ``auth=(user,
  password)`` demands Basic auth.  ``reset_after`` resets the connection (TCP RST) after
  that many body bytes.  ``set_audio(audio, title=None)`` and ``set_title(title)`` change
  what is served while running; ``authorizations`` lists Authorization headers received;
  ``on_air_from`` lists, per listener, the UTC instant its first audio byte was on air
  (for a paced route, the burst was on air before it was sent: ``burst_bytes`` earlier
  than the first send at ``byte_rate × pace``).
* :func:`IcyAudioRoute` (an AudioRoute with ICY defaults), :func:`ShoutcastV1Route`.
* :class:`PlaylistRoute` ``(body, content_type)``: ``{base}`` in ``body`` becomes the
  server's base URL.
* :class:`HlsRoute` ``(segments, segment_seconds, *, window=3, pace=1.0, ended=False,
  extension="ts", content_type="video/mp2t", codecs="mp4a.40.2", durations=None)``:
  ``<path>/live.m3u8`` is a live media playlist sliding by one segment every
  ``segment_seconds / pace`` (``durations`` gives each segment's #EXTINF); ``<path>/master.m3u8``
  a master playlist naming it; ``<path>/seg<N>.<extension>`` the segments (looped).
* Faults: :class:`StatusRoute` ``(status, body=b"", content_type="text/plain")``,
  :func:`HtmlRoute`, :class:`RedirectRoute` ``(location, status=302)`` (``{base}``
  allowed), :class:`TrickleRoute` ``(audio, interval_seconds=1.0)`` (one byte per
  interval), :class:`StallRoute` ``(head=True)`` (audio headers, or nothing at all, then
  silence on an open connection), :class:`GarbageRoute` ``(seed=1)`` (endless random bytes labelled audio),
  :class:`IcyAbuseRoute` (metadata blocks of 4080 bytes after every 16 audio bytes),
  :class:`HeaderFloodRoute` (headers that never end).

Test audio (:func:`build_test_audio`): a few seconds of a tone chord with a moving
pitch, written with ``wave`` and encoded with ffmpeg to MP3 128k, AAC/ADTS, Ogg Vorbis,
MPEG-TS HLS segments and packed-AAC HLS segments, plus an MP3 of digital silence.
"""

from __future__ import annotations

import base64
import math
import random
import socket
import ssl
import struct
import subprocess
import threading
import time
import wave
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

TEST_AUDIO_SECONDS = 6.0
TEST_RATE_HZ = 44100
CHUNK_BYTES = 4096


# --- test audio ------------------------------------------------------------------------


@dataclass(frozen=True)
class TestAudio:
    """Encoded test audio.  ``wav_header`` + ``wav_pcm`` make ``wav``; the MPEG-TS HLS
    segments last ``ts_durations`` seconds, the packed-AAC ones ``segment_seconds`` each."""

    __test__ = False  # not a test class, despite the name

    wav: bytes
    wav_header: bytes
    wav_pcm: bytes
    mp3: bytes
    aac: bytes
    ogg: bytes
    silence_mp3: bytes
    ts_segments: tuple[bytes, ...]
    ts_durations: tuple[float, ...]
    aac_segments: tuple[bytes, ...]
    segment_seconds: float
    seconds: float = TEST_AUDIO_SECONDS


def write_test_wav(path: Path, seconds: float = TEST_AUDIO_SECONDS,
                   rate_hz: int = TEST_RATE_HZ, silent: bool = False) -> None:
    """Write a mono 16-bit WAV: three tones whose pitch steps every half second."""
    frames = bytearray()
    for n in range(int(seconds * rate_hz)):
        t = n / rate_hz
        step = int(t * 2) % 5
        value = 0.0 if silent else (0.3 * math.sin(2 * math.pi * (330 + 55 * step) * t)
                                     + 0.2 * math.sin(2 * math.pi * 880 * t)
                                     + 0.1 * math.sin(2 * math.pi * (1500 - 90 * step) * t))
        frames += struct.pack("<h", int(value * 32767))
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate_hz)
        out.writeframes(bytes(frames))


def ffmpeg(*args: str) -> None:
    """Run ffmpeg quietly; raise CalledProcessError with its stderr on failure."""
    subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args],
                   check=True, capture_output=True, timeout=120)


def encode(source: Path, target: Path, *codec_args: str) -> bytes:
    """Encode ``source`` into ``target`` with the given ffmpeg codec arguments; return the bytes."""
    ffmpeg("-i", str(source), *codec_args, str(target))
    return target.read_bytes()


def hls_ts_segments(source: Path, directory: Path) -> tuple[tuple[bytes, ...], tuple[float, ...]]:
    """Cut ``source`` into about one-second MPEG-TS segments with ffmpeg's HLS muxer;
    return the segments and their durations in seconds."""
    directory.mkdir(exist_ok=True)
    ffmpeg("-i", str(source), "-c:a", "aac", "-b:a", "64k", "-f", "hls", "-hls_time", "1",
           "-hls_list_size", "0", "-hls_segment_filename", str(directory / "seg%03d.ts"),
           str(directory / "index.m3u8"))
    segments = tuple(p.read_bytes() for p in sorted(directory.glob("seg*.ts")))
    durations = [float(line.split(":")[1].rstrip(","))
                 for line in (directory / "index.m3u8").read_text().splitlines()
                 if line.startswith("#EXTINF:")]
    return segments, tuple(durations)


def adts_frames(aac: bytes) -> list[bytes]:
    """Split an ADTS stream into its frames."""
    frames, i = [], 0
    while i + 7 <= len(aac):
        length = ((aac[i + 3] & 0x03) << 11) | (aac[i + 4] << 3) | (aac[i + 5] >> 5)
        frames.append(aac[i:i + length])
        i += length
    return frames


def id3_timestamp_tag(pts_90khz: int) -> bytes:
    """An ID3v2.4 tag with the HLS packed-audio timestamp PRIV frame."""
    body = b"com.apple.streaming.transportStreamTimestamp\x00" + struct.pack(">Q", pts_90khz)
    frame = b"PRIV" + _syncsafe(len(body)) + b"\x00\x00" + body
    return b"ID3\x04\x00\x00" + _syncsafe(len(frame)) + frame


def _syncsafe(n: int) -> bytes:
    return bytes(((n >> 21) & 0x7F, (n >> 14) & 0x7F, (n >> 7) & 0x7F, n & 0x7F))


def packed_aac_segments(aac: bytes, rate_hz: int, seconds: float) -> tuple[bytes, ...]:
    """Group ADTS frames into packed-audio segments of ``seconds`` (to the frame), each
    with its timestamp tag; a shorter remainder at the end is dropped."""
    frames = adts_frames(aac)
    per_segment = max(1, round(seconds * rate_hz / 1024))
    segments = []
    for start in range(0, len(frames) - per_segment + 1, per_segment):
        pts = start * 1024 * 90000 // rate_hz
        segments.append(id3_timestamp_tag(pts) + b"".join(frames[start:start + per_segment]))
    return tuple(segments)


def build_test_audio(directory: Path) -> TestAudio:
    """Write and encode the test audio under ``directory``; return the encoded bytes."""
    source, quiet = directory / "tones.wav", directory / "silence.wav"
    write_test_wav(source)
    write_test_wav(quiet, seconds=3.0, silent=True)
    wav = source.read_bytes()
    aac = encode(source, directory / "tones.aac", "-c:a", "aac", "-b:a", "64k", "-f", "adts")
    ts_segments, ts_durations = hls_ts_segments(source, directory / "hls")
    return TestAudio(
        wav=wav, wav_header=wav[:44], wav_pcm=wav[44:],
        mp3=encode(source, directory / "tones.mp3", "-c:a", "libmp3lame", "-b:a", "128k"),
        aac=aac,
        ogg=encode(source, directory / "tones.ogg", "-c:a", "libvorbis", "-q:a", "3"),
        silence_mp3=encode(quiet, directory / "silence.mp3", "-c:a", "libmp3lame", "-b:a", "128k"),
        ts_segments=ts_segments, ts_durations=ts_durations,
        aac_segments=packed_aac_segments(aac, TEST_RATE_HZ, 1.0),
        segment_seconds=1024 * round(TEST_RATE_HZ / 1024) / TEST_RATE_HZ)


@pytest.fixture(scope="session")
def stream_audio(tmp_path_factory: pytest.TempPathFactory) -> TestAudio:
    """Test audio, encoded once per test session."""
    return build_test_audio(tmp_path_factory.mktemp("stream-audio"))


def streaming_wav_header(header: bytes) -> bytes:
    """Given a 44-byte WAV header, return it with the sizes set to 'unknown' (0xFFFFFFFF),
    as an endless WAV stream sends it."""
    return header[:4] + b"\xff\xff\xff\xff" + header[8:40] + b"\xff\xff\xff\xff"


# --- server ----------------------------------------------------------------------------


class Handler(BaseHTTPRequestHandler):
    """Dispatches each GET to its route; routes write raw bytes to ``self.wfile``."""

    protocol_version = "HTTP/1.0"
    server: StreamServer._Server

    def do_GET(self) -> None:  # noqa: N802 (the http.server naming)
        route = self.server.owner.route_for(self.path.split("?", 1)[0])
        if route is None:
            route = StatusRoute(404)
        try:
            route.serve(self)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            pass  # the client has what it wanted and hung up

    def log_message(self, format: str, *args) -> None:  # noqa: A002
        pass

    @property
    def base_url(self) -> str:
        return self.server.owner.base_url

    @property
    def stopping(self) -> threading.Event:
        return self.server.owner.stopping

    def send_head(self, status_line: str, headers: dict[str, str]) -> None:
        lines = [status_line] + [f"{name}: {value}" for name, value in headers.items()]
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))


class StreamServer:
    """A threaded HTTP server on 127.0.0.1 and a free port; a context manager.

    ``routes`` maps a path to a route; it may be changed while running (``add``).
    ``tls`` (a server-side SSLContext) makes it an HTTPS server.
    """

    class _Server(ThreadingHTTPServer):
        daemon_threads = True
        block_on_close = False
        # Hundreds of listeners connect at once in the scan benchmark: with the default
        # backlog of 5 the kernel drops handshakes and some listeners hear nothing for
        # seconds, which a real Icecast server (backlog in the hundreds) never does.
        request_queue_size = 1024
        owner: StreamServer

    def __init__(self, routes: dict[str, object] | None = None,
                 tls: ssl.SSLContext | None = None) -> None:
        self.routes: dict[str, object] = dict(routes or {})
        self.stopping = threading.Event()
        self._server = self._Server(("127.0.0.1", 0), Handler)
        self._server.owner = self
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self.scheme = "https" if tls is not None else "http"
        self.port = self._server.server_address[1]
        self.base_url = f"{self.scheme}://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)

    def add(self, path: str, route: object) -> None:
        """Serve ``route`` at ``path`` from now on."""
        self.routes[path] = route

    def route_for(self, path: str):
        """Return the route for ``path``: exact match, else the longest subtree route."""
        if path in self.routes:
            return self.routes[path]
        for prefix in sorted(self.routes, key=len, reverse=True):
            if getattr(self.routes[prefix], "subtree", False) and path.startswith(prefix + "/"):
                return self.routes[prefix]
        return None

    def url(self, path: str, credentials: str | None = None) -> str:
        """Return the URL of ``path``, with ``user:password`` credentials if given."""
        auth = f"{credentials}@" if credentials else ""
        return f"{self.scheme}://{auth}127.0.0.1:{self.port}{path}"

    def start(self) -> StreamServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> StreamServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


# --- routes ----------------------------------------------------------------------------


class AudioRoute:
    """Endless audio (see the module docstring for the parameters)."""

    def __init__(self, audio: bytes, content_type: str = "audio/mpeg", *, header: bytes = b"",
                 byte_rate: float | None = None, pace: float | None = None,
                 burst_bytes: int = 0, metaint: int | None = None, title: str | None = None,
                 name: str | None = "Test Radio", bitrate_kbps: int | None = None,
                 status_line: str = "HTTP/1.0 200 OK", chunked: bool = False,
                 loop: bool = True, auth: tuple[str, str] | None = None,
                 reset_after: int | None = None, titles: tuple[tuple[int, str], ...] = ()) -> None:
        self.audio, self.title, self.titles = audio, title, titles
        self.content_type, self.header = content_type, header
        self.byte_rate, self.pace, self.burst_bytes = byte_rate, pace, burst_bytes
        self.metaint, self.name, self.bitrate_kbps = metaint, name, bitrate_kbps
        self.status_line, self.chunked, self.loop = status_line, chunked, loop
        self.auth, self.reset_after = auth, reset_after
        self.authorizations: list[str | None] = []
        self.on_air_from: list[datetime] = []
        self._lock = threading.Lock()

    def set_audio(self, audio: bytes, title: str | None = None) -> None:
        """Serve ``audio`` (from its start) to every listener from now on."""
        with self._lock:
            self.audio = audio
            if title is not None:
                self.title = title

    def set_title(self, title: str) -> None:
        """Announce ``title`` in the next ICY metadata block."""
        with self._lock:
            self.title = title

    def title_at(self, position: int) -> str | None:
        """The title to announce at ``position`` of the audio: by ``titles`` when given, else ``title``."""
        in_force = [title for start, title in self.titles if start <= position]
        return in_force[-1] if in_force else self.title

    def serve(self, h: Handler) -> None:
        self.authorizations.append(h.headers.get("Authorization"))
        if self.auth and not _authorised(h.headers.get("Authorization"), self.auth):
            StatusRoute(401, b"auth required").serve(h)
            return
        icy = self.metaint is not None and h.headers.get("Icy-MetaData") == "1"
        h.send_head(self.status_line, self._headers(icy))
        writer = _BodyWriter(h, self.chunked, self.reset_after)
        writer.write(self.header)
        _Pacer(self, writer, icy).run()

    def _headers(self, icy: bool) -> dict[str, str]:
        headers = {"Content-Type": self.content_type, "Cache-Control": "no-cache"}
        if self.name:
            headers["icy-name"] = self.name
        if self.bitrate_kbps:
            headers["icy-br"] = str(self.bitrate_kbps)
        if icy:
            headers["icy-metaint"] = str(self.metaint)
        if self.chunked:
            headers["Transfer-Encoding"] = "chunked"
        return headers

    def next_chunk(self, state: dict) -> bytes:
        """Return the next audio bytes for a listener; restart when the audio changed."""
        with self._lock:
            audio = self.audio
        if state.get("audio") is not audio:
            state["audio"], state["pos"] = audio, 0
        if state["pos"] >= len(audio):
            if not self.loop:
                return b""
            state["pos"] = 0
        chunk = audio[state["pos"]:state["pos"] + CHUNK_BYTES]
        state["pos"] += len(chunk)
        return chunk


def _authorised(header: str | None, auth: tuple[str, str]) -> bool:
    expected = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    return header == expected


class _BodyWriter:
    """Writes body bytes, chunked or not, and resets the connection after a byte count."""

    def __init__(self, h: Handler, chunked: bool, reset_after: int | None) -> None:
        self.h, self.chunked, self.reset_after = h, chunked, reset_after
        self.written = 0

    def write(self, data: bytes) -> None:
        if not data:
            return
        if self.reset_after is not None and self.written + len(data) >= self.reset_after:
            data = data[:self.reset_after - self.written]
            self._raw(data)
            self.reset()
            raise ConnectionResetError("reset on purpose")
        self._raw(data)

    def _raw(self, data: bytes) -> None:
        if self.chunked and data:
            self.h.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        elif data:
            self.h.wfile.write(data)
        self.written += len(data)

    def finish(self) -> None:
        if self.chunked:
            self.h.wfile.write(b"0\r\n\r\n")

    def reset(self) -> None:
        """Close with SO_LINGER 0, which sends a TCP RST instead of a clean FIN."""
        sock = self.h.connection
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()


class _Pacer:
    """Sends a route's audio with ICY metadata interleaved, at the route's pace."""

    def __init__(self, route: AudioRoute, writer: _BodyWriter, icy: bool) -> None:
        self.route, self.writer, self.icy = route, writer, icy
        self.state: dict = {}
        self.sent_title: str | None = None
        self.until_meta = route.metaint or 0
        self.audio_sent = 0
        self.started = time.monotonic()
        burst_seconds = route.burst_bytes / (route.byte_rate * route.pace) if route.pace and route.byte_rate else 0.0
        route.on_air_from.append(datetime.now(UTC) - timedelta(seconds=burst_seconds))

    def run(self) -> None:
        while not self.writer.h.stopping.is_set():
            chunk = self.route.next_chunk(self.state)
            if not chunk:
                self.writer.finish()
                return
            self._wait_for(len(chunk))
            self._send(chunk)

    def _wait_for(self, n: int) -> None:
        route = self.route
        if not route.pace or not route.byte_rate:
            return
        due = max(0, self.audio_sent + n - route.burst_bytes) / (route.byte_rate * route.pace)
        delay = self.started + due - time.monotonic()
        if delay > 0:
            time.sleep(delay)

    def _send(self, chunk: bytes) -> None:
        self.audio_sent += len(chunk)
        if not self.icy:
            self.writer.write(chunk)
            return
        while chunk:
            part, chunk = chunk[:self.until_meta], chunk[self.until_meta:]
            self.writer.write(part)
            self.until_meta -= len(part)
            if self.until_meta == 0:
                self.writer.write(self._metadata_block(self.state["pos"] - len(chunk)))
                self.until_meta = self.route.metaint

    def _metadata_block(self, position: int) -> bytes:
        title = self.route.title_at(position)
        if title is None or title == self.sent_title:
            return b"\x00"
        self.sent_title = title
        text = f"StreamTitle='{title}';StreamUrl='';".encode()
        units = math.ceil(len(text) / 16)
        return bytes([units]) + text.ljust(units * 16, b"\x00")


def IcyAudioRoute(audio: bytes, metaint: int = 8192, title: str | None = None,  # noqa: N802
                  **kwargs) -> AudioRoute:
    """An Icecast-style route: ICY metadata every ``metaint`` bytes when asked for."""
    return AudioRoute(audio, metaint=metaint, title=title, **kwargs)


def ShoutcastV1Route(audio: bytes, metaint: int = 8192, title: str | None = None,  # noqa: N802
                     **kwargs) -> AudioRoute:
    """A SHOUTcast v1 route: ``ICY 200 OK`` status line and icy-* headers."""
    kwargs.setdefault("bitrate_kbps", 128)
    return AudioRoute(audio, metaint=metaint, title=title, status_line="ICY 200 OK", **kwargs)


class StatusRoute:
    """A fixed response with the given status and body."""

    def __init__(self, status: int, body: bytes = b"", content_type: str = "text/plain",
                 headers: dict[str, str] | None = None) -> None:
        self.status, self.body, self.content_type = status, body, content_type
        self.headers = headers or {}

    def serve(self, h: Handler) -> None:
        body = self.body.replace(b"{base}", h.base_url.encode())
        headers = {"Content-Type": self.content_type, "Content-Length": str(len(body)),
                   **self.headers}
        h.send_head(f"HTTP/1.0 {self.status} {_reason(self.status)}", headers)
        h.wfile.write(body)


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Status"


def HtmlRoute(status: int = 200) -> StatusRoute:  # noqa: N802
    """A station web page where the stream should be."""
    page = b"<!DOCTYPE html><html><head><title>Radio</title></head><body>Listen live!</body></html>"
    return StatusRoute(status, page, "text/html; charset=utf-8")


class PlaylistRoute(StatusRoute):
    """A playlist; ``{base}`` in the body becomes the server's base URL."""

    def __init__(self, body: str, content_type: str = "audio/x-mpegurl") -> None:
        super().__init__(200, body.encode("utf-8"), content_type)


class RedirectRoute:
    """A redirect to ``location`` (``{base}`` allowed)."""

    def __init__(self, location: str, status: int = 302) -> None:
        self.location, self.status = location, status

    def serve(self, h: Handler) -> None:
        location = self.location.replace("{base}", h.base_url)
        h.send_head(f"HTTP/1.0 {self.status} {_reason(self.status)}",
                    {"Location": location, "Content-Length": "0"})


class TrickleRoute:
    """Audio headers, then one byte per ``interval_seconds``; ``connected`` is set once a listener came."""

    def __init__(self, audio: bytes, interval_seconds: float = 1.0) -> None:
        self.audio, self.interval_seconds = audio, interval_seconds
        self.connected = threading.Event()

    def serve(self, h: Handler) -> None:
        self.connected.set()
        h.send_head("HTTP/1.0 200 OK", {"Content-Type": "audio/mpeg"})
        for i in range(len(self.audio)):
            if h.stopping.wait(self.interval_seconds):
                return
            h.wfile.write(self.audio[i:i + 1])


class StallRoute:
    """A server that takes the request and then sends nothing more, holding the connection
    open until the server stops: with ``head``, after audio headers; without, not even a
    status line.  ``connected`` is set once a listener came."""

    def __init__(self, head: bool = True) -> None:
        self.head = head
        self.connected = threading.Event()

    def serve(self, h: Handler) -> None:
        self.connected.set()
        if self.head:
            h.send_head("HTTP/1.0 200 OK", {"Content-Type": "audio/mpeg", "icy-br": "128"})
            h.wfile.flush()
        h.stopping.wait()


class GarbageRoute:
    """Endless random bytes labelled ``audio/mpeg``."""

    def __init__(self, seed: int = 1) -> None:
        self.seed = seed

    def serve(self, h: Handler) -> None:
        h.send_head("HTTP/1.0 200 OK", {"Content-Type": "audio/mpeg"})
        rng = random.Random(self.seed)
        while not h.stopping.is_set():
            h.wfile.write(rng.randbytes(CHUNK_BYTES))


class IcyAbuseRoute:
    """ICY with ``icy-metaint: 16`` and a full 4080-byte metadata block after every 16 bytes."""

    def __init__(self, audio: bytes) -> None:
        self.audio = audio

    def serve(self, h: Handler) -> None:
        h.send_head("HTTP/1.0 200 OK", {"Content-Type": "audio/mpeg", "icy-metaint": "16"})
        block = bytes([255]) + b"StreamTitle='" + b"x" * 4067
        pos = 0
        while not h.stopping.is_set():
            h.wfile.write(self.audio[pos:pos + 16] + block)
            pos = (pos + 16) % (len(self.audio) - 16)


class HeaderFloodRoute:
    """A status line followed by headers that never end."""

    def serve(self, h: Handler) -> None:
        h.wfile.write(b"HTTP/1.0 200 OK\r\n")
        while not h.stopping.is_set():
            h.wfile.write(b"X-Padding: " + b"y" * 1000 + b"\r\n")


class HlsRoute:
    """A live (or finished) HLS stream with a sliding window over looped segments."""

    subtree = True

    def __init__(self, segments: tuple[bytes, ...] | list[bytes], segment_seconds: float, *,
                 window: int = 3, pace: float = 1.0, ended: bool = False,
                 extension: str = "ts", content_type: str = "video/mp2t",
                 codecs: str = "mp4a.40.2", durations: tuple[float, ...] | None = None) -> None:
        self.segments, self.segment_seconds = list(segments), segment_seconds
        self.durations = list(durations or [segment_seconds] * len(self.segments))
        self.window, self.pace, self.ended = window, pace, ended
        self.extension, self.content_type, self.codecs = extension, content_type, codecs
        self.started = time.monotonic()
        self.playlist_fetches = 0

    def serve(self, h: Handler) -> None:
        name = h.path.split("?", 1)[0].rsplit("/", 1)[1]
        if name == "master.m3u8":
            body = ("#EXTM3U\n"
                    "#EXT-X-STREAM-INF:BANDWIDTH=2000000,CODECS=\"avc1.4d401f,mp4a.40.2\"\n"
                    "video.m3u8\n"
                    f"#EXT-X-STREAM-INF:BANDWIDTH=96000,CODECS=\"{self.codecs}\"\nlive.m3u8\n")
            StatusRoute(200, body.encode(), "application/vnd.apple.mpegurl").serve(h)
        elif name == "live.m3u8":
            self.playlist_fetches += 1
            StatusRoute(200, self.playlist().encode(), "application/vnd.apple.mpegurl").serve(h)
        elif name.startswith("seg") and name.endswith("." + self.extension):
            number = int(name[3:-len(self.extension) - 1])
            StatusRoute(200, self.segments[number % len(self.segments)],
                        self.content_type).serve(h)
        else:
            StatusRoute(404).serve(h)

    def playlist(self) -> str:
        """The media playlist as of now."""
        if self.ended:
            first, count = 0, len(self.segments)
        else:
            elapsed = (time.monotonic() - self.started) * self.pace
            first, count = int(elapsed / self.segment_seconds), self.window
        lines = ["#EXTM3U", "#EXT-X-VERSION:3",
                 f"#EXT-X-TARGETDURATION:{math.ceil(max(self.durations))}",
                 f"#EXT-X-MEDIA-SEQUENCE:{first}"]
        for n in range(first, first + count):
            seconds = self.durations[n % len(self.segments)]
            lines += [f"#EXTINF:{seconds:.3f},", f"seg{n}.{self.extension}"]
        if self.ended:
            lines.append("#EXT-X-ENDLIST")
        return "\n".join(lines) + "\n"
