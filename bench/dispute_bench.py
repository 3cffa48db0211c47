#!/usr/bin/env python3
"""Dispute benchmark on PostgreSQL: ``bin/disputes open --recording`` over a large play table.

Creates a scratch database and bulk-loads the royalty benchmark's world (``royalty_bench.generate``:
200 stations, 20,000 tracks with ISRCs, N plays over March 2026 with COPY), then, in one run:

1. **without** the recording indexes: drops ``ix_play_logs_track`` and ``ix_play_logs_isrc``
   (``sql/0034``) and ANALYZEs; opens ``--runs`` disputes over the shares of distinct
   recordings with ``bin/disputes open --recording t<k> --shares`` (the job as an operator runs
   it: it finds the recording, inserts the dispute and counts the current plays it covers) and
   prints each wall time, and the planner's plan of the count;
2. **with** them: creates them again as ``sql/0034`` does, ANALYZEs, and opens ``--runs``
   disputes over other recordings the same way.

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
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from royalty_bench import ADMIN_URL, TRACKS, generate, load_average, server_facts  # noqa: E402
from sqlalchemy import Engine, text  # noqa: E402

from zamio.db.engine import open_engine  # noqa: E402
from zamio.db.url import parse_database_url  # noqa: E402
from zamio.playlogs.disputes import covered_plays  # noqa: E402
from zamio.runtime.migrate import migrate  # noqa: E402

DATABASE_PREFIX = "zamio_bench_dispute_"
INDEXES = ("ix_play_logs_track", "ix_play_logs_isrc")
MIGRATION = ROOT / "sql" / "0034_play_logs_recording_indexes.sql"


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


def plan(engine: Engine) -> str:
    """The plan of the count of the plays the newest dispute covers, with its timings."""
    with engine.connect() as conn:
        newest = conn.execute(text("SELECT max(id) FROM disputes")).scalar()
        query = covered_plays(newest).compile(engine, compile_kwargs={"literal_binds": True})
        rows = conn.execute(text(f"EXPLAIN (ANALYZE, COSTS OFF) SELECT count(*) FROM ({query}) AS covered"))
        return "\n".join("    " + row[0] for row in rows)


def measure(engine: Engine, url: str, runs: int, work: Path) -> tuple[float, float]:
    """Both measurements in one run; return the medians (without, with)."""
    step = TRACKS // (2 * runs + 1)
    with engine.begin() as conn:
        for index in INDEXES:
            conn.execute(text(f"DROP INDEX IF EXISTS {index}"))
        conn.execute(text("ANALYZE play_logs"))
    print("without the recording indexes:")
    without = open_disputes(url, [step * (k + 1) for k in range(runs)], work)
    print(plan(engine))
    with engine.begin() as conn:
        for statement in MIGRATION.read_text().split(";"):
            body = "\n".join(line for line in statement.splitlines() if not line.strip().startswith("--"))
            if body.strip():
                conn.execute(text(body))
        conn.execute(text("ANALYZE play_logs"))
    print("with them (sql/0034):")
    within = open_disputes(url, [step * (runs + k + 1) for k in range(runs)], work)
    print(plan(engine))
    return statistics.median(without), statistics.median(within)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plays", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5, help="disputes opened each way (default 5)")
    parser.add_argument("--admin-url", default=ADMIN_URL)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()
    load_at_start = load_average()
    name = f"{DATABASE_PREFIX}{uuid.uuid4().hex[:8]}"
    admin = open_engine(args.admin_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = parse_database_url(args.admin_url, "--admin-url").with_database(name).text
    engine = open_engine(url)
    try:
        print(f"conditions: {args.plays:,} plays, {TRACKS:,} tracks; {server_facts(engine)}; {os.cpu_count()} CPUs; "
              f"load average (1, 5, 15 min) {load_at_start} at start")
        migrate(engine)
        t0 = time.perf_counter()
        generate(engine, args.plays)
        print(f"generated in {time.perf_counter() - t0:.1f} s")
        with tempfile.TemporaryDirectory(prefix="zamio-dispute-bench-") as work:
            without, within = measure(engine, url, args.runs, Path(work))
        print(f"disputes open --recording, median of {args.runs}: {without:.3f} s without the indexes, "
              f"{within:.3f} s with them: {without / within:.1f}× (load average {load_average()} at the end)")
    finally:
        engine.dispose()
        if not args.keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        else:
            print(f"kept database {url}")


if __name__ == "__main__":
    main()
