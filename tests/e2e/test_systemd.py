"""``pip install .`` scheduled by systemd as the README installs it: systemd's timers start the installed commands.

The package is installed as *Installing as a package instead of a checkout* says: into
``/opt/zamio/.venv``, migrated from ``/opt/zamio``, its units written there with
``python -m zamio.runtime.schedule --write units``, then put where systemd reads them and started with
``systemctl enable --now`` on every timer.  Each timer fires its service; each service starts the
installed command as the schedule's run, and each job's run succeeds; systemd reads each timer's
calendar in the schedule's zone.

The systemd is a real one, a user manager (``systemd --user``, which a test may start where the
system's manager is another program or none), kept apart from the host: it runs in a mount
namespace of its own, where ``/opt`` and ``/run`` are the test's (``/opt/zamio`` a folder of the
test), and in a cgroup of its own, so that it moves no process but its own.  Two drop-ins adapt the
units to it, and nothing else is changed: a user manager cannot switch users, so each service's
``User=`` is the user running the tests; and each timer also fires a second after it is started
(``OnActiveSec=1s``, without the random delay), besides its calendar, so that the test need not
wait for 02:30.  The services run with everything else their unit says: working folder,
environment, ``Nice=``, ``IOSchedulingClass=``, ``NoNewPrivileges=``, ``PrivateTmp=``,
``ProtectSystem=``, ``SuccessExitStatus=``.

Needs root, systemd and ``unshare``; skipped without them, except where ``ZAMIO_REQUIRE_SYSTEMD=1``
(CI sets it): there it fails.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import sqlite3
import subprocess
import sysconfig
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.test_packaging import build_wheel, install_wheel
from zamio.runtime import schedule

REQUIRE_SYSTEMD = os.environ.get("ZAMIO_REQUIRE_SYSTEMD") == "1"
SYSTEMD = "/lib/systemd/systemd"
HOME = Path("/opt/zamio")
# The test environment's packages, which the installed package uses as its dependencies, seen where the
# services' PrivateTmp= does not hide them (the checkout, and so its .venv, may be under /tmp).
DEPENDENCIES = Path("/opt/zamio-test-dependencies")
RUNTIME_DIR = "/run/user/0"
CGROUP_V1 = ("systemd", "unified", "cpu", "memory", "pids")
WAIT_SECONDS = 300


def systemd_problem() -> str | None:
    if not os.access(SYSTEMD, os.X_OK) or shutil.which("systemctl") is None:
        return "systemd is not installed (apt-get install systemd)"
    if os.geteuid() != 0:
        return "the test's systemd needs root, for its mount namespace and its cgroup"
    probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "true"], capture_output=True,
                           text=True)
    if probe.returncode != 0:
        return f"cannot give systemd a mount namespace of its own: {probe.stderr.strip()}"
    if not cgroup_parents():
        return "no writable cgroup hierarchy under /sys/fs/cgroup"
    return None


def cgroup_parents() -> list[Path]:
    """Where the test's cgroup is made: the unified hierarchy, or each v1 hierarchy systemd uses."""
    root = Path("/sys/fs/cgroup")
    if (root / "cgroup.procs").exists():
        candidates = [root]
    else:
        candidates = [root / name for name in CGROUP_V1 if (root / name / "cgroup.procs").exists()]
    return [path for path in candidates if os.access(path, os.W_OK)]


def namespace_script(host_home: Path, manager_home: Path, config: Path, cgroup: str) -> str:
    """The shell that moves itself into the test's cgroup, gives itself its /run and /opt, then becomes systemd."""
    groups = " ".join(str(parent / cgroup) for parent in cgroup_parents())
    return f"""set -eu
for group in {groups}; do mkdir "$group"; echo $$ > "$group/cgroup.procs"; done
mount -t tmpfs zamio-systemd-run /run
# A user manager starts only where /run/systemd/system says that systemd is the system's manager.
mkdir -p /run/systemd/system {RUNTIME_DIR}
chmod 700 {RUNTIME_DIR}
# The journal the test starts beside the manager keeps its files here, not in the host's journal.
if [ -d /var/log/journal ]; then mount -t tmpfs zamio-systemd-journal /var/log/journal; fi
mount -t tmpfs zamio-systemd-opt /opt
mkdir {HOME} {DEPENDENCIES}
mount --bind {host_home} {HOME}
mount --bind {sysconfig.get_path('purelib')} {DEPENDENCIES}
# Should the test be killed, the manager stops on its own, its timers with it.
exec timeout {WAIT_SECONDS * 4} env -i PATH=/usr/bin:/bin LANG=C.UTF-8 XDG_RUNTIME_DIR={RUNTIME_DIR} \
    HOME={manager_home} XDG_CONFIG_HOME={config} {SYSTEMD} --user
"""


class Manager:
    """A user manager in its own namespace; commands run beside it with ``run``."""

    def __init__(self, process: subprocess.Popen[str], cgroup: str, config: Path) -> None:
        self.process, self.cgroup, self.config = process, cgroup, config

    def run(self, *command: str, cwd: Path = Path("/"), check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(["nsenter", "-t", str(self.process.pid), "-m", "--", *self.inside_at(cwd), *command],
                              capture_output=True, text=True, timeout=600)
        assert not check or done.returncode == 0, (command, done.stdout, done.stderr)
        return done

    @staticmethod
    def inside_at(cwd: Path) -> tuple[str, ...]:
        """Start a command in ``cwd`` with the service user's minimal environment, as a person at a shell would."""
        return ("env", "-i", "PATH=/usr/bin:/bin", "LANG=C.UTF-8", f"XDG_RUNTIME_DIR={RUNTIME_DIR}",
                "sh", "-c", 'cd "$0" && exec "$@"', str(cwd))

    def systemctl(self, *args: str) -> str:
        return self.run("env", "TZ=UTC", "systemctl", "--user", *args).stdout  # times shown in UTC

    def property(self, unit: str, name: str) -> str:
        return self.systemctl("show", "-P", name, unit).strip()

    def elapse(self, timer: str) -> datetime:
        """When systemd will next start ``timer``'s service by its calendar."""
        shown = self.property(timer, "NextElapseUSecRealtime")  # e.g. "Mon 2026-12-07 02:30:00 UTC"
        return datetime.strptime(shown, "%a %Y-%m-%d %H:%M:%S UTC").replace(tzinfo=UTC)


@pytest.fixture
def manager(tmp_path: Path) -> Iterator[Manager]:
    problem = systemd_problem()
    if problem:
        if REQUIRE_SYSTEMD:
            pytest.fail(f"systemd is required here (ZAMIO_REQUIRE_SYSTEMD=1): {problem}")
        pytest.skip(problem)
    host_home, manager_home, config = tmp_path / "opt-zamio", tmp_path / "manager-home", tmp_path / "config"
    for folder in (host_home, manager_home, config / "systemd" / "user"):
        folder.mkdir(parents=True)
    cgroup = f"zamio-systemd-test-{os.getpid()}-{secrets.token_hex(3)}"
    process = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                                namespace_script(host_home, manager_home, config, cgroup)],
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    started = Manager(process, cgroup, config)
    try:
        deadline = time.monotonic() + 60
        while started.run("systemctl", "--user", "is-system-running", check=False).stdout.strip() not in (
                "running", "degraded"):
            assert process.poll() is None, f"systemd --user stopped: {process.communicate()[0]}"
            assert time.monotonic() < deadline, "systemd --user did not start within a minute"
            time.sleep(0.2)
        yield started
    finally:
        process.terminate()  # a user manager stops its units and exits on SIGTERM
        process.communicate(timeout=60)
        remove_cgroup(cgroup)


def remove_cgroup(cgroup: str) -> None:
    """The test's cgroup and what systemd made under it, deepest first (each empty once its processes ended)."""
    for parent in cgroup_parents():
        top = parent / cgroup
        if not top.exists():
            continue
        folders = sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True)
        for folder in [*folders, top]:
            for _ in range(50):
                try:
                    folder.rmdir()
                    break
                except OSError:
                    time.sleep(0.1)


def next_at(now: datetime, hour: int, minute: int, weekday: int | None, zone: str) -> datetime:
    """The next time, after ``now``, that the society's clock shows ``hour:minute`` (on ``weekday``)."""
    local = now.astimezone(ZoneInfo(zone))
    candidate = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    while candidate <= local or (weekday is not None and candidate.weekday() != weekday):
        candidate += timedelta(days=1)
    return candidate


def finished_runs(database: Path) -> dict[str, list[tuple[str, str]]]:
    if not database.exists():
        return {}
    with sqlite3.connect(database, timeout=30) as db:
        rows = db.execute("SELECT job, started_by, status FROM job_runs WHERE finished_at IS NOT NULL "
                          "ORDER BY started_at").fetchall()
    runs: dict[str, list[tuple[str, str]]] = {}
    for job, started_by, status in rows:
        runs.setdefault(job, []).append((started_by, status))
    return runs


def test_systemd_timers_start_the_commands_pip_installed(manager: Manager, tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path / "build")
    commands = install_wheel(wheel, HOME / ".venv", inside=("nsenter", "-t", str(manager.process.pid), "-m", "--"),
                             dependencies=DEPENDENCIES)
    env_file = tmp_path / "opt-zamio" / ".env"
    # A value with a comment after it, which systemd's own EnvironmentFile= would have kept in the value.
    env_file.write_text("SMTP_PORT=587  # the relay's submission port\n")
    env_file.chmod(0o600)
    manager.run(str(HOME / ".venv" / "bin" / "migrate"), "-q", cwd=HOME)
    manager.run(str(HOME / ".venv" / "bin" / "python"), "-m", "zamio.runtime.schedule", "--write", "units", cwd=HOME)

    units = tmp_path / "opt-zamio" / "units"
    user = pwd.getpwuid(os.geteuid()).pw_name
    timers = sorted(p.name for p in units.glob("zamio-*.timer"))
    jobs = [job.script for job in schedule.read_crontab()]
    assert len(timers) == len(jobs) == 12
    installed = manager.config / "systemd" / "user"
    for unit in units.glob("zamio-*"):
        shutil.copy2(unit, installed / unit.name)
        adapted = installed / f"{unit.name}.d"
        adapted.mkdir()
        if unit.suffix == ".service":
            (adapted / "test.conf").write_text(f"[Service]\nUser={user}\n")
        else:
            (adapted / "test.conf").write_text("[Timer]\nOnActiveSec=1s\nRandomizedDelaySec=0\nAccuracySec=1s\n")
    before = datetime.now(UTC)
    manager.systemctl("daemon-reload")
    # A journal for the services' output, as a unit of the manager (which stops it at the end).
    manager.run("systemd-run", "--user", "--unit=zamio-test-journal", "/lib/systemd/systemd-journald")
    deadline = time.monotonic() + 30
    while not manager.run("test", "-S", "/run/systemd/journal/stdout", check=False).returncode == 0:
        assert time.monotonic() < deadline, "the journal did not start"
        time.sleep(0.1)
    manager.systemctl("enable", "--now", *timers)

    database = tmp_path / "opt-zamio" / "var" / "zamio.db"
    deadline = time.monotonic() + WAIT_SECONDS
    while set(finished_runs(database)) < set(jobs):
        assert time.monotonic() < deadline, f"after {WAIT_SECONDS} s systemd had run {sorted(finished_runs(database))}"
        time.sleep(1)
    runs = finished_runs(database)
    for job in jobs:
        service = f"zamio-{job}.service"
        assert runs[job][0] == ("schedule", "ok"), (job, runs[job])
        assert manager.property(service, "Result") == "success", service
        assert manager.property(service, "ExecStart").startswith(f"{{ path={commands / job} ;"), service
    assert list((tmp_path / "opt-zamio" / "var" / "reports").iterdir()), "the nightly report was not written"

    # systemd's own reading of the calendars: the nightly cleanup at 02:30 and the Monday summaries at 06:00,
    # on the society's clock (CRON_TZ) whatever the host's zone.
    zone = schedule.schedule_time_zone()
    assert zone == "Africa/Accra"
    for unit, hour, minute, weekday in (("zamio-cleanup-old-data.timer", 2, 30, None),
                                        ("zamio-send-weekly-summaries.timer", 6, 0, 0)):
        elapse = manager.elapse(unit)
        assert elapse in {next_at(before, hour, minute, weekday, zone),
                          next_at(datetime.now(UTC), hour, minute, weekday, zone)}, (unit, elapse)

    # A run that fails writes its error to the journal at priority err, so `journalctl -p err` finds it.
    # The timers stop first: send-emails' own calendar (every five minutes) could otherwise start a run that read
    # the good file, and the start below would only wait for that run's success.
    manager.systemctl("stop", *timers)
    deadline = time.monotonic() + WAIT_SECONDS
    while manager.property("zamio-send-emails.service", "ActiveState") not in {"inactive", "failed"}:
        assert time.monotonic() < deadline, "send-emails did not finish its run"
        time.sleep(0.2)
    env_file.write_text("SMTP_PORT=five-eight-seven\n")
    manager.run("systemctl", "--user", "start", "zamio-send-emails.service", check=False)
    assert manager.property("zamio-send-emails.service", "ExecMainStatus") == "78"
    errors = manager.run("journalctl", "--no-pager", "-o", "cat", "-p", "err..err", "-t", "send-emails").stdout
    assert "level=error job=send-emails" in errors and "SMTP_PORT must be" in errors, errors
    assert "level=error" not in manager.run("journalctl", "--no-pager", "-o", "cat", "-p", "warning..info").stdout
