"""Typed errors of stream capture.

Every :class:`StreamError` is an :class:`~zamio.runtime.errors.ItemError`: a dead or
misbehaving stream is a problem of one stream link, recorded on it with ``reason``, and the
scan carries on with the other stations.  :class:`CaptureStopped` is none: the run was
asked to stop, which is no fault of the stream.  Messages name the URL with its credentials removed
(:func:`zamio.streams.safety.redact_url`) and say what to check.
"""

from __future__ import annotations

from zamio.runtime.errors import ItemError, TemporaryFailure


class StreamError(ItemError):
    """Base of every stream capture failure."""

    reason = "stream_failed"


class StreamRefused(StreamError):
    """The URL is not http(s), or it points at a loopback, private, link-local,
    multicast or reserved address while private targets are not allowed."""

    reason = "refused"


class StreamConnectFailed(StreamError):
    """The host name did not resolve, or no resolved address accepted a connection."""

    reason = "connect_failed"


class StreamHttpError(StreamError):
    """The server answered with an HTTP error status; ``reason`` is ``http_<status>``."""

    reason = "http_error"

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message, reason=f"http_{status}")
        self.status = status


class StreamTimeout(StreamError):
    """Connecting, waiting for the next byte, or the whole capture took too long.

    ``reason`` is ``timeout_connect``, ``timeout_read`` or ``timeout_total``.
    """

    reason = "timeout"


class StreamNotAudio(StreamError):
    """The server answered with something that is not audio (HTML, JSON, random bytes)
    or with a response that is not HTTP at all."""

    reason = "not_audio"


class StreamUnsupported(StreamError):
    """The stream is audio in a form capture does not read (encrypted HLS, for example)."""

    reason = "unsupported"


class StreamTooLarge(StreamError):
    """Headers, ICY metadata or a playlist exceeded the sane size caps."""

    reason = "too_large"


class StreamEnded(StreamError):
    """The connection closed before a usable amount of audio arrived."""

    reason = "stream_ended"


class RedirectLoop(StreamError):
    """Redirects (or nested playlists) came back to a URL already visited, or exceeded the cap.

    ``reason`` is ``redirect_loop`` or ``too_many_redirects``.
    """

    reason = "redirect_loop"


class CaptureStopped(TemporaryFailure):
    """The run was asked to stop while the capture was under way, before it had the least
    audio worth keeping (``CaptureLimits.min_seconds``).  Not the stream's fault: the link
    is scanned by a later run."""
