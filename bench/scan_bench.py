"""How many stations fit in one two-minute scan tick, and how well they are recognised.

    python3 bench/scan_bench.py --stations 25 50 100 --pace fast
    python3 bench/scan_bench.py --stations 500 --pace realtime --concurrency 192
    python3 bench/scan_bench.py --stations 500 --pace realtime --concurrency 192 --compare-root /tmp/zamio-old
    python3 bench/scan_bench.py --stations 50 --database-url postgresql://postgres@127.0.0.1:5432/postgres

The catalog is the real-music corpus (``/tmp/dev/catalog``, 24 tracks), fingerprinted
into a fresh database.  Each simulated station is an Icecast-style MP3 128 kbit/s stream
on 127.0.0.1 playing one catalog track from its own starting point (station i plays
track i mod 24 from ``37 i`` seconds, wrapped), so the truth of every capture is known.
One tick is one real run of ``bin/scan-station-streams`` with 20 s captures.

``--pace fast`` serves the streams as fast as the scanner reads them: the run then
measures the CPU one station costs (capture, ffmpeg decode, fingerprint, lookup,
match, writes), counted as the scanner process's and its ffmpeg children's CPU.
``--pace realtime`` paces every stream at real time after a 64 KiB connect burst, as
Icecast does, and runs with the tick's default time limit (96 s): the stations captured
are the ones that fit.  The stream server runs in this process; its own CPU is printed
apart (on a real deployment the stations pay it).

``--compare-root DIR`` runs the same tick first with the scanner of another checkout
(an older version, say), then with this one, each on a fresh copy of the catalog, so
the two are measured side by side under the same load.  ``burst_s`` is the median
start correction recorded for the connect burst (64 KiB at 16,000 bytes/s is 4.1 s).
The fingerprinted SQLite catalog is built once per working folder and copied per run
(rebuilt when the fingerprint, recognition or schema code changes; a checkout given
to ``--compare-root`` must recognise with the same fingerprint code, or it matches
nothing).  Each run's folder keeps the scanner's ``-vv`` log (``scan.log``): every
5 s the captures in flight, those waiting to be heard and the hearing pace.
``cores_used`` is the scanner's CPU over the wall time: what it got of a machine
that may be shared.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select

from tests.streamserver import AudioRoute, StreamServer
from zamio.db.engine import open_engine, utcnow
from zamio.db.tables import artists, captures, detections, stations, stream_links, tracks
from zamio.db.url import parse_database_url
from zamio.recognition import audio, fingerprint
from zamio.recognition.index import store_fingerprints

CORPUS = Path("/tmp/dev/catalog")
MP3_BYTES_PER_SECOND = 16_000  # 128 kbit/s
BURST_BYTES = 64 * 1024  # Icecast's usual connect burst
CAPTURE_SECONDS = 20
EXCERPT_SECONDS = 60  # served per station, looped
OFFSET_STEP_SECONDS = 37
TICK_CORE_SECONDS = 2 * 96  # two cores for the 96 s a tick may run


def encode_catalog(workdir: Path) -> list[tuple[str, bytes, float]]:
    """Encode each corpus track to MP3 128k 44.1 kHz once; return (name, mp3, seconds)."""
    out = []
    for wav in sorted(CORPUS.glob("*.wav")):
        mp3 = workdir / (wav.stem + ".mp3")
        if not mp3.exists():
            subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", str(wav), "-ar", "44100",
                            "-ac", "2", "-b:a", "128k", str(mp3)], check=True)
        out.append((wav.stem, mp3.read_bytes(), os.path.getsize(mp3) / MP3_BYTES_PER_SECOND))
    return out


def build_database(url: str, catalog_files: list[Path]) -> dict[str, int]:
    """Migrate ``url`` and fingerprint the corpus into it; return track name -> id."""
    env = {**os.environ, "DATABASE_URL": url}
    subprocess.run([sys.executable, str(ROOT / "bin" / "migrate"), "-q"], check=True, env=env)
    engine, now, ids = open_engine(url), utcnow(), {}
    with engine.begin() as conn:
        artist = conn.execute(insert(artists).values(artist_ref="corpus", name="Corpus", created_at=now)
                              .returning(artists.c.id)).scalar_one()
        for path in catalog_files:
            samples = audio.decode_file(path)
            track = conn.execute(insert(tracks).values(track_ref=path.stem, title=path.stem, artist_id=artist,
                                                       created_at=now, updated_at=now)
                                 .returning(tracks.c.id)).scalar_one()
            store_fingerprints(conn, track, fingerprint.fingerprint(samples), path.stem, samples.size / 8000)
            ids[path.stem] = track
    engine.dispose()
    return ids


def catalog_database(workdir: Path, run_dir: Path) -> tuple[str, dict[str, int]]:
    """A copy of the fingerprinted SQLite catalog in ``run_dir``, built once per source version."""
    sources = [ROOT / "zamio" / "recognition" / "fingerprint.py", ROOT / "zamio" / "recognition" / "index.py",
               *sorted((ROOT / "sql").glob("*.sql"))]
    key = hashlib.sha256(b"".join(path.read_bytes() for path in sources)).hexdigest()[:16]
    template, ids_file = workdir / f"catalog-{key}.db", workdir / f"catalog-{key}.json"
    if not template.exists() or not ids_file.exists():
        partial = workdir / f"catalog-{key}.building.db"
        partial.unlink(missing_ok=True)
        ids = build_database(f"sqlite:///{partial}", sorted(CORPUS.glob("*.wav")))
        ids_file.write_text(json.dumps(ids))
        partial.rename(template)
    target = run_dir / "zamio.db"
    shutil.copyfile(template, target)
    return f"sqlite:///{target}", json.loads(ids_file.read_text())


def station_plan(count: int, catalog: list[tuple[str, bytes, float]]) -> list[tuple[str, bytes, float]]:
    """(track name, MP3 bytes served, start offset in seconds) of each station."""
    plan = []
    for i in range(count):
        name, mp3, seconds = catalog[i % len(catalog)]
        start = (OFFSET_STEP_SECONDS * i) % max(1.0, seconds - EXCERPT_SECONDS)
        first = int(start * MP3_BYTES_PER_SECOND)
        plan.append((name, mp3[first:first + EXCERPT_SECONDS * MP3_BYTES_PER_SECOND], start))
    return plan


def add_stations(url: str, server: StreamServer, plan) -> dict[int, tuple[str, float]]:
    engine, now, truth = open_engine(url), utcnow(), {}
    with engine.begin() as conn:
        for i, (name, _, start) in enumerate(plan):
            station = conn.execute(insert(stations).values(station_ref=f"bench-{i}", name=f"Bench {i}",
                                                           station_class="class_b", created_at=now)
                                   .returning(stations.c.id)).scalar_one()
            conn.execute(insert(stream_links).values(station_id=station, url=server.url(f"/s{i}"), created_at=now))
            truth[station] = (name, start)
    engine.dispose()
    return truth


def run_tick(url: str, workdir: Path, concurrency: int, realtime: bool, scanner_root: Path) -> tuple[float, float, str]:
    """Run one scan with ``scanner_root``'s scanner; return (wall seconds, CPU seconds of
    the scanner and its children, stderr)."""
    env = {**os.environ, "DATABASE_URL": url, "ZAMIO_VAR_DIR": str(workdir / "var"),
           "ZAMIO_ENV_FILE": str(workdir / "empty.env"), "SCAN_ALLOW_PRIVATE_ADDRESSES": "true"}
    args = ["--capture-seconds", str(CAPTURE_SECONDS), "--concurrency", str(concurrency), "--only", "streams", "-vv"]
    if not realtime:
        args += ["--max-seconds", "100000"]
    before, started = resource.getrusage(resource.RUSAGE_CHILDREN), time.monotonic()
    done = subprocess.run([sys.executable, str(scanner_root / "bin" / "scan-station-streams"), *args], env=env,
                          capture_output=True, text=True)
    wall, after = time.monotonic() - started, resource.getrusage(resource.RUSAGE_CHILDREN)
    (workdir / "scan.log").write_text(done.stderr)  # -vv: the stages' load every 5 s
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stderr


def score(url: str, truth: dict[int, tuple[str, float]], ids: dict[str, int]) -> dict[str, float]:
    """Compare detections with what each station played."""
    engine = open_engine(url)
    with engine.connect() as conn:
        caps = list(conn.execute(select(captures.c.id, captures.c.station_id, captures.c.outcome,
                                        captures.c.burst_seconds)))
        dets = {r.capture_id: r for r in conn.execute(select(detections))}
    engine.dispose()
    clean = [c for c in caps if c.outcome != "error"]
    right = [c for c in clean if c.id in dets and dets[c.id].track_id == ids[truth[c.station_id][0]]]
    wrong = [c for c in clean if c.id in dets and dets[c.id].track_id != ids[truth[c.station_id][0]]]
    near = [c for c in right if abs(dets[c.id].offset_seconds - truth[c.station_id][1]) < 6]
    return {"captures": len(caps), "errors": len(caps) - len(clean), "correct": len(right), "wrong": len(wrong),
            "accuracy_pct": round(100 * len(right) / max(1, len(clean)), 2),
            "offset_within_6s_pct": round(100 * len(near) / max(1, len(right)), 2),
            "burst_s": _median([c.burst_seconds for c in clean if c.burst_seconds is not None])}


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 2) if values else None


def bench_one(count: int, args: argparse.Namespace, catalog, workdir: Path, scanner_root: Path) -> dict:
    run_dir = Path(tempfile.mkdtemp(prefix=f"n{count}-", dir=workdir))
    (run_dir / "empty.env").touch()
    if args.database_url:
        url = _scratch_postgres(args.database_url, run_dir.name)
        ids = build_database(url, sorted(CORPUS.glob("*.wav")))
    else:
        url, ids = catalog_database(workdir, run_dir)
    plan = station_plan(count, catalog)
    realtime = args.pace == "realtime"
    routes = {f"/s{i}": AudioRoute(mp3, byte_rate=MP3_BYTES_PER_SECOND, pace=1.0 if realtime else None,
                                   burst_bytes=BURST_BYTES) for i, (_, mp3, _) in enumerate(plan)}
    with StreamServer(routes) as server:
        truth = add_stations(url, server, plan)
        server_cpu = time.process_time()
        wall, cpu, stderr = run_tick(url, run_dir, args.concurrency, realtime, scanner_root)
        server_cpu = time.process_time() - server_cpu
    result = {"scanner": "this" if scanner_root == ROOT else str(scanner_root),
              "stations": count, "pace": args.pace, "concurrency": args.concurrency,
              "database": "postgresql" if args.database_url else "sqlite", "wall_s": round(wall, 1),
              "scanner_cpu_s": round(cpu, 1),
              "server_cpu_s": round(server_cpu, 1), **score(url, truth, ids),
              "summary": stderr.strip().splitlines()[-1] if stderr.strip() else "",
              "hearing": next((line.split("hearing: ", 1)[1] for line in stderr.splitlines()
                               if "hearing: " in line), "")}
    result["cores_used"] = round(cpu / max(wall, 1e-9), 2)  # what the scanner got of the (shared) machine
    result["cpu_per_capture_s"] = round(cpu / max(1, result["captures"]), 3)
    result["stations_per_tick_by_cpu"] = int(TICK_CORE_SECONDS / max(1e-9, result["cpu_per_capture_s"]))
    return result


def _scratch_postgres(admin_url: str, name: str) -> str:
    import psycopg2

    db = f"zamio_bench_{name.replace('-', '_')}"
    admin = parse_database_url(admin_url, "--database-url")
    conn = psycopg2.connect(admin.libpq_dsn)
    conn.autocommit = True
    conn.cursor().execute(f'CREATE DATABASE "{db}"')
    conn.close()
    return admin.with_database(db).text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stations", type=int, nargs="+", default=[25, 50, 100])
    parser.add_argument("--pace", choices=("fast", "realtime"), default="fast")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--database-url", help="a PostgreSQL admin URL (scratch databases are created)")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "zamio-scan-bench")
    parser.add_argument("--compare-root", type=Path, metavar="DIR",
                        help="also run each tick with the scanner of this checkout, first")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    catalog = encode_catalog(args.workdir)
    roots = [args.compare_root.resolve(), ROOT] if args.compare_root else [ROOT]
    for count in args.stations:
        for root in roots:
            print(json.dumps(bench_one(count, args, catalog, args.workdir, root)), flush=True)


if __name__ == "__main__":
    main()
