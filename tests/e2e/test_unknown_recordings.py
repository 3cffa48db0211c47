"""Unknown recordings: music the catalog lacks, heard twice by bin/scan-station-streams against real
stream servers on 127.0.0.1, becomes one U- recording whose airings bin/convert-matches turns into
plays and bin/calculate-royalty-distributions holds in suspense, on SQLite and PostgreSQL.

Every station is class B with one rate at every hour of the day (set below, from 2026-01-01):
GHS 0.012 per second, multiplier 1.0.  Money counts ten-thousandths of a cedi.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from tests.e2e.test_unidentified import talk_and_hiss  # noqa: F401  (the news read and the hiss)
from tests.scan_helpers import (  # noqa: F401
    CATALOG_SEEDS,
    UNKNOWN_SEEDS,
    catalog_prints,
    scan,
    scan_audio,
    seed_catalog,
)
from tests.streamserver import AudioRoute, IcyAudioRoute, StreamServer, encode
from tests.support import Project
from tests.world import World
from zamio.db.engine import utcnow
from zamio.demo import synth

CAPTURE = "12"  # SCAN_CAPTURE_SECONDS
PERIODS = ("off_peak", "prime", "regular")
TITLE = "Kofi Kinaata - Confession"


def stations(project: Project, server: StreamServer, paths: dict[str, str]) -> None:
    """Class B stations streaming ``paths``, one rate all day, through bin/import-catalog."""
    world = World(project)
    for ref, path in paths.items():
        world.station(ref, "class_b", stream_url=server.url(path))
    for period in PERIODS:
        world.rate_card("class_b", period, "0.012", "1.0", "2026-01-01")
    world.load()


def later() -> str:
    """A time past every airing's settling: convert-matches then writes the plays of this run's captures."""
    return (utcnow() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


def unknown_rows(project: Project) -> list:
    return project.query("SELECT u.unknown_ref, u.icy_title, u.span_from, u.span_to, u.first_heard_at, "
                         "u.last_heard_at, u.excerpt_path FROM unknown_recordings u ORDER BY u.id")


def members(project: Project) -> dict[str, tuple]:
    """station_ref -> (status, unknown_ref) of its filed captures."""
    rows = project.query("SELECT s.station_ref, c.status, u.unknown_ref FROM unknown_captures c "
                         "JOIN stations s ON s.id = c.station_id "
                         "LEFT JOIN unknown_recordings u ON u.id = c.unknown_id ORDER BY s.station_ref")
    return {r.station_ref: (r.status, r.unknown_ref) for r in rows}


def test_an_unknown_song_on_two_stations_becomes_one_recording_whose_plays_are_held(
        project, scan_audio, catalog_prints, talk_and_hiss):  # noqa: F811
    seed_catalog(project, catalog_prints)
    song, once = UNKNOWN_SEEDS[0], UNKNOWN_SEEDS[1]
    routes = {"/one.mp3": IcyAudioRoute(scan_audio.mp3(song), title=TITLE),
              "/two.mp3": AudioRoute(scan_audio.mp3(song)),
              "/once.mp3": AudioRoute(scan_audio.mp3(once)),
              "/known.mp3": AudioRoute(scan_audio.mp3(CATALOG_SEEDS[0])),
              "/news.mp3": AudioRoute(talk_and_hiss["news"]),
              "/hiss.mp3": AudioRoute(talk_and_hiss["hiss"])}
    with StreamServer(routes) as server:
        stations(project, server, {ref: f"/{ref}.mp3" for ref in ("one", "two", "once", "known", "news", "hiss")})
        result = scan(project, "--concurrency", "6", SCAN_CAPTURE_SECONDS=CAPTURE)
    assert result.returncode == 0, result.stderr
    assert "6 captures, 1 matched" in result.stderr and "2 captures filed into unknown recordings" in result.stderr
    # Speech and noise are never filed; the song heard once stays a candidate; the catalog's song matched.
    assert members(project) == {"one": ("joined", "U-000001"), "two": ("joined", "U-000001"),
                                "once": ("single", None)}
    [recording] = unknown_rows(project)
    heard = project.query("SELECT started_at FROM captures c JOIN stations s ON s.id = c.station_id "
                          "WHERE s.station_ref IN ('one', 'two') ORDER BY started_at")
    assert (recording.unknown_ref, recording.icy_title, recording.excerpt_path) == ("U-000001", TITLE, None)
    assert (recording.first_heard_at, recording.last_heard_at) == (heard[0].started_at, heard[1].started_at)
    # The catalog never sees the unknown index: its fingerprints hold the catalog's three songs alone.
    assert project.scalar("SELECT count(DISTINCT track_id) FROM fingerprints") == len(CATALOG_SEEDS)

    assert project.script("convert-matches", "--as-of", later()).returncode == 0
    plays = project.query("SELECT s.station_ref, p.recording_key, p.source, p.track_id, p.duration_seconds, "
                          "p.title FROM play_logs p JOIN stations s ON s.id = p.station_id "
                          "WHERE p.recording_key LIKE 'U-%' ORDER BY s.station_ref")
    assert [(p.station_ref, p.recording_key, p.source, p.track_id, p.title) for p in plays] == [
        ("one", "U-000001", "unknown", None, "U-000001"), ("two", "U-000001", "unknown", None, "U-000001")]
    # One capture each and no length known: each play lasts from its capture's start to its end.
    captured = project.query("SELECT s.station_ref, c.seconds FROM captures c JOIN stations s ON s.id = c.station_id "
                             "WHERE s.station_ref IN ('one', 'two') ORDER BY s.station_ref")
    assert [p.duration_seconds for p in plays] == [c.seconds for c in captured]
    assert all(12.0 <= c.seconds < 14.0 for c in captured)  # 12 s asked, plus the burst a server sends at once

    assert project.script("calculate-royalty-distributions").returncode == 0
    held = project.query("SELECT l.recipient_ref, l.amount, p.duration_seconds FROM royalty_ledger l "
                         "JOIN play_logs p ON p.id = l.play_id WHERE l.kind = 'suspense' ORDER BY l.play_id")
    assert [h.recipient_ref for h in held] == ["unidentified:U-000001"] * 2
    for line in held:
        # seconds × GHS 0.012 × 1.0 in ten-thousandths of a cedi is seconds × 120: 12.983 s → 1557.96 → 1558
        # (whole units, half up); the seconds are kept to the millisecond.
        milliseconds = round(line.duration_seconds * 1000)
        assert line.amount == (milliseconds * 120 + 500) // 1000, (milliseconds, line.amount)
    totals = project.query("SELECT count(*) AS n, sum(amount) AS total FROM royalty_ledger")
    # Re-running the scan (no link due: nothing captured), the converter and the pricing adds nothing.
    with StreamServer(routes):
        again = scan(project, SCAN_CAPTURE_SECONDS=CAPTURE)
    assert again.returncode == 0, again.stderr
    assert project.script("convert-matches", "--as-of", later()).returncode == 0
    assert project.script("calculate-royalty-distributions").returncode == 0
    assert project.query("SELECT count(*) AS n, sum(amount) AS total FROM royalty_ledger") == totals
    assert len(unknown_rows(project)) == 1
    assert project.scalar("SELECT count(*) FROM play_logs WHERE recording_key LIKE 'U-%'") == 2
    assert project.scalar("SELECT count(*) FROM detections WHERE source = 'unknown'") == 2


@pytest.fixture(scope="module")
def overlapping(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, bytes]:
    """Two excerpts of one 30 s song as MP3: seconds 0–16 and 5–21 (their 12 s captures share 7 s)."""
    folder = tmp_path_factory.mktemp("overlap")
    samples = synth.song(UNKNOWN_SEEDS[2], 30.0)
    rate = synth.SYNTH_RATE
    out = []
    for name, start, end in (("early", 0, 16), ("late", 5, 21)):
        synth.write_wav(folder / f"{name}.wav", np.ascontiguousarray(samples[start * rate:end * rate]))
        out.append(encode(folder / f"{name}.wav", folder / f"{name}.mp3", "-c:a", "libmp3lame", "-b:a", "128k"))
    return out[0], out[1]


def test_overlapping_excerpts_of_one_song_join_one_unknown_recording(project, overlapping, tmp_path: Path):
    early, late = overlapping
    routes = {"/early.mp3": AudioRoute(early, loop=False), "/late.mp3": AudioRoute(late, loop=False)}
    with StreamServer(routes) as server:
        stations(project, server, {"early": "/early.mp3", "late": "/late.mp3"})
        dry = scan(project, "--concurrency", "2", "--dry-run", SCAN_CAPTURE_SECONDS=CAPTURE)
        assert dry.returncode == 0, dry.stderr  # records nothing, so nothing is filed (and it ends)
        assert "filed into unknown recordings" not in dry.stderr and unknown_rows(project) == []
        result = scan(project, "--concurrency", "2", SCAN_CAPTURE_SECONDS=CAPTURE)
    assert result.returncode == 0, result.stderr
    assert members(project) == {"early": ("joined", "U-000001"), "late": ("joined", "U-000001")}
    [recording] = unknown_rows(project)
    placed = {r.station_ref: (r.offset_seconds, r.seconds) for r in project.query(
        "SELECT s.station_ref, u.offset_seconds, c.seconds FROM unknown_captures u "
        "JOIN captures c ON c.id = u.capture_id JOIN stations s ON s.id = u.station_id")}
    # The late excerpt starts 5 s into the song: placed 5 s after the early one (within a frame pair, 64 ms).
    (early_at, early_seconds), (late_at, late_seconds) = placed["early"], placed["late"]
    assert abs((late_at - early_at) - 5.0) < 0.07, placed
    assert early_at + early_seconds < late_at + late_seconds  # the late capture hears the song further on
    # The span covers both: from the early capture's start to the late one's end, 5 s + its length; each
    # capture covers a part the other lacks, so both keep their prints in the unknown index.
    assert (recording.span_from, recording.span_to) == (early_at, round(late_at + late_seconds, 3))
    assert project.scalar("SELECT count(DISTINCT capture_id) FROM unknown_prints") == 2
    # The detections place neither capture before the song's start: the earlier is at the song's start.
    offsets = project.query("SELECT offset_seconds FROM detections WHERE source = 'unknown' ORDER BY offset_seconds")
    assert [round(o.offset_seconds, 3) for o in offsets] == [max(early_at, 0.0), max(late_at, 0.0)]



def test_two_hosts_scanning_at_once_file_one_song_into_one_recording(postgres_url: str, tmp_path: Path,
                                                                     scan_audio) -> None:
    """Four stations play one song the catalog lacks; two hosts on one PostgreSQL database scan at once,
    each taking the links the other has not claimed, and file under one lock: one recording of four captures."""
    hosts = {name: Project(postgres_url, tmp_path / name) for name in ("alpha", "beta")}
    refs = ("r1", "r2", "r3", "r4")
    routes = {f"/{ref}.mp3": AudioRoute(scan_audio.mp3(UNKNOWN_SEEDS[0])) for ref in refs}
    with StreamServer(routes) as server:
        stations(hosts["alpha"], server, {ref: f"/{ref}.mp3" for ref in refs})
        runs = [host.popen("scan-station-streams", "--concurrency", "2", env=host.env(
            ZAMIO_HOST_NAME=name, SCAN_ALLOW_PRIVATE_ADDRESSES="true", SCAN_CAPTURE_SECONDS=CAPTURE))
            for name, host in hosts.items()]
        outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    project = hosts["alpha"]
    assert members(project) == dict.fromkeys(refs, ("joined", "U-000001"))
    assert [r.unknown_ref for r in unknown_rows(project)] == ["U-000001"]
    assert project.scalar("SELECT count(*) FROM detections WHERE source = 'unknown'") == 4
    for host in hosts.values():
        host.engine.dispose()
