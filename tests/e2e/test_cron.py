"""A checkout scheduled by cron as the README installs it: Debian's cron daemon runs ``crontab.txt``.

The checkout is put in a home of its own (its ``.venv`` the test environment's), given a ``.env`` and
migrated with ``bin/migrate``; ``crontab.txt`` becomes ``/etc/cron.d/zamio`` with ``ZAMIO_HOME`` set to
that home, as step 4 of *Installing on a server* says.  Every line's time fields are changed to every
minute, so that each job runs within a minute of cron starting, and its user to the one running the
tests (cron runs as root, and the test environment's interpreter may be unreadable by any other user);
everything else is as written: the variables, ``nice`` and ``ionice``, each command.  One line of our
own, a mistyped report, fails, so that the mail of a failed run is seen to reach ``MAILTO``.

cron runs in a mount namespace of its own, where ``/etc/cron.d``, ``/etc/crontab``, the crontab spool
and ``/run`` are the test's: it reads these lines alone, the host's cron files are neither read nor
changed, and its mailer (``/usr/sbin/sendmail``, through an overlay) keeps each message in a folder.
Needs root, Debian's ``cron`` and ``unshare``; skipped without them, except where
``ZAMIO_REQUIRE_CRON=1`` (CI sets it): there it fails.
"""

from __future__ import annotations

import os
import pwd
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from tests.support import ROOT
from zamio.runtime import schedule

REQUIRE_CRON = os.environ.get("ZAMIO_REQUIRE_CRON") == "1"
CRON = "/usr/sbin/cron"
#: What a checkout holds that the jobs read (the rest is documentation and tests).
CHECKOUT = ("bin", "zamio", "sql", "crontab.txt")
MISTYPED = "$ZAMIO_HOME/bin/generate-analytics-report --type platfrom -q"
#: A minute for cron to reach its next minute, and time for twelve jobs started at once on two cores.
WAIT_SECONDS = 300


def cron_problem() -> str | None:
    if not os.access(CRON, os.X_OK):
        return "Debian's cron is not installed (apt-get install --no-install-recommends cron)"
    if os.geteuid() != 0:
        return "cron runs only as root"
    probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "true"], capture_output=True,
                           text=True)
    if probe.returncode != 0:
        return f"cannot give cron a mount namespace of its own: {probe.stderr.strip()}"
    return None


@pytest.fixture(scope="module")
def cron_available() -> None:
    problem = cron_problem()
    if problem:
        if REQUIRE_CRON:
            pytest.fail(f"cron is required here (ZAMIO_REQUIRE_CRON=1): {problem}")
        pytest.skip(problem)


def install_checkout(home: Path) -> None:
    """A checkout in ``home``, as ``git clone`` then ``make install`` leave it, with its ``.env``."""
    home.mkdir()
    for name in CHECKOUT:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, home / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, home / name)
    (home / ".venv").symlink_to((ROOT / ".venv").resolve())
    env_file = home / ".env"
    env_file.write_text("ZAMIO_HOST_NAME=cron-host  # this host, as job_runs names it\n")
    env_file.chmod(0o600)


def cron_file(home: Path, user: str) -> str:
    """``crontab.txt`` as ``/etc/cron.d/zamio``: its home, every line every minute and run by ``user``."""
    lines = []
    for line in (ROOT / "crontab.txt").read_text().splitlines():
        fields = line.split(None, 6)
        if line.startswith("ZAMIO_HOME="):
            lines.append(f"ZAMIO_HOME={home}")
        elif len(fields) == 7 and not line.startswith("#") and "=" not in fields[0]:
            lines.append(f"* * * * * {user} {fields[6]}")
        else:
            lines.append(line)
    lines.append(f"* * * * * {user} {MISTYPED}")
    return "\n".join(lines) + "\n"


def namespace_script(sandbox: Path, mailbox: Path) -> str:
    """The shell that gives cron its own files, then becomes cron."""
    return f"""set -eu
mount --bind {sandbox}/cron.d /etc/cron.d
mount --bind {sandbox}/crontab /etc/crontab
mount --bind {sandbox}/spool /var/spool/cron/crontabs
mount -t tmpfs zamio-cron-run /run
mount -t tmpfs zamio-cron-mta {sandbox}/mta
mkdir {sandbox}/mta/upper {sandbox}/mta/work
printf '#!/bin/sh\\ncat > "{mailbox}/$$.mail"\\n' > {sandbox}/mta/upper/sendmail
chmod 755 {sandbox}/mta/upper/sendmail
mount -t overlay zamio-cron-sbin -o lowerdir=/usr/sbin,upperdir={sandbox}/mta/upper,workdir={sandbox}/mta/work /usr/sbin
# Should the test be killed, cron stops on its own, not running these lines every minute for good.
exec timeout {WAIT_SECONDS * 3} {CRON} -f
"""


def finished_runs(database: Path) -> dict[str, list[tuple[str, str, str]]]:
    if not database.exists():
        return {}
    with sqlite3.connect(database, timeout=30) as db:
        rows = db.execute("SELECT job, started_by, status, host FROM job_runs WHERE finished_at IS NOT NULL "
                          "ORDER BY started_at").fetchall()
    runs: dict[str, list[tuple[str, str, str]]] = {}
    for job, started_by, status, host in rows:
        runs.setdefault(job, []).append((started_by, status, host))
    return runs


def mistyped_mail(mailbox: Path) -> bool:
    return any("platfrom" in path.read_text() for path in mailbox.iterdir())


def processes_in(namespace: str) -> list[str]:
    """The command lines of the processes in the mount namespace ``namespace``."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and os.readlink(proc / "ns" / "mnt") == namespace:
                found.append((proc / "cmdline").read_text().replace("\0", " "))
        except OSError:  # the process ended meanwhile
            continue
    return found


def test_cron_runs_every_line_of_the_crontab_from_a_checkout(cron_available: None, tmp_path: Path) -> None:
    home = tmp_path / "zamio"
    install_checkout(home)
    as_cron = {"PATH": "/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8"}
    migrated = subprocess.run([str(home / "bin" / "migrate"), "-q"], env=as_cron, cwd="/", capture_output=True,
                              text=True, timeout=300)
    assert migrated.returncode == 0, migrated.stderr

    sandbox, mailbox = tmp_path / "sandbox", tmp_path / "mailbox"
    for folder in (sandbox / "cron.d", sandbox / "spool", sandbox / "mta", mailbox):
        folder.mkdir(parents=True)
    (sandbox / "crontab").write_text("")
    installed = sandbox / "cron.d" / "zamio"
    installed.write_text(cron_file(home, pwd.getpwuid(os.geteuid()).pw_name))
    installed.chmod(0o644)  # cron ignores a file others may write
    expected = [job.script for job in schedule.read_crontab()]
    assert len(expected) == 12 and installed.read_text().count("\n* * * * * ") == 13

    cron = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                             namespace_script(sandbox, mailbox)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    database = home / "var" / "zamio.db"
    try:
        deadline = time.monotonic() + WAIT_SECONDS
        while set(finished_runs(database)) < set(expected) or not mistyped_mail(mailbox):
            assert cron.poll() is None, f"cron stopped: {cron.communicate()[0]}"
            assert time.monotonic() < deadline, (
                f"after {WAIT_SECONDS} s cron had run {sorted(finished_runs(database))}, mail {os.listdir(mailbox)}")
            time.sleep(1)
        namespace = os.readlink(f"/proc/{cron.pid}/ns/mnt")
    finally:
        cron.terminate()
        cron.wait(timeout=30)
    # cron's children (the jobs of a later minute, the mail of each) outlive it: wait until its namespace is empty.
    while processes_in(namespace):
        assert time.monotonic() < deadline + 120, f"cron's jobs still running: {processes_in(namespace)}"
        time.sleep(1)

    runs = finished_runs(database)
    for job in expected:
        # Each as the schedule's run, on the host .env names; a second minute's run may have met the first's lock.
        assert runs[job][0] == ("schedule", "ok", "cron-host"), (job, runs[job])
        assert {status for _, status, _ in runs[job]} <= {"ok", "locked"}, (job, runs[job])
    assert list((home / "var" / "reports").iterdir()), "the nightly report was not written"

    # With -q a job that succeeded printed nothing, so the only mail is the mistyped line's, sent to MAILTO.
    mails = [path.read_text() for path in mailbox.iterdir()]
    assert all("--type platfrom" in mail for mail in mails), mails
    assert "\nTo: root\n" in mails[0] and "invalid choice: 'platfrom'" in mails[0], mails[0]
