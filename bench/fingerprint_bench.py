#!/usr/bin/env python3
"""Real-music benchmark of zamio's recognition engine (a script, not a test).

    bench/fingerprint_bench.py --corpus /work/corpus --out bench/results
    bench/fingerprint_bench.py --corpus /work/corpus --storage-only --pg "host=127.0.0.1 user=postgres"

1. Runs the shared protocol (``/work/shared/bench/run_bench.py``) with
   ``bench.zamio_adapter:ZamioFingerprinter`` and prints ``report.py``'s table beside
   the anchors' results (RESULTS-anchors.md).
2. Measures storage as it would be on PostgreSQL with a row per hash: fingerprints the
   catalog, COPYs (hash int4, track_id int4, offset int4) rows into a scratch table,
   adds the btree index on hash, reads ``pg_total_relation_size`` and drops the table.

The corpus comes from ``/work/shared/bench/get-dev-corpus.sh /work/corpus``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

SHARED_BENCH = os.environ.get("SHARED_BENCH", "/work/shared/bench")
ADAPTER = "bench.zamio_adapter:ZamioFingerprinter"


def catalog_paths(corpus: str) -> tuple[list[str], float]:
    """Return the catalog WAV paths of a prepared corpus and their total seconds."""
    manifest = json.load(open(os.path.join(corpus, "manifest.json")))
    tracks = [t for t in manifest["tracks"] if t["split"] == "catalog"]
    return sorted(os.path.join(corpus, t["file"]) for t in tracks), sum(t["duration"] for t in tracks)


def run_protocol(corpus: str, out_dir: str, workdir: str) -> str:
    """Run run_bench.py on the corpus with zamio; return the result JSON path."""
    out = os.path.join(out_dir, "zamio_dev.json")
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    subprocess.run([sys.executable, os.path.join(SHARED_BENCH, "run_bench.py"), "--system", ADAPTER,
                    "--corpus", corpus, "--workdir", workdir, "--out", out], check=True, cwd=REPO, env=env)
    return out


def print_report(result: str, out_dir: str) -> None:
    """Print report.py's tables for the anchors and this result."""
    anchors = os.path.join(SHARED_BENCH, "results", "anchors")
    jsons = sorted(os.path.join(anchors, f) for f in os.listdir(anchors) if f.endswith("_dev.json"))
    subprocess.run([sys.executable, os.path.join(SHARED_BENCH, "report.py"), *jsons, result, "--details",
                    "--out", os.path.join(out_dir, "report.md")], check=True)
    print(open(os.path.join(out_dir, "report.md")).read())


def fingerprint_rows(paths: list[str]) -> tuple[io.BytesIO, int, float]:
    """Fingerprint the catalog; return its rows as COPY text, the row count and the
    CPU seconds spent (decode + fingerprint)."""
    from zamio import audio, fingerprint

    buf, rows = io.StringIO(), 0
    cpu0 = time.process_time()
    for track_id, path in enumerate(paths):
        fp = fingerprint.fingerprint(audio.decode_file(path))
        for h, o in zip(fp.hashes.tolist(), fp.offsets.tolist()):
            buf.write(f"{h}\t{track_id}\t{o}\n")
        rows += fp.hashes.size
    cpu = time.process_time() - cpu0
    return io.BytesIO(buf.getvalue().encode()), rows, cpu


def postgres_bytes(dsn: str, data: io.BytesIO) -> int:
    """COPY the rows into a scratch table with a btree index on hash; return
    pg_total_relation_size (heap + index + maps) in bytes, then drop the table."""
    import psycopg2

    table = f"zamio_storage_probe_{os.getpid()}"
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(f'CREATE TABLE {table} (hash integer NOT NULL, track_id integer NOT NULL, '
                        f'"offset" integer NOT NULL)')
            cur.copy_expert(f"COPY {table} FROM STDIN", data)
            cur.execute(f"CREATE INDEX {table}_hash ON {table} (hash)")
            cur.execute(f"VACUUM ANALYZE {table}")
            cur.execute("SELECT pg_total_relation_size(%s)", (table,))
            return int(cur.fetchone()[0])
    finally:
        with conn.cursor() as cur:
            cur.execute(f"DROP TABLE IF EXISTS {table}")
        conn.close()


def measure_storage(corpus: str, dsn: str) -> dict:
    """Return the PostgreSQL storage and indexing figures for the corpus catalog."""
    paths, audio_s = catalog_paths(corpus)
    data, rows, cpu = fingerprint_rows(paths)
    size = postgres_bytes(dsn, data)
    return {"rows": rows, "audio_s": audio_s, "rows_per_audio_s": rows / audio_s,
            "pg_bytes": size, "pg_bytes_per_audio_s": size / audio_s, "pg_bytes_per_row": size / rows,
            "index_cpu_s": cpu, "index_audio_s_per_cpu_s": audio_s / cpu}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default="/work/corpus")
    ap.add_argument("--out", default=os.path.join(REPO, "bench", "results"))
    ap.add_argument("--workdir", default="/tmp/zamio-bench-work")
    ap.add_argument("--pg", default="host=127.0.0.1 port=5432 user=postgres dbname=postgres",
                    help="libpq DSN of a scratch PostgreSQL database")
    ap.add_argument("--storage-only", action="store_true")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    if not a.storage_only:
        os.makedirs(a.workdir, exist_ok=True)
        print_report(run_protocol(os.path.abspath(a.corpus), a.out, a.workdir), a.out)
    storage = measure_storage(os.path.abspath(a.corpus), a.pg)
    json.dump(storage, open(os.path.join(a.out, "storage_pg.json"), "w"), indent=1)
    print("PostgreSQL, a row per hash (int4 hash, track_id, offset) + btree(hash):")
    print(f"  {storage['rows']} rows, {storage['rows_per_audio_s']:.1f} rows per audio second")
    print(f"  {storage['pg_bytes'] / 1e6:.2f} MB = {storage['pg_bytes_per_audio_s']:.0f} bytes per audio second "
          f"({storage['pg_bytes_per_row']:.1f} bytes per row)")
    print(f"  indexing (decode + fingerprint): {storage['index_audio_s_per_cpu_s']:.0f} audio s per CPU s")


if __name__ == "__main__":
    main()
