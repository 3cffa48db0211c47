"""Concurrency at the production cadence: SQLite writers never see 'database is locked';
PostgreSQL claimers split a queue."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.support import ROOT, Project, migrated_sqlite_url

#: Seconds of writing side by side; without BEGIN IMMEDIATE the first read-then-write clash fails within one.
SOAK_SECONDS = float(os.environ.get("ZAMIO_SOAK_SECONDS", "10"))

WRITER = textwrap.dedent(
    """
    import sys, time, random
    sys.path.insert(0, {root!r})
    from sqlalchemy import text
    from zamio.db.engine import open_engine, transaction
    engine = open_engine({url!r})
    name, until, errors, writes = sys.argv[1], time.monotonic() + float(sys.argv[2]), 0, 0
    while time.monotonic() < until:
        try:
            with transaction(engine) as conn:
                # read, then write: the pattern that fails at once without BEGIN IMMEDIATE
                top = conn.execute(text("SELECT coalesce(max(n), 0) FROM soak WHERE writer = :w"),
                                   {{"w": name}}).scalar()
                for i in range(20):
                    conn.execute(text("INSERT INTO soak (writer, n) VALUES (:w, :n)"), {{"w": name, "n": top + i + 1}})
            writes += 1
        except Exception as error:
            errors += 1
            print("ERROR", error, file=sys.stderr)
        time.sleep(random.uniform(0.01, 0.05))
    print(writes, errors)
    """
)


@pytest.mark.slow
def test_two_sqlite_writers_never_see_database_is_locked(tmp_path: Path) -> None:
    url = migrated_sqlite_url(tmp_path / "soak.db")
    project = Project(url, tmp_path)
    project.execute("CREATE TABLE soak (writer TEXT NOT NULL, n INTEGER NOT NULL, UNIQUE (writer, n))")
    script = tmp_path / "writer.py"
    script.write_text(WRITER.format(root=str(ROOT), url=url))
    procs = [subprocess.Popen([sys.executable, str(script), name, str(SOAK_SECONDS)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for name in ("a", "b")]
    outputs = [p.communicate(timeout=SOAK_SECONDS + 120) for p in procs]
    for out, err in outputs:
        writes, errors = map(int, out.split())
        assert errors == 0 and "locked" not in err, err
        assert writes > 50
    assert project.scalar("SELECT count(*) FROM soak") == sum(int(o.split()[0]) for o, _ in outputs) * 20


@pytest.mark.postgres
def test_two_workers_claim_disjoint_sets_and_finish_all(postgres_url: str, tmp_path: Path) -> None:
    project = Project(postgres_url, tmp_path)
    project.execute(
        "CREATE TABLE test_queue (id INTEGER PRIMARY KEY, done_by TEXT, attempts INTEGER NOT NULL DEFAULT 0, "
        "next_attempt_at TIMESTAMPTZ, last_error TEXT, lease_owner TEXT, lease_expires_at TIMESTAMPTZ)"
    )
    project.execute("CREATE TABLE test_done (item_id INTEGER NOT NULL, worker TEXT NOT NULL)")
    project.execute("INSERT INTO test_queue (id) SELECT generate_series(1, 1000)")
    worker = str(ROOT / "tests" / "jobs" / "claim-worker")
    procs = [project.popen(worker, env=project.env(ZAMIO_HOST_NAME=f"host-{n}")) for n in (1, 2)]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    assert project.scalar("SELECT count(*) FROM test_done") == 1000
    assert project.scalar("SELECT count(DISTINCT item_id) FROM test_done") == 1000
    assert project.scalar("SELECT max(attempts) FROM test_queue") == 1
    assert project.scalar("SELECT count(*) FROM test_queue WHERE done_by IS NULL") == 0
    per_worker = [row[0] for row in project.query("SELECT count(*) FROM test_done GROUP BY worker")]
    assert len(per_worker) == 2 and min(per_worker) > 0


def test_an_expired_lease_is_claimed_again_and_counts_the_attempt(project: Project) -> None:
    from datetime import timedelta

    from sqlalchemy import Column, Integer, MetaData, Table, Text

    from zamio.db.engine import transaction, utcnow
    from zamio.db.types import UTCDateTime
    from zamio.runtime import leases

    queue = Table("lease_q", MetaData(), Column("id", Integer, primary_key=True),
                  Column("attempts", Integer, nullable=False), Column("next_attempt_at", UTCDateTime),
                  Column("last_error", Text), Column("lease_owner", Text), Column("lease_expires_at", UTCDateTime))
    queue.create(project.engine)
    project.execute("INSERT INTO lease_q (id, attempts) VALUES (1, 0)")
    with transaction(project.engine) as conn:
        assert [r.id for r in leases.claim(conn, queue, owner="dead", limit=5, lease_seconds=30)] == [1]
    with transaction(project.engine) as conn:
        assert leases.claim(conn, queue, owner="live", limit=5, lease_seconds=30) == []
        later = utcnow() + timedelta(seconds=31)
        rows = leases.claim(conn, queue, owner="live", limit=5, lease_seconds=30, now=later)
    assert [(r.id, r.attempts, r.lease_owner) for r in rows] == [(1, 2, "live")]
    with transaction(project.engine) as conn:
        assert not leases.release(conn, queue, 1, "dead")  # the dead worker lost it
        assert leases.fail(conn, queue, 1, "live", 2, "boom")
    assert project.scalar("SELECT last_error FROM lease_q") == "boom"
