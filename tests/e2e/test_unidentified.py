"""Unidentified music: what bin/scan-station-streams records of a capture the catalog does not match,
against real stream servers on 127.0.0.1, on SQLite and PostgreSQL.

The speech station reads a text with ``espeak-ng`` (Debian package); without it the test is
skipped, unless ``ZAMIO_REQUIRE_ESPEAK=1`` (CI sets it): there it fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.scan_helpers import (  # noqa: F401
    CATALOG_SEEDS,
    UNKNOWN_SEEDS,
    add_station,
    captures_by_station,
    catalog_prints,
    drop,
    scan,
    scan_audio,
    seed_catalog,
)
from tests.streamserver import AudioRoute, IcyAudioRoute, StreamServer, encode
from zamio.demo import synth

REQUIRE_ESPEAK = os.environ.get("ZAMIO_REQUIRE_ESPEAK") == "1"
NEWS = ("In the news this hour: the assembly has approved the new market at Kaneshie, and work starts in March. "
        "Traders say the old market floods every rainy season. The weather: showers this afternoon in Accra.")


@pytest.fixture(scope="module")
def talk_and_hiss(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """A news read and radio hiss, as MP3 128 kbit/s."""
    if shutil.which("espeak-ng") is None:
        if REQUIRE_ESPEAK:
            pytest.fail("espeak-ng is required here (ZAMIO_REQUIRE_ESPEAK=1) but missing")
        pytest.skip("espeak-ng is not installed")
    folder = tmp_path_factory.mktemp("talk")
    subprocess.run(["espeak-ng", "-v", "en+f2", "-s", "160", "-w", str(folder / "news.wav"), NEWS], check=True,
                   capture_output=True)
    hiss = np.random.default_rng(3).standard_normal(20 * synth.SYNTH_RATE).astype(np.float32) * np.float32(0.2)
    synth.write_wav(folder / "hiss.wav", hiss)
    mp3 = ("-c:a", "libmp3lame", "-b:a", "128k")
    return {"news": encode(folder / "news.wav", folder / "news.mp3", *mp3),
            "hiss": encode(folder / "hiss.wav", folder / "hiss.mp3", *mp3)}


def test_a_capture_that_matches_nothing_is_recorded_as_music_speech_or_noise(project, scan_audio, catalog_prints,
                                                                           talk_and_hiss):
    seed_catalog(project, catalog_prints)
    routes = {"/known.mp3": AudioRoute(scan_audio.mp3(CATALOG_SEEDS[0])),
              "/new.mp3": IcyAudioRoute(scan_audio.mp3(UNKNOWN_SEEDS[0]), title="Kofi Kinaata - Confession"),
              "/news.mp3": AudioRoute(talk_and_hiss["news"]),
              "/hiss.mp3": AudioRoute(talk_and_hiss["hiss"])}
    stations = {"known": "/known.mp3", "new": "/new.mp3", "news": "/news.mp3", "hiss": "/hiss.mp3"}
    with StreamServer(routes) as server:
        for ref, path in stations.items():
            add_station(project, ref, server.url(path))
        result = scan(project, "--concurrency", "4", SCAN_CAPTURE_SECONDS="12")
    assert result.returncode == 0, result.stderr
    grouped = {ref: rows[0] for ref, rows in captures_by_station(project).items()}
    assert (grouped["known"].outcome, grouped["known"].content, grouped["known"].music_probability) == (
        "match", None, None)  # a match is not judged
    expected = {"new": "music", "news": "speech", "hiss": "noise"}
    for ref, kind in expected.items():
        capture = grouped[ref]
        assert (capture.outcome, capture.content) == ("no_match", kind), (ref, capture.music_probability)
        assert 0.0 <= capture.music_probability <= 1.0
    assert grouped["new"].music_probability >= 0.75 > grouped["news"].music_probability  # MUSIC_THRESHOLD
    assert grouped["new"].icy_title == "Kofi Kinaata - Confession"
    assert "4 captures, 1 matched" in result.stderr and "1 unmatched captures of music" in result.stderr


def test_a_snippet_too_short_to_judge_is_recorded_without_a_verdict(project, scan_audio, tmp_path: Path):
    """A two-second upload is recognised as any snippet, but two seconds are under the
    classifier's minimum of three: its no-match carries no verdict."""
    add_station(project, "radio-gold", "http://127.0.0.1:9/unused")
    folder = tmp_path / "short"
    folder.mkdir()
    synth.write_wav(folder / "short.wav", synth.song(UNKNOWN_SEEDS[1], 2.0))
    short = encode(folder / "short.wav", folder / "short.mp3", "-c:a", "libmp3lame", "-b:a", "128k")
    drop(project.var_dir / "inbox", "short.mp3", short,
         {"station_ref": "radio-gold", "started_at": "2026-03-02T08:00:00Z", "chunk_id": "gold-1"})
    result = scan(project, "--only", "snippets")
    assert result.returncode == 0, result.stderr
    capture = captures_by_station(project)["radio-gold"][0]
    assert (capture.outcome, capture.content, capture.music_probability) == ("no_match", None, None)
