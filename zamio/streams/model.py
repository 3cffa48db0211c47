"""The value types of stream capture: what to read (limits) and what was read (capture)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

# The most a capture's start is moved before its first byte's arrival: Icecast's burst
# is 64 KiB by default (4 s at 128 kbit/s); servers configured for larger bursts send
# up to about 30 s.  A larger gap means the stream is not live (a file served as fast
# as it is read), and moving further would only invent a time.
MAX_BURST_SECONDS = 30.0


@dataclass(frozen=True)
class CaptureLimits:
    """How much to read from a stream and the caps that keep a capture bounded.

    Times are in seconds, sizes in bytes.  ``seconds`` is the audio window wanted;
    ``min_seconds`` is the least audio worth returning when a stream stops early (it
    closes, stalls or runs out of time after some audio): such a capture comes back
    with ``partial=True`` instead of an error.  ``allow_private`` permits loopback and
    private targets (tests and the demo); production keeps it False.
    """

    seconds: float = 20.0
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    total_timeout: float = 40.0
    max_bytes: int = 4_000_000
    max_redirects: int = 5
    allow_private: bool = False
    min_seconds: float = 5.0

    def __post_init__(self) -> None:
        if self.seconds <= 0 or self.min_seconds < 0 or self.min_seconds > self.seconds:
            raise ValueError("CaptureLimits needs 0 <= min_seconds <= seconds and seconds > 0")
        if min(self.connect_timeout, self.read_timeout, self.total_timeout) <= 0:
            raise ValueError("CaptureLimits timeouts must be positive")
        if self.max_bytes <= 0 or self.max_redirects < 0:
            raise ValueError("CaptureLimits needs max_bytes > 0 and max_redirects >= 0")


@dataclass(frozen=True)
class HeardTitle:
    """A stream title as a capture heard it: ``at_seconds`` into the capture's audio."""

    at_seconds: float
    title: str


@dataclass(frozen=True)
class Capture:
    """A window of audio read from a stream.

    ``audio`` holds the raw encoded bytes as served (ICY metadata removed, HLS segments
    concatenated; for fMP4 HLS the init section comes first).  ``started_at`` is the UTC
    instant the first captured audio was on air.  For a plain stream that is not the
    instant its first byte arrived: Icecast and SHOUTcast send a burst of buffered audio
    on connect, so the first bytes were broadcast seconds earlier.  At the live edge the
    last byte received is "now", so ``started_at`` is the last byte's arrival less the
    seconds of audio received, never later than ``first_byte_at`` and never more than
    ``MAX_BURST_SECONDS`` earlier; ``burst_seconds`` is that correction.  HLS captures
    keep the segments' own timing (``burst_seconds`` None).  ``seconds`` is the audio
    duration: measured from the frames for MP3, AAC and Ogg, from the byte rate for
    WAV, from the segment durations for HLS.  ``partial`` is True when the stream
    stopped before ``CaptureLimits.seconds`` were read.  ``bytes_read`` counts every
    body byte received, metadata and playlists included.  ``titles``: the ICY titles the
    stream sent while the capture was read, each that differs from the one before, with
    the seconds of the capture's audio received before it (the first is what was on air
    as the capture began; every later one is a change of item, close to where it happened).
    """

    url_used: str
    started_at: datetime
    audio: bytes = field(repr=False)
    codec: str | None
    content_type: str | None
    icy_title: str | None
    icy_name: str | None
    bitrate_kbps: int | None
    bytes_read: int
    seconds: float | None = None
    partial: bool = False
    first_byte_at: datetime | None = None
    burst_seconds: float | None = None
    titles: tuple[HeardTitle, ...] = ()
