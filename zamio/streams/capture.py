"""Reading a window of audio from a station's stream link.

:func:`capture` connects (every hop checked by :mod:`zamio.streams.safety`), follows
redirects and playlists (``.pls``, ``.m3u``, HLS), strips ICY metadata, recognises the
audio from its frame headers and reads as many bytes as ``CaptureLimits.seconds`` of
audio need, all within the time and byte caps.

Early stops: when the stream closes, resets, stalls or runs out of time after at least
``CaptureLimits.min_seconds`` of audio, the capture is returned with ``partial=True``
(a short window still identifies a song, and the scan records how much it got); with
less, the matching error is raised.  So it is when the run is asked to stop
(``should_stop``): the capture ends within ``STOP_POLL_SECONDS``, as a partial capture
when it has ``min_seconds`` of audio, else with CaptureStopped (no fault of the stream).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import NoReturn

from zamio.streams import http
from zamio.streams.duration import measure_seconds
from zamio.streams.errors import (
    CaptureStopped,
    RedirectLoop,
    StreamEnded,
    StreamError,
    StreamNotAudio,
    StreamTimeout,
)
from zamio.streams.formats import Sniff, codec_from_content_type, id3_length, looks_like_text, media_type, sniff
from zamio.streams.hls import capture_hls
from zamio.streams.icy import IcyDemuxer, parse_metaint
from zamio.streams.model import MAX_BURST_SECONDS, Capture, CaptureLimits, HeardTitle
from zamio.streams.playlists import MAX_PLAYLIST_BYTES, body_kind, declared_kind, is_hls, playlist_entries
from zamio.streams.safety import Deadline, redact_url

log = logging.getLogger(__name__)

SNIFF_BYTES = 16 * 1024  # enough for 4 MP3 frames at 320 kb/s, or a playlist's start
FALLBACK_BYTES_PER_SECOND = 24_000  # 192 kb/s: above most radio streams, so rarely short
MARGIN_SECONDS = 1.0  # read a little more than asked: frame estimates are approximate
MAX_PLAYLIST_DEPTH = 4  # playlist -> playlist -> ... -> stream
MAX_TOP_UPS = 2  # extra reads when the measured audio falls short of the estimate
TEXT_KINDS = {"html": "an HTML page", "json": "JSON", "text": "text"}
MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9.+-]{0,40}/[a-z0-9][a-z0-9.+-]{0,60}")  # a declared type, named as such


def capture(url: str, limits: CaptureLimits, should_stop: Callable[[], bool] | None = None) -> Capture:
    """Given a stream link and limits, return a Capture of about ``limits.seconds`` of audio.

    Raise a :class:`~zamio.streams.errors.StreamError` subclass: StreamRefused,
    StreamConnectFailed, StreamHttpError, StreamTimeout, StreamNotAudio,
    StreamUnsupported, StreamTooLarge, StreamEnded or RedirectLoop.  Every connect,
    read and HLS wait is cut to the time left of ``limits.total_timeout`` (host name
    resolution excepted: the system resolver's own timeout applies to it), and no more
    than ``limits.max_bytes`` of body are read per response.  Once ``should_stop()`` is
    true the capture ends: a partial Capture with at least ``limits.min_seconds`` of
    audio, else CaptureStopped (which is no StreamError).
    """
    deadline = Deadline(limits.total_timeout, should_stop)
    deadline.check_stop(f"capturing {redact_url(url)}")
    return _capture_url(url, limits, deadline, visited=set(), depth=0)


def _capture_url(url: str, limits: CaptureLimits, deadline: Deadline,
                 visited: set[str], depth: int) -> Capture:
    if depth > MAX_PLAYLIST_DEPTH:
        raise RedirectLoop(f"playlists nest more than {MAX_PLAYLIST_DEPTH} deep before "
                           "reaching a stream; check the stream link", reason="too_many_redirects")
    response = http.open_url(url, limits, deadline, icy=True, visited=visited)
    try:
        return _read_response(response, limits, deadline, visited, depth)
    finally:
        response.close()


def _read_response(response: http.Response, limits: CaptureLimits, deadline: Deadline,
                   visited: set[str], depth: int) -> Capture:
    where = response.target.redacted
    metaint = parse_metaint(response.headers.get("icy-metaint"))
    demuxer = IcyDemuxer(metaint, where) if metaint else None
    head = _read_head(response, demuxer, limits)
    content_type = response.headers.get("content-type")
    kind = body_kind(head)
    if kind is None and looks_like_text(head) == "text":
        kind = declared_kind(content_type, response.target.url)
    if kind and demuxer is None:
        return _follow_playlist(response, head, kind, limits, deadline, visited, depth)
    found = sniff(head)
    if found is None:
        _raise_not_audio(response, head)
    return _read_audio(response, demuxer, head, found, limits)


def _read_head(response: http.Response, demuxer: IcyDemuxer | None,
               limits: CaptureLimits) -> bytes:
    """Read the first SNIFF_BYTES of audio (more when an ID3 tag comes first), or up to EOF."""
    head = bytearray()
    wanted = SNIFF_BYTES
    while len(head) < wanted and response.body_bytes < limits.max_bytes:
        data = response.read(min(http.RECV_BYTES, wanted - len(head),
                                 limits.max_bytes - response.body_bytes))
        if not data:
            break
        head += demuxer.feed(data) if demuxer else data
        wanted = min(limits.max_bytes, SNIFF_BYTES + id3_length(bytes(head[:10])))
    return bytes(head)


def _raise_not_audio(response: http.Response, head: bytes) -> NoReturn:
    where = response.target.redacted
    if not head:
        raise StreamEnded(f"{where} closed the stream before sending any audio; check that "
                          "the station is on air", reason="stream_ended")
    sent = _kind_sent(head, response.headers.get("content-type"))
    raise StreamNotAudio(f"{where} answered with {sent}, not audio; check that the link "
                         "is the stream itself (not the station's web page)")


def _kind_sent(head: bytes, content_type: str | None) -> str:
    """Say what a server sent instead of audio by its kind, never by its bytes: a page
    may hold anything, and the message goes to logs, the database and e-mails."""
    text = looks_like_text(head)
    if text is not None:
        return TEXT_KINDS[text]
    declared = media_type(content_type)
    return f"{declared} data" if MEDIA_TYPE.fullmatch(declared) else "unknown binary data"


def _follow_playlist(response: http.Response, head: bytes, kind: str, limits: CaptureLimits,
                     deadline: Deadline, visited: set[str], depth: int) -> Capture:
    """Read a playlist body and capture from its first entry that works."""
    body = head + response.read_all(MAX_PLAYLIST_BYTES - len(head), "playlist")
    base = response.target.url
    if kind == "hls" or is_hls(body):
        found = capture_hls(base, body, limits, deadline, bytes_before=response.body_bytes)
        return Capture(url_used=found.url_used, started_at=found.started_at, audio=found.audio,
                       codec=found.codec, content_type=found.content_type, icy_title=None,
                       icy_name=None, bitrate_kbps=found.bitrate_kbps,
                       bytes_read=found.bytes_read, seconds=found.seconds,
                       partial=found.partial)
    entries = playlist_entries("pls" if kind == "pls" else "m3u", body, base)
    if not entries:
        raise StreamNotAudio(f"playlist {response.target.redacted} lists no stream; check "
                             "the stream link", reason="empty_playlist")
    last_error: StreamError | None = None
    for entry in entries:
        try:
            return _capture_url(entry, limits, deadline, visited, depth + 1)
        except (StreamTimeout, RedirectLoop):
            raise
        except StreamError as exc:
            log.info("playlist entry failed, trying the next: %s", exc)
            last_error = exc
    assert last_error is not None
    raise last_error


def _read_audio(response: http.Response, demuxer: IcyDemuxer | None, head: bytes,
                found: Sniff, limits: CaptureLimits) -> Capture:
    """Read audio after ``head`` until the wanted seconds, the byte cap or an early stop.

    The first frames give a byte rate; after reading that many bytes the capture is
    measured exactly (:func:`measure_seconds`) and topped up if variable bit rates made
    it short.
    """
    icy_kbps = _int_header(response.headers.get("icy-br"))
    rate = found.bytes_per_second or (icy_kbps * 125 if icy_kbps else FALLBACK_BYTES_PER_SECOND)
    audio = bytearray(head)
    target = found.offset + math.ceil(rate * (limits.seconds + MARGIN_SECONDS))
    for _ in range(MAX_TOP_UPS + 1):
        stopped = _fill(response, demuxer, audio, target, limits)
        measured = measure_seconds(found.codec, bytes(audio), found.offset)
        seconds = measured if measured is not None else (len(audio) - found.offset) / rate
        if stopped or seconds >= limits.seconds or response.body_bytes >= limits.max_bytes:
            break
        rate = (len(audio) - found.offset) / seconds if seconds > 0 else rate
        target = len(audio) + math.ceil(rate * (limits.seconds + MARGIN_SECONDS - seconds))
    if stopped is not None and seconds < limits.min_seconds:
        raise stopped
    content_type = response.headers.get("content-type")
    assert response.first_byte_at is not None and response.last_byte_at is not None  # head holds audio
    unread_seconds = response.buffered_bytes * seconds / max(1, len(audio) - found.offset)
    started_at, burst = live_start(response.first_byte_at, response.last_byte_at, seconds + unread_seconds)
    return Capture(url_used=response.target.redacted, started_at=started_at,
                   audio=bytes(audio), codec=found.codec or codec_from_content_type(content_type),
                   content_type=media_type(content_type) or None,
                   icy_title=demuxer.title if demuxer else None,
                   icy_name=_header_text(response.headers.get("icy-name")),
                   bitrate_kbps=icy_kbps or round(rate * 8 / 1000),
                   bytes_read=response.body_bytes, seconds=round(seconds, 3),
                   partial=seconds < limits.seconds, first_byte_at=response.first_byte_at,
                   burst_seconds=burst, titles=_heard_titles(demuxer, found.offset, len(audio), seconds))


def _heard_titles(demuxer: IcyDemuxer | None, first_frame: int, audio_bytes: int,
                  seconds: float) -> tuple[HeardTitle, ...]:
    """Each title the stream sent, placed in the capture's audio by the bytes before it
    (at the capture's mean byte rate: a variable bit rate moves it by a frame or two)."""
    if demuxer is None or audio_bytes <= first_frame:
        return ()
    per_byte = seconds / (audio_bytes - first_frame)
    return tuple(HeardTitle(round(min(max(0.0, (at - first_frame) * per_byte), seconds), 3), title)
                 for at, title in demuxer.titles)


def live_start(first_byte_at: datetime, last_byte_at: datetime, audio_seconds: float) -> tuple[datetime, float]:
    """Given when the first and the last byte of a live stream arrived and the seconds of
    audio received in between (those still buffered included), return (when the first
    byte was on air, how much earlier than its arrival that is).

    The server's connect burst was already on air when it was sent; after it the
    stream flows at real time, so the last byte is the live edge.  The correction is
    kept between 0 and MAX_BURST_SECONDS.
    """
    burst = audio_seconds - (last_byte_at - first_byte_at).total_seconds()
    burst = round(min(max(burst, 0.0), MAX_BURST_SECONDS), 3)
    return first_byte_at - timedelta(seconds=burst), burst


def _fill(response: http.Response, demuxer: IcyDemuxer | None, audio: bytearray,
          target: int, limits: CaptureLimits) -> StreamError | CaptureStopped | None:
    """Append audio until ``target`` bytes or the byte cap; return the error that stopped
    it early (end of stream, reset, timeout, the run's stop), or None."""
    try:
        while len(audio) < target and response.body_bytes < limits.max_bytes:
            data = response.read(min(http.RECV_BYTES, target - len(audio),
                                     limits.max_bytes - response.body_bytes))
            if not data:
                return _ended(response)
            audio += demuxer.feed(data) if demuxer else data
    except (StreamTimeout, CaptureStopped) as exc:
        return exc
    return None


def _ended(response: http.Response) -> StreamEnded:
    how = "reset the connection" if response.reset else "closed the stream"
    return StreamEnded(f"{response.target.redacted} {how} before enough audio arrived; "
                       "check that the station is on air",
                       reason="connection_reset" if response.reset else "stream_ended")


def _int_header(value: str | None) -> int | None:
    try:
        number = int((value or "").split(",", 1)[0].strip())
    except ValueError:
        return None
    return number if number > 0 else None


def _header_text(value: str | None) -> str | None:
    """Headers are read as Latin-1; station names are usually UTF-8, so re-decode."""
    if not value:
        return None
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value
