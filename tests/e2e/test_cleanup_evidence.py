"""bin/cleanup-old-data keeps the capture audio of plays whose money is not settled, on both databases.

The world is made by the real jobs: snippets recorded by ``scan-station-streams`` (real MP3 audio
stored under var/snippets), plays by ``convert-matches``, pricings by
``calculate-royalty-distributions``, cycles by ``process-royalty-cycle``.  Only the lock of the
older cycle is moved back in time, as the other cleanup tests age their rows.

Joy (class_b), one 20-second snippet per airing, all in 2024:

* song A, 01-10: paid by cycle 2024-01, locked 400 days ago: past the 365-day dispute window;
* song B, 02-10: paid by cycle 2024-02, locked just now: inside the window;
* song C, 03-10: priced, in no cycle yet: money pending;
* an unknown song, 01-11: no match, no detection, no play.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update

from tests.scan_helpers import (  # noqa: F401
    CATALOG_SEEDS,
    UNKNOWN_SEEDS,
    add_station,
    catalog_prints,
    drop,
    rows,
    scan,
    scan_audio,
    seed_catalog,
)
from tests.support import Project
from zamio.db.tables import captures, detections, play_detections, play_logs, royalty_cycles

A, B, C = CATALOG_SEEDS
AIRINGS = {"old": (A, "2024-01-10T12:00:00Z"), "recent": (B, "2024-02-10T12:00:00Z"),
           "pending": (C, "2024-03-10T12:00:00Z"), "nothing": (UNKNOWN_SEEDS[0], "2024-01-11T12:00:00Z")}
CYCLES = {"2024-01": ("2024-01-01", "2024-01-31"), "2024-02": ("2024-02-01", "2024-02-29")}


def run(project: Project, name: str, *args: str) -> str:
    result = project.script(name, *args)
    assert result.returncode == 0, f"{name} exited {result.returncode}:\n{result.stderr}"
    return result.stderr


def evidence(project: Project) -> dict[str, dict]:
    """Per snippet chunk: its capture row, and the plays and detections that lead to it."""
    found = rows(project, select(captures.c.chunk_id, captures.c.id, captures.c.audio_path, captures.c.audio_sha256,
                                 captures.c.bytes, detections.c.id.label("detection_id"),
                                 play_detections.c.play_id, play_logs.c.status.label("play_status"))
                 .select_from(captures.outerjoin(detections, detections.c.capture_id == captures.c.id)
                              .outerjoin(play_detections, play_detections.c.detection_id == detections.c.id)
                              .outerjoin(play_logs, play_logs.c.id == play_detections.c.play_id)))
    return {row.chunk_id: row._asdict() for row in found}


def build(project: Project, scan_audio, catalog_prints) -> dict[str, dict]:  # noqa: F811
    seed_catalog(project, catalog_prints)
    add_station(project, "joy", "http://127.0.0.1:9/unused")
    inbox = project.var_dir / "inbox"
    for chunk, (song, started_at) in AIRINGS.items():
        drop(inbox, f"{chunk}.mp3", scan_audio.mp3(song), {"station_ref": "joy", "chunk_id": chunk,
                                                           "started_at": started_at})
    scanned = scan(project, "--only", "snippets")
    assert scanned.returncode == 0, scanned.stderr
    run(project, "convert-matches")
    run(project, "calculate-royalty-distributions")
    for name, (first, last) in CYCLES.items():
        run(project, "process-royalty-cycle", "--name", name, "--from", first, "--to", last,
            "--out", str(project.tmp_path / "cycles" / name))
    long_ago = datetime.now(UTC) - timedelta(days=400)
    with project.engine.begin() as conn:
        conn.execute(update(royalty_cycles).where(royalty_cycles.c.name == "2024-01").values(locked_at=long_ago))
    world = evidence(project)
    # The world is what the docstring says, checked before anything is cleaned.
    assert {chunk: (row["play_status"], row["detection_id"] is not None) for chunk, row in world.items()} == {
        "old": ("final", True), "recent": ("final", True), "pending": ("final", True), "nothing": (None, False)}
    paid = dict(project.query("SELECT p.play_id, c.name FROM cycle_pricings p "
                              "JOIN royalty_cycles c ON c.id = p.cycle_id"))
    assert {chunk: paid.get(row["play_id"]) for chunk, row in world.items() if row["play_id"]} == {
        "old": "2024-01", "recent": "2024-02", "pending": None}
    assert all(Path(row["audio_path"]).is_file() for row in world.values())
    return world


def test_audio_of_unsettled_plays_stays_and_settled_audio_goes(project: Project, scan_audio,  # noqa: F811
                                                              catalog_prints) -> None:  # noqa: F811
    before = build(project, scan_audio, catalog_prints)
    # The size docs/operations.md multiplies out: a 20-second snippet is stored as sent (here MP3, 128 kbit/s).
    size = Path(before["pending"]["audio_path"]).stat().st_size
    assert size == before["pending"]["bytes"] == len(scan_audio.mp3(C))
    assert 20 * 128_000 / 8 <= size < 20 * 128_000 / 8 * 1.05, size  # 320 kB of audio and a few frames of padding
    result = project.script("cleanup-old-data")  # the defaults: audio 30 days, a 365-day dispute window
    assert result.returncode == 0, result.stderr
    after = evidence(project)
    for chunk in ("recent", "pending"):  # in a cycle inside the window, or in none yet: file and rows stay
        assert after[chunk] == before[chunk]
        assert Path(after[chunk]["audio_path"]).read_bytes() == scan_audio.mp3(AIRINGS[chunk][0])
    assert "capture audio files kept for unsettled money: 2" in result.stderr
    # Paid more than the window ago: the file goes; the rows and the audio hash stay with the play.
    assert after["old"] == {**before["old"], "audio_path": None}
    assert not Path(before["old"]["audio_path"]).exists()
    # A capture that matched nothing goes with its file, as before.
    assert "nothing" not in after and not Path(before["nothing"]["audio_path"]).exists()

    again = project.script("cleanup-old-data")
    assert again.returncode == 0 and "capture audio files: 0," in again.stderr
    assert evidence(project) == after


def test_a_shorter_window_releases_the_recent_cycle_and_never_the_pending_play(project: Project,
                                                                              scan_audio,  # noqa: F811
                                                                              catalog_prints) -> None:  # noqa: F811
    before = build(project, scan_audio, catalog_prints)
    dry = project.script("cleanup-old-data", "--dry-run", env=project.env(EVIDENCE_DISPUTE_WINDOW_DAYS="0"))
    # A dry run deletes nothing, so the unmatched capture is counted again by the audio step: 2 + 1.
    assert dry.returncode == 0 and "capture audio files: 3 would go" in dry.stderr
    assert evidence(project) == before
    result = project.script("cleanup-old-data", "--batch-size", "1", env=project.env(EVIDENCE_DISPUTE_WINDOW_DAYS="0"))
    assert result.returncode == 0, result.stderr
    assert "capture audio files kept for unsettled money: 1" in result.stderr
    after = evidence(project)
    assert after["pending"] == before["pending"] and Path(before["pending"]["audio_path"]).is_file()
    for chunk in ("old", "recent"):
        assert after[chunk] == {**before[chunk], "audio_path": None}
        assert not Path(before[chunk]["audio_path"]).exists()
