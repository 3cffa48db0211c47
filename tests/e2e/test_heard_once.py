"""Airings heard once, found and paid when their song is registered (zamio.playlogs.heard_once), on SQLite and
PostgreSQL.

Everything goes through the real scripts: snippets heard by ``scan-station-streams``, ``convert-matches``,
``calculate-royalty-distributions``, ``import-catalog`` and ``auto-fingerprint-new-tracks``.  Joy FM and Peace FM
are ``class_a`` in Accra (UTC+0): GHS 0.015 a second at 12:00 (regular, × 1.0); amounts are units of GHS 0.0001.
Two songs the catalog lacks, A and C, synthetic songs of exactly 20 s sent as WAV snippets, are each aired once:
no other capture shares their audio, so neither becomes an unknown recording, no play is made and nothing is
held.  Once A is registered as T-ONE (Kofi Kinaata 60 %, Kojo Beats 40 %) with its audio and fingerprinted, its
airing is a play of T-ONE: 0.015 × 20 s = 0.30 → 3,000 units, Kofi 1,800 and Kojo 1,200; C's stays unpaid.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.e2e.test_catalog_naming import register_confession
from tests.e2e.test_disputes import owed, reconciles
from tests.scan_helpers import UNKNOWN_SEEDS, scan_audio  # noqa: F401
from tests.support import Project
from tests.world import World, run
from zamio.demo import synth

KOFI, KOJO = ("contributor", "kofi-kinaata"), ("contributor", "kojo-beats")


@pytest.fixture(scope="module")
def song(tmp_path_factory: pytest.TempPathFactory, scan_audio) -> dict[str, Path]:  # noqa: F811
    folder = tmp_path_factory.mktemp("heard-once")
    paths = {"a": folder / "a.wav", "c": folder / "c.wav"}
    for name, seed in (("a", UNKNOWN_SEEDS[0]), ("c", UNKNOWN_SEEDS[2])):
        synth.write_wav(paths[name], np.asarray(scan_audio.songs[seed].samples).astype(np.float32))
    return paths


def aired_once(project: Project, song: dict[str, Path]) -> World:
    """A on Joy FM on 2 March at 12:00, C on Peace FM on 3 March at 12:00: two captures heard once, no play."""
    world = World(project)
    world.station("JOY", name="Joy FM")
    world.station("PEACE", name="Peace FM")
    world.snippet("JOY", "2026-03-02 12:00", song["a"])
    world.snippet("PEACE", "2026-03-03 12:00", song["c"])
    world.scan_snippets()
    world.convert("2026-03-08 00:00")
    world.price()
    assert project.scalar("SELECT count(*) FROM play_logs") == 0 and owed(project) == {}
    assert [r.status for r in project.query("SELECT status FROM unknown_captures ORDER BY capture_id")] == [
        "single", "single"]
    return world


def register(world: World, song: dict[str, Path], **env: str) -> str:
    """A is registered as T-ONE with its audio and shares, then fingerprinted; return the job's output."""
    return register_confession(world, "T-ONE", song["a"], **env)


def test_an_airing_heard_once_is_paid_to_the_track_s_parties_once_its_song_is_registered(
    project: Project, song: dict[str, Path]
) -> None:
    world = aired_once(project, song)
    output = register(world, song)
    assert "airing heard once found as track T-ONE" in output, output
    detections = project.query("SELECT d.source, t.track_ref FROM detections d JOIN tracks t ON t.id = d.track_id")
    assert [(d.source, d.track_ref) for d in detections] == [("local", "T-ONE")]
    # A's capture left the unknown index; C's is still there, heard once.
    kept = project.query("SELECT s.station_ref, count(p.hash) AS prints FROM unknown_captures c "
                         "JOIN stations s ON s.id = c.station_id LEFT JOIN unknown_prints p ON p.capture_id = "
                         "c.capture_id GROUP BY s.station_ref ORDER BY s.station_ref")
    assert [(row.station_ref, row.prints > 0) for row in kept] == [("JOY", False), ("PEACE", True)]
    world.convert("2026-03-31 00:00")
    world.price()
    reconciles(project)
    plays = project.query("SELECT s.station_ref, t.track_ref, p.started_at FROM play_logs p "
                          "JOIN stations s ON s.id = p.station_id JOIN tracks t ON t.id = p.track_id")
    assert [(p.station_ref, p.track_ref) for p in plays] == [("JOY", "T-ONE")]
    assert owed(project) == {KOFI: 1_800, KOJO: 1_200}

    # Run again: the track was looked up, nothing is found twice and the money stays.
    again = run(project, "auto-fingerprint-new-tracks")
    assert "heard once found" not in again.stdout + again.stderr
    assert project.scalar("SELECT count(*) FROM detections") == 1
    checks = project.query("SELECT candidates, found FROM unknown_track_checks")
    assert [(c.candidates, c.found) for c in checks] == [(1, 1)]
    world.convert("2026-03-31 00:00")
    world.price()
    assert owed(project) == {KOFI: 1_800, KOJO: 1_200}


def test_switched_off_nothing_is_looked_up_and_the_next_run_with_it_on_finds_the_airing(
    project: Project, song: dict[str, Path]
) -> None:
    world = aired_once(project, song)
    output = register(world, song, UNKNOWN_AUTO_NAMING="false")
    assert "heard once" not in output
    assert project.scalar("SELECT count(*) FROM detections") == 0
    assert project.scalar("SELECT count(*) FROM unknown_track_checks") == 0
    found = run(project, "auto-fingerprint-new-tracks")
    assert "airing heard once found as track T-ONE" in found.stdout + found.stderr
    world.convert("2026-03-31 00:00")
    world.price()
    assert owed(project) == {KOFI: 1_800, KOJO: 1_200}


def test_two_runs_at_once_find_the_airing_once_and_it_is_paid_once(project: Project, song: dict[str, Path]) -> None:
    """T-ONE fingerprinted with the look-up off; then two runs on two hosts at once (each host its own lock): the
    airing gets one detection, the track one look-up, the parties are paid once."""
    world = aired_once(project, song)
    register(world, song, UNKNOWN_AUTO_NAMING="false")
    runs = [project.popen("auto-fingerprint-new-tracks", env=project.env(ZAMIO_HOST_NAME=host))
            for host in ("host-a", "host-b")]
    outputs = []
    for process in runs:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, out + err
        outputs.append(out + err)
    assert sum("airing heard once found as track T-ONE" in output for output in outputs) >= 1
    assert project.scalar("SELECT count(*) FROM detections") == 1
    assert project.scalar("SELECT count(*) FROM unknown_track_checks") == 1
    world.convert("2026-03-31 00:00")
    world.price()
    reconciles(project)
    assert owed(project) == {KOFI: 1_800, KOJO: 1_200}
