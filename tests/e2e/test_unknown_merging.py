"""Filing finds two unknown recordings to be one song and merges them, and naming splits apart two songs it
merged, on SQLite and PostgreSQL.

Everything goes through the real scripts: WAV snippets heard by ``scan-station-streams``, ``convert-matches``,
``calculate-royalty-distributions``, ``import-catalog``, ``auto-fingerprint-new-tracks`` and
``identify-unknown``.  The song the catalog lacks is 60 s long, three synthetic songs of
20 s one after the other (``UNKNOWN_SEEDS``); each snippet holds a part of it, named by its seconds in the
song (``10-40``: seconds 10 to 40).  Joy FM and Peace FM are ``class_a`` in Accra (UTC+0): GHS 0.015 a
second at 12:00; amounts are units of GHS 0.0001, so a held play of 20 s is 3,000 units, of 30 s 4,500.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shlex
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from tests.e2e.test_catalog_naming import KOFI, KOJO, register_confession
from tests.e2e.test_disputes import owed, reconciles
from tests.scan_helpers import CATALOG_SEEDS, UNKNOWN_SEEDS, scan_audio  # noqa: F401
from tests.support import Project
from tests.unit.test_unknown import notes
from tests.world import World, run
from zamio.demo import synth
from zamio.recognition import audio

RATE = synth.SYNTH_RATE
FIRST, SECOND = ("suspense", "unidentified:U-000001"), ("suspense", "unidentified:U-000002")


@pytest.fixture(scope="module")
def parts(tmp_path_factory: pytest.TempPathFactory, scan_audio) -> dict[str, Path]:  # noqa: F811
    """The parts of the 60 s song the snippets hold."""
    folder = tmp_path_factory.mktemp("unknown-long-song")
    whole = np.concatenate([np.asarray(scan_audio.songs[s].samples) for s in UNKNOWN_SEEDS]).astype(np.float32)
    paths = {}
    for a, b in ((0, 20), (30, 50), (10, 40), (20, 40), (10, 30), (20, 60), (15, 35), (40, 60), (12, 32),
                 (24, 38), (0, 12), (5, 25)):
        paths[f"{a}-{b}"] = folder / f"long-{a}-{b}.wav"
        synth.write_wav(paths[f"{a}-{b}"], whole[a * RATE : b * RATE])
    return paths


def units(seconds: float) -> int:
    """0.015 GHS × seconds (to the millisecond), in units of GHS 0.0001, rounded once half even."""
    milliseconds = int(Decimal(seconds).quantize(Decimal("0.001"), rounding=ROUND_HALF_EVEN) * 1000)
    return round(Fraction(milliseconds * 150, 1000))


def members(project: Project) -> dict[str, list[tuple[str, str]]]:
    """Each unknown recording's captures: (station, day of March), in the order heard."""
    found: dict[str, list[tuple[str, str]]] = {}
    for row in project.query(
        "SELECT r.unknown_ref, s.station_ref, u.started_at FROM unknown_captures u "
        "JOIN unknown_recordings r ON r.id = u.unknown_id JOIN stations s ON s.id = u.station_id "
        "ORDER BY u.started_at"
    ):
        found.setdefault(row.unknown_ref, []).append((row.station_ref, str(row.started_at)[8:19].replace("T", " ")))
    return found


def merges(project: Project) -> list[tuple[str, str, dict]]:
    """The merges filing made: the merged recording, the survivor, the evidence."""
    rows = project.query(
        "SELECT entity_id, after_json FROM audit_log WHERE action = 'unknown.merge' AND actor = 'unknown-filing' "
        "ORDER BY id"
    )
    return [(r.entity_id, json.loads(r.after_json)["merged_into"], json.loads(r.after_json)) for r in rows]


def held_plays(project: Project, key: str) -> list[tuple[str, float]]:
    """The current plays of one recording key: (station, seconds), oldest first."""
    rows = project.query(
        "SELECT s.station_ref, p.duration_seconds FROM play_logs p JOIN stations s ON s.id = p.station_id "
        "WHERE p.recording_key = :k AND p.status = 'final' ORDER BY p.started_at",
        k=key,
    )
    return [(r.station_ref, float(r.duration_seconds)) for r in rows]


def report(project: Project, folder: Path) -> tuple[dict[str, dict[str, str]], str]:
    """bin/unidentified-report's CSV rows, by recording, written into a new folder under ``folder``, and what it
    printed."""
    out = folder / f"report-{len(list(folder.glob('report-*')))}"
    printed = run(project, "unidentified-report", "--csv", str(out / "u.csv"), "--html", str(out / "u.html")).stdout
    rows = csv.DictReader(io.StringIO((out / "u.csv").read_text(encoding="utf-8")))
    return {row["unknown_ref"]: row for row in rows}, printed


def two_stations(project: Project) -> World:
    world = World(project)
    world.station("JOY", name="Joy FM")
    world.station("PEACE", name="Peace FM")
    return world


def five_stations(project: Project) -> World:
    """Joy FM, Peace FM and three more, each to hear a capture of its own: a station whose capture before carried
    the same title, however long before, is read as keeping that title on (``zamio.recognition.titles.run_of``)."""
    world = two_stations(project)
    for ref, name in (("CITI", "Citi FM"), ("LUV", "Luv FM"), ("SKYY", "Skyy FM")):
        world.station(ref, name=name)
    return world


def two_recordings(world: World, parts: dict[str, Path], second: str = "30-50", title: str | None = None) -> None:
    """Upload what makes U-000001 and U-000002: seconds 0–20 heard on Joy FM on 2 March and Peace FM on 3 March,
    then ``second`` on Joy FM on 4 March and Peace FM on 5 March, each at 12:00 (under ``title`` if given)."""
    for station, day, part in (("JOY", "02", "0-20"), ("PEACE", "03", "0-20"), ("JOY", "04", second),
                               ("PEACE", "05", second)):
        world.snippet(station, f"2026-03-{day} 12:00", parts[part], title=title)


SUNRISE = ("Ama Ghana - Sunrise", "Ama Ghana - Sunrise")


def one_titled_airing(world: World, first: Path, second: Path, gap_seconds: int,
                      titles: tuple[str, str] = SUNRISE, day: int = 6) -> tuple[str, str, dict]:
    """Joy FM airs ``first`` at 12:00:00 on ``day`` March and ``second`` ``gap_seconds`` later, under ``titles``;
    scan, convert and price it; return the one merge filing made."""
    world.snippet("JOY", f"2026-03-{day:02d} 12:00:00", first, title=titles[0])
    world.snippet("JOY", f"2026-03-{day:02d} 12:00:{gap_seconds:02d}", second, title=titles[1])
    world.scan_snippets()
    world.convert(f"2026-03-{day + 1:02d} 00:00")
    world.price()
    reconciles(world.project)
    [merge] = merges(world.project)
    return merge


def test_a_capture_aligned_with_two_recordings_over_the_same_seconds_merges_them(
    project: Project, parts: dict[str, Path]
) -> None:
    """Seconds 0–20 aired on 2 and 3 March are U-000001, seconds 30–50 on 4 and 5 March U-000002; seconds 10–40
    on 6 March join U-000002 (the 10 s they share with it align better than those shared with U-000001), so
    U-000002 reaches back over seconds 10–20 that U-000001 holds too.  Held then: U-000001 two plays of 20 s
    (6,000), U-000002 two of 20 s and one of 30 s (10,500).  Seconds 10–40 again on 7 March: their first
    seconds align with U-000001 and, the same seconds, with U-000002's 6 March capture: one song.  U-000002
    is merged into U-000001, 30 s into its time; its three plays move (10,500 held under U-000001 now), and
    the 7 March play is U-000001's, from the song's start as U-000001 places it."""
    world = two_stations(project)
    for station, day, part in (("JOY", "02", "0-20"), ("PEACE", "03", "0-20"), ("JOY", "04", "30-50"),
                               ("PEACE", "05", "30-50"), ("JOY", "06", "10-40")):
        world.snippet(station, f"2026-03-{day} 12:00", parts[part])
    world.scan_snippets()
    world.convert("2026-03-07 00:00")
    world.price()
    assert members(project) == {"U-000001": [("JOY", "02 12:00:00"), ("PEACE", "03 12:00:00")],
                                "U-000002": [("JOY", "04 12:00:00"), ("PEACE", "05 12:00:00"), ("JOY", "06 12:00:00")]}
    assert owed(project) == {FIRST: 3_000 + 3_000, SECOND: 3_000 + 3_000 + 4_500}
    assert merges(project) == []

    world.snippet("PEACE", "2026-03-07 12:00", parts["10-40"])
    world.scan_snippets()
    world.convert("2026-03-08 00:00")
    world.price()
    reconciles(project)
    [(merged, survivor, after)] = merges(project)
    assert (merged, survivor) == ("U-000002", "U-000001")
    assert after["evidence"]["kind"] == "bridge" and abs(after["offset_seconds"] - 30.0) < 0.1
    capture = project.scalar("SELECT id FROM captures WHERE started_at = (SELECT max(started_at) FROM captures)")
    assert after["evidence"]["capture_id"] == capture
    assert [s for s, _ in members(project)["U-000001"]] == ["JOY", "PEACE", "JOY", "PEACE", "JOY", "PEACE"]
    assert set(members(project)) == {"U-000001"}
    moved = project.scalar("SELECT count(*) FROM audit_log WHERE action = 'play.reassign' AND actor = 'unknown-filing'")
    assert moved == 3 and held_plays(project, "U-000002") == []
    plays = held_plays(project, "U-000001")
    assert [round(s, 3) for _, s in plays[:5]] == [20.0, 20.0, 20.0, 20.0, 30.0]
    # The 7 March capture starts about 10 s into U-000001: its play runs from the song's start to its end.
    last = plays[5][1]
    assert 39.9 < last < 40.1
    assert owed(project) == {FIRST: 6_000 + 10_500 + units(last)}
    # Filing again finds nothing pending and changes nothing.
    world.scan_snippets()
    assert len(merges(project)) == 1 and owed(project) == {FIRST: 6_000 + 10_500 + units(last)}


def test_a_capture_across_the_end_of_one_song_and_the_start_of_the_next_merges_nothing(
    project: Project, parts: dict[str, Path]
) -> None:
    """Seconds 0–20 (one synthetic song) are U-000001, seconds 20–40 (the next) U-000002, each aired twice.
    Seconds 10–30, aired twice, hold the end of the one and the start of the other: each aligns with both, but
    over different seconds of the capture.  No merge: the two recordings keep their captures."""
    world = two_stations(project)
    for station, day, part in (("JOY", "02", "0-20"), ("PEACE", "03", "0-20"), ("JOY", "04", "20-40"),
                               ("PEACE", "05", "20-40"), ("JOY", "06", "10-30"), ("PEACE", "07", "10-30")):
        world.snippet(station, f"2026-03-{day} 12:00", parts[part])
    world.scan_snippets()
    assert merges(project) == []
    found = members(project)
    assert found["U-000001"][:2] == [("JOY", "02 12:00:00"), ("PEACE", "03 12:00:00")]
    assert found["U-000002"][:2] == [("JOY", "04 12:00:00"), ("PEACE", "05 12:00:00")]
    assert project.scalar("SELECT count(*) FROM unknown_recordings WHERE resolved_at IS NOT NULL") == 0


def test_two_recordings_heard_one_after_the_other_on_two_airings_are_merged_and_one_airing_is_not_enough(
    project: Project, parts: dict[str, Path], tmp_path: Path
) -> None:
    """Seconds 0–20 aired on 2 and 3 March are U-000001, seconds 30–50 on 4 and 5 March U-000002 (held 6,000
    each).  On 6 March Joy FM's device records the song at 12:00:00 (0–20) and 12:00:30 (30–50): U-000002's
    time 0 comes 0 + 30 − 0 = 30 s after U-000001's, heard on one airing: no merge.  Peace FM's on 7 March
    records the same, a second airing that agrees: U-000002 is merged into U-000001, 30 s into its time, its
    three plays moving with their held money (9,000); Peace FM's airing is one play of U-000001, 0–50 s
    (7,500).  Joy FM's device read the RadioText "Ama Ghana - Sunrise" with the first capture and the next
    song's with the second, sent as it ended; one change of title on one airing refuses nothing, and the
    recording's title is the song's: the next song's came while the recording went on."""
    world = two_stations(project)
    two_recordings(world, parts)
    world.snippet("JOY", "2026-03-06 12:00:00", parts["0-20"], title="Ama Ghana - Sunrise")
    world.snippet("JOY", "2026-03-06 12:00:30", parts["30-50"], title="Kojo Antwi - Mr Music Man")
    world.scan_snippets()
    world.convert("2026-03-07 00:00")
    world.price()
    assert merges(project) == []
    assert owed(project) == {FIRST: 9_000, SECOND: 9_000}

    world.snippet("PEACE", "2026-03-07 12:00:00", parts["0-20"])
    world.snippet("PEACE", "2026-03-07 12:00:30", parts["30-50"])
    world.scan_snippets()
    world.convert("2026-03-08 00:00")
    world.price()
    reconciles(project)
    [(merged, survivor, after)] = merges(project)
    assert (merged, survivor) == ("U-000002", "U-000001")
    assert after["evidence"]["kind"] == "sequence" and abs(after["offset_seconds"] - 30.0) < 0.1
    assert len(after["evidence"]["pairs"]) == 2 and after["evidence"]["disagreeing"] == 0
    assert set(members(project)) == {"U-000001"} and held_plays(project, "U-000002") == []
    # Merged before Peace FM's 7 March captures were plays: the second is placed 30 s into U-000001, so its play
    # runs from the song's start, 12:00:00, to 12:00:50 and the first (12:00:00-12:00:20) is part of it.
    assert [round(s, 3) for _, s in held_plays(project, "U-000001")] == [20.0] * 6 + [50.0]
    assert owed(project) == {FIRST: 9_000 + 9_000 + units(50.0)} == {FIRST: 25_500}
    world.scan_snippets()
    assert len(merges(project)) == 1
    assert report(project, tmp_path)[0]["U-000001"]["title"] == "Ama Ghana - Sunrise"


def test_one_airing_whose_two_captures_carry_the_same_stream_title_is_enough_to_merge(
    project: Project, parts: dict[str, Path]
) -> None:
    """As in the test above, U-000001 holds seconds 0–20 and U-000002 seconds 30–50 (6,000 held each).  On 6
    March Joy FM's device records 0–20 at 12:00:00 and 30–50 at 12:00:30, both under the RadioText "Ama Ghana
    - Sunrise": the station says one item was on air across both, so this one airing places U-000002 30 s into
    U-000001 and they are merged.  U-000002's two plays move with their money (6,000); Joy FM's airing of 6
    March is one play of U-000001 from 12:00:00 to 12:00:50 (7,500)."""
    world = two_stations(project)
    two_recordings(world, parts)
    world.scan_snippets()
    world.convert("2026-03-06 00:00")
    world.price()
    assert merges(project) == [] and owed(project) == {FIRST: 6_000, SECOND: 6_000}

    merged, survivor, after = one_titled_airing(world, parts["0-20"], parts["30-50"], 30,
                                                ("Ama Ghana - Sunrise", "AMA GHANA -  Sunrise "))
    assert (merged, survivor) == ("U-000002", "U-000001")
    [pair] = after["evidence"]["pairs"]
    assert after["evidence"]["kind"] == "sequence" and pair["titles"] == "same"
    assert abs(pair["shift_seconds"] - 30.0) < 0.1
    assert set(members(project)) == {"U-000001"} and held_plays(project, "U-000002") == []
    assert [round(s, 3) for _, s in held_plays(project, "U-000001")] == [20.0] * 4 + [50.0]
    assert owed(project) == {FIRST: 6_000 + 6_000 + units(50.0)} == {FIRST: 19_500}
    # The side-car's title is the capture's stream title, and the recording's (the first sent with it).
    assert project.scalar("SELECT icy_title FROM unknown_recordings WHERE unknown_ref = 'U-000001'") == \
        "Ama Ghana - Sunrise"
    world.scan_snippets()
    assert len(merges(project)) == 1


def test_a_capture_filling_a_hole_in_what_a_recording_heard_keeps_its_prints_for_the_next_airing_there(
    project: Project, parts: dict[str, Path]
) -> None:
    """U-000001 holds seconds 0–20 (2 and 3 March), U-000002 seconds 40–60 (4 and 5 March); on 6 March Joy FM
    airs 0–20 at 12:00:00 and 40–60 at 12:00:40 under one title, and U-000002 is merged 40 s into U-000001, which
    now spans 0–60 with seconds 20–40 never heard.  Seconds 12–32 on 7 March join U-000001 on the 8 s they share
    with 0–20, and they are the only capture holding 20–32: their prints stay in the unknown index although they
    lie inside the span.  So seconds 24–38 on 8 March, which share audio with nothing else, join U-000001 12 s
    after them, at 24 s, instead of staying a capture heard once."""
    world = two_stations(project)
    for station, day, part in (("JOY", "02", "0-20"), ("PEACE", "03", "0-20"), ("JOY", "04", "40-60"),
                               ("PEACE", "05", "40-60")):
        world.snippet(station, f"2026-03-{day} 12:00", parts[part])
    merged, survivor, after = one_titled_airing(world, parts["0-20"], parts["40-60"], 40)
    assert (merged, survivor) == ("U-000002", "U-000001") and abs(after["offset_seconds"] - 40.0) < 0.1

    world.snippet("PEACE", "2026-03-07 12:00", parts["12-32"])
    world.scan_snippets()
    hole = project.scalar("SELECT capture_id FROM unknown_captures ORDER BY started_at DESC LIMIT 1")
    assert project.scalar("SELECT count(*) FROM unknown_prints WHERE capture_id = :c", c=hole) > 0
    world.snippet("JOY", "2026-03-08 12:00", parts["24-38"])
    world.scan_snippets()
    world.convert("2026-03-09 00:00")
    world.price()
    reconciles(project)

    assert set(members(project)) == {"U-000001"}
    assert members(project)["U-000001"][-2:] == [("PEACE", "07 12:00:00"), ("JOY", "08 12:00:00")]
    offsets = project.query("SELECT offset_seconds FROM unknown_captures WHERE unknown_id IS NOT NULL "
                            "ORDER BY started_at DESC LIMIT 2")
    assert [round(float(r.offset_seconds)) for r in offsets] == [24, 12]
    assert project.scalar("SELECT count(*) FROM unknown_captures WHERE status = 'single'") == 0
    assert [station for station, _ in held_plays(project, "U-000001")][-1] == "JOY"


@pytest.fixture(scope="module")
def melody_parts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Parts of a 40 s song: two synthetic songs one after the other (``UNKNOWN_SEEDS``' first two) under a melody
    of random notes, so that no stretch of it repeats (each synthetic song loops its chords every 8 s, and a
    capture holding 10 s of one aligns with another part of it as well as with its own seconds)."""
    folder = tmp_path_factory.mktemp("unknown-melody-song")
    beds = np.concatenate([np.asarray(synth.song(seed, seconds=20.0)) for seed in UNKNOWN_SEEDS[:2]])
    bed = audio.resample(beds.astype(np.float32), RATE, audio.ANALYSIS_RATE)
    whole = 0.7 * bed + 0.3 * notes(61, 40.0)[: bed.size]
    paths = {}
    for a, b in ((0, 20), (20, 40), (10, 30)):
        paths[f"{a}-{b}"] = folder / f"melody-{a}-{b}.wav"
        synth.write_wav(paths[f"{a}-{b}"], whole[a * audio.ANALYSIS_RATE : b * audio.ANALYSIS_RATE],
                        audio.ANALYSIS_RATE)
    return paths


def test_a_capture_under_one_title_holding_two_recordings_at_different_seconds_merges_them(
    project: Project, melody_parts: dict[str, Path]
) -> None:
    """Seconds 0–20 on 2 and 3 March are U-000001, seconds 20–40 on 4 and 5 March U-000002, every capture under
    the RadioText "Ama Ghana - Sunrise" (6,000 held each).  Seconds 10–30 on Joy FM on 6 March, under it too, hold
    the end of the one and the start of the other, no second in common: without titles that is a capture across a
    change of song (the test above), but here the stations say one item throughout.  The capture joins U-000001,
    10 s into it: its play runs from the song's start as U-000001 places it, 30 s (4,500).  U-000002 is merged
    20 s into U-000001 and its two plays move with their money: 16,500 held under U-000001."""
    world = five_stations(project)
    for station, day, part in (("JOY", "02", "0-20"), ("PEACE", "03", "0-20"), ("CITI", "04", "20-40"),
                               ("LUV", "05", "20-40")):
        world.snippet(station, f"2026-03-{day} 12:00", melody_parts[part], title=SUNRISE[0])
    world.scan_snippets()
    world.convert("2026-03-06 00:00")
    world.price()
    assert merges(project) == [] and owed(project) == {FIRST: 6_000, SECOND: 6_000}

    world.snippet("SKYY", "2026-03-06 12:00", melody_parts["10-30"], title=SUNRISE[0])
    world.scan_snippets()
    world.convert("2026-03-07 00:00")
    world.price()
    reconciles(project)
    [(merged, survivor, after)] = merges(project)
    assert (merged, survivor) == ("U-000002", "U-000001")
    assert after["evidence"]["kind"] == "titled" and abs(after["offset_seconds"] - 20.0) < 0.1
    assert set(members(project)) == {"U-000001"} and held_plays(project, "U-000002") == []
    offsets = project.query("SELECT offset_seconds FROM unknown_captures ORDER BY started_at")
    assert [round(float(r.offset_seconds)) for r in offsets] == [0, 0, 20, 20, 10]
    plays = held_plays(project, "U-000001")
    assert [round(seconds) for _, seconds in plays] == [20, 20, 20, 20, 30]
    assert owed(project) == {FIRST: sum(units(seconds) for _, seconds in plays)}
    assert abs(owed(project)[FIRST] - 16_500) <= 15  # the offsets are aligned to 64 ms


def test_a_capture_across_a_change_of_song_under_the_next_songs_title_merges_nothing(
    project: Project, melody_parts: dict[str, Path]
) -> None:
    """As above, but the stations named the two songs apart: seconds 0–20 under "Kofi Kinaata - Confession",
    20–40 under "Ama Ghana - Sunrise".  Seconds 10–30 carry the title sent last, the next song's, as a capture
    across the end of a song does: its title and U-000001's disagree, so nothing is merged."""
    world = five_stations(project)
    confession = "Kofi Kinaata - Confession"
    for station, day, part, title in (("JOY", "02", "0-20", confession), ("PEACE", "03", "0-20", confession),
                                      ("CITI", "04", "20-40", SUNRISE[0]), ("LUV", "05", "20-40", SUNRISE[0]),
                                      ("SKYY", "06", "10-30", SUNRISE[0])):
        world.snippet(station, f"2026-03-{day} 12:00", melody_parts[part], title=title)
    world.scan_snippets()
    assert merges(project) == []
    found = members(project)
    assert found["U-000001"][:2] == [("JOY", "02 12:00:00"), ("PEACE", "03 12:00:00")]
    assert found["U-000002"][:2] == [("CITI", "04 12:00:00"), ("LUV", "05 12:00:00")]


@pytest.mark.parametrize("title", [SUNRISE[0], None])
def test_captures_heard_once_are_chained_into_one_recording_by_a_capture_under_their_title(
    project: Project, melody_parts: dict[str, Path], title: str | None
) -> None:
    """Seconds 0–20 on Joy FM on 2 March and 20–40 on Peace FM on 3 March share no audio: each is heard once.
    Seconds 10–30 on Joy FM on 4 March hold the end of the one and the start of the other.  Under one title on
    all three, they are one song: U-000001, from the first, the others 20 s and 10 s into it; each play runs from
    the song's start as U-000001 places it: 20, 40 and 30 s (3,000 + 6,000 + 4,500).  Without titles the capture
    may be a change of song, and it chains nothing."""
    world = five_stations(project)
    for station, day, part in (("JOY", "02", "0-20"), ("PEACE", "03", "20-40"), ("CITI", "04", "10-30")):
        world.snippet(station, f"2026-03-{day} 12:00", melody_parts[part], title=title)
    world.scan_snippets()
    world.convert("2026-03-05 00:00")
    world.price()
    reconciles(project)
    if title is None:
        assert members(project) == {} and owed(project) == {}
        return
    assert members(project) == {"U-000001": [("JOY", "02 12:00:00"), ("PEACE", "03 12:00:00"),
                                             ("CITI", "04 12:00:00")]}
    offsets = project.query("SELECT offset_seconds FROM unknown_captures ORDER BY started_at")
    assert [round(float(r.offset_seconds)) for r in offsets] == [0, 20, 10]
    plays = held_plays(project, "U-000001")
    assert [round(seconds) for _, seconds in plays] == [20, 40, 30]
    assert owed(project) == {FIRST: sum(units(seconds) for _, seconds in plays)}
    assert abs(owed(project)[FIRST] - 13_500) <= 15


@pytest.fixture(scope="module")
def quiet_parts(tmp_path_factory: pytest.TempPathFactory, scan_audio) -> dict[str, Path]:  # noqa: F811
    """Seconds 0–26 and 20–46 of a 46 s song whose seconds 20–26 are a silent break: 20 s of one synthetic song,
    the break, 20 s of another."""
    folder = tmp_path_factory.mktemp("unknown-quiet-song")
    first, second = (np.asarray(scan_audio.songs[s].samples) for s in UNKNOWN_SEEDS[:2])
    whole = np.concatenate([first, np.zeros(6 * RATE, np.float32), second]).astype(np.float32)
    paths = {}
    for a, b in ((0, 26), (20, 46)):
        paths[f"{a}-{b}"] = folder / f"quiet-{a}-{b}.wav"
        synth.write_wav(paths[f"{a}-{b}"], whole[a * RATE : b * RATE])
    return paths


def test_two_recordings_placed_to_share_only_a_silent_break_are_merged_by_one_titled_airing(
    project: Project, quiet_parts: dict[str, Path]
) -> None:
    """U-000001 holds seconds 0–26 of the song (2 and 3 March), U-000002 seconds 20–46 (4 and 5 March): the 6 s
    they share are the song's silent break, which has no prints to align.  On 6 and 7 March both stations air
    0–26 at 12:00:00 and 20–46 at 12:00:20 with no title: two airings placing U-000002 20 s into U-000001,
    over the break, which is all two songs aired back to back twice would show too; their spans overlap and
    do not align, so nothing is merged.  On 8 March Joy FM airs them so under one title: the station says one
    item, the audio that cannot align says nothing against it, and the two are merged."""
    world = two_stations(project)
    for station, day, part in (("JOY", "02", "0-26"), ("PEACE", "03", "0-26"), ("JOY", "04", "20-46"),
                               ("PEACE", "05", "20-46")):
        world.snippet(station, f"2026-03-{day} 12:00", quiet_parts[part])
    for station, day in (("JOY", "06"), ("PEACE", "07")):
        world.snippet(station, f"2026-03-{day} 12:00:00", quiet_parts["0-26"])
        world.snippet(station, f"2026-03-{day} 12:00:20", quiet_parts["20-46"])
    world.scan_snippets()
    assert set(members(project)) == {"U-000001", "U-000002"} and merges(project) == []

    merged, survivor, after = one_titled_airing(world, quiet_parts["0-26"], quiet_parts["20-46"], 20, day=8)
    assert (merged, survivor) == ("U-000002", "U-000001")
    assert after["evidence"]["kind"] == "sequence" and abs(after["offset_seconds"] - 20.0) < 0.1
    assert set(members(project)) == {"U-000001"} and held_plays(project, "U-000002") == []


def test_a_capture_heard_once_beside_a_recording_of_its_song_joins_it_with_the_capture_that_shows_it(
    project: Project, parts: dict[str, Path]
) -> None:
    """Joy FM's device records seconds 0–20 of the song at 12:00:00 on 2 March and seconds 10–30 at 12:00:10: one
    hearing recorded twice, so the second stays a capture heard once, the first a candidate.  Seconds 0–12 on
    Peace FM on 3 March make U-000001 with the first.  Seconds 5–25 on Peace FM on 4 March align with U-000001
    and with the capture heard once over the same seconds (10–20 of the song): that capture is this song too,
    and joins U-000001 beside them, 10 s into its time.  Joy FM's hearing of 2 March stays one play, now from
    12:00:00 to 12:00:30 (4,500); Peace FM's are 12 s (1,800) and, from the song's start as U-000001 places the
    capture 5 s into it, 25 s (3,750)."""
    world = two_stations(project)
    world.snippet("JOY", "2026-03-02 12:00:00", parts["0-20"])
    world.snippet("JOY", "2026-03-02 12:00:10", parts["10-30"])
    world.snippet("PEACE", "2026-03-03 12:00", parts["0-12"])
    world.scan_snippets()
    assert members(project) == {"U-000001": [("JOY", "02 12:00:00"), ("PEACE", "03 12:00:00")]}
    assert project.scalar("SELECT count(*) FROM unknown_captures WHERE status = 'single'") == 1

    world.snippet("PEACE", "2026-03-04 12:00", parts["5-25"])
    world.scan_snippets()
    world.convert("2026-03-05 00:00")
    world.price()
    reconciles(project)
    assert members(project) == {"U-000001": [("JOY", "02 12:00:00"), ("JOY", "02 12:00:10"),
                                             ("PEACE", "03 12:00:00"), ("PEACE", "04 12:00:00")]}
    offsets = project.query("SELECT offset_seconds FROM unknown_captures ORDER BY started_at")
    assert [round(float(r.offset_seconds)) for r in offsets] == [0, 10, 0, 5]
    assert project.scalar("SELECT count(*) FROM unknown_captures WHERE status = 'single'") == 0
    plays = held_plays(project, "U-000001")
    assert [(station, round(seconds)) for station, seconds in plays] == [("JOY", 30), ("PEACE", 12), ("PEACE", 25)]
    assert owed(project) == {FIRST: sum(units(seconds) for _, seconds in plays)}
    assert abs(owed(project)[FIRST] - (4_500 + 1_800 + 3_750)) <= 15  # the offsets are aligned to 64 ms


#: Joy FM's device's captures of 6 March: (time, what it holds: a part of the song or a catalog song, RadioText).
TITLES_NAMING_NO_SONG = {
    # The station's own name, kept on from 11:47:00 to 12:00:50: 13 min 50 s, longer than a song.
    "kept on": (("11:47:00", "0-20", "Joy FM 99.7"), ("12:00:00", "0-20", "Joy FM 99.7"),
                ("12:00:30", "30-50", "Joy FM 99.7")),
    # A change of title between the two captures: two items.
    "changing": (("12:00:00", "0-20", "Ama Ghana - Sunrise"), ("12:00:30", "30-50", "Kojo Antwi - Mr Music Man")),
    # The title was on while the station aired a catalog song: it did not change with the items.
    "over a catalog song": (("11:58:00", "catalog", "Ama Ghana - Sunrise"), ("12:00:00", "0-20", "Ama Ghana - Sunrise"),
                            ("12:00:30", "30-50", "Ama Ghana - Sunrise")),
}


@pytest.mark.parametrize("titles", sorted(TITLES_NAMING_NO_SONG))
def test_a_title_that_names_no_one_item_merges_nothing(
    project: Project, parts: dict[str, Path], scan_audio, tmp_path: Path, titles: str  # noqa: F811
) -> None:
    """The same two recordings, and one airing on Joy FM whose titles name no song: the station's name kept on
    longer than a song, a title that changes between the two captures, or one that was on over a catalog song
    too.  No evidence: each capture of the song is a play of its own recording, 3,000 each."""
    world = two_stations(project)
    catalog_song = tmp_path / "catalog-song.wav"
    catalog_song.write_bytes(scan_audio.songs[CATALOG_SEEDS[0]].wav)
    world.track("T-31", "Adwoa", "Ama Ghana", audio_path=catalog_song)
    world.load()
    run(project, "auto-fingerprint-new-tracks")
    two_recordings(world, parts)
    for at, part, title in TITLES_NAMING_NO_SONG[titles]:
        world.snippet("JOY", f"2026-03-06 {at}", catalog_song if part == "catalog" else parts[part], title=title)
    world.scan_snippets()
    world.convert("2026-03-07 00:00")
    world.price()
    reconciles(project)
    assert merges(project) == []
    first = 2 + sum(part == "0-20" for _, part, _ in TITLES_NAMING_NO_SONG[titles])
    assert [len(members(project)[ref]) for ref in ("U-000001", "U-000002")] == [first, 3]
    held = {key: units for key, units in owed(project).items() if key in (FIRST, SECOND)}
    assert held == {FIRST: 3_000 * first, SECOND: 9_000}


def test_a_repeated_segue_under_two_titles_merges_nothing(project: Project, parts: dict[str, Path]) -> None:
    """The two recordings, then the two airings that merge them with no titles (the segue test below), but with the
    stations' titles: each airing's first capture under one title, its second under another.  The stations say
    they changed song between the two captures, so the agreeing placements are no evidence: each capture is a play
    of its own recording, 3,000 each."""
    world = two_stations(project)
    two_recordings(world, parts)
    for station, day in (("JOY", "06"), ("PEACE", "07")):
        world.snippet(station, f"2026-03-{day} 12:00:00", parts["0-20"], title="Kofi Kinaata - Confession")
        world.snippet(station, f"2026-03-{day} 12:00:30", parts["30-50"], title="Ama Ghana - Sunrise")
    world.scan_snippets()
    world.convert("2026-03-08 00:00")
    world.price()
    reconciles(project)
    assert merges(project) == []
    assert owed(project) == {FIRST: 12_000, SECOND: 12_000}


def test_recordings_under_one_title_no_airing_placed_are_grouped_by_the_report_for_a_person_to_merge(
    project: Project, parts: dict[str, Path], scan_audio, tmp_path: Path  # noqa: F811
) -> None:
    """The two recordings, every airing under the title "Ama Ghana - Sunrise" and followed by silence under the
    station's name: no airing heard both, so filing cannot place one in the other's time, and they stay apart
    (3,000 held per play).  A third song aired on Joy FM
    on 6 March at 12:00, 12:07 and 12:14 under the same title, which the station kept on for 14 min 20 s, longer
    than a song: there it names no item.  bin/unidentified-report groups U-000001 and U-000002 by their title,
    with the command merging the younger into the older, and leaves the third out of the group.  The command,
    run as given with a reason, merges them: one recording, 12,000 held, in no group."""
    world = two_stations(project)
    two_recordings(world, parts, title="Ama Ghana - Sunrise")
    between = tmp_path / "between.wav"  # what follows each airing: silence, under the station's name
    synth.write_wav(between, np.zeros(20 * RATE, dtype=np.float32))
    for station, day in (("JOY", "02"), ("PEACE", "03"), ("JOY", "04"), ("PEACE", "05")):
        world.snippet(station, f"2026-03-{day} 12:03", between, title=f"{station} FM")
    other_song = tmp_path / "other-song.wav"
    other_song.write_bytes(scan_audio.songs[CATALOG_SEEDS[0]].wav)  # not in the catalog: unknown music
    for at in ("12:00", "12:07", "12:14"):
        world.snippet("JOY", f"2026-03-06 {at}", other_song, title="AMA GHANA - Sunrise")
    world.scan_snippets()
    world.convert("2026-03-07 00:00")
    world.price()
    assert merges(project) == [] and set(members(project)) == {"U-000001", "U-000002", "U-000003"}, members(project)

    found, printed = report(project, tmp_path)
    assert "2 recordings share a stream title with another (1 title)" in printed
    wanted = {"U-000001": ("Ama Ghana - Sunrise", "U-000002", ""),
              "U-000002": ("Ama Ghana - Sunrise", "U-000001",
                           'bin/identify-unknown U-000002 --merge-into U-000001 --reason "<why>"'),
              "U-000003": ("", "", "")}
    assert {ref: (r["title"], r["same_title_as"], r["merge_command"]) for ref, r in found.items()} == wanted
    assert (found["U-000001"]["held"], found["U-000002"]["held"]) == ("0.6000", "0.6000")

    command = shlex.split(found["U-000002"]["merge_command"].replace("<why>", "one title; the verse and chorus"))
    assert command[0] == "bin/identify-unknown"
    run(project, "identify-unknown", *command[1:])
    world.price()
    reconciles(project)
    found, printed = report(project, tmp_path)
    assert set(found) == {"U-000001", "U-000003"} and "share a stream title" not in printed
    assert (found["U-000001"]["plays"], found["U-000001"]["held"], found["U-000001"]["same_title_as"]) == (
        "4", "1.2000", "")


def test_two_filing_runs_at_once_merge_once(project: Project, parts: dict[str, Path], tmp_path: Path) -> None:
    """The two airings of the sequence test reach two hosts' inboxes, Joy FM's one and Peace FM's the other,
    and both hosts scan at once on one database, each filing under the filing lock: one merge, one
    recording of the four captures."""
    world = two_stations(project)
    world.load()
    other = World(Project(project.database_url, tmp_path / "beta"))
    for host, station, day in ((world, "JOY", "02"), (other, "PEACE", "03")):
        host.snippet(station, f"2026-03-{day} 12:00:00", parts["0-20"])
        host.snippet(station, f"2026-03-{day} 12:00:30", parts["30-50"])
    runs = [host.project.popen("scan-station-streams", "--only", "snippets",
                               env=host.project.env(SCAN_CONCURRENCY="1", ZAMIO_HOST_NAME=name))
            for name, host in (("alpha", world), ("beta", other))]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert [(m, s) for m, s, _ in merges(project)] == [("U-000002", "U-000001")]
    assert set(members(project)) == {"U-000001"} and len(members(project)["U-000001"]) == 4
    other.project.engine.dispose()


def test_two_songs_merged_as_one_by_a_repeated_segue_are_split_apart_when_the_first_is_registered(
    project: Project, parts: dict[str, Path]
) -> None:
    """Seconds 0–20 (a synthetic song of exactly 20 s, "Confession") aired on 2 and 3 March, seconds 30–50 (other
    music) on 4 and 5 March; on 6 March (Joy FM) and 7 March (Peace FM) Confession runs straight into the other
    music, heard at 12:00:00 and 12:00:30.  Filing merges the two as one song, the second 30 s into the first's
    time, before any play is made: the 4 and 5 March airings then run from the song's start as placed (11:59:30,
    50 s), the 6 and 7 March ones 50 s from 12:00:00: 240 s held under U-000001, 36,000.

    Confession is registered as T-A (Kofi 60 %, Kojo 40 %) with its 20 s of audio.  The catalog names U-000001
    as T-A, and its captures placed 30 s into a 20 s track lie outside it: they are split off as U-000003 first,
    with their plays.  The 6 and 7 March plays are split where Confession ends on air (12:00:20); each part moved
    starts no earlier than U-000003's time 0 as its captures place it (12:00:00 on 4 and 5 March, 12:00:30 on 6 and
    7 March).  T-A: four plays of 20 s, 12,000 (Kofi 7,200, Kojo 4,800).  U-000003: four plays of 20 s, 12,000
    held.  The 12,000 between holds the seconds no song was heard in (11:59:30–12:00:00 on 4 and 5 March,
    12:00:20–12:00:30 on 6 and 7 March), reversed with the plays that claimed them."""
    world = segue_heard_as_one(project, parts)
    output = register_confession(world, "T-A", parts["0-20"])
    assert "U-000001 named as track T-A" in output and "split off as U-000003" in output, output
    split_apart(project, world)
    split = project.query("SELECT entity_id, actor, after_json FROM audit_log WHERE action = 'unknown.split'")
    assert [(e.entity_id, e.actor, json.loads(e.after_json)["split_into"]) for e in split] == [
        ("U-000001", "catalog-naming", "U-000003")]

    # A second fingerprinting run finds nothing new: nothing is split or named twice, the money stays.
    again = run(project, "auto-fingerprint-new-tracks")
    assert "split off" not in again.stdout + again.stderr
    world.price()
    assert owed(project) == {KOFI: 7_200, KOJO: 4_800, ("suspense", "unidentified:U-000003"): 12_000}


def segue_heard_as_one(project: Project, parts: dict[str, Path]) -> World:
    """The airings of the test above, scanned, made plays and priced: U-000002 merged into U-000001."""
    world = two_stations(project)
    two_recordings(world, parts)
    for station, day in (("JOY", "06"), ("PEACE", "07")):
        world.snippet(station, f"2026-03-{day} 12:00:00", parts["0-20"])
        world.snippet(station, f"2026-03-{day} 12:00:30", parts["30-50"])
    world.scan_snippets()
    world.convert("2026-03-08 00:00")
    world.price()
    assert [(m, s) for m, s, _ in merges(project)] == [("U-000002", "U-000001")]
    assert [round(d, 3) for _, d in held_plays(project, "U-000001")] == [20.0, 20.0, 50.0, 50.0, 50.0, 50.0]
    assert owed(project) == {FIRST: 36_000}
    return world


def split_apart(project: Project, world: World) -> None:
    """U-000001 named as T-A and the other song's captures split off as U-000003, as the test above tells: the plays,
    the captures and the money, priced."""
    world.convert("2026-03-09 00:00")
    world.price()
    reconciles(project)
    assert owed(project) == {KOFI: 7_200, KOJO: 4_800, ("suspense", "unidentified:U-000003"): 12_000}
    plays = project.query("SELECT s.station_ref, p.started_at, p.duration_seconds, p.recording_key FROM play_logs p "
                          "JOIN stations s ON s.id = p.station_id WHERE p.status = 'final' ORDER BY p.started_at")
    assert [(p.station_ref, str(p.started_at)[8:19].replace("T", " "), round(float(p.duration_seconds), 3),
             p.recording_key.startswith("U-")) for p in plays] == [
        ("JOY", "02 12:00:00", 20.0, False), ("PEACE", "03 12:00:00", 20.0, False),
        ("JOY", "04 12:00:00", 20.0, True), ("PEACE", "05 12:00:00", 20.0, True),
        ("JOY", "06 12:00:00", 20.0, False), ("JOY", "06 12:00:30", 20.0, True),
        ("PEACE", "07 12:00:00", 20.0, False), ("PEACE", "07 12:00:30", 20.0, True)]
    assert members(project)["U-000003"] == [("JOY", "04 12:00:00"), ("PEACE", "05 12:00:00"),
                                            ("JOY", "06 12:00:30"), ("PEACE", "07 12:00:30")]


def test_a_person_naming_a_recording_of_two_songs_splits_off_the_other_and_a_dry_run_changes_nothing(
    project: Project, parts: dict[str, Path]
) -> None:
    """The airings above; Confession registered as T-A with the catalog's naming off.  bin/identify-unknown --dry-run
    shows the four captures split off and their plays, and changes nothing; the naming itself does what the
    catalog's did above, under the person's name and reason."""
    world = segue_heard_as_one(project, parts)
    register_confession(world, "T-A", parts["0-20"], UNKNOWN_AUTO_NAMING="false")
    asked = ("identify-unknown", "U-000001", "--track", "T-A", "--reason", "listened: Confession, then Odo",
             "--by", "ama")
    dry = run(project, *asked, "--dry-run")
    assert "4 of its captures lie outside T-A" in dry.stdout and "split off as U-000003" in dry.stdout, dry.stdout
    assert project.scalar("SELECT count(*) FROM unknown_recordings") == 2
    assert project.scalar("SELECT count(*) FROM audit_log WHERE action = 'unknown.split'") == 0
    done = run(project, *asked)
    assert "split off as U-000003" in done.stdout, done.stdout
    split = project.query("SELECT entity_id, actor, reason FROM audit_log WHERE action = 'unknown.split'")
    assert [(e.entity_id, e.actor) for e in split] == [("U-000001", "ama")]
    assert "listened: Confession, then Odo" in split[0].reason
    split_apart(project, world)


def register_both(world: World, parts: dict[str, Path]) -> str:
    """Confession registered as T-A (its 20 s; Kofi 60 %, Kojo 40 %) and the other music as T-B (seconds 20–60;
    Ama Serwah 100 %) in one import, fingerprinted by one run; return the job's output."""
    confession = world.track("T-A", "Confession", "Kofi Kinaata", audio_path=parts["0-20"])
    world.contributor(confession, "Kofi Kinaata", "60")
    world.contributor(confession, "Kojo Beats", "40", role="producer")
    other = world.track("T-B", "Odo", "Ama Serwah", audio_path=parts["20-60"])
    world.contributor(other, "Ama Serwah", "100")
    world.load()
    done = run(world.project, "auto-fingerprint-new-tracks")
    return done.stdout + done.stderr


def test_both_songs_of_a_repeated_segue_registered_at_once_are_each_paid_their_own_airings(
    project: Project, parts: dict[str, Path]
) -> None:
    """The airings of the test above; Confession registered as T-A (its 20 s) and the other music as T-B (seconds
    20–60: the 30–50 captures lie 10 s into it, Ama Serwah 100 %) in one import, fingerprinted by one run.  The
    captures of U-000001 name two tracks, each lying outside the other: the check names U-000001 as the one more of
    its captures with kept prints name (of two as many, the one heard first in its time), the captures outside it
    split off as U-000003, which it names as the other in the same run.  T-A: four plays of 20 s,
    12,000 (Kofi 7,200, Kojo 4,800); T-B: four plays of 20 s, 12,000 to Ama; nothing stays held."""
    world = segue_heard_as_one(project, parts)
    output = register_both(world, parts)
    first, second = re.findall(r"U-00000([13]) named as track (T-[AB])", output)
    assert (first[0], second[0]) == ("1", "3") and {first[1], second[1]} == {"T-A", "T-B"}, output
    assert f"U-000001: its captures outside track {first[1]} split off as U-000003" in output
    world.convert("2026-03-09 00:00")
    world.price()
    reconciles(project)
    assert owed(project) == {KOFI: 7_200, KOJO: 4_800, ("contributor", "ama-serwah"): 12_000}


def test_a_capture_across_the_change_of_song_goes_with_the_song_it_holds_most(
    project: Project, parts: dict[str, Path]
) -> None:
    """Confession (seconds 0–20) heard on 2 and 3 March is U-000001; on 4 and 5 March each station is heard at
    12:00 15 s into Confession, aired straight into the other music: seconds 15–35, 5 s of the one and 15 s of
    the other.  Both join U-000001 15 s into its time by the 5 s they share with it: held, 2 × 20 s and, from the
    song's start as placed (11:59:45), 2 × 35 s (to the 64 ms its alignment is placed by).  Confession is then
    registered as T-A (Kofi 60 %, Kojo 40 %) and the other music as T-B (seconds 20–60, Ama 100 %).  The catalog
    hears U-000001's capture of 0–20 as T-A and its capture of 15–35 as T-B: placed in T-A it lies across T-A's
    end, most of it beyond.  So U-000001 is named as T-A, the two captures of 15–35 split off as U-000002 (their
    plays starting at its time 0, 12:00:00: 20 s each) and named as T-B.  T-A: 2 × 3,000 (Kofi 3,600, Kojo
    2,400); T-B: 2 × 3,000 to Ama.  The 15 s each before 12:00 that U-000001 placed the song's start at are no
    one's: the capture heard none of them."""
    world = two_stations(project)
    two_recordings(world, parts, "15-35")
    world.scan_snippets()
    world.convert("2026-03-06 00:00")
    world.price()
    assert set(members(project)) == {"U-000001"}
    held = [round(d, 3) for _, d in held_plays(project, "U-000001")]
    assert held[:2] == [20.0, 20.0] and held[2] == held[3] and 34.9 < held[2] < 35.1  # placed by 64 ms frames
    assert owed(project) == {FIRST: 6_000 + 2 * units(held[2])}

    output = register_both(world, parts)
    assert "U-000001 named as track T-A" in output and "U-000002 named as track T-B" in output, output
    assert "U-000001: its captures outside track T-A split off as U-000002" in output, output
    world.convert("2026-03-06 00:00")
    world.price()
    reconciles(project)
    assert owed(project) == {KOFI: 3_600, KOJO: 2_400, ("contributor", "ama-serwah"): 6_000}
    assert members(project) == {"U-000001": [("JOY", "02 12:00:00"), ("PEACE", "03 12:00:00")],
                                "U-000002": [("JOY", "04 12:00:00"), ("PEACE", "05 12:00:00")]}
