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

import re
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
#: The drivers each kind may name after its ``+``: the ones zamio installs.
DRIVERS = {SQLITE: ("pysqlite",), POSTGRESQL: ("psycopg2",)}
#: The variable naming the hot standbys that serve fingerprint lookups (``zamio.db.replicas``).
REPLICAS_VARIABLE = "FINGERPRINT_DATABASE_URL"
PORT_PROBLEM = "has a port that is not a number from 1 to 65535"
#: A host name, an IPv4 address or an IPv6 address (brackets already removed), or a socket folder.
HOST_PATTERN = re.compile(r"[A-Za-z0-9._-]+|[0-9A-Fa-f:.]+(%[A-Za-z0-9]+)?|/[^\s]*")
QUERY_PARAMETER = re.compile(r'invalid URI query parameter: "([A-Za-z0-9_]+)"')
#: libpq's refusals of a setting's value, found before it reaches the server; group 1 names the setting.
LIBPQ_BAD_VALUE = (
    re.compile(r'invalid (\w+) value: "'),
    re.compile(r'invalid integer value "[^"]*" for connection option "(\w+)"'),
    re.compile(r"invalid (port) number"),
)


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
    def display(self) -> str:
        """The database named for people, password left out: the SQLite file, or the PostgreSQL URL."""
        if self.libpq_dsn is not None:
            from sqlalchemy.engine import URL

            url = self.sqlalchemy_url  # rebuilt without the password and the query, which may hold one
            return URL.create(LIBPQ_SCHEME, username=url.username, host=url.host, port=url.port,
                              database=url.database).render_as_string()
        return str(self.sqlite_file) if self.sqlite_file is not None else "the SQLite database in memory"

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
    """Given a database URL, return it parsed; raise ConfigError naming ``variable`` and the part
    that is wrong (never the value, which holds a password) when it is malformed or names
    another database."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(text.strip())
    except (ArgumentError, ValueError):
        raise ConfigError(f"{variable} {_unreadable_part(text.strip())}; write it like {EXAMPLES}") from None
    backend, _, driver = url.drivername.partition("+")
    if backend not in KINDS:
        raise ConfigError(f"{variable} names a database zamio does not support (only SQLite and PostgreSQL); "
                          f"write it like {EXAMPLES}")
    problem = _malformed_part(url, KINDS[backend], driver)
    if problem:
        raise ConfigError(f"{variable} {problem}; write it like {EXAMPLES}")
    return _from_sqlalchemy(url)


def _unreadable_part(text: str) -> str:
    """What is wrong with a URL SQLAlchemy cannot read, said without quoting it."""
    from urllib.parse import urlsplit

    if "://" not in text:
        return "is not a database URL"
    try:
        urlsplit(text).port  # noqa: B018  (reading the port is the check)
    except ValueError as error:
        return "has a host that is not a name or an address in brackets" if "IPv6" in str(error) else PORT_PROBLEM
    return "is not a database URL"


def _malformed_part(url: URL, kind: str, driver: str) -> str | None:
    """What is wrong with a URL that parsed but that a client would refuse, or None."""
    if driver and driver not in DRIVERS[kind]:
        return f"names the driver {driver!r}, which zamio does not use (leave it out: {kind}://…)"
    if url.port is not None and not 1 <= url.port <= 65535:
        return PORT_PROBLEM
    if kind == SQLITE:
        if url.host or url.username or url.password or url.port:
            return "names a host or a user, which a SQLite URL has not: it is sqlite:/// followed by the file's path"
        return None
    if url.host and not HOST_PATTERN.fullmatch(url.host):
        return "has a host that is not a name or an address"
    return _libpq_problem(url)


def _libpq_problem(url: URL) -> str | None:
    """What libpq would refuse in the URL's options (an unknown query parameter), or None."""
    try:
        from psycopg2 import ProgrammingError  # type: ignore[import-untyped]  # no type hints, no stubs installed
        from psycopg2.extensions import parse_dsn  # type: ignore[import-untyped]
    except ImportError:
        raise ConfigError("DATABASE_URL names PostgreSQL but its driver psycopg2 is not installed: run "
                          "`make install` (or pip install '.[postgres]', or '.[postgres-source]' to build it "
                          "against the system's libpq)") from None

    try:
        parse_dsn(url.set(drivername=LIBPQ_SCHEME).render_as_string(hide_password=False))
    except ProgrammingError as error:
        name = QUERY_PARAMETER.search(str(error))
        return f"has the query parameter {name.group(1)!r}, which PostgreSQL does not know" if name else \
            "has a part PostgreSQL cannot read"
    return None


def parse_replica_urls(text: str | None, primary: DatabaseUrl) -> tuple[DatabaseUrl, ...]:
    """Given ``FINGERPRINT_DATABASE_URL`` (None or blank: no replica; else URLs separated
    by commas, a comma inside a password written ``%2C``) and the primary's parsed URL,
    return the replicas' URLs; raise ConfigError naming the variable when one is malformed,
    names SQLite, or when the primary is SQLite (a SQLite file has no replicas)."""
    parts = [part.strip() for part in (text or "").split(",")]
    if not any(parts):
        return ()
    if primary.is_sqlite:
        raise ConfigError(f"{REPLICAS_VARIABLE} names read replicas of PostgreSQL, but DATABASE_URL names a SQLite "
                          f"database, which has none: unset {REPLICAS_VARIABLE}, or move to PostgreSQL")
    if not all(parts):
        raise ConfigError(f"{REPLICAS_VARIABLE} has an empty URL between its commas: list the replicas' URLs "
                          "separated by single commas")
    urls = tuple(parse_database_url(part, REPLICAS_VARIABLE) for part in parts)
    if any(url.is_sqlite for url in urls):
        raise ConfigError(f"{REPLICAS_VARIABLE} names a SQLite database: it takes the URLs of PostgreSQL hot standbys "
                          "of the database DATABASE_URL names")
    return urls


def setting_error(driver_message: str, variable: str = "DATABASE_URL") -> ConfigError | None:
    """The configuration error behind libpq's refusal to connect, when it refused a value the URL
    gives (``?sslmode=sometimes``), else None.  The setting is named, its value is not."""
    for pattern in LIBPQ_BAD_VALUE:
        found = pattern.search(driver_message)
        if found:
            return ConfigError(f"{variable} gives {found.group(1)} a value PostgreSQL does not accept; "
                               f"write it like {EXAMPLES}")
    return None


def _from_sqlalchemy(url: URL) -> DatabaseUrl:
    backend, _, driver = url.drivername.partition("+")
    if KINDS[backend] == SQLITE:
        name = url.database
        return DatabaseUrl(SQLITE, url, None, Path(name) if name and name != ":memory:" else None)
    url = url.set(drivername=f"{POSTGRESQL}+{driver or 'psycopg2'}")
    dsn = url.set(drivername=LIBPQ_SCHEME).render_as_string(hide_password=False)
    return DatabaseUrl(POSTGRESQL, url, dsn, None)
