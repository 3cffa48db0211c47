"""One lock per job, released by the operating system or the database server when the holder dies.

* PostgreSQL: a session advisory lock taken on a connection of its own (not a
  pooled one, where the lock would outlive the check-in), keyed by a stable
  64-bit digest of the job name (Python's ``hash()`` is salted per process).
  The connection's ``application_name`` carries the holder's pid and host, so a
  second run can say who holds it.  The server frees the lock when the holder's
  connection drops, including after SIGKILL.
* SQLite: ``flock`` on a file beside the database.  Python opens files
  close-on-exec, so a child process (ffmpeg) never inherits the lock, and the
  kernel releases it when the holder dies.  The holder writes its pid and host
  into the file for the same message.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from zamio.db.url import DatabaseUrl, setting_error
from zamio.runtime.errors import CannotWrite, LockHeld, ServiceUnavailable

if TYPE_CHECKING:
    from sqlalchemy.engine.interfaces import DBAPICursor


class JobLock(Protocol):
    def acquire(self) -> None: ...
    def release(self) -> None: ...


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for ``name`` (same value in every process and on every host)."""
    digest = hashlib.sha256(f"zamio-job:{name}".encode()).digest()
    return struct.unpack(">q", digest[:8])[0]


def holder_label(pid: int, host: str, run_id: str) -> str:
    return f"zamio pid={pid} host={host} run={run_id}"


class PostgresAdvisoryLock:
    """A session advisory lock on a dedicated psycopg2 connection."""

    def __init__(self, libpq_dsn: str, name: str, label: str) -> None:
        self.libpq_dsn = libpq_dsn
        self.name = name
        self.label = label
        self.key = lock_key(name)
        self._conn = None

    def acquire(self) -> None:
        import psycopg2  # type: ignore[import-untyped]  # psycopg2 ships no type hints and no stubs are installed

        try:
            conn = psycopg2.connect(self.libpq_dsn, application_name=self.label[:63], connect_timeout=10)
        except psycopg2.OperationalError as error:
            unreachable = ServiceUnavailable(f"cannot reach the database named by DATABASE_URL: {error}".strip())
            raise setting_error(str(error)) or unreachable from error
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT pg_try_advisory_lock(%s)", (self.key,))
            (granted,) = cur.fetchone()
            if not granted:
                holder = self._holder(cur)
                conn.close()
                raise LockHeld(f"{self.name} is already running ({holder})")
        self._conn = conn

    def _holder(self, cur: DBAPICursor) -> str:
        # A bigint advisory key shows in pg_locks as classid (high half) and objid (low half), objsubid 1.
        unsigned = self.key & 0xFFFFFFFFFFFFFFFF
        cur.execute(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
            # Advisory locks are per database: the same job's lock in another database is not this one.
            "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND l.classid::bigint = %s AND l.objid::bigint = %s",
            (unsigned >> 32, unsigned & 0xFFFFFFFF),
        )
        row = cur.fetchone()
        return row[0] if row and row[0] else "holder unknown"

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()  # closing the session frees the lock
            finally:
                self._conn = None


class FileLock:
    """``flock`` on ``<database>.locks/<name>.lock``; the file holds the holder's label."""

    def __init__(self, path: Path, name: str, label: str) -> None:
        self.path = path
        self.name = name
        self.label = label
        self._fd: int | None = None

    def acquire(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as error:
            from zamio.runtime.database import current_user

            folder = self.path.parent if self.path.parent.exists() else self.path.parent.parent
            raise CannotWrite(f"cannot write the lock file {self.path} ({error.strerror}): give user "
                              f"{current_user()} write permission on {folder}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 512, 0).decode(errors="replace").strip() or "holder unknown"
            os.close(fd)
            raise LockHeld(f"{self.name} is already running ({holder})") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, self.label.encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            try:
                os.ftruncate(self._fd, 0)
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            finally:
                os.close(self._fd)
                self._fd = None


def job_lock(database: DatabaseUrl, var_dir: Path, name: str, label: str) -> JobLock:
    """The lock for job ``name`` on this database: advisory on PostgreSQL, a file lock otherwise."""
    if database.libpq_dsn is not None:
        return PostgresAdvisoryLock(database.libpq_dsn, name, label)
    db_file = database.sqlite_file
    folder = Path(f"{db_file}.locks") if db_file is not None else var_dir / "locks"
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)
    return FileLock(folder / f"{safe}.lock", name, label)


@contextmanager
def held_if_free(lock: JobLock) -> Iterator[bool]:
    """Hold ``lock`` for the block when no one else does (True), else run the block without it (False)."""
    try:
        lock.acquire()
    except LockHeld:
        yield False
        return
    try:
        yield True
    finally:
        lock.release()
