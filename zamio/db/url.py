"""The database URL, read once: which database it names and how each client wants it written.

``DATABASE_URL`` names one of two kinds of database:

* SQLite: ``sqlite:///relative/path.db`` or ``sqlite:////absolute/path.db``
  (``sqlite://`` alone, or ``sqlite:///:memory:``, is a database in memory);
* PostgreSQL: ``postgresql://user:password@host:5432/name`` (``postgres://`` and
  ``postgresql+psycopg2://`` are read the same way).

The clients want it written differently: SQLAlchemy is given PostgreSQL URLs pinned
to psycopg2 (SQLAlchemy 2.1 would otherwise look for psycopg 3), psycopg2 (libpq,
for the job locks and for creating databases) a URI with the bare
``postgresql://`` scheme, and SQLite's file is a path.  :func:`parse_database_url`
works all of them out once; nothing else looks at the URL's text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from zamio.runtime.errors import ConfigError

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

SQLITE = "sqlite"
POSTGRESQL = "postgresql"
#: The scheme's database name (before any ``+driver``) and the kind it names.
KINDS = {"sqlite": SQLITE, "postgresql": POSTGRESQL, "postgres": POSTGRESQL}
EXAMPLES = "sqlite:////var/lib/zamio/zamio.db or postgresql://zamio:PASSWORD@db.example:5432/zamio"
LIBPQ_SCHEME = "postgresql"  # libpq reads only postgresql:// and postgres:// URIs, no +driver


@dataclass(frozen=True)
class DatabaseUrl:
    """A parsed database URL (the password is kept out of ``repr``).

    ``sqlalchemy_url`` is what ``create_engine`` is given; ``libpq_dsn`` what
    ``psycopg2.connect`` is given (None for SQLite); ``sqlite_file`` the SQLite
    database file (None for PostgreSQL and for SQLite in memory).
    """

    kind: str  # sqlite | postgresql
    sqlalchemy_url: URL = field(repr=False)
    libpq_dsn: str | None = field(repr=False)
    sqlite_file: Path | None

    @property
    def is_sqlite(self) -> bool:
        return self.kind == SQLITE

    @property
    def in_memory(self) -> bool:
        return self.is_sqlite and self.sqlite_file is None

    @property
    def text(self) -> str:
        """The URL written out in full, password included, as ``DATABASE_URL`` takes it
        (to hand to another process)."""
        if self.libpq_dsn is not None:
            return self.libpq_dsn
        return self.sqlalchemy_url.render_as_string(hide_password=False)

    def with_database(self, name: str) -> DatabaseUrl:
        """The same server with another database (PostgreSQL), e.g. a scratch database made
        through an administrative URL."""
        return _from_sqlalchemy(self.sqlalchemy_url.set(database=name))


def parse_database_url(text: str, variable: str = "DATABASE_URL") -> DatabaseUrl:
    """Given a database URL, return it parsed; raise ConfigError naming ``variable`` (never
    the value, which holds a password) when it is malformed or names another database."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(text.strip())
    except (ArgumentError, ValueError):
        raise ConfigError(f"{variable} is not a database URL; write it like {EXAMPLES}") from None
    backend = url.drivername.partition("+")[0]
    if backend not in KINDS:
        raise ConfigError(f"{variable} names a database zamio does not support (only SQLite and PostgreSQL); "
                          f"write it like {EXAMPLES}")
    return _from_sqlalchemy(url)


def _from_sqlalchemy(url: URL) -> DatabaseUrl:
    backend, _, driver = url.drivername.partition("+")
    if KINDS[backend] == SQLITE:
        name = url.database
        return DatabaseUrl(SQLITE, url, None, Path(name) if name and name != ":memory:" else None)
    url = url.set(drivername=f"{POSTGRESQL}+{driver or 'psycopg2'}")
    dsn = url.set(drivername=LIBPQ_SCHEME).render_as_string(hide_password=False)
    return DatabaseUrl(POSTGRESQL, url, dsn, None)
