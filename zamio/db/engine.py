"""Database access shared by every job: engines, transactions, upserts, error translation.

SQLite is opened in WAL mode with a busy timeout, and every transaction that
may write starts with ``BEGIN IMMEDIATE``: a deferred transaction that reads
and then writes after another process committed fails at once with
``SQLITE_BUSY_SNAPSHOT``, ignoring the timeout.  Read-only transactions ask for
a plain ``BEGIN`` so that reports never block writers.

Driver errors are translated here into the typed errors of ``zamio.runtime.errors``:
an unreachable server becomes ``ServiceUnavailable`` (exit 69), a lock wait
that timed out becomes ``TemporaryFailure`` (exit 75), a SQLite file this user
may not write ``CannotWrite`` (exit 73), a URL setting libpq refuses ``ConfigError`` (exit 78).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeAlias
from urllib.parse import quote

from sqlalchemy import URL, Connection, Engine, Row, Table, create_engine, event, exc, make_url
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect

from zamio.db.url import DatabaseUrl, parse_database_url, setting_error
from zamio.runtime.errors import CannotWrite, ServiceUnavailable, TemporaryFailure

READ_ONLY = "zamio_read_only"

#: A row as a query returns it, its columns read by name (``row.id``): what each holds is the query's to say.
StoredRow: TypeAlias = Row[*tuple[object, ...]]
#: A row to write, column name → value.
RowValues: TypeAlias = Mapping[str, object]


def utcnow() -> datetime:
    """The current instant, timezone-aware UTC (the only clock the library reads)."""
    return datetime.now(UTC)


def open_engine(url: str | DatabaseUrl, *, busy_timeout_ms: int = 30_000, application_name: str = "zamio",
                read_only: bool = False, connect_timeout_seconds: int = 10) -> Engine:
    """Create the engine for ``url``: SQLite with WAL and immediate write transactions, or PostgreSQL.

    Bound parameters are hidden from SQLAlchemy's statement log (``-vvv``) and from the
    text of its errors, which reach the log and ``job_runs``: they carry stream links
    with their passwords and whatever else a row holds.

    ``read_only``: the caller only reads, and a SQLite file in a folder this user may not
    write is opened read-only (see :func:`_read_only_sqlite_url`).  ``connect_timeout_seconds``
    bounds the wait for a PostgreSQL server's answer.
    """
    database = url if isinstance(url, DatabaseUrl) else parse_database_url(url)
    if database.is_sqlite:
        sqlalchemy_url = database.sqlalchemy_url
        if database.sqlite_file is not None and read_only:
            sqlalchemy_url = _read_only_sqlite_url(database.sqlite_file) or sqlalchemy_url
        elif database.sqlite_file is not None:
            database.sqlite_file.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(sqlalchemy_url, hide_parameters=True,
                               connect_args={"timeout": busy_timeout_ms / 1000})
        _configure_sqlite(engine, busy_timeout_ms)
        return engine
    return create_engine(
        database.sqlalchemy_url,
        hide_parameters=True,
        pool_pre_ping=True,
        connect_args={"connect_timeout": connect_timeout_seconds, "application_name": application_name[:63]},
    )


def _read_only_sqlite_url(path: Path) -> URL | None:
    """A URL that reads ``path`` without writing beside it, when this user may not write the file
    or its folder, else None.

    In WAL mode even a reader writes: it creates the ``-wal`` and ``-shm`` files beside the
    database, and a reader that may not write the database leaves them behind read-only, in
    the way of the writers.  So such a reader opens the file read-only: through a writer's
    ``-wal`` and ``-shm`` when they are there (``mode=ro``), else, with no commit waiting in a
    ``-wal``, as an immutable file read without locks (a writer starting meanwhile keeps its
    commits in its own ``-wal`` until the next checkpoint, unseen by this read).
    """
    if os.access(path, os.W_OK) and os.access(path.parent, os.W_OK | os.X_OK):
        return None
    options = {"mode": "ro", "uri": "true"}
    if not Path(f"{path}-wal").exists():
        options["immutable"] = "1"
    return make_url("sqlite://").set(database="file:" + quote(str(path.absolute())), query=options)


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        # Take transaction control away from the driver so BEGIN can be chosen below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def is_sqlite(bind: Engine | Connection) -> bool:
    return bind.dialect.name == "sqlite"


@contextmanager
def translated_errors() -> Iterator[None]:
    """Turn driver errors that concern the whole run into typed errors."""
    try:
        yield
    except exc.OperationalError as error:
        raise _translate(error) from error
    except exc.InterfaceError as error:
        raise ServiceUnavailable(f"lost the database connection: {_first_line(error)}") from error


def _translate(error: exc.OperationalError) -> Exception:
    text = str(error.orig).lower()
    if "readonly database" in text:  # SQLite's "attempt to write a readonly database"
        return CannotWrite(f"cannot write the database named by DATABASE_URL ({_first_line(error)}): give the user "
                           "running zamio write permission on the SQLite file and on its folder")
    setting = setting_error(str(error.orig))
    if setting is not None:
        return setting
    if "database is locked" in text or "lock timeout" in text or "deadlock detected" in text:
        return TemporaryFailure(f"the database is busy, try again later: {_first_line(error)}")
    if "could not connect" in text or "connection refused" in text or "unable to open database" in text:
        return ServiceUnavailable(f"cannot reach the database named by DATABASE_URL: {_first_line(error)}")
    if "server closed the connection" in text or "terminating connection" in text:
        return ServiceUnavailable(f"the database server closed the connection: {_first_line(error)}")
    return error


def _first_line(error: BaseException) -> str:
    orig = getattr(error, "orig", None) or error
    return str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__


@contextmanager
def transaction(engine: Engine, *, read_only: bool = False, dry_run: bool = False) -> Iterator[Connection]:
    """Yield a connection inside one transaction: committed on success, rolled back on error or in a dry run."""
    with translated_errors(), engine.connect() as conn:
        if read_only:
            conn = conn.execution_options(**{READ_ONLY: True})
        trans = conn.begin()
        try:
            yield conn
        except BaseException:
            trans.rollback()
            raise
        if dry_run or read_only:
            trans.rollback()
        else:
            trans.commit()


def _insert_for(conn: Connection, table: Table) -> sqlite_dialect.Insert | pg_dialect.Insert:
    dialect = sqlite_dialect if is_sqlite(conn) else pg_dialect
    return dialect.insert(table)


def insert_ignore(conn: Connection, table: Table, rows: Sequence[RowValues], keys: Sequence[str]) -> int:
    """Insert rows, skipping any whose unique ``keys`` already exist; return how many were inserted."""
    if not rows:
        return 0
    stmt = _insert_for(conn, table).on_conflict_do_nothing(index_elements=list(keys))
    result = conn.execute(stmt, list(rows))
    return max(result.rowcount, 0)


def upsert(
    conn: Connection,
    table: Table,
    rows: Sequence[RowValues],
    keys: Sequence[str],
    update: Iterable[str] | None = None,
) -> None:
    """Insert rows, or update the ``update`` columns (default: all but the keys) where ``keys`` exist."""
    if not rows:
        return
    stmt = _insert_for(conn, table)
    columns = list(update) if update is not None else [k for k in rows[0] if k not in keys]
    if not columns:
        conn.execute(stmt.on_conflict_do_nothing(index_elements=list(keys)), list(rows))
        return
    stmt = stmt.on_conflict_do_update(index_elements=list(keys), set_={c: stmt.excluded[c] for c in columns})
    conn.execute(stmt, list(rows))
