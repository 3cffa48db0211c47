"""Helpers for tests that run the real scripts against a real database."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from zamio.dburl import DatabaseUrl, parse_database_url

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / "bin"
DEFAULT_POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


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


def script_env(database_url: str, var_dir: Path, **extra: str) -> dict[str, str]:
    """The environment a script gets in tests: this database, a private var/ and .env, nothing inherited that matters."""
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
    """A migrated database and a private var/ folder, with ways to run scripts against them."""

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
        result = self.script("migrate", "-q")
        assert result.returncode == 0, result.stderr

    @functools.cached_property
    def engine(self) -> Engine:
        from zamio.db import open_engine

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
