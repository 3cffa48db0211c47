"""What the runner checks of a job's database before the job starts.

Only ``bin/migrate`` creates a database.  Every other job finds the SQLite file in
place and the schema migrated, or stops with exit 78 saying to run ``bin/migrate``,
having created nothing: a mistyped path must not leave an empty database behind.
A job that writes (every job but the read-only reports, since each records its run
in ``job_runs``) finds the SQLite file and its folder writable, or stops with exit 73
naming what to fix; root passes these checks except on a read-only file system.
"""

from __future__ import annotations

import os
import pwd
from pathlib import Path

from sqlalchemy import Engine, exc, select

from zamio.db.engine import transaction
from zamio.db.tables import schema_migrations
from zamio.db.url import DatabaseUrl
from zamio.runtime.errors import CannotWrite, ConfigError
from zamio.runtime.migrate import discover

UNDEFINED_TABLE = "42P01"  # PostgreSQL's SQLSTATE for a table that does not exist


def check_sqlite_file(database: DatabaseUrl, *, writes: bool, creates: bool = False) -> None:
    """Raise unless the SQLite file exists (or the job ``creates`` it and may) and, if the job
    ``writes``, may be written; nothing for PostgreSQL."""
    path = database.sqlite_file
    if path is None:
        return
    if creates and not path.exists():
        _check_creatable(path)
        return
    if not path.exists():
        raise ConfigError(f"there is no database at {path} (DATABASE_URL): check the path; a new database is "
                          "created only by bin/migrate, run bin/migrate to create it there")
    if not path.is_file():
        raise ConfigError(f"DATABASE_URL names {path}, which is not a SQLite file: check the path")
    if writes:
        check_writable(path)


def _check_creatable(path: Path) -> None:
    folder = next(parent for parent in path.parents if parent.exists())
    if not os.access(folder, os.W_OK | os.X_OK):
        user = current_user()
        raise CannotWrite(f"cannot create the database {path}: user {user} may not create files in {folder}; "
                          f"give {user} write permission on that folder")


def check_writable(path: Path) -> None:
    """Raise CannotWrite naming the first of the SQLite file, its folder and its side files this user may not write."""
    user = current_user()
    if not os.access(path, os.W_OK):
        raise CannotWrite(f"cannot write the database {path}: the file is read-only for user {user}; "
                          f"give {user} write permission on it (chown or chmod u+w)")
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise CannotWrite(f"cannot write the database {path}: user {user} may not create files in its folder "
                          f"{path.parent}, where SQLite keeps {path.name}-wal and {path.name}-shm; "
                          f"give {user} write permission on that folder")
    for side in (Path(f"{path}-wal"), Path(f"{path}-shm")):
        if side.exists() and not os.access(side, os.W_OK):
            raise CannotWrite(f"cannot write the database {path}: its file {side} is read-only for user {user} "
                              f"(left by a run as another user); give {user} write permission on it")


def current_user() -> str:
    uid = os.geteuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def check_migrated(engine: Engine, database: DatabaseUrl) -> None:
    """Raise ConfigError unless every migration of ``sql/`` is applied to the database (one query)."""
    applied = _applied_versions(engine)
    if applied is None:
        raise ConfigError(f"the database {database.display} has no schema yet: run bin/migrate")
    missing = [migration.path.name for migration in discover() if migration.version not in applied]
    if missing:
        raise ConfigError(f"the database {database.display} lacks the migrations {', '.join(missing)}: "
                          "run bin/migrate")


def _applied_versions(engine: Engine) -> set[str] | None:
    """The versions in ``schema_migrations``, or None when the table is not there."""
    with transaction(engine, read_only=True) as conn:
        try:
            return set(conn.execute(select(schema_migrations.c.version)).scalars())
        except exc.DBAPIError as error:
            if _is_missing_table(error):
                return None
            raise


def _is_missing_table(error: exc.DBAPIError) -> bool:
    return getattr(error.orig, "pgcode", None) == UNDEFINED_TABLE or "no such table" in str(error.orig)
