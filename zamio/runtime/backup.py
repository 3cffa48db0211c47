"""A backup of an installation, and its restore into a fresh database and var folder.

A backup is one folder, ``zamio-backup-<UTC time>``, holding:

* the database: ``database.sqlite``, a consistent copy made with SQLite's online backup
  (writers may go on meanwhile), or ``database.pgdump``, ``pg_dump``'s custom format of one
  snapshot of the PostgreSQL database (without owners or grants, so it restores under any role);
* ``files.tar``: the var folder (captured audio kept as evidence, the snippet inbox,
  statements, reports), without the database itself and the lock files;
* ``manifest.json``: zamio's version, the migrations applied, the kind of database, and
  the size and SHA-256 of each file, checked before anything is restored.

The folder is written under a temporary name and renamed when complete, so a backup that
was killed never looks finished.  A restore goes only into an empty database (a SQLite
file not yet there, or a PostgreSQL database with no table) and a var folder without the
files it would write: it never overwrites.  The catalog's own audio files, which tracks
point to wherever the society keeps them, are not in the backup (see the README).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypedDict

from sqlalchemy import Engine, inspect, select

from zamio.db.tables import schema_migrations
from zamio.db.url import DatabaseUrl
from zamio.runtime.errors import ConfigError, DataError, ServiceUnavailable
from zamio.runtime.install import version

MANIFEST = "manifest.json"
FILES_ARCHIVE = "files.tar"
SQLITE_COPY = "database.sqlite"
POSTGRES_DUMP = "database.pgdump"
#: What in the var folder is never copied: the database's own files (copied consistently on their own) and locks.
SKIPPED_IN_VAR = (".locks", "locks")
CHUNK = 1 << 20


class FileDescription(TypedDict):
    """A file of a backup as its manifest describes it."""

    bytes: int
    sha256: str


class Manifest(TypedDict):
    """``manifest.json``: what a backup holds and what it was made from."""

    zamio_version: str
    created_at: str
    database: str  # sqlite or postgresql
    migrations: list[str]
    files: dict[str, FileDescription]  # the database copy and files.tar
    var_files: int


@dataclass(frozen=True)
class BackupResult:
    folder: Path
    database_bytes: int
    files: int


def make_backup(engine: Engine, database: DatabaseUrl, var_dir: Path, out_dir: Path) -> BackupResult:
    """Write a complete backup folder under ``out_dir``; return where it is and what it holds."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    final = out_dir / f"zamio-backup-{stamp}"
    partial = out_dir / f".{final.name}.partial"
    if final.exists():
        raise DataError(f"{final} exists already; wait a second and run the backup again")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir()
    except OSError as error:
        raise ConfigError(f"cannot write the backup in {out_dir}: {error.strerror}; give --out a writable "
                          "folder") from None
    database_file = _copy_database(database, partial)
    members = _archive_var(var_dir, database, partial / FILES_ARCHIVE)
    manifest: Manifest = {
        "zamio_version": version(),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": "sqlite" if database.is_sqlite else "postgresql",
        "migrations": _applied_migrations(engine),
        "files": {path.name: _describe(path) for path in (database_file, partial / FILES_ARCHIVE)},
        "var_files": members,
    }
    (partial / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    database_bytes = database_file.stat().st_size
    os.replace(partial, final)
    return BackupResult(final, database_bytes, members)


def _copy_database(database: DatabaseUrl, folder: Path) -> Path:
    if database.is_sqlite:
        target = folder / SQLITE_COPY
        assert database.sqlite_file is not None  # a file database: the runner refused one in memory
        with sqlite3.connect(database.sqlite_file) as source, sqlite3.connect(target) as copy:
            source.backup(copy)
        return target
    target = folder / POSTGRES_DUMP
    _postgres_tool(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={target}"], database)
    return target


def _postgres_tool(command: list[str], database: DatabaseUrl) -> None:
    """Run ``pg_dump`` or ``pg_restore`` on the database, the password in the environment, never on the command line."""
    url = database.sqlalchemy_url
    env = dict(os.environ, PGHOST=url.host or "", PGPORT=str(url.port or 5432), PGUSER=url.username or "",
               PGDATABASE=url.database or "")
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    if shutil.which(command[0]) is None:
        raise ServiceUnavailable(f"{command[0]} is not installed: apt-get install postgresql-client (the same "
                                 "major version as the server, or newer)")
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise ServiceUnavailable(f"{command[0]} failed (exit {done.returncode}): "
                                 f"{done.stderr.strip().splitlines()[-1] if done.stderr.strip() else 'no message'}")


def _archive_var(var_dir: Path, database: DatabaseUrl, archive: Path) -> int:
    """Put the var folder's files in ``archive`` (the database's own files and locks left out); return how many."""
    skipped = {var_dir / name for name in SKIPPED_IN_VAR}
    if database.sqlite_file is not None:
        skipped |= {Path(f"{database.sqlite_file}{suffix}") for suffix in ("", "-wal", "-shm", "-journal", ".locks")}
    count = 0
    with tarfile.open(archive, "w") as tar:
        if not var_dir.is_dir():
            return 0
        for path in sorted(var_dir.rglob("*")):
            if path in skipped or any(parent in skipped for parent in path.parents) or not path.is_file() \
                    or path.is_symlink():
                continue
            tar.add(path, arcname=str(path.relative_to(var_dir)), recursive=False)
            count += 1
    return count


def _applied_migrations(engine: Engine) -> list[str]:
    if not inspect(engine).has_table("schema_migrations"):
        return []
    with engine.connect() as conn:
        names = conn.execute(select(schema_migrations.c.name).order_by(schema_migrations.c.version))
        return [str(name) for name in names.scalars()]


def _describe(path: Path) -> FileDescription:
    return {"bytes": path.stat().st_size, "sha256": _sha256(path)}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def read_manifest(folder: Path) -> Manifest:
    """The manifest of a backup folder, every file checked against it; DataError naming what is wrong."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        raise DataError(f"{folder} holds no readable {MANIFEST}: it is not a complete zamio backup") from None
    for name, expected in manifest["files"].items():
        path = folder / name
        if not path.is_file() or _describe(path) != expected:
            raise DataError(f"{path} is missing or differs from the backup's manifest (size or SHA-256): the "
                            "backup is damaged; restore another one")
    return manifest


def restore_backup(folder: Path, database: DatabaseUrl, var_dir: Path) -> int:
    """Restore the backup in ``folder`` into the empty database and var folder named; return the files restored."""
    manifest = read_manifest(folder)
    kind = "sqlite" if database.is_sqlite else "postgresql"
    if manifest["database"] != kind:
        raise DataError(f"the backup in {folder} is of a {manifest['database']} database and DATABASE_URL names "
                        f"a {kind} one: restore into the kind it came from (then move with a dump if needed)")
    _refuse_overwriting(folder / FILES_ARCHIVE, var_dir)
    if database.is_sqlite:
        assert database.sqlite_file is not None
        if database.sqlite_file.exists():
            raise DataError(f"{database.sqlite_file} exists: a restore writes only a new database; move it aside "
                            "or name another file with --database-url")
        database.sqlite_file.parent.mkdir(parents=True, exist_ok=True)
        partial = database.sqlite_file.with_name(database.sqlite_file.name + ".restoring")
        shutil.copyfile(folder / SQLITE_COPY, partial)
        os.replace(partial, database.sqlite_file)
    else:
        _postgres_tool(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
                        "--dbname", database.sqlalchemy_url.database or "", str(folder / POSTGRES_DUMP)], database)
    with tarfile.open(folder / FILES_ARCHIVE) as tar:
        tar.extractall(var_dir, filter="data")
        return len(tar.getmembers())


def _refuse_overwriting(archive: Path, var_dir: Path) -> None:
    with tarfile.open(archive) as tar:
        clashes = [name for name in tar.getnames() if (var_dir / name).exists()]
    if clashes:
        raise DataError(f"{len(clashes)} file(s) of the backup already exist in {var_dir} (first: {clashes[0]}): a "
                        "restore never overwrites; restore into an empty folder (ZAMIO_VAR_DIR)")


def postgres_is_empty(engine: Engine) -> bool:
    """True when the database has no table in any schema zamio writes (a restore goes only into such a one)."""
    return not inspect(engine).get_table_names()
