#!/usr/bin/env python3
"""What the evidence of one station's month costs on disk, in the database: captures, detections, their links.

``bin/cleanup-old-data`` never deletes the capture and detection rows behind a play (play → ``play_detections``
→ detection → capture), and keeps a capture's audio file while the play's money may still be disputed
(docs/operations.md, *Evidence money depends on*).  The audio is measured by the snippet's size; this measures
the rows, on a scratch PostgreSQL database and a SQLite file, written by the code that writes them in production.

One station heard the way the scanner hears it: a 20-second capture every ``--interval`` seconds (120) for
``--days`` days (30).  Its programme: songs of 180 to 300 s (their catalog length) from a catalog of
``--tracks`` (400) recordings, one after another with 30 s of talk between them, and an advert break of 120 s
every half hour.  A capture starting
in a song is a local match of that song at its offset (as ``bin/scan-station-streams`` records it:
``zamio.scanning.records.record_capture``, a snippet of 321,454 bytes with its file's path, as an uploading
recorder sends); one starting in talk or an advert matched nothing (speech).  Then ``bin/convert-matches`` turns
the detections into plays, as the schedule does, and the database is vacuumed and analysed.

It prints, per table, rows and bytes (PostgreSQL: ``pg_total_relation_size``, heap, TOAST and indexes; SQLite:
the file's growth over the empty migrated file, as a whole) and the bytes per station per month, scaled to 30
days when ``--days`` is less.

    python3 bench/evidence_rows_bench.py --admin-url postgresql://postgres:postgres@127.0.0.1:5432/postgres
    python3 bench/evidence_rows_bench.py --days 3      # small
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from royalty_bench import ADMIN_URL, load_average, server_facts  # noqa: E402
from scratch_postgres import scratch_database  # noqa: E402
from sqlalchemy import Engine, text  # noqa: E402

from zamio.db.engine import open_engine, transaction  # noqa: E402
from zamio.recognition.match import MatchResult  # noqa: E402
from zamio.runtime.migrate import migrate  # noqa: E402
from zamio.scanning.outcomes import Heard  # noqa: E402
from zamio.scanning.records import CaptureFacts, record_capture  # noqa: E402

DATABASE_PREFIX = "zamio_bench_evidence_"
START = datetime(2026, 3, 1, tzinfo=UTC)
CAPTURE_SECONDS = 20.0
SNIPPET_BYTES = 321_454  # a 20 s MP3 at 128 kbit/s as a recorder uploads it (tests/e2e/test_cleanup_evidence.py)
TABLES = ("captures", "detections", "play_detections", "play_logs")
EVIDENCE = ("captures", "detections", "play_detections")


def programme(days: int, tracks: int, seed: int = 11) -> Iterator[tuple[datetime, datetime, int | None]]:
    """The station's airtime as (start, end, track number or None for talk and adverts), back to back."""
    rng = random.Random(seed)
    at, end = START, START + timedelta(days=days)
    next_break = START + timedelta(minutes=30)
    while at < end:
        if at >= next_break:
            yield at, at + timedelta(seconds=120), None
            at, next_break = at + timedelta(seconds=120), next_break + timedelta(minutes=30)
            continue
        track = rng.randrange(tracks)
        song = timedelta(seconds=length(track))
        yield at, at + song, track
        yield at + song, at + song + timedelta(seconds=30), None
        at += song + timedelta(seconds=30)


def length(track: int) -> int:
    """A recording's length in seconds, 180 to 300, as the catalog gives it."""
    return 180 + track * 37 % 121


def catalog(work: Path, tracks: int) -> list[str]:
    """The catalog files: one station, ``tracks`` recordings with ISRCs; return bin/import-catalog's options."""
    (work / "stations.csv").write_text("station_ref,name,city,region,station_class,stream_url,timezone\n"
                                       "joy,Joy FM,Accra,Greater Accra,class_a,,Africa/Accra\n")
    (work / "tracks.csv").write_text("track_ref,title,artist,audio_path,isrc,duration_seconds\n" + "".join(
        f"t{n},Song {n},Artist {n % 50},,GHA01{26_00000 + n:07d},{length(n)}\n" for n in range(tracks)))
    return ["--stations", str(work / "stations.csv"), "--tracks", str(work / "tracks.csv")]


def script(url: str, work: Path, name: str, *args: str) -> None:
    env = dict(os.environ, DATABASE_URL=url, ZAMIO_VAR_DIR=str(work / "var"), ZAMIO_ENV_FILE=str(work / "empty.env"),
               ZAMIO_VENV=sys.prefix)
    (work / "empty.env").touch()
    result = subprocess.run([sys.executable, str(ROOT / "bin" / name), *args], env=env, capture_output=True,
                            text=True)
    if result.returncode != 0:
        raise SystemExit(f"{name} exited {result.returncode}: {result.stdout}{result.stderr}")


def hear(engine: Engine, days: int, tracks: int, interval: float) -> tuple[int, int]:
    """Record every capture of the programme, a day per transaction; return (captures, detections)."""
    with engine.connect() as conn:
        station = int(conn.execute(text("SELECT id FROM stations WHERE station_ref = 'joy'")).scalar_one())
        ids = {int(ref[1:]): int(i) for i, ref in conn.execute(text("SELECT id, track_ref FROM tracks"))}
    airtime = list(programme(days, tracks))
    audio = bytes(SNIPPET_BYTES)
    heard = detected = 0
    slot = 0
    for day in range(days):
        with transaction(engine) as conn:
            day_end = START + timedelta(days=day + 1)
            while (at := START + timedelta(seconds=interval * heard)) < day_end:
                while airtime[slot][1] <= at:
                    slot += 1
                begins, _ends, track = airtime[slot]
                facts = CaptureFacts(station_id=station, source="snippet", started_at=at,
                                     audio=audio[:-8] + heard.to_bytes(8, "big"), chunk_id=f"joy-{heard:07d}",
                                     codec="mp3", audio_path=f"snippets/joy/{at:%Y/%m/%d}/joy-{heard:07d}.mp3",
                                     audio_host="recorder-1", seconds=CAPTURE_SECONDS)
                if track is None:
                    outcome = Heard("no_match", CAPTURE_SECONDS, content="speech", music_probability=0.08)
                else:
                    offset = (at - begins).total_seconds()
                    outcome = Heard("match", CAPTURE_SECONDS, local=MatchResult(
                        ids[track], offset, 1.0, 142, 118, 9, 31.5, 0.9999, 1460))
                detected += record_capture(conn, facts, outcome)[1]
                heard += 1
    return heard, detected


def postgres_sizes(engine: Engine) -> dict[str, tuple[int, int]]:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
        return {table: (int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()),
                        int(conn.execute(text(f"SELECT pg_total_relation_size('{table}')")).scalar_one()))
                for table in TABLES}


def sqlite_rows(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {table: int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()) for table in TABLES}


def run_one(url: str, engine: Engine, args: argparse.Namespace, work: Path) -> tuple[int, int]:
    migrate(engine)
    script(url, work, "import-catalog", *catalog(work, args.tracks))
    captured = hear(engine, args.days, args.tracks, args.interval)
    end = START + timedelta(days=args.days, hours=1)
    script(url, work, "convert-matches", "--as-of", end.isoformat())
    return captured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--tracks", type=int, default=400)
    parser.add_argument("--interval", type=float, default=120.0, help="seconds between captures (default 120)")
    parser.add_argument("--admin-url", default=ADMIN_URL)
    args = parser.parse_args()
    scale = 30 / args.days
    print(f"conditions: one station, {args.days} days, a 20 s capture every {args.interval:g} s, {args.tracks} "
          f"recordings; load average {load_average()} at start")
    with scratch_database(args.admin_url, DATABASE_PREFIX) as (url, engine):
        print(f"PostgreSQL: {server_facts(engine)}")
        with tempfile.TemporaryDirectory(prefix="zamio-evidence-bench-") as folder:
            captured, detected = run_one(url, engine, args, Path(folder))
        sizes = postgres_sizes(engine)
    print(f"  {captured:,} captures recorded, {detected:,} of them detections of a song")
    for table, (rows, size) in sizes.items():
        print(f"  {table}: {rows:,} rows, {size:,} bytes ({size / max(rows, 1):.0f} a row with its indexes)")
    evidence = sum(sizes[t][1] for t in EVIDENCE)
    print(f"  evidence rows (captures, detections, play_detections): {evidence:,} bytes; "
          f"{evidence * scale / 1e6:.1f} MB per station per month")
    with tempfile.TemporaryDirectory(prefix="zamio-evidence-bench-") as folder:
        work = Path(folder)
        path = work / "zamio.db"
        url = f"sqlite:///{path}"
        engine = open_engine(url)
        migrate(engine)
        empty = path.stat().st_size
        run_one(url, engine, args, work)
        rows = sqlite_rows(engine)
        engine.dispose()
        with closing(sqlite3.connect(path, isolation_level=None)) as raw:  # VACUUM runs outside a transaction
            raw.execute("VACUUM")
        grown = path.stat().st_size - empty
    print(f"SQLite: the file grew by {grown:,} bytes ({', '.join(f'{t} {n:,}' for t, n in rows.items())} rows; the "
          f"catalog's {args.tracks} tracks included): {grown * scale / 1e6:.1f} MB per station per month")
    print(f"load average {load_average()} at the end; {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")


if __name__ == "__main__":
    main()
