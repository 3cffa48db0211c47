"""A database a job cannot use, and a reader that goes away: each stops with its exit code and
one sentence saying what to do, never a traceback, through the real scripts.

* a SQLite file or folder this user may not write: exit 73 for the jobs that write (all but
  ``zamio-status``, which reads it and leaves nothing behind);
* a malformed ``DATABASE_URL``: exit 78 naming the part, never the password;
* a missing or unmigrated database: exit 78 saying to run ``bin/migrate``, creating nothing;
* standard output closed by its reader: the job stops writing and exits as it would have.

Permissions are real: as root (which writes whatever the modes say) the scripts run as
``nobody`` through ``setpriv``, as a production service user would; as anyone else they
run as that user.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import BIN, ROOT, Project, migrated_sqlite_url, script_env

NOBODY = 65534
SETPRIV = shutil.which("setpriv")
AS_ROOT = os.geteuid() == 0
JOB = str(ROOT / "tests" / "jobs" / "process-items")
EXPORT = ("export-playlogs", "--from", "2026-03-01", "--to", "2026-03-02")
REPORT = ("generate-analytics-report", "--type", "platform", "--from", "2026-03-01", "--to", "2026-03-02")


@dataclass
class Unprivileged:
    """A folder the unprivileged user can reach, holding a migrated SQLite database, and a way to
    run a script as that user."""

    root: Path

    @property
    def db(self) -> Path:
        return self.root / "db" / "zamio.db"

    @property
    def var_dir(self) -> Path:
        return self.root / "var"

    def let_write(self, path: Path) -> None:
        """Make ``path`` the unprivileged user's own (as root: give it to nobody; else it already is)."""
        if AS_ROOT:
            os.chown(path, NOBODY, NOBODY)

    def run(self, *command: str, database_url: str | None = None) -> subprocess.CompletedProcess[str]:
        script = command[0] if "/" in command[0] else str(BIN / command[0])
        prefix = [SETPRIV, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"] if AS_ROOT else []
        env = script_env(database_url or f"sqlite:///{self.db}", self.var_dir)
        return subprocess.run([*prefix, sys.executable, script, *command[1:]], env=env, cwd=self.root,
                              capture_output=True, text=True, timeout=120)


@pytest.fixture
def unprivileged() -> Iterator[Unprivileged]:
    if AS_ROOT and SETPRIV is None:
        pytest.skip("running as root without setpriv: no unprivileged user to run the scripts as")
    root = Path(tempfile.mkdtemp(prefix="zamio-perm-"))  # pytest's own folders are private to their owner
    root.chmod(0o755)
    place = Unprivileged(root)
    migrated_sqlite_url(place.db)
    place.db.parent.chmod(0o755)
    script_env(f"sqlite:///{place.db}", place.var_dir)  # var/ and its .env, as the tests' scripts have them
    place.let_write(place.var_dir)
    try:
        yield place
    finally:
        for folder, _dirs, _files in os.walk(root):
            os.chmod(folder, 0o755)  # so that a user other than root may remove what it made read-only
        shutil.rmtree(root, ignore_errors=True)


def assert_told(result: subprocess.CompletedProcess[str], code: int, *phrases: str) -> None:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    for phrase in phrases:
        assert phrase in result.stderr, result.stderr


def side_files(db: Path) -> list[str]:
    return sorted(p.name for p in db.parent.iterdir() if p.name != db.name)


def test_a_job_that_writes_exits_73_when_the_database_folder_is_not_writable(unprivileged: Unprivileged) -> None:
    unprivileged.let_write(unprivileged.db)  # the file is the user's; its folder is not
    unprivileged.db.parent.chmod(0o555)
    for command in (("suspense-report",), EXPORT, REPORT, ("migrate",)):
        result = unprivileged.run(*command)
        assert_told(result, 73, f"cannot write the database {unprivileged.db}", f"its folder {unprivileged.db.parent}",
                    "write permission")
    assert side_files(unprivileged.db) == []


def test_a_job_that_writes_exits_73_when_the_database_file_is_read_only(unprivileged: Unprivileged) -> None:
    unprivileged.let_write(unprivileged.db.parent)  # the folder is the user's; the file is not
    unprivileged.db.chmod(0o444)
    for command in (("suspense-report",), EXPORT, REPORT, (JOB,)):
        result = unprivileged.run(*command)
        assert_told(result, 73, f"cannot write the database {unprivileged.db}", "the file is read-only",
                    "write permission")


@pytest.mark.parametrize("unwritable", ["folder", "file"])
def test_zamio_status_reads_a_database_it_may_not_write_and_leaves_nothing_behind(
        unprivileged: Unprivileged, unwritable: str) -> None:
    if unwritable == "folder":
        unprivileged.let_write(unprivileged.db)
        unprivileged.db.parent.chmod(0o555)
    else:
        unprivileged.let_write(unprivileged.db.parent)
        unprivileged.db.chmod(0o444)
    result = unprivileged.run("zamio-status")
    assert_told(result, 0)
    assert "suspense-report" not in result.stdout  # a manual job: not in the schedule's table
    assert "warm-cache" in result.stdout and "OVERDUE" in result.stdout  # never ran
    # A -wal or -shm left by a reader that may not write the database would be read-only, in the writers' way.
    assert side_files(unprivileged.db) == []


def test_a_lock_folder_left_by_another_user_is_named_with_exit_73(unprivileged: Unprivileged) -> None:
    unprivileged.let_write(unprivileged.db)
    unprivileged.let_write(unprivileged.db.parent)
    locks = Path(f"{unprivileged.db}.locks")
    locks.mkdir()
    locks.chmod(0o555)  # as bin/migrate leaves it when run once by root
    result = unprivileged.run("suspense-report")
    assert_told(result, 73, f"cannot write the lock file {locks / 'suspense-report.lock'}", f"permission on {locks}")


@pytest.mark.parametrize("written, part", [
    ("postgresql://zamio:s3cret@127.0.0.1:notaport/zamio", "has a port that is not a number from 1 to 65535"),
    ("postgresql://zamio:s3cret@127.0.0.1:99999/zamio", "has a port that is not a number from 1 to 65535"),
    ("postgresql://zamio:s3cret@127.0.0.1:0/zamio", "has a port that is not a number from 1 to 65535"),
    ("postgresql://zamio:s3cret@[::1/zamio", "has a host that is not a name or an address in brackets"),
    ("postgresql://zamio:s3cret@db host/zamio", "has a host that is not a name or an address"),
    ("postgresql+asyncpg://zamio:s3cret@127.0.0.1/zamio", "names the driver 'asyncpg'"),
    ("postgresql://zamio:s3cret@127.0.0.1/zamio?sslmod=require", "has the query parameter 'sslmod'"),
    ("postgresql://zamio:s3cret@127.0.0.1/zamio?sslmode=sometimes", "gives sslmode a value PostgreSQL does not accept"),
    ("sqlite://s3cret/zamio.db", "names a host or a user, which a SQLite URL has not"),
])
def test_a_malformed_database_url_exits_78_naming_the_part_not_the_password(
        tmp_path: Path, written: str, part: str) -> None:
    result = Project(written, tmp_path).script("suspense-report")
    assert_told(result, 78, f"DATABASE_URL {part}", "postgresql://zamio:PASSWORD@")  # and an example
    assert "s3cret" not in result.stderr


@pytest.mark.parametrize("command", [("suspense-report",), ("zamio-status",), ("warm-cache",), EXPORT, (JOB,)])
def test_a_mistyped_sqlite_path_exits_78_and_creates_nothing(tmp_path: Path, command: tuple[str, ...]) -> None:
    mistyped = tmp_path / "vra" / "zamio.db"
    result = Project(f"sqlite:///{mistyped}", tmp_path).script(*command)
    assert_told(result, 78, f"there is no database at {mistyped}", "run bin/migrate")
    assert not mistyped.parent.exists()  # neither the file, nor its folder, nor a lock folder beside it


def test_only_migrate_creates_the_database(tmp_path: Path) -> None:
    new = tmp_path / "new" / "zamio.db"
    project = Project(f"sqlite:///{new}", tmp_path)
    project.migrate()
    assert new.is_file()
    assert_told(project.script("suspense-report"), 0)


def test_a_database_never_migrated_exits_78_saying_to_run_migrate(empty_database_url: str, tmp_path: Path) -> None:
    project = Project(empty_database_url, tmp_path)
    if project.is_sqlite:
        assert project.database.sqlite_file is not None
        project.database.sqlite_file.touch()  # an empty file: what a mistyped path used to leave behind
        shown = str(project.database.sqlite_file)
    else:
        url = project.database.sqlalchemy_url
        shown = f"postgresql://{url.username}@{url.host}:{url.port}/{url.database}"
    for command in (("suspense-report",), ("zamio-status",), EXPORT):
        result = project.script(*command)
        assert_told(result, 78, f"the database {shown} has no schema yet: run bin/migrate")
        if not project.is_sqlite:
            assert f":{project.database.sqlalchemy_url.password}@" not in result.stderr
    project.migrate()  # and once migrated, the same job runs
    assert_told(project.script("suspense-report"), 0)


def test_a_database_missing_a_migration_exits_78_naming_it(project: Project) -> None:
    newest = sorted(path.name for path in (ROOT / "sql").glob("*.sql"))[-1]
    project.execute("DELETE FROM schema_migrations WHERE version = :v", v=newest[:4])
    result = project.script("warm-cache")
    assert_told(result, 78, f"lacks the migrations {newest}: run bin/migrate")
    assert project.scalar("SELECT count(*) FROM job_runs") == 0  # stopped before recording a run


def run_with_stdout_closed(project: Project, *command: str) -> subprocess.CompletedProcess[str]:
    """Run a script whose standard output is a pipe nobody reads any more (``| head -1`` after its line)."""
    script = command[0] if "/" in command[0] else str(BIN / command[0])
    proc = subprocess.Popen([sys.executable, script, *command[1:]], env=project.env(), cwd=project.tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # before the script has started: its first write meets a closed pipe
    stderr = proc.stderr.read()
    return subprocess.CompletedProcess(proc.args, proc.wait(timeout=120), "", stderr)


@pytest.mark.parametrize("command, recorded", [(("zamio-status",), False), (("suspense-report",), True),
                                               (("zamio-status", "--json"), False)])
def test_a_report_piped_into_a_reader_that_stops_exits_0_quietly(
        project: Project, command: tuple[str, ...], recorded: bool) -> None:
    result = run_with_stdout_closed(project, *command)
    assert_told(result, 0)
    assert "BrokenPipeError" not in result.stderr and "Exception ignored" not in result.stderr
    if recorded:
        assert project.query("SELECT status, exit_code FROM job_runs WHERE job = :j", j=command[0]) == [("ok", 0)]


def test_a_broken_pipe_of_the_job_itself_is_still_an_unexpected_error(project: Project) -> None:
    project.execute("CREATE TABLE test_items (id INTEGER PRIMARY KEY, state TEXT NOT NULL DEFAULT 'todo')")
    project.execute("CREATE TABLE test_results (item_id INTEGER NOT NULL UNIQUE, value INTEGER NOT NULL)")
    result = project.script(JOB, "--raise", "pipe")  # standard output is still read: the pipe was another
    assert result.returncode == 70, result.stderr
    assert "Traceback" in result.stderr and "BrokenPipeError" in result.stderr
