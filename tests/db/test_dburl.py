"""The database URL is read in one place: its kind, SQLite file, SQLAlchemy URL and libpq DSN."""

from __future__ import annotations

from pathlib import Path

import psycopg2
import pytest

from tests.support import Project, postgres_admin
from zamio.db.url import parse_database_url
from zamio.runtime.errors import EXIT_CONFIG, ConfigError


def test_sqlite_urls_name_their_file_or_memory() -> None:
    absolute = parse_database_url("sqlite:////var/lib/zamio/zamio.db")
    assert (absolute.kind, absolute.sqlite_file, absolute.libpq_dsn) == (
        "sqlite", Path("/var/lib/zamio/zamio.db"), None)
    assert parse_database_url("sqlite:///var/zamio.db").sqlite_file == Path("var/zamio.db")
    assert parse_database_url("sqlite:///var/zamio.db?timeout=5").sqlite_file == Path("var/zamio.db")
    for memory in ("sqlite://", "sqlite:///:memory:"):
        parsed = parse_database_url(memory)
        assert parsed.is_sqlite and parsed.in_memory and parsed.sqlite_file is None
    assert not absolute.in_memory


@pytest.mark.parametrize("written", ["postgresql://zamio:p%40ss@db.example:5433/zamio?sslmode=require",
                                     "postgres://zamio:p%40ss@db.example:5433/zamio?sslmode=require",
                                     "postgresql+psycopg2://zamio:p%40ss@db.example:5433/zamio?sslmode=require"])
def test_postgresql_urls_give_sqlalchemy_psycopg2_and_libpq_its_bare_scheme(written: str) -> None:
    parsed = parse_database_url(written)
    assert parsed.kind == "postgresql" and not parsed.is_sqlite and parsed.sqlite_file is None
    assert parsed.sqlalchemy_url.drivername == "postgresql+psycopg2"
    assert parsed.sqlalchemy_url.password == "p@ss" and parsed.sqlalchemy_url.port == 5433
    assert parsed.libpq_dsn == "postgresql://zamio:p%40ss@db.example:5433/zamio?sslmode=require"
    assert parsed.text == parsed.libpq_dsn
    assert "p%40ss" not in repr(parsed) and "p@ss" not in repr(parsed)
    other = parsed.with_database("scratch")
    assert other.libpq_dsn == "postgresql://zamio:p%40ss@db.example:5433/scratch?sslmode=require"


@pytest.mark.parametrize("written", ["mysql://root:s3cret@db/zamio", "sqlite3:///s3cret.db", "s3cret",
                                     "postgresql://zamio:s3cret@db:port/zamio", "", "sqlite:/s3cret.db"])
def test_another_kind_or_a_malformed_url_names_the_variable_and_an_example_not_the_value(written: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_database_url(written)
    message = str(caught.value)
    assert caught.value.exit_code == EXIT_CONFIG == 78
    assert message.startswith("DATABASE_URL ") and "s3cret" not in message
    assert "sqlite:////" in message and "postgresql://" in message  # an example of each kind
    with pytest.raises(ConfigError, match="ZAMIO_TEST_POSTGRES_URL"):
        parse_database_url(written, "ZAMIO_TEST_POSTGRES_URL")


def test_a_job_given_an_unsupported_url_exits_78_naming_the_variable(tmp_path: Path) -> None:
    project = Project("mysql://root:s3cret@db/zamio", tmp_path)
    result = project.script("migrate")
    assert result.returncode == 78, result.stderr
    assert "DATABASE_URL" in result.stderr and "postgresql://" in result.stderr and "s3cret" not in result.stderr


def test_the_libpq_dsn_reaches_the_database_it_names(empty_postgres_url: str) -> None:
    parsed = parse_database_url(empty_postgres_url)
    name = parsed.sqlalchemy_url.database
    for dsn in (parsed.libpq_dsn, postgres_admin().with_database(name).libpq_dsn):
        conn = psycopg2.connect(dsn)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT current_database()")
                assert cur.fetchone()[0] == name
        finally:
            conn.close()


@pytest.mark.parametrize("scheme", ["postgres", "postgresql+psycopg2"])
def test_a_job_runs_on_each_spelling_of_a_postgresql_url(empty_postgres_url: str, tmp_path: Path, scheme: str) -> None:
    written = scheme + empty_postgres_url[empty_postgres_url.index("://"):]
    project = Project(written, tmp_path)
    result = project.script("migrate")  # takes its job lock through libpq and migrates through SQLAlchemy
    assert result.returncode == 0, result.stderr
    assert project.scalar("SELECT count(*) FROM schema_migrations") > 0
