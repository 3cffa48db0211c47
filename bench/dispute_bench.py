#!/usr/bin/env python3
"""Dispute benchmark on PostgreSQL: ``bin/disputes open --recording`` over a large play table.

Creates a scratch database and bulk-loads the royalty benchmark's world (``royalty_bench.generate``:
200 stations, 20,000 tracks with ISRCs, N plays over March 2026 with COPY), then, in one run:

1. **without** the recording indexes: drops ``ix_play_logs_track`` and ``ix_play_logs_isrc``
   (``sql/0028``) and ANALYZEs; opens ``--runs`` disputes over the shares of distinct
   recordings with ``bin/disputes open --recording t<k> --shares`` (the job as an operator runs
   it: it finds the recording, inserts the dispute and counts the current plays it covers) and
   prints each wall time (mostly the interpreter starting, on a busy host); then the same
   openings by the job's function, ``open_dispute``, in process, each rolled back; then, for
   the last of them, the count of its plays by the query used before
   ``zamio.playlogs.disputes.covered_ids`` (one OR of the ways of covering, tested against
   every play) and by ``covered_plays``, and the latter's plan;
2. **with** them: creates them again as ``sql/0028`` does, ANALYZEs, and opens ``--runs``
   disputes over other recordings and counts the same way.

It prints the median of each and their ratio.  Each recording has about N / 20,000 plays.
Caches are warm (the table was just written and analysed); run it alone.

    python3 bench/dispute_bench.py --admin-url postgresql://postgres:postgres@127.0.0.1:5432/postgres
    python3 bench/dispute_bench.py --plays 100000 --runs 3      # small
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from royalty_bench import ADMIN_URL, TRACKS, generate, load_average, server_facts  # noqa: E402
from scratch_postgres import scratch_database  # noqa: E402
from sqlalchemy import Engine, text  # noqa: E402

from zamio.db.audit import Who  # noqa: E402
from zamio.playlogs.disputes import Claim, Scope, covered_plays, open_dispute  # noqa: E402
from zamio.runtime.migrate import migrate  # noqa: E402

DATABASE_PREFIX = "zamio_bench_dispute_"
INDEXES = ("ix_play_logs_track", "ix_play_logs_isrc")
MIGRATION = ROOT / "sql" / "0028_play_logs_recording_indexes.sql"


def opened_in_process(engine: Engine, recordings: list[int]) -> list[float]:
    """Open a shares dispute over each recording with the job's own function, each in a transaction rolled back
    (no interpreter to start: the dispute's own work); return each time in seconds."""
    times = []
    for track in recordings:
        claim = Claim("publisher", "pub1", Scope("shares", recording=f"t{track}"))
        with engine.connect() as conn, conn.begin() as transaction:
            t0 = time.perf_counter()
            open_dispute(conn, claim, Who("bench", f"in process t{track}"), datetime.now(UTC))
            times.append(time.perf_counter() - t0)
            transaction.rollback()
    return times


def open_disputes(url: str, recordings: list[int], work: Path) -> list[float]:
    """Open a shares dispute over each recording with bin/disputes; return each wall time in seconds."""
    env = dict(os.environ, DATABASE_URL=url, ZAMIO_VAR_DIR=str(work), ZAMIO_ENV_FILE=str(work / "empty.env"),
               ZAMIO_VENV=sys.prefix)
    (work / "empty.env").touch()
    times = []
    for track in recordings:
        command = [sys.executable, str(ROOT / "bin" / "disputes"), "open", "--claimant-type", "publisher",
                   "--claimant", "pub1", "--recording", f"t{track}", "--shares", "--reason", f"bench t{track}"]
        t0 = time.perf_counter()
        result = subprocess.run(command, env=env, capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        if result.returncode != 0:
            raise SystemExit(f"disputes open --recording t{track} exited {result.returncode}: {result.stderr}")
        print(f"  t{track}: {times[-1]:.3f} s  {result.stdout.splitlines()[1].strip()}")
    return times


#: How the plays of a dispute were found before ``covered_ids``: one condition, an OR of the ways of covering,
#: tested against every play (no index can answer it).
FORMER_COUNT = ("SELECT count(*) FROM play_logs p WHERE p.status = 'final' AND EXISTS (SELECT 1 FROM disputes d "
                "WHERE d.id = :id AND ((d.station_id = p.station_id AND p.started_at >= d.starts_at "
                "AND p.started_at < d.ends_at) OR (d.track_id IS NOT NULL AND p.track_id = d.track_id) "
                "OR (d.isrc IS NOT NULL AND p.isrc = d.isrc) OR EXISTS (SELECT 1 FROM dispute_plays x "
                "WHERE x.dispute_id = d.id AND x.play_key = p.play_key)))")


def counts(engine: Engine) -> str:
    """The count of the plays the newest dispute covers, the former way and the current one (median of 3 each,
    in seconds), then the current one's plan with its timings."""
    with engine.connect() as conn:
        newest = int(conn.execute(text("SELECT max(id) FROM disputes")).scalar_one())
        query = covered_plays(newest).compile(engine, compile_kwargs={"literal_binds": True})
        current = f"SELECT count(*) FROM ({query}) AS c"
        found = []
        for sql in (FORMER_COUNT, current):
            times = []
            for _ in range(3):
                t0 = time.perf_counter()
                n = conn.execute(text(sql), {"id": newest}).scalar()
                times.append(time.perf_counter() - t0)
            found.append(f"{statistics.median(times):.4f} s ({n} plays)")
        rows = conn.execute(text(f"EXPLAIN (ANALYZE, COSTS OFF) {current}"))
        return (f"  count of D-{newest:06d}'s plays: former query {found[0]}, current query {found[1]}; its plan:\n"
                + "\n".join("    " + row[0] for row in rows))


def measure(engine: Engine, url: str, runs: int, work: Path) -> tuple[float, float, float, float]:
    """Both measurements in one run; return the medians (job without, job with, function without, with)."""
    step = TRACKS // (2 * runs + 1)
    with engine.begin() as conn:
        for index in INDEXES:
            conn.execute(text(f"DROP INDEX IF EXISTS {index}"))
        conn.execute(text("ANALYZE play_logs"))
    print("without the recording indexes:")
    without = open_disputes(url, [step * (k + 1) for k in range(runs)], work)
    inside = opened_in_process(engine, [step * (k + 1) for k in range(runs)])
    print(f"  open_dispute in process: {', '.join(f'{t:.3f}' for t in inside)} s")
    print(counts(engine))
    with engine.begin() as conn:
        for statement in MIGRATION.read_text().split(";"):
            body = "\n".join(line for line in statement.splitlines() if not line.strip().startswith("--"))
            if body.strip():
                conn.execute(text(body))
        conn.execute(text("ANALYZE play_logs"))
    print("with them (sql/0028):")
    within = open_disputes(url, [step * (runs + k + 1) for k in range(runs)], work)
    indexed = opened_in_process(engine, [step * (runs + k + 1) for k in range(runs)])
    print(f"  open_dispute in process: {', '.join(f'{t:.3f}' for t in indexed)} s")
    print(counts(engine))
    return (statistics.median(without), statistics.median(within), statistics.median(inside),
            statistics.median(indexed))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plays", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5, help="disputes opened each way (default 5)")
    parser.add_argument("--admin-url", default=ADMIN_URL)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()
    load_at_start = load_average()
    with scratch_database(args.admin_url, DATABASE_PREFIX, args.keep) as (url, engine):
        print(f"conditions: {args.plays:,} plays, {TRACKS:,} tracks; {server_facts(engine)}; {os.cpu_count()} CPUs; "
              f"load average (1, 5, 15 min) {load_at_start} at start")
        migrate(engine)
        t0 = time.perf_counter()
        generate(engine, args.plays)
        print(f"generated in {time.perf_counter() - t0:.1f} s")
        with tempfile.TemporaryDirectory(prefix="zamio-dispute-bench-") as work:
            without, within, inside, indexed = measure(engine, url, args.runs, Path(work))
        print(f"disputes open --recording, median of {args.runs}: {without:.3f} s without the indexes, "
              f"{within:.3f} s with them: {without / within:.2f}×; its function (open_dispute) {inside:.4f} s and "
              f"{indexed:.4f} s: {inside / indexed:.1f}× (load average {load_average()} at the end)")


if __name__ == "__main__":
    main()
