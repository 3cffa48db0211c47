"""A pricing run killed at any instant, or two at once, books nothing twice (PostgreSQL)."""

from __future__ import annotations

import signal
import threading
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path

import pytest

from tests.support import Project, race
from tests.world import World, utc
from zamio.db.engine import open_engine, transaction
from zamio.royalties.pricing.ledger import Issue, book
from zamio.royalties.pricing.price import PlayPricing
from zamio.royalties.pricing.run import price_pending
from zamio.royalties.pricing.split import Line

PLAYS = 1200
NOW = datetime(2026, 4, 1, tzinfo=UTC)


@pytest.fixture
def pg_project(postgres_url: str, tmp_path: Path) -> Project:
    return Project(postgres_url, tmp_path)


def fill(project: Project) -> int:
    """PLAYS plays of 100 s in regular hours (10-16 h) on class A (0.015 × 1.0 × 100 = 15000 units each), two
    minutes apart, 180 a day; return the total."""
    world = World(project)
    station = world.station()
    track = world.track("t1", "Odo", "Ama")
    for name, share in (("Ama", "33.33"), ("Kofi", "33.33"), ("Yaw", "33.34")):
        world.contributor(track, name, share)
    for n in range(PLAYS):
        day, slot = divmod(n, 180)
        world.play(station, utc("2026-03-02 10:00") + timedelta(days=day, minutes=2 * slot), 100, track=track)
    world.load()
    return PLAYS * 15000


def assert_booked_once(project: Project, total: int) -> None:
    assert project.scalar("SELECT count(*) FROM royalty_pricings") == PLAYS
    assert project.scalar("SELECT count(DISTINCT play_id) FROM royalty_pricings") == PLAYS
    assert project.scalar("SELECT count(*) FROM royalty_ledger") == 3 * PLAYS
    assert project.scalar("SELECT sum(amount) FROM royalty_ledger") == total


@pytest.mark.postgres
def test_a_run_killed_mid_way_is_finished_by_the_next_run(pg_project: Project) -> None:
    total = fill(pg_project)
    proc = pg_project.popen("calculate-royalty-distributions", "--batch-size", "50")
    deadline = time.monotonic() + 60
    while pg_project.scalar("SELECT count(*) FROM royalty_pricings") < 100 and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = pg_project.scalar("SELECT count(*) FROM royalty_pricings")
    assert 0 < done < PLAYS  # killed in the middle
    assert pg_project.scalar("SELECT count(*) FROM royalty_ledger") == 3 * done  # whole batches only
    result = pg_project.script("calculate-royalty-distributions", "-q")
    assert result.returncode == 0, result.stderr
    assert_booked_once(pg_project, total)


@pytest.mark.postgres
def test_two_runs_at_once_book_each_play_once(pg_project: Project) -> None:
    total = fill(pg_project)
    engines = [open_engine(pg_project.database_url) for _ in range(2)]
    start = threading.Barrier(2)

    def run(engine) -> None:  # noqa: ANN001
        start.wait()
        price_pending(partial(transaction, engine), "racer", batch_size=100)

    threads = [threading.Thread(target=run, args=(e,)) for e in engines]
    race(threads, engines)
    assert_booked_once(pg_project, total)
    # And the scripts themselves: the second run at the same moment is turned away by the job lock.
    procs = [pg_project.popen("calculate-royalty-distributions") for _ in range(2)]
    codes = sorted(p.wait(60) for p in procs)
    assert codes in ([0, 0], [0, 75])
    assert_booked_once(pg_project, total)


@pytest.mark.postgres
def test_a_batch_another_run_booked_first_is_skipped_whole(pg_project: Project) -> None:
    world = World(pg_project)
    station = world.station()
    play = world.play(station, "2026-03-02 12:00", 100, track=world.track("t1", "Odo", "Ama"))
    world.load()
    pricing = PlayPricing(play.id, station.id, "priced", None, date(2026, 3, 2), Decimal("100.000"), Decimal("1.0"),
                          15000, "GHS", None, (Line("share", "artist", "ama", "Ama", 15000, share=Decimal(100)),))
    issue = Issue(pricing, 1, None)
    with transaction(pg_project.engine) as conn:  # the run that got there first
        assert book(conn, [issue], {}, "first", NOW) == [issue]
    with transaction(pg_project.engine) as conn:  # the COPY clashes: rolled back to its savepoint, then skipped
        assert book(conn, [issue], {}, "second", NOW) == []
        assert conn.exec_driver_sql("SELECT count(*) FROM royalty_pricings").scalar() == 1
    assert pg_project.scalar("SELECT count(*) FROM royalty_ledger") == 1
    assert pg_project.scalar("SELECT run_id FROM royalty_ledger") == "first"
