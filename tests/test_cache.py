"""bin/warm-cache and zamio.cache.get on real SQLite and PostgreSQL databases.

``seed`` (also used by the report and cleanup tests) writes a small, fixed
world: three stations (one named like an HTML tag, one in UTC+1), artists,
publishers, tracks, captures, detections, plays (some superseded), ledger
entries in and out of a cycle, and coverage gaps.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import Connection, Engine, func, insert, select, update

from tests.support import Project
from zamio import cache
from zamio.db import READ_ONLY
from zamio.errors import UsageError
from zamio.tables import (
    artists, captures, coverage_gaps, detections, play_detections, play_logs, publishers, royalty_cycles,
    royalty_ledger, stations, stream_links, tracks, cache_entries,
)

STATION_NAMES = {1: "Joy FM", 2: "<script>alert('x')</script> Radio", 3: "=HYPERLINK(\"http://evil\") FM"}


def seed(engine: Engine, now: datetime, plays: int = 240, days: int = 40, seed_value: int = 7) -> list[dict]:
    """Write the fixed test world ending at ``now``; return the play rows written."""
    rng = random.Random(seed_value)
    created = now - timedelta(days=400)
    with engine.begin() as conn:
        conn.execute(insert(publishers), [
            {"id": 1, "publisher_ref": "P1", "name": "Pub <One> & Co", "created_at": created},
            {"id": 2, "publisher_ref": "P2", "name": "@Two Publishing", "created_at": created}])
        conn.execute(insert(artists), [
            {"id": 1, "artist_ref": "A1", "name": "Ama Ghana", "publisher_id": 1, "created_at": created},
            {"id": 2, "artist_ref": "A2", "name": "-Kofi", "publisher_id": None, "created_at": created},
            {"id": 3, "artist_ref": "A3", "name": "Efua", "publisher_id": 2, "created_at": created}])
        conn.execute(insert(tracks), [
            {"id": n, "track_ref": f"T{n}", "title": title, "artist_id": artist, "publisher_id": pub,
             "created_at": created, "updated_at": created}
            for n, title, artist, pub in [(1, "Sunrise", 1, None), (2, "Harmattan", 1, 2), (3, "+Coast", 2, None),
                                          (4, "Kente", 3, None)]])
        conn.execute(insert(stations), [
            {"id": n, "station_ref": ref, "name": STATION_NAMES[n], "station_class": cls, "timezone": zone,
             "active": active, "created_at": created}
            for n, ref, cls, zone, active in [(1, "JOY", "class_a", "Africa/Accra", True),
                                              (2, "SCR", "class_b", "Africa/Lagos", True),
                                              (3, "EQ", "online", "Africa/Accra", False)]])
        conn.execute(insert(stream_links), [
            {"id": 1, "station_id": 1, "url": "http://joy.example/live", "last_success_at": now - timedelta(minutes=10),
             "created_at": created},
            {"id": 2, "station_id": 2, "url": "http://scr.example/live", "last_success_at": now - timedelta(hours=3),
             "created_at": created}])
        rows = _plays(conn, rng, now, plays, days)
        _ledger(conn, now)
        conn.execute(insert(coverage_gaps), [
            {"station_id": 1, "gap_from": now - timedelta(days=2, hours=3), "gap_to": now - timedelta(days=2, hours=1),
             "reason": "stream_down"},
            {"station_id": 2, "gap_from": now - timedelta(days=50), "gap_to": now - timedelta(days=49),
             "reason": "stream_down"}])
    return rows


def _plays(conn, rng: random.Random, now: datetime, count: int, days: int) -> list[dict]:
    capture_rows, detection_rows, rows = [], [], []
    for n in range(1, count + 1):
        started = now - timedelta(seconds=rng.randrange(60, days * 86400))
        station = rng.choice([1, 1, 2, 2, 3])
        track = rng.choice([1, 1, 1, 2, 2, 3, 4, None])
        source = "local" if track else "acrcloud"
        capture_rows.append({"id": n, "capture_key": f"link:{station}:{n}", "station_id": station, "source": "stream",
                             "started_at": started, "seconds": 20, "audio_sha256": f"{n:064x}",
                             "audio_path": f"snippets/{n}.ogg", "outcome": "match", "created_at": started})
        confidence = round(rng.uniform(0.3, 1.0), 3)
        detection_rows.append({"id": n, "capture_id": n, "station_id": station, "detected_at": started, "source": source,
                               "track_id": track, "title": None if track else "Foreign Hit",
                               "artist": None if track else "Some Band", "confidence": confidence,
                               "convert_status": "done", "created_at": started})
        status = "superseded" if n % 17 == 0 else "duplicate" if n % 19 == 0 else "final"
        rows.append({"id": n, "play_key": f"play:{n}", "station_id": station, "track_id": track,
                     "recording_key": f"track:{track}" if track else "acr:foreign-hit",
                     "title": None if track else "Foreign Hit", "artist": None if track else "Some Band",
                     "source": source, "started_at": started, "ended_at": started + timedelta(seconds=180),
                     "duration_seconds": float(rng.randrange(60, 300)), "status": status, "detection_count": 1,
                     "confidence_avg": confidence, "confidence_min": confidence, "created_at": started})
    for n in range(count + 1, count + 31):  # captures that matched nothing
        started = now - timedelta(seconds=rng.randrange(60, days * 86400))
        capture_rows.append({"id": n, "capture_key": f"link:1:{n}", "station_id": 1, "source": "stream",
                             "started_at": started, "seconds": 20, "audio_sha256": f"{n:064x}", "audio_path": None,
                             "outcome": "no_match" if n % 3 else "silence", "created_at": started})
    conn.execute(insert(captures), capture_rows)
    conn.execute(insert(detections), detection_rows)
    conn.execute(insert(play_logs), rows)
    conn.execute(insert(play_detections), [{"play_id": r["id"], "detection_id": r["id"]} for r in rows])
    return rows


def _ledger(conn, now: datetime) -> None:
    conn.execute(insert(royalty_cycles).values(
        id=1, name="2026-Q1", territory="GH", period_from=(now - timedelta(days=90)).date(),
        period_to=(now - timedelta(days=1)).date(), method="per_second", status="locked", rounding="half_even",
        created_at=now))
    entries = [("share", "artist", "A1", 1, 125_000), ("share", "artist", "A1", 1, 5_055),
               ("share", "artist", "A1", None, 7_000),
               ("reversal", "artist", "A1", 1, -5_055), ("ineligible", "artist", "A1", 1, 0),
               ("share", "publisher", "P1", 1, 60_000), ("share", "artist", "A3", 1, 3_333),
               ("suspense", "suspense", "unmatched", None, 41_234)]
    conn.execute(insert(royalty_ledger), [
        {"entry_key": f"e{n}", "play_id": 1, "cycle_id": cycle, "version": 1, "kind": kind, "recipient_type": rtype,
         "recipient_ref": ref, "amount": amount, "currency": "GHS", "created_at": now}
        for n, (kind, rtype, ref, cycle, amount) in enumerate(entries)])


def count_plays(conn, since: datetime, until: datetime, *where) -> int:
    query = select(func.count()).select_from(play_logs.join(tracks, tracks.c.id == play_logs.c.track_id, isouter=True))
    return conn.execute(query.where(play_logs.c.status == "final", play_logs.c.started_at >= since,
                                    play_logs.c.started_at < until, *where)).scalar()


def day_bounds(day: str) -> tuple[datetime, datetime]:
    start = datetime.fromisoformat(day).replace(tzinfo=timezone.utc)
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
    seed(project.engine, datetime.now(timezone.utc))
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
            until = datetime.now(timezone.utc) + timedelta(minutes=1)
            for top in value["top_tracks"]:
                key_match = play_logs.c.recording_key == top["recording_key"]
                assert top["plays"] == count_plays(conn, since, until, play_logs.c.station_id == station, key_match)
        artist = read_value(seeded, "artist:1")
        since, _ = day_bounds(artist["window"]["from"])
        assert artist["plays"] == count_plays(conn, since, until, tracks.c.artist_id == 1) > 0
        by_cycle = {(e["cycle"], e["currency"]): e["amount_units"] for e in artist["earnings_by_cycle"]}
        assert by_cycle == {("2026-Q1", "GHS"): 125_000, (None, "GHS"): 7_000}
        assert {e["amount"] for e in artist["earnings_by_cycle"]} == {"12.5000", "0.7000"}
        publisher = read_value(seeded, "publisher:2")  # track 2 directly, plus artist 3's catalogue through the artist
        expected = count_plays(conn, since, until, tracks.c.id.in_([2, 4]))
        assert publisher["plays"] == expected > 0
    overview = read_value(seeded, "platform:overview")
    assert overview["stations_active"] == 2 and overview["stations_live"] == 1
    assert overview["suspense"] == [{"currency": "GHS", "amount_units": 41_234, "amount": "4.1234", "entries": 1}]
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
        conn.execute(update(cache_entries).values(expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
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
