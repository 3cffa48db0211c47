"""A recording the catalog check leaves open keeps what the catalog suggests, and ``bin/unidentified-report``
shows it, on SQLite and PostgreSQL.

Everything goes through the real scripts (``scan-station-streams``, ``import-catalog``,
``auto-fingerprint-new-tracks``, ``unidentified-report``).  A song of 40 s the catalog lacks is two synthetic songs
of 20 s one after the other (A then B, ``UNKNOWN_SEEDS``); four airings hold seconds 0-20, 5-25, 15-35 and 20-40 of
it.  Each overlaps the one before by 10 s or more, so the four chain into one unknown recording, U-000001.  The
societies then register A and B as two tracks, T-A "Side A" and T-B "Side B": the captures holding mostly A
(0-20, 5-25) name T-A, those holding mostly B (15-35, 20-40) name T-B.  Side A's file runs on 20 s past A (a
quiet run-out), so where U-000001's audio places them in it, the captures of B lie within its length: nothing
tells the check that they are another song's, not T-A's, so it leaves U-000001 open and keeps the suggestion:
T-A and T-B, two captures each.  A second song C aired twice is U-000002; registered as T-C, the
check names it, and it shows no suggestion.  Once a person names U-000001 (``bin/identify-unknown``), its
suggestion goes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from tests.e2e.test_unidentified_report import players, read_csv
from tests.scan_helpers import UNKNOWN_SEEDS, scan_audio  # noqa: F401
from tests.support import Project
from tests.world import World, run
from zamio.demo import synth

RATE = synth.SYNTH_RATE
PARTS = ((0, 20), (5, 25), (15, 35), (20, 40))


@pytest.fixture(scope="module")
def song(tmp_path_factory: pytest.TempPathFactory, scan_audio) -> dict[str, Path]:  # noqa: F811
    """The four parts of A then B as aired, A and B alone (the tracks' audio), and C."""
    folder = tmp_path_factory.mktemp("suggested-song")
    a, b, c = (np.asarray(scan_audio.songs[seed].samples).astype(np.float32) for seed in UNKNOWN_SEEDS)
    whole = np.concatenate([a, b])
    paths = {}
    for start, end in PARTS:
        paths[f"{start}-{end}"] = folder / f"part-{start}-{end}.wav"
        synth.write_wav(paths[f"{start}-{end}"], whole[start * RATE : end * RATE])
    # Side A's file runs on 20 s past A's end (a quiet run-out), as far as the captures of B reach.
    side_a = np.concatenate([a, 0.001 * np.random.default_rng(3).standard_normal(b.size).astype(np.float32)])
    for name, samples in zip("abc", (side_a, b, c), strict=True):
        paths[name] = folder / f"{name}.wav"
        synth.write_wav(paths[name], samples)
    return paths


def aired(project: Project, song: dict[str, Path]) -> World:
    """The four parts on 2 to 5 March, then C on 6 and 7 March, Joy FM and Peace FM in turn at 12:00."""
    world = World(project)
    world.station("JOY", name="Joy FM")
    world.station("PEACE", name="Peace FM")
    names = [f"{start}-{end}" for start, end in PARTS] + ["c", "c"]
    for day, name in enumerate(names, start=2):
        world.snippet("JOY" if day % 2 == 0 else "PEACE", f"2026-03-0{day} 12:00", song[name])
    world.scan_snippets()
    world.convert("2026-03-08 00:00")
    world.price()
    return world


def register(world: World, song: dict[str, Path]) -> str:
    """A, B and C registered as T-A, T-B and T-C with their audio, then fingerprinted; the job's output."""
    for ref, title, name in (("T-A", "Side A", "a"), ("T-B", "Side B", "b"), ("T-C", "Third Song", "c")):
        world.track(ref, title, "Kofi Kinaata", audio_path=song[name])
    world.load()
    done = run(world.project, "auto-fingerprint-new-tracks")
    return done.stdout + done.stderr


def kept(project: Project) -> dict[str, object]:
    """Each recording's kept suggestion, decoded (None: none)."""
    rows = project.query("SELECT unknown_ref, catalog_suggestion FROM unknown_recordings ORDER BY unknown_ref")
    return {r.unknown_ref: json.loads(r.catalog_suggestion) if r.catalog_suggestion else None for r in rows}


def report(project: Project, out: Path) -> tuple[dict[str, dict[str, str]], dict[str, dict]]:
    """bin/unidentified-report's CSV rows and page rows, by recording."""
    run(project, "unidentified-report", "--csv", str(out / "report.csv"), "--html", str(out / "page.html"))
    return {row["unknown_ref"]: row for row in read_csv(out / "report.csv")}, players(out / "page.html")


def compact(text: str) -> str:
    """The text without its whitespace (the page's cells break lines between their parts)."""
    return "".join(text.split())


EVIDENCE = r"evidence \d+\.\d"


def test_a_recording_left_open_shows_the_tracks_its_captures_name_in_the_report_until_it_is_named(
    project: Project, song: dict[str, Path], tmp_path: Path
) -> None:
    world = aired(project, song)
    assert list(kept(project)) == ["U-000001", "U-000002"]  # the four parts chained into one recording
    output = register(world, song)
    assert "U-000002 named as track T-C" in output, output
    assert "U-000001 left open, its captures name different tracks: T-A (2 captures), T-B (2 captures)" in output

    suggested = kept(project)
    assert suggested["U-000002"] is None
    first = suggested["U-000001"]
    assert isinstance(first, list)
    assert [(s["track_ref"], s["title"], s["captures"]) for s in first] == [("T-A", "Side A", 2), ("T-B", "Side B", 2)]
    assert all(s["evidence"] > 0 for s in first)

    csv_rows, page_rows = report(project, tmp_path / "open")
    row = csv_rows["U-000001"]
    a, b = row["suggested"].split("; ")
    assert re.fullmatch(rf"T-A Side A \(2 captures, {EVIDENCE}\)", a) and re.fullmatch(
        rf"T-B Side B \(2 captures, {EVIDENCE}\)", b), row["suggested"]
    assert row["suggested_command"] == ('bin/identify-unknown U-000001 --track T-A --reason "<why>"; '
                                        'bin/identify-unknown U-000001 --track T-B --reason "<why>"')
    text = compact(page_rows["U-000001"]["text"])  # the cell: each suggestion, then its command on a line below
    assert compact(f'suggested: {a} bin/identify-unknown U-000001 --track T-A --reason "<why>"') in text, text
    assert compact(f'suggested: {b} bin/identify-unknown U-000001 --track T-B --reason "<why>"') in text, text
    # U-000002 was named by the check: still listed while its money waits for the next pricing, suggesting nothing.
    assert (csv_rows["U-000002"]["suggested"], csv_rows["U-000002"]["suggested_command"]) == ("", "")
    assert "suggested" not in page_rows["U-000002"]["text"]

    # Run again: within a minute of the sets' creation the check looks at U-000001 again (sets committed late
    # are not missed, catalog_naming.SETTLE_SECONDS) and overwrites its suggestion with the same; later, nothing
    # is due and it stays.  Either way one suggestion, as it was.
    run(project, "auto-fingerprint-new-tracks")
    assert kept(project)["U-000001"] == first

    # Named by a person: the suggestion goes, from the database and the report.
    run(project, "identify-unknown", "U-000001", "--track", "T-A", "--reason", "listened: side A")
    assert kept(project) == {"U-000001": None, "U-000002": None}
    csv_rows, page_rows = report(project, tmp_path / "named")
    for ref, row in csv_rows.items():
        assert (row["suggested"], row["suggested_command"]) == ("", ""), ref
        assert "suggested" not in page_rows[ref]["text"], ref
