"""bin/identify-unknown: an unknown recording named as a catalog track (its held money paid to the track's
parties, the airings it missed found in the kept captures) or merged into another, on SQLite and PostgreSQL.

Everything goes through the real scripts: snippets heard by ``scan-station-streams``, ``convert-matches``,
``calculate-royalty-distributions``, ``process-royalty-cycle``, ``import-catalog`` and
``auto-fingerprint-new-tracks``.  Joy FM and Peace FM are ``class_a`` in Accra (UTC+0): GHS 0.015 a second
at 12:00 (regular, × 1.0); amounts are units of GHS 0.0001.  The song the catalog lacks is a synthetic song
of exactly 20 s sent as WAV snippets, so an unknown play of it lasts 20.000 s: 0.015 × 20 = 0.30 → 3,000
units, held whole in suspense ``unidentified:U-000001``.  Once named as T-NEW (Kofi Kinaata 60 %, Kojo
Beats 40 %), each such play pays Kofi 1,800 and Kojo 1,200.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from tests.e2e.test_disputes import close, owed, reconciles
from tests.scan_helpers import UNKNOWN_SEEDS, scan_audio  # noqa: F401
from tests.support import Project
from tests.world import World
from zamio.demo import synth
from zamio.recognition import audio

HELD = ("suspense", "unidentified:U-000001")
KOFI, KOJO = ("contributor", "kofi-kinaata"), ("contributor", "kojo-beats")
REASON = "Kofi Kinaata, Confession: registered 2026-04-01"


@pytest.fixture(autouse=True)
def named_by_hand(project: Project) -> None:
    """These recordings are named by hand: fingerprinting leaves them open (UNKNOWN_AUTO_NAMING=false; naming
    from the catalog is tests/e2e/test_catalog_naming.py's)."""
    (project.var_dir / "test.env").write_text("UNKNOWN_AUTO_NAMING=false\n")


@pytest.fixture(scope="module")
def song(tmp_path_factory: pytest.TempPathFactory, scan_audio) -> dict[str, Path]:  # noqa: F811
    """The song the catalog lacks: as aired (a 20 s WAV), as a station plays it 3 % fast (varispeed: pitch
    and tempo, 19.417 s), a second song for the merge, and a 40 s song made of the two, one after the other."""
    folder = tmp_path_factory.mktemp("unknown-song")
    samples = scan_audio.songs[UNKNOWN_SEEDS[0]].samples
    fast = audio.resample(np.asarray(samples), round(synth.SYNTH_RATE * 1.03), synth.SYNTH_RATE)
    paths = {"song": folder / "song.wav", "fast": folder / "fast.wav", "other": folder / "other.wav",
             "whole": folder / "whole.wav", "late": folder / "late.wav"}
    synth.write_wav(paths["song"], samples)
    synth.write_wav(paths["fast"], fast.astype(np.float32))
    synth.write_wav(paths["other"], scan_audio.songs[UNKNOWN_SEEDS[1]].samples)
    whole = np.concatenate([np.asarray(samples), np.asarray(scan_audio.songs[UNKNOWN_SEEDS[1]].samples)])
    synth.write_wav(paths["whole"], whole.astype(np.float32))  # a 40 s song: "song", then "other"
    synth.write_wav(paths["late"], whole[23 * synth.SYNTH_RATE :].astype(np.float32))  # its last 17 s
    return paths


def heard_twice(project: Project, song: dict[str, Path]) -> World:
    """Joy FM and Peace FM air the song on 2 and 3 March at 12:00 (a U- recording, two plays held) and Joy FM
    plays it 3 % fast on 2 May (no match: the unknown index compares nominal speeds); March is priced and
    closed."""
    world = World(project)
    world.station("JOY", name="Joy FM")
    world.station("PEACE", name="Peace FM")
    world.snippet("JOY", "2026-03-02 12:00", song["song"])
    world.snippet("PEACE", "2026-03-03 12:00", song["song"])
    world.snippet("JOY", "2026-05-02 12:00", song["fast"])
    world.scan_snippets()
    world.convert("2026-05-03 00:00")
    world.price()
    filed = project.query(
        "SELECT u.status, r.unknown_ref FROM unknown_captures u "
        "LEFT JOIN unknown_recordings r ON r.id = u.unknown_id ORDER BY u.started_at"
    )
    assert [(f.status, f.unknown_ref) for f in filed] == [
        ("joined", "U-000001"),
        ("joined", "U-000001"),
        ("single", None),
    ]
    assert owed(project) == {HELD: 6_000}
    assert close(world, "2026-03") == {HELD: 6_000}
    return world


def register(world: World, song: dict[str, Path]) -> None:
    """The song is registered: T-NEW with its audio and shares, fingerprinted."""
    track = world.track("T-NEW", "Confession", "Kofi Kinaata", audio_path=song["song"])
    world.contributor(track, "Kofi Kinaata", "60")
    world.contributor(track, "Kojo Beats", "40", role="producer")
    world.fingerprint()


def identify(project: Project, *args: str, code: int = 0) -> str:
    result = project.script("identify-unknown", *args)
    assert result.returncode == code, (
        f"identify-unknown {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    )
    return result.stdout + result.stderr


def plays(project: Project) -> list[tuple[str, str, str, str]]:
    """The current plays: station, recording key, source, start (oldest first)."""
    found = project.query(
        "SELECT s.station_ref, p.recording_key, p.source, p.started_at FROM play_logs p "
        "JOIN stations s ON s.id = p.station_id WHERE p.status IN ('final', 'duplicate') "
        "ORDER BY p.started_at"
    )
    return [(p.station_ref, p.recording_key, p.source, str(p.started_at)[5:16].replace("T", " ")) for p in found]


def test_a_named_recording_s_held_money_goes_to_the_track_s_parties_and_its_missed_airing_is_found(
    project: Project, song: dict[str, Path]
) -> None:
    """March (closed) held 6,000 for U-000001.  Named as T-NEW, its two plays move to the track; April pays
    them as adjustments (Kofi 3,600, Kojo 2,400, suspense −6,000).  The 2 May airing heard 3 % fast, which the
    unknown index missed, is found again in its kept snippet: 0.015 × its played seconds, split 60/40."""
    world = heard_twice(project, song)
    register(world, song)
    track_id = project.scalar("SELECT id FROM tracks WHERE track_ref = 'T-NEW'")

    dry = identify(project, "U-000001", "--track", "T-NEW", "--reason", REASON, "--by", "ama", "--dry-run")
    assert "U-000001 named as track T-NEW" in dry and "2 plays move" in dry and "dry run: nothing was changed" in dry
    assert re.search(r"suspense unidentified:U-000001\s+GHS\s+-0\.6000", dry), dry
    assert re.search(r"contributor kofi-kinaata\s+GHS\s+0\.3600", dry), dry
    assert "recognised as T-NEW: 1" in dry
    assert project.scalar("SELECT count(*) FROM audit_log WHERE action LIKE 'unknown.%'") == 0
    assert project.scalar("SELECT count(*) FROM detections WHERE track_id = :t", t=track_id) == 0

    done = identify(project, "U-000001", "--track", "T-NEW", "--reason", REASON, "--by", "ama")
    assert "2 plays move" in done and "recognised as T-NEW: 1" in done
    # The recording's time is placed in the track: both are the song from its first second.
    named = project.query(
        "SELECT track_id, track_offset_seconds, resolved_by, merged_into_id "
        "FROM unknown_recordings WHERE unknown_ref = 'U-000001'"
    )[0]
    assert (named.track_id, named.resolved_by, named.merged_into_id) == (track_id, "ama", None)
    assert abs(named.track_offset_seconds) < 0.1
    entries = project.query("SELECT actor, action, entity_id, reason FROM audit_log WHERE actor = 'ama' ORDER BY id")
    assert [(e.actor, e.action, e.reason) for e in entries] == [
        ("ama", "unknown.identify", REASON),
        ("ama", "play.reassign", REASON),
        ("ama", "play.reassign", REASON),
    ]

    world.convert("2026-05-03 00:00")
    assert plays(project) == [
        ("JOY", f"track:{track_id}", "unknown", "03-02 12:00"),
        ("PEACE", f"track:{track_id}", "unknown", "03-03 12:00"),
        ("JOY", f"track:{track_id}", "local", "05-02 12:00"),
    ]
    world.price()
    reconciles(project)
    seconds = project.scalar("SELECT duration_seconds FROM play_logs WHERE source = 'local'")
    assert 19.3 < seconds < 19.5  # 20 s played 3 % fast: 19.417 s
    may = round(seconds * 150)  # units: 0.015 GHS × seconds, rounded once
    kofi, kojo = may * 60 // 100, may * 40 // 100
    if kofi + kojo < may:  # the unit left goes to the larger remainder
        kofi, kojo = (kofi + 1, kojo) if may * 60 % 100 >= may * 40 % 100 else (kofi, kojo + 1)
    assert owed(project) == {KOFI: 3_600 + kofi, KOJO: 2_400 + kojo}
    assert close(world, "2026-04") == {KOFI: 3_600, KOJO: 2_400, HELD: -6_000}
    lines = list(
        csv.DictReader(
            io.StringIO((world.cycle_folder("2026-04") / "statements" / "contributor-kofi-kinaata.GHS.csv").read_text())
        )
    )
    moved = [(ln["amount"], ln["reason"]) for ln in lines if ln["adjustment"]]
    assert moved == [("0.18", f"correction: {REASON}")] * 2

    # Run again: named already as T-NEW, nothing more moves and the missed airing is not found twice.
    again = identify(project, "U-000001", "--track", "T-NEW", "--reason", REASON, "--by", "ama")
    assert "named as track T-NEW already" in again and "recognised as T-NEW: 0" in again
    assert project.scalar("SELECT count(*) FROM audit_log WHERE action LIKE 'unknown.%'") == 1
    world.convert("2026-05-03 00:00")
    world.price()
    assert owed(project) == {KOFI: 3_600 + kofi, KOJO: 2_400 + kojo}


def test_the_song_heard_again_after_naming_is_the_track_s_never_a_new_unknown_recording(
    project: Project, song: dict[str, Path]
) -> None:
    """After naming, the song aired again is recognised by the catalog (a local detection of T-NEW); nothing
    new is filed into the unknown index's recordings, and no U-000002 appears."""
    world = heard_twice(project, song)
    register(world, song)
    identify(project, "U-000001", "--track", "T-NEW", "--reason", REASON)
    world.snippet("PEACE", "2026-05-10 12:00", song["song"])
    world.scan_snippets()
    world.convert("2026-05-11 00:00")
    track_id = project.scalar("SELECT id FROM tracks WHERE track_ref = 'T-NEW'")
    assert plays(project)[-1][:3] == ("PEACE", f"track:{track_id}", "local")
    assert [r.unknown_ref for r in project.query("SELECT unknown_ref FROM unknown_recordings")] == ["U-000001"]


def test_a_capture_filed_into_the_named_recording_after_the_naming_is_a_detection_of_the_track(
    project: Project, song: dict[str, Path]
) -> None:
    """A file of the song recorded by hand for Peace FM (detect-audio --record) before the song was registered
    waits in the unknown index, not yet filed.  The naming hears it again (a local detection of T-NEW); the next
    scan files it into U-000001, and its detection there names T-NEW too, placed in the track's time: one
    airing of the track, never a U-000002."""
    world = heard_twice(project, song)
    world.hear("PEACE", "2026-05-10 12:00", song["song"])
    assert project.scalar("SELECT status FROM unknown_captures WHERE started_at > '2026-05-09'") == "pending"
    register(world, song)
    assert "recognised as T-NEW: 2" in identify(project, "U-000001", "--track", "T-NEW", "--reason", REASON)
    world.scan_snippets()  # the inbox is empty: the run files what waits in the unknown index
    heard = project.query(
        "SELECT u.status, r.unknown_ref, d.source, t.track_ref, d.offset_seconds FROM unknown_captures u "
        "JOIN unknown_recordings r ON r.id = u.unknown_id JOIN detections d ON d.capture_id = u.capture_id "
        "JOIN tracks t ON t.id = d.track_id WHERE u.started_at > '2026-05-09' ORDER BY d.source"
    )
    assert [(h.status, h.unknown_ref, h.source, h.track_ref) for h in heard] == [
        ("joined", "U-000001", "local", "T-NEW"),
        ("joined", "U-000001", "unknown", "T-NEW"),
    ]
    assert all(abs(h.offset_seconds) < 0.1 for h in heard)  # both place the capture at the song's start
    assert project.scalar("SELECT count(*) FROM unknown_recordings") == 1
    world.convert("2026-05-11 00:00")
    track_id = project.scalar("SELECT id FROM tracks WHERE track_ref = 'T-NEW'")
    assert [p[:3] for p in plays(project) if p[3].startswith("05-10")] == [("PEACE", f"track:{track_id}", "local")]


def test_a_merged_recording_s_plays_captures_and_prints_move_to_the_survivor(
    project: Project, song: dict[str, Path]
) -> None:
    """Two songs each heard twice are U-000001 and U-000002; a person merges U-000002 into U-000001 (say, two
    mixes): its two plays move to U-000001, still held (12,000 in all), its captures and prints with them;
    named then, the four plays pay T-NEW's parties."""
    world = World(project)
    world.station("JOY", name="Joy FM")
    world.station("PEACE", name="Peace FM")
    for day, name in (("02", "song"), ("03", "song"), ("04", "other"), ("05", "other")):
        world.snippet("JOY", f"2026-03-{day} 12:00", song[name])
    world.scan_snippets()
    world.convert("2026-03-06 00:00")
    world.price()
    assert owed(project) == {HELD: 6_000, ("suspense", "unidentified:U-000002"): 6_000}
    done = identify(project, "U-000002", "--merge-into", "U-000001", "--reason", "two mixes of one song")
    assert "U-000002 merged into U-000001" in done and "2 plays move" in done and "2 captures" in done
    members = project.query(
        "SELECT r.unknown_ref, count(*) AS n FROM unknown_captures u "
        "JOIN unknown_recordings r ON r.id = u.unknown_id GROUP BY r.unknown_ref"
    )
    assert [(m.unknown_ref, m.n) for m in members] == [("U-000001", 4)]
    merged = project.query("SELECT merged_into_id, resolved_at FROM unknown_recordings WHERE unknown_ref = 'U-000002'")
    survivor = project.scalar("SELECT id FROM unknown_recordings WHERE unknown_ref = 'U-000001'")
    assert merged[0].merged_into_id == survivor and merged[0].resolved_at is not None
    world.price()
    reconciles(project)
    assert owed(project) == {HELD: 12_000}
    # U-000002 is resolved: naming or merging it again is refused, and nothing changes.
    refused = identify(project, "U-000002", "--merge-into", "U-000001", "--reason", "again", code=65)
    assert "U-000002 is resolved already: merged into U-000001" in refused
    register(world, song)
    identify(project, "U-000001", "--track", "T-NEW", "--reason", REASON)
    world.price()
    assert owed(project) == {KOFI: 7_200, KOJO: 4_800}


def test_two_recordings_of_one_song_heard_on_consecutive_captures_of_one_airing_are_paid_as_one_airing(
    project: Project, song: dict[str, Path]
) -> None:
    """A 40 s song the catalog lacks airs at 12:00:00 on Joy FM (2 March) and Peace FM (3 March); each station's
    device records it in two snippets, the second at 12:00:20.  Joy FM's hold its seconds 0–20 and 20–40, Peace
    FM's 0–20 and 23–40 (a device that started late).  No snippet holds audio of both halves: the first half is
    U-000001, the second U-000002 (Peace FM's heard 3 s into it), each heard twice.  Held (GHS 0.015 a second):
    U-000001's plays 12:00:00–12:00:20 on both, 3,000 each; U-000002's Joy FM 12:00:20–12:00:40 (3,000) and
    Peace FM from about 12:00:17 (its time 0 three seconds, to the prints' time step, before the snippet) for
    U-000002's 20 s: about 3,000.

    Named as T-LONG (Kofi 60 %, Kojo 40 %), the two plays of each airing report one airing of T-LONG (one
    station, starts at most a minute apart, times touching on Joy FM and overlapping by 3 s on Peace FM).  Each
    airing is paid once, as one play from its first start to its last end: Joy FM 40 s = 6,000 units, Peace FM
    about 37 s = about 5,550 units, split 60/40.  Every held unit leaves suspense: what the two airings are worth
    to the parties, and the about 450 held twice for Peace FM's 12:00:17–12:00:20 reversed with the plays they
    were held for, on the ledger lines that reverse them."""
    world = World(project)
    world.station("JOY", name="Joy FM")
    world.station("PEACE", name="Peace FM")
    for station, day, second_half in (("JOY", "02", "other"), ("PEACE", "03", "late")):
        world.snippet(station, f"2026-03-{day} 12:00:00", song["song"])
        world.snippet(station, f"2026-03-{day} 12:00:20", song[second_half])
    world.scan_snippets()
    world.convert("2026-03-06 00:00")
    world.price()
    # Peace FM's late snippet is placed in U-000002 by its prints, to their time step: about 3 s in.
    late = project.query(
        "SELECT p.started_at, p.duration_seconds FROM play_logs p JOIN stations s ON s.id = p.station_id "
        "WHERE s.station_ref = 'PEACE' AND p.recording_key = 'U-000002'"
    )[0]
    late_start = late.started_at if not isinstance(late.started_at, str) else datetime.fromisoformat(late.started_at)
    lead = (datetime(2026, 3, 3, 12, 0, 20) - late_start.replace(tzinfo=None)).total_seconds()
    assert 2.9 < lead < 3.1 and abs(float(late.duration_seconds) - 20.0) < 0.01
    late_held = units(float(late.duration_seconds))
    peace = units(20.0 - lead + float(late.duration_seconds))  # one play from 12:00:00 to the late play's end
    second = ("suspense", "unidentified:U-000002")
    assert owed(project) == {HELD: 6_000, second: 3_000 + late_held}
    track = world.track("T-LONG", "Confession (album version)", "Kofi Kinaata", audio_path=song["whole"])
    world.contributor(track, "Kofi Kinaata", "60")
    world.contributor(track, "Kojo Beats", "40", role="producer")
    world.fingerprint()
    assert "2 plays move" in identify(project, "U-000001", "--track", "T-LONG", "--reason", REASON)
    done = identify(project, "U-000002", "--track", "T-LONG", "--reason", REASON)
    assert "2 plays move" in done and done.count("two parts of one airing, paid as one play") == 2, done
    world.convert("2026-03-06 00:00")
    world.price()
    reconciles(project)
    track_id = project.scalar("SELECT id FROM tracks WHERE track_ref = 'T-LONG'")
    standing = project.query(
        "SELECT s.station_ref, p.recording_key, p.status, p.duration_seconds FROM play_logs p "
        "JOIN stations s ON s.id = p.station_id WHERE p.status IN ('final', 'duplicate') ORDER BY p.started_at"
    )
    assert [(p.station_ref, p.recording_key, p.status) for p in standing] == [
        ("JOY", f"track:{track_id}", "final"),
        ("PEACE", f"track:{track_id}", "final"),
    ]
    assert [round(float(p.duration_seconds)) for p in standing] == [40, 37]
    assert 5_530 < peace < 5_570
    assert owed(project) == {KOFI: 3_600 + split(peace)[0], KOJO: 2_400 + split(peace)[1]}
    # The ledger: the suspense lines of the four held plays are reversed whole, the two airings paid once each.
    reversed_ = project.query(
        "SELECT l.recipient_ref, l.amount, p.recording_key FROM royalty_ledger l JOIN play_logs p ON p.id = l.play_id "
        "WHERE l.reverses_id IS NOT NULL ORDER BY p.recording_key, l.id"
    )
    assert sorted((r.recipient_ref, int(r.amount)) for r in reversed_) == sorted(
        [
            ("unidentified:U-000001", -3_000),
            ("unidentified:U-000001", -3_000),
            ("unidentified:U-000002", -3_000),
            ("unidentified:U-000002", -late_held),
        ]
    )
    paid = project.query(
        "SELECT p.duration_seconds, sum(l.amount) AS total FROM royalty_ledger l JOIN play_logs p ON p.id = l.play_id "
        "WHERE l.kind = 'share' GROUP BY p.id, p.duration_seconds ORDER BY p.duration_seconds"
    )
    assert [(round(float(r.duration_seconds)), int(r.total)) for r in paid] == [(37, peace), (40, 6_000)]
    assert 6_000 + 3_000 + late_held - peace - 6_000 > 0  # the seconds both Peace FM plays held, reversed unpaid
    assert project.scalar("SELECT count(*) FROM audit_log WHERE action = 'play.merge'") == 2


def units(seconds: float) -> int:
    """0.015 GHS × seconds (to the millisecond), in units of GHS 0.0001, rounded once half even."""
    milliseconds = int(Decimal(seconds).quantize(Decimal("0.001"), rounding=ROUND_HALF_EVEN) * 1000)
    return round(Fraction(milliseconds * 150, 1000))


def split(amount: int) -> tuple[int, int]:
    """60/40, the unit left to the larger remainder."""
    kofi, kojo = amount * 60 // 100, amount * 40 // 100
    if kofi + kojo < amount:
        kofi, kojo = (kofi + 1, kojo) if amount * 60 % 100 >= amount * 40 % 100 else (kofi, kojo + 1)
    return kofi, kojo


def test_bad_input_is_refused_naming_what_to_do_and_changes_nothing(project: Project, song: dict[str, Path]) -> None:
    world = heard_twice(project, song)
    world.track("T-BARE", "No audio yet", "Kofi Kinaata")
    moved = project.tmp_path / "moved.wav"
    shutil.copyfile(song["song"], moved)
    world.track("T-GONE", "Audio moved away since", "Kofi Kinaata", audio_path=moved)
    world.fingerprint()
    moved.unlink()
    cases = [
        (("U-000009", "--track", "T-BARE"), 65, "there is no unknown recording U-000009"),
        (("X-12", "--track", "T-BARE"), 65, "'X-12' is not an unknown recording's reference"),
        (("U-000001", "--track", "T-NONE"), 65, "track 'T-NONE' is not in the catalog"),
        (("U-000001", "--track", "T-BARE"), 65, "track 'T-BARE' has no fingerprints yet"),
        (("U-000001", "--track", "T-GONE"), 65, f"the audio of track T-GONE ({moved}) cannot be read"),
        (("U-000001", "--merge-into", "U-000001"), 65, "U-000001 cannot be merged into itself"),
        (("U-000001",), 2, "--track REF"),
    ]
    for args, code, message in cases:
        printed = identify(project, *args, "--reason", "test", code=code)
        assert message in printed, printed
    assert identify(project, "U-000001", "--track", "T-BARE", code=2).count("--reason is required") == 1
    assert project.scalar("SELECT count(*) FROM audit_log WHERE action LIKE 'unknown.%' OR action LIKE 'play.%'") == 0
    assert project.scalar("SELECT count(*) FROM unknown_recordings WHERE resolved_at IS NOT NULL") == 0
    assert owed(project) == {HELD: 6_000}


def test_two_namings_at_once_apply_one(project: Project, song: dict[str, Path]) -> None:
    """Two runs started together naming U-000001 as T-NEW: one names it, the other finds the job's lock held
    or the naming done (and only hears the kept captures again); the plays move once."""
    world = heard_twice(project, song)
    register(world, song)
    runs = [
        project.popen("identify-unknown", "U-000001", "--track", "T-NEW", "--reason", "named"),
        project.popen("identify-unknown", "U-000001", "--track", "T-NEW", "--reason", "named too"),
    ]
    outcomes = [(r.wait(timeout=120), r.communicate()) for r in runs]
    codes = sorted(code for code, _ in outcomes)
    assert codes[0] == 0 and codes[1] in (0, 75), outcomes
    assert project.scalar("SELECT count(*) FROM audit_log WHERE action = 'unknown.identify'") == 1
    assert project.scalar("SELECT count(*) FROM audit_log WHERE action = 'play.reassign'") == 2
    world.price()
    reconciles(project)
    assert owed(project) == {KOFI: 3_600, KOJO: 2_400}  # the May airing found again is not converted yet
