"""bin/scan-station-streams against real stream servers on 127.0.0.1, on SQLite and PostgreSQL."""

from __future__ import annotations

from tests.scan_helpers import (  # noqa: F401
    CATALOG_SEEDS,
    add_station,
    add_station_with_unchecked_link,
    captures_by_station,
    catalog_prints,
    link_row,
    scan,
    scan_audio,
    seed_catalog,
)
from tests.streamserver import (
    AudioRoute,
    GarbageRoute,
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
)

A, B, C = CATALOG_SEEDS

GOOD = {  # station -> (route path, catalog song it plays)
    "icy-mp3": ("/icy.mp3", A), "aac": ("/live.aac", A), "ogg": ("/live.ogg", A), "wav": ("/live.wav", C),
    "shoutcast": ("/sc", B), "pls": ("/listen.pls", C), "m3u": ("/listen.m3u", B), "hls": ("/hls/live.m3u8", A),
}
FAULTS = {  # station -> (route path, reason recorded on its link)
    "gone": ("/gone", "http_404"), "webpage": ("/page", "not_audio"), "trickle": ("/trickle", "timeout_total"),
    "reset": ("/reset", "connection_reset"), "garbage": ("/garbage", None), "silent": ("/silent", "silent_audio"),
    "loop": ("/loop", "redirect_loop"), "icy-abuse": ("/abuse", None),
}


def station_routes(audio) -> dict[str, object]:
    header, body = audio.wav_stream(C)
    return {
        "/icy.mp3": IcyAudioRoute(audio.mp3(A), title="Test Artist - Song A"),
        "/live.aac": AudioRoute(audio.aac, "audio/aac"),
        "/live.ogg": AudioRoute(audio.ogg, "application/ogg"),
        "/live.wav": AudioRoute(body, "audio/wav", header=header),
        "/sc": ShoutcastV1Route(audio.mp3(B), title="Song B"),
        "/c.mp3": AudioRoute(audio.mp3(C)),
        "/listen.pls": PlaylistRoute("[playlist]\nNumberOfEntries=1\nFile1={base}/c.mp3\nLength1=-1\nVersion=2\n",
                                     "audio/x-scpls"),
        "/b.mp3": AudioRoute(audio.mp3(B)),
        "/listen.m3u": PlaylistRoute("#EXTM3U\n{base}/b.mp3\n"),
        "/hls": HlsRoute(audio.hls_segments, max(audio.hls_durations), window=8, pace=4.0,
                         durations=audio.hls_durations),
        "/gone": StatusRoute(404),
        "/page": HtmlRoute(),
        "/trickle": TrickleRoute(audio.mp3(A), interval_seconds=0.5),
        "/reset": AudioRoute(audio.mp3(A), reset_after=6000),
        "/garbage": GarbageRoute(),
        "/silent": AudioRoute(audio.silence_mp3),
        "/loop": RedirectRoute("{base}/loop"),
        "/abuse": IcyAbuseRoute(audio.mp3(A)),
    }


def test_a_tick_recognises_every_good_station_and_records_every_fault(project, scan_audio, catalog_prints):
    track_ids = seed_catalog(project, catalog_prints)
    with StreamServer(station_routes(scan_audio)) as server:
        for ref, (path, _) in {**GOOD, **FAULTS}.items():
            add_station(project, ref, server.url(path))
        result = scan(project, "--concurrency", "16")
    assert result.returncode == 1, result.stderr
    grouped = captures_by_station(project)
    assert sorted(grouped) == sorted({**GOOD, **FAULTS})  # every station scanned once
    assert all(len(rows) == 1 for rows in grouped.values())
    detections = {row.station_ref: row for row in project.query(
        "SELECT s.station_ref, d.* FROM detections d JOIN stations s ON s.id = d.station_id")}
    for ref, (_, seed) in GOOD.items():
        capture = grouped[ref][0]
        assert capture.outcome == "match", (ref, capture.error_reason, capture.error_message)
        assert detections[ref].track_id == track_ids[seed], ref
        assert detections[ref].source == "local" and -1 < detections[ref].offset_seconds < 20
        assert capture.seconds >= 5 and capture.bytes > 0 and len(capture.audio_sha256) == 64
    assert grouped["icy-mp3"][0].icy_title == "Test Artist - Song A"
    assert grouped["pls"][0].url_used.endswith("/c.mp3")  # the URL the audio came from
    links = {ref: link_row(project, ref) for ref in grouped}
    for ref, (_, reason) in FAULTS.items():
        capture = grouped[ref][0]
        assert capture.outcome in ("error", "silence") and ref not in detections, ref
        assert links[ref].consecutive_failures == 1 and links[ref].last_error_reason == capture.error_reason
        assert links[ref].next_attempt_at is not None and links[ref].lease_owner is None
        if reason is not None:
            assert capture.error_reason == reason, (ref, capture.error_reason, capture.error_message)
    assert grouped["silent"][0].outcome == "silence"
    for ref in GOOD:
        assert links[ref].consecutive_failures == 0 and links[ref].last_success_at is not None
        assert links[ref].next_due_at > links[ref].last_success_at
    assert f"{len(FAULTS)} failed" in result.stderr


def test_a_live_station_capture_is_dated_when_its_audio_was_on_air(project, scan_audio, catalog_prints):
    seed_catalog(project, catalog_prints)
    # Icecast's 64 KiB connect burst (4.1 s of 128 kbit/s audio), then real time.
    route = AudioRoute(scan_audio.mp3(A), byte_rate=16_000, pace=1.0, burst_bytes=64 * 1024)
    with StreamServer({"/live": route}) as server:
        add_station(project, "live", server.url("/live"))
        result = scan(project)
    assert result.returncode == 0, result.stderr
    capture = captures_by_station(project)["live"][0]
    assert capture.outcome == "match"
    assert abs((capture.started_at - route.on_air_from[0]).total_seconds()) < 0.5
    assert abs(capture.burst_seconds - 64 * 1024 / 16_000) < 0.5
    assert link_row(project, "live").last_success_at == capture.started_at  # the schedule follows the air time


class RequestRecorder:
    """A route serving ``inner`` that notes each request's path (query included) and Host header as received."""

    def __init__(self, inner: AudioRoute) -> None:
        self.inner = inner
        self.requests: list[tuple[str, str | None]] = []

    def serve(self, handler) -> None:
        self.requests.append((handler.path, handler.headers.get("Host")))
        self.inner.serve(handler)


def test_a_stream_url_outside_ascii_is_read_percent_encoded(project, scan_audio, catalog_prints):
    track_ids = seed_catalog(project, catalog_prints)
    route = RequestRecorder(AudioRoute(scan_audio.mp3(B)))
    # ɛ is U+025B (UTF-8 C9 9B), Ɔ U+0186 (C6 86), ɔ U+0254 (C9 94); "%20" is already encoded and stays.
    with StreamServer({"/%C9%9Bky%C9%9B/stream": route}) as server:
        add_station(project, "ekye", server.url("/ɛkyɛ/stream?name=Ɔdɔ%20FM"))
        result = scan(project)
    assert result.returncode == 0, result.stderr
    assert route.requests == [("/%C9%9Bky%C9%9B/stream?name=%C6%86d%C9%94%20FM", f"127.0.0.1:{server.port}")]
    capture = captures_by_station(project)["ekye"][0]
    assert capture.outcome == "match", (capture.error_reason, capture.error_message)
    assert project.scalar("SELECT track_id FROM detections") == track_ids[B]


def test_a_host_with_no_idna_form_is_refused_on_its_link_without_its_password(project):
    host = "á" * 64 + ".example"  # a DNS label holds at most 63 characters
    add_station_with_unchecked_link(project, "long", f"http://monitor:S3cretPass@{host}/live")
    result = scan(project)
    assert result.returncode == 1, result.stderr
    capture = captures_by_station(project)["long"][0]
    assert (capture.outcome, capture.error_reason) == ("error", "refused")
    assert capture.error_message.startswith(f"stream URL http://{host}/live has a host name that cannot be "
                                            "written for DNS")
    assert link_row(project, "long").last_error_reason == "refused"
    assert "S3cretPass" not in result.stderr + capture.error_message
