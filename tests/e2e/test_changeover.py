"""Captures across a change of song (the last seconds of one recording, then the first of the
next, back to back), heard by bin/scan-station-streams from the snippet inbox and by
bin/detect-audio, on SQLite and PostgreSQL.

Such a capture holds two catalog songs of 6 s each: as a whole it matches neither (each song is
the other's rival), so it was filed as unknown music and, heard twice, became an unknown
recording whose plays were held in suspense.  Recognised by halves, it is a detection of one of
the two songs, placed from the capture's start: song A 14 s in (its last 6 of 20 s), or song B
6 s before its start (offset -6.0).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from tests.e2e.test_unknown_recordings import later, members, unknown_rows
from tests.scan_helpers import (  # noqa: F401
    CATALOG_SEEDS,
    SONG_SECONDS,
    UNKNOWN_SEEDS,
    ScanAudio,
    add_station,
    catalog_prints,
    drop,
    rows,
    scan,
    scan_audio,
    seed_catalog,
)
from zamio.db.tables import captures, detections, play_logs, stations, tracks
from zamio.demo import synth

A, B = CATALOG_SEEDS[0], CATALOG_SEEDS[1]
EACH_SECONDS = 6  # of each song in a 12 s capture
#: Where each catalog song can place a capture of A's end then B's start: (track_ref, offset in s).
PLACES = {f"song-{A}": SONG_SECONDS - EACH_SECONDS, f"song-{B}": -float(EACH_SECONDS)}
OFFSET_TOLERANCE = 0.1  # seconds: three frames of 32 ms


def change(scan_audio: ScanAudio, first: int, second: int, path: Path) -> bytes:
    """A 12 s WAV: the last ``EACH_SECONDS`` of song ``first``, then the first ``EACH_SECONDS`` of ``second``."""
    rate = synth.SYNTH_RATE
    ending, starting = scan_audio.songs[first].samples, scan_audio.songs[second].samples
    samples = np.concatenate([ending[len(ending) - EACH_SECONDS * rate :], starting[: EACH_SECONDS * rate]])
    synth.write_wav(path, np.ascontiguousarray(samples, np.float32))
    return path.read_bytes()


@pytest.fixture(scope="module")
def changes(scan_audio: ScanAudio, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """``known``: catalog song A ending, catalog song B starting; ``unknown``: the same of two songs
    the catalog lacks."""
    folder = tmp_path_factory.mktemp("changes")
    return {
        "known": change(scan_audio, A, B, folder / "known.wav"),
        "unknown": change(scan_audio, UNKNOWN_SEEDS[0], UNKNOWN_SEEDS[1], folder / "unknown.wav"),
    }


def placed(track_ref: str, offset: float) -> bool:
    """Whether a detection places the capture where the catalog song it names has it."""
    return track_ref in PLACES and abs(offset - PLACES[track_ref]) <= OFFSET_TOLERANCE


def test_a_capture_across_a_change_of_catalog_songs_is_a_detection_not_an_unknown_recording(
    project, scan_audio, catalog_prints, changes
):  # noqa: F811
    seed_catalog(project, catalog_prints)
    add_station(project, "coast", "http://127.0.0.1:9/unused")
    add_station(project, "bay", "http://127.0.0.1:9/unused")
    inbox = project.var_dir / "inbox"
    day = datetime(2026, 5, 18, tzinfo=UTC)
    # The same change heard twice on one station, three hours apart, and a change between two songs the
    # catalog lacks heard twice on another: that one is unknown music, and stays so.
    for n, (station, kind, hour) in enumerate(
        (("coast", "known", 10), ("coast", "known", 13), ("bay", "unknown", 11), ("bay", "unknown", 14))
    ):
        drop(
            inbox,
            f"{n}.wav",
            changes[kind],
            {"station_ref": station, "chunk_id": f"chunk-{n}", "started_at": (day + timedelta(hours=hour)).isoformat()},
        )
    result = scan(project, "--only", "snippets")
    assert result.returncode == 0, result.stderr
    assert "4 captures, 2 matched" in result.stderr, result.stderr

    heard = rows(
        project,
        select(
            captures.c.started_at,
            captures.c.outcome,
            tracks.c.track_ref,
            detections.c.offset_seconds,
            detections.c.source,
        )
        .join(stations, stations.c.id == captures.c.station_id)
        .outerjoin(detections, detections.c.capture_id == captures.c.id)
        .outerjoin(tracks, tracks.c.id == detections.c.track_id)
        .where(stations.c.station_ref == "coast")
        .order_by(captures.c.started_at),
    )
    assert [(h.outcome, h.source) for h in heard] == [("match", "local")] * 2
    assert all(placed(h.track_ref, h.offset_seconds) for h in heard), [tuple(h) for h in heard]
    # Only the unknown songs' captures went to the unknown index: one recording of the two.
    assert members(project) == {"bay": ("joined", "U-000001")}
    assert [r.unknown_ref for r in unknown_rows(project)] == ["U-000001"]
    assert project.scalar("SELECT count(*) FROM unknown_captures") == 2

    assert project.script("convert-matches", "--as-of", later()).returncode == 0
    plays = rows(
        project,
        select(play_logs.c.started_at, play_logs.c.recording_key, play_logs.c.source, tracks.c.track_ref)
        .join(stations, stations.c.id == play_logs.c.station_id)
        .outerjoin(tracks, tracks.c.id == play_logs.c.track_id)
        .where(stations.c.station_ref == "coast")
        .order_by(play_logs.c.started_at),
    )
    # One play per airing, each started where its detection places the song: capture time minus offset.
    assert [p.source for p in plays] == ["local", "local"]
    assert not any(p.recording_key.startswith("U-") for p in plays)
    for play, capture in zip(plays, heard, strict=True):
        assert play.track_ref == capture.track_ref
        expected = capture.started_at - timedelta(seconds=PLACES[capture.track_ref])
        assert abs((play.started_at - expected).total_seconds()) <= OFFSET_TOLERANCE, (play, capture)


def test_detect_audio_names_a_catalog_song_in_a_file_across_a_change(project, catalog_prints, changes, tmp_path: Path):  # noqa: F811
    seed_catalog(project, catalog_prints)
    known, unknown = tmp_path / "known.wav", tmp_path / "unknown.wav"
    known.write_bytes(changes["known"])
    unknown.write_bytes(changes["unknown"])
    result = project.script("detect-audio", "--json", str(known), str(unknown))
    assert result.returncode == 0, result.stderr
    found, not_found = (json.loads(line) for line in result.stdout.splitlines())
    assert found["match"] and found["source"] == "local", found
    assert placed(found["track_ref"], found["offset_seconds"]), found
    assert (not_found["match"], not_found["content"]) == (False, "music"), not_found
