"""Per-recipient statements written by several worker processes: the same bytes as one process."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from tests.support import Project
from tests.test_royalties_support import Books, utc
from zamio.db import transaction
from zamio.royalties.cycle import find_cycle
from zamio.royalties.statement_workers import write_statements
from zamio.royalties.statements import recipient_ranges


def files(folder: Path) -> dict[Path, bytes]:
    return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def busy_month(project: Project) -> None:
    """Twelve works, each with its own writers (one ref needing a safe file name), played through March."""
    books = Books(project.engine)
    station = books.station(station_class="class_b", name="Joy <FM> & Co")
    books.agreement("052", "15", date(2025, 1, 1))
    artist = books.artist("art-1", "Ama <b>& Co</b>")
    books.track("t-prs", "London", artist, society_id=books.society_id("052"), isrc="GBAYE0601498")
    for n in range(12):
        track = books.track(f"t{n}", f"Song «{n}»", artist)
        books.contributor(track, f"writer {n}/a" if n == 5 else f"w{n:02d}", f"Writer {n}", "60")
        books.contributor(track, f"w{n + 1:02d}", f"Writer {n + 1}", "40")
        for day in range(n % 4 + 1):
            books.play(station, utc("2026-03-02 12:00") + timedelta(days=day, minutes=n), 120 + n, track_id=track)
    books.play(station, utc("2026-03-09 08:00"), 240, track_id=1)


def test_statement_workers_write_the_bytes_one_process_writes(project: Project) -> None:
    busy_month(project)
    out = project.tmp_path / "cycles" / "2026-03"
    result = project.script("process-royalty-cycle", "--name", "2026-03", "--from", "2026-03-01",
                            "--to", "2026-03-31", "--out", str(out))
    assert result.returncode == 0, result.stderr
    single = files(out / "statements")
    assert len(single) == 2 * project.scalar("SELECT count(*) FROM cycle_line_items")
    with transaction(project.engine, read_only=True) as conn:
        cycle = find_cycle(conn, "2026-03")
        for workers in (2, 3):  # two ranges, and one between two cuts
            folder = project.tmp_path / f"workers-{workers}"
            written = write_statements(conn, cycle, folder, workers=workers, min_recipients=0)
            assert written == len(single) // 2
            assert files(folder / "statements") == single, workers


def test_recipient_ranges_cover_every_recipient_once_in_database_order(project: Project) -> None:
    busy_month(project)
    result = project.script("process-royalty-cycle", "--name", "2026-03", "--from", "2026-03-01",
                            "--to", "2026-03-31", "--out", str(project.tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    with transaction(project.engine, read_only=True) as conn:
        cycle = find_cycle(conn, "2026-03")
        assert recipient_ranges(conn, cycle.id, 1) == [(None, None)]
        ranges = recipient_ranges(conn, cycle.id, 3)
    assert len(ranges) == 3 and ranges[0][0] is None and ranges[-1][1] is None
    assert all(left[1] == right[0] for left, right in zip(ranges, ranges[1:]))  # contiguous, no gap
