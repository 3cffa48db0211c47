"""bin/detect-audio with ACRCloud configured: the scan's fallback, budgets and breaker, against the fake
service on 127.0.0.1; and the plays an ACRCloud answer without offsets becomes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.fake_acrcloud import ACCESS_KEY, ACCESS_SECRET, FakeAcrCloud
from tests.scan_helpers import rows
from tests.support import Project
from tests.world import World, utc
from zamio.db.engine import utcnow
from zamio.db.tables import acrcloud_usage, play_logs
from zamio.demo import synth


@pytest.fixture(scope="module")
def audio(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A catalog song (20 s), and two recordings of 8 s the catalog does not hold, as WAV files."""
    folder = tmp_path_factory.mktemp("heard")
    made = {}
    for name, seed, seconds in (("song", 61, 20.0), ("unknown", 71, 8.0), ("other", 72, 8.0)):
        made[name] = folder / f"{name}.wav"
        synth.write_wav(made[name], synth.song(seed, seconds=seconds))
    return made


def lines(result) -> list[dict]:
    return [json.loads(line) for line in result.stdout.splitlines()]


def captures(project: Project) -> list[tuple[str, str | None]]:
    return [tuple(r) for r in project.query("SELECT outcome, error_reason FROM captures ORDER BY started_at, id")]


def test_what_the_catalog_does_not_know_goes_to_acrcloud(project: Project, audio) -> None:
    world = World(project)
    joy = world.station("joy")
    world.track("t1", "Odo", "Ama", audio_path=audio["song"])
    world.fingerprint()
    with FakeAcrCloud() as fake:
        fake.respond("match", "no_match")
        result = world.hear(joy, "2026-03-02 12:00", audio["song"], audio["unknown"], audio["other"], acrcloud=fake)
        fake.respond("match", "no_match")
        text = project.script("detect-audio", str(audio["unknown"]), str(audio["other"]), env=project.env(
            ACRCLOUD_HOST=f"http://{fake.host}", ACRCLOUD_ACCESS_KEY=ACCESS_KEY, ACRCLOUD_ACCESS_SECRET=ACCESS_SECRET))
    song, unknown, other = lines(result)
    assert (song["match"], song["track_ref"], song["source"]) == (True, "t1", "local")
    assert len(fake.requests) == 4  # the catalog song never went to ACRCloud
    assert (unknown["match"], unknown["source"], unknown["title"], unknown["artist"]) == (
        True, "acrcloud", "Mpempem", "Daddy Lumba, Ofori Amponsah")
    assert (unknown["isrc"], unknown["track_ref"], unknown["offset_seconds"], unknown["confidence"]) == (
        "GHA129800012", None, 52.24, 1.0)  # 52,480 ms into the song less 240 ms into the sample
    assert (other["match"], other["error"]) == (False, None)
    assert other["message"] == "ACRCloud found nothing (1001 No result)"
    assert ACCESS_SECRET not in result.stdout + result.stderr
    assert captures(project) == [("match", None), ("match", None), ("no_match", "acrcloud_no_result")]
    found = project.query("SELECT source, title, isrc, acrcloud_id FROM detections ORDER BY id")
    assert [tuple(r) for r in found] == [("local", "Odo", None, None),
                                         ("acrcloud", "Mpempem", "GHA129800012", "6049f11da7095e8bb8266871d4a70873")]
    assert text.returncode == 0, text.stderr
    assert text.stdout.splitlines() == [
        f"{audio['unknown']}: 'Mpempem' by Daddy Lumba, Ofori Amponsah (GHA129800012) at 52.2 s, confidence 1.000, "
        "by ACRCloud",
        f"{audio['other']}: no match (music): ACRCloud found nothing (1001 No result)"]  # a song of no catalog
    assert project.scalar("SELECT requests FROM acrcloud_usage") == 4


def test_budgets_and_the_breaker_hold_for_detect_audio_as_for_the_scan(project: Project, audio) -> None:
    world = World(project)
    joy = world.station("joy")
    both = (audio["unknown"], audio["other"])
    with FakeAcrCloud(default="no_match") as fake:
        first = world.hear(joy, "2026-03-02 12:00", *both, acrcloud=fake, ACRCLOUD_RUN_BUDGET="1")
        world.hear(joy, "2026-03-02 12:02", audio["unknown"], acrcloud=fake, ACRCLOUD_DAILY_BUDGET="1")
        fake.respond("limit")
        world.hear(joy, "2026-03-02 12:04", *both, acrcloud=fake)
        world.hear(joy, "2026-03-02 12:06", audio["unknown"], acrcloud=fake)  # paused: nothing is sent
    assert "ACRCLOUD_RUN_BUDGET" in lines(first)[1]["message"]
    assert "1 via ACRCloud" not in first.stderr and "0 via ACRCloud (1 requests)" in first.stderr
    assert len(fake.requests) == 2
    assert [reason for _, reason in captures(project)] == [
        "acrcloud_no_result", "acrcloud_run_budget", "acrcloud_daily_budget", "acrcloud_limit",
        "acrcloud_breaker_open", "acrcloud_breaker_open"]
    (day,) = rows(project, select(acrcloud_usage))
    assert (day.requests, day.last_status) == (2, 3003) and day.blocked_until > utcnow()


def test_an_answer_without_offsets_becomes_a_play_from_the_capture(project: Project, audio) -> None:
    world = World(project)
    joy = world.station("joy")
    with FakeAcrCloud() as fake:
        for _ in range(2):
            fake.respond_match("GHA129800012", title="Mpempem", artist="Daddy Lumba", offsets=False)
        heard = world.hear(joy, "2026-03-02 12:00", audio["unknown"], acrcloud=fake)
        world.hear(joy, "2026-03-02 12:02", audio["unknown"], acrcloud=fake)
        world.hear(joy, "2026-03-02 12:04", audio["other"], acrcloud=fake)  # the default answer: another song
    (line,) = lines(heard)
    assert (line["match"], line["source"], line["offset_seconds"]) == (True, "acrcloud", None)
    assert project.scalar("SELECT count(*) FROM detections WHERE offset_seconds IS NULL") == 2
    world.convert("2026-03-03 00:00")
    first, second = rows(project, select(play_logs).order_by(play_logs.c.started_at))
    # Heard at 12:00 and at 12:02, each time for the file's 8 s: on air from 12:00:00 to 12:02:08.
    assert (first.title, first.isrc, first.source, first.detection_count) == ("Mpempem", "GHA129800012", "acrcloud", 2)
    assert (first.started_at, first.ended_at) == (utc("2026-03-02 12:00:00"), utc("2026-03-02 12:02:08"))
    assert first.duration_seconds == pytest.approx(2 * 60 + 8)
    assert (first.end_estimated, first.single_observation) == (True, False)
    # Its offset was given (52.24 s into the song): it started 52.24 s before the capture at 12:04.
    assert second.title == "Mpempem" and second.detection_count == 1
    assert second.started_at == utc("2026-03-02 12:03:07.760")
    assert project.scalar("SELECT count(*) FROM detections WHERE convert_status = 'converted'") == 3


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_refused_credentials_end_detect_audio_with_exit_78(project: Project, audio) -> None:
    world = World(project)
    joy = world.station("joy")
    with FakeAcrCloud() as fake:
        fake.respond("invalid_key")
        result = world.hear(joy, "2026-03-02 12:00", audio["unknown"], audio["other"], acrcloud=fake, codes=(78,))
    assert "ACRCLOUD_ACCESS_KEY" in result.stderr and ACCESS_SECRET not in result.stderr
    assert len(fake.requests) == 1 and captures(project) == [("no_match", "acrcloud_auth")]  # the first is kept
