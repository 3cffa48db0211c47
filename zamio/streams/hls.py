"""Capturing a window of audio from an HTTP Live Streaming (HLS) playlist.

A master playlist lists variants; the capture picks the cheapest audio one.  A media
playlist lists segments (MPEG-TS, packed AAC/MP3 with an ID3 timestamp, or fMP4 after
an ``#EXT-X-MAP`` init section).  A live playlist (no ``#EXT-X-ENDLIST``) is reloaded
as RFC 8216 section 6.3.4 asks - not before the target duration after a change, half of
it when unchanged - until enough seconds are collected or time runs out.  The capture
starts from the newest segments that cover the wanted window, so a live station gives
its most recent audio at once.  When the run is asked to stop, the capture ends with the
segments it has (a partial capture, or CaptureStopped with less than ``min_seconds``).

A playlist is read in one pass over its lines (CR, LF or CRLF), so even the largest one
allowed takes no time.  A tag whose number is not one (``#EXTINF:ten``, a negative or
infinite duration, a target duration of zero) or a URI that cannot be resolved refuses
the playlist with ``StreamNotAudio`` (reason ``bad_playlist``) naming the line.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urljoin

from zamio.streams import http
from zamio.streams.errors import (
    CaptureStopped,
    StreamEnded,
    StreamNotAudio,
    StreamTimeout,
    StreamTooLarge,
    StreamUnsupported,
)
from zamio.streams.formats import media_type, sniff, strip_id3
from zamio.streams.model import CaptureLimits
from zamio.streams.playlists import MAX_PLAYLIST_BYTES, decode_text, text_lines
from zamio.streams.safety import Deadline, redact_url

# A name starts where no name character stands before it, so a long run of name characters is scanned once.
ATTRIBUTE = re.compile(r'(?<![A-Z0-9-])([A-Z0-9-]++)=("[^"]*"|[^,]*)')
WHOLE_NUMBER = re.compile(r"[0-9]+")
MAX_DIGITS = 18  # a bandwidth or a sequence number beyond a 64-bit integer is no real one
AUDIO_CODECS = ("mp4a", "mp3", "ac-3", "ec-3", "opus", "flac")
DEFAULT_TARGET_SECONDS = 10.0  # when a playlist omits #EXT-X-TARGETDURATION
MAX_NESTED_PLAYLISTS = 2  # master -> media (one spare for a master of masters)


@dataclass(frozen=True)
class Segment:
    """One media segment: its media sequence number, absolute URL and duration in seconds."""

    sequence: int
    url: str
    seconds: float


@dataclass
class MediaPlaylist:
    """A parsed media playlist; ``target_seconds`` is #EXT-X-TARGETDURATION."""

    target_seconds: float
    segments: list[Segment] = field(default_factory=list)
    ended: bool = False
    map_url: str | None = None
    encryption: str | None = None


@dataclass
class HlsCapture:
    """What :func:`capture_hls` collected (turned into a Capture by the caller)."""

    url_used: str
    started_at: datetime
    audio: bytes
    codec: str | None
    content_type: str | None
    seconds: float
    partial: bool
    bytes_read: int
    bitrate_kbps: int | None


def attributes(line: str) -> dict[str, str]:
    """Given a tag line, return its attribute list with quotes removed."""
    _, _, rest = line.partition(":")
    return {key: value.strip('"') for key, value in ATTRIBUTE.findall(rest)}


def _refused(base_url: str, number: int, problem: str) -> StreamNotAudio:
    return StreamNotAudio(f"HLS playlist {redact_url(base_url)} line {number}: {problem}; check the stream link",
                          reason="bad_playlist")


def _shown(value: str) -> str:
    """A value quoted in a message, cut short: a hostile playlist may hold a line of any length."""
    return repr(value if len(value) <= 60 else f"{value[:60]}…")


def _uri(base_url: str, uri: str, number: int) -> str:
    """A URI of the playlist on line ``number`` made absolute; refused when it cannot be."""
    try:
        return urljoin(base_url, uri)
    except ValueError as error:
        raise _refused(base_url, number, f"the URI {_shown(uri)} is malformed ({error})") from None


def _whole(base_url: str, number: int, tag: str, value: str) -> int:
    """A tag's value that must be a whole number (a bandwidth, a sequence number)."""
    if not WHOLE_NUMBER.fullmatch(value) or len(value) > MAX_DIGITS:
        raise _refused(base_url, number, f"{tag} {_shown(value)} is not a whole number of at most {MAX_DIGITS} digits")
    return int(value)


def _seconds(base_url: str, number: int, tag: str, value: str, *, positive: bool) -> float:
    """A tag's value that must be a duration in seconds: finite, not negative (above zero if ``positive``)."""
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0 or (positive and seconds == 0):
        raise _refused(base_url, number, f"{tag} {_shown(value)} is not a duration in seconds"
                                         f"{' above zero' if positive else ''}")
    return seconds


def choose_variant(text: str, base_url: str) -> tuple[str, int | None]:
    """Given a master playlist, return (URL, bandwidth in b/s) of the variant to read:
    the lowest-bandwidth audio-only variant, else an audio rendition, else the lowest
    bandwidth variant (the first written among equals).  Raise StreamNotAudio if the playlist lists none, or if a
    variant's bandwidth or a URI cannot be read (naming the line)."""
    variants: list[tuple[bool, int, str]] = []
    renditions: list[str] = []
    waiting: list[tuple[bool, int]] = []  # variants whose URI is on the next line that is not a tag
    for number, raw in enumerate(text_lines(text), 1):
        line = raw.strip()
        if line.startswith("#EXT-X-STREAM-INF"):
            attrs = attributes(line)
            codecs = [c.strip().lower() for c in attrs.get("CODECS", "").split(",") if c.strip()]
            audio_only = bool(codecs) and all(c.startswith(AUDIO_CODECS) for c in codecs)
            bandwidth = attrs.get("BANDWIDTH", "") or "0"
            waiting.append((not audio_only, _whole(base_url, number, "BANDWIDTH", bandwidth)))
        elif line.startswith("#EXT-X-MEDIA") and attributes(line).get("TYPE") == "AUDIO":
            if attributes(line).get("URI"):
                renditions.append(_uri(base_url, attributes(line)["URI"], number))
        elif line and not line.startswith("#") and waiting:
            uri = _uri(base_url, line, number)
            variants += [(video, bandwidth, uri) for video, bandwidth in waiting]
            waiting = []
    audio_variants = [v for v in variants if not v[0]]
    if audio_variants:
        cheapest = min(audio_variants, key=lambda v: v[1])  # the first written among equals
        return cheapest[2], cheapest[1] or None
    if renditions:
        return renditions[0], None
    if variants:
        best = min(variants, key=lambda v: v[1])
        return best[2], best[1] or None
    raise StreamNotAudio(f"HLS playlist {redact_url(base_url)} lists no variant; "
                         "check the stream link")


def parse_media(text: str, base_url: str) -> MediaPlaylist:
    """Given a media playlist, return its target duration, segments and flags.  Raise
    StreamNotAudio naming the line if a duration or sequence number is not one, or a URI
    cannot be resolved."""
    playlist = MediaPlaylist(target_seconds=DEFAULT_TARGET_SECONDS)
    sequence, duration = 0, None
    for number, raw in enumerate(text_lines(text), 1):
        line = raw.strip()
        if line.startswith("#EXT-X-TARGETDURATION:"):
            value = line.split(":", 1)[1].strip()
            playlist.target_seconds = (_seconds(base_url, number, "#EXT-X-TARGETDURATION", value, positive=True)
                                       if value else DEFAULT_TARGET_SECONDS)
        elif line.startswith("#EXT-X-MEDIA-SEQUENCE:"):
            sequence = _whole(base_url, number, "#EXT-X-MEDIA-SEQUENCE", line.split(":", 1)[1].strip())
        elif line.startswith("#EXTINF:"):
            value = line.split(":", 1)[1].split(",", 1)[0].strip()
            duration = _seconds(base_url, number, "#EXTINF", value, positive=False) if value else 0.0
        elif line.startswith("#EXT-X-ENDLIST"):
            playlist.ended = True
        elif line.startswith("#EXT-X-MAP"):
            playlist.map_url = _uri(base_url, attributes(line).get("URI", ""), number)
        elif line.startswith("#EXT-X-KEY"):
            method = attributes(line).get("METHOD", "NONE")
            playlist.encryption = None if method == "NONE" else method
        elif line and not line.startswith("#"):
            seconds = duration if duration is not None else playlist.target_seconds
            playlist.segments.append(Segment(sequence, _uri(base_url, line, number), seconds))
            sequence, duration = sequence + 1, None
    return playlist


def newest_covering(segments: list[Segment], seconds: float) -> list[Segment]:
    """Return the shortest tail of ``segments`` lasting at least ``seconds`` (or all)."""
    total = 0.0
    for i in range(len(segments) - 1, -1, -1):
        total += segments[i].seconds
        if total >= seconds:
            return segments[i:]
    return list(segments)


class HlsReader:
    """Fetches playlists and segments for one capture, counting bytes against the cap."""

    def __init__(self, limits: CaptureLimits, deadline: Deadline) -> None:
        self.limits = limits
        self.deadline = deadline
        self.bytes_read = 0

    def fetch(self, url: str, cap: int,
              what: str) -> tuple[str, bytes, datetime | None, str | None]:
        """GET ``url`` whole; return (final URL, body, first byte time, content type)."""
        response = http.open_url(url, self.limits, self.deadline, icy=False)
        try:
            body = response.read_all(cap, what)
        finally:
            self.bytes_read += response.body_bytes
            response.close()
        return (response.target.url, body, response.first_byte_at,
                response.headers.get("content-type"))

    def media_playlist(self, url: str, body: bytes) -> tuple[str, MediaPlaylist, int | None]:
        """Given a playlist URL and body, descend from master to media playlist."""
        bandwidth = None
        for _ in range(MAX_NESTED_PLAYLISTS + 1):
            text = decode_text(body)
            if "#EXT-X-STREAM-INF" not in text and "#EXT-X-MEDIA:" not in text:
                return url, parse_media(text, url), bandwidth
            variant_url, bandwidth = choose_variant(text, url)
            url, body, _, _ = self.fetch(variant_url, MAX_PLAYLIST_BYTES, "HLS playlist")
        raise StreamNotAudio(f"HLS playlists at {redact_url(url)} nest too deeply; "
                             "check the stream link")


def capture_hls(url: str, body: bytes, limits: CaptureLimits, deadline: Deadline,
                bytes_before: int = 0) -> HlsCapture:
    """Given an HLS playlist URL and its body, collect ``limits.seconds`` of segments.

    Return an HlsCapture (``partial`` when time, the byte cap or the end of a finished
    playlist stopped it after at least ``limits.min_seconds``).  Raise
    StreamUnsupported for encrypted segments, StreamEnded/StreamTimeout when less than
    ``min_seconds`` arrived, and the errors of :func:`zamio.streams.http.open_url`.
    """
    reader = HlsReader(limits, deadline)
    reader.bytes_read = bytes_before
    media_url, playlist, bandwidth = reader.media_playlist(url, body)
    if playlist.encryption:
        raise StreamUnsupported(f"HLS stream {redact_url(media_url)} is encrypted "
                                f"({playlist.encryption}); capture reads clear streams only",
                                reason="hls_encrypted")
    state = _Collector(reader, limits)
    if playlist.map_url:
        state.add_init(reader.fetch(playlist.map_url, limits.max_bytes, "HLS init section")[1])
    loaded_at = time.monotonic()  # the first body was fetched just before this call
    pending = newest_covering(playlist.segments, limits.seconds)
    while True:
        state.collect(pending)
        if state.done or playlist.ended or state.stopped:
            break
        interval = playlist.target_seconds if pending else playlist.target_seconds / 2
        wait = max(0.0, loaded_at + interval - time.monotonic())
        if deadline.remaining() <= wait:
            break
        try:
            deadline.sleep(wait, f"waiting for {redact_url(media_url)}")
            loaded_at = time.monotonic()
            media_url, text, _, _ = reader.fetch(media_url, MAX_PLAYLIST_BYTES, "HLS playlist")
        except CaptureStopped as stopped:
            state.stopped = stopped
            break
        playlist = parse_media(decode_text(text), media_url)
        pending = [s for s in playlist.segments if s.sequence > state.last_sequence]
    return state.result(media_url, bandwidth, ended=playlist.ended)


class _Collector:
    """Accumulates segment audio and decides when a capture has enough."""

    def __init__(self, reader: HlsReader, limits: CaptureLimits) -> None:
        self.reader = reader
        self.limits = limits
        self.parts: list[bytes] = []
        self.audio_bytes = 0
        self.seconds = 0.0
        self.last_sequence = -1
        self.started_at: datetime | None = None
        self.content_type: str | None = None
        self.codec: str | None = None
        self.done = False
        self.stopped: CaptureStopped | None = None  # the run was asked to stop

    def add_init(self, init: bytes) -> None:
        self.parts.append(init)
        self.audio_bytes += len(init)
        self.codec = "mp4"

    def collect(self, segments: list[Segment]) -> None:
        """Fetch ``segments`` in order until the window is full, time or bytes run out."""
        for segment in segments:
            cap = self.limits.max_bytes - self.audio_bytes
            if self.done or cap <= 0 or self.reader.deadline.expired():
                self.done = self.done or cap <= 0
                return
            try:
                _, data, first_at, content_type = self.reader.fetch(segment.url, cap, "HLS segment")
            except StreamTooLarge:
                self.done = True  # the byte cap is reached: keep what fits
                return
            except StreamTimeout:
                return  # out of time: result() decides between partial and timeout
            except CaptureStopped as stopped:
                self.stopped = stopped  # result() decides between partial and stopped
                return
            self._add(strip_id3(data), segment, first_at, content_type)

    def _add(self, data: bytes, segment: Segment, first_at: datetime | None,
             content_type: str | None) -> None:
        if self.codec is None:
            found = sniff(data[:16384])
            if found is None:
                raise StreamNotAudio(f"HLS segment {redact_url(segment.url)} is not audio; "
                                     "check the stream link")
            self.codec, self.content_type = found.codec, media_type(content_type) or None
        self.started_at = self.started_at or first_at or datetime.now(UTC)
        self.parts.append(data)
        self.audio_bytes += len(data)
        self.seconds += segment.seconds
        self.last_sequence = segment.sequence
        self.done = self.seconds >= self.limits.seconds

    def result(self, media_url: str, bandwidth: int | None, ended: bool) -> HlsCapture:
        """Return the capture; raise CaptureStopped (the run was asked to stop), StreamEnded
        (finished playlist) or StreamTimeout (live playlist, time ran out) if less than
        ``min_seconds`` arrived."""
        if self.started_at is None or self.seconds < self.limits.min_seconds:
            if self.stopped is not None:
                raise self.stopped
            got = (f"HLS stream {redact_url(media_url)} gave {self.seconds:.1f} s of audio, "
                   f"less than {self.limits.min_seconds:g} s")
            if ended:
                raise StreamEnded(f"{got}; the playlist is finished, check that the link "
                                  "is the live stream")
            raise StreamTimeout(f"{got} within {self.reader.deadline.seconds:g} s; the "
                                "stream is too slow or stalled", reason="timeout_total")
        return HlsCapture(url_used=redact_url(media_url), started_at=self.started_at,
                          audio=b"".join(self.parts), codec=self.codec,
                          content_type=self.content_type, seconds=self.seconds,
                          partial=self.seconds < self.limits.seconds,
                          bytes_read=self.reader.bytes_read,
                          bitrate_kbps=bandwidth // 1000 if bandwidth else None)
