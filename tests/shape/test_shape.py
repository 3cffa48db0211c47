"""The shape of the project: every scheduled job exists, every script is documented, scripts stay thin."""

from __future__ import annotations

import ast
import importlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT
from zamio.runtime import schedule
from zamio.runtime.errors import DataError

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


#: The libraries a run loads and --help does without (zamio/jobs/__init__.py says how).
HEAVY_LIBRARIES = ("sqlalchemy", "numpy", "scipy", "jinja2", "psycopg2", "requests")

#: Runs a script with --help, then with an option it lacks, in this interpreter; prints the heavy libraries loaded.
LOADED_BY_HELP = """
import json, runpy, sys
script, heavy = sys.argv[1], sys.argv[2:]
for argv in ([script, "--help"], [script, "--no-such-option"]):
    sys.argv = argv
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit:
        pass
print(json.dumps(sorted(name for name in heavy if name in sys.modules)))
"""


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_help_and_a_usage_error_load_no_heavy_library(script) -> None:
    """A person typing --help, or a check running every script's, does not wait for the library to load."""
    result = subprocess.run([sys.executable, "-c", LOADED_BY_HELP, str(script), *HEAVY_LIBRARIES],
                            capture_output=True, text=True, timeout=30, env={**os.environ, "ZAMIO_NO_REEXEC": "1"})
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout and f"{script.name}: error:" in result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == []


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
    zone = schedule.schedule_time_zone()
    units = schedule.render_units(CRONTAB, zone=zone)
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
        assert "EnvironmentFile" not in service, "the job reads .env itself: systemd's parser keeps inline comments"
        assert "Environment=ZAMIO_STARTED_BY=schedule" in service
        assert f"OnCalendar={schedule.on_calendar(job.fields)} {zone}" in timer


def test_the_crontab_marks_its_runs_and_names_its_zone_and_mail() -> None:
    variables = schedule.read_variables()
    assert variables["ZAMIO_STARTED_BY"] == "schedule" and variables["MAILTO"]
    assert schedule.schedule_time_zone() == "Africa/Accra"


@pytest.mark.parametrize(
    "fields, period, calendar",
    [
        ("*/2 * * * *", 120, "*-*-* *:00/2:00"),
        ("0 * * * *", 3600, "*-*-* *:00:00"),
        ("0 1 * * *", 86400, "*-*-* 01:00:00"),
        ("30 2 * * *", 86400, "*-*-* 02:30:00"),
        ("0 6 * * 1", 7 * 86400, "Mon *-*-* 06:00:00"),
        ("0 9-17 * * *", 16 * 3600, "*-*-* 09..17:00:00"),
        ("15 9-17/2 * * 1-5", 2 * 86400 + 16 * 3600, "Mon,Tue,Wed,Thu,Fri *-*-* 09..17/2:15:00"),
        ("0,30 8,12-14 1 * *", 17 * 3600 + 30 * 60, "*-*-01 08,12..14:00,30:00"),
    ],
)
def test_cron_periods_and_calendars(fields: str, period: int, calendar: str) -> None:
    job = schedule.parse_line(f"{fields} zamio $ZAMIO_HOME/bin/x")
    assert job.period_seconds == period
    assert schedule.on_calendar(job.fields) == calendar


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
@pytest.mark.parametrize("fields", ["*/2 * * * *", "0 9-17 * * *", "15 9-17/2 * * 1-5", "0,30 8,12-14 1 * *",
                                    "5 * * * *", "0 6 * * 0"])
def test_systemd_accepts_every_calendar_the_generator_writes(fields: str) -> None:
    job = schedule.parse_line(f"{fields} zamio $ZAMIO_HOME/bin/x")
    for zone in (None, "Africa/Accra"):
        calendar = schedule.on_calendar(job.fields, zone)
        checked = subprocess.run(["systemd-analyze", "calendar", calendar], capture_output=True, text=True)
        assert checked.returncode == 0, f"{fields} -> {calendar}: {checked.stderr}"


def test_an_unknown_schedule_zone_is_refused_by_name(tmp_path: Path) -> None:
    crontab = tmp_path / "crontab.txt"
    crontab.write_text("CRON_TZ=Africa/Atlantis\n0 1 * * * zamio $ZAMIO_HOME/bin/x\n")
    with pytest.raises(DataError, match="CRON_TZ=Africa/Atlantis"):
        schedule.schedule_time_zone(crontab)


def test_library_modules_stay_small() -> None:
    for path in (ROOT / "zamio").rglob("*.py"):
        lines = len(path.read_text().splitlines())
        assert lines <= 600, f"{path.relative_to(ROOT)} has {lines} lines: split it by concern"


def test_every_script_is_also_a_console_command_of_the_same_name() -> None:
    import configparser

    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    commands = dict(line.split(" = ") for line in setup["options.entry_points"]["console_scripts"].strip().splitlines())
    assert sorted(commands) == [script.name for script in SCRIPTS]
    for name, target in commands.items():
        assert target == f"zamio.jobs.console:{name.replace('-', '_')}"
