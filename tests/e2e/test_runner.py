"""The shared job runner, exercised through real processes on real databases."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.support import ROOT, Project, migrated_sqlite_url

JOB = str(ROOT / "tests" / "jobs" / "process-items")


def make_items(project: Project, count: int) -> None:
    project.execute("CREATE TABLE test_items (id INTEGER PRIMARY KEY, state TEXT NOT NULL DEFAULT 'todo')")
    project.execute("CREATE TABLE test_results (item_id INTEGER NOT NULL UNIQUE, value INTEGER NOT NULL)")
    for start in range(1, count + 1, 500):
        values = ", ".join(f"({i})" for i in range(start, min(count, start + 499) + 1))
        project.execute(f"INSERT INTO test_items (id) VALUES {values}")


def table_digest(project: Project) -> str:
    rows = project.query("SELECT i.id, i.state, r.value FROM test_items i "
                         "LEFT JOIN test_results r ON r.item_id = i.id ORDER BY i.id")
    return hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest()


def last_run(project: Project, job: str = "process-items"):
    return project.query(
        "SELECT status, exit_code, items_ok, items_failed, error FROM job_runs "
        "WHERE job = :j ORDER BY id DESC LIMIT 1", j=job
    )[0]


def test_second_run_exits_75_at_once_and_first_is_unaffected(project: Project) -> None:
    make_items(project, 100)
    first = project.popen(JOB, "--sleep", "0.1")
    deadline = time.monotonic() + 60  # once it has done an item it holds the lock
    while project.scalar("SELECT count(*) FROM test_items WHERE state = 'done'") == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    second = project.script(JOB)
    assert second.returncode == 75, second.stderr
    assert "already running" in second.stderr and f"pid={first.pid}" in second.stderr
    # the lock is tried, not waited for: the first run is still at work when the second has
    # given up (the 1 s budget of start-up is checked by its benchmark)
    assert first.poll() is None
    assert first.wait(timeout=120) == 0
    assert project.scalar("SELECT count(*) FROM test_results") == 100
    statuses = {row[0] for row in project.query("SELECT status FROM job_runs WHERE job = 'process-items'")}
    assert statuses == {"ok", "locked"}


def test_sigkill_mid_item_leaves_no_partial_item_and_rerun_finishes(project: Project, tmp_path: Path) -> None:
    make_items(project, 30)
    victim = project.popen(JOB, "--sleep-inside", "0.2")
    time.sleep(2.5)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)
    done = project.scalar("SELECT count(*) FROM test_items WHERE state = 'done'")
    results = project.scalar("SELECT count(*) FROM test_results")
    assert 0 < done < 30 and results == done  # whole items only
    rerun = project.script(JOB)  # the lock is free again at once
    assert rerun.returncode == 0, rerun.stderr
    killed = project.query("SELECT status FROM job_runs WHERE finished_at IS NULL")
    assert len(killed) == 1 and killed[0][0] == "running"
    interrupted = table_digest(project)

    clean = Project(migrated_sqlite_url(tmp_path / "clean.db"), tmp_path / "clean") if project.is_sqlite else None
    if clean is not None:
        make_items(clean, 30)
        assert clean.script(JOB).returncode == 0
        assert table_digest(clean) == interrupted
    assert project.scalar("SELECT count(*) FROM test_items WHERE state = 'done'") == 30


def test_sigterm_finishes_the_current_item_and_records_the_run(project: Project) -> None:
    make_items(project, 50)
    proc = project.popen(JOB, "--sleep", "0.2")
    # Signal once the job is working (its handlers are in place by then), however slowly
    # it started on a busy machine.
    deadline = time.monotonic() + 60
    while project.scalar("SELECT count(*) FROM test_items WHERE state = 'done'") == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 75
    assert project.scalar("SELECT count(*) FROM test_results") == project.scalar(
        "SELECT count(*) FROM test_items WHERE state = 'done'"
    )
    assert last_run(project)[0] == "interrupted"
    assert project.script(JOB).returncode == 0  # lock released


def test_sigint_stops_as_sigterm_does_and_a_second_one_rolls_the_current_item_back(project: Project) -> None:
    make_items(project, 50)
    proc = project.popen(JOB, "--sleep-inside", "3", "--announce")  # each item holds its transaction 3 s
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "1"  # inside item 1, between its two writes
    assert proc.stdout.readline().strip() == "2"
    proc.send_signal(signal.SIGINT)  # Ctrl-C on a terminal: finish the item under way, then stop
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)  # again: stop at once, the item under way rolled back
    while proc.poll() is None:  # any further ones, down to the interpreter's own exit, change nothing
        proc.send_signal(signal.SIGINT)
        time.sleep(0.002)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 75, stderr
    assert "SIGINT received: finishing the current item" in stderr and "Traceback" not in stderr
    assert "stopped by SIGINT; the current item was rolled back" in stderr
    assert project.scalar("SELECT count(*) FROM test_results") == 1
    assert project.scalar("SELECT count(*) FROM test_items WHERE state = 'done'") == 1
    assert last_run(project) == ("interrupted", 75, 1, 0, "stopped by SIGINT")
    assert project.script(JOB).returncode == 0  # lock released
    assert project.scalar("SELECT count(*) FROM test_results") == 50


@pytest.mark.parametrize(
    "args, code",
    [
        ([], 0),
        (["--fail-ids", "2"], 1),
        (["--no-such-flag"], 2),
        (["--raise", "data"], 65),
        (["--raise", "unavailable"], 69),
        (["--raise", "bug"], 70),
        (["--raise", "temporary"], 75),
        (["--raise", "config"], 78),
    ],
)
def test_exit_code_contract(project: Project, args: list[str], code: int) -> None:
    make_items(project, 3)
    result = project.script(JOB, *args)
    assert result.returncode == code, result.stderr
    if code == 70:
        assert "Traceback" in result.stderr and "ZeroDivisionError" in result.stderr
    if code not in (2,):
        assert last_run(project)[1] == code
    if code == 1:
        assert last_run(project)[2:4] == (2, 1)
        assert project.scalar("SELECT state FROM test_items WHERE id = 2") == "failed"


def test_bad_configuration_exits_78_naming_the_variable_not_its_value(tmp_path: Path) -> None:
    db = tmp_path / "never.db"
    project = Project(f"sqlite:///{db}", tmp_path)
    result = project.script(JOB, env=project.env(SMTP_PORT="port-s3cret"))
    assert result.returncode == 78
    assert "SMTP_PORT" in result.stderr and "s3cret" not in result.stderr
    assert not db.exists()  # nothing touched


def test_unreachable_database_exits_69(tmp_path: Path) -> None:
    project = Project("postgresql://nobody@127.0.0.1:9/none", tmp_path)
    result = project.script(JOB)
    assert result.returncode == 69, result.stderr


def test_dry_run_leaves_the_database_unchanged(project: Project, tmp_path: Path) -> None:
    make_items(project, 5)
    before = database_digest(project)
    result = project.script(JOB, "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "dry run" in result.stderr
    assert database_digest(project) == before
    if project.is_sqlite:
        path = project.database.sqlite_file
        project.engine.dispose()
        checkpoint = subprocess.run([sys.executable, "-c", "import sqlite3; "
                                     f"sqlite3.connect({str(path)!r}).execute('PRAGMA wal_checkpoint(TRUNCATE)')"])
        assert checkpoint.returncode == 0
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert project.script(JOB, "--dry-run").returncode == 0
        subprocess.run([sys.executable, "-c", "import sqlite3; "
                        f"sqlite3.connect({str(path)!r}).execute('PRAGMA wal_checkpoint(TRUNCATE)')"])
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest


def database_digest(project: Project) -> str:
    from sqlalchemy import inspect

    with project.engine.connect() as conn:
        names = sorted(inspect(conn).get_table_names())
    dump = [(name, sorted(map(repr, project.query(f"SELECT * FROM {name}")))) for name in names]
    return hashlib.sha256(repr(dump).encode()).hexdigest()


def test_cron_environment_from_root_behaves_like_the_project_folder(project: Project) -> None:
    make_items(project, 4)
    env = {k: v for k, v in project.env().items()
           if k in ("DATABASE_URL", "ZAMIO_VAR_DIR", "ZAMIO_ENV_FILE", "ZAMIO_VENV")}
    env.update(PATH="/usr/bin:/bin", HOME="/nonexistent")
    result = subprocess.run(["env", "-i", *[f"{k}={v}" for k, v in env.items()], JOB], cwd="/", capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert project.scalar("SELECT count(*) FROM test_results") == 4


def test_env_file_beside_the_installation_is_found_from_any_folder(tmp_path: Path) -> None:
    from zamio.runtime import config
    env = {"ZAMIO_ENV_FILE": str(tmp_path / "x.env")}
    (tmp_path / "x.env").write_text("SMTP_HOST=mail.example.org\nSMTP_PORT=2525\n")
    loaded = config.load_config(env)
    assert (loaded.smtp_host, loaded.smtp_port) == ("mail.example.org", 2525)
    assert config.load_config({**env, "SMTP_PORT": "26"}).smtp_port == 26  # the environment wins


def test_child_process_does_not_keep_the_lock(project: Project) -> None:
    make_items(project, 1)
    first = project.script(JOB, "--spawn-child")
    assert first.returncode == 0, first.stderr
    child = int(first.stdout.split()[0])
    try:
        os.kill(child, 0)  # still alive
        assert project.script(JOB).returncode == 0
    finally:
        os.kill(child, signal.SIGKILL)


def test_max_seconds_stops_taking_work_and_the_next_run_continues(project: Project) -> None:
    make_items(project, 40)
    result = project.script(JOB, "--sleep", "0.2", "--max-seconds", "1")
    assert result.returncode == 0
    done = project.scalar("SELECT count(*) FROM test_items WHERE state = 'done'")
    assert 0 < done < 40
    assert project.script(JOB).returncode == 0
    assert project.scalar("SELECT count(*) FROM test_items WHERE state = 'done'") == 40


class _PingHandler(BaseHTTPRequestHandler):
    received: list[str] = []

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.received.append(self.path)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_monitoring_pings_start_and_exit_code(project: Project) -> None:
    make_items(project, 2)
    _PingHandler.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _PingHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/ping/{{job}}"
        result = project.script(JOB, "--fail-ids", "1", env=project.env(ZAMIO_PING_URL=url))
        assert result.returncode == 1
    finally:
        server.shutdown()
    paths = [p.split("?")[0] for p in _PingHandler.received]
    assert paths == ["/ping/process-items/start", "/ping/process-items/1"]
    assert all("rid=" in p for p in _PingHandler.received)


class _FailingPingHandler(_PingHandler):
    received: list[str] = []

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.received.append(self.path)
        self.send_response(500)
        self.send_header("Content-Length", "0")
        self.end_headers()


def test_pings_carry_the_run_id_and_a_failing_one_is_retried_once_and_only_warns(project: Project) -> None:
    make_items(project, 2)
    _FailingPingHandler.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FailingPingHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/ping/{{job}}"
        result = project.script(JOB, env=project.env(ZAMIO_PING_URL=url))
    finally:
        server.shutdown()
        server.server_close()
    assert result.returncode == 0, result.stderr
    assert project.scalar("SELECT count(*) FROM test_results") == 2  # the work was done
    assert result.stderr.count("monitoring ping") == 2  # one warning for the start, one for the end
    assert "HTTP 500" in result.stderr
    (run_id,) = [row[0] for row in project.query("SELECT run_id FROM job_runs WHERE job = 'process-items'")]
    assert _FailingPingHandler.received == [f"/ping/process-items/start?rid={run_id}"] * 2 + [
        f"/ping/process-items/0?rid={run_id}"] * 2


def test_a_ping_outage_changes_nothing(project: Project) -> None:
    make_items(project, 2)
    silent = __import__("socket").socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(5)  # accepts connections, never answers
    try:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/{{job}}"
        started = time.monotonic()
        result = project.script(JOB, env=project.env(ZAMIO_PING_URL=url, ZAMIO_PING_TIMEOUT_SECONDS="0.5"))
        assert result.returncode == 0
        assert "monitoring ping" in result.stderr
        assert time.monotonic() - started < 30
    finally:
        silent.close()
