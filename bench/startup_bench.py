#!/usr/bin/env python3
"""Start-up cost of the jobs: wall time of a run with nothing to do, and of a run that finds the lock held.

Usage:
    python bench/startup_bench.py [--runs 10] [--database-url URL] [JOB ...]

Each JOB (default: every scheduled job of crontab.txt plus zamio-status) is
run ``--runs`` times against a freshly migrated database with nothing to do,
as cron would run it (a child process, the project's interpreter).  Then one
run holds a job's lock while another is started: the second must exit 75 at
once.  Prints mean and p95 in milliseconds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from zamio.runtime.schedule import read_crontab  # noqa: E402


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, int]:
    began = time.perf_counter()
    code = subprocess.run(cmd, env=env, capture_output=True).returncode
    return (time.perf_counter() - began) * 1000, code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("jobs", nargs="*")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="zamio-startup-"))
    env = dict(os.environ, ZAMIO_VAR_DIR=str(work), ZAMIO_ENV_FILE=str(work / "empty.env"), ZAMIO_VENV=sys.prefix)
    (work / "empty.env").touch()
    if args.database_url:
        env["DATABASE_URL"] = args.database_url
    subprocess.run([sys.executable, str(ROOT / "bin" / "migrate"), "-q"], env=env, check=True)
    jobs = args.jobs or [j.script for j in read_crontab()] + ["zamio-status"]
    print(f"{'job':34} {'mean ms':>8} {'p95 ms':>8}  exit codes")
    for job in dict.fromkeys(jobs):
        cmd = [sys.executable, str(ROOT / "bin" / job), "-q"]
        samples = [timed(cmd, env) for _ in range(args.runs)]
        times = sorted(t for t, _ in samples)
        codes = sorted({c for _, c in samples})
        p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
        print(f"{job:34} {statistics.mean(times):8.0f} {p95:8.0f}  {codes}")
    print(f"{'second run while the lock is held':34} {lock_contention_ms(env):8.0f}")
    return 0


def lock_contention_ms(env: dict[str, str]) -> float:
    """Wall time of a run that finds its job's lock held (it must exit 75)."""
    from sqlalchemy import text

    from zamio.db.engine import open_engine
    from zamio.runtime.config import load_config

    engine = open_engine(load_config(env).database_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS test_items "
                          "(id INTEGER PRIMARY KEY, state TEXT NOT NULL DEFAULT 'todo')"))
        conn.execute(text("CREATE TABLE IF NOT EXISTS test_results "
                          "(item_id INTEGER NOT NULL UNIQUE, value INTEGER NOT NULL)"))
        conn.execute(text("INSERT INTO test_items (id) VALUES (1), (2), (3), (4), (5)"))
    job = str(ROOT / "tests" / "jobs" / "process-items")
    holder = subprocess.Popen([sys.executable, job, "--sleep", "1", "-q"], env=env)
    time.sleep(1.5)
    elapsed, code = timed([sys.executable, job, "-q"], env)
    holder.wait()
    assert code == 75, code
    return elapsed


if __name__ == "__main__":
    raise SystemExit(main())
