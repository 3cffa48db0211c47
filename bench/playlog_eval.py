#!/usr/bin/env python3
"""Play logs against the truth: a simulated broadcast day through the real recognition path.

    bench/playlog_eval.py                                    # 3 stations, 24 h, SQLite in a temp dir
    bench/playlog_eval.py --database postgresql://postgres@127.0.0.1/zamio_eval --hours 24
    bench/playlog_eval.py --hours 3 --kills 5

Each station plays a known schedule: songs back to back, the same song an hour apart, A-B-A,
a song sped up 2 %, a jingle, talk, a song under talk-over at low SNR, a song cut short,
dead air, and a stream that dies for ten minutes.  Every two minutes a 20 s clip is cut from
the programme at the capture time and recognised with ``zamio.recognition.index.identify``
against the catalog's fingerprints stored by ``store_fingerprints``; captures and detections
rows are written as the scanner writes them (capture_key ``sim:<station>:<time>``).  Then
``bin/convert-matches`` runs, and its plays are compared with the schedule: precision and
recall of plays (same station and recording, starts within 5 s), start and duration errors.
It is also run as cron would (every two minutes with ``--as-of``), and killed with SIGKILL
at random instants and re-run, and each result is compared with the uninterrupted run.

The simulation and its scoring are ``tests/broadcast.py``, which ``tests/e2e/test_broadcast_day.py``
runs for a shorter day.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
from datetime import timedelta

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from tests.broadcast import (  # noqa: E402
    DAY,
    blame,
    digest,
    duplicates,
    final_plays,
    load,
    make_songs,
    reset_plays,
    run_as_cron,
    score,
    simulate,
    station_ids,
)
from zamio.db.url import parse_database_url  # noqa: E402


def convert_env(url: str, var_dir: str) -> dict[str, str]:
    os.makedirs(var_dir, exist_ok=True)
    env_file = os.path.join(var_dir, "eval.env")
    open(env_file, "a").close()
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DATABASE_URL": url, "ZAMIO_VAR_DIR": var_dir,
            "ZAMIO_ENV_FILE": env_file, "ZAMIO_VENV": sys.prefix, "HOME": var_dir}


def convert_command(hours: float, *extra: str) -> list[str]:
    as_of = (DAY + timedelta(hours=hours, minutes=30)).isoformat()
    return [sys.executable, os.path.join(REPO, "bin", "convert-matches"), "--as-of", as_of, "-q", *extra]


def kill_and_rerun(engine, url: str, var_dir: str, hours: float, kills: int, seed: int = 3) -> list[float]:
    """Start the converter and SIGKILL it at random instants ``kills`` times, then let it finish; return the delays."""
    import signal
    import subprocess
    import time

    from zamio.db.engine import transaction

    rnd = random.Random(seed)
    began = time.monotonic()
    subprocess.run(convert_command(hours, "--batch-rows", "60"), env=convert_env(url, var_dir), check=True)
    took = time.monotonic() - began  # kill within a run's length, however fast the machine
    with transaction(engine) as conn:
        reset_plays(conn)
    delays = []
    for _ in range(kills):
        proc = subprocess.Popen(convert_command(hours, "--batch-rows", "60"), env=convert_env(url, var_dir),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        delays.append(rnd.uniform(0.1, 0.95) * took)
        time.sleep(delays[-1])
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    subprocess.run(convert_command(hours, "--batch-rows", "60"), env=convert_env(url, var_dir), check=True)
    return delays


def _fresh_database(url: str) -> tuple[str, str | None]:
    """For a PostgreSQL server URL, create a scratch database on it; return (url, name to drop)."""
    server = parse_database_url(url, "--database")
    if server.is_sqlite:
        return url, None
    import uuid

    import psycopg2

    name = f"zamio_eval_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(server.libpq_dsn)
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    admin.close()
    return server.with_database(name).text, name


def _drop_database(url: str, name: str) -> None:
    import psycopg2

    admin = psycopg2.connect(parse_database_url(url, "--database").libpq_dsn)
    admin.autocommit = True
    admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def main() -> int:
    import subprocess
    import tempfile
    import time

    from zamio.db.engine import open_engine, transaction
    from zamio.runtime import migrate

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default=None, metavar="URL",
                        help="SQLite URL, or a PostgreSQL server URL (a scratch database is created and dropped); "
                             "default: SQLite in a temporary folder")
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--stations", type=int, default=3)
    parser.add_argument("--songs", type=int, default=16)
    parser.add_argument("--kills", type=int, default=5)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="playlog-eval-")
    url, scratch = _fresh_database(args.database or f"sqlite:///{work}/eval.db")
    try:
        engine = open_engine(url)
        migrate.migrate(engine)
        started = time.monotonic()
        sim = simulate(engine, args.hours, args.stations, make_songs(args.songs))
        write_heard_start = time.monotonic()
        load(engine, sim)
        outcomes = {o: sum(1 for h in sim.heard if h.outcome == o) for o in ("match", "no_match", "silence", "error")}
        print(f"simulated {args.stations} stations x {args.hours:g} h: {len(sim.heard)} captures {outcomes}, "
              f"catalog + recognition {write_heard_start - started:.1f} s")
        began = time.monotonic()
        subprocess.run(convert_command(args.hours), env=convert_env(url, work), check=True)
        print(f"bin/convert-matches, one run over the day: {time.monotonic() - began:.2f} s")
        with engine.connect() as conn:
            scores = score(final_plays(conn), sim.days, args.hours)
            print("\n".join(scores.lines() + blame(conn, scores, sim.heard, sim.days).lines(scores)))
            reference = digest(conn)
        with transaction(engine) as conn:
            reset_plays(conn)
        began = time.monotonic()
        run_as_cron(engine, station_ids(engine), args.hours)
        with engine.connect() as conn:
            same = digest(conn) == reference
        print(f"every two minutes ({args.hours * 30:.0f} runs per station): {time.monotonic() - began:.1f} s, "
              f"same plays as one run: {same}")
        with transaction(engine) as conn:
            reset_plays(conn)
        delays = kill_and_rerun(engine, url, work, args.hours, args.kills)
        with engine.connect() as conn:
            print(f"killed {len(delays)} times (after {', '.join(f'{d:.1f}' for d in delays)} s) and re-run: "
                  f"same plays as one run: {digest(conn) == reference}, duplicates: {duplicates(conn)}")
        engine.dispose()
    finally:
        if scratch:
            _drop_database(args.database, scratch)
    return 0


if __name__ == "__main__":
    sys.exit(main())
