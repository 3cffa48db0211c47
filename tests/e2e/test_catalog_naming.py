"""Unknown recordings named from the catalog once their song is registered (UNKNOWN_AUTO_NAMING), on SQLite
and PostgreSQL.

Everything goes through the real scripts: snippets heard by ``scan-station-streams``, ``convert-matches``,
``calculate-royalty-distributions``, ``process-royalty-cycle``, ``import-catalog`` and
``auto-fingerprint-new-tracks``.  Joy FM and Peace FM are ``class_a`` in Accra (UTC+0): GHS 0.015 a second at
12:00 (regular, × 1.0); amounts are units of GHS 0.0001.  The song the catalog lacks, "Confession", is 40 s:
its first 20 s (A) and its last 20 s (B) are synthetic songs of exactly 20 s, sent as WAV snippets.  A is aired
twice and B twice, on four days: two U- recordings of one song (captures that share no audio), each holding
2 × 0.015 × 20 s = 0.60 → 6,000 units.  A third song (C) aired twice is U-000003, 6,000 held.  Once Confession
is registered as T-NEW (Kofi Kinaata 60 %, Kojo Beats 40 %) with its 40 s audio and fingerprinted, the four
plays of A and B pay 4 × 3,000 = 12,000: Kofi 7,200, Kojo 4,800; C's 6,000 stays held.
"""

from __future__ import annotations

import json
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from tests.e2e.test_disputes import close, owed, reconciles
from tests.scan_helpers import UNKNOWN_SEEDS, scan_audio  # noqa: F401
from tests.support import Project
from tests.world import World, run
from zamio.demo import synth
from zamio.recognition import audio

U1, U2, U3 = (("suspense", f"unidentified:U-00000{n}") for n in (1, 2, 3))
KOFI, KOJO = ("contributor", "kofi-kinaata"), ("contributor", "kojo-beats")
OFF = {"UNKNOWN_AUTO_NAMING": "false"}


@pytest.fixture(scope="module")
def song(tmp_path_factory: pytest.TempPathFactory, scan_audio) -> dict[str, Path]:  # noqa: F811
    """A and B (the halves of Confession as aired), C (another song), Confession whole (A then B) and A as a
    station plays it 3 % fast (varispeed: pitch and tempo, 19.417 s)."""
    folder = tmp_path_factory.mktemp("split-song")
    halves = [np.asarray(scan_audio.songs[seed].samples) for seed in UNKNOWN_SEEDS]
    paths = {name: folder / f"{name}.wav" for name in ("a", "b", "c", "whole", "fast")}
    for name, samples in zip("abc", halves, strict=True):
        synth.write_wav(paths[name], samples.astype(np.float32))
    synth.write_wav(paths["whole"], np.concatenate(halves[:2]).astype(np.float32))
    fast = audio.resample(halves[0], round(synth.SYNTH_RATE * 1.03), synth.SYNTH_RATE)
    synth.write_wav(paths["fast"], fast.astype(np.float32))
    return paths


def aired(project: Project, song: dict[str, Path]) -> World:
    """A on 2 and 3 March, B on 4 and 5 March, C on 6 and 7 March, each on Joy FM then Peace FM at 12:00:
    U-000001, U-000002 and U-000003, 6,000 held for each; March priced and closed."""
    world = World(project)
    world.station("JOY", name="Joy FM")
    world.station("PEACE", name="Peace FM")
    for day, name in enumerate("aabbcc", start=2):
        world.snippet("JOY" if day % 2 == 0 else "PEACE", f"2026-03-0{day} 12:00", song[name])
    world.scan_snippets()
    world.convert("2026-03-08 00:00")
    world.price()
    assert owed(project) == {U1: 6_000, U2: 6_000, U3: 6_000}
    assert close(world, "2026-03") == {U1: 6_000, U2: 6_000, U3: 6_000}
    return world


def register(world: World, song: dict[str, Path], **env: str) -> str:
    """Confession is registered as T-NEW with its whole audio and shares, then fingerprinted
    (bin/auto-fingerprint-new-tracks with ``env``); return the job's output."""
    return register_confession(world, "T-NEW", song["whole"], **env)


def register_confession(world: World, track_ref: str, audio_path: Path, **env: str) -> str:
    """Confession is registered as ``track_ref`` with this audio, Kofi Kinaata 60 % and Kojo Beats 40 %, then
    fingerprinted (bin/auto-fingerprint-new-tracks with ``env``); return the job's output."""
    track = world.track(track_ref, "Confession", "Kofi Kinaata", audio_path=audio_path)
    world.contributor(track, "Kofi Kinaata", "60")
    world.contributor(track, "Kojo Beats", "40", role="producer")
    world.load()
    done = run(world.project, "auto-fingerprint-new-tracks", env=env or None)
    return done.stdout + done.stderr


def resolved(project: Project) -> list[tuple[str, str | None, str | None]]:
    """Each recording: reference, the track it was named as, by whom."""
    rows = project.query("SELECT u.unknown_ref, t.track_ref, u.resolved_by FROM unknown_recordings u "
                         "LEFT JOIN tracks t ON t.id = u.track_id ORDER BY u.unknown_ref")
    return [(r.unknown_ref, r.track_ref, r.resolved_by) for r in rows]


def test_a_song_split_over_two_recordings_is_paid_to_its_parties_once_registered_with_no_naming_by_hand(
    project: Project, song: dict[str, Path]
) -> None:
    """Fingerprinting T-NEW names U-000001 and U-000002 as it (actor catalog-naming, the captures and their
    evidence in the audit entry); U-000003 stays open.  April's pricing reverses March's suspense of the two
    (adjustments of the locked cycle) and pays Kofi 7,200 and Kojo 4,800; U-000003's 6,000 stays held."""
    world = aired(project, song)
    output = register(world, song)
    assert "U-000001 named as track T-NEW" in output and "U-000002 named as track T-NEW" in output, output
    assert resolved(project) == [("U-000001", "T-NEW", "catalog-naming"), ("U-000002", "T-NEW", "catalog-naming"),
                                 ("U-000003", None, None)]
    entries = project.query("SELECT entity_id, actor, reason, after_json FROM audit_log "
                            "WHERE action = 'unknown.identify' ORDER BY entity_id")
    assert [(e.entity_id, e.actor) for e in entries] == [("U-000001", "catalog-naming"),
                                                         ("U-000002", "catalog-naming")]
    for entry in entries:
        assert entry.reason.startswith("registered: ") and "recognised as track T-NEW" in entry.reason
        evidence = json.loads(entry.after_json)["evidence"]
        assert evidence["captures"] and {c["track_ref"] for c in evidence["captures"]} == {"T-NEW"}
        assert all(c["evidence"] > 0 and c["aligned"] > 0 for c in evidence["captures"])
    assert project.scalar("SELECT count(*) FROM audit_log WHERE action = 'play.reassign'") == 4

    world.convert("2026-04-30 00:00")
    world.price()
    reconciles(project)
    assert owed(project) == {KOFI: 7_200, KOJO: 4_800, U3: 6_000}
    assert close(world, "2026-04") == {KOFI: 7_200, KOJO: 4_800, U1: -6_000, U2: -6_000}

    # Run again: nothing is due, nothing is named twice, the money stays.
    again = run(project, "auto-fingerprint-new-tracks")
    assert "named as track" not in again.stdout + again.stderr
    assert project.scalar("SELECT count(*) FROM audit_log WHERE action = 'unknown.identify'") == 2
    world.price()
    assert owed(project) == {KOFI: 7_200, KOJO: 4_800, U3: 6_000}


def test_switched_off_nothing_is_named_and_the_next_run_with_it_on_names_the_recordings(
    project: Project, song: dict[str, Path]
) -> None:
    """UNKNOWN_AUTO_NAMING=false: T-NEW is fingerprinted, every recording stays open.  Switched on again, the next
    run (nothing left to fingerprint) finds the two recordings due and names them."""
    world = aired(project, song)
    output = register(world, song, **OFF)
    assert "named as track" not in output
    assert resolved(project) == [("U-000001", None, None), ("U-000002", None, None), ("U-000003", None, None)]
    assert project.scalar("SELECT count(*) FROM unknown_recordings WHERE catalog_checked_at IS NOT NULL") == 0
    run(project, "auto-fingerprint-new-tracks")
    assert [r[:2] for r in resolved(project)] == [("U-000001", "T-NEW"), ("U-000002", "T-NEW"), ("U-000003", None)]
    world.price()
    assert owed(project) == {KOFI: 7_200, KOJO: 4_800, U3: 6_000}


def test_two_runs_at_once_name_each_recording_once(project: Project, song: dict[str, Path]) -> None:
    """T-NEW fingerprinted with the naming off; then two runs on two hosts at once (each host its own lock): each
    recording is named by one of them, its plays moved once, and the money is paid once."""
    world = aired(project, song)
    register(world, song, **OFF)
    runs = [project.popen("auto-fingerprint-new-tracks", env=project.env(ZAMIO_HOST_NAME=host))
            for host in ("host-a", "host-b")]
    for process in runs:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, out + err
    assert [r[:2] for r in resolved(project)] == [("U-000001", "T-NEW"), ("U-000002", "T-NEW"), ("U-000003", None)]
    assert project.scalar("SELECT count(*) FROM audit_log WHERE action = 'unknown.identify'") == 2
    assert project.scalar("SELECT count(*) FROM audit_log WHERE action = 'play.reassign'") == 4
    world.price()
    reconciles(project)
    assert owed(project) == {KOFI: 7_200, KOJO: 4_800, U3: 6_000}


def test_the_kept_captures_of_no_match_are_heard_again_once_even_when_a_run_is_killed_before_it(
    project: Project, song: dict[str, Path]
) -> None:
    """Joy FM played A 3 % fast on 2 May (no match: the unknown index compares nominal speeds; the snippet is
    kept).  The naming hears it again: a local detection of T-NEW at the track's start, a play that runs, as
    no later capture of Joy FM ends it, to the end of the 40 s track played 3 % fast (38.83 s).  A run killed after
    naming and before hearing again leaves the recordings named and unchecked (``catalog_checked_at`` unset, as
    set here): the next run hears them again, finds nothing new and names nothing twice."""
    world = aired(project, song)
    world.snippet("JOY", "2026-05-02 12:00", song["fast"])
    world.scan_snippets()
    assert project.scalar("SELECT count(*) FROM detections") == 6  # the six airings heard as U- recordings
    register(world, song)
    found = project.query("SELECT d.source, t.track_ref FROM detections d JOIN tracks t ON t.id = d.track_id "
                          "WHERE d.detected_at > '2026-05-01'")
    assert [(d.source, d.track_ref) for d in found] == [("local", "T-NEW")]

    project.execute("UPDATE unknown_recordings SET catalog_checked_at = NULL WHERE resolved_at IS NOT NULL")
    again = run(project, "auto-fingerprint-new-tracks")
    assert "named as track" not in again.stdout + again.stderr
    assert project.scalar("SELECT count(*) FROM audit_log WHERE action = 'unknown.identify'") == 2
    assert project.scalar("SELECT count(*) FROM detections WHERE detected_at > '2026-05-01'") == 1
    assert project.scalar("SELECT count(*) FROM unknown_recordings WHERE resolved_at IS NOT NULL "
                          "AND catalog_checked_at IS NULL") == 0

    world.convert("2026-05-03 00:00")
    world.price()
    reconciles(project)
    seconds = project.scalar("SELECT duration_seconds FROM play_logs WHERE source = 'local' AND status = 'final'")
    assert 38.7 < seconds < 38.95  # 40 s played 3 % fast: 38.83 s
    milliseconds = Decimal(str(seconds)).quantize(Decimal("0.001"), rounding=ROUND_HALF_EVEN)
    may = round(Fraction(milliseconds) * 150)  # units: 0.015 GHS × the seconds to the millisecond, rounded once
    kofi, kojo = may * 60 // 100, may * 40 // 100
    if kofi + kojo < may:  # the unit left goes to the larger remainder
        kofi, kojo = (kofi + 1, kojo) if may * 60 % 100 >= may * 40 % 100 else (kofi, kojo + 1)
    assert owed(project) == {KOFI: 7_200 + kofi, KOJO: 4_800 + kojo, U3: 6_000}
