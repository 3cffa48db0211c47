"""bin/warm-cache and zamio.cache.get on real SQLite and PostgreSQL databases.

``tests.world.fixed_world`` (also used by the report and cleanup tests) writes a
small, fixed world of plays: three stations (one named like an HTML tag, one in
UTC+1), artists, publishers, tracks, captures, detections, plays (some
superseded) and coverage gaps.  Money is made by the real jobs in ``tests.money_world``, and the
figures expected of it are computed by hand there.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Connection, func, select, update

from tests import money_world
from tests.money_world import AMA, APRIL, EFUA, MARCH, SIKA, entity_id, figures
from tests.support import Project
from tests.world import STATION_NAMES, fixed_world
from zamio import cache
from zamio.cache.terms import FAMILY_NAMES
from zamio.db.engine import READ_ONLY
from zamio.db.tables import (
    cache_entries,
    play_logs,
    tracks,
)
from zamio.runtime.errors import UsageError


def count_plays(conn, since: datetime, until: datetime, *where) -> int:
    query = select(func.count()).select_from(play_logs.join(tracks, tracks.c.id == play_logs.c.track_id, isouter=True))
    return conn.execute(query.where(play_logs.c.status == "final", play_logs.c.started_at >= since,
                                    play_logs.c.started_at < until, *where)).scalar()


def day_bounds(day: str) -> tuple[datetime, datetime]:
    start = datetime.fromisoformat(day).replace(tzinfo=UTC)
    return start, start + timedelta(days=1)


@contextmanager
def reading(project: Project) -> Iterator[Connection]:
    """A connection that only reads (plain BEGIN on SQLite, so it never waits for or blocks a writer)."""
    with project.engine.connect() as conn:
        yield conn.execution_options(**{READ_ONLY: True})


def read_value(project: Project, key: str) -> dict:
    with reading(project) as conn:
        raw = conn.execute(select(cache_entries.c.value).where(cache_entries.c.key == key)).scalar()
    return json.loads(raw)


@pytest.fixture
def seeded(project: Project) -> Project:
    fixed_world(project, datetime.now(UTC))
    return project


def test_warmed_values_equal_direct_sql(seeded: Project) -> None:
    result = seeded.script("warm-cache")
    assert result.returncode == 0, result.stderr
    keys = {r[0] for r in seeded.query("SELECT key FROM cache_entries")}
    assert {"station:1", "station:2", "station:3", "artist:1", "artist:3", "publisher:1", "publisher:2",
            "platform:overview", "charts:week", "charts:month"} <= keys
    with reading(seeded) as conn:
        for station in (1, 2, 3):
            value = read_value(seeded, f"station:{station}")
            assert len(value["plays_by_day"]) == 30
            for day in value["plays_by_day"]:
                assert day["plays"] == count_plays(conn, *day_bounds(day["date"]), play_logs.c.station_id == station)
            since, _ = day_bounds(value["window"]["from"])
            until = datetime.now(UTC) + timedelta(minutes=1)
            for top in value["top_tracks"]:
                key_match = play_logs.c.recording_key == top["recording_key"]
                assert top["plays"] == count_plays(conn, since, until, play_logs.c.station_id == station, key_match)
        artist = read_value(seeded, "artist:1")
        since, _ = day_bounds(artist["window"]["from"])
        assert artist["plays"] == count_plays(conn, since, until, tracks.c.artist_id == 1) > 0
        assert artist["earnings_by_cycle"] == []  # no money was made: nothing was priced
        publisher = read_value(seeded, "publisher:2")  # track 2 directly, plus artist 3's catalogue through the artist
        expected = count_plays(conn, since, until, tracks.c.id.in_([2, 4]))
        assert publisher["plays"] == expected > 0
    overview = read_value(seeded, "platform:overview")
    assert overview["stations_active"] == 2 and overview["stations_live"] == 1
    assert overview["suspense"] == []
    coverage = read_value(seeded, "station:1")["coverage"]
    assert coverage["gap_count"] == 1 and coverage["gap_seconds"] == 7200.0 and coverage["no_match"] > 0
    week = read_value(seeded, "charts:week")["tracks"]
    assert [t["rank"] for t in week] == list(range(1, len(week) + 1))
    assert all(a["plays"] >= b["plays"] for a, b in zip(week, week[1:]))


def test_readers_during_warming_see_whole_values(seeded: Project) -> None:
    assert seeded.script("warm-cache", "--only", "station").returncode == 0
    before = read_value(seeded, "station:1")["plays"]
    with seeded.engine.begin() as conn:  # more plays on station 1 today
        conn.execute(update(play_logs).where(play_logs.c.station_id == 2).values(station_id=1))
    warming = seeded.popen("warm-cache", "--only", "station")
    seen = set()
    while warming.poll() is None or not seen:
        value = read_value(seeded, "station:1")
        assert value["plays"] == sum(d["plays"] for d in value["plays_by_day"])
        seen.add(value["plays"])
    assert warming.wait(timeout=60) == 0, warming.stderr.read()
    after = read_value(seeded, "station:1")["plays"]
    assert after > before and seen <= {before, after}


def test_get_recomputes_only_the_missing_key(seeded: Project) -> None:
    value = cache.get(seeded.engine, "station:2")
    assert value["station"]["name"] == STATION_NAMES[2]
    assert [r[0] for r in seeded.query("SELECT key FROM cache_entries")] == ["station:2"]
    with seeded.engine.begin() as conn:
        conn.execute(update(cache_entries).values(value='{"schema_version": 1, "stale": true}'))
    assert cache.get(seeded.engine, "station:2") == {"schema_version": 1, "stale": True}  # fresh: served as stored
    with seeded.engine.begin() as conn:
        conn.execute(update(cache_entries).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    again = cache.get(seeded.engine, "station:2")
    assert again["plays"] == value["plays"] and "stale" not in again
    with seeded.engine.begin() as conn:
        conn.execute(update(cache_entries).values(schema_version=0))
    assert "stale" not in cache.get(seeded.engine, "station:2")
    assert cache.get(seeded.engine, "station:999") is None
    assert cache.get(seeded.engine, "platform:overview")["stations_active"] == 2
    assert seeded.scalar("SELECT count(*) FROM cache_entries") == 2
    with pytest.raises(UsageError):
        cache.get(seeded.engine, "nonsense:1")


def test_show_and_list(seeded: Project) -> None:
    shown = seeded.script("warm-cache", "--show", "charts:month")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["key"] == "charts:month"
    assert seeded.script("warm-cache", "--only", "artist").returncode == 0
    listed = seeded.script("warm-cache", "--list", "artist:")
    assert listed.returncode == 0 and "artist:1" in listed.stdout and "fresh" in listed.stdout
    assert "charts:month" not in listed.stdout
    assert seeded.script("warm-cache", "--show", "station:999").returncode == 1


# --- money: every figure as the cycle statements count it (tests.money_world has the arithmetic) ---------------

def warmed_earnings(project: Project, kind: str, ref: str) -> dict[tuple, int]:
    return figures(read_value(project, f"{kind}:{entity_id(project, kind, ref)}")["earnings_by_cycle"])


def test_a_locked_per_second_cycle_shows_its_money_under_its_name(project: Project) -> None:
    money_world.load(project)
    money_world.close_march(project)
    assert project.script("warm-cache", "--only", "artist").returncode == 0
    efua = read_value(project, f"artist:{entity_id(project, 'artist', 'efua-mensah')}")["earnings_by_cycle"]
    # March paid Kente's play of 03-04: 15,750.  Not yet in a cycle: April's Kente, 0.015 × 1.5 × 100 s = 22,500,
    # and May's, 0.015 × 1.0 × 100 s = 15,000.
    assert figures(efua) == {(MARCH, "artist", "efua-mensah"): 15_750, (None, "artist", "efua-mensah"): 22_500 + 15_000}
    # 15,750 units are 157.5 pesewas: half-even 158, as statements.csv writes it.
    assert [e["amount"] for e in efua] == ["1.58", "3.75"]
    assert (money_world.cycle_folder(project, MARCH) / "statements.csv").read_text().splitlines()[1] == (
        "artist,efua-mensah,Efua Mensah,GHS,1,150.000,1.58,0.00,1.58")


def test_a_pool_cycle_shows_its_licence_fees_and_not_the_weights(project: Project) -> None:
    money_world.build(project)
    assert project.script("warm-cache").returncode == 0
    # April's per-second prices (Odo 30,000, Kente 22,500, unknown 7,500) weighed the GHS 100 fee; only the fee is paid.
    assert warmed_earnings(project, "artist", "efua-mensah") == EFUA
    assert warmed_earnings(project, "publisher", "sika-music") == SIKA
    # Suspense held: March's unknown play 12,000 and its part of April's fee 125,000 (not its 7,500 weight).
    assert read_value(project, "platform:overview")["suspense"] == [
        {"currency": "GHS", "amount_units": 12_000 + 125_000, "amount": "13.70", "entries": 2}]


def test_an_artist_paid_as_a_contributor_and_through_her_publisher_sees_that_money(project: Project) -> None:
    money_world.build(project)
    assert project.script("warm-cache", "--only", "artist").returncode == 0
    ama = entity_id(project, "artist", "ama-ghana")
    warmed = read_value(project, f"artist:{ama}")["earnings_by_cycle"]
    # As contributor on Odo: March 60 % of 30,000, April 60 % of the pool's 500,000.  Through Sika Music in March:
    # Harmattan 22,500 and her half of Sunrise 9,225; Sika's Odo lines pay Kojo Beats, not her.
    assert figures(warmed) == AMA
    assert [(e["cycle"], e["recipient"], e["amount"], e["plays"]) for e in warmed] == [
        (MARCH, "ama-ghana", "1.80", 1), (MARCH, "sika-music", "3.17", 2), (APRIL, "ama-ghana", "30.00", 1)]
    with project.engine.begin() as conn:
        conn.execute(cache_entries.delete())
    assert cache.get(project.engine, f"artist:{ama}")["earnings_by_cycle"] == warmed  # one key alone: the same


def test_warm_cache_offers_the_families_the_cache_computes() -> None:
    """bin/warm-cache's --only takes its choices from zamio.cache.terms (which loads nothing): the same families,
    in the same order, as the functions that compute them."""
    assert FAMILY_NAMES == tuple(cache.FAMILIES)
