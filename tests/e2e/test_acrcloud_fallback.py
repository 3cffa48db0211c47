"""The ACRCloud fallback of the scan, against the fake service on 127.0.0.1 (signatures checked)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from tests.fake_acrcloud import ACCESS_SECRET, FakeAcrCloud
from tests.scan_helpers import (  # noqa: F401
    CATALOG_SEEDS,
    UNKNOWN_SEEDS,
    add_station,
    captures_by_station,
    catalog_prints,
    make_all_due,
    rows,
    scan,
    scan_audio,
    seed_catalog,
)
from tests.streamserver import AudioRoute, StreamServer
from tests.world import acrcloud_env
from zamio.db.engine import utcnow
from zamio.db.tables import acrcloud_usage, detections, stations


def acr_env(fake: FakeAcrCloud, **extra: str) -> dict[str, str]:
    return {**acrcloud_env(fake), "SCAN_CONCURRENCY": "1", **extra}


def unknown_stations(project, server: StreamServer, audio, count: int = 3) -> list[str]:
    """Stations playing songs the catalog does not hold, scanned in this order."""
    refs = []
    for i, seed in enumerate(UNKNOWN_SEEDS[:count]):
        server.add(f"/u{i}", AudioRoute(audio.mp3(seed)))
        add_station(project, f"u{i}", server.url(f"/u{i}"))
        refs.append(f"u{i}")
    return refs


def usage(project):
    return rows(project, select(acrcloud_usage))


def test_fallback_answers_are_recorded(project, scan_audio, catalog_prints):
    track_ids = seed_catalog(project, catalog_prints)
    with StreamServer() as server, FakeAcrCloud() as fake:
        unknown_stations(project, server, scan_audio)
        server.add("/known", AudioRoute(scan_audio.mp3(CATALOG_SEEDS[0])))
        add_station(project, "known", server.url("/known"))
        fake.respond("no_match", "malformed_json", "match")
        result = scan(project, **acr_env(fake))
    assert result.returncode == 1, result.stderr  # the malformed answer is a failed item
    assert ACCESS_SECRET not in result.stderr
    assert len(fake.requests) == 3  # the catalog song never went to ACRCloud
    captures = {ref: found[0] for ref, found in captures_by_station(project).items()}
    assert (captures["u0"].outcome, captures["u0"].error_reason) == ("no_match", "acrcloud_no_result")
    assert (captures["u1"].outcome, captures["u1"].error_reason) == ("no_match", "acrcloud_bad_response")
    assert captures["u2"].outcome == "match" and captures["known"].outcome == "match"
    found = {r.station_ref: r for r in rows(project, select(stations.c.station_ref, detections)
                                              .join(stations, stations.c.id == detections.c.station_id))}
    assert found["known"].source == "local" and found["known"].track_id == track_ids[CATALOG_SEEDS[0]]
    acr = found["u2"]
    assert (acr.source, acr.title, acr.artist, acr.album, acr.label) == (
        "acrcloud", "Mpempem", "Daddy Lumba, Ofori Amponsah", "Aben Wo Ha", "Lumba Productions")
    assert (acr.isrc, acr.isrc_valid, acr.iswc) == ("GHA129800012", True, "T0345246801")
    assert acr.acrcloud_id == "6049f11da7095e8bb8266871d4a70873" and acr.track_id is None
    assert acr.offset_seconds == pytest.approx(52.24) and acr.duration_seconds == pytest.approx(254.0)
    assert acr.raw_status_code == 0 and acr.score == 100 and acr.confidence == 1.0
    assert json.loads(acr.raw_response)["status"]["code"] == 0
    (day,) = usage(project)
    assert day.requests == 3 and day.day == utcnow().date()
    sent = fake.requests[0]
    assert int(sent.fields["sample_bytes"]) <= 44 + 12 * 8000 * 2  # at most 12 s of 8 kHz 16-bit mono


def test_limit_exceeded_opens_the_breaker_for_every_run(project, scan_audio, catalog_prints):
    seed_catalog(project, catalog_prints)
    with StreamServer() as server, FakeAcrCloud() as fake:
        unknown_stations(project, server, scan_audio)
        fake.respond("limit")
        first = scan(project, **acr_env(fake))
        make_all_due(project)
        second = scan(project, **acr_env(fake))
    assert (first.returncode, second.returncode) == (0, 0), first.stderr + second.stderr
    assert len(fake.requests) == 1
    reasons = [c.error_reason for found in captures_by_station(project).values() for c in found]
    assert sorted(reasons) == ["acrcloud_breaker_open"] * 5 + ["acrcloud_limit"]
    (day,) = usage(project)
    assert day.blocked_until > utcnow() and day.last_status == 3003


def test_run_and_daily_budgets_are_respected(project, scan_audio, catalog_prints):
    seed_catalog(project, catalog_prints)
    with StreamServer() as server, FakeAcrCloud(default="no_match") as fake:
        unknown_stations(project, server, scan_audio)
        first = scan(project, **acr_env(fake, ACRCLOUD_RUN_BUDGET="1"))
        make_all_due(project)
        second = scan(project, **acr_env(fake, ACRCLOUD_RUN_BUDGET="5", ACRCLOUD_DAILY_BUDGET="2"))
    assert (first.returncode, second.returncode) == (0, 0), first.stderr + second.stderr
    assert len(fake.requests) == 2 and usage(project)[0].requests == 2
    reasons = [[c.error_reason for c in found] for _, found in sorted(captures_by_station(project).items())]
    assert reasons == [["acrcloud_no_result", "acrcloud_no_result"], ["acrcloud_run_budget", "acrcloud_daily_budget"],
                       ["acrcloud_run_budget", "acrcloud_daily_budget"]]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_refused_credentials_end_the_run_with_exit_78(project, scan_audio, catalog_prints):
    seed_catalog(project, catalog_prints)
    with StreamServer() as server, FakeAcrCloud() as fake:
        unknown_stations(project, server, scan_audio, count=1)
        fake.respond("invalid_key")
        result = scan(project, **acr_env(fake))
    assert result.returncode == 78, result.stderr
    assert "ACRCLOUD_ACCESS_KEY" in result.stderr and ACCESS_SECRET not in result.stderr
    (capture,) = captures_by_station(project)["u0"]
    assert capture.error_reason == "acrcloud_auth"  # the capture itself is kept
