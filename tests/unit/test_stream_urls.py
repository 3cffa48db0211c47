"""Stream URLs outside ASCII: the host in its IDNA form, the path and query percent-encoded as UTF-8.

The IDNA forms were worked out by hand from RFC 3492 (punycode): "rádio" is the basic letters
"rdio", then á (U+00E1) inserted after the first letter, delta (225 - 128) × 5 + 1 = 486, written
"5na"; the UTF-8 bytes of ɛ (U+025B) are C9 9B, of Ɔ (U+0186) C6 86, of ɔ (U+0254) C9 94.
"""

from __future__ import annotations

import socket

import pytest

from tests.streamserver import AudioRoute, StreamServer, stream_audio
from zamio.streams import CaptureLimits, StreamRefused, capture
from zamio.streams.http import request_bytes
from zamio.streams.safety import parse_target

__all__ = ["stream_audio"]  # the session fixture, imported for pytest to find

LONG_HOST = "á" * 64 + ".example"  # a DNS label holds at most 63 characters


@pytest.mark.parametrize("url, host, path", [
    ("http://rádio.example/live", "xn--rdio-5na.example", "/live"),
    ("https://Rádio.Example:8443", "xn--rdio-5na.example", "/"),
    ("http://radio.example.gh/ɛkyɛ/stream", "radio.example.gh", "/%C9%9Bky%C9%9B/stream"),
    ("http://radio.example.gh/live?name=Ɔdɔ%20FM&x=1", "radio.example.gh", "/live?name=%C6%86d%C9%94%20FM&x=1"),
    ("http://radio.example.gh/%C9%9Bky%C9%9B/a b", "radio.example.gh", "/%C9%9Bky%C9%9B/a%20b"),
    ("http://radio.example.gh/a;b=c/~d@e:f,g!$'()*+", "radio.example.gh", "/a;b=c/~d@e:f,g!$'()*+"),
])
def test_host_and_path_are_sent_in_ascii(url, host, path):
    target = parse_target(url)
    assert (target.host, target.path, target.url) == (host, path, url)


def test_the_request_names_the_encoded_path_and_host():
    target = parse_target("http://monitor:pw@rádio.example:8000/ɛkyɛ")
    head = request_bytes(target, icy=False).split(b"\r\n")
    assert head[:2] == [b"GET /%C9%9Bky%C9%9B HTTP/1.1", b"Host: xn--rdio-5na.example:8000"]


def test_a_host_with_no_idna_form_is_refused_naming_the_url_without_its_password():
    with pytest.raises(StreamRefused) as caught:
        parse_target(f"http://monitor:S3cretPass@{LONG_HOST}/live")
    assert str(caught.value).startswith(f"stream URL http://{LONG_HOST}/live has a host name that cannot be "
                                        "written for DNS (")
    assert "S3cretPass" not in str(caught.value)


def test_a_capture_asks_dns_and_the_server_for_the_idna_host(stream_audio, monkeypatch):
    asked: list[str] = []
    seen: list[tuple[str, str | None]] = []
    route = AudioRoute(stream_audio.mp3)

    class Recorder:
        def serve(self, handler) -> None:
            seen.append((handler.path, handler.headers.get("Host")))
            route.serve(handler)

    real_getaddrinfo = socket.getaddrinfo

    def resolve(host, port, *args, **kwargs):
        asked.append(host)
        return real_getaddrinfo("127.0.0.1", port, *args, **kwargs)  # the name leads to the test server

    with StreamServer({"/%C9%9Bky%C9%9B": Recorder()}) as server:
        monkeypatch.setattr(socket, "getaddrinfo", resolve)
        clip = capture(f"http://rádio.example:{server.port}/ɛkyɛ",
                       CaptureLimits(seconds=2.0, min_seconds=1.0, connect_timeout=2.0, read_timeout=2.0,
                                     total_timeout=8.0, allow_private=True))
    assert asked == ["xn--rdio-5na.example"]
    assert seen == [("/%C9%9Bky%C9%9B", f"xn--rdio-5na.example:{server.port}")]
    assert clip.url_used == f"http://rádio.example:{server.port}/ɛkyɛ" and clip.audio
