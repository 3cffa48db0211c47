"""Every table has one writing module: its owner.  Any other module that writes it is named here, with why.

Writes are found in the source, not at run time:

* ``insert(t)``, ``update(t)``, ``delete(t)`` and ``t.insert()`` … on a table of ``zamio.db.tables``;
* a call that hands a table to a function writing its parameter (``upsert(conn, t, …)``,
  ``leases.claim(conn, t, …)``, ``bulk_insert``, ``keep_or_correct``: found by following
  such functions through the library until nothing new turns up);
* ``INSERT INTO t``, ``UPDATE t``, ``DELETE FROM t`` and ``COPY t`` in SQL text;
* the retention steps of ``zamio.runtime.cleanup`` (their tables are named in strings).

The owner is the module that decides what a row says; a shared write is one that
only moves a row along (a queue's lease, retention) or that hands work to the
next stage.  A new writer fails this test until it is either moved to the owner
or listed below with its reason: see docs/architecture.md.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

from tests.support import ROOT
from zamio.db.tables import metadata
from zamio.runtime.cleanup import STEPS

OWNERS = {
    # runtime
    "job_runs": "zamio.runtime.runs",
    "schema_migrations": "zamio.runtime.migrate",
    "audit_log": "zamio.db.audit",  # every stage records its manual changes through it
    # catalog and reference data
    "artists": "zamio.catalog.imports",
    "publishers": "zamio.catalog.imports",
    "contributors": "zamio.catalog.imports",
    "tracks": "zamio.catalog.imports",
    "stations": "zamio.catalog.imports",
    "stream_links": "zamio.catalog.imports",
    "partner_societies": "zamio.catalog.reference",
    "society_admin_fees": "zamio.catalog.reference",
    "reciprocal_agreements": "zamio.catalog.reference",
    "partner_repertoire": "zamio.catalog.reference",
    "rate_cards": "zamio.catalog.reference",
    "day_periods": None,  # seeded by sql/0005; changed by a new migration
    "eligibility_rules": None,  # seeded by sql/0005; changed by a new migration
    "exchange_rates": "zamio.catalog.reference",
    "station_licence_fees": "zamio.catalog.reference",
    "domestic_commission_rates": "zamio.catalog.payees",
    "withholding_tax_rates": "zamio.catalog.payees",
    "payees": "zamio.catalog.payees",
    "isrc_mappings": "zamio.catalog.mappings",
    # recognition
    "fingerprint_sets": "zamio.recognition.index",
    "fingerprints": "zamio.recognition.index",
    "fingerprint_work": "zamio.recognition.enrolment",
    "unknown_recordings": "zamio.recognition.unknown",
    "unknown_captures": "zamio.recognition.unknown",
    "unknown_prints": "zamio.recognition.unknown",
    "unknown_track_checks": "zamio.playlogs.heard_once",
    # scanning
    "captures": "zamio.scanning.records",
    "detections": "zamio.scanning.records",
    "coverage_gaps": "zamio.scanning.gaps",
    "acrcloud_usage": "zamio.scanning.fallback",
    # play logs
    "play_logs": "zamio.playlogs.store",
    "play_detections": "zamio.playlogs.store",
    "disputes": "zamio.playlogs.disputes",
    "dispute_plays": "zamio.playlogs.disputes",
    # royalties
    "royalty_pricings": "zamio.royalties.pricing.ledger",
    "royalty_ledger": "zamio.royalties.pricing.ledger",
    "royalty_cycles": "zamio.royalties.cycles.closing",
    "cycle_pricings": "zamio.royalties.cycles.closing",
    "cycle_line_items": "zamio.royalties.cycles.closing",
    "partner_remittances": "zamio.royalties.cycles.closing",
    "licence_fee_parts": "zamio.royalties.cycles.pool",
    "payout_balances": "zamio.royalties.payouts.balances",
    "payments": "zamio.royalties.payouts.payments",
    "payment_events": "zamio.royalties.payouts.payments",
    # beside the pipeline
    "cache_entries": "zamio.cache.store",
    "email_outbox": "zamio.mail.queue",
    "weekly_summaries": "zamio.reports.weekly",
}

RETENTION = "zamio.runtime.cleanup"

#: (table, module): why that module writes a table it does not own.
SHARED_WRITES = {
    ("tracks", "zamio.recognition.enrolment"):
        "records a track's fingerprint status and audio checksum: the catalog row's recognition columns",
    ("stream_links", "zamio.scanning.links"):
        "leases links to scanners and records their health: the scanner's columns of a catalog row",
    ("fingerprint_work", "zamio.catalog.imports"):
        "a new or changed track is queued for fingerprinting in the import's transaction",
    ("fingerprint_sets", "zamio.recognition.enrolment"):
        "marks a track's older fingerprint sets for cleanup-old-fingerprints",
    ("unknown_recordings", "zamio.recognition.naming"):
        "records a recording named or merged (bin/identify-unknown, or from the catalog by the fingerprinting "
        "jobs): its resolution columns, and when it was last checked against the catalog's new tracks",
    ("unknown_captures", "zamio.recognition.naming"):
        "a merge moves the merged recording's captures to the recording that stays",
    ("unknown_prints", "zamio.recognition.naming"):
        "a named recording whose audio does not align with its track's leaves the unknown index",
    ("detections", "zamio.playlogs.store"):
        "convert-matches marks the detections it has turned into plays (the queue's consumer)",
    ("play_logs", "zamio.playlogs.billing"):
        "billing decides which report of an airing is billed: status and duplicate_of of the plays store writes",
    ("royalty_ledger", "zamio.royalties.cycles.pool"):
        "a pool cycle books its fee's distribution through the ledger's writer",
    ("royalty_ledger", "zamio.royalties.payouts.deductions"):
        "a cycle books the commission and tax it deducts from its payees through the ledger's writer",
    ("partner_remittances", "zamio.royalties.payouts.payments"):
        "a remittance is a partner society's payment: its status follows the payment's latest event",
    ("royalty_cycles", "zamio.royalties.cycles.process"):
        "records when a closed cycle's files were written",
    ("email_outbox", "zamio.mail.sender"):
        "leases queued messages and records each delivery attempt",
}

WRITE_CALLS = {"insert": 0, "update": 1, "delete": 0}  # sqlalchemy's: the table is the first argument
SQL_WRITE = re.compile(r"\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM|COPY)\s+([a-z_]+)\b")
TABLES = set(metadata.tables)


def library() -> dict[str, ast.Module]:
    modules = {}
    for path in sorted((ROOT / "zamio").rglob("*.py")):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        modules[name] = ast.parse(path.read_text())
    return modules


def _called_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _argument(call: ast.Call, position: int, name: str | None) -> ast.expr | None:
    if position < len(call.args):
        return call.args[position]
    return next((k.value for k in call.keywords if k.arg == name), None)


def writer_functions(modules: dict[str, ast.Module]) -> dict[str, tuple[int, str | None]]:
    """Functions that write the table given as one of their parameters: name → (position, parameter name)."""
    writers: dict[str, tuple[int, str | None]] = {"insert": (0, None), "update": (0, None), "delete": (0, None)}
    functions = [node for tree in modules.values() for node in ast.walk(tree)
                 if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
    while True:
        found = dict(writers)
        for function in functions:
            params = [a.arg for a in function.args.posonlyargs + function.args.args]
            for call in (n for n in ast.walk(function) if isinstance(n, ast.Call)):
                called = _called_name(call)
                if called not in writers:
                    continue
                target = _argument(call, *writers[called])
                if isinstance(target, ast.Name) and target.id in params and function.name not in found:
                    found[function.name] = (params.index(target.id), target.id)
        if found == writers:
            return writers
        writers = found


def _string_tables(node: ast.AST) -> set[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {t for t in SQL_WRITE.findall(node.value) if t in TABLES}
    if isinstance(node, ast.JoinedStr):
        text = "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
        return {t for t in SQL_WRITE.findall(text) if t in TABLES}
    return set()


def _aliases(tree: ast.Module) -> dict[str, set[str]]:
    """Names bound to tables in a module: the tables themselves, ``fees = society_admin_fees``, and
    ``for table in (detections, play_logs)``."""
    names = {table: {table} for table in TABLES}
    for node in ast.walk(tree):
        if (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                and isinstance(node.value, ast.Name) and node.value.id in TABLES):
            names.setdefault(node.targets[0].id, set()).add(node.value.id)
        if (isinstance(node, ast.For) and isinstance(node.target, ast.Name)
                and isinstance(node.iter, (ast.Tuple, ast.List))):
            tables = {e.id for e in node.iter.elts if isinstance(e, ast.Name) and e.id in TABLES}
            if tables:
                names.setdefault(node.target.id, set()).update(tables)
    return names


def table_writers() -> dict[str, set[str]]:
    """Table name → the modules of the library that write it."""
    modules = library()
    writers = writer_functions(modules)
    found: dict[str, set[str]] = defaultdict(set)
    for module, tree in modules.items():
        tables = _aliases(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                called = _called_name(node)
                if called in writers:
                    target = _argument(node, *writers[called])
                    if isinstance(target, ast.Name) and target.id in tables:
                        for table in tables[target.id]:
                            found[table].add(module)
                if (isinstance(node.func, ast.Attribute) and node.func.attr in WRITE_CALLS
                        and isinstance(node.func.value, ast.Name) and node.func.value.id in tables):
                    for table in tables[node.func.value.id]:
                        found[table].add(module)
            for table in _string_tables(node):
                found[table].add(module)
    for step in STEPS:
        found[step.table].add(RETENTION)
    return found


def test_every_table_has_an_owner() -> None:
    assert set(OWNERS) == TABLES, (f"tables without an owner: {sorted(TABLES - set(OWNERS))}; "
                                   f"owners of no table: {sorted(set(OWNERS) - TABLES)}")


def test_every_table_is_written_by_its_owner_and_the_writers_listed_with_a_reason() -> None:
    writers = table_writers()
    retained = {step.table for step in STEPS}
    for table, owner in OWNERS.items():
        allowed = {owner} | {module for (t, module) in SHARED_WRITES if t == table}
        allowed |= {RETENTION} if table in retained else set()
        unexpected = writers.get(table, set()) - allowed
        assert not unexpected, f"{table} is owned by {owner}, but {sorted(unexpected)} write it too"
        if owner is not None:
            assert owner in writers.get(table, set()), f"{owner} owns {table} but does not write it"


def test_every_shared_write_still_happens() -> None:
    writers = table_writers()
    stale = [pair for pair in SHARED_WRITES if pair[1] not in writers.get(pair[0], set())]
    assert not stale, f"listed as shared writes, but no longer written: {stale}"


def test_the_finder_sees_each_kind_of_write(tmp_path: Path) -> None:
    """The detection itself: a direct insert, a write through a helper taking the table, SQL text."""
    source = ("from sqlalchemy import insert, text\n"
              "from zamio.db.tables import captures, job_runs, play_logs\n"
              "def put(conn, table, row):\n    conn.execute(insert(table).values(**row))\n"
              "def go(conn):\n    put(conn, captures, {})\n    conn.execute(insert(job_runs))\n"
              "    conn.execute(text('UPDATE play_logs SET status = 1'))\n")
    tree = ast.parse(source)
    writers = writer_functions({"x": tree})
    assert writers["put"] == (1, "table")
    found = {t for node in ast.walk(tree) for t in _string_tables(node)}
    assert found == {"play_logs"}
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and _called_name(n) in writers]
    targets = {_argument(c, *writers[_called_name(c)]).id for c in calls
               if isinstance(_argument(c, *writers[_called_name(c)]), ast.Name)}
    assert {"captures", "job_runs"} <= targets
