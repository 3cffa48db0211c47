"""zamio-status: overdue and failing jobs, JSON output, and the --check exit code."""

from __future__ import annotations

import json
from datetime import timedelta

from tests.support import ROOT, Project
from zamio.db.engine import transaction, utcnow
from zamio.db.tables import job_runs
from zamio.runtime import schedule, status

JOB = str(ROOT / "tests" / "jobs" / "process-items")


def add_run(project: Project, job: str, state: str, hours_ago: float, error: str | None = None) -> None:
    started = utcnow() - timedelta(hours=hours_ago)
    with transaction(project.engine) as conn:
        conn.execute(job_runs.insert().values(
            run_id=f"{job}-{state}-{hours_ago}", job=job, host="h", pid=1, started_at=started,
            finished_at=started + timedelta(seconds=5), status=state, exit_code=0 if state == "ok" else 70, error=error,
        ))


def test_overdue_and_failing_are_told_apart(project: Project) -> None:
    crontab = [schedule.parse_line(f"{expr} zamio $ZAMIO_HOME/bin/{name}") for expr, name in
               [("0 * * * *", "hourly-ok"), ("0 * * * *", "hourly-late"), ("*/10 * * * *", "ten-failing")]]
    add_run(project, "hourly-ok", "ok", 0.5)
    add_run(project, "hourly-late", "ok", 3)
    add_run(project, "ten-failing", "ok", 0.2)
    add_run(project, "ten-failing", "failed", 0.1, error="ServiceUnavailable: smtp down")
    with project.engine.connect() as conn:
        found = {s.job: s for s in status.collect(conn, crontab)}
    assert not found["hourly-ok"].overdue and not found["hourly-ok"].failing
    assert found["hourly-late"].overdue and not found["hourly-late"].failing
    assert found["ten-failing"].failing and not found["ten-failing"].overdue
    assert found["ten-failing"].last_error == "ServiceUnavailable: smtp down"
    assert status.problems(list(found.values())) == ["hourly-late overdue", "ten-failing failing"]
    text = status.render(list(found.values()), {"detections parked (cannot become plays)": 3})
    assert "FAILING" in text and "OVERDUE" in text and "parked" in text


def test_status_script_json_and_check(project: Project) -> None:
    project.execute("CREATE TABLE test_items (id INTEGER PRIMARY KEY, state TEXT NOT NULL DEFAULT 'todo')")
    project.execute("CREATE TABLE test_results (item_id INTEGER NOT NULL UNIQUE, value INTEGER NOT NULL)")
    scheduled = project.env(ZAMIO_STARTED_BY="schedule")
    assert project.script(JOB, env=scheduled).returncode == 0
    shown = project.script("zamio-status", "--json")
    assert shown.returncode == 0, shown.stderr
    jobs = {j["job"]: j for j in json.loads(shown.stdout)["jobs"]}
    assert jobs["process-items"]["last_status"] == "ok" and jobs["process-items"]["schedule"] == "not in crontab"
    assert project.script("zamio-status", "--check").returncode == 0
    assert project.script(JOB, "--raise", "bug", env=scheduled).returncode == 70
    check = project.script("zamio-status", "--check")
    assert check.returncode == 1 and "process-items failing" in check.stderr


def test_runs_by_hand_are_shown_apart_and_never_judged(project: Project) -> None:
    """A person's failed run neither makes the scheduled job failing nor, by succeeding, hides its failure."""
    project.execute("CREATE TABLE test_items (id INTEGER PRIMARY KEY, state TEXT NOT NULL DEFAULT 'todo')")
    project.execute("CREATE TABLE test_results (item_id INTEGER NOT NULL UNIQUE, value INTEGER NOT NULL)")
    scheduled = project.env(ZAMIO_STARTED_BY="schedule")
    assert project.script(JOB, env=scheduled).returncode == 0
    assert project.script(JOB, "--raise", "data").returncode == 65  # a mistyped run by hand
    assert project.script("zamio-status", "--check").returncode == 0
    rows = {(j["job"], j["started_by"]): j for j in json.loads(project.script("zamio-status", "--json").stdout)["jobs"]}
    assert rows[("process-items", "schedule")]["last_status"] == "ok"
    assert rows[("process-items", "manual")]["last_status"] == "failed"
    assert rows[("process-items", "manual")]["schedule"] == "manual"
    assert rows[("process-items", "manual")]["last_error"] == "test_items.csv line 3: bad value"
    table = project.script("zamio-status").stdout
    assert "last error: test_items.csv line 3: bad value" in table

    assert project.script(JOB, "--raise", "data", env=scheduled).returncode == 65  # the schedule's run fails
    assert project.script(JOB).returncode == 0  # and a person's success afterwards hides nothing
    check = project.script("zamio-status", "--check")
    assert check.returncode == 1 and "process-items failing" in check.stderr
    assert project.scalar("SELECT count(*) FROM job_runs WHERE started_by = 'manual'") == 2
    assert project.scalar("SELECT count(*) FROM job_runs WHERE started_by = 'schedule'") == 2


def test_a_run_whose_items_failed_records_the_first_reason(project: Project) -> None:
    project.execute("CREATE TABLE test_items (id INTEGER PRIMARY KEY, state TEXT NOT NULL DEFAULT 'todo')")
    project.execute("CREATE TABLE test_results (item_id INTEGER NOT NULL UNIQUE, value INTEGER NOT NULL)")
    project.execute("INSERT INTO test_items (id) VALUES (1), (2), (3)")
    assert project.script(JOB, "--fail-ids", "2,3").returncode == 1
    error = project.scalar("SELECT error FROM job_runs WHERE job = 'process-items'")
    assert error.startswith("item 2: ") and error.endswith("(and 1 other item)"), error
