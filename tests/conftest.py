"""Shared fixtures: a fresh real database per test, on SQLite and on PostgreSQL.

A fresh database has every migration of ``sql/`` applied: it is a copy of a
template that the real ``bin/migrate`` built from empty (see tests/support.py),
which is much quicker than running the script for each test.  The ``empty_``
fixtures give a database with nothing in it, for the tests of migrating.

PostgreSQL comes from ``ZAMIO_TEST_POSTGRES_URL`` (an administrative URL, by
default ``postgresql://postgres@127.0.0.1:5432/postgres``); each test gets a
database of its own, dropped afterwards.  When no server answers, the
PostgreSQL variants are skipped with the reason shown, except where
``ZAMIO_REQUIRE_POSTGRES=1`` (CI sets it): there they fail.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from tests.support import (
    Project,
    create_postgres_database,
    drop_postgres_database,
    migrated_sqlite_url,
    postgres_problem,
)

# Property tests check what is computed, never how long it took: on a shared machine an example may wait for
# the CPU longer than hypothesis's default deadline (200 ms) and fail a sound property now and then.
settings.register_profile("zamio", deadline=None)
settings.load_profile("zamio")

REQUIRE_POSTGRES = os.environ.get("ZAMIO_REQUIRE_POSTGRES") == "1"
DATABASE_KINDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def _postgres_database(*, empty: bool) -> Iterator[str]:
    problem = postgres_problem()
    if problem:
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL is required here (ZAMIO_REQUIRE_POSTGRES=1) but unreachable: {problem}")
        pytest.skip(f"no PostgreSQL server reachable ({problem}); set ZAMIO_TEST_POSTGRES_URL")
    name, url = create_postgres_database(empty=empty)
    try:
        yield url
    finally:
        drop_postgres_database(name)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """The URL of a fresh, migrated PostgreSQL database (dropped after the test)."""
    yield from _postgres_database(empty=False)


@pytest.fixture
def empty_postgres_url() -> Iterator[str]:
    """The URL of a fresh PostgreSQL database with no migration applied (dropped after the test)."""
    yield from _postgres_database(empty=True)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """The URL of a fresh, migrated SQLite file in the test's own folder."""
    return migrated_sqlite_url(tmp_path / "zamio.db")


@pytest.fixture
def empty_sqlite_url(tmp_path: Path) -> str:
    """The URL of a SQLite file, not yet created, in the test's own folder."""
    return f"sqlite:///{tmp_path / 'zamio.db'}"


@pytest.fixture(params=DATABASE_KINDS)
def database_url(request: pytest.FixtureRequest) -> str:
    """A fresh migrated database: the test runs once on SQLite and once on PostgreSQL."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")


@pytest.fixture(params=DATABASE_KINDS)
def empty_database_url(request: pytest.FixtureRequest) -> str:
    """A fresh database with no migration applied, on SQLite and on PostgreSQL."""
    return request.getfixturevalue("empty_sqlite_url" if request.param == "sqlite" else "empty_postgres_url")


@pytest.fixture
def project(database_url: str, tmp_path: Path) -> Project:
    """A migrated database plus helpers to run ``bin/`` scripts against it as cron would."""
    proj = Project(database_url, tmp_path)
    proj.env()  # var/ and its .env exist from the start, as after any script run
    return proj


@pytest.fixture
def empty_project(empty_database_url: str, tmp_path: Path) -> Project:
    """An empty database (``bin/migrate`` not run yet) and the same ways to run scripts against it."""
    proj = Project(empty_database_url, tmp_path)
    proj.env()
    return proj
