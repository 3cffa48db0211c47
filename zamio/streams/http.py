"""A minimal HTTP/1.1 client over ``socket``/``ssl`` for reading radio streams.

Why not ``http.client`` or ``requests``: SHOUTcast v1 answers ``ICY 200 OK``, which
both reject, and a capture needs exact control of the connect timeout, the idle read
timeout, the total deadline and the byte cap.  This client sends one GET per
connection (``Connection: close``), understands ``HTTP/1.x`` and ``ICY`` status lines,
chunked and length-delimited bodies, and follows redirects with every hop checked by
:mod:`zamio.streams.safety`.

No wait is longer than ``STOP_POLL_SECONDS``: connecting, the TLS handshake and every
read are done in slices, and between two slices the capture's :class:`Deadline` says
whether the run was asked to stop (CaptureStopped).  Host name resolution is the one
wait outside: the system resolver's own timeout bounds it.
"""

from __future__ import annotations

import base64
import errno
import os
import re
import select
import socket
import ssl
import time
from datetime import UTC, datetime
from urllib.parse import urljoin

from zamio.streams.errors import (
    RedirectLoop,
    StreamConnectFailed,
    StreamEnded,
    StreamHttpError,
    StreamNotAudio,
    StreamTimeout,
    StreamTooLarge,
)
from zamio.streams.model import CaptureLimits
from zamio.streams.safety import (
    STOP_POLL_SECONDS,
    Deadline,
    SocketAddress,
    Target,
    parse_target,
    resolve_checked,
)

USER_AGENT = "zamio-monitor/1.0"
MAX_HEADER_BYTES = 32 * 1024  # a real server sends under 2 KiB of headers
MAX_LINE_BYTES = 1024  # chunk-size lines
RECV_BYTES = 65536
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
STATUS_LINE = re.compile(rb"^(HTTP/\d(?:\.\d)?|ICY)\s+(\d{3})(?:\s+(.*))?$")
CONNECTING = frozenset({errno.EINPROGRESS, errno.EALREADY, errno.EWOULDBLOCK, errno.EINTR})


class Connection:
    """A buffered socket that enforces the idle and total timeouts on every read."""

    def __init__(self, sock: socket.socket, target: Target, limits: CaptureLimits,
                 deadline: Deadline) -> None:
        self.sock = sock
        self.target = target
        self.limits = limits
        self.deadline = deadline
        self.buffer = bytearray()
        self.eof = False
        self.reset = False  # the peer reset the connection (as opposed to a clean close)
        self.received = 0  # bytes received from the socket, headers included
        self.last_recv_at: datetime | None = None

    def fill(self) -> bool:
        """Receive more bytes into the buffer; return False at end of stream.

        Raise StreamTimeout (``timeout_read`` or ``timeout_total``) when no byte comes,
        CaptureStopped when the run is asked to stop meanwhile.
        """
        if self.eof:
            return False
        what = f"reading {self.target.redacted}"
        idle_until = time.monotonic() + self.limits.read_timeout
        while True:
            self.deadline.check_stop(what)
            self.deadline.check(what)
            idle = idle_until - time.monotonic()
            if idle <= 0:
                raise StreamTimeout(f"{self.target.redacted} sent nothing for "
                                    f"{self.limits.read_timeout:g} s; the stream is stalled",
                                    reason="timeout_read")
            self.sock.settimeout(max(0.001, min(idle, self.deadline.remaining(), STOP_POLL_SECONDS)))
            try:
                data = self.sock.recv(RECV_BYTES)
                break
            except TimeoutError:
                continue
            except (ConnectionResetError, ConnectionAbortedError, BrokenPipeError, ssl.SSLError):
                data, self.reset = b"", True
                break
        if not data:
            self.eof = True
            return False
        self.last_recv_at = datetime.now(UTC)
        self.received += len(data)
        self.buffer += data
        return True

    def take(self, n: int) -> bytes:
        """Remove and return up to ``n`` buffered bytes."""
        data = bytes(self.buffer[:n])
        del self.buffer[:n]
        return data

    def read_line(self, cap: int) -> bytes:
        """Return one line without its line ending; raise StreamTooLarge beyond ``cap`` bytes."""
        while True:
            end = self.buffer.find(b"\n")
            if end >= 0:
                return self.take(end + 1).rstrip(b"\r\n")
            if len(self.buffer) > cap:
                raise StreamTooLarge(f"{self.target.redacted} sent a line longer than {cap} "
                                     "bytes; the server is broken or hostile")
            if not self.fill():
                return self.take(len(self.buffer))

    def close(self) -> None:
        """Close the socket, ignoring errors (the peer may already be gone)."""
        try:
            self.sock.close()
        except OSError:
            pass


class Response:
    """A response: status, lower-cased headers, and a body read with :meth:`read`."""

    def __init__(self, conn: Connection, protocol: str, status: int,
                 headers: dict[str, str]) -> None:
        self.conn = conn
        self.target = conn.target
        self.protocol = protocol
        self.status = status
        self.headers = headers
        self.body_bytes = 0
        self.first_byte_at: datetime | None = None
        self._chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        # bytes left in the body (Content-Length) or in the current chunk; None: until close
        self._left = None if self._chunked else _content_length(headers)
        self._done = False

    @property
    def reset(self) -> bool:
        """True if the server reset the connection instead of closing it cleanly."""
        return self.conn.reset

    @property
    def last_byte_at(self) -> datetime | None:
        """When the last bytes arrived from the socket."""
        return self.conn.last_recv_at

    @property
    def buffered_bytes(self) -> int:
        """Bytes received but not yet read (body bytes, or chunk framing)."""
        return len(self.conn.buffer)

    def read(self, n: int = RECV_BYTES) -> bytes:
        """Return up to ``n`` body bytes (at least one unless the body ended: then b'')."""
        if self._done or (self._left == 0 and not self._chunked):
            return b""
        if self._chunked and not self._left:
            self._left = self._next_chunk_size()
            if not self._left:
                return b""
        want = n if self._left is None else min(n, self._left)
        if not self.conn.buffer and not self.conn.fill():
            self._done = True
            return b""
        data = self.conn.take(want)
        if self._left is not None:
            self._left -= len(data)
            if self._left == 0 and not self._chunked:
                self._done = True
            elif self._left == 0:
                self.conn.read_line(MAX_LINE_BYTES)  # the CRLF after the chunk data
        if self.first_byte_at is None:
            self.first_byte_at = self.conn.last_recv_at
        self.body_bytes += len(data)
        return data

    def read_all(self, cap: int, what: str) -> bytes:
        """Return the whole body; raise StreamTooLarge if it exceeds ``cap`` bytes."""
        parts: list[bytes] = []
        total = 0
        while data := self.read():
            total += len(data)
            if total > cap:
                raise StreamTooLarge(f"{what} at {self.target.redacted} is larger than "
                                     f"{cap} bytes; check that the link is right")
            parts.append(data)
        return b"".join(parts)

    def _next_chunk_size(self) -> int:
        line = self.conn.read_line(MAX_LINE_BYTES)
        try:
            size = int(line.split(b";", 1)[0].strip() or b"0", 16)
        except ValueError:
            raise StreamNotAudio(f"{self.target.redacted} sent a malformed chunked body; "
                                 "the server is broken", reason="bad_response") from None
        if size == 0:
            self._done = True
        return size

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()


def _content_length(headers: dict[str, str]) -> int | None:
    try:
        return max(0, int(headers["content-length"]))
    except (KeyError, ValueError):
        return None


def connect(target: Target, limits: CaptureLimits, deadline: Deadline) -> socket.socket:
    """Given a checked target, return a connected (and for https, TLS-wrapped) socket.

    Connect only to the addresses :func:`resolve_checked` approved.  Raise
    StreamConnectFailed if none accepts, StreamTimeout (``timeout_connect``) if they
    all time out, StreamRefused for a non-public address.
    """
    addresses = resolve_checked(target, limits.allow_private)
    timed_out, last_error = False, "no address"
    for family, sockaddr in addresses:
        deadline.check(f"connecting to {target.redacted}")
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            _connect_socket(sock, sockaddr, target, limits, deadline)
        except TimeoutError:
            timed_out = True
        except OSError as exc:
            last_error = exc.strerror or str(exc)
        except BaseException:
            sock.close()
            raise
        else:
            return _wrap_tls(sock, target, limits, deadline) if target.scheme == "https" else sock
        sock.close()
    if timed_out:
        raise StreamTimeout(f"connecting to {target.redacted} took longer than "
                            f"{limits.connect_timeout:g} s; check that the server is up",
                            reason="timeout_connect")
    raise StreamConnectFailed(f"cannot connect to {target.redacted} ({last_error}); "
                              "check that the server is up and the port is right")


def _connect_socket(sock: socket.socket, sockaddr: SocketAddress, target: Target, limits: CaptureLimits,
                    deadline: Deadline) -> None:
    """Connect ``sock`` within the connect timeout, in slices (CaptureStopped on a stop);
    raise TimeoutError or OSError as ``socket.connect`` does."""
    until = time.monotonic() + min(limits.connect_timeout, deadline.remaining())
    sock.setblocking(False)
    code = sock.connect_ex(sockaddr)
    poller = select.poll()
    poller.register(sock, select.POLLOUT)
    while code in CONNECTING:
        deadline.check_stop(f"connecting to {target.redacted}")
        left = until - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"connecting to {target.redacted} timed out")
        if poller.poll(max(1, round(min(left, STOP_POLL_SECONDS) * 1000))):
            code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    if code:
        raise OSError(code, os.strerror(code))


def _wrap_tls(sock: socket.socket, target: Target, limits: CaptureLimits, deadline: Deadline) -> socket.socket:
    """Make the TLS handshake within the connect timeout, in slices (CaptureStopped on a stop)."""
    until = time.monotonic() + min(limits.connect_timeout, deadline.remaining())
    context = ssl.create_default_context()
    tls: ssl.SSLSocket | None = None
    try:
        tls = context.wrap_socket(sock, server_hostname=target.host, do_handshake_on_connect=False)
        while True:
            deadline.check_stop(f"connecting to {target.redacted}")
            left = until - time.monotonic()
            if left <= 0:
                raise TimeoutError("the handshake took longer than the connect timeout")
            tls.settimeout(min(left, STOP_POLL_SECONDS))
            try:
                tls.do_handshake()
                return tls
            except TimeoutError:
                continue
    except (TimeoutError, ssl.SSLError, OSError) as exc:
        (tls or sock).close()
        raise StreamConnectFailed(f"TLS handshake with {target.redacted} failed ({exc}); "
                                  "check the certificate or use the station's other link"
                                  ) from None
    except BaseException:
        (tls or sock).close()
        raise


def request_bytes(target: Target, icy: bool) -> bytes:
    """Return the GET request for ``target``; ask for ICY metadata when ``icy``."""
    lines = [f"GET {target.path} HTTP/1.1", f"Host: {target.host_header}",
             f"User-Agent: {USER_AGENT}", "Accept: */*", "Connection: close"]
    if icy:
        lines.append("Icy-MetaData: 1")
    if target.username is not None:
        pair = f"{target.username}:{target.password or ''}".encode()
        lines.append("Authorization: Basic " + base64.b64encode(pair).decode("ascii"))
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def read_head(conn: Connection) -> tuple[str, int, dict[str, str]]:
    """Read the status line and headers; return (protocol, status, lower-cased headers).

    Raise StreamTooLarge beyond MAX_HEADER_BYTES, StreamEnded if the server closed
    without answering, StreamNotAudio if the status line is not HTTP or ICY.
    """
    while b"\r\n\r\n" not in conn.buffer and b"\n\n" not in conn.buffer:
        if len(conn.buffer) > MAX_HEADER_BYTES:
            raise StreamTooLarge(f"{conn.target.redacted} sent more than {MAX_HEADER_BYTES} "
                                 "bytes of headers; the server is broken or hostile")
        if not conn.fill():
            break
    if not conn.buffer:
        raise StreamEnded(f"{conn.target.redacted} closed the connection without answering; "
                          "check that the server is up", reason="no_response")
    status_line = conn.read_line(MAX_HEADER_BYTES)
    match = STATUS_LINE.match(status_line.strip())
    if not match:
        raise StreamNotAudio(f"{conn.target.redacted} did not answer with HTTP or ICY; "
                             "check the port and path of the stream link",
                             reason="bad_response")
    headers: dict[str, str] = {}
    while line := conn.read_line(MAX_HEADER_BYTES):
        name, sep, value = line.decode("latin-1").partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return match.group(1).decode(), int(match.group(2)), headers


def get(target: Target, limits: CaptureLimits, deadline: Deadline, icy: bool) -> Response:
    """Send one GET to ``target`` and return the response head (body not yet read)."""
    sock = connect(target, limits, deadline)
    conn = Connection(sock, target, limits, deadline)
    try:
        sock.settimeout(min(limits.read_timeout, max(deadline.remaining(), 0.001)))
        sock.sendall(request_bytes(target, icy))
        protocol, status, headers = read_head(conn)
    except (TimeoutError, OSError) as exc:
        conn.close()
        if isinstance(exc, socket.timeout):
            deadline.check(f"requesting {target.redacted}")
        raise StreamConnectFailed(f"{target.redacted} dropped the request ({exc}); "
                                  "check that the server is up") from None
    except BaseException:
        conn.close()
        raise
    return Response(conn, protocol, status, headers)


def open_url(url: str, limits: CaptureLimits, deadline: Deadline, *, icy: bool = True,
             visited: set[str] | None = None) -> Response:
    """Given a URL, follow redirects and return the successful response.

    ``visited`` collects every URL requested (shared across playlist hops for loop
    detection).  Raise RedirectLoop on a repeated URL or more than
    ``limits.max_redirects`` redirects, StreamHttpError on a status other than 2xx,
    and the errors of :func:`connect`.
    """
    visited = set() if visited is None else visited
    target = parse_target(url)
    for _ in range(limits.max_redirects + 1):
        if target.url in visited:
            raise RedirectLoop(f"{target.redacted} redirects back to itself; "
                               "check the stream link", reason="redirect_loop")
        visited.add(target.url)
        response = get(target, limits, deadline, icy)
        if response.status not in REDIRECT_STATUSES:
            _check_status(response)
            return response
        location = response.headers.get("location")
        response.close()
        if not location:
            raise StreamHttpError(f"{target.redacted} redirected without a Location; "
                                  "the server is misconfigured", response.status)
        target = _redirect_target(target, location)
    raise RedirectLoop(f"{target.redacted} needed more than {limits.max_redirects} "
                       "redirects; check the stream link", reason="too_many_redirects")


def _redirect_target(current: Target, location: str) -> Target:
    """Resolve a Location against the current URL; drop credentials on a new origin."""
    new = parse_target(urljoin(current.url, location.strip()))
    same_origin = (new.scheme, new.host, new.port) == (current.scheme, current.host, current.port)
    if same_origin and new.username is None and current.username is not None:
        return Target(new.scheme, new.host, new.port, new.path, current.username,
                      current.password, new.url)
    return new


def _check_status(response: Response) -> None:
    status = response.status
    if 200 <= status < 300:
        return
    response.close()
    hint = {401: "check the user name and password in the stream link",
            403: "the server refuses this client; check the link or ask the station",
            404: "the mount point or path is wrong or gone; check the stream link"}.get(
        status, "check the stream link and the server")
    raise StreamHttpError(f"{response.target.redacted} answered HTTP {status}; {hint}", status)

