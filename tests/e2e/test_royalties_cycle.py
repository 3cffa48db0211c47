"""Closing royalty cycles through bin/process-royalty-cycle, with hand-computed statements."""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import date
from pathlib import Path

import pytest

from tests.support import Project, race
from tests.world import Station, Track, World
from zamio.db.engine import open_engine, transaction
from zamio.demo import synth
from zamio.royalties.cycles.process import CycleSpec, close_cycle


def close(project: Project, name: str, *args: str) -> tuple[int, str, Path]:
    out = project.tmp_path / "cycles" / name
    result = project.script("process-royalty-cycle", "--name", name, *args, "--out", str(out))
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, result.stdout, out


def scenario(project: Project) -> tuple[World, Station, Track]:
    """Class B station: a PRS work of 240 s (recorded without an ISRC), a local work of 125 s shared by
    Ama (with an e-mail) and Yaw, and a 5 s play of it; loaded, not priced."""
    world = World(project)
    station = world.station(station_class="class_b", name="Joy <FM> & Co")
    world.agreement("052", "15", "2025-01-01")
    prs = world.track("t-prs", "London", "UK Artist", society="052", iswc="T-034.524.680-1")
    local = world.track("t1", "Odo", "Ama <script>alert(1)</script>")
    world.contributor(local, "Ama", "50", email="ama@example.com")
    world.contributor(local, "Yaw", "50")
    world.play(station, "2026-03-02 12:00", 240, track=prs)
    world.play(station, "2026-03-03 12:00", 125, track=local)
    world.play(station, "2026-03-04 12:00", 5, track=local)  # below the 10 s minimum
    world.load()
    return world, station, local


def test_a_per_second_cycle_reconciles_and_writes_hand_computed_statements(project: Project) -> None:
    scenario(project)
    code, stdout, out = close(project, "2026-03", "--from", "2026-03-01", "--to", "2026-03-31")
    assert code == 0
    # class B regular, GHS 0.012/s: PRS work 240 s = 2.88 (28800 units): fee 15 % 4320, PRS 24480;
    # local work 125 s = 1.50 (15000 units): Ama 7500, Yaw 7500.  Gross 43800 = payees 39480 + fees 4320.
    assert "GHS gross priced             4.3800" in stdout
    assert "GHS payees                   3.9480" in stdout and "GHS admin fees               0.4320" in stdout
    assert "payees + suspense + admin fees = gross priced: exact" in stdout
    assert (out / "statements.csv").read_text() == (
        "recipient_type,recipient,recipient_name,currency,plays,seconds,gross,admin_fee,net\n"
        "contributor,ama,Ama,GHS,1,125.000,0.75,0.00,0.75\n"
        "contributor,yaw,Yaw,GHS,1,125.000,0.75,0.00,0.75\n"
        "ineligible,below_min_seconds,,GHS,1,5.000,0.00,0.00,0.00\n"
        "local_society,285,GHAMRO,GHS,0,0.000,0.43,0.00,0.43\n"
        "society,052,PRS,GHS,1,240.000,2.88,0.43,2.45\n")
    # GHS→GBP 0.13 (seed): 24480 × 0.13 = 3182.4 → 3182 GBP units = GBP 0.32.
    assert (out / "remittances.csv").read_text().splitlines()[1] == "052,PRS,GBP,28800,2.88,0.43,2.45,GHS,0.13,0.32"
    page = (out / "statements" / "contributor-ama.GHS.html").read_text()
    assert "Joy &lt;FM&gt; &amp; Co" in page and "<script>" not in page
    usage = (out / "usage" / "052-PRS.csv").read_text().splitlines()
    assert usage[1].startswith("Joy <FM> & Co,2026-03-02 12:00:00,,T0345246801,London")
    assert usage[1].endswith(",no,ISRC missing")  # a recording is reported by its ISRC
    assert (out / "usage" / "052-PRS-invalid.csv").read_text().count("\n") == 2  # listed, not dropped
    outbox = project.query("SELECT recipient, template FROM email_outbox")
    assert [tuple(r) for r in outbox] == [("ama@example.com", "statement_ready")]


def test_a_locked_cycle_is_not_recomputed_and_regenerates_byte_identical_files(project: Project) -> None:
    world, station, local = scenario(project)
    close(project, "2026-03", "--from", "2026-03-01", "--to", "2026-03-31")
    out = project.tmp_path / "cycles" / "2026-03"
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    late = world.play(station, "2026-03-05 12:00", 100, track=local)  # arrives after the lock
    world.load()
    code, stdout, _ = close(project, "2026-03", "--from", "2026-03-01", "--to", "2026-03-31")
    assert code == 0 and "not recomputed" in stdout
    assert project.scalar("SELECT count(*) FROM royalty_pricings WHERE play_id = :p", p=late.id) == 0
    for path in out.rglob("*"):
        if path.is_file():
            path.unlink()
    code, stdout, _ = close(project, "2026-03", "--regenerate")
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    # The late play is an adjustment of the next cycle, never of the locked one.
    code, stdout, out2 = close(project, "2026-04", "--from", "2026-04-01", "--to", "2026-04-30")
    assert "GHS gross priced             1.2000" in stdout  # 0.012 × 1.0 × 100 s
    assert ",adjustment," in (out2 / "statements" / "contributor-ama.GHS.csv").read_text()
    assert project.scalar("SELECT count(*) FROM cycle_line_items WHERE cycle_id = 1") == 5


def test_a_dry_run_prints_the_totals_and_changes_nothing(project: Project) -> None:
    scenario(project)
    result = project.script("process-royalty-cycle", "--name", "2026-03", "--from", "2026-03-01",
                            "--to", "2026-03-31", "--dry-run", "--out", str(project.tmp_path / "dry"))
    assert result.returncode == 0, result.stderr
    assert "GHS gross priced             4.3800" in result.stdout
    for table in ("royalty_cycles", "royalty_ledger", "royalty_pricings", "cycle_pricings", "cycle_line_items",
                  "email_outbox"):
        assert project.scalar(f"SELECT count(*) FROM {table}") == 0, table
    assert not (project.tmp_path / "dry").exists()


def test_a_pool_cycle_spreads_each_station_fee_over_its_weighted_seconds(project: Project) -> None:
    world = World(project)
    station = world.station()
    other = world.station("st2")  # a fee without plays stays whole in suspense
    track = world.track("t1", "Odo", "Ama")
    world.contributor(track, "Ama", "50")
    world.contributor(track, "Yaw", "50")
    world.play(station, "2026-03-02 07:00", 100, track=track)  # prime ×1.5 → weight 150
    world.play(station, "2026-03-02 12:00", 200, track=track)  # regular ×1.0 → weight 200
    world.play(station, "2026-03-02 03:00", 50, track=track)  # off-peak ×0.7 → weight 35
    world.licence_fee(station, "2026-03-01", "2026-03-31", "100.00")  # 1,000,000 units
    world.licence_fee(other, "2026-03-01", "2026-03-31", "5.00")  # 50,000 units
    world.load()
    code, stdout, out = close(project, "2026-03", "--from", "2026-03-01", "--to", "2026-03-31", "--method", "pool")
    # 1,000,000 over 150:200:35 (Σ 385): 389610.39 / 519480.52 / 90909.09 → floors sum 999999, the unit left
    # goes to the largest remainder (.52): 389610, 519481, 90909.  Halves: 194805 + 194805; 259741 + 259740;
    # 45455 + 45454 (odd units go to "ama", the smaller reference).  Ama 500001, Yaw 499999.
    assert "GHS gross priced           105.0000" in stdout and ": exact" in stdout
    rows = (out / "statements.csv").read_text().splitlines()
    assert "contributor,ama,Ama,GHS,3,350.000,50.00,0.00,50.00" in rows
    assert "contributor,yaw,Yaw,GHS,3,350.000,50.00,0.00,50.00" in rows
    assert "suspense,no_eligible_plays:st2,,GHS,1,0.000,5.00,0.00,5.00" in rows
    amounts = project.query("SELECT recipient_ref, sum(amount) FROM royalty_ledger WHERE cycle_id = 1 "
                            "GROUP BY recipient_ref ORDER BY recipient_ref")
    assert [tuple(r) for r in amounts] == [("ama", 500001), ("no_eligible_plays:st2", 50000), ("yaw", 499999)]


@pytest.fixture(scope="module")
def song(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Twenty seconds of a synthetic song, as a WAV file."""
    path = tmp_path_factory.mktemp("song") / "odo.wav"
    synth.write_wav(path, synth.song(61, seconds=20.0))
    return path


def test_a_ledger_line_traces_back_to_its_capture(project: Project, song: Path) -> None:
    world = World(project)
    station = world.station()
    world.track("t1", "Odo", "Ama", audio_path=song)
    world.fingerprint()
    world.hear(station, "2026-03-02 12:00", song)  # recorded on air and recognised
    world.convert("2026-03-03 00:00")  # the detection becomes a play
    play = project.scalar("SELECT play_id FROM play_detections")
    close(project, "2026-03", "--from", "2026-03-01", "--to", "2026-03-31")
    entry = project.scalar("SELECT id FROM royalty_ledger WHERE play_id = :p", p=play)
    result = project.script("process-royalty-cycle", "--trace", str(entry))
    chain = json.loads(result.stdout)
    heard = hashlib.sha256(song.read_bytes()).hexdigest()
    assert chain["play"]["id"] == play and chain["detections"][0]["audio_sha256"] == heard
    assert chain["rate_card"]["rate_per_second"] == "0.015" and chain["cycle"]["name"] == "2026-03"


def test_a_pricing_dated_after_the_cycle_waits_for_the_next_one(project: Project) -> None:
    world, station, local = scenario(project)
    april = world.play(station, "2026-04-02 12:00", 100, track=local)  # priced before March closes
    world.load()
    code, stdout, _ = close(project, "2026-03", "--from", "2026-03-01", "--to", "2026-03-31")
    assert code == 0 and "GHS gross priced             4.3800" in stdout
    waiting = project.scalar("SELECT id FROM royalty_pricings WHERE play_id = :p", p=april.id)
    assert project.scalar("SELECT open_pricings_from FROM royalty_cycles WHERE name = '2026-03'") == waiting
    code, stdout, _ = close(project, "2026-04", "--from", "2026-04-01", "--to", "2026-04-30")
    assert code == 0 and "GHS gross priced             1.2000" in stdout  # 0.012 × 1.0 × 100 s
    assert project.scalar("SELECT c.name FROM cycle_pricings m JOIN royalty_cycles c ON c.id = m.cycle_id "
                          "WHERE m.play_id = :p", p=april.id) == "2026-04"


def test_a_recalculation_of_a_locked_period_is_paid_by_the_next_cycle(project: Project) -> None:
    world, station, local = scenario(project)
    close(project, "2026-03", "--from", "2026-03-01", "--to", "2026-03-31")
    march = [tuple(r) for r in project.query("SELECT * FROM cycle_line_items ORDER BY id")]
    world.rate_card("class_b", "regular", "0.02", "1.0", "2026-03-01")  # a correction of March's rate
    world.load()
    result = project.script("calculate-royalty-distributions", "--recalculate", "--from", "2026-03-01",
                            "--to", "2026-03-31")
    assert result.returncode == 0, result.stderr
    code, stdout, out = close(project, "2026-04", "--from", "2026-04-01", "--to", "2026-04-30")
    # The difference only: PRS work 240 s × (0.020 − 0.012) = 1.92, local work 125 s × 0.008 = 1.00.
    assert code == 0 and "GHS gross priced             2.9200" in stdout and ": exact" in stdout
    lines = (out / "statements" / "contributor-ama.GHS.csv").read_text().splitlines()
    assert any(",reversal,,-0.75,adjustment,recalculated" in line for line in lines), lines
    assert [tuple(r) for r in project.query("SELECT * FROM cycle_line_items WHERE cycle_id = 1 ORDER BY id")] == march
    assert project.scalar("SELECT count(*) FROM royalty_pricings p LEFT JOIN cycle_pricings m "
                          "ON m.play_id = p.play_id AND m.version = p.version WHERE m.cycle_id IS NULL") == 0


@pytest.mark.postgres
def test_two_closes_at_once_pay_each_pricing_once(postgres_url: str, tmp_path: Path) -> None:
    project = Project(postgres_url, tmp_path)
    world, station, local = scenario(project)
    for day in range(1, 20):
        world.play(station, f"2026-04-{day:02d} 12:00", 100, track=local)
    world.load()
    assert project.script("calculate-royalty-distributions").returncode == 0
    engines = [open_engine(postgres_url) for _ in range(2)]
    start = threading.Barrier(2)
    found = {}

    def run(engine, spec: CycleSpec) -> None:  # noqa: ANN001
        start.wait()
        with transaction(engine) as conn:
            found[spec.name] = close_cycle(conn, spec, "racer")[1]

    threads = [threading.Thread(target=run, args=(engine, spec)) for engine, spec in zip(engines, (
        CycleSpec("2026-03", date(2026, 3, 1), date(2026, 3, 31)),
        CycleSpec("2026-04", date(2026, 4, 1), date(2026, 4, 30))))]
    race(threads, engines)
    assert all(t.reconciled for totals in found.values() for t in totals) and len(found) == 2
    assert sum(t.gross for totals in found.values() for t in totals) == project.scalar(
        "SELECT sum(gross - previous_gross) FROM royalty_pricings")
    assert project.scalar("SELECT count(*) FROM cycle_pricings") == project.scalar(
        "SELECT count(*) FROM royalty_pricings")
