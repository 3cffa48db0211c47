"""Per-recipient statements: several worker processes write the bytes of one, PostgreSQL shapes as Python."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Float, cast, insert

from tests.support import Project
from tests.world import World, utc
from zamio.db.engine import transaction
from zamio.db.tables import cycle_line_items, cycle_pricings, royalty_cycles, royalty_ledger
from zamio.royalties.cycles.process import find_cycle
from zamio.royalties.statements.formatting import Formatter, Letterhead, Presentation
from zamio.royalties.statements.select import StatementCycle, recipient_ranges, statement_fields, statement_lines
from zamio.royalties.statements.shape import FieldLines, Figures, Recipient, StatementLine, line_of_row, shape
from zamio.royalties.statements.workers import write_statements


def files(folder: Path) -> dict[Path, bytes]:
    return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def busy_month(project: Project) -> None:
    """Twelve works, each with its own writers, played through March, a PRS work, and an unidentified
    recording held in suspense (an account whose statement file needs a safe name); loaded."""
    world = World(project)
    station = world.station(station_class="class_b", name="Joy <FM> & Co")
    world.agreement("052", "15", "2025-01-01")
    artist = "Ama <b>& Co</b>"
    prs = world.track("t-prs", "London", artist, society="052", isrc="GBAYE0601498")
    for n in range(12):
        track = world.track(f"t{n}", f"Song «{n}»", artist)
        world.contributor(track, f"Writer {n}", "60")
        world.contributor(track, f"Writer {n + 1}", "40")
        for day in range(n % 4 + 1):
            world.play(station, utc("2026-03-02 12:00") + timedelta(days=day, minutes=n), 120 + n, track=track)
    world.play(station, "2026-03-09 08:00", 240, track=prs)
    world.play(station, "2026-03-10 12:00", 100, isrc="USRC17607839")
    world.load()


def close_busy_month(project: Project) -> Path:
    """Record ``busy_month`` and close it with bin/process-royalty-cycle; return its output folder."""
    busy_month(project)
    out = project.tmp_path / "cycles" / "2026-03"
    result = project.script("process-royalty-cycle", "--name", "2026-03", "--from", "2026-03-01",
                            "--to", "2026-03-31", "--out", str(out))
    assert result.returncode == 0, result.stderr
    return out


def test_statement_workers_write_the_bytes_one_process_writes(project: Project) -> None:
    out = close_busy_month(project)
    single = files(out / "statements")
    assert len(single) == 3 * project.scalar("SELECT count(*) FROM cycle_line_items")  # page, lines, summary
    digest = hashlib.sha256(b"unidentified:isrc:USRC17607839").hexdigest()[:8]
    # The account's ':' made safe in its file's name, the digest keeping the name unique.
    assert Path(f"suspense-unidentified_isrc_USRC17607839-{digest}.GHS.csv") in single
    with transaction(project.engine, read_only=True) as conn:
        cycle = find_cycle(conn, "2026-03")
        for workers in (2, 3):  # two ranges, and one between two cuts
            folder = project.tmp_path / f"workers-{workers}"
            written = write_statements(conn, cycle, folder, workers=workers, min_recipients=0)
            assert written == len(single) // 3
            assert files(folder / "statements") == single, workers


def test_recipient_ranges_cut_the_line_items_into_contiguous_ranges(project: Project) -> None:
    close_busy_month(project)
    with transaction(project.engine, read_only=True) as conn:
        cycle = find_cycle(conn, "2026-03")
        assert recipient_ranges(conn, cycle.id, 1) == [(None, None)]
        ranges = recipient_ranges(conn, cycle.id, 3)
    assert len(ranges) == 3 and ranges[0][0] is None and ranges[-1][1] is None
    assert all(left[1] == right[0] for left, right in zip(ranges, ranges[1:]))  # contiguous, no gap
    items = [r[0] for r in project.query("SELECT id FROM cycle_line_items ORDER BY id")]
    inside = [sum(1 for low, high in ranges if (low is None or i >= low) and (high is None or i < high))
              for i in items]
    assert inside == [1] * len(items)  # every recipient in exactly one range


def test_files_replace_the_statements_folder_whole(project: Project) -> None:
    out = close_busy_month(project)
    written = files(out / "statements")
    (out / "statements" / "stale.csv").write_text("from an older run")
    (out / ".statements.partial").mkdir()  # what a run killed while writing leaves
    (out / ".statements.partial" / "half.csv").write_text("entry_id,pl")
    result = project.script("process-royalty-cycle", "--name", "2026-03", "--regenerate", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert files(out / "statements") == written
    assert sorted(p.name for p in out.iterdir()) == ["balances.csv", "remittances.csv", "statements",
                                                      "statements.csv", "summary.txt", "usage"]


SECONDS = [0.0625, -0.0, 0.0, 1e-7, -1e-7, 120.0, 2.0005, 12345.6785, float("nan")]
AMOUNTS = [-12345, 5, -5, 50, 150, 250, -250, 0, 9_999_999_999_995]
DETAILS = [None, '{"share":"33.333333"}', '{"reverses_kind": "share"}', '{"share":"1,5"}', '{"share":"<5>&"}']
REASONS = [None, "below_min_seconds", 'a,b "c"\nd', "<x>&'y'", "\r", '=HYPERLINK("x")']
KINDS = ["share", "reversal", "admin_fee", "odd,kind <&>"]
NAMES = [None, "Ama", "Ámá", ""]
RECIPIENTS = [("contributor", "ama", "GHS"), ("contributor", "writer 5/a", "GHS"), ("society", "052", "JPY"),
              ("suspense", 'no_agreement:x,"y"', "GHS"), ("artist", "art-1", "BHD")]


def awkward_cycle(project: Project, name: str, method: str, period: tuple[date, date],
                  plays: list[tuple[int | None, date | None]], lines: int) -> None:
    """A locked cycle whose ledger lines take every awkward value a cell can hold, as rows written directly."""
    now = utc("2026-05-01 00:00")
    with project.engine.begin() as conn:
        cycle = conn.execute(insert(royalty_cycles).values(
            name=name, territory="GH", period_from=period[0], period_to=period[1], method=method, status="locked",
            rounding="ROUND_HALF_EVEN", created_at=now, locked_at=now)).inserted_primary_key[0]
        for kind, ref, currency in RECIPIENTS:
            conn.execute(insert(cycle_line_items).values(
                cycle_id=cycle, recipient_type=kind, recipient_ref=ref, currency=currency, plays=1, seconds=0.0,
                gross=0, admin_fee=0, net=0))
        for play, play_date in plays:
            if play is not None and method == "per_second":
                conn.execute(insert(cycle_pricings).values(play_id=play, version=1, cycle_id=cycle,
                                                           play_date=play_date))
        for i in range(lines):
            kind, ref, currency = RECIPIENTS[i % len(RECIPIENTS)]
            play = plays[i % len(plays)][0]
            conn.execute(insert(royalty_ledger).values(
                entry_key=f"{name}:{i}", play_id=play, cycle_id=cycle if method == "pool" else None, version=1,
                kind=KINDS[i % len(KINDS)], recipient_type=kind, recipient_ref=ref,
                recipient_name=NAMES[i % len(NAMES)], amount=AMOUNTS[i % len(AMOUNTS)], currency=currency,
                seconds=cast(repr(SECONDS[i % len(SECONDS)]), Float),  # as text: a -0.0 parameter arrives as 0
                reason=REASONS[i % len(REASONS)],
                details=DETAILS[i % len(DETAILS)], run_id="test", created_at=now))


def comparable(lines: list[StatementLine]) -> list[StatementLine]:
    """Lines whose seconds compare as written (a NaN is not equal to itself)."""
    return [line._replace(seconds=repr(line.seconds)) for line in lines]


@pytest.mark.postgres
def test_postgresql_formats_lines_as_the_reference_does(postgres_url: str, tmp_path: Path) -> None:
    project = Project(postgres_url, tmp_path)
    world = World(project)
    station = world.station(name='Joy <FM> & Co, "Live"\nAccra')
    track = world.track("t1", "Odo 'love' <b>", "Ama «Nkansah» & Sons", isrc="GHA120000001")
    plays = [world.play(station, "2026-03-02 12:00", 120, track=track),
             world.play(station, "2026-03-05 08:30:15", 60, isrc="GHA120000002", title='Song, "one"',
                        artist="Kofi & <Yaw>"),
             world.play(station, "2026-02-27 23:59:59", 30, track=track),
             world.play(station, "2026-04-03 10:00", 90, track=track)]
    world.load()
    plain, untracked, late, pooled = (play.id for play in plays)
    awkward_cycle(project, "2026-03", "per_second", (date(2026, 3, 1), date(2026, 3, 31)),
                  [(plain, date(2026, 3, 2)), (untracked, date(2026, 3, 5)), (late, date(2026, 2, 27))], 90)
    project.execute("INSERT INTO royalty_pricings (play_id, version, status, station_id, play_date, seconds, gross, "
                    "currency, outcome_hash, created_at) VALUES (:p, 1, 'priced', :s, '2026-03-31', 90, 0, 'GHS', "
                    "'h', now())", p=pooled, s=station.id)  # dated before the pool cycle: an adjustment there
    awkward_cycle(project, "2026-04", "pool", (date(2026, 4, 1), date(2026, 4, 30)), [(pooled, None), (None, None)],
                  45)
    shaped = {}
    with transaction(project.engine, read_only=True) as conn:
        for name, count in (("2026-03", 90), ("2026-04", 45)):
            cycle = find_cycle(conn, name)
            fast = list(map(FieldLines().line, statement_fields(conn, StatementCycle.of(cycle))))
            reference = [line_of_row(row, cycle.period_from) for row in statement_lines(conn, cycle.id, cycle.method)]
            assert len(fast) == count and comparable(fast) == comparable(reference), name
            assert any(line.adjustment for line in fast), name
            shaped[name] = fast
    contributor = [line for line in reference if line.recipient_ref == "ama"]
    assert contributor[0].entry == project.scalar("SELECT min(id) FROM royalty_ledger WHERE cycle_id = 2")
    fast = shaped["2026-03"]
    assert {line.played_local for line in fast} - {""} <= {line.played_utc for line in fast}  # Accra: UTC+0
    march = StatementCycle(1, "2026-03", "per_second", date(2026, 3, 1), date(2026, 3, 31))
    formatter = Formatter(march, Letterhead("GHAMRO"), Presentation().page_template())
    texts = []
    for kind, ref, currency in RECIPIENTS[:2]:
        mine = [line for line in fast if line.recipient_type == kind and line.recipient_ref == ref]
        statement = shape(Recipient(kind, ref, None, currency), Figures(0, sum(line.amount for line in mine)), mine)
        detail, rows = formatter.detail(statement)
        page = formatter.page(statement, rows)
        assert "<script" not in page and "Joy &lt;FM&gt; &amp; Co" in page
        texts.append(detail)
    assert '"Joy <FM> & Co, ""Live""\nAccra"' in "".join(texts)
    assert ',"\'=HYPERLINK(""x"")",' in "".join(texts)  # quoted for spreadsheets
