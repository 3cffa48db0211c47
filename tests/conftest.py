"""Shared fixtures: a fresh real database per test, on SQLite and on PostgreSQL.

PostgreSQL comes from ``ZAMIO_TEST_POSTGRES_URL`` (an administrative URL, by
default ``postgresql://postgres@127.0.0.1:5432/postgres``); each test gets a
database of its own, dropped afterwards.  When no server answers, the
PostgreSQL variants are skipped with the reason shown, except where
``ZAMIO_REQUIRE_POSTGRES=1`` (CI sets it): there they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import Project, postgres_admin, postgres_problem

REQUIRE_POSTGRES = os.environ.get("ZAMIO_REQUIRE_POSTGRES") == "1"


def _create_postgres_database() -> tuple[str, str]:
    import psycopg2

    admin = postgres_admin()
    name = f"zamio_test_{uuid.uuid4().hex[:12]}"
    conn = psycopg2.connect(admin.libpq_dsn)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    return name, admin.with_database(name).text


def _drop_postgres_database(name: str) -> None:
    import psycopg2

    conn = psycopg2.connect(postgres_admin().libpq_dsn)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.close()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """The URL of a fresh, empty PostgreSQL database (dropped after the test)."""
    problem = postgres_problem()
    if problem:
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL is required here (ZAMIO_REQUIRE_POSTGRES=1) but unreachable: {problem}")
        pytest.skip(f"no PostgreSQL server reachable ({problem}); set ZAMIO_TEST_POSTGRES_URL")
    name, url = _create_postgres_database()
    try:
        yield url
    finally:
        _drop_postgres_database(name)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """The URL of a fresh SQLite file in the test's own folder."""
    return f"sqlite:///{tmp_path / 'zamio.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh empty database: the test runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'zamio.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def project(database_url: str, tmp_path: Path) -> Project:
    """A migrated database plus helpers to run ``bin/`` scripts against it as cron would."""
    proj = Project(database_url, tmp_path)
    proj.migrate()
    return proj
