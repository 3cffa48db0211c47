"""bin/convert-matches: detections to plays on real databases, exactly once, with versions and retries."""

from __future__ import annotations

import random
import signal
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.broadcast import reset_plays
from tests.support import Project
from tests.world import LATER, T0, CaptureWorld
from zamio.playlogs.convert import ConvertSettings, convert_station


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.fixture
def world(project: Project) -> CaptureWorld:
    w = CaptureWorld(project)
    for ref in ("A", "B", "C"):
        w.track(ref)
    w.track("J", 30.0, category="jingle")
    w.station("joy")
    return w


def as_utc(value) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def test_detections_of_one_airing_become_one_play_with_evidence(world: CaptureWorld):
    # A from 11:59:30 for 240 s, seen at 12:00, 12:02; B from 12:03:30, seen at 12:04, 12:06.
    world.programme("joy", [("A", -30, 240), ("B", 210, 240)], T0, 5)
    result = world.convert()
    assert result.returncode == 0, result.stderr
    plays = world.plays()
    assert [(p.track_ref, as_utc(p.started_at)) for p in plays] == [("A", at(-30)), ("B", at(210))]
    a = plays[0]
    assert a.detection_count == 2 and a.duration_seconds == 240.0 and a.version == 1
    assert a.source == "local" and a.category == "music" and a.title == "Song A" and a.artist == "Ama"
    assert a.confidence_avg == pytest.approx(0.9) and not a.single_observation
    assert world.project.scalar("SELECT count(*) FROM play_detections") == 4
    assert world.project.scalar("SELECT count(*) FROM detections WHERE convert_status = 'converted'") == 4
    assert "2 plays stored" in result.stderr
    # A, a jingle, A again: three plays, the jingle with its category.
    world.station("ok")
    world.programme("ok", [("A", 590, 240), ("J", 830, 30), ("A", 860, 240)], at(600), 5)
    assert world.convert().returncode == 0
    assert [(p.track_ref, p.category) for p in world.plays() if p.station_ref == "ok"] == [
        ("A", "music"), ("J", "jingle"), ("A", "music")]


def test_an_open_airing_waits_and_a_dry_run_writes_nothing(world: CaptureWorld):
    world.programme("joy", [("A", -30, 240)], T0, 2)
    dry = world.convert("--dry-run")
    assert dry.returncode == 0 and "1 plays stored" in dry.stderr
    assert world.plays() == []
    early = world.project.script("convert-matches", "--as-of", at(150).isoformat())
    assert early.returncode == 0 and world.plays() == []  # the song may still be playing
    assert world.project.scalar("SELECT count(*) FROM detections WHERE convert_status = 'pending'") == 2
    assert world.convert().returncode == 0 and len(world.plays()) == 1


def test_runs_every_two_minutes_store_what_one_late_run_stores(world: CaptureWorld):
    world.station("ok")
    schedule = [("A", -30, 240), ("B", 210, 100), (None, 310, 90), ("C", 400, 240), ("A", 640, 240),
                ("J", 880, 30), ("A", 910, 240), ("B", 1150, 240)]
    for station, shift in (("joy", 0), ("ok", 37)):
        world.programme(station, schedule, T0 + timedelta(seconds=shift), 12)
    settings = ConvertSettings()
    for tick in range(0, 2400, 120):  # as cron would, each run seeing only captures up to its time
        for station_id in world.stations.values():
            convert_station(world.engine, station_id, at(tick), settings)
    incremental = world.digest()
    assert world.project.scalar("SELECT max(version) FROM play_logs") == 1
    with world.engine.begin() as conn:
        reset_plays(conn)
    assert world.convert().returncode == 0
    assert world.digest() == incremental
    assert len(world.plays()) == 12  # six airings a station were heard (the jingle fell between captures)


def test_a_late_detection_writes_a_new_version_and_supersedes_the_old(world: CaptureWorld):
    world.capture("joy", at(0), "match", track="A", offset=30.0)
    world.capture("joy", at(120), "error")
    world.capture("joy", at(240), "no_match")
    assert world.convert().returncode == 0
    (first,) = world.plays()
    assert first.single_observation and first.version == 1
    # A snippet uploaded late: the same airing heard at 12:01, with a slightly different offset.
    world.capture("joy", at(60), "match", track="A", offset=94.0, source="acrcloud")
    assert world.convert().returncode == 0
    (current,) = world.plays()
    (old,) = world.plays("superseded")
    assert (current.play_key, current.version, current.supersedes_id) == (first.play_key, 2, first.id)
    assert current.detection_count == 2 and not current.single_observation
    assert as_utc(current.started_at) == at(-32)  # median of -30 and -34
    assert as_utc(old.started_at) == at(-30) and old.superseded_at is not None  # facts of the old row unchanged
    assert world.convert().returncode == 0 and len(world.plays()) == 1  # nothing more to do


def test_unconvertible_detection_is_retried_then_parked_and_the_rest_converts(world: CaptureWorld):
    world.programme("joy", [("A", -30, 240)], T0, 3)
    # ACRCloud's best candidate without an acrid or a valid ISRC: a detection naming no recording
    world.capture("joy", at(400), "match", track=None, offset=12.0, source="acrcloud")
    world.capture("joy", at(520), "no_match")
    first = world.convert("--max-attempts", "2")
    assert first.returncode == 1 and "unknown_recording" in first.stderr
    assert len(world.plays()) == 1
    row = world.project.query("SELECT * FROM detections WHERE track_id IS NULL")[0]
    assert (row.convert_status, row.convert_attempts) == ("pending", 1) and row.convert_next_attempt_at
    assert "names no catalog track" in row.convert_error
    again = world.convert("--max-attempts", "2")  # not due yet: nothing attempted
    assert again.returncode == 0
    due = world.project.script("convert-matches", "--max-attempts", "2", "--as-of", "2026-03-04T00:00:00Z")
    assert due.returncode == 1
    assert world.project.scalar("SELECT convert_status FROM detections WHERE track_id IS NULL") == "parked"
    status = world.project.script("zamio-status")
    assert "detections parked" in status.stdout + status.stderr
    assert world.convert("--max-attempts", "2").returncode == 0  # parked: never retried by itself
    world.capture("joy", at(3600), "match", track="A", offset=900.0)  # A lasts 240 s
    assert world.convert().returncode == 1
    assert "impossible_times" in world.project.scalar(
        "SELECT convert_error FROM detections WHERE offset_seconds = 900")


def test_two_sources_on_one_capture_agree_or_conflict_and_external_plays(world: CaptureWorld):
    c1 = world.capture("joy", at(0), "match", track="A", offset=30.0)
    c2 = world.capture("joy", at(120), "match", track="A", offset=150.0)
    with world.engine.begin() as conn:
        world.detect(conn, c1, "joy", at(0), "A", 31.0, source="acrcloud")  # same recording: more evidence
        world.detect(conn, c2, "joy", at(120), "B", 10.0, source="acrcloud")  # another recording: kept out
    assert world.convert().returncode == 0
    (play,) = world.plays()
    assert play.detection_count == 3 and play.source == "local"
    note = world.project.scalar("SELECT convert_error FROM detections WHERE convert_status = 'conflict'")
    assert "also recognised as track:" in note
    # An external detection without a catalog track is a play of its ACRCloud id.
    world.capture("joy", at(3600), "match", track=None, offset=20.0, source="acrcloud", acrcloud_id="acr-9",
                  isrc="USRC17607839", isrc_valid=True, title="Foreign", artist="Band", duration_seconds=200.0)
    assert world.convert().returncode == 0
    play = world.plays()[-1]
    assert (play.recording_key, play.source, play.isrc, play.title) == ("acr:acr-9", "acrcloud", "USRC17607839",
                                                                        "Foreign")
    assert play.duration_seconds == 200.0


def final_keys_unique(project: Project) -> bool:
    return project.scalar("SELECT count(*) FROM (SELECT play_key FROM play_logs WHERE status = 'final' "
                          "GROUP BY play_key HAVING count(*) > 1) dup") == 0


def test_killed_runs_then_a_rerun_store_the_same_plays_as_one_clean_run(world: CaptureWorld):
    world.busy_day()
    began = time.monotonic()
    clean = world.convert("--batch-rows", "40")
    took = time.monotonic() - began  # kills land within a run's length, whatever the machine's speed
    assert clean.returncode == 0, clean.stderr
    expected, plays = world.digest(), len(world.plays())
    assert plays > 100
    with world.engine.begin() as conn:
        reset_plays(conn)
    rnd = random.Random(11)
    for _ in range(4):
        proc = world.project.popen("convert-matches", "--as-of", LATER, "--batch-rows", "40")
        time.sleep(rnd.uniform(0.2, 0.95) * took)
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
    assert world.convert("--batch-rows", "40").returncode == 0
    assert world.digest() == expected and final_keys_unique(world.project)


def test_two_runs_at_once_never_store_an_airing_twice(world: CaptureWorld):
    world.busy_day(stations_count=2, hours=2)
    procs = [world.project.popen("convert-matches", "--as-of", LATER, "--batch-rows", "20") for _ in range(2)]
    codes = sorted(p.wait(timeout=120) for p in procs)
    for p in procs:
        p.communicate()
    assert codes in ([0, 0], [0, 75])  # the second waits for nothing: the job lock turns it away
    expected = world.digest()
    with world.engine.begin() as conn:
        reset_plays(conn)
    # Past the job lock (two hosts misconfigured, or a direct call): the station lock and the
    # unique keys still keep each airing single.
    settings = ConvertSettings(batch_rows=20)
    later = datetime(2026, 3, 3, tzinfo=UTC)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for station_id in world.stations.values():
                convert_station(world.engine, station_id, later, settings)
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert world.digest() == expected and final_keys_unique(world.project)
