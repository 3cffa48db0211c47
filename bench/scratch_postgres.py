"""A scratch PostgreSQL database for one bench run: created on the admin server, dropped however the run
ends (unless kept, when its URL is printed)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text

from zamio.db.engine import open_engine
from zamio.db.url import parse_database_url


@contextmanager
def scratch_database(admin_url: str, prefix: str, keep: bool = False) -> Iterator[tuple[str, Engine]]:
    """Given the admin server's URL and a name prefix, yield (URL, engine) of a fresh empty database."""
    name = f"{prefix}{uuid.uuid4().hex[:8]}"
    admin = open_engine(admin_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = parse_database_url(admin_url, "--admin-url").with_database(name).text
    engine = open_engine(url)
    try:
        yield url, engine
    finally:
        engine.dispose()
        if keep:
            print(f"kept database {url}")
        else:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()
