"""The shape of the project: every scheduled job exists, every script is documented, scripts stay thin."""

from __future__ import annotations

import ast
import importlib
import os
import subprocess
import sys

import pytest

from tests.support import ROOT
from zamio.runtime import schedule

SCRIPTS = sorted(p for p in (ROOT / "bin").iterdir() if p.is_file())
CRONTAB = schedule.read_crontab()

#: The schedule of the former Celery beat entries (DESIGN.md), for the jobs that exist.
SEED_SCHEDULE = {
    "scan-station-streams": "*/2 * * * *",
    "convert-matches": "*/2 * * * *",
    "auto-fingerprint-new-tracks": "*/10 * * * *",
    "warm-cache": "0 * * * *",
    "update-pro-mappings": "0 1 * * *",
    "cleanup-old-fingerprints": "0 2 * * *",
    "send-emails": "*/5 * * * *",
}


def test_every_crontab_line_names_an_executable_script() -> None:
    for job in CRONTAB:
        path = ROOT / "bin" / job.script
        assert path.is_file() and os.access(path, os.X_OK), f"crontab names {job.script}, which is not in bin/"


def test_crontab_uses_the_home_variable_and_absolute_paths() -> None:
    text = (ROOT / "crontab.txt").read_text()
    assert "ZAMIO_HOME=/" in text and "PATH=/usr/bin:/bin" in text
    for job in CRONTAB:
        assert "$ZAMIO_HOME/bin/" in job.line, job.line
        assert "flock" not in job.line  # the runner locks


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_every_script_has_help_that_exits_0(script) -> None:
    result = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout and "Example" in result.stdout


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_every_script_is_scheduled_or_documented_as_manual(script) -> None:
    scheduled = {job.script for job in CRONTAB}
    readme = (ROOT / "README.md").read_text()
    assert script.name in scheduled or f"bin/{script.name}" in readme, (
        f"{script.name} is neither in crontab.txt nor the README")


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_scripts_are_thin(script) -> None:
    source = script.read_text()
    tree = ast.parse(source)
    code_lines = [line for line in source.splitlines() if line.strip() and not line.strip().startswith("#")]
    assert len(code_lines) <= 45, f"{script.name} has {len(code_lines)} lines: move logic into zamio/"
    for node in ast.walk(tree):
        assert not isinstance(node, (ast.For, ast.While, ast.With, ast.Try)), f"{script.name} contains logic"
    module = script.name.replace("-", "_")
    assert "from zamio.runtime.runner import run" in source and "sys.exit(run(JOB))" in source, script.name
    assert f"from zamio.jobs.{module} import JOB" in source, f"{script.name} runs zamio/jobs/{module}.py's JOB"


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_a_job_has_one_name_in_every_layer(script) -> None:
    """Script, adapter module, job name (the job_runs row and the lock), crontab line and systemd unit."""
    job = importlib.import_module(f"zamio.jobs.{script.name.replace('-', '_')}").JOB
    assert job.name == script.name
    scheduled = {each.script for each in CRONTAB}
    if script.name in scheduled:
        assert (ROOT / "systemd" / f"zamio-{script.name}.service").is_file(), script.name


def test_seed_jobs_keep_their_schedule() -> None:
    for job in CRONTAB:
        if job.script in SEED_SCHEDULE:
            assert job.expression == SEED_SCHEDULE[job.script], job.script


def test_systemd_units_match_the_crontab() -> None:
    units = schedule.render_units(CRONTAB)
    folder = ROOT / "systemd"
    committed = {p.name: p.read_text() for p in folder.glob("zamio-*")}
    assert committed == units, "run `make units` to regenerate systemd/ from crontab.txt"
    for job in CRONTAB:
        service = units[f"zamio-{job.script}.service"]
        timer = units[f"zamio-{job.script}.timer"]
        assert "Type=oneshot" in service and "SuccessExitStatus=75" in service and "KillMode=mixed" in service
        timeout = int(service.split("TimeoutStartSec=")[1].split()[0])
        assert timeout < job.period_seconds
        if job.period_seconds <= 120:
            assert "AccuracySec=1s" in timer
        if job.period_seconds >= 86400:
            assert "Persistent=true" in timer


@pytest.mark.parametrize(
    "fields, period, calendar",
    [
        ("*/2 * * * *", 120, "*-*-* *:00/2:00"),
        ("0 * * * *", 3600, "*-*-* *:00:00"),
        ("0 1 * * *", 86400, "*-*-* 01:00:00"),
        ("30 2 * * *", 86400, "*-*-* 02:30:00"),
        ("0 6 * * 1", 7 * 86400, "Mon *-*-* 06:00:00"),
    ],
)
def test_cron_periods_and_calendars(fields: str, period: int, calendar: str) -> None:
    job = schedule.parse_line(f"{fields} zamio $ZAMIO_HOME/bin/x")
    assert job.period_seconds == period
    assert schedule.on_calendar(job.fields) == calendar


def test_library_modules_stay_small() -> None:
    for path in (ROOT / "zamio").rglob("*.py"):
        lines = len(path.read_text().splitlines())
        assert lines <= 600, f"{path.relative_to(ROOT)} has {lines} lines: split it by concern"
