#!/usr/bin/env python3
"""Time bin/warm-cache over a large synthetic database (default: 1,000,000 plays on PostgreSQL).

Builds a fresh database, fills it with set-based INSERT ... SELECT (40 stations,
2,000 artists, 200 publishers, 20,000 tracks, N plays over 90 days, N/4
captures with detections, N/5 ledger entries), then runs the warm-up once per
family and once whole, and prints the figures.  Nothing is asserted.

Examples:
    python3 bench/warm_cache_bench.py                      # PostgreSQL at 127.0.0.1, 1,000,000 plays
    python3 bench/warm_cache_bench.py --database sqlite --plays 1000000
    python3 bench/warm_cache_bench.py --plays 100000 --keep
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from zamio.cache import FAMILIES, warm_family  # noqa: E402
from zamio.db.engine import open_engine, transaction  # noqa: E402
from zamio.db.url import parse_database_url  # noqa: E402

DAYS = 90
STATIONS, PUBLISHERS, ARTISTS, TRACKS = 40, 200, 2000, 20000


def sequence(dialect: str, count: int) -> str:
    """A FROM clause yielding n = 1..count."""
    if dialect == "postgresql":
        return f"generate_series(CAST(1 AS bigint), {count}) AS seq(n)"
    return f"(WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {count}) SELECT n FROM s) seq"


def moment(dialect: str, seconds_ago: str) -> str:
    if dialect == "postgresql":
        return f"(CAST(:now AS timestamptz) - ({seconds_ago}) * interval '1 second')"
    return f"(strftime('%Y-%m-%d %H:%M:%S', :epoch - ({seconds_ago}), 'unixepoch') || '.000000')"


def fill(engine, plays: int) -> None:
    d = engine.dialect.name
    now = datetime.now(UTC)
    params = {"now": now if d == "postgresql" else None, "epoch": int(now.timestamp())}
    ago = f"((n * 7907) % {DAYS * 86400})"
    at = moment(d, ago)
    statements = [
        f"INSERT INTO publishers (id, publisher_ref, name, created_at) SELECT n, 'P' || n, 'Publisher ' || n, "
        f"{moment(d, '0')} FROM {sequence(d, PUBLISHERS)}",
        f"INSERT INTO artists (id, artist_ref, name, publisher_id, created_at) SELECT n, 'A' || n, 'Artist ' || n, "
        f"CASE WHEN n % 3 = 0 THEN NULL ELSE n % {PUBLISHERS} + 1 END, {moment(d, '0')} FROM {sequence(d, ARTISTS)}",
        f"INSERT INTO tracks (id, track_ref, title, artist_id, publisher_id, created_at, updated_at) "
        f"SELECT n, 'T' || n, 'Track ' || n, n % {ARTISTS} + 1, CASE WHEN n % 5 = 0 THEN n % {PUBLISHERS} + 1 END, "
        f"{moment(d, '0')}, {moment(d, '0')} FROM {sequence(d, TRACKS)}",
        f"INSERT INTO stations (id, station_ref, name, station_class, created_at) SELECT n, 'S' || n, 'Station ' || n, "
        f"'class_a', {moment(d, '0')} FROM {sequence(d, STATIONS)}",
        f"INSERT INTO stream_links (station_id, url, last_success_at, created_at) SELECT n, "
        f"'http://s' || n || '.example/live', {moment(d, 'n * 60')}, {moment(d, '0')} FROM {sequence(d, STATIONS)}",
        # Track choice skewed towards low ids (a few hits, a long tail), like real airplay.
        f"INSERT INTO play_logs (id, play_key, station_id, track_id, recording_key, source, started_at, ended_at, "
        f"duration_seconds, status, detection_count, confidence_avg, created_at) "
        f"SELECT n, 'p' || n, n % {STATIONS} + 1, t, 'track:' || t, 'local', {at}, {at}, 120 + n % 180, "
        f"CASE WHEN n % 50 = 0 THEN 'superseded' ELSE 'final' END, 1, 0.5 + (n % 50) / 100.0, {at} "
        f"FROM (SELECT n, ((n * 104729) % {TRACKS}) * ((n * 31) % {TRACKS}) / {TRACKS} + 1 AS t "
        f"FROM {sequence(d, plays)}) chosen",
        f"INSERT INTO captures (id, capture_key, station_id, source, started_at, seconds, outcome, created_at) "
        f"SELECT n, 'c' || n, n % {STATIONS} + 1, 'stream', {at}, 20, "
        f"CASE WHEN n % 4 = 0 THEN 'no_match' ELSE 'match' END, {at} FROM {sequence(d, plays // 4)}",
        f"INSERT INTO detections (capture_id, station_id, detected_at, source, track_id, confidence, created_at) "
        f"SELECT n, n % {STATIONS} + 1, {at}, 'local', n % {TRACKS} + 1, 0.5 + (n % 50) / 100.0, {at} "
        f"FROM {sequence(d, plays // 4)} WHERE n % 4 <> 0",
        f"INSERT INTO royalty_ledger (entry_key, play_id, version, kind, recipient_type, recipient_ref, amount, "
        f"currency, created_at) "
        f"SELECT 'e' || n, n, 1, 'share', CASE WHEN n % 2 = 0 THEN 'artist' ELSE 'publisher' END, "
        f"CASE WHEN n % 2 = 0 THEN 'A' || (n % {ARTISTS} + 1) ELSE 'P' || (n % {PUBLISHERS} + 1) END, 1000 + n % 9000, "
        f"'GHS', {moment(d, '0')} FROM {sequence(d, plays // 5)}",
    ]
    for sql in statements:
        with transaction(engine) as conn:
            conn.execute(text(sql), params)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE")


def timed_warm(engine) -> dict[str, float]:
    def tx(read_only: bool = False):
        return transaction(engine, read_only=read_only)

    figures = {}
    now = datetime.now(UTC)
    for family in FAMILIES:
        started = time.perf_counter()
        keys = warm_family(tx, family, now)
        figures[f"{family} ({keys} keys)"] = time.perf_counter() - started
    return figures


def create_database(kind: str, folder: Path) -> tuple[str, callable]:
    if kind == "sqlite":
        return f"sqlite:///{folder / 'bench.db'}", lambda: shutil.rmtree(folder, ignore_errors=True)
    import psycopg2

    server = os.environ.get("ZAMIO_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    admin = parse_database_url(server, "ZAMIO_TEST_POSTGRES_URL")
    name = f"zamio_bench_{uuid.uuid4().hex[:8]}"
    conn = psycopg2.connect(admin.libpq_dsn)
    conn.autocommit = True
    conn.cursor().execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        conn.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return admin.with_database(name).text, drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--plays", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="zamio-bench-"))
    url, drop = create_database(args.database, folder)
    (folder / "bench.env").touch()
    env = {**os.environ, "DATABASE_URL": url, "ZAMIO_VAR_DIR": str(folder), "ZAMIO_ENV_FILE": str(folder / "bench.env")}
    try:
        measure(args, url, env)
    finally:
        if not args.keep:
            drop()


def measure(args: argparse.Namespace, url: str, env: dict[str, str]) -> None:
    subprocess.run([sys.executable, str(ROOT / "bin" / "migrate"), "-q"], env=env, check=True)
    engine = open_engine(url)
    started = time.perf_counter()
    fill(engine, args.plays)
    print(f"database: {args.database}, {args.plays:,} plays, filled in {time.perf_counter() - started:.1f}s")
    for label, seconds in timed_warm(engine).items():
        print(f"  warm {label:28} {seconds:7.2f}s")
    started = time.perf_counter()
    run = subprocess.run([sys.executable, str(ROOT / "bin" / "warm-cache")], env=env, capture_output=True, text=True)
    print(f"  bin/warm-cache end to end (exit {run.returncode}) {time.perf_counter() - started:7.2f}s")
    print("  " + run.stderr.strip().splitlines()[-1] if run.stderr.strip() else "")
    engine.dispose()


if __name__ == "__main__":
    main()
