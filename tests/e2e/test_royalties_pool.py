"""Pool cycles: licence fees spread pro rata by days across cycle boundaries, exact to the unit, never dropped.

Fees are loaded with bin/import-catalog --licence-fees and cycles closed with bin/process-royalty-cycle.
Each station has one work without contributors, so its artist is paid the whole of every part.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.support import Project
from tests.world import World


def load_fees(project: Project, rows: str) -> None:
    path = project.tmp_path / "fees.csv"
    path.write_text("station_ref,period_from,period_to,amount,currency\n" + rows)
    result = project.script("import-catalog", "--licence-fees", str(path))
    assert result.returncode == 0, result.stderr


def close_pool(project: Project, name: str, first: str, last: str) -> tuple[str, str, Path]:
    out = project.tmp_path / "cycles" / name
    result = project.script("process-royalty-cycle", "--name", name, "--from", first, "--to", last,
                            "--method", "pool", "--out", str(out))
    assert result.returncode == 0, result.stderr
    return result.stdout, result.stderr, out


def parts(project: Project, station: str) -> list[tuple[str, str, str, int]]:
    rows = project.query("SELECT c.name, p.day_from, p.day_to, p.amount FROM licence_fee_parts p "
                         "JOIN royalty_cycles c ON c.id = p.cycle_id JOIN station_licence_fees f ON f.id = p.fee_id "
                         "JOIN stations s ON s.id = f.station_id WHERE s.station_ref = :s ORDER BY p.day_from",
                         s=station)
    return [(name, str(first), str(last), amount) for name, first, last, amount in rows]


def spread_in(project: Project, cycle: str) -> dict[str, int]:
    rows = project.query("SELECT l.recipient_ref, sum(l.amount) FROM royalty_ledger l JOIN royalty_cycles c "
                         "ON c.id = l.cycle_id WHERE c.name = :c GROUP BY l.recipient_ref", c=cycle)
    return {ref: int(units) for ref, units in rows}


def stations_with_plays(project: Project, months: list[str]) -> World:
    """st1 and st2 (class A), each playing its own work (of Artist 1 and Artist 2) once at noon on the 10th of
    each month given; loaded."""
    world = World(project)
    for n in (1, 2):
        station = world.station(f"st{n}")
        track = world.track(f"t{n}", f"Song {n}", f"Artist {n}")
        for month in months:
            world.play(station, f"{month}-10 12:00", 100, track=track)
    world.load()
    return world


def test_a_fee_crossing_cycle_boundaries_is_spread_by_days_and_its_parts_sum_to_it(project: Project) -> None:
    stations_with_plays(project, ["2026-01", "2026-02", "2026-03"])
    # st1: GHS 365.00 for 2026 = 3,650,000 units over 365 days, 10,000 a day.
    # st2: GHS 10.00 for the first quarter = 100,000 units over 90 days (31 + 28 + 31): rounding each month's
    # exact share on its own (34,444.44 / 31,111.11 / 34,444.44) would pay 99,999 units and lose one.
    load_fees(project, "st1,2026-01-01,2026-12-31,365.00,GHS\nst2,2026-01-01,2026-03-31,10.00,GHS\n")
    stdout, _, _ = close_pool(project, "2026-01", "2026-01-01", "2026-01-31")
    # January: st1 31 days × 10,000 = 310,000; st2 C(31) = 100,000 × 31 / 90 = 34,444.4 → 34,444.
    # Gross 344,444 units = GHS 34.4444.  Still to spread: st1 3,340,000 (334 days), st2 65,556.
    assert "GHS gross priced            34.4444" in stdout and ": exact" in stdout, stdout
    assert "GHS licence fees for days after 2026-01-31: 340.5556, spread by the pool cycles that cover them" \
        in stdout
    assert spread_in(project, "2026-01") == {"artist-1": 310_000, "artist-2": 34_444}
    stdout, _, _ = close_pool(project, "2026-02", "2026-02-01", "2026-02-28")
    # February: st1 28 × 10,000 = 280,000; st2 C(59) − C(31) = 65,555.6 → 65,556, minus 34,444 = 31,112.
    assert "GHS gross priced            31.1112" in stdout, stdout
    stdout, _, _ = close_pool(project, "2026-03", "2026-03-01", "2026-03-31")
    # March: st1 310,000; st2 C(90) − C(59) = 100,000 − 65,556 = 34,444.
    assert "GHS gross priced            34.4444" in stdout, stdout
    assert parts(project, "st2") == [("2026-01", "2026-01-01", "2026-01-31", 34_444),
                                     ("2026-02", "2026-02-01", "2026-02-28", 31_112),
                                     ("2026-03", "2026-03-01", "2026-03-31", 34_444)]
    assert sum(p[3] for p in parts(project, "st2")) == 100_000  # the whole fee, to the unit
    assert [p[3] for p in parts(project, "st1")] == [310_000, 280_000, 310_000]
    # The rest of st1's year waits: 3,650,000 − 900,000 = 2,750,000 units (275 days) for the cycles to come.
    assert "GHS licence fees for days after 2026-03-31: 275.0000" in stdout
    assert spread_in(project, "2026-03") == {"artist-1": 310_000, "artist-2": 34_444}
    # A pool line traces back to the fee and the days it was spread from.
    entry = project.scalar("SELECT l.id FROM royalty_ledger l JOIN royalty_cycles c ON c.id = l.cycle_id "
                           "WHERE c.name = '2026-02' AND l.recipient_ref = 'artist-2'")
    chain = json.loads(project.script("process-royalty-cycle", "--trace", str(entry)).stdout)
    assert chain["licence_fee"]["amount"] == 100_000
    assert (chain["licence_fee_part"]["day_from"], chain["licence_fee_part"]["day_to"],
            chain["licence_fee_part"]["amount"]) == ("2026-02-01", "2026-02-28", 31_112)


def test_fee_days_without_plays_are_held_in_suspense_and_late_fees_are_paid_as_adjustments(project: Project) -> None:
    stations_with_plays(project, ["2026-01"])  # nothing played in February
    load_fees(project, "st1,2026-01-01,2026-02-28,59.00,GHS\n")  # 59 days, 10,000 units a day
    stdout, _, _ = close_pool(project, "2026-01", "2026-01-01", "2026-01-31")
    assert "GHS gross priced            31.0000" in stdout, stdout
    # A fee for st2's January, loaded after January was locked: the next pool cycle spreads it over st2's
    # January plays, as an adjustment; February's days of st1's fee have no play to go to: suspense.
    load_fees(project, "st2,2026-01-01,2026-01-31,6.20,GHS\n")
    stdout, stderr, out = close_pool(project, "2026-02", "2026-02-01", "2026-02-28")
    # 28 × 10,000 = 280,000 held for st1, 62,000 paid to st2's artist: gross 342,000 = GHS 34.20.
    assert "GHS gross priced            34.2000" in stdout and "GHS suspense                28.0000" in stdout
    assert "no eligible play to spread GHS 28.0000 over; held in suspense (no_eligible_plays:st1)" in stderr
    held = project.query("SELECT recipient_ref, amount, reason FROM royalty_ledger "
                         "WHERE recipient_type = 'suspense'")
    assert [tuple(r) for r in held] == [("no_eligible_plays:st1", 280_000, "no_eligible_plays")]
    rows = (out / "statements.csv").read_text().splitlines()
    assert "suspense,no_eligible_plays:st1,,GHS,1,0.000,28.00,0.00,28.00" in rows
    assert "artist,artist-2,Artist 2,GHS,1,100.000,6.20,0.00,6.20" in rows
    lines = (out / "statements" / "artist-artist-2.GHS.csv").read_text().splitlines()
    # ... kind, share_percent, amount, adjustment, reason (none), played_at_local (UTC station), note
    assert len(lines) == 2 and lines[1].endswith(
        ",share,100.000000,6.20,adjustment,,2026-01-10 12:00:00,Adjustment: a play of an earlier period."), lines
    assert parts(project, "st1") == [("2026-01", "2026-01-01", "2026-01-31", 310_000),
                                     ("2026-02", "2026-02-01", "2026-02-28", 280_000)]
    assert parts(project, "st2") == [("2026-02", "2026-01-01", "2026-01-31", 62_000)]
