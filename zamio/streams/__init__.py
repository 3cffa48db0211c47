"""Capturing audio from radio streams as stations really serve them.

Public API::

    from zamio.streams import capture, CaptureLimits, Capture, redact_url
    clip = capture("http://radio.example/live.pls", CaptureLimits(seconds=20))

``capture`` handles plain HTTP(S) audio (MP3, AAC/ADTS, Ogg, WAV, MPEG-TS),
Icecast/SHOUTcast ICY metadata (stripped, last StreamTitle kept), SHOUTcast v1's
``ICY 200 OK``, ``.pls``/``.m3u`` playlists (nested), HLS live and finished playlists,
redirects and chunked bodies.  Failures raise :class:`StreamError` subclasses, item
errors with a stable ``reason``; a capture ended by the run's stop request with too
little audio raises :class:`CaptureStopped`.  No database and no numeric imports here: the scan job
connects captures to the recogniser and the tables.
"""

from zamio.streams.capture import capture
from zamio.streams.errors import (
                                  CaptureStopped,
                                  RedirectLoop,
                                  StreamConnectFailed,
                                  StreamEnded,
                                  StreamError,
                                  StreamHttpError,
                                  StreamNotAudio,
                                  StreamRefused,
                                  StreamTimeout,
                                  StreamTooLarge,
                                  StreamUnsupported,
)
from zamio.streams.model import Capture, CaptureLimits
from zamio.streams.safety import redact_url

__all__ = [
    "Capture", "CaptureLimits", "CaptureStopped", "RedirectLoop", "StreamConnectFailed", "StreamEnded",
    "StreamError", "StreamHttpError", "StreamNotAudio", "StreamRefused", "StreamTimeout",
    "StreamTooLarge", "StreamUnsupported", "capture", "redact_url",
]
