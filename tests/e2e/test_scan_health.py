"""Link health: back-off, the backup link, the stream-down e-mail, coverage gaps, time limits, several hosts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.scan_helpers import (  # noqa: F401
    CATALOG_SEEDS,
    add_station,
    captures_by_station,
    catalog_prints,
    gap_rows,
    link_row,
    make_all_due,
    rows,
    scan,
    scan_audio,
    seed_catalog,
    set_links,
)
from tests.streamserver import AudioRoute, StatusRoute, StreamServer
from zamio.db.engine import utcnow
from zamio.db.tables import stream_links

A, B, C = CATALOG_SEEDS
MP3_BYTES_PER_SECOND = 16_000  # 128 kbit/s


def test_backup_backoff_alert_and_coverage_gap(project, scan_audio, catalog_prints):
    seed_catalog(project, catalog_prints)
    env = {"STREAM_FAILURE_ALERT_AFTER": "2", "ZAMIO_OPERATOR_EMAIL": "ops@example.org"}
    routes = {"/gone": StatusRoute(404), "/down": StatusRoute(503), "/b.mp3": AudioRoute(scan_audio.mp3(B))}
    with StreamServer(routes) as server:
        add_station(project, "flaky", server.url("/gone"), server.url("/b.mp3"), contact_email="flaky@example.org")
        add_station(project, "dead", server.url("/down"), contact_email="dead@example.org")
        last_seen = utcnow() - timedelta(minutes=10)
        set_links(project, stream_links.c.url.like("%/down"), last_success_at=last_seen)

        first = scan(project, **env)
        assert first.returncode == 1, first.stderr
        backup = captures_by_station(project)["flaky"]
        assert [c.outcome for c in backup] == ["error", "match"]  # primary failed, backup used in the same tick
        assert link_row(project, "flaky").consecutive_failures == 1
        assert link_row(project, "flaky", 1).consecutive_failures == 0
        gap = gap_rows(project)
        assert len(gap) == 1 and gap[0].reason == "http_503"
        assert abs((gap[0].gap_from - last_seen).total_seconds()) < 1

        again = scan(project, **env)  # the next tick: failing links back off, good ones are not due
        assert again.returncode == 0, again.stderr
        assert sum(map(len, captures_by_station(project).values())) == 3

        make_all_due(project)
        assert scan(project, **env).returncode == 1
        primary = link_row(project, "flaky")
        assert primary.consecutive_failures == 2 and primary.alerted_at is not None
        wait = (primary.next_attempt_at - primary.last_attempt_at).total_seconds()
        assert wait == pytest.approx(2 * 120)  # doubled back-off
        outbox = sorted(r.recipient for r in project.query("SELECT recipient FROM email_outbox"))
        assert outbox == ["dead@example.org", "flaky@example.org", "ops@example.org", "ops@example.org"]
        gaps = gap_rows(project)
        assert len(gaps) == 1 and gaps[0].gap_to > gap[0].gap_to  # extended, not duplicated

        make_all_due(project)
        assert scan(project, **env).returncode == 1
        assert project.scalar("SELECT count(*) FROM email_outbox") == 4  # one e-mail per outage

        server.add("/down", AudioRoute(scan_audio.mp3(A)))  # the station comes back
        make_all_due(project)
        assert scan(project, **env).returncode == 1  # flaky's primary still fails
    dead = link_row(project, "dead")
    assert dead.consecutive_failures == 0 and dead.alerted_at is None and dead.last_error_reason is None
    back = captures_by_station(project)["dead"][-1]
    closed = gap_rows(project)
    assert back.outcome == "match" and len(closed) == 1 and closed[0].gap_to == back.started_at


def paced_routes(audio, count: int, pace: float) -> dict[str, object]:
    return {f"/s{i}": AudioRoute(audio.mp3(CATALOG_SEEDS[i % 3]), byte_rate=MP3_BYTES_PER_SECOND, pace=pace,
                                 burst_bytes=MP3_BYTES_PER_SECOND)
            for i in range(count)}


def test_max_seconds_leaves_the_rest_due_and_first_next_time(project, scan_audio, catalog_prints):
    seed_catalog(project, catalog_prints)
    with StreamServer(paced_routes(scan_audio, 5, pace=1.0)) as server:
        for i in range(5):
            add_station(project, f"s{i}", server.url(f"/s{i}"))
        # 3 s captures need 3 + 3 s of window and 8 s of margin: claims stop 2 s into the run.
        short = scan(project, "--concurrency", "1", "--capture-seconds", "3", "--max-seconds", "16")
        assert short.returncode == 0, short.stderr
        done = captures_by_station(project)
        assert 1 <= len(done) < 5
        left = rows(project, select(stream_links).where(stream_links.c.last_attempt_at.is_(None)))
        assert len(left) == 5 - len(done)
        assert all(r.next_due_at is None and r.lease_owner is None for r in left)  # still due, not held
        rest = scan(project, "--concurrency", "4", "--capture-seconds", "3")
        assert rest.returncode == 0, rest.stderr
    assert all(len(rows) == 1 for rows in captures_by_station(project).values())
    assert len(captures_by_station(project)) == 5


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_hosts_scan_each_station_once(project, scan_audio, catalog_prints):
    seed_catalog(project, catalog_prints)
    with StreamServer(paced_routes(scan_audio, 8, pace=3.0)) as server:
        for i in range(8):
            add_station(project, f"s{i}", server.url(f"/s{i}"))
        settings = {"SCAN_ALLOW_PRIVATE_ADDRESSES": "true", "SCAN_CAPTURE_SECONDS": "6", "SCAN_CONCURRENCY": "2"}
        hosts = [project.popen("scan-station-streams", env=project.env(ZAMIO_HOST_NAME=name, **settings))
                 for name in ("host-a", "host-b")]
        outputs = [p.communicate(timeout=90) for p in hosts]
    assert [p.returncode for p in hosts] == [0, 0], outputs
    grouped = captures_by_station(project)
    assert len(grouped) == 8 and all(len(rows) == 1 for rows in grouped.values())
    worked = project.query("SELECT host, items_ok FROM job_runs WHERE job = 'scan-station-streams'")
    assert sorted(r.host for r in worked) == ["host-a", "host-b"]
    assert all(r.items_ok > 0 for r in worked)  # both hosts took a share
