"""bin/cleanup-old-data and unknown recordings, on SQLite and PostgreSQL: music heard once is forgotten after
UNKNOWN_RETENTION_DAYS (or --unknown-days); an unknown recording keeps its excerpt file and its prints while its
suspense account holds money, and loses them by the usual rules once that money is gone from it.

The world is made by the real jobs: 20-second snippets of Joy (class_b, GHS 0.012 a second) recorded by
``scan-station-streams``, plays by ``convert-matches``, money by ``calculate-royalty-distributions``, cycles by
``process-royalty-cycle`` and the money released by ``suspense-report --declare``:

* song X, 2025-01-10 and 2025-01-11: U-000001, two plays in suspense unidentified:U-000001, its excerpt the
  first snippet's file;
* song Y, 2025-01-12: heard once, a candidate;
* song Z, yesterday: heard once, a recent candidate.

Every run sets EVIDENCE_DISPUTE_WINDOW_DAYS=0, so a play paid by a locked cycle is settled at once and only the
unknown recording's own rule can keep the excerpt.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from tests.scan_helpers import UNKNOWN_SEEDS, drop, rows, scan, scan_audio  # noqa: F401
from tests.support import Project
from tests.world import World
from zamio.db.tables import captures

X, Y, Z = UNKNOWN_SEEDS
SETTLED = {"EVIDENCE_DISPUTE_WINDOW_DAYS": "0"}


def run(project: Project, name: str, *args: str, **env: str) -> str:
    result = project.script(name, *args, env=project.env(**SETTLED, **env))
    assert result.returncode == 0, f"{name} exited {result.returncode}:\n{result.stderr}"
    return result.stderr


def build(project: Project, scan_audio) -> dict[str, Path]:  # noqa: F811
    """The world of the module docstring, with the January cycle locked; return each snippet's stored file."""
    world = World(project)
    world.station("joy", "class_b")
    for period in ("off_peak", "prime", "regular"):
        world.rate_card("class_b", period, "0.012", "1.0", "2024-01-01")
    world.load()
    yesterday = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    snippets = {
        "x1": (X, "2025-01-10T10:00:00Z"),
        "x2": (X, "2025-01-11T10:00:00Z"),
        "y1": (Y, "2025-01-12T10:00:00Z"),
        "z1": (Z, yesterday),
    }
    for chunk, (song, started_at) in snippets.items():
        drop(
            project.var_dir / "inbox",
            f"{chunk}.mp3",
            scan_audio.mp3(song),
            {"station_ref": "joy", "chunk_id": chunk, "started_at": started_at},
        )
    scanned = scan(project, "--only", "snippets")
    assert scanned.returncode == 0, scanned.stderr
    run(project, "convert-matches")
    run(project, "calculate-royalty-distributions")
    run(
        project,
        "process-royalty-cycle",
        "--name",
        "2025-01",
        "--from",
        "2025-01-01",
        "--to",
        "2025-01-31",
        "--out",
        str(project.tmp_path / "cycles" / "2025-01"),
    )
    files = {
        row.chunk_id: Path(row.audio_path) for row in rows(project, select(captures.c.chunk_id, captures.c.audio_path))
    }
    assert all(path.is_file() for path in files.values())
    assert index(project) == {
        "x1": ("joined", "U-000001", True),
        "x2": ("joined", "U-000001", False),
        "y1": ("single", None, True),
        "z1": ("single", None, True),
    }
    # x2 covers no part of the song x1 did not: it keeps no prints.  The excerpt is x1's file.
    assert project.scalar("SELECT excerpt_path FROM unknown_recordings") == str(files["x1"])
    assert held(project) == 2 * play_units(project)
    return files


def index(project: Project) -> dict[str, tuple]:
    """Per snippet in the unknown index: its status, recording and whether it keeps prints."""
    found = project.query(
        "SELECT c.chunk_id, u.status, r.unknown_ref, "
        "EXISTS (SELECT 1 FROM unknown_prints p WHERE p.capture_id = u.capture_id) AS printed "
        "FROM unknown_captures u JOIN captures c ON c.id = u.capture_id "
        "LEFT JOIN unknown_recordings r ON r.id = u.unknown_id"
    )
    return {row.chunk_id: (row.status, row.unknown_ref, bool(row.printed)) for row in found}


def play_units(project: Project) -> int:
    """One play's money by hand: its seconds to the millisecond × 120 units a second, half up (both the same)."""
    [seconds] = {
        row.duration_seconds
        for row in project.query(
            "SELECT duration_seconds FROM play_logs WHERE recording_key = 'U-000001' AND status = 'final'"
        )
    }
    return (round(seconds * 1000) * 120 + 500) // 1000


def held(project: Project) -> int:
    return int(
        project.scalar(
            "SELECT coalesce(sum(amount), 0) FROM royalty_ledger "
            "WHERE recipient_type = 'suspense' AND recipient_ref = 'unidentified:U-000001'"
        )
    )


def chunks(project: Project) -> set[str]:
    return {row.chunk_id for row in project.query("SELECT chunk_id FROM captures")}


def test_music_heard_once_goes_after_its_retention_and_a_held_recording_keeps_its_excerpt(
    project: Project, scan_audio
) -> None:  # noqa: F811
    files = build(project, scan_audio)
    # A long retention keeps the candidate heard once (its audio file goes after --audio-days like any other).
    first = run(project, "cleanup-old-data", UNKNOWN_RETENTION_DAYS="3650")
    assert "music heard once: 0," in first and "unknown-index prints of released unknown recordings: 0," in first
    assert index(project)["y1"] == ("single", None, True) and "y1" in chunks(project)
    assert not files["y1"].exists() and not files["x2"].exists()  # settled, and not the excerpt
    # The excerpt of a recording whose suspense holds money stays, though its play is settled; so do its prints.
    assert files["x1"].read_bytes() == scan_audio.mp3(X)
    assert "capture audio files kept for unsettled money: 1" in first
    assert files["z1"].is_file()  # yesterday's

    # The option wins over the setting: the candidate heard once goes (prints, row, then the capture), the recent
    # one stays, and the recording keeps everything.
    second = run(project, "cleanup-old-data", "--unknown-days", "30", UNKNOWN_RETENTION_DAYS="3650")
    assert "unknown-index prints of music heard once: 1," in second and "music heard once: 1," in second
    assert index(project) == {
        "x1": ("joined", "U-000001", True),
        "x2": ("joined", "U-000001", False),
        "z1": ("single", None, True),
    }
    assert chunks(project) == {"x1", "x2", "z1"}
    assert files["x1"].is_file() and files["z1"].is_file()


def test_a_recording_whose_money_is_released_loses_its_prints_then_its_excerpt(project: Project, scan_audio) -> None:  # noqa: F811
    files = build(project, scan_audio)
    run(project, "cleanup-old-data")
    assert index(project)["x1"] == ("joined", "U-000001", True) and files["x1"].is_file()
    # Nobody claims it: its money goes to the non-distributable account (a new pricing version of each play that
    # reverses the suspense line), so the suspense account holds nothing.
    run(project, "suspense-report", "--declare", "--years", "0", "--by", "finance", "--reason", "no claimant")
    assert held(project) == 0
    report = project.script(
        "unidentified-report", "--csv", str(project.tmp_path / "u.csv"), "--html", str(project.tmp_path / "u.html")
    )
    assert report.returncode == 0, report.stderr
    [line] = (project.tmp_path / "u.csv").read_text().splitlines()[1:]
    assert line.startswith("1,U-000001,2,joy,") and ",,0,0," in line  # two plays, nothing held

    dry = run(project, "cleanup-old-data", "--dry-run")
    assert "unknown-index prints of released unknown recordings: 1 would go" in dry
    released = run(project, "cleanup-old-data")
    assert "unknown-index prints of released unknown recordings: 1," in released
    assert index(project)["x1"] == ("joined", "U-000001", False)  # the recording, its plays and captures stay
    assert project.scalar("SELECT count(*) FROM play_logs WHERE recording_key = 'U-000001'") == 2
    # The declared versions wait for the next cycle: until it is locked their money holds the evidence.
    assert files["x1"].is_file() and "capture audio files kept for unsettled money: 1" in released
    run(
        project,
        "process-royalty-cycle",
        "--name",
        "2025-02",
        "--from",
        "2025-02-01",
        "--to",
        "2025-02-28",
        "--out",
        str(project.tmp_path / "cycles" / "2025-02"),
    )
    last = run(project, "cleanup-old-data")
    assert not files["x1"].exists() and "capture audio files kept for unsettled money: 0" in last
    assert project.scalar("SELECT excerpt_path FROM unknown_recordings") == str(files["x1"])
