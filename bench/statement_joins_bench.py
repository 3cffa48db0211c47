#!/usr/bin/env python3
"""Statement query benchmark on PostgreSQL: what the joins to the corrections by hand cost a cycle's statements.

Every statement line says why when a person corrected its play (``correction: <reason>``): the query that reads
a cycle's lines (``zamio.royalties.statements.select.statement_fields``, which the statement writers drain) joins
each line's play to the audit log twice (``_with_corrections``: the correction that wrote the version, and the
one that replaced it).  This measures that query with those joins and without them, on one database in one run.

Creates a scratch database and bulk-loads the royalty benchmark's world (``royalty_bench.generate``: 200 stations,
20,000 tracks, N plays over March 2026 with COPY); prices them (``price_pending``); corrects ``--corrections``
plays spread over the month by hand with the function ``bin/correct-plays`` calls (``corrections.correct``, one
transaction each: a retime, a new version of the play and an audit entry); prices again (the reversals and the
new versions) and closes March (``close_cycle``).  Then it reads every statement line of the cycle as the
statement writers do, alternately with the joins and without them (the same query with ``_with_corrections``
and ``_reason`` replaced by the plain lines and the ledger's reason), ``--runs`` times each, and prints the
median of each, their ratio, the lines and corrected lines each read, and the plan of the query with the joins.
Each run also has the server execute the query alone (``EXPLAIN ANALYZE`` of the query ``statement_lines`` sends,
the same FROM clause, no rows sent), which leaves out the client's share of the time.

Caches are warm (every table read right after it was written and analysed); run it alone.

    python3 bench/statement_joins_bench.py --admin-url postgresql://postgres:postgres@127.0.0.1:5432/postgres
    python3 bench/statement_joins_bench.py --plays 100000 --corrections 500 --runs 3      # small
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from royalty_bench import ADMIN_URL, STATIONS, TRACKS, generate, load_average, server_facts  # noqa: E402
from scratch_postgres import scratch_database  # noqa: E402
from sqlalchemy import Engine, event, select, text  # noqa: E402

from zamio.db.audit import Who  # noqa: E402
from zamio.db.engine import transaction  # noqa: E402
from zamio.playlogs.correction_requests import Request  # noqa: E402
from zamio.playlogs.corrections import correct  # noqa: E402
from zamio.royalties.cycles.process import CycleSpec, close_cycle  # noqa: E402
from zamio.royalties.pricing.run import price_pending  # noqa: E402
from zamio.royalties.statements import select as statement_select  # noqa: E402
from zamio.runtime.migrate import migrate  # noqa: E402

DATABASE_PREFIX = "zamio_bench_statement_joins_"
#: The lines as the writers read them, one field per column: the reason is the 17th (``statement_fields``).
REASON = 16


def correct_plays(engine: Engine, count: int) -> int:
    """Retime ``count`` current plays spread evenly over the play ids (each to a second shorter), one transaction
    each, as ``bin/correct-plays retime`` does; return how many were corrected."""
    with engine.connect() as conn:
        ids = [row[0] for row in conn.execute(text(
            "SELECT id, duration_seconds FROM play_logs WHERE status = 'final' AND duration_seconds > 2 ORDER BY id"))]
    step = max(1, len(ids) // max(count, 1))
    done = 0
    for play_id in ids[::step][:count]:
        with transaction(engine) as conn:
            seconds = Decimal(str(conn.execute(text("SELECT duration_seconds FROM play_logs WHERE id = :id"),
                                               {"id": play_id}).scalar_one()))
            correct(conn, Request("retime", play_ids=(play_id,), seconds=seconds - 1),
                    Who("bench", f"station log: play {play_id} faded out a second early"))
        done += 1
    return done


@contextmanager
def without_joins() -> Iterator[None]:
    """The statement query as it would be without the corrections' joins: the lines alone, the ledger's reason."""
    joins, reason = statement_select._with_corrections, statement_select._reason
    statement_select._with_corrections = lambda joined: joined
    statement_select._reason = lambda e: e.c.reason
    try:
        yield
    finally:
        statement_select._with_corrections, statement_select._reason = joins, reason


def read_lines(engine: Engine, cycle: statement_select.StatementCycle) -> tuple[float, int, int]:
    """Drain the cycle's statement lines as a writer does; return (seconds, lines, lines naming a correction)."""
    lines = corrected = 0
    t0 = time.perf_counter()
    with transaction(engine, read_only=True) as conn:
        for fields in statement_select.statement_fields(conn, cycle):
            lines += 1
            corrected += "correction: " in (fields[REASON] or "")
    return time.perf_counter() - t0, lines, corrected


def plan(engine: Engine, cycle: statement_select.StatementCycle) -> list[str]:
    """The plan of the statement query's FROM clause with the joins, under the writers' planner settings."""
    lines, e, _dated, conditions = statement_select._line_source(cycle.id, cycle.method, (None, None), False)
    query = select(e.c.id, statement_select._reason(e).label("reason")).select_from(lines).where(*conditions)
    compiled = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
    with transaction(engine, read_only=True) as conn:
        statement_select._read_whole_cycles(conn)
        return [row[0] for row in conn.execute(text(f"EXPLAIN (COSTS OFF) {compiled}"))]


def server_seconds(engine: Engine, cycle: statement_select.StatementCycle) -> float:
    """The statement lines' query as ``statement_lines`` sends it, run by the server alone under the writers'
    planner settings (``EXPLAIN ANALYZE``, no rows sent, no per-node timing); return its execution time."""
    sent: list[tuple[str, object]] = []

    def keep(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001, ANN202
        if "cycle_line_items" in statement and "ORDER BY" in statement:
            sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        with transaction(engine, read_only=True) as conn:
            lines = statement_select.statement_lines(conn, cycle.id, cycle.method)
            next(lines, None)
            lines.close()
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    statement, parameters = sent[-1]
    with transaction(engine, read_only=True) as conn:
        statement_select._read_whole_cycles(conn)
        found = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) {statement}", parameters).scalar()
    document = json.loads(found) if isinstance(found, str) else found
    return float(document[0]["Execution Time"]) / 1000


def measure(engine: Engine, cycle: statement_select.StatementCycle, runs: int) -> dict[str, list[float]]:
    """Both queries, alternately, ``runs`` times each after one warming read of each: drained as the writers
    drain them, and run by the server alone; return their times by what was measured and which query."""
    read_lines(engine, cycle)
    with without_joins():
        read_lines(engine, cycle)
    times: dict[str, list[float]] = {"read with": [], "read without": [], "server with": [], "server without": []}
    for run in range(runs):
        seconds, lines, corrected = read_lines(engine, cycle)
        times["read with"].append(seconds)
        print(f"  run {run + 1} with the joins: {seconds:.2f} s, {lines:,} lines, {corrected:,} naming a correction")
        with without_joins():
            seconds, lines, corrected = read_lines(engine, cycle)
        times["read without"].append(seconds)
        print(f"  run {run + 1} without them: {seconds:.2f} s, {lines:,} lines, {corrected:,} naming a correction")
        times["server with"].append(server_seconds(engine, cycle))
        with without_joins():
            times["server without"].append(server_seconds(engine, cycle))
        print(f"  run {run + 1} in the server alone: {times['server with'][-1]:.2f} s with the joins, "
              f"{times['server without'][-1]:.2f} s without")
    return times


def timed(what: str, work: Callable[[], object]) -> object:
    t0 = time.perf_counter()
    result = work()
    print(f"{what} in {time.perf_counter() - t0:.1f} s")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plays", type=int, default=1_000_000)
    parser.add_argument("--corrections", type=int, default=1000, help="plays corrected by hand (default 1000)")
    parser.add_argument("--runs", type=int, default=3, help="reads of the cycle's lines each way (default 3)")
    parser.add_argument("--admin-url", default=ADMIN_URL)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()
    load_at_start = load_average()
    with scratch_database(args.admin_url, DATABASE_PREFIX, args.keep) as (_, engine):
        conditions = (f"{args.plays:,} plays, {STATIONS:,} stations, {TRACKS:,} tracks, {args.corrections:,} "
                      f"corrected by hand; {server_facts(engine)}; {os.cpu_count()} CPUs")
        print(f"conditions: {conditions}; load average (1, 5, 15 min) {load_at_start} at start")
        migrate(engine)
        timed("generated", lambda: generate(engine, args.plays))
        timed("priced", lambda: price_pending(lambda: transaction(engine), "bench"))
        corrected = timed("corrected by hand", lambda: correct_plays(engine, args.corrections))
        timed("priced again (reversals and new versions)", lambda: price_pending(lambda: transaction(engine), "bench"))
        with transaction(engine) as conn:
            locked, _ = close_cycle(conn, CycleSpec("2026-03", date(2026, 3, 1), date(2026, 3, 31)), "bench")
        cycle = statement_select.StatementCycle.of(locked)
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
        print(f"cycle 2026-03 closed; {corrected:,} plays corrected; reading its statement lines:")
        times = measure(engine, cycle, args.runs)
        print("the plan with the joins (the writers' settings: hash joins, sorts in memory):")
        print("\n".join("    " + line for line in plan(engine, cycle)))
        median = {what: statistics.median(values) for what, values in times.items()}
        print(f"statement lines of a cycle ({conditions}), median of {args.runs}: drained as the writers do, "
              f"{median['read with']:.2f} s with the joins to the corrections, {median['read without']:.2f} s "
              f"without: {median['read with'] / median['read without']:.3f}×; in the server alone, "
              f"{median['server with']:.2f} s and {median['server without']:.2f} s: "
              f"{median['server with'] / median['server without']:.3f}× "
              f"(load average {load_average()} at the end; {datetime.now(UTC):%Y-%m-%d %H:%M} UTC)")


if __name__ == "__main__":
    main()
