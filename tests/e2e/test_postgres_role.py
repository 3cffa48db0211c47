"""The README's PostgreSQL set-up, run as written: every job works as that role, which is no superuser.

The SQL is read from the fenced block the README marks ``postgresql-setup`` and run through the
administrative URL, with the role, database and password made unique to this run.  Then the real
``bin/migrate``, every job of ``crontab.txt`` and the manual jobs an operator runs first connect as
that role, and afterwards every object in its database belongs to it.  CI runs everything else as
the superuser, which hides a missing privilege.
"""

from __future__ import annotations

import re
import secrets
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.audio_fixtures import song_files  # noqa: F401
from tests.conftest import REQUIRE_POSTGRES
from tests.support import ROOT, Project, admin_cursor, postgres_admin, postgres_problem
from zamio.db.url import parse_database_url
from zamio.runtime import schedule

pytestmark = pytest.mark.postgres

README = ROOT / "README.md"
MARK = "<!-- postgresql-setup:"
#: Names this test gives its roles and databases: the prefix, the creation second, a random part.
PREFIX = "zamio_roletest_"
NAME = re.compile(rf"^{PREFIX}(\d+)_[0-9a-f]+$")
#: A role or database of this test older than this was left by a run that was killed: it is dropped.
LEFTOVER_SECONDS = 3600

STATIONS = ("station_ref,name,city,region,station_class,stream_url,timezone\n"
            "JOY,Joy FM,Accra,Greater Accra,class_a,,Africa/Accra\n")
TRACKS = "track_ref,title,artist,audio_path\nT-ODO,Odo,Ama Ghana,{audio}\n"


def readme_setup_sql() -> str:
    """The SQL of the fenced block right after the README's ``postgresql-setup`` mark."""
    text = README.read_text(encoding="utf-8")
    assert text.count(MARK) == 1, f"README.md must mark exactly one block with {MARK!r}"
    after = text[text.index(MARK):]
    block = re.search(r"-->\s*\n```sql\n(.*?)```", after, re.S)
    assert block, "the postgresql-setup mark must stand right before a ```sql block"
    return block.group(1)


def statements(sql: str, name: str, password: str) -> list[str]:
    """The README's statements with its role and database ``zamio`` and its password ``CHANGE-ME`` replaced."""
    assert "'CHANGE-ME'" in sql and re.search(r"\bzamio\b", sql)
    sql = re.sub(r"\bzamio\b", name, sql.replace("'CHANGE-ME'", f"'{password}'"))
    return [s.strip() for s in sql.split(";") if s.strip()]


def drop(cur, name: str) -> None:
    cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    cur.execute(f'DROP ROLE IF EXISTS "{name}"')


def drop_leftovers(cur) -> None:
    """Drop what a killed run of this test left: its databases first (a role that owns one cannot go)."""
    cur.execute("SELECT datname FROM pg_database UNION SELECT rolname FROM pg_roles")
    now = time.time()
    old = {n for (n,) in cur.fetchall() if (m := NAME.match(n)) and now - int(m.group(1)) > LEFTOVER_SECONDS}
    for name in sorted(old):
        drop(cur, name)


@pytest.fixture
def readme_role(tmp_path: Path) -> Iterator[Project]:
    """A role and database made by the README's SQL; a Project connecting as that role.  Dropped afterwards."""
    problem = postgres_problem()
    if problem:
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL is required here (ZAMIO_REQUIRE_POSTGRES=1) but unreachable: {problem}")
        pytest.skip(f"no PostgreSQL server reachable ({problem}); set ZAMIO_TEST_POSTGRES_URL")
    name = f"{PREFIX}{int(time.time())}_{secrets.token_hex(4)}"
    password = secrets.token_hex(16)
    sql = statements(readme_setup_sql(), name, password)
    with admin_cursor() as cur:
        drop_leftovers(cur)
        drop(cur, name)
        try:
            for statement in sql:
                cur.execute(statement)
            url = postgres_admin().sqlalchemy_url.set(username=name, password=password, database=name)
            project = Project(parse_database_url(url.render_as_string(hide_password=False)).text, tmp_path)
            project.env()
            yield project
        finally:
            if "engine" in project.__dict__:
                project.engine.dispose()
            drop(cur, name)


def run(project: Project, name: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    result = project.script(name, *args, env=project.env(**env), timeout=300)
    assert result.returncode == 0, f"{name} {' '.join(args)} exited {result.returncode} as the README's role:\n" \
                                   f"{result.stderr}"
    return result


#: Objects in the database owned by a role other than its owner: relations (tables, indexes, sequences,
#: views), functions, types (an array type counted as its element's), schemas and the extensions.  What
#: an extension brings along is owned by the bootstrap superuser by design (a trusted extension), and the
#: ``public`` schema by ``pg_database_owner`` (PostgreSQL 15) or the bootstrap superuser (older): both are
#: left out.
FOREIGN_OWNERS = """
WITH owned(kind, name, owner, oid, catalog) AS (
    SELECT 'relation', c.relname, c.relowner, c.oid, 'pg_class'::regclass FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
    UNION ALL
    SELECT 'function', p.proname, p.proowner, p.oid, 'pg_proc'::regclass FROM pg_proc p
        JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
    UNION ALL
    SELECT 'type', t.typname, t.typowner, CASE WHEN t.typcategory = 'A' THEN t.typelem ELSE t.oid END,
           'pg_type'::regclass FROM pg_type t  -- an array type goes with its element's type
        JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
    UNION ALL
    SELECT 'schema', n.nspname, n.nspowner, n.oid, 'pg_namespace'::regclass FROM pg_namespace n
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'public') AND n.nspname NOT LIKE 'pg\\_%'
    UNION ALL
    SELECT 'extension', e.extname, e.extowner, e.oid, 'pg_extension'::regclass FROM pg_extension e
        WHERE e.extname <> 'plpgsql'
)
SELECT o.kind, o.name, pg_get_userbyid(o.owner) FROM owned o
WHERE o.owner <> (SELECT datdba FROM pg_database WHERE datname = current_database())
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = o.catalog AND d.objid = o.oid AND d.deptype = 'e')
ORDER BY 1, 2
"""


def test_every_job_runs_as_the_role_the_readme_creates(readme_role: Project, song_files: dict[str, Path]) -> None:
    project = readme_role
    attributes = project.query("SELECT rolsuper, rolcreatedb, rolcreaterole, rolcanlogin FROM pg_roles "
                               "WHERE rolname = current_user")
    assert [tuple(r) for r in attributes] == [(False, False, False, True)]
    owner = project.scalar("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()")
    assert owner == project.scalar("SELECT current_user")

    run(project, "migrate")
    assert project.scalar("SELECT count(*) FROM pg_extension WHERE extname = 'btree_gist'") == 1
    inputs = project.tmp_path / "input"
    inputs.mkdir()
    (inputs / "stations.csv").write_text(STATIONS)
    (inputs / "tracks.csv").write_text(TRACKS.format(audio=song_files["song-21"]))
    run(project, "import-catalog", "--stations", str(inputs / "stations.csv"), "--tracks", str(inputs / "tracks.csv"))

    scheduled = schedule.read_crontab()
    assert len(scheduled) == 12
    for job in scheduled:  # each as the schedule starts it; on a database this empty each has done its work
        run(project, job.script, *job.arguments, ZAMIO_STARTED_BY="schedule")
    assert project.scalar("SELECT count(*) FROM fingerprint_sets") == 1  # the track was fingerprinted
    # The nightly index rebuild into the other form: CREATE INDEX CONCURRENTLY and the swap, as the owner.
    rebuilt = run(project, "cleanup-old-fingerprints", FINGERPRINT_INDEX_COVERING="false")
    assert "made compact" in rebuilt.stderr
    run(project, "calculate-royalty-distributions")
    out = project.tmp_path / "cycle"
    run(project, "process-royalty-cycle", "--name", "2026-03", "--from", "2026-03-01", "--to", "2026-03-31",
        "--out", str(out))
    assert (out / "statements.csv").is_file()
    run(project, "payouts", "--cycle", "2026-03", "--out", str(project.tmp_path / "payouts"))
    run(project, "disputes", "list")
    run(project, "suspense-report")
    run(project, "zamio-status", "--check")  # every scheduled job has succeeded: nothing overdue or failing

    assert project.query(FOREIGN_OWNERS) == []
