#!/usr/bin/env python3
"""Real-music benchmark of zamio's recognition, through the database layer (a script, not a test).

    bench/fingerprint_bench.py --database sqlite --database postgresql://postgres@127.0.0.1:5432/postgres
    bench/fingerprint_bench.py --database postgresql://postgres@127.0.0.1:5432/postgres --scale 10000
    bench/fingerprint_bench.py --database postgresql://... --scale 1000 --scale 100000 --side-by-side --cold
    bench/fingerprint_bench.py --database sqlite --paired 100
    bench/fingerprint_bench.py --memory                      # the engine alone, index in memory

1. ``--database URL`` (repeatable; ``sqlite`` for a scratch file): runs the shared
   protocol (``/work/shared/bench/run_bench.py``) with
   ``bench.zamio_adapter:ZamioDatabaseFingerprinter``: tracks stored by
   ``zamio.recognition.index.store_fingerprints`` in a freshly migrated database, every query
   through ``zamio.recognition.index.identify`` on a warm connection.  Index size is
   ``pg_total_relation_size('fingerprints')`` (PostgreSQL) or the SQLite file; indexing
   CPU includes the PostgreSQL backend's.  Prints report.py's table beside the anchors'.
2. ``--scale N``: the same database grown to N tracks: the DEV catalog plus synthetic
   tracks of ``SYNTHETIC_TRACK_SECONDS`` whose rows draw each hash field from the DEV
   catalog's distribution of that field (``synthetic_hashes``), bulk-loaded; then
   ``--scale-queries`` queries of 10 s (all conditions, positives and negatives) give
   latency mean/p95, top-1 and false positives at that size.  ``--side-by-side`` grows
   every ``--scale`` size at once and answers each query by each in turn (the machine's
   load then falls on all alike); ``--cold`` answers each query cold first (PostgreSQL on
   this host: the database's files dropped from the kernel's page cache).
3. ``--paired N``: N 10 s queries answered alternately by the in-memory index, the
   database keeping nothing between queries, and the database with the pair cache a
   scan run keeps (``--cache-mb``), in one process: the database's added latency and
   the cache's saving, robust to other load on the machine.

The corpus comes from ``/work/shared/bench/get-dev-corpus.sh /work/corpus`` (``ln -s /work/corpus /tmp/dev``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from zamio.db.url import SQLITE, parse_database_url  # noqa: E402
from zamio.recognition.fingerprint import FINGERPRINT_VERSION  # noqa: E402
from zamio.recognition.index import copy_payload, copy_rows_postgres  # noqa: E402

SHARED_BENCH = os.environ.get("SHARED_BENCH", "/work/shared/bench")
MEMORY_ADAPTER = "bench.zamio_adapter:ZamioFingerprinter"
DATABASE_ADAPTER = "bench.zamio_adapter:ZamioDatabaseFingerprinter"
SYNTHETIC_TRACK_SECONDS = 210.0  # a typical song
ROWS_PER_AUDIO_SECOND = 20.1  # measured on the DEV catalog (fingerprint v2)
LOAD_CHUNK_TRACKS = 500


def catalog_paths(corpus: str) -> tuple[list[str], float]:
    """Return the catalog WAV paths of a prepared corpus and their total seconds."""
    manifest = json.load(open(os.path.join(corpus, "manifest.json")))
    tracks = [t for t in manifest["tracks"] if t["split"] == "catalog"]
    return sorted(os.path.join(corpus, t["file"]) for t in tracks), sum(t["duration"] for t in tracks)


def warm_catalog(corpus: str, database: str, workdir: str, beside: tuple[str, ...] = ()):
    """Index the corpus's catalog, and those of the ``beside`` corpora, into ``database`` and read every
    track's pairs into the pair cache (warm); return the fingerprinter and the track id of each catalog
    file of ``corpus``, by its path in the corpus."""
    import numpy as np

    from bench.zamio_adapter import ZamioDatabaseFingerprinter
    from zamio.recognition.index import pairs_of

    paths = [path for folder in (corpus, *beside) for path in catalog_paths(folder)[0]]
    system = ZamioDatabaseFingerprinter(workdir, database=database, cache_mb="256")
    system.index(paths)
    mine = set(catalog_paths(corpus)[0])
    truth_of = {os.path.relpath(path, corpus): track_id for track_id, path in system.track_paths.items()
                if path in mine}
    with system.conn.begin():
        pairs_of(system.conn, system.cache)(np.array(sorted(system.track_paths), np.int32))
    return system, truth_of


def short_name(database: str) -> str:
    """The kind of a ``--database`` (``sqlite`` for a scratch file, or a URL): sqlite or postgresql."""
    return SQLITE if database == SQLITE else parse_database_url(database, "--database").kind


def run_protocol(corpus: str, out: str, workdir: str, adapter: str, params: list[str],
                 max_queries: int = 0) -> str:
    """Run run_bench.py on the corpus with ``adapter``; return the result JSON path."""
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    cmd = [sys.executable, os.path.join(SHARED_BENCH, "run_bench.py"), "--system", adapter, "--corpus", corpus,
           "--workdir", workdir, "--out", out, *[f"--param={p}" for p in params]]
    if max_queries:
        cmd += ["--max-queries", str(max_queries)]
    subprocess.run(cmd, check=True, cwd=REPO, env=env)
    return out


def print_report(results: list[str], out_dir: str) -> None:
    """Write and print report.py's tables for the anchors and ``results``."""
    anchors = os.path.join(SHARED_BENCH, "results", "anchors")
    jsons = sorted(os.path.join(anchors, f) for f in os.listdir(anchors) if f.endswith("_dev.json"))
    out = os.path.join(out_dir, "report.md")
    subprocess.run([sys.executable, os.path.join(SHARED_BENCH, "report.py"), *jsons, *results, "--details",
                    "--out", out], check=True)
    print(open(out).read())


def ten_second_queries(corpus: str, n: int) -> list[dict]:
    """Return ``n`` of the corpus's 10 s queries spread evenly over conditions and tracks."""
    queries = json.load(open(os.path.join(corpus, "queries", "queries.json")))["queries"]
    tens = [q for q in queries if q["length"] == 10.0]
    step = max(1, len(tens) // n)
    return tens[::step][:n]


def paired_latency(corpus: str, database: str, n: int, workdir: str, cache_mb: int) -> dict:
    """Answer ``n`` 10 s queries alternately in memory, through ``database`` keeping no
    candidates between queries, and through ``database`` with a ``cache_mb`` pair cache
    (as a scan run); return mean/p95 latency (ms) of each and the answers that differ."""
    from bench.zamio_adapter import ZamioDatabaseFingerprinter, ZamioFingerprinter

    paths, _ = catalog_paths(corpus)
    memory, db = ZamioFingerprinter(os.path.join(workdir, "mem")), ZamioDatabaseFingerprinter(
        os.path.join(workdir, "db"), database=database, cache_mb=str(cache_mb))
    memory.index(paths)
    db.index(paths)
    kept = db.cache
    systems = (("memory", memory, None), ("database, nothing kept", db, None), ("database", db, kept))
    times: dict[str, list[float]] = {name: [] for name, _, _ in systems}
    differ = 0
    for q in ten_second_queries(corpus, n):
        path = os.path.join(corpus, "queries", q["file"])
        answers = []
        for name, system, cache in systems:
            if system is db:
                db.cache = cache
            t0 = time.perf_counter()
            answers.append(system.query(path)[0])
            times[name].append(time.perf_counter() - t0)
        differ += len(set(answers)) > 1
    db.close()
    return {name: {"mean_ms": 1000 * float(np.mean(t)), "p95_ms": 1000 * float(np.percentile(t, 95))}
            for name, t in times.items()} | {"queries": n, "answers_differ": differ, "system": short_name(database),
                                             "cache_hits": kept and kept.hits, "cache_misses": kept and kept.misses}


def scaled_runs(corpus: str, database: str, sizes: list[int], n_queries: int, workdir: str, cache_mb: int,
                cold_queries: bool = False) -> list[dict]:
    """Grow a database to each of ``sizes`` tracks (DEV catalog + synthetic rows), all at
    once, and measure 10 s queries against them; return the figures of each.  Every query
    is answered by each database in turn, so that the load of the machine falls on all
    alike.  Each answer is cold first if ``cold_queries`` (PostgreSQL on this machine: the
    database's files dropped from the kernel's page cache, nothing kept), then warm
    keeping nothing, then with the run's cache."""
    from bench.zamio_adapter import evict

    grown = [grow(corpus, database, tracks, f"{workdir}/{tracks}", cache_mb) for tracks in sizes]
    times: list[dict[str, list]] = [{"records": [], "nothing_kept": [], "cold": [], "rows": [], "load": []}
                                    for _ in sizes]
    kept = [system.cache for system, _ in grown]
    for q in ten_second_queries(corpus, n_queries):
        path = os.path.join(corpus, "queries", q["file"])
        for (system, _), cache, measured in zip(grown, kept, times, strict=True):
            system.cache = None  # the same query keeping nothing between queries, for comparison
            if cold_queries:  # first from disk: no page of the database in the kernel's cache
                evict(system.engine)
                measured["cold"].append(timed(system, path))
            measured["nothing_kept"].append(timed(system, path))
            system.cache = cache
            t0 = time.perf_counter()
            match = system.query(path)[0]
            measured["records"].append((q, match, time.perf_counter() - t0))
            measured["rows"].append(nominal_rows(system, path))  # after the timed answers
            measured["load"].append(os.getloadavg()[0])
    _, audio_s = catalog_paths(corpus)
    results = []
    for tracks, (system, loaded), cache, measured in zip(sizes, grown, kept, times, strict=True):
        system.close()
        results.append(summarise_scaled(measured["records"], corpus, tracks, *loaded, short_name(database), audio_s)
                       | {"cache_mb": cache_mb, "cache_hits": cache and cache.hits,
                          "cache_misses": cache and cache.misses, "side_by_side_with": sizes,
                          **mean_p95("nothing_kept", measured["nothing_kept"]),
                          "nominal_lookup_rows_mean": round(float(np.mean(measured["rows"])), 1),
                          "nominal_lookup_rows_p95": round(float(np.percentile(measured["rows"], 95)), 1),
                          "load_average_mean": round(float(np.mean(measured["load"])), 2),
                          "load_average_max": round(float(np.max(measured["load"])), 2),
                          **(mean_p95("cold", measured["cold"]) if cold_queries else {})})
    return results


def grow(corpus: str, database: str, tracks: int, workdir: str, cache_mb: int):
    """Return a ``ZamioDatabaseFingerprinter`` holding the DEV catalog and synthetic tracks up
    to ``tracks``, and (synthetic rows, bytes, seconds the load took)."""
    from bench.zamio_adapter import ZamioDatabaseFingerprinter, analyse, index_bytes

    os.makedirs(workdir, exist_ok=True)
    paths, _ = catalog_paths(corpus)
    system = ZamioDatabaseFingerprinter(workdir, database=database, cache_mb=str(cache_mb))
    system.index(paths)
    t0 = time.perf_counter()
    rows = load_synthetic(system.engine, tracks - len(paths), seed=tracks)
    load_s = time.perf_counter() - t0
    analyse(system.engine)
    return system, (rows, index_bytes(system.engine), load_s)


def nominal_rows(system, path: str) -> int:
    """The rows the first pass's triplet lookup (nominal speed) returns for a query: what
    grows with the catalog."""
    from zamio.recognition import audio
    from zamio.recognition.fingerprint import query_fingerprint
    from zamio.recognition.index import make_lookup, nominal_only

    keys = np.unique(nominal_only(query_fingerprint(audio.decode_file(path))).triplets.hashes)
    with system.conn.begin():
        return int(make_lookup(system.conn)(keys)[0].size)


def timed(system, path: str) -> float:
    t0 = time.perf_counter()
    system.query(path)
    return time.perf_counter() - t0


def mean_p95(name: str, seconds: list[float]) -> dict:
    return {f"{name}_mean_ms": round(1000 * float(np.mean(seconds)), 1),
            f"{name}_p95_ms": round(1000 * float(np.percentile(seconds, 95)), 1)}


def load_synthetic(engine, count: int, seed: int) -> int:
    """Bulk-load ``count`` synthetic tracks (ids from 10,000,000) whose hashes are drawn
    from the rows already stored, in the layout ``store_fingerprints`` writes (PostgreSQL:
    the looked-up rows in ``fingerprints``, each whole set packed in ``fingerprint_sets``);
    return the number of hashes loaded."""
    from zamio.recognition.index import looked_up, stored_columns

    with engine.connect() as conn:
        stored = stored_keys(conn)
    rng = np.random.default_rng(seed)
    _drop_indexes(engine)  # a bulk load then one index build is several times faster
    per_track = int(SYNTHETIC_TRACK_SECONDS * ROWS_PER_AUDIO_SECOND)
    max_frame = int(SYNTHETIC_TRACK_SECONDS / 0.032)
    loaded = 0
    for start in range(0, count, LOAD_CHUNK_TRACKS):
        tracks = min(LOAD_CHUNK_TRACKS, count - start)
        n = tracks * per_track
        track_ids = 10_000_000 + start + np.arange(n, dtype=np.int32) // per_track
        hashes, frames = stored_columns(synthetic_hashes(stored, n, rng),
                                        rng.integers(0, max_frame, n, dtype=np.int32), FINGERPRINT_VERSION)
        with engine.begin() as conn:
            _register_synthetic(conn, 10_000_000 + start, tracks, hashes, frames, per_track)
            if engine.dialect.name == "sqlite":
                conn.connection.dbapi_connection.executemany(
                    "INSERT INTO fingerprints (hash, track_id, frame, version) VALUES (?, ?, ?, ?)",
                    zip(hashes.tolist(), track_ids.tolist(), frames.tolist(), [FINGERPRINT_VERSION] * n, strict=True))
            else:
                keep = looked_up(hashes, FINGERPRINT_VERSION)
                copy_rows_postgres(conn, copy_payload(track_ids[keep], hashes[keep], frames[keep],
                                                      FINGERPRINT_VERSION))
        loaded += n
        print(f"  loaded {start + tracks} / {count} synthetic tracks", file=sys.stderr, flush=True)
    _create_indexes(engine)
    return loaded


def stored_keys(conn) -> np.ndarray:
    """Every stored hash of the DEV catalog (version 3: lookup keys, the extra bits read
    back from the frames), held notes included (PostgreSQL: from the packed sets)."""
    from zamio.recognition.index import key_rows, unpack_set

    if conn.dialect.name == "sqlite":
        rows = np.array(conn.exec_driver_sql("SELECT hash, frame FROM fingerprints").all(), np.int32).reshape(-1, 2)
        hashes, frames = rows[:, 0], rows[:, 1]
    else:
        packed = [unpack_set(bytes(v)) for v in conn.exec_driver_sql("SELECT packed FROM fingerprint_sets").scalars()]
        hashes, frames = (np.concatenate([p[i] for p in packed]) for i in (0, 1))
    return np.asarray(key_rows(hashes, frames, FINGERPRINT_VERSION)[0], np.int64)


def _register_synthetic(conn, first_id: int, count: int, hashes: np.ndarray, frames: np.ndarray,
                        rows_per_track: int) -> None:
    """Make the synthetic tracks catalog tracks with a fingerprint set, as every track of a
    real catalog is: recognition may then keep them in its pair cache like any other."""
    from sqlalchemy import insert, select

    from zamio.db.engine import utcnow
    from zamio.db.tables import fingerprint_sets, tracks
    from zamio.recognition.index import pack_set

    now = utcnow()
    postgresql = conn.dialect.name == "postgresql"
    artist = conn.execute(select(tracks.c.artist_id).limit(1)).scalar_one()
    conn.execute(insert(tracks), [{"id": first_id + i, "track_ref": f"synthetic-{first_id + i}",
                                   "title": f"synthetic {first_id + i}", "artist_id": artist, "created_at": now,
                                   "updated_at": now} for i in range(count)])
    rows = [slice(i * rows_per_track, (i + 1) * rows_per_track) for i in range(count)]
    conn.execute(insert(fingerprint_sets), [
        {"track_id": first_id + i, "version": FINGERPRINT_VERSION, "hash_count": rows_per_track,
         "audio_seconds": SYNTHETIC_TRACK_SECONDS, "audio_sha256": "0" * 64, "created_at": now,
         "packed": pack_set(hashes[own], frames[own]) if postgresql else None}
        for i, own in enumerate(rows)])


def synthetic_hashes(stored: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Draw ``n`` hashes (version 3: lookup keys) whose fields (anchor frequency, the two
    frequency differences, the pair of time gaps) follow the stored rows' distributions,
    each field drawn independently: common bands stay common, and the whole hash space is
    used as a large catalog would use it (re-drawing the stored hashes themselves would pile
    every row onto the values a 24-track catalog happens to contain).  Each difference's
    extra bit (version 3) is drawn with it, from the same stored row: real music's share of
    upper half-cells for that difference, not a fair coin."""
    from zamio.recognition.hashes import lookup_keys, pack_hash, split_keys, unpack_hash

    hashes, extra = split_keys(stored)
    f1, du2, du3, dt2, dt3 = unpack_hash(hashes)
    gaps = rng.integers(0, stored.size, n)  # the two gaps are drawn together: they are ordered
    second, third = rng.integers(0, stored.size, n), rng.integers(0, stored.size, n)
    fine = (extra[second] >> 1) << 1 | (extra[third] & 1)
    return lookup_keys(pack_hash(rng.choice(f1, n), du2[second], du3[third], dt2[gaps], dt3[gaps]), fine)


def _drop_indexes(engine) -> None:
    with engine.begin() as conn:
        for name in FINGERPRINT_INDEXES[engine.dialect.name]:
            conn.exec_driver_sql(f"DROP INDEX {name}")


def _create_indexes(engine) -> None:
    postgresql = engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        if postgresql:  # sorting hundreds of millions of keys in 64 MB spills to disk many times over
            conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '2GB'")
        for name, definition in FINGERPRINT_INDEXES[engine.dialect.name].items():
            conn.exec_driver_sql(f"CREATE INDEX {name} ON fingerprints {definition}")


def _fingerprint_indexes() -> dict[str, dict[str, str]]:
    from zamio.recognition.hash_index import index_definition

    # as sql/0033_fingerprint_lookup_keys.sql makes them
    return {"postgresql": {"ix_fingerprints_hash": index_definition()},
            "sqlite": {"ix_fingerprints_hash": "(hash)", "ix_fingerprints_track_version": "(track_id, version)"}}


FINGERPRINT_INDEXES = _fingerprint_indexes()


def summarise_scaled(records, corpus: str, tracks: int, rows: int, size: int, load_s: float, database: str,
                     dev_audio_s: float) -> dict:
    latencies = np.array([r[2] for r in records])
    positives = [r for r in records if r[0]["truth"]]
    negatives = [r for r in records if not r[0]["truth"]]
    correct = sum(1 for q, m, _ in positives if m and os.path.basename(m) == os.path.basename(q["truth"]))
    return {"database": database, "tracks": tracks, "synthetic_rows": rows, "load_s": round(load_s, 1),
            "bytes": size, "audio_hours": round((dev_audio_s + (tracks - 24) * SYNTHETIC_TRACK_SECONDS) / 3600, 1),
            "bytes_per_audio_second": round(size / (dev_audio_s + (tracks - 24) * SYNTHETIC_TRACK_SECONDS), 1),
            "fingerprint_version": FINGERPRINT_VERSION,
            "queries": len(records), "top1_percent": round(100 * correct / max(1, len(positives)), 1),
            "fpr_percent": round(100 * sum(1 for _, m, _ in negatives if m) / max(1, len(negatives)), 1),
            "latency_mean_ms": round(1000 * float(latencies.mean()), 1),
            "latency_p95_ms": round(1000 * float(np.percentile(latencies, 95)), 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    # report.py names the corpus after its folder: /tmp/dev links to /work/corpus, so the
    # tables line up with the anchors' "dev" rows.
    ap.add_argument("--corpus", default="/tmp/dev" if os.path.exists("/tmp/dev") else "/work/corpus")
    ap.add_argument("--out", default=os.path.join(REPO, "bench", "results"))
    ap.add_argument("--workdir", default="/tmp/zamio-bench-work")
    ap.add_argument("--database", action="append", default=[], metavar="URL",
                    help="sqlite, or a PostgreSQL server URL (a scratch database is created on it)")
    ap.add_argument("--memory", action="store_true", help="also run the engine alone (in-memory index)")
    ap.add_argument("--max-queries", type=int, default=0, help="a seeded subset of the protocol's queries")
    ap.add_argument("--scale", type=int, action="append", default=[], metavar="TRACKS")
    ap.add_argument("--scale-queries", type=int, default=60)
    ap.add_argument("--side-by-side", action="store_true",
                    help="--scale: grow every size at once and answer each query by each in turn")
    ap.add_argument("--cold", action="store_true",
                    help="--scale on PostgreSQL: answer each query cold first (needs the server's files: same host)")
    ap.add_argument("--paired", type=int, default=0, metavar="N")
    ap.add_argument("--cache-mb", type=int, default=256,
                    help="the pair cache of the database runs, as a scan run keeps it (0: none)")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    corpus = a.corpus if os.path.isabs(a.corpus) else os.path.abspath(a.corpus)
    results = []
    if a.memory:
        results.append(run_protocol(corpus, os.path.join(a.out, "zamio_dev.json"), a.workdir + "/mem",
                                    MEMORY_ADAPTER, [], a.max_queries))
    for database in a.database if not (a.scale or a.paired) else []:
        out = os.path.join(a.out, f"zamio_{short_name(database)}_dev.json")
        results.append(run_protocol(corpus, out, f"{a.workdir}/{short_name(database)}", DATABASE_ADAPTER,
                                    [f"database={database}", f"cache_mb={a.cache_mb}"], a.max_queries))
    if results:
        print_report(results, a.out)
    for database in a.database if a.paired else []:
        figures = paired_latency(corpus, database, a.paired, f"{a.workdir}/paired", a.cache_mb)
        save(a.out, f"paired_{short_name(database)}.json", figures)
    for database in a.database:
        for sizes in [a.scale] if a.side_by_side else [[tracks] for tracks in a.scale]:
            for figures in scaled_runs(corpus, database, sizes, a.scale_queries, f"{a.workdir}/scale",
                                       a.cache_mb, a.cold):
                save(a.out, f"scale_{short_name(database)}_{figures['tracks']}.json", figures)


def save(out_dir: str, name: str, figures: dict) -> None:
    json.dump(figures, open(os.path.join(out_dir, name), "w"), indent=1)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
