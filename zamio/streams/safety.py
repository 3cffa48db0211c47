"""URL hygiene and network safety for stream capture.

Stream URLs come from station staff and from playlists served by third parties, so
every hop is checked before any connection: the scheme must be http(s) and every
address the host resolves to must be public unless private targets are allowed.
The connection is then made to exactly the addresses that were checked, so a DNS
answer that changes between check and connect (DNS rebinding) cannot slip through.

A request carries ASCII only, and station staff write links in their own languages
(``http://rádio.example/ɛkyɛ``): a host outside ASCII is sent in its IDNA form
(``xn--rdio-5qa.example``) and the path and query are percent-encoded as UTF-8,
what is already percent-encoded kept as it is.  A host that has no IDNA form is refused.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import SplitResult, quote, urlsplit, urlunsplit

from zamio.streams.errors import CaptureStopped, StreamConnectFailed, StreamRefused, StreamTimeout

ALLOWED_SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443}
#: The longest a capture waits (to connect, for the next bytes, between HLS playlist loads)
#: before it looks again whether the run was asked to stop.
STOP_POLL_SECONDS = 0.25


def redact_url(url: str) -> str:
    """Given a URL, return it with any ``user:password@`` removed; other parts unchanged.

    Strings that are not parseable URLs are returned with everything up to the last
    ``@`` of the authority dropped, so a malformed URL never leaks a password either.
    """
    try:
        parts = urlsplit(url)
        if parts.username is None and parts.password is None:
            return url
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        netloc = host if parts.port is None else f"{host}:{parts.port}"
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    except ValueError:
        head, sep, tail = url.partition("://")
        authority, slash, rest = tail.partition("/")
        return f"{head}{sep}{authority.rpartition('@')[2]}{slash}{rest}"


@dataclass(frozen=True)
class Target:
    """One parsed request target: where to connect and what to ask for."""

    scheme: str
    host: str  # ASCII: a host outside ASCII in its IDNA form
    port: int
    path: str  # path plus query, as sent on the request line (ASCII, percent-encoded)
    username: str | None
    password: str | None
    url: str  # the full URL as given, credentials included (never logged; see ``redacted``)

    @property
    def redacted(self) -> str:
        """The URL without credentials, for messages and ``Capture.url_used``."""
        return redact_url(self.url)

    @property
    def host_header(self) -> str:
        """The ``Host`` header value: the host, with the port when it is not the default."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        if self.port == DEFAULT_PORTS[self.scheme]:
            return host
        return f"{host}:{self.port}"


def parse_target(url: str) -> Target:
    """Given a URL, return its :class:`Target`, host and path encoded for the wire (see the
    module docstring); raise StreamRefused if it is not http(s), has no host, an invalid
    port or a host with no IDNA form."""
    try:
        parts: SplitResult = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise StreamRefused(f"stream URL {redact_url(url)} is malformed ({exc}); "
                            "check the stream link") from None
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise StreamRefused(f"stream URL {redact_url(url)} uses scheme {scheme or '(none)'!r}; "
                            "only http and https stream links are read")
    if not parts.hostname:
        raise StreamRefused(f"stream URL {redact_url(url)} has no host; check the stream link")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(scheme=scheme, host=wire_host(parts.hostname, url), port=port or DEFAULT_PORTS[scheme],
                  path=wire_path(path, url), username=parts.username, password=parts.password, url=url.strip())


def wire_host(host: str, url: str) -> str:
    """Given the host of ``url``, return it as DNS and the ``Host`` header take it: an ASCII host
    unchanged, any other in its IDNA form; raise StreamRefused if it has none."""
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise StreamRefused(f"stream URL {redact_url(url)} has a host name that cannot be written for DNS "
                            f"({exc}); check the host name in the stream link") from None


#: What a request line carries as written: printable ASCII but the space.  "%" is among them, so what is
#: already percent-encoded stays as it is.
REQUEST_LINE_CHARACTERS = "".join(chr(code) for code in range(0x21, 0x7F))


def wire_path(path: str, url: str) -> str:
    """Given the path (and query) of ``url``, return it with every other character percent-encoded as UTF-8
    (``/ɛkyɛ`` -> ``/%C9%9Bky%C9%9B``); raise StreamRefused if it is not text UTF-8 can write."""
    try:
        return quote(path, safe=REQUEST_LINE_CHARACTERS)
    except UnicodeEncodeError:
        raise StreamRefused(f"stream URL {redact_url(url)} holds characters that are not text; "
                            "check the stream link") from None


#: IPv6 ranges whose last 32 bits are an IPv4 address the traffic reaches: NAT64 (RFC 6052) and the
#: deprecated IPv4-compatible addresses.  6to4 and Teredo have readers of their own in ``ipaddress``.
NAT64_PREFIX = ipaddress.IPv6Network("64:ff9b::/96")
IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


def is_public_address(address: str) -> bool:
    """Given an IP address string, return True if it is a public unicast address.

    Loopback, private, link-local, multicast, reserved, unspecified and shared
    (carrier-grade NAT) ranges are not public; IPv4-mapped IPv6 addresses are judged by
    their IPv4 part.  The other IPv6 transition addresses (6to4, NAT64, IPv4-compatible,
    Teredo) lead to the IPv4 address they wrap, so they are not public when that address
    is not (for Teredo, either its server or its client), whatever the IPv6 range itself.
    """
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return _is_public(ip.ipv4_mapped)
        if not all(_is_public(wrapped) for wrapped in embedded_ipv4(ip)):
            return False
    return _is_public(ip)


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """Given an IPv6 address, return the IPv4 addresses a transition mechanism reaches through it
    (mapped, 6to4, NAT64, IPv4-compatible, Teredo server and client); empty for any other address."""
    if ip.ipv4_mapped is not None:
        return [ip.ipv4_mapped]
    if ip.sixtofour is not None:
        return [ip.sixtofour]
    if ip.teredo is not None:
        return list(ip.teredo)
    if ip in NAT64_PREFIX or ip in IPV4_COMPATIBLE:
        return [ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)]
    return []


def _is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return not (ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_multicast
                or ip.is_reserved or ip.is_unspecified or not ip.is_global)


#: A socket address as ``getaddrinfo`` gives it: (host, port) for IPv4, (host, port, flow, scope) for IPv6,
#: (family, bytes) for a family Python was built without.
SocketAddress = tuple[str, int] | tuple[str, int, int, int] | tuple[int, bytes]


def resolve_checked(target: Target, allow_private: bool) -> list[tuple[socket.AddressFamily, SocketAddress]]:
    """Given a target, return the socket addresses to connect to, every one checked.

    Raise StreamConnectFailed if the host does not resolve, StreamRefused if any
    resolved address is not public and ``allow_private`` is False (one bad address
    refuses the whole host: a name that mixes public and private answers is suspect).
    """
    try:
        infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise StreamConnectFailed(f"host of {target.redacted} does not resolve ({exc}); "
                                  "check the host name in the stream link") from None
    addresses: list[tuple[socket.AddressFamily, SocketAddress]] = [
        (family, sockaddr) for family, _, _, _, sockaddr in infos]
    if not allow_private:
        for _, sockaddr in addresses:
            host = sockaddr[0]
            assert isinstance(host, str)  # a stream socket's IPv4 and IPv6 addresses are text
            if not is_public_address(host):
                raise StreamRefused(f"stream URL {target.redacted} resolves to the non-public "
                                    f"address {sockaddr[0]}; stream links must point at "
                                    "public servers")
    return addresses


class Deadline:
    """A capture's wall-clock budget measured on the monotonic clock, in seconds, and the
    run's stop request: ``should_stop()`` true ends the capture whatever time is left
    (every wait looks at it at least every ``STOP_POLL_SECONDS``)."""

    def __init__(self, seconds: float, should_stop: Callable[[], bool] | None = None) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds
        self._should_stop = should_stop

    def remaining(self) -> float:
        """Return the seconds left (never negative)."""
        return max(0.0, self._end - time.monotonic())

    def expired(self) -> bool:
        """Return True once the budget is spent."""
        return self.remaining() <= 0.0

    def check(self, what: str) -> None:
        """Raise StreamTimeout (``timeout_total``) naming ``what`` if the budget is spent."""
        if self.expired():
            raise StreamTimeout(f"{what}: the capture exceeded its total time limit of "
                                f"{self.seconds:g} s; the stream is too slow or stalled",
                                reason="timeout_total")

    def stop_requested(self) -> bool:
        """Return True once the run has been asked to stop."""
        return self._should_stop is not None and self._should_stop()

    def check_stop(self, what: str) -> None:
        """Raise CaptureStopped naming ``what`` if the run has been asked to stop."""
        if self.stop_requested():
            raise CaptureStopped(f"{what}: the run was asked to stop")

    def sleep(self, seconds: float, what: str) -> None:
        """Wait ``seconds`` (no longer than the budget left); raise CaptureStopped naming
        ``what`` as soon as the run is asked to stop."""
        end = time.monotonic() + min(seconds, self.remaining())
        while True:
            self.check_stop(what)
            left = end - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, STOP_POLL_SECONDS))
