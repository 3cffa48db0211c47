"""bin/scan-station-streams --station REF: the named stations now, due or not, under the same leases."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from tests.scan_helpers import (  # noqa: F401
    CATALOG_SEEDS,
    add_station,
    captures_by_station,
    catalog_prints,
    link_row,
    rows,
    scan,
    scan_audio,
    seed_catalog,
    set_links,
)
from tests.streamserver import AudioRoute, StreamServer
from zamio.db.engine import utcnow
from zamio.db.tables import detections, stations, stream_links

A, B, C = CATALOG_SEEDS


def routes(audio) -> dict[str, object]:
    return {"/a": AudioRoute(audio.mp3(A)), "/b": AudioRoute(audio.mp3(B)), "/c": AudioRoute(audio.mp3(C))}


def station_id(project, ref: str) -> int:
    return rows(project, select(stations.c.id).where(stations.c.station_ref == ref))[0].id


def test_named_stations_are_scanned_now_due_or_not_and_nothing_else(project, scan_audio, catalog_prints, tmp_path):
    track_ids = seed_catalog(project, catalog_prints)
    later = utcnow() + timedelta(hours=1)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "waiting.mp3").write_bytes(scan_audio.mp3(A))
    (inbox / "waiting.mp3.json").write_text(json.dumps(
        {"station_ref": "due", "chunk_id": "dev1-1", "started_at": "2026-05-18T14:59:20+00:00"}))
    with StreamServer(routes(scan_audio)) as server:
        add_station(project, "due", server.url("/a"))
        add_station(project, "not-due", server.url("/b"))
        add_station(project, "resting", server.url("/c"), server.url("/a"))
        set_links(project, stream_links.c.station_id == station_id(project, "not-due"), next_due_at=later)
        # Both links of "resting" back off after failures: the primary is tried again.
        set_links(project, stream_links.c.station_id == station_id(project, "resting"), next_attempt_at=later,
                  consecutive_failures=3, last_error_reason="http_404")
        result = scan(project, "--station", "not-due", "--station", "resting", "--inbox", str(inbox))
    assert result.returncode == 0, result.stderr
    grouped = captures_by_station(project)
    assert sorted(grouped) == ["not-due", "resting"]  # "due" was not named: left to the periodic run
    assert all(len(found) == 1 and found[0].outcome == "match" for found in grouped.values())
    heard = {row.station_id: row.track_id for row in rows(project, select(detections))}
    assert heard == {station_id(project, "not-due"): track_ids[B], station_id(project, "resting"): track_ids[C]}
    # Health is recorded as by any scan.
    not_due, resting = link_row(project, "not-due"), link_row(project, "resting")
    assert not_due.last_success_at == grouped["not-due"][0].started_at
    assert not_due.next_due_at == not_due.last_success_at + timedelta(seconds=120)
    assert resting.consecutive_failures == 0 and resting.last_error_reason is None and resting.lease_owner is None
    assert link_row(project, "due").last_attempt_at is None
    assert (inbox / "waiting.mp3").exists()  # the inbox is not touched either


def test_an_unknown_station_is_refused_by_name(project, scan_audio):
    with StreamServer(routes(scan_audio)) as server:
        add_station(project, "joy-fm", server.url("/a"))
        result = scan(project, "--station", "joy-fm", "--station", "no-such-fm")
    assert result.returncode == 2, result.stderr
    assert "no station with station_ref no-such-fm" in result.stderr
    assert captures_by_station(project) == {}


def test_a_station_being_scanned_by_another_run_is_left_to_it(project, scan_audio):
    expires = utcnow() + timedelta(minutes=5)
    with StreamServer(routes(scan_audio)) as server:
        add_station(project, "joy-fm", server.url("/a"), server.url("/b"))
        # Another host holds the backup link's lease: the station is being scanned.
        set_links(project, stream_links.c.priority == 1, lease_owner="host-b:77:0123abcd", lease_expires_at=expires)
        result = scan(project, "--station", "joy-fm")
    assert result.returncode == 0, result.stderr
    assert "being scanned by another run" in result.stderr
    assert captures_by_station(project) == {}
    assert link_row(project, "joy-fm", priority=1).lease_owner == "host-b:77:0123abcd"
    assert link_row(project, "joy-fm").lease_owner is None
