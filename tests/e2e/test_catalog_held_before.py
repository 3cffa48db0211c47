"""A recording whose captures name a track the catalog held before it was first heard is left open, with the track
suggested in ``bin/unidentified-report``, and no money moves; on SQLite and PostgreSQL.

Everything goes through the real scripts (``import-catalog``, ``scan-station-streams``, ``convert-matches``,
``calculate-royalty-distributions``, ``auto-fingerprint-new-tracks``, ``detect-audio``, ``unidentified-report``).
Joy FM and Peace FM are ``class_a`` in Accra (UTC+0), GHS 0.015 a second at every hour; a play lasts its 20 s
capture: 0.015 × 20 = 0.30 → 3,000 units of GHS 0.0001.

Song C, aired twice in March, is U-000001, 6,000 held.  "Old Song" (T-OLD, song A, Kofi Kinaata 100 %) is in the
catalog; Joy FM and Peace FM air it, their recording devices stamping the airings 45 s ahead of the clock of
the server that scans them (devices drift; a day ahead is accepted).  The airings are scanned before T-OLD is
fingerprinted, so they match nothing and become U-000002, 2 × 3,000 = 6,000 held (the second
airing, the same 20 s, keeps no prints of its own: one capture's are kept); by their stamps they were aired
after the catalog held T-OLD's fingerprints: what the check sees of airings the scan missed.  Once the airings'
time has passed, C is registered as T-C and fingerprinted: U-000001 is named as it, and U-000002, whose captures'
kept prints name T-OLD, held before, is left open for a person, T-OLD suggested with the command that names it;
its money stays held, and T-OLD's party is paid nothing.
"""

from __future__ import annotations

import re
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from tests.e2e.test_catalog_suggestion import EVIDENCE, compact, kept, report
from tests.e2e.test_disputes import owed, reconciles
from tests.e2e.test_unknown_recordings import later
from tests.scan_helpers import UNKNOWN_SEEDS, scan_audio  # noqa: F401
from tests.support import Project
from tests.world import World, run
from zamio.db.engine import utcnow
from zamio.demo import synth

C_HELD, A_HELD = (("suspense", f"unidentified:U-00000{n}") for n in (1, 2))
KOFI = ("contributor", "kofi-kinaata")
AHEAD = timedelta(seconds=45)  # how far the devices' clocks run ahead of the server's


@pytest.fixture(scope="module")
def song(tmp_path_factory: pytest.TempPathFactory, scan_audio) -> dict[str, Path]:  # noqa: F811
    """A (T-OLD's audio and its airings) and C."""
    folder = tmp_path_factory.mktemp("held-song")
    paths = {}
    for name, seed in (("a", UNKNOWN_SEEDS[0]), ("c", UNKNOWN_SEEDS[2])):
        paths[name] = folder / f"{name}.wav"
        synth.write_wav(paths[name], np.asarray(scan_audio.songs[seed].samples).astype(np.float32))
    return paths


def test_captures_naming_a_track_held_before_leave_the_recording_open_with_it_suggested_and_move_no_money(
    project: Project, song: dict[str, Path], tmp_path: Path
) -> None:
    world = World(project)
    world.station("JOY", name="Joy FM")
    world.station("PEACE", name="Peace FM")
    for period in ("off_peak", "prime", "regular"):
        world.rate_card("class_a", period, "0.015", "1.0", "2026-01-01")
    old = world.track("T-OLD", "Old Song", "Kofi Kinaata", audio_path=song["a"])
    world.contributor(old, "Kofi Kinaata", "100")
    world.snippet("JOY", "2026-03-06 12:00", song["c"])
    world.snippet("PEACE", "2026-03-07 12:00", song["c"])
    aired = utcnow() + AHEAD
    world.snippet("JOY", aired, song["a"])
    world.snippet("PEACE", aired + timedelta(seconds=5), song["a"])
    world.scan_snippets()
    assert list(kept(project)) == ["U-000001", "U-000002"]

    run(project, "auto-fingerprint-new-tracks")  # T-OLD: nothing named, nothing left open
    held_since = project.scalar("SELECT f.created_at FROM fingerprint_sets f JOIN tracks t ON t.id = f.track_id "
                                "WHERE t.track_ref = 'T-OLD'")
    first_heard = project.scalar("SELECT first_heard_at FROM unknown_recordings WHERE unknown_ref = 'U-000002'")
    assert str(held_since) < str(first_heard), "the set must predate the airings' stamps: set AHEAD larger"
    world.convert(later())
    world.price()
    assert owed(project) == {C_HELD: 6_000, A_HELD: 6_000}
    found = run(project, "detect-audio", str(song["a"])).stdout
    assert "T-OLD 'Old Song' by Kofi Kinaata" in found, found  # the catalog holds it: the scan missed the airings

    time.sleep(max(0.0, (aired - utcnow()).total_seconds() + 6.0))  # T-C's set comes after the airings' stamps
    world.track("T-C", "Third Song", "Kojo Beats", audio_path=song["c"])
    world.load()
    done = run(project, "auto-fingerprint-new-tracks")
    output = done.stdout + done.stderr
    assert "U-000001 named as track T-C" in output, output
    assert ("U-000002 left open, its captures name a track the catalog held before (the scan missed it): "
            "T-OLD (1 captures)") in output, output
    rows = project.query("SELECT unknown_ref, resolved_at, track_id FROM unknown_recordings ORDER BY unknown_ref")
    assert [(r.unknown_ref, r.resolved_at is None) for r in rows] == [("U-000001", False), ("U-000002", True)]
    suggested = kept(project)
    assert suggested["U-000001"] is None
    first = suggested["U-000002"]
    assert isinstance(first, list) and len(first) == 1
    assert (first[0]["track_ref"], first[0]["title"], first[0]["captures"]) == ("T-OLD", "Old Song", 1)

    csv_rows, page_rows = report(project, tmp_path)
    row = csv_rows["U-000002"]
    command = 'bin/identify-unknown U-000002 --track T-OLD --reason "<why>"'
    assert re.fullmatch(rf"T-OLD Old Song \(1 capture, {EVIDENCE}\)", row["suggested"]), row["suggested"]
    assert row["suggested_command"] == command
    text = compact(page_rows["U-000002"]["text"])
    assert compact(f"suggested: {row['suggested']} {command}") in text, text

    # No money moves: U-000002's 6,000 stays held, Kofi is owed nothing; C's 6,000 waits for the next pricing.
    assert owed(project) == {C_HELD: 6_000, A_HELD: 6_000}
    assert project.scalar("SELECT count(*) FROM audit_log WHERE action = 'unknown.identify'") == 1
    world.price()
    reconciles(project)
    assert owed(project)[A_HELD] == 6_000 and KOFI not in owed(project)
