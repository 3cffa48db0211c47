"""Money in suspense: keyed and aged by bin/suspense-report, released when identified, declared
non-distributable past the limit with append-only lines that reconcile, on SQLite and PostgreSQL.

Class A station at noon (regular): GHS 0.015 per second, so a 100 s play is GHS 1.50 = 15000 units.
"""

from __future__ import annotations

import csv
import io
import threading
from datetime import date
from functools import partial
from pathlib import Path

import pytest

from tests.support import Project, race
from tests.world import World, store_imported_play, utc
from zamio.db.engine import open_engine, transaction
from zamio.royalties.pricing.run import price_pending
from zamio.royalties.suspense.declarations import declare_past_limit
from zamio.royalties.suspense.report import Policy, completed_years

ISRC = "USRC17607839"


def report(project: Project, *args: str) -> tuple[str, list[dict[str, str]]]:
    out = project.tmp_path / "suspense.csv"
    result = project.script("suspense-report", *args, "--csv", str(out))
    assert result.returncode == 0, result.stderr
    return result.stdout, list(csv.DictReader(io.StringIO(out.read_text())))


def close(project: Project, name: str, first: str, last: str, *args: str) -> tuple[str, Path]:
    out = project.tmp_path / "cycles" / name
    result = project.script("process-royalty-cycle", "--name", name, "--from", first, "--to", last, *args,
                            "--out", str(out))
    assert result.returncode == 0, result.stderr
    return result.stdout, out


def price(project: Project, *args: str) -> None:
    result = project.script("calculate-royalty-distributions", *args)
    assert result.returncode == 0, result.stderr


def held_money(project: Project) -> tuple[World, dict[str, int]]:
    """Two class A stations: an unidentified recording played three times, a work with bad shares played
    in June 2027 and a work paid whole to its artist; loaded; return the plays' ids by name."""
    world = World(project)
    st1, st2 = world.station("st1"), world.station("st2")
    bad = world.track("t-bad", "Odo", "Ama")
    world.contributor(bad, "Ama", "60")  # 60 + 30 ≠ 100: bad shares, held whole
    world.contributor(bad, "Yaw", "30")
    good = world.track("t-good", "Ayo", "Kofi")
    plays = {"march_1": world.play(st1, "2026-03-02 12:00", 100, isrc=ISRC, title="Song", artist="Band"),
             "march_2": world.play(st1, "2026-03-20 12:00", 100, isrc=ISRC, title="Song", artist="Band"),
             "other_station": world.play(st2, "2026-03-05 12:00", 100, isrc=ISRC),
             "paid": world.play(st1, "2026-03-03 12:00", 100, track=good)}
    world.load()
    ids = {name: play.id for name, play in plays.items()}
    ids["june"] = store_imported_play(project, "st1", "t-bad", utc("2027-06-10 12:00"), 100)
    return world, ids


def test_the_ageing_report_lists_held_money_by_station_period_and_recording(project: Project) -> None:
    held_money(project)
    price(project)
    stdout, rows = report(project, "--as-of", "2030-01-15")
    # March 2026 ends 2026-03-31: on 2030-01-15 that is 1386 days, 3 whole years; non-distributable from
    # 2030-01-01 (three years after the end of 2026).  June 2027 ends 2027-06-30: 930 days, 2 years; from
    # 2031-01-01.  The paid play is not in suspense.
    assert [(r["station"], r["period"], r["reason"], r["identifier"], r["plays"], r["amount_units"], r["amount"],
             r["age_days"], r["age_bucket"], r["non_distributable_from"], r["past_limit"]) for r in rows] == [
        ("st1", "2026-03", "unidentified", f"isrc:{ISRC}", "2", "30000", "3.0000", "1386", "3-4y", "2030-01-01", "yes"),
        ("st2", "2026-03", "unidentified", f"isrc:{ISRC}", "1", "15000", "1.5000", "1386", "3-4y", "2030-01-01", "yes"),
        ("st1", "2027-06", "bad_shares", "track:t-bad", "1", "15000", "1.5000", "930", "2-3y", "2031-01-01", "no")]
    assert rows[0]["title"] == "Song" and rows[0]["artist"] == "Band" and rows[0]["method"] == "per_second"
    assert rows[2]["account"].startswith("bad_shares:track:") and rows[2]["track"] == "t-bad"
    lines = stdout.splitlines()
    assert sum("PAST LIMIT" in line for line in lines) == 2
    assert "by age 2-3y: 1 item, GHS 1.5000" in lines and "by age 3-4y: 2 items, GHS 4.5000" in lines
    assert "held: 3 items, GHS 6.0000; past the limit: 2 items, GHS 4.5000" in lines
    # The limit is configurable: after four years nothing of 2026 is due before 2031-01-01.
    stdout, rows = report(project, "--as-of", "2030-01-15", "--years", "4")
    assert [r["non_distributable_from"] for r in rows] == ["2031-01-01", "2031-01-01", "2032-01-01"]
    assert "past the limit: 0 items, nothing" in stdout


def test_money_released_when_identified_leaves_the_report(project: Project) -> None:
    world = World(project)
    station = world.station()
    world.agreement("010", None, "2025-01-01")  # ASCAP, society default fee 15 %
    play = world.play(station, "2026-03-02 12:00", 100, isrc=ISRC)
    world.load()
    price(project)
    close(project, "2026-03", "2026-03-01", "2026-03-31")
    stdout, rows = report(project, "--as-of", "2026-04-15")
    assert [(r["identifier"], r["amount_units"], r["age_days"]) for r in rows] == [(f"isrc:{ISRC}", "15000", "15")]
    world.repertoire("010", ISRC)  # the recording is identified: ASCAP claims it
    world.map_isrcs("-q")
    price(project)  # the hourly run re-examines suspense: reversal + new allocation
    stdout, rows = report(project, "--as-of", "2026-04-15")
    assert rows == [] and "held: 0 items, nothing" in stdout
    got = project.query("SELECT version, kind, recipient_ref, amount FROM royalty_ledger WHERE play_id = :p "
                        "ORDER BY id", p=play.id)
    assert [tuple(r) for r in got] == [(1, "suspense", f"unidentified:isrc:{ISRC}", 15000),
                                       (2, "reversal", f"unidentified:isrc:{ISRC}", -15000),
                                       (2, "admin_fee", "285", 2250), (2, "share", "010", 12750)]
    stdout, out = close(project, "2026-04", "2026-04-01", "2026-04-30")  # the release is an adjustment
    statements = (out / "statements.csv").read_text().splitlines()
    assert f"suspense,unidentified:isrc:{ISRC},,GHS,-1,-100.000,-1.50,0.00,-1.50" in statements
    assert "GHS gross priced             0.0000" in stdout and ": exact" in stdout


def test_past_limit_money_is_declared_non_distributable_with_lines_that_reconcile(project: Project) -> None:
    _, plays = held_money(project)
    price(project)
    close(project, "2026-03", "2026-03-01", "2026-03-31")
    close(project, "2027-06", "2027-06-01", "2027-06-30")
    pricings = project.scalar("SELECT count(*) FROM royalty_pricings")
    dry = project.script("suspense-report", "--as-of", "2030-01-15", "--declare", "--dry-run")
    assert dry.returncode == 0 and "would declare non-distributable: 3 plays, GHS 4.5000" in dry.stdout
    assert project.scalar("SELECT count(*) FROM royalty_pricings") == pricings
    stdout, rows = report(project, "--as-of", "2030-01-15", "--declare")
    assert "declared non-distributable: 3 plays, GHS 4.5000" in stdout
    # Append-only: version 2 reverses the suspense line and books the same amount, same account.
    account = f"unidentified:isrc:{ISRC}"
    got = project.query("SELECT version, kind, recipient_type, recipient_ref, amount, seconds FROM royalty_ledger "
                        "WHERE play_id = :p ORDER BY id", p=plays["march_1"])
    assert [tuple(r) for r in got] == [(1, "suspense", "suspense", account, 15000, 100.0),
                                       (2, "reversal", "suspense", account, -15000, -100.0),
                                       (2, "non_distributable", "non_distributable", account, 15000, 100.0)]
    assert [tuple(r) for r in project.query(
        "SELECT status, reason, gross, previous_gross FROM royalty_pricings WHERE play_id = :p AND version = 2",
        p=plays["march_1"])] == [("non_distributable", "unidentified", 15000, 15000)]
    stdout, rows = report(project, "--as-of", "2030-01-15")
    assert [r["period"] for r in rows] == ["2027-06"]
    assert "declared non-distributable so far: GHS 4.5000" in stdout
    # Declaring again, re-examining and recalculating leave it as it is.
    stdout, _ = report(project, "--as-of", "2030-01-15", "--declare")
    assert "declared non-distributable: 0 plays, nothing" in stdout
    lines = project.scalar("SELECT count(*) FROM royalty_ledger")
    price(project)
    price(project, "--recalculate")
    assert project.scalar("SELECT count(*) FROM royalty_ledger") == lines
    # The next cycle shows the move and reconciles: 0 priced = suspense −4.50 + non-distributable 4.50.
    stdout, out = close(project, "2030-01", "2030-01-01", "2030-01-31")
    assert "GHS suspense                     -4.5000" in stdout
    assert "GHS non-distributable             4.5000" in stdout
    assert "GHS payees + suspense + admin fees + non-distributable = gross priced: exact" in stdout
    statements = (out / "statements.csv").read_text().splitlines()
    assert f"non_distributable,{account},,GHS,3,300.000,4.50,0.00,4.50" in statements
    assert f"suspense,{account},,GHS,-3,-300.000,-4.50,0.00,-4.50" in statements


def test_a_pool_cycle_counts_its_own_suspense_lines_not_its_weights(project: Project) -> None:
    world = World(project)
    st1, st2 = world.station("st1"), world.station("st2")
    world.play(st1, "2026-03-02 12:00", 100, isrc=ISRC)  # priced 15000 into suspense: a weight only
    world.licence_fee(st1, "2026-03-01", "2026-03-31", "1.00")  # 10,000 units: all of it to that one play
    world.licence_fee(st2, "2026-03-01", "2026-03-31", "0.50")  # 5,000 units, no plays: held whole
    world.load()
    close(project, "2026-03", "2026-03-01", "2026-03-31", "--method", "pool")
    _, rows = report(project, "--as-of", "2026-04-15")
    assert [(r["station"], r["reason"], r["plays"], r["amount_units"], r["method"], r["age_days"]) for r in rows] == [
        ("st1", "unidentified", "1", "10000", "pool", "15"), ("st2", "no_eligible_plays", "0", "5000", "pool", "15")]


def test_ages_are_whole_years_and_the_limit_follows_the_year_of_use() -> None:
    assert completed_years(date(2028, 2, 29), date(2029, 2, 28)) == 0
    assert completed_years(date(2028, 2, 29), date(2029, 3, 1)) == 1
    assert completed_years(date(2026, 3, 31), date(2026, 3, 1)) == 0
    policy = Policy(3)
    assert policy.non_distributable_from(date(2026, 12, 31)) == date(2030, 1, 1)
    assert policy.last_day_of_use(date(2030, 1, 1)) == date(2026, 12, 31)
    assert policy.last_day_of_use(date(2029, 12, 31)) == date(2025, 12, 31)


@pytest.mark.postgres
def test_two_declarations_at_once_and_a_pricing_run_book_each_play_once(postgres_url: str, tmp_path: Path) -> None:
    project = Project(postgres_url, tmp_path)
    world = World(project)
    station = world.station()
    for day in range(1, 29):
        world.play(station, f"2026-02-{day:02d} 12:00", 100, isrc=ISRC)
    world.load()
    price(project)
    close(project, "2026-02", "2026-02-01", "2026-02-28")
    world.agreement("010", "15", "2025-01-01")  # identified now: the pricing run would release them
    world.repertoire("010", ISRC)
    world.map_isrcs("-q")
    engines = [open_engine(postgres_url) for _ in range(3)]
    start = threading.Barrier(3)
    found: list[int] = []

    def declare(engine) -> None:  # noqa: ANN001
        start.wait()
        done = declare_past_limit(partial(transaction, engine), f"run-{id(engine)}", date(2030, 1, 15), Policy(3),
                                  batch_size=5)
        found.append(done.plays)

    def reprice(engine) -> None:  # noqa: ANN001
        start.wait()
        price_pending(lambda: transaction(engine), "racer", batch_size=5)

    threads = [threading.Thread(target=declare, args=(engines[0],)),
               threading.Thread(target=declare, args=(engines[1],)),
               threading.Thread(target=reprice, args=(engines[2],))]
    race(threads, engines)
    # 28 plays of 15000 units, each given one version 2 by whichever run booked it first: released to ASCAP
    # (12750 + GHAMRO's 2250) or declared non-distributable, never both; nothing left in suspense.
    versions = [tuple(r) for r in project.query(
        "SELECT status, count(*) FROM royalty_pricings WHERE version > 1 GROUP BY status ORDER BY status")]
    assert sum(n for _, n in versions) == 28 and {s for s, _ in versions} <= {"non_distributable", "priced"}
    assert dict(versions).get("non_distributable", 0) == sum(found)
    assert project.scalar("SELECT max(version) FROM royalty_pricings") == 2
    assert project.scalar("SELECT sum(amount) FROM royalty_ledger WHERE recipient_type = 'suspense'") == 0
    assert project.scalar("SELECT sum(amount) FROM royalty_ledger") == 28 * 15000
