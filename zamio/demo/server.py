"""A local radio server for the demo: each station path streams its programme in real time.

A listener who connects at wall-clock time T hears the programme from T on,
as from a real station.  With ffmpeg the programme is served as MP3 (encoded
once, constant bit rate, so a time maps to a byte offset); without it, as a
WAV stream.  Icecast-style ``icy-name`` headers are sent; the server runs in a
thread of the demo process and stops with it.
"""

from __future__ import annotations

import subprocess
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

from zamio.demo.programme import RATE
from zamio.recognition.audio import ffmpeg_available

MP3_BITRATE = 64_000  # bit/s, constant
CHUNK_SECONDS = 0.25


class Channel:
    """One station's encoded programme, starting at ``start`` (UTC)."""

    def __init__(self, name: str, samples: np.ndarray, start: datetime) -> None:
        self.name = name
        self.start = start
        self.mp3 = _encode_mp3(samples) if ffmpeg_available() else None
        self.pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()

    @property
    def content_type(self) -> str:
        return "audio/mpeg" if self.mp3 is not None else "audio/wav"

    @property
    def bytes_per_second(self) -> int:
        return MP3_BITRATE // 8 if self.mp3 is not None else RATE * 2

    def body_from(self, moment: datetime) -> tuple[bytes, bytes]:
        """(header, programme bytes from ``moment`` on)."""
        offset = max(0.0, (moment - self.start).total_seconds())
        if self.mp3 is not None:
            return b"", self.mp3[int(offset * self.bytes_per_second) :]
        start = int(offset * RATE) * 2
        return _wav_header(), self.pcm[start:]


def _encode_mp3(samples: np.ndarray) -> bytes:
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()
    result = subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-f", "s16le", "-ar", str(RATE), "-ac", "1",
         "-i", "pipe:0", "-c:a", "libmp3lame", "-b:a", f"{MP3_BITRATE // 1000}k", "-f", "mp3", "pipe:1"],
        input=pcm, capture_output=True, check=True, timeout=120,
    )
    return result.stdout


def _wav_header() -> bytes:
    import struct

    size = 0x7FFFFFFF  # a live stream: as long as it lasts
    return (b"RIFF" + struct.pack("<I", size) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, RATE, RATE * 2, 2, 16)
            + b"data" + struct.pack("<I", size - 36))


class _Handler(BaseHTTPRequestHandler):
    channels: dict[str, Channel] = {}

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        channel = self.channels.get(self.path.strip("/"))
        if channel is None:
            self.send_error(404)
            return
        header, body = channel.body_from(datetime.now(UTC))
        self.send_response(200)
        self.send_header("Content-Type", channel.content_type)
        self.send_header("icy-name", channel.name)
        self.end_headers()
        try:
            self.wfile.write(header)
            self._paced(body, channel.bytes_per_second)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the scanner hangs up once it has its window

    def _paced(self, body: bytes, rate: int) -> None:
        chunk, began = int(rate * CHUNK_SECONDS), time.monotonic()
        for sent in range(0, len(body), chunk):
            ahead = sent / rate - (time.monotonic() - began)
            if ahead > 0:
                time.sleep(ahead)
            self.wfile.write(body[sent : sent + chunk])

    def log_message(self, *args: object) -> None:
        pass


class DemoRadio:
    """The local server; ``url(path)`` gives a station's stream URL."""

    def __init__(self, channels: dict[str, Channel]) -> None:
        handler = type("Handler", (_Handler,), {"channels": channels})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/{path}"

    def __enter__(self) -> DemoRadio:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
