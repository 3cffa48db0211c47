"""bin/detect-audio on encoded clips against a catalog stored in the database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.audio_fixtures import ENCODINGS, excerpt_file, song_files, store_catalog  # noqa: F401
from tests.support import Project
from zamio import synth
from zamio.catalog import upsert_station
from zamio.db import transaction


@pytest.fixture(scope="module")
def clips(song_files, tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("clips")
    unknown = folder / "unknown.wav"
    synth.write_wav(unknown, synth.song(77, 8.0))
    broken = folder / "broken.aac"
    broken.write_bytes(b"\xff\xf1\x50\x80" + b"\x00\x17" * 300)
    return {
        "mp3": excerpt_file(song_files["song-22"], folder / "clip.mp3", 5.0, 8.0, ENCODINGS["mp3"][1]),
        "aac": excerpt_file(song_files["song-23"], folder / "clip.aac", 9.0, 8.0, ENCODINGS["aac"][1]),
        "unknown": unknown,
        "broken": broken,
    }


def test_json_lines_name_the_track_or_the_error(project: Project, song_files, clips) -> None:
    with transaction(project.engine) as conn:
        store_catalog(conn, song_files)
    files = [str(clips[k]) for k in ("mp3", "aac", "unknown", "broken")] + [str(clips["mp3"]) + ".missing"]
    result = project.script("detect-audio", "--json", *files)
    assert result.returncode == 1, result.stderr  # two files failed; the others were still processed
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["file"] for line in lines] == files
    mp3, aac, unknown, broken, missing = lines
    assert (mp3["match"], mp3["track_ref"], mp3["title"], mp3["artist"], mp3["source"]) == (
        True, "song-22", "Title song-22", "Test Artist", "local")
    assert abs(mp3["offset_seconds"] - 5.0) < 0.2 and abs(mp3["speed"] - 1.0) < 0.01 and mp3["confidence"] > 0.99
    assert aac["match"] and aac["track_ref"] == "song-23" and abs(aac["offset_seconds"] - 9.0) < 0.2
    assert unknown["match"] is False and unknown["error"] is None and unknown["track_ref"] is None
    assert broken["match"] is False and broken["error"] in ("corrupt_audio", "not_audio")
    assert missing["error"] == "audio_missing"
    text = project.script("detect-audio", str(clips["mp3"]), str(clips["unknown"]))
    assert text.returncode == 0
    assert text.stdout.splitlines() == [
        f"{clips['mp3']}: song-22 'Title song-22' by Test Artist at 5.0 s, speed {mp3['speed']:.3f}, "
        f"confidence {mp3['confidence']:.3f}",
        f"{clips['unknown']}: no match",
    ]


def test_record_stores_captures_and_detections_once(project: Project, song_files, clips) -> None:
    with transaction(project.engine) as conn:
        ids = store_catalog(conn, song_files)
        upsert_station(conn, {"station_ref": "peace-fm", "name": "Peace FM", "station_class": "class_a",
                              "stream_url": "http://stream.example/peace"})
    args = ["--record", "--station", "peace-fm", "--at", "2026-03-01T10:00:00+01:00",
            str(clips["mp3"]), str(clips["unknown"]), str(clips["broken"])]
    for _ in range(2):  # recording again changes nothing
        assert project.script("detect-audio", *args).returncode == 1
    captures = project.query("SELECT capture_key, source, outcome, error_reason, started_at, bytes FROM captures "
                             "ORDER BY id")
    assert [(c.source, c.outcome) for c in captures] == [("file", "match"), ("file", "no_match"), ("file", "error")]
    assert captures[0].capture_key.startswith("file:") and captures[0].capture_key.endswith(
        ":peace-fm:2026-03-01T09:00:00+00:00")
    assert captures[2].error_reason in ("corrupt_audio", "not_audio")
    detection = project.query("SELECT track_id, source, offset_seconds, confidence, title FROM detections")
    assert len(detection) == 1
    assert (detection[0].track_id, detection[0].source, detection[0].title) == (ids["song-22"], "local", "Title song-22")
    assert abs(detection[0].offset_seconds - 5.0) < 0.2
    naive = project.script("detect-audio", "--record", "--station", "peace-fm", "--at", "2026-03-01T10:00:00",
                           str(clips["mp3"]))
    assert naive.returncode == 2 and "time zone" in naive.stderr
    unknown_station = project.script("detect-audio", "--record", "--station", "nope", "--at", "2026-03-01T10:00Z",
                                     str(clips["mp3"]))
    assert unknown_station.returncode == 65 and "nope" in unknown_station.stderr
