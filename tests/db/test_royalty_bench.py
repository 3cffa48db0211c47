"""The royalty benchmark's fair baseline books what the pricing job books, on SQLite and PostgreSQL.

``bench/royalty_bench.py`` compares the set-based engine with a naive row-by-row
implementation of the same rules; the comparison is fair only if both book the
same money.  The benchmark's own data reaches few of the rules (two time zones,
catalog works only), so here one scenario reaching every rule the fair baseline
implements is built in two databases: the pricing job prices one, the fair
baseline the other, and the benchmark's check compares them row by row.
"""

from __future__ import annotations

import random
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert

from bench.royalty_bench import compare_books, fair_baseline
from tests.support import (
    Project,
    admin_cursor,
    create_postgres_database,
    drop_postgres_database,
    migrated_sqlite_url,
    postgres_database_url,
)
from tests.world import World
from zamio.db.tables import day_periods, eligibility_rules

BATCH = 64  # plays per transaction: the scenario's plays take several batches


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def two_projects(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Project, Project]]:
    """Two databases holding the scenario, not priced: the pricing job's, where ``build`` loads it, and the fair
    baseline's, a copy of it (the same rows and ids)."""
    names: list[str] = []
    if request.param == "sqlite":
        job = Project(migrated_sqlite_url(tmp_path / "job.db"), tmp_path / "job")
    else:
        names.append(create_postgres_database()[0])
        job = Project(postgres_database_url(names[0]), tmp_path / "job")
    projects = [job]
    try:
        job.tmp_path.mkdir()
        build(job)
        job.engine.dispose()  # nobody may be connected to a database copied
        if job.is_sqlite:
            with closing(sqlite3.connect(tmp_path / "job.db")) as conn:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the whole database in the file copied
            shutil.copyfile(tmp_path / "job.db", tmp_path / "fair.db")
            url = f"sqlite:///{tmp_path / 'fair.db'}"
        else:
            names.append(f"{names[0]}_fair")
            with admin_cursor() as cur:
                cur.execute(f'CREATE DATABASE "{names[1]}" TEMPLATE "{names[0]}"')
            url = postgres_database_url(names[1])
        projects.append(Project(url, tmp_path / "fair"))
        projects[1].tmp_path.mkdir()
        yield job, projects[1]
    finally:
        for project in projects:
            if "engine" in project.__dict__:
                project.engine.dispose()
        for name in names:
            drop_postgres_database(name)


def final_plays(project: Project) -> int:
    return project.scalar("SELECT count(*) FROM play_logs WHERE status = 'final'")


def tariff_rules(project: Project) -> None:
    """From 16 March: nothing covers 05:00-06:00, and 'late' (22:00-24:00) overlaps 'regular'; from 20 March
    plays under 30 s, below 0.6 confidence or of other categories than music and jingle are not paid.
    Day periods and eligibility rules have no import (migrations seed them), so they are written here."""
    with project.engine.begin() as conn:
        conn.execute(insert(day_periods), [
            {"territory": "GH", "period": period, "start_minute": start, "end_minute": end,
             "effective_from": date(2026, 3, 16)}
            for period, start, end in (("off_peak", 0, 300), ("prime", 360, 600), ("regular", 600, 1440),
                                       ("late", 1320, 1440))])
        conn.execute(insert(eligibility_rules).values(
            territory="GH", min_seconds=30, min_confidence=Decimal("0.6"), categories_paid="music, jingle",
            effective_from=date(2026, 3, 20)))


def zone_unknown_here(project: Project, station_ref: str, zone: str) -> None:
    """Give a station a time zone this machine's zone database does not know, as a station imported where
    another release of the database knew it has: the import refuses such a zone, so no script writes one."""
    project.execute("UPDATE stations SET timezone = :z WHERE station_ref = :s", z=zone, s=station_ref)


def build(project: Project) -> None:
    """Given a migrated project, load the scenario.

    Periods, rates, eligibility and agreements change mid-month; stations sit in five zones (one
    45 minutes off the hour, one changing to daylight time on 8 March, one unknown) and classes
    written loosely; works have every kind of share table and society; plays are external recordings
    as well as catalog tracks, of every category paid or not, length and confidence, some corrected.
    """
    tariff_rules(project)
    world = World(project)
    world.rate_card("class_a", "prime", "0.020", "1.5", "2026-03-10")
    # No card for 'late' (rate cards are loaded for prime, regular and off-peak only): plays then go unpriced.
    world.agreement("052", "12.5", "2025-01-01")  # PRS
    world.agreement("010", None, "2025-01-01")  # ASCAP: the society's default fee
    world.agreement("021", "20", "2025-01-01", "2026-03-15")  # BMI: expires mid-month
    world.agreement("008", "10", "2025-01-01", status="suspended")  # APRA: not active
    stations = [world.station("accra", "class_a", "Africa/Accra"), world.station("lagos", "Class C", "Africa/Lagos"),
                world.station("kathmandu", "class-b", "Asia/Kathmandu"),
                world.station("newyork", "online", "America/New_York"),
                world.station("nowhere", "class_a", "Africa/Accra")]  # its zone is made unknown below
    tracks = []

    def work(ref: str, *shares: tuple, artist: str = "Ama", **options) -> None:
        track = world.track(ref, ref.title(), artist, **options)
        for party, share, publisher in shares:
            world.contributor(track, party.title(), share, publisher=publisher)
        tracks.append(track)

    work("three", ("ama", "33.33", None), ("kofi", "33.33", "Pub\tY"), ("yaw", "33.34", None))
    work("one-publisher", ("efua", "50", "Pub X"), ("esi", "50", "Pub X"))
    work("tie", ("zed", "50", None), ("ama", "50", "Pub\tY"))  # an odd unit: to the contributor, by type first
    work("sevenths", *((f"party{k}", "14.28", None) for k in range(6)), ("party6", "14.32", "Pub\tY"))
    work("bad", ("ama", "60", None), ("yaw", "30", None))
    work("artist-only")
    work("track-publisher", artist="Kofi", publisher="Pub\tY")
    work("jingle", category="jingle")  # paid from 20 March only
    work("advert", category="ad")  # never paid
    work("local-society", ("abena", "100", None), society="285")
    for code in ("052", "010", "021", "008", "058"):  # PRS, ASCAP, BMI, APRA, SACEM (no agreement)
        work(f"foreign-{code}", society=code)
    # Recordings outside the catalog, claimed by PRS, by the local society and by SACEM, or by nobody.
    external = ["USRC17607839", "GBAAA0000001", "GHAAA0000001", "FRAAA0000001"]
    for code, isrc in (("052", "GBAAA0000001"), ("285", "GHAAA0000001"), ("058", "FRAAA0000001")):
        world.repertoire(code, isrc)
    rng = random.Random(11)
    for _ in range(360):
        at = datetime(2026, 3, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(31 * 86400),
                                                                   microseconds=rng.randrange(1_000_000))
        options = {"confidence": rng.choice((None, 0.3, 0.5, 0.599999, 0.6, 0.9, 85.0, 45.0))}
        if rng.random() < 0.8:
            options["track"] = rng.choice(tracks)
        else:
            options["isrc"] = rng.choice(external)
        seconds = rng.choice((5, 9.999, 10, 29.999, 30.001, 187.3, 240, 1801.25))
        play = world.play(rng.choice(stations), at, seconds, **options)
        if rng.random() < 0.02:
            world.correct(play, seconds=seconds + 1)  # the first version superseded: never priced
    world.map_isrcs()
    zone_unknown_here(project, "nowhere", "Mars/Olympus_Mons")


def as_utc(value: datetime | str) -> datetime:
    """A stored instant as read back (SQLite gives text, PostgreSQL an aware datetime), aware UTC."""
    found = datetime.fromisoformat(value) if isinstance(value, str) else value
    return found.replace(tzinfo=UTC) if found.tzinfo is None else found


def outcomes(project: Project) -> set[tuple]:
    return {tuple(row) for row in project.query("SELECT DISTINCT status, reason FROM royalty_pricings")}


def test_the_fair_baseline_books_what_the_pricing_job_books(two_projects: tuple[Project, Project]) -> None:
    job, fair = two_projects
    finals = final_plays(job)
    assert final_plays(fair) == finals > 0
    priced = job.script("calculate-royalty-distributions", "--batch-size", str(BATCH))
    assert priced.returncode in (0, 1), priced.stderr  # 1: the unpriced plays are reported as failures
    statuses = fair_baseline(fair.engine, BATCH, "fair-run")
    check = compare_books(job.engine, fair.engine)
    assert check.differences == [], "\n".join(check.differences)
    assert check.pricings == finals == sum(statuses.values())
    assert check.lines == job.scalar("SELECT count(*) FROM royalty_ledger")
    # The scenario reaches every rule: each outcome below was booked by both.
    assert outcomes(fair) == outcomes(job) >= {
        ("priced", None), ("ineligible", "category_not_paid"), ("ineligible", "below_min_seconds"),
        ("ineligible", "low_confidence"), ("unpriced", "bad_timezone"), ("unpriced", "no_day_period"),
        ("unpriced", "no_rate_card"), ("suspense", "bad_shares"), ("suspense", "unidentified"),
        ("suspense", "no_agreement"), ("suspense", "not_in_catalog")}
    assert {row[0] for row in fair.query("SELECT DISTINCT kind FROM royalty_ledger")} == {
        "share", "admin_fee", "suspense", "ineligible"}
    # 'late' (22:00-24:00 from 16 March) wins where it overlaps 'regular', and no rate card names it: each
    # play left without a card started then, station-local.
    late = fair.query("SELECT l.started_at, s.timezone FROM royalty_pricings p JOIN play_logs l ON l.id = p.play_id "
                      "JOIN stations s ON s.id = l.station_id WHERE p.reason = 'no_rate_card'")
    starts = [as_utc(at).astimezone(ZoneInfo(zone)) for at, zone in late]
    assert starts and all(start.hour >= 22 and start.date() >= date(2026, 3, 16) for start in starts), starts


def test_the_check_reports_books_that_differ(two_projects: tuple[Project, Project]) -> None:
    job, fair = two_projects
    world = World(job)
    world.rate_card("class_a", "regular", "0.016", "1.0", "2026-03-01")  # only the job's
    world.load()
    job.script("calculate-royalty-distributions", "--batch-size", str(BATCH))
    fair_baseline(fair.engine, BATCH, "fair-run")
    check = compare_books(job.engine, fair.engine)
    # Counted apart from the check: the plays of the class A station in regular hours (their rate
    # card differs, paid or not), all their lines (each names the card), and the recipients they
    # paid (an ineligible play's zero line leaves its recipient's total as it was).
    plays = ("SELECT p.play_id FROM royalty_pricings p JOIN stations s ON s.id = p.station_id "
             "WHERE s.station_ref = 'accra' AND p.details LIKE '%\"period\":\"regular\"%'")
    lines = fair.query(f"SELECT kind, recipient_type, recipient_ref FROM royalty_ledger WHERE play_id IN ({plays})")
    counts = {"pricing rows": len(fair.query(plays)), "ledger lines": len(lines),
              "recipient totals (units, seconds)": len({(t, r) for kind, t, r in lines if kind != "ineligible"})}
    assert all(counts.values())
    assert [d for d in check.differences if "not booked" in d] == [
        f"{n:,} {name} of the fair baseline not booked by the engine, {n:,} of the engine not by the fair baseline"
        for name, n in counts.items()]
    assert check.report().startswith("check FAILED")
