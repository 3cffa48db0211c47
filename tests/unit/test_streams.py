"""Stream capture against a real HTTP server on 127.0.0.1 serving ffmpeg-encoded audio."""

from __future__ import annotations

import ipaddress
import socket
import ssl
import subprocess
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.streamserver import (
    AudioRoute,
    GarbageRoute,
    HeaderFloodRoute,
    HlsRoute,
    HtmlRoute,
    IcyAbuseRoute,
    IcyAudioRoute,
    PlaylistRoute,
    RedirectRoute,
    ShoutcastV1Route,
    StatusRoute,
    StreamServer,
    TrickleRoute,
    stream_audio,
    streaming_wav_header,
)
from zamio.streams import (
    Capture,
    CaptureLimits,
    CaptureStopped,
    RedirectLoop,
    StreamConnectFailed,
    StreamEnded,
    StreamHttpError,
    StreamNotAudio,
    StreamRefused,
    StreamTimeout,
    StreamTooLarge,
    capture,
    redact_url,
)
from zamio.streams.capture import live_start
from zamio.streams.formats import sniff
from zamio.streams.icy import IcyDemuxer
from zamio.streams.model import MAX_BURST_SECONDS
from zamio.streams.safety import embedded_ipv4, is_public_address

__all__ = ["stream_audio"]  # the session fixture, imported for pytest to find

WANTED_SECONDS = 4.0
DECODE_RATE_HZ = 8000


def limits(**overrides) -> CaptureLimits:
    """Short limits for tests: small windows, quick timeouts, loopback allowed."""
    values = dict(seconds=WANTED_SECONDS, min_seconds=2.0, connect_timeout=2.0,
                  read_timeout=2.0, total_timeout=8.0, allow_private=True)
    values.update(overrides)
    return CaptureLimits(**values)


def decoded_seconds(data: bytes) -> float:
    """Decode ``data`` with ffmpeg to 8 kHz mono PCM; return its duration in seconds."""
    result = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", "pipe:0", "-f", "s16le",
                             "-ac", "1", "-ar", str(DECODE_RATE_HZ), "pipe:1"],
                            input=data, capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return len(result.stdout) / 2 / DECODE_RATE_HZ


def first_frame(data: bytes) -> int:
    """Where the audio's first frame starts (after its ID3 tag)."""
    found = sniff(data[:16384])
    assert found is not None
    return found.offset


def looped(data: bytes, length: int) -> bytes:
    """``data`` repeated and cut to ``length`` bytes, as a looping route serves it."""
    return (data * (length // len(data) + 1))[:length]


@pytest.fixture(scope="module")
def server(stream_audio):
    a = stream_audio
    routes = {
        "/mp3": AudioRoute(a.mp3),
        "/icy": IcyAudioRoute(a.mp3, metaint=1000, title="Daddy Lumba - Mpempem"),
        # The title changes 2 s into the audio (128 kbit/s: 16,000 bytes a second after its first frame).
        "/icy-changes": IcyAudioRoute(a.mp3, metaint=1000, titles=(
            (0, "Daddy Lumba - Mpempem"), (first_frame(a.mp3) + 32_000, "Kojo Antwi - Akwaaba"))),
        "/aac": AudioRoute(a.aac, "audio/aac"),
        "/ogg": AudioRoute(a.ogg, "application/ogg"),
        "/wav": AudioRoute(a.wav_pcm, "audio/wav", header=streaming_wav_header(a.wav_header)),
        "/shoutcast": ShoutcastV1Route(a.mp3, title="Kojo Antwi – Akwaaba", name="Joy FM"),
        "/chunked": AudioRoute(a.mp3, status_line="HTTP/1.1 200 OK", chunked=True),
        "/paced": IcyAudioRoute(a.mp3, title="Paced", byte_rate=16000, pace=4.0,
                                burst_bytes=32000),
        "/silence": AudioRoute(a.silence_mp3),
        "/listen.pls": PlaylistRoute("[playlist]\nNumberOfEntries=2\nFile1={base}/gone\n"
                                     "Title1=mirror\nFile2={base}/nested.m3u\nVersion=2\n",
                                     "audio/x-scpls"),
        "/nested.m3u": PlaylistRoute("#EXTM3U\n#EXTINF:-1,Station\n{base}/icy\n", "text/plain"),
        "/station.pls": PlaylistRoute("[playlist]\nFile1={base}/hls/master.m3u8\n",
                                      "audio/x-scpls"),
        "/hls": HlsRoute(a.ts_segments, max(a.ts_durations), window=3, pace=2.0,
                         durations=a.ts_durations),
        "/packed": HlsRoute(a.aac_segments, a.segment_seconds, window=6, extension="aac",
                            content_type="audio/aac"),
        "/finished": HlsRoute(a.ts_segments[:2], max(a.ts_durations), ended=True,
                              durations=a.ts_durations[:2]),
        "/moved": RedirectRoute("/hop"),
        "/hop": RedirectRoute("{base}/mp3", status=307),
        "/loop-a": RedirectRoute("/loop-b"),
        "/loop-b": RedirectRoute("/loop-a"),
        "/self.pls": PlaylistRoute("[playlist]\nFile1={base}/self.pls\n", "audio/x-scpls"),
        "/gone": StatusRoute(404),
        "/page": HtmlRoute(),
        "/garbage": GarbageRoute(),
        "/trickle": TrickleRoute(a.mp3, interval_seconds=0.5),
        "/stall": TrickleRoute(a.mp3, interval_seconds=30),
        "/reset-early": AudioRoute(a.mp3, reset_after=5000),
        "/reset-late": AudioRoute(a.mp3, reset_after=60000),
        "/short": AudioRoute(a.mp3[:20000], loop=False),
        "/icy-abuse": IcyAbuseRoute(a.mp3),
        "/header-flood": HeaderFloodRoute(),
        "/private": AudioRoute(a.mp3, auth=("monitor", "s3cr3t-pw")),
        "/to-other-host": RedirectRoute("http://localhost:{port}/echo"),
        "/echo": AudioRoute(a.mp3),
        "/realtime": AudioRoute(a.mp3, byte_rate=16000, pace=1.0),
        "/burst": IcyAudioRoute(a.mp3, metaint=4000, title="Live", byte_rate=16000, pace=1.0,
                                burst_bytes=48000),
        "/huge.m3u": PlaylistRoute("#EXTM3U\n" + "# padding\n" * 30_000 + "{base}/mp3\n"),
    }
    with StreamServer(routes) as running:
        routes["/to-other-host"].location = f"http://localhost:{running.port}/echo"
        yield running


# --- formats served as stations serve them ---------------------------------------------


@pytest.mark.parametrize("path, codec, content_type", [
    ("/mp3", "mp3", "audio/mpeg"),
    ("/aac", "aac", "audio/aac"),
    ("/ogg", "ogg", "application/ogg"),
    ("/wav", "wav", "audio/wav"),
    ("/chunked", "mp3", "audio/mpeg"),
    ("/shoutcast", "mp3", "audio/mpeg"),
])
def test_capture_reads_the_wanted_window_of_decodable_audio(server, path, codec, content_type):
    before = datetime.now(UTC)
    clip = capture(server.url(path), limits())
    assert (clip.codec, clip.content_type, clip.partial) == (codec, content_type, False)
    assert before <= clip.first_byte_at <= datetime.now(UTC)
    # Served as fast as it is read, the whole window counts as connect burst.
    assert clip.started_at == clip.first_byte_at - timedelta(seconds=clip.burst_seconds)
    assert 0 < clip.burst_seconds <= MAX_BURST_SECONDS
    assert clip.url_used == server.url(path)
    assert clip.seconds >= WANTED_SECONDS
    decoded = decoded_seconds(clip.audio)
    assert WANTED_SECONDS <= decoded < WANTED_SECONDS + 3
    assert decoded == pytest.approx(clip.seconds, abs=0.1)  # measured, not guessed


@pytest.mark.parametrize("path", ["/icy", "/aac", "/ogg"])
def test_duration_is_measured_across_a_song_change(server, path):
    # The 6 s source loops: the window spans a restart with its ID3 tag or Ogg headers.
    clip = capture(server.url(path), limits(seconds=8.0))
    decoded = decoded_seconds(clip.audio)
    assert decoded >= 8.0 and decoded == pytest.approx(clip.seconds, abs=0.1)


def test_icy_metadata_is_removed_from_the_audio_and_the_title_kept(server, stream_audio):
    clip = capture(server.url("/icy"), limits())
    assert clip.audio == looped(stream_audio.mp3, len(clip.audio))
    assert clip.icy_title == "Daddy Lumba - Mpempem"
    assert clip.icy_name == "Test Radio"
    assert clip.bytes_read > len(clip.audio)  # the metadata bytes were read, then dropped


def test_a_capture_places_each_title_the_stream_sent_in_its_audio(server):
    clip = capture(server.url("/icy-changes"), limits())
    first, change = clip.titles
    assert first.title == "Daddy Lumba - Mpempem" and first.at_seconds < 0.1  # the first block, after 1,000 bytes
    # The change arrives with the first block after the 2 s point: within 1,000 bytes (1/16 s) after it.
    assert change.title == "Kojo Antwi - Akwaaba" and 2.0 <= change.at_seconds <= 2.0 + 1000 / 16_000 + 0.01
    assert clip.icy_title == "Kojo Antwi - Akwaaba"  # the last title heard, as before


def test_shoutcast_v1_status_line_title_name_and_bitrate(server):
    clip = capture(server.url("/shoutcast"), limits())
    assert clip.icy_title == "Kojo Antwi – Akwaaba"
    assert (clip.icy_name, clip.bitrate_kbps) == ("Joy FM", 128)


def test_paced_stream_after_a_burst_takes_about_real_time_over_pace(server):
    clip = capture(server.url("/paced"), limits())
    assert clip.icy_title == "Paced" and not clip.partial
    assert decoded_seconds(clip.audio) >= WANTED_SECONDS


# --- when the captured audio was on air ----------------------------------------------


def test_a_live_capture_starts_when_its_first_byte_was_on_air_not_when_it_arrived(server):
    route = server.routes["/burst"]
    clip = capture(server.url("/burst"), limits())
    assert clip.burst_seconds == pytest.approx(3.0, abs=0.5)  # 48,000 bytes at 16,000 bytes/s
    assert abs((clip.started_at - route.on_air_from[-1]).total_seconds()) < 0.5
    assert clip.started_at == clip.first_byte_at - timedelta(seconds=clip.burst_seconds)


def test_a_live_stream_without_a_burst_keeps_about_its_arrival_time(server):
    route = server.routes["/realtime"]
    clip = capture(server.url("/realtime"), limits())
    assert 0 <= clip.burst_seconds < 0.5
    assert abs((clip.started_at - route.on_air_from[-1]).total_seconds()) < 0.5


def test_the_burst_correction_is_bounded():
    first = datetime(2026, 5, 18, 12, 0, 0, tzinfo=UTC)
    # 20 s of audio over 16 s: a 4 s burst.
    assert live_start(first, first + timedelta(seconds=16), 20.0) == (first - timedelta(seconds=4), 4.0)
    # Less audio than wall time (a slow start, a stall): never later than the first byte.
    assert live_start(first, first + timedelta(seconds=25), 20.0) == (first, 0.0)
    # Far more audio than wall time (not a live stream): at most MAX_BURST_SECONDS earlier.
    assert live_start(first, first + timedelta(seconds=1), 120.0) == (
        first - timedelta(seconds=MAX_BURST_SECONDS), MAX_BURST_SECONDS)


def test_silence_is_captured_as_audio(server):
    clip = capture(server.url("/silence"), limits())
    assert clip.codec == "mp3" and decoded_seconds(clip.audio) >= WANTED_SECONDS


def test_byte_cap_bounds_the_capture_and_marks_it_partial(server):
    clip = capture(server.url("/mp3"), limits(max_bytes=40_000))
    assert len(clip.audio) <= 40_000 and clip.bytes_read <= 40_000
    assert clip.partial and clip.seconds < WANTED_SECONDS


# --- playlists and HLS ---------------------------------------------------------------


def test_nested_playlists_skip_a_dead_mirror_and_reach_the_stream(server):
    clip = capture(server.url("/listen.pls"), limits())
    assert clip.url_used == server.url("/icy")
    assert clip.icy_title == "Daddy Lumba - Mpempem"


def test_pls_to_hls_master_picks_the_audio_variant_and_follows_the_live_window(server):
    hls = server.routes["/hls"]
    fetches_before = hls.playlist_fetches
    clip = capture(server.url("/station.pls"), limits())
    assert clip.url_used == server.url("/hls/live.m3u8")
    assert clip.codec == "mpegts" and not clip.partial and clip.seconds >= WANTED_SECONDS
    assert hls.playlist_fetches - fetches_before >= 2  # a 3-segment window had to be reloaded
    assert clip.burst_seconds is None  # HLS keeps the segments' own timing
    assert decoded_seconds(clip.audio) >= WANTED_SECONDS - 0.5


def test_hls_packed_audio_segments_lose_their_id3_tags(server):
    clip = capture(server.url("/packed/live.m3u8"), limits())
    assert clip.codec == "aac" and clip.audio[:2] == b"\xff\xf1"
    assert b"com.apple.streaming" not in clip.audio
    assert decoded_seconds(clip.audio) >= WANTED_SECONDS - 0.5


def test_finished_hls_playlist_shorter_than_the_minimum_ends_the_stream(server):
    with pytest.raises(StreamEnded):
        capture(server.url("/finished/live.m3u8"), limits(min_seconds=3.0))


# --- redirects -------------------------------------------------------------------------


def test_relative_and_absolute_redirects_are_followed(server):
    assert capture(server.url("/moved"), limits()).url_used == server.url("/mp3")


def test_redirect_loop_is_detected(server):
    with pytest.raises(RedirectLoop) as caught:
        capture(server.url("/loop-a"), limits())
    assert caught.value.reason == "redirect_loop"


def test_redirect_cap(server):
    with pytest.raises(RedirectLoop) as caught:
        capture(server.url("/moved"), limits(max_redirects=1))
    assert caught.value.reason == "too_many_redirects"


def test_playlist_pointing_at_itself_is_a_loop(server):
    with pytest.raises(RedirectLoop):
        capture(server.url("/self.pls"), limits())


# --- faults end in their typed error, within their limits ------------------------------


@pytest.mark.parametrize("path, error, reason", [
    ("/gone", StreamHttpError, "http_404"),
    ("/page", StreamNotAudio, "not_audio"),
    ("/garbage", StreamNotAudio, "not_audio"),
    ("/reset-early", StreamEnded, "connection_reset"),
    ("/icy-abuse", StreamTooLarge, "icy_metadata_abuse"),
    ("/header-flood", StreamTooLarge, "too_large"),
])
def test_faulty_servers_raise_typed_errors(server, path, error, reason):
    with pytest.raises(error) as caught:
        capture(server.url(path), limits())
    assert caught.value.reason == reason
    assert server.url(path) in str(caught.value)


def test_trickling_server_ends_at_the_total_timeout(server):
    started = time.monotonic()
    with pytest.raises(StreamTimeout) as caught:
        capture(server.url("/trickle"), limits(total_timeout=1.5))
    assert caught.value.reason == "timeout_total"
    assert time.monotonic() - started < 1.5 + 2.0  # bounded by the limit, not by the stream


def test_stalled_server_ends_at_the_read_timeout(server):
    started = time.monotonic()
    with pytest.raises(StreamTimeout) as caught:
        capture(server.url("/stall"), limits(read_timeout=0.5))
    assert caught.value.reason == "timeout_read"
    assert time.monotonic() - started < 0.5 + 2.0


def test_reset_after_enough_audio_returns_a_partial_capture(server, stream_audio):
    clip = capture(server.url("/reset-late"), limits(seconds=10.0))
    assert clip.partial and 2.0 <= clip.seconds < 10.0
    assert clip.audio == looped(stream_audio.mp3, len(clip.audio))


def test_total_timeout_after_enough_audio_returns_a_partial_capture(server):
    started = time.monotonic()
    clip = capture(server.url("/realtime"), limits(seconds=10.0, total_timeout=2.5,
                                                   min_seconds=1.5))
    assert time.monotonic() - started < 2.5 + 1.0
    assert clip.partial and 1.5 <= clip.seconds <= 3.0


def stop_after(seconds: float) -> threading.Event:
    """A stop request that comes ``seconds`` from now, as a SIGTERM would."""
    stop = threading.Event()
    threading.Timer(seconds, stop.set).start()
    return stop


def test_a_stop_request_ends_a_stalled_capture_with_nothing_kept(server):
    stop = stop_after(0.5)
    started = time.monotonic()
    with pytest.raises(CaptureStopped):  # not a StreamError: nothing is held against the stream
        capture(server.url("/stall"), limits(read_timeout=20.0, total_timeout=30.0), should_stop=stop.is_set)
    assert time.monotonic() - started < 0.5 + 2.0  # a hang detector: the limits are 20 and 30 s


def test_a_stop_request_keeps_the_audio_read_when_it_is_enough(server):
    stop = stop_after(2.5)
    started = time.monotonic()
    clip = capture(server.url("/realtime"), limits(seconds=10.0, min_seconds=1.5, total_timeout=20.0),
                   should_stop=stop.is_set)
    assert time.monotonic() - started < 2.5 + 2.0
    assert clip.partial and 1.5 <= clip.seconds <= 3.5
    assert 1.5 <= decoded_seconds(clip.audio) <= 3.5


def test_a_stop_request_ends_a_live_hls_capture_with_the_segments_it_has(server):
    stop = stop_after(2.0)
    started = time.monotonic()
    clip = capture(server.url("/hls/live.m3u8"), limits(seconds=30.0, total_timeout=45.0), should_stop=stop.is_set)
    assert time.monotonic() - started < 2.0 + 3.0
    assert clip.partial and 2.0 <= clip.seconds < 30.0


def test_no_capture_starts_once_a_stop_is_requested(server):
    asked = len(server.routes["/mp3"].authorizations)  # one entry per request served
    with pytest.raises(CaptureStopped):
        capture(server.url("/mp3"), limits(), should_stop=lambda: True)
    assert len(server.routes["/mp3"].authorizations) == asked  # the server was never asked


def test_oversized_playlist_is_refused(server):
    with pytest.raises(StreamTooLarge):
        capture(server.url("/huge.m3u"), limits())


def test_stream_closing_before_the_minimum_is_an_error(server):
    with pytest.raises(StreamEnded) as caught:
        capture(server.url("/short"), limits(min_seconds=3.0))
    assert caught.value.reason == "stream_ended"


@pytest.fixture(scope="module")
def tls_server(stream_audio, tmp_path_factory):
    """An HTTPS stream server with a self-signed certificate for 127.0.0.1; yields
    (server, certificate path)."""
    directory = tmp_path_factory.mktemp("tls")
    key, cert = directory / "key.pem", directory / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with StreamServer({"/live": IcyAudioRoute(stream_audio.mp3, title="Over TLS")},
                      tls=context) as running:
        yield running, cert


def test_https_stream_with_a_trusted_certificate(tls_server, monkeypatch):
    server, cert = tls_server
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trust the test CA the standard way
    clip = capture(server.url("/live"), limits())
    assert clip.url_used.startswith("https://") and clip.icy_title == "Over TLS"
    assert decoded_seconds(clip.audio) >= WANTED_SECONDS


def test_untrusted_certificate_is_a_connect_failure(tls_server):
    server, _ = tls_server
    with pytest.raises(StreamConnectFailed, match="TLS"):
        capture(server.url("/live"), limits())


def test_closed_port_is_a_connect_failure():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(StreamConnectFailed):
        capture(f"http://127.0.0.1:{port}/live", limits())


# --- safety and credentials ------------------------------------------------------------


def test_loopback_is_refused_unless_allowed(server):
    with pytest.raises(StreamRefused) as caught:
        capture(server.url("/mp3"), limits(allow_private=False))
    assert "127.0.0.1" in str(caught.value)


@pytest.mark.parametrize("url", ["ftp://radio.example/live", "file:///etc/passwd",
                                 "gopher://x/", "http:///nohost", "javascript:alert(1)"])
def test_non_http_urls_are_refused(url):
    with pytest.raises(StreamRefused):
        capture(url, limits(allow_private=False))


def test_names_resolving_to_loopback_are_refused():
    with pytest.raises(StreamRefused):
        capture("http://localhost:9/live", limits(allow_private=False))


@pytest.mark.parametrize("address, public", [
    ("8.8.8.8", True), ("2001:4860:4860::8888", True), ("127.0.0.1", False),
    ("10.1.2.3", False), ("172.16.0.1", False), ("192.168.1.1", False),
    ("169.254.169.254", False), ("100.64.0.1", False), ("224.0.0.1", False),
    ("0.0.0.0", False), ("240.0.0.1", False), ("::1", False), ("fe80::1", False),
    ("fc00::1", False), ("::ffff:127.0.0.1", False), ("::ffff:8.8.8.8", True),
])
def test_public_address_classification(address, public):
    assert is_public_address(address) is public


@pytest.mark.parametrize("address", [
    "2002:7f00:1::1", "2002:c0a8:101::1", "2002:a00:1::", "2002:a9fe:a9fe::1",  # 6to4 of 127.0.0.1, 192.168.1.1,
    # 10.0.0.1, 169.254.169.254
    "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "64:ff9b::c0a8:101",  # NAT64 of 127.0.0.1, 169.254.169.254, 192.168.1.1
    "::ffff:10.0.0.1", "::ffff:169.254.169.254",  # IPv4-mapped
    "::127.0.0.1", "::10.0.0.1",  # IPv4-compatible
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1 (stored inverted)
    "2001:0:4136:e378:8000:63bf:f5ff:fffe",  # Teredo, client 10.0.0.1
    "2001:0:a00:1:8000:63bf:f7f7:f7f7",  # Teredo, server 10.0.0.1, client 8.8.8.8
])
def test_transition_addresses_wrapping_a_refused_ipv4_address_are_refused(address):
    assert is_public_address(address) is False


@pytest.mark.parametrize("address, wrapped", [
    ("2002:7f00:1::1", ["127.0.0.1"]),
    ("64:ff9b::c0a8:101", ["192.168.1.1"]),
    ("::ffff:10.0.0.1", ["10.0.0.1"]),
    ("::127.0.0.1", ["127.0.0.1"]),
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", ["65.54.227.120", "127.0.0.1"]),
    ("2001:4860:4860::8888", []),
])
def test_the_ipv4_address_a_transition_address_wraps_is_read(address, wrapped):
    # Pythons differ on which of these IPv6 ranges they call global, so the IPv4 part is read
    # explicitly: it decides wherever the range itself is taken for public.
    assert [str(ip) for ip in embedded_ipv4(ipaddress.IPv6Address(address))] == wrapped


def test_credentials_are_sent_but_never_shown(server):
    clip = capture(server.url("/private", "monitor:s3cr3t-pw"), limits())
    assert clip.url_used == server.url("/private")
    with pytest.raises(StreamHttpError) as caught:
        capture(server.url("/private", "monitor:wrong-pw"), limits())
    assert caught.value.reason == "http_401"
    assert "wrong-pw" not in str(caught.value) and "monitor" not in str(caught.value)


def test_credentials_do_not_follow_a_redirect_to_another_host(server):
    echo = server.routes["/echo"]
    echo.authorizations.clear()
    capture(server.url("/to-other-host", "monitor:s3cr3t-pw"), limits())
    assert echo.authorizations == [None]


@pytest.mark.parametrize("url, redacted", [
    ("http://user:pw@radio.example:8000/live?x=1", "http://radio.example:8000/live?x=1"),
    ("https://token@radio.example/live", "https://radio.example/live"),
    ("http://radio.example/live", "http://radio.example/live"),
    ("http://u:p@[2001:db8::1]:80/a", "http://[2001:db8::1]:80/a"),
    ("http://u:p@host:notaport/a", "http://host:notaport/a"),
])
def test_redact_url(url, redacted):
    assert redact_url(url) == redacted


# --- the parts, directly ---------------------------------------------------------------


@settings(max_examples=60, deadline=None, database=None)
@given(cuts=st.lists(st.integers(min_value=1, max_value=300), max_size=40),
       titles=st.lists(st.text(min_size=1, max_size=40).filter(lambda t: "'" not in t),
                       min_size=1, max_size=4))
def test_icy_demuxer_returns_the_audio_whatever_the_read_sizes(cuts, titles):
    metaint, audio = 100, (bytes(range(256)) * 4)[:1000]
    body, blocks = bytearray(), iter(titles)
    for start in range(0, len(audio), metaint):
        body += audio[start:start + metaint]
        title = next(blocks, None)
        text = f"StreamTitle='{title}';".encode() if title else b""
        units = -(-len(text) // 16)
        body += bytes([units]) + text.ljust(units * 16, b"\x00")
    demuxer, out, pos = IcyDemuxer(metaint, "test"), bytearray(), 0
    for cut in cuts + [len(body)]:
        out += demuxer.feed(bytes(body[pos:pos + cut]))
        pos += cut
    assert bytes(out) == audio
    assert demuxer.title == titles[-1].strip()
    # Each title that differs from the one before, at the audio bytes sent before its block.
    changes = [(min(metaint * (n + 1), len(audio)), title.strip()) for n, title in enumerate(titles)]
    assert demuxer.titles == [change for n, change in enumerate(changes) if n == 0 or change[1] != changes[n - 1][1]]


def test_icy_title_falls_back_to_latin_1():
    text = "StreamTitle='Café';".encode("latin-1")
    demuxer = IcyDemuxer(4, "test")
    demuxer.feed(b"abcd" + bytes([2]) + text.ljust(32, b"\x00"))
    assert demuxer.title == "Café"


def test_sniff_finds_frames_mid_stream_and_rejects_noise(stream_audio):
    found = sniff(stream_audio.mp3[5001:5001 + 16384])
    assert found is not None and found.codec == "mp3"
    assert 120_000 / 8 < found.bytes_per_second < 136_000 / 8
    assert sniff(bytes(range(256)) * 64) is None
    import random
    assert sniff(random.Random(7).randbytes(65536)) is None


def test_capture_is_a_plain_value():
    clip = Capture(url_used="http://x/", started_at=datetime.now(UTC), audio=b"a" * 9,
                   codec="mp3", content_type=None, icy_title=None, icy_name=None,
                   bitrate_kbps=None, bytes_read=9)
    assert "aaaa" not in repr(clip)  # audio bytes are kept out of logs
