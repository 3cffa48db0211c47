"""The schema that sql/ creates equals the tables the code defines, on SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import psycopg2.errors
import pytest
from sqlalchemy import Column, Integer, MetaData, Table, inspect, select, text
from sqlalchemy.exc import StatementError

from tests.support import Project
from zamio.db.tables import metadata
from zamio.db.types import DateText, ExactDecimal, UTCDateTime, parse_sqlite_time
from zamio.runtime import migrate
from zamio.values.decimals import CONFIDENCE, EXCHANGE_RATE, MULTIPLIER, PERCENT, RATE, DecimalKind


def reflected(project: Project) -> dict[str, dict]:
    with project.engine.connect() as conn:
        insp = inspect(conn)
        schema = {}
        for name in insp.get_table_names():
            columns = {c["name"]: c["nullable"] for c in insp.get_columns(name)}
            pk = tuple(insp.get_pk_constraint(name)["constrained_columns"])
            columns.update(dict.fromkeys(pk, False))  # SQLite reports INTEGER PRIMARY KEY as nullable; it is not
            uniques = {tuple(u["column_names"]) for u in insp.get_unique_constraints(name)}
            uniques |= {tuple(i["column_names"]) for i in insp.get_indexes(name) if i["unique"]}
            # Expression indexes (the exclusion constraint of sql/0015 on play_logs) are not declared as
            # indexes: tests/e2e/test_billing.py proves what they enforce.
            indexes = {tuple(i["column_names"]) for i in insp.get_indexes(name)
                       if not i["unique"] and None not in i["column_names"]}
            schema[name] = {"columns": columns, "pk": pk, "uniques": uniques, "indexes": indexes}
        return schema


def declared(dialect: str) -> dict[str, dict]:
    schema = {}
    for table in metadata.sorted_tables:
        # An index made on one database only (ddl_if) is declared for that one.
        made = [i for i in table.indexes if i._ddl_if is None or i._ddl_if.dialect in (None, dialect)]
        columns = {c.name: bool(c.nullable) and not c.primary_key for c in table.columns}
        uniques = {tuple(c.name for c in con.columns) for con in table.constraints
                   if con.__class__.__name__ == "UniqueConstraint"}
        uniques |= {(c.name,) for c in table.columns if c.unique}
        uniques |= {tuple(c.name for c in i.columns) for i in made if i.unique}
        indexes = {tuple(c.name for c in i.columns) for i in made if not i.unique}
        pk = tuple(c.name for c in table.primary_key.columns)
        schema[table.name] = {"columns": columns, "pk": pk, "uniques": uniques, "indexes": indexes}
    return schema


def assert_declared_schema(project: Project) -> None:
    actual, expected = reflected(project), declared(project.engine.dialect.name)
    assert sorted(actual) == sorted(expected)
    for name in expected:
        assert actual[name]["columns"] == expected[name]["columns"], name
        assert actual[name]["pk"] == expected[name]["pk"], name
        assert actual[name]["uniques"] == expected[name]["uniques"], name
        assert actual[name]["indexes"] == expected[name]["indexes"], name


def test_migrations_create_exactly_the_declared_tables(empty_project: Project) -> None:
    empty_project.migrate()  # the real bin/migrate, from nothing
    assert_declared_schema(empty_project)


def test_a_test_database_has_exactly_this_checkout_s_migrations(project: Project) -> None:
    # The fixtures copy a template migrated once: one of other migration files must never be used.
    recorded = {row.version: row.checksum for row in project.query("SELECT version, checksum FROM schema_migrations")}
    assert recorded == {m.version: m.checksum for m in migrate.discover()}
    assert_declared_schema(project)


#: Tables without a natural unique key, and why that is safe.
NO_NATURAL_KEY = {
    # A track's rows are replaced whole in one transaction, keyed by fingerprint_sets (track, version);
    # a unique index per row would double the storage per second of audio.
    "fingerprints",
    # A capture's rows are written once, in the transaction of its unknown_captures row (keyed by capture),
    # and deleted whole; the same per-row index would double them as it would the catalog's.
    "unknown_prints",
}


def test_every_written_table_has_a_natural_unique_key() -> None:
    for table in metadata.sorted_tables:
        if table.name in NO_NATURAL_KEY:
            continue
        schema = declared("postgresql")[table.name]
        keys = schema["uniques"] | {schema["pk"]}
        natural = [k for k in keys if k and k != ("id",)]
        assert natural, f"{table.name} has no unique key besides its surrogate id"


def test_migrate_applies_each_file_once_and_a_second_run_does_nothing(empty_project: Project) -> None:
    first = empty_project.script("migrate")
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == [f"applied {m.path.name}" for m in migrate.discover()]
    again = empty_project.script("migrate")
    assert again.returncode == 0 and "up to date" in again.stderr and again.stdout == ""
    assert empty_project.scalar("SELECT count(*) FROM schema_migrations") == len(migrate.discover())


def test_a_failing_migration_leaves_nothing_behind(project: Project, tmp_path) -> None:
    sql_dir = tmp_path / "sql"
    sql_dir.mkdir()
    (sql_dir / "9001_ok.sql").write_text("CREATE TABLE t_ok (id INTEGER);\n")
    (sql_dir / "9002_broken.sql").write_text("CREATE TABLE t_half (id INTEGER);\nCREATE TABLE t_half (id INTEGER);\n")
    with pytest.raises((sqlite3.OperationalError, psycopg2.errors.DuplicateTable)):
        migrate.migrate(project.engine, sql_dir)
    names = set(inspect(project.engine).get_table_names())
    assert "t_ok" in names and "t_half" not in names
    versions = {r[0] for r in project.query("SELECT version FROM schema_migrations")}
    assert "9002" not in versions and "9001" in versions


def test_dialect_blocks_are_kept_only_for_their_database() -> None:
    sql = "A;\n-- sqlite:begin\nB;\n-- sqlite:end\n-- postgresql:begin\nC;\n-- postgresql:end\nD;\n"
    assert migrate.strip_foreign_blocks(sql, "sqlite").split() == ["A;", "B;", "D;"]
    assert migrate.strip_foreign_blocks(sql, "postgresql").split() == ["A;", "C;", "D;"]


def test_exact_types_round_trip(project: Project) -> None:
    scratch = Table(
        "scratch_types", MetaData(), Column("id", Integer, primary_key=True),
        Column("at", UTCDateTime), Column("day", DateText), Column("rate", ExactDecimal(RATE)),
        Column("amount", Integer),
    )
    scratch.create(project.engine)
    moment = datetime(2026, 3, 29, 0, 59, 59, 123456, tzinfo=timezone(timedelta(hours=1)))
    values = dict(id=1, at=moment, day=date(2026, 2, 28), rate=Decimal("0.0150000001"), amount=123456789)
    with project.engine.begin() as conn:
        conn.execute(scratch.insert().values(**values))
        row = conn.execute(select(scratch)).one()
    assert row.at == moment and row.at.tzinfo == UTC
    assert row.day == values["day"] and row.rate == values["rate"] and row.amount == values["amount"]
    with pytest.raises(StatementError, match="naive datetime"):
        with project.engine.begin() as conn:
            conn.execute(scratch.insert().values(id=2, at=datetime(2026, 1, 1)))


def test_the_ledger_refuses_updates_and_deletes(project: Project) -> None:
    now = datetime.now(UTC)
    from zamio.db.tables import royalty_ledger

    with project.engine.begin() as conn:
        conn.execute(royalty_ledger.insert().values(
            entry_key="k1", version=1, kind="share", recipient_type="artist", recipient_ref="a1",
            amount=100, currency="GHS", created_at=now,
        ))
    for statement in ("UPDATE royalty_ledger SET amount = 1", "DELETE FROM royalty_ledger"):
        with pytest.raises(Exception, match="append-only"):
            with project.engine.begin() as conn:
                conn.execute(text(statement))
    assert project.scalar("SELECT amount FROM royalty_ledger") == 100


KINDS = (RATE, EXCHANGE_RATE, MULTIPLIER, PERCENT, CONFIDENCE)


def widest(kind: DecimalKind) -> Decimal:
    """The value of ``kind`` with every digit it keeps: 99...9.99...9 (a 1 last, so no trailing zero)."""
    return Decimal("9" * kind.whole + "." + "9" * (kind.places - 1) + "1")


def test_each_kind_of_decimal_keeps_the_same_digits_on_both_databases(project: Project) -> None:
    scratch = Table("scratch_kinds", MetaData(), Column("id", Integer, primary_key=True),
                    *(Column(k.name.replace(" ", "_"), ExactDecimal(k)) for k in KINDS))
    scratch.create(project.engine)
    values = {k.name.replace(" ", "_"): widest(k) for k in KINDS}
    with project.engine.begin() as conn:
        conn.execute(scratch.insert().values(id=1, **values))
        stored = conn.execute(select(scratch).where(scratch.c.id == 1)).one()._mapping
    assert {name: stored[name] for name in values} == values  # every digit back, on both databases
    for kind in KINDS:
        name = kind.name.replace(" ", "_")
        one_more_place = widest(kind) + kind.quantum / 10  # PostgreSQL would round it to its scale
        one_more_digit = widest(kind) + 1  # PostgreSQL would refuse it: numeric field overflow
        for value in (one_more_place, one_more_digit, -one_more_place):
            with pytest.raises(StatementError, match=f"a {kind.name} keeps"):
                with project.engine.begin() as conn:
                    conn.execute(scratch.insert().values(id=2, **{name: value}))
    assert project.scalar("SELECT count(*) FROM scratch_kinds") == 1


def test_postgresql_columns_have_the_precision_of_their_kind(postgres_url: str, tmp_path) -> None:
    project = Project(postgres_url, tmp_path)
    project.migrate()
    declared_columns = [(table.name, column.name, column.type.kind) for table in metadata.sorted_tables
                        for column in table.columns if isinstance(column.type, ExactDecimal)]
    assert len(declared_columns) == 13
    with project.engine.connect() as conn:
        insp = inspect(conn)
        for table, column, kind in declared_columns:
            (found,) = [c for c in insp.get_columns(table) if c["name"] == column]
            assert (found["type"].precision, found["type"].scale) == (kind.precision, kind.places), (table, column)


def migrated_to_0014(project: Project, tmp_path) -> Path:
    """Migrate ``project`` with the migrations before 0016 only; return the folder holding them all."""
    before, every = tmp_path / "sql-before", tmp_path / "sql-all"
    before.mkdir()
    every.mkdir()
    for found in migrate.discover():
        shutil.copy(found.path, every / found.path.name)
        if found.version < "0016":
            shutil.copy(found.path, before / found.path.name)
    migrate.migrate(project.engine, before)
    return every


def test_the_precision_migration_refuses_to_round_values_stored_before(empty_database_url: str, tmp_path) -> None:
    project = Project(empty_database_url, tmp_path)
    every = migrated_to_0014(project, tmp_path)
    # Seven places: PostgreSQL's NUMERIC(24,10) and SQLite's text both kept them before 0016.
    project.execute("UPDATE rate_cards SET multiplier = '1.1234567' WHERE station_class = 'class_a' "
                    "AND period = 'prime'")
    with pytest.raises(Exception, match=r"rate_cards\.multiplier holds values with more than 6 decimal places"):
        migrate.migrate(project.engine, every)
    assert "0016" not in migrate.applied_versions(project.engine)
    assert project.scalar("SELECT multiplier FROM rate_cards WHERE station_class = 'class_a' "
                          "AND period = 'prime'") in ("1.1234567", Decimal("1.1234567000"))
    project.execute("UPDATE rate_cards SET multiplier = '1.123457' WHERE station_class = 'class_a' "
                    "AND period = 'prime'")  # corrected by hand: now it goes through
    migrate.migrate(project.engine, every)
    assert "0016" in migrate.applied_versions(project.engine)


def test_instants_of_any_year_round_trip_and_sort_on_both_databases(project: Project) -> None:
    scratch = Table("scratch_years", MetaData(), Column("id", Integer, primary_key=True), Column("at", UTCDateTime))
    scratch.create(project.engine)
    years = [datetime(1, 1, 1, 0, 30, tzinfo=UTC), datetime(999, 6, 1, tzinfo=UTC),
             datetime(2026, 3, 2, 12, 0, tzinfo=UTC), datetime(9999, 12, 31, 23, 0, tzinfo=UTC)]
    with project.engine.begin() as conn:
        conn.execute(scratch.insert(), [{"id": i, "at": at} for i, at in enumerate(reversed(years))])
        stored = [row.at for row in conn.execute(select(scratch).order_by(scratch.c.at))]
    assert stored == years  # SQLite text with a four-digit year sorts as time does
    # A year before 1000 stored by an older version without its leading zeros still reads.
    assert parse_sqlite_time("1-01-01 00:30:00.000000") == years[0]
