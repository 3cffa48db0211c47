"""Helpers for tests that run the real scripts against a real database.

A test's database is a copy of a template that ``bin/migrate`` built from
empty: on PostgreSQL ``CREATE DATABASE ... TEMPLATE``, on SQLite a copy of the
file.  Starting the migration script for every test cost up to a second each;
copying costs a fraction of that and gives the same schema.  The PostgreSQL
template is named after a digest of ``sql/`` and of the code applying it, so a
database migrated with other files is never used, and it is kept on the server
between runs; the SQLite one lives as long as the test process.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import os
import re
import shutil
import sqlite3
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from tests import launcher
from zamio.db.url import DatabaseUrl, parse_database_url

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / "bin"
DEFAULT_POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"

#: What decides the schema a migration run leaves: the migration files and the code that applies them.
SCHEMA_SOURCES = (ROOT / "sql", ROOT / "zamio" / "runtime" / "migrate.py")
TEMPLATE_PREFIX = "zamio_template_"
TEMPLATE_COMMENT = "zamio test template built"
#: A template of another digest is dropped once it is this old: a run of another checkout may still be
#: cloning it (it builds it again if it is gone), and dropping only old ones keeps two such runs from
#: dropping each other's template at every test.
STALE_TEMPLATE_AGE = timedelta(hours=1)
#: How long a clone waits for the template to be free or built again before failing.
CLONE_PATIENCE_SECONDS = 60
#: The advisory lock (on the administrative database) held while a template is looked up or built,
#: so that pytest-xdist workers and concurrent runs build each template once.
TEMPLATE_LOCK_KEY = struct.unpack(">q", hashlib.sha256(b"zamio-test-templates").digest()[:8])[0]


class RaceFailed(AssertionError):
    """A racing thread raised, or was still running when the race's time was up."""


def race(threads: list[threading.Thread], engines: Iterable[Engine], timeout: float = 120) -> None:
    """Start the threads together, wait for each (at most ``timeout`` seconds in all) and dispose the engines
    they used; then fail with every thread that raised (its traceback) or is still running.

    A thread's exception is otherwise only printed by ``threading`` and lost: a race in which one
    side crashed would pass as long as the other side did the work.
    """
    raised: dict[str, BaseException] = {}

    def keeping_errors(thread: threading.Thread, target: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                target()
            except BaseException as error:  # any failure, kept for the race to report
                raised[thread.name] = error

        return run

    for thread in threads:
        thread.run = keeping_errors(thread, thread.run)  # type: ignore[method-assign]
        thread.daemon = True  # one stuck past the timeout fails the test without holding pytest open
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(deadline - time.monotonic(), 0))
    for engine in engines:  # a connection still checked out by a running thread is left to it
        engine.dispose()
    running = [thread.name for thread in threads if thread.is_alive()]
    problems = [f"{name} raised:\n" + "".join(traceback.format_exception(error)) for name, error in raised.items()]
    problems += [f"{name} still running after {timeout:g} s" for name in running]
    if problems:
        raise RaceFailed("\n".join(problems))


def postgres_admin_url() -> str:
    return os.environ.get("ZAMIO_TEST_POSTGRES_URL") or DEFAULT_POSTGRES_ADMIN_URL


def postgres_admin() -> DatabaseUrl:
    """The administrative URL of the test PostgreSQL server, parsed."""
    return parse_database_url(postgres_admin_url(), "ZAMIO_TEST_POSTGRES_URL")


@functools.cache
def postgres_problem() -> str | None:
    """None when the test PostgreSQL server answers, else why not."""
    try:
        import psycopg2

        psycopg2.connect(postgres_admin().libpq_dsn, connect_timeout=3).close()
    except Exception as error:  # any failure to connect is a reason to skip (or fail in CI)
        return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return None


def postgres_database_url(name: str) -> str:
    """The URL of database ``name`` on the test server."""
    return postgres_admin().with_database(name).text


@contextmanager
def admin_cursor() -> Iterator[Any]:
    """An autocommit cursor on the administrative database (CREATE and DROP DATABASE refuse a transaction)."""
    import psycopg2

    conn = psycopg2.connect(postgres_admin().libpq_dsn)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            yield cur
    finally:
        conn.close()


@functools.cache
def schema_digest() -> str:
    """A digest of the migration files (names and contents) and of the code applying them."""
    digest = hashlib.sha256()
    folder, code = SCHEMA_SOURCES
    for path in [*sorted(folder.glob("*.sql")), code]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


@functools.cache
def postgres_template() -> str:
    """The name of the PostgreSQL template migrated from this checkout's ``sql/``, built when the server lacks it."""
    name = TEMPLATE_PREFIX + schema_digest()
    with admin_cursor() as cur:
        # Closing the connection releases the lock.
        cur.execute("SELECT pg_advisory_lock(%s)", (TEMPLATE_LOCK_KEY,))
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if cur.fetchone() is None:
            _build_postgres_template(cur, name)
        _drop_stale_templates(cur, keep=name)
    return name


def _build_postgres_template(cur: Any, name: str) -> None:
    """Run the real ``bin/migrate`` into an empty database, then give it the template's name.

    The database is built under another name and renamed last, so that a build killed halfway
    never leaves a half-migrated database under the template's name.
    """
    building = f"{name}_building"
    cur.execute(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)')  # left by a build killed halfway
    cur.execute(f'CREATE DATABASE "{building}"')
    with tempfile.TemporaryDirectory(prefix="zamio-template-") as folder:
        Project(postgres_database_url(building), Path(folder)).migrate()
    # CREATE DATABASE ... TEMPLATE fails while anyone is connected to the template: let nobody connect.
    cur.execute(f'ALTER DATABASE "{building}" WITH ALLOW_CONNECTIONS false')
    cur.execute(f'COMMENT ON DATABASE "{building}" IS %s',
                (f"{TEMPLATE_COMMENT} {datetime.now(UTC).isoformat()}",))
    _while_in_use(lambda: cur.execute(f'ALTER DATABASE "{building}" RENAME TO "{name}"'))


def _drop_stale_templates(cur: Any, keep: str) -> None:
    """Drop the templates of other digests built more than STALE_TEMPLATE_AGE ago, and killed builds."""
    import psycopg2

    pattern = TEMPLATE_PREFIX.replace("_", "\\_") + "%"
    cur.execute("SELECT datname, shobj_description(oid, 'pg_database') FROM pg_database "
                "WHERE datname LIKE %s AND datname <> %s", (pattern, keep))
    now = datetime.now(UTC)
    for datname, comment in cur.fetchall():
        built = _built_at(comment)
        if datname.endswith("_building") or built is None or now - built > STALE_TEMPLATE_AGE:
            try:
                cur.execute(f'DROP DATABASE IF EXISTS "{datname}"')
            except psycopg2.Error:  # being cloned right now: a later run drops it
                pass


def _built_at(comment: str | None) -> datetime | None:
    if not comment or not comment.startswith(TEMPLATE_COMMENT):
        return None
    try:
        return datetime.fromisoformat(comment.removeprefix(TEMPLATE_COMMENT).strip())
    except ValueError:
        return None


def _while_in_use(statement: Callable[[], None]) -> None:
    """Run ``statement``, again while the server says another connection is using the database it needs."""
    import psycopg2.errors

    deadline = time.monotonic() + CLONE_PATIENCE_SECONDS
    while True:
        try:
            statement()
            return
        except psycopg2.errors.ObjectInUse:  # "... is being accessed by other users" (autovacuum, say)
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def create_postgres_database(*, empty: bool = False) -> tuple[str, str]:
    """Create a database of its own for a test: a copy of the migrated template, or ``empty``; return name and URL."""
    import psycopg2.errors

    name = f"zamio_test_{uuid.uuid4().hex[:12]}"
    with admin_cursor() as cur:
        if empty:
            cur.execute(f'CREATE DATABASE "{name}"')
        else:
            deadline = time.monotonic() + CLONE_PATIENCE_SECONDS
            while True:
                template = postgres_template()
                try:
                    _while_in_use(
                        lambda template=template: cur.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
                    break
                except psycopg2.errors.InvalidCatalogName:  # dropped as stale by a run of other migrations
                    if time.monotonic() > deadline:
                        raise
                    postgres_template.cache_clear()
    return name, postgres_database_url(name)


def drop_postgres_database(name: str) -> None:
    with admin_cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@functools.cache
def sqlite_template() -> Path:
    """A SQLite file migrated by the real ``bin/migrate``, made once per test process and removed at its exit."""
    folder = Path(tempfile.mkdtemp(prefix="zamio-sqlite-template-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = folder / "template.db"
    Project(f"sqlite:///{path}", folder).migrate()
    # The schema must be in the file alone: fold the write-ahead log back in before copying the file.
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    side_files = [side for side in (Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")) if side.exists()]
    assert not side_files, f"the SQLite template still has {side_files} after closing: copying the file would lose them"
    return path


def migrated_sqlite_url(path: Path) -> str:
    """Copy the migrated SQLite template to ``path``; return its URL."""
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(sqlite_template(), path)
    return f"sqlite:///{path}"


def script_env(database_url: str, var_dir: Path, **extra: str) -> dict[str, str]:
    """The environment a script gets in tests: this database, a private var/ and .env, nothing inherited
    that matters."""
    env_file = var_dir / "test.env"
    var_dir.mkdir(parents=True, exist_ok=True)
    env_file.touch()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(var_dir),
        "DATABASE_URL": database_url,
        "ZAMIO_VAR_DIR": str(var_dir),
        "ZAMIO_ENV_FILE": str(env_file),
        "ZAMIO_VENV": sys.prefix,
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "LANG", "LC_ALL"):
        if name in os.environ:
            env[name] = os.environ[name]
    env.update(extra)
    return env


@dataclass
class Project:
    """A database and a private var/ folder, with ways to run scripts against them."""

    database_url: str
    tmp_path: Path

    @property
    def var_dir(self) -> Path:
        return self.tmp_path / "var"

    @property
    def database(self) -> DatabaseUrl:
        return parse_database_url(self.database_url)

    @property
    def is_sqlite(self) -> bool:
        return self.database.is_sqlite

    def env(self, **extra: str) -> dict[str, str]:
        return script_env(self.database_url, self.var_dir, **extra)

    def script(self, name: str, *args: str, timeout: float = 120, env: dict[str, str] | None = None,
               cwd: str | Path | None = None, input: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run ``bin/<name>`` (or a path) with the test interpreter and return the finished process."""
        path = Path(name) if "/" in name else BIN / name
        if launcher.enabled():
            return launcher.launcher().run([str(path), *args], env=env or self.env(), cwd=cwd or self.tmp_path,
                                           timeout=timeout, input=input)
        return subprocess.run(
            [sys.executable, str(path), *args],
            env=env or self.env(),
            cwd=cwd or self.tmp_path,
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input,
        )

    def popen(self, name: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        path = Path(name) if "/" in name else BIN / name
        return subprocess.Popen(
            [sys.executable, str(path), *args],
            env=env or self.env(),
            cwd=self.tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def migrate(self) -> None:
        """Run the real ``bin/migrate``: on a database of the fixtures, already migrated, a run that applies nothing."""
        result = self.script("migrate", "-q")
        assert result.returncode == 0, result.stderr

    @functools.cached_property
    def engine(self) -> Engine:
        from zamio.db.engine import open_engine

        return open_engine(self.database_url)

    def query(self, sql: str, **params: Any) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(text(sql), params))

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def execute(self, sql: str, **params: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(text(sql), params)


def parse_logfmt(line: str) -> dict[str, str]:
    """A small independent reader of logfmt (bare or double-quoted values with backslash escapes)."""
    fields, i = {}, 0
    while i < len(line):
        key_end = line.index("=", i)
        key, i = line[i:key_end], key_end + 1
        if line[i:i + 1] == '"':
            i += 1
            value = []
            while line[i] != '"':
                if line[i] == "\\":
                    value.append({"n": "\n", "r": "\r", "t": "\t"}.get(line[i + 1], line[i + 1]))
                    i += 2
                else:
                    value.append(line[i])
                    i += 1
            fields[key], i = "".join(value), i + 2
        else:
            end = line.find(" ", i)
            end = len(line) if end < 0 else end
            fields[key], i = line[i:end], end + 1
    return fields


def log_events(stderr: str) -> list[str]:
    """The ``event`` of every logfmt line a script wrote to standard error, unescaped."""
    lines = (re.sub(r"^<\d>", "", line) for line in stderr.splitlines())
    return [parse_logfmt(line).get("event", "") for line in lines if line.startswith("ts=")]
