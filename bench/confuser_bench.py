#!/usr/bin/env python3
"""Recognition with real confusers: the DEV catalog and the second real-music catalog in one
database, through zamio's database layer (a script, not a test).

    nice -n 10 .venv/bin/python bench/confuser_bench.py --database sqlite \\
        --database postgresql://postgres:postgres@127.0.0.1:5432/postgres --scale 10000
    .venv/bin/python bench/confuser_bench.py --report     # the Markdown tables of the saved JSON

For each ``--database`` (``sqlite`` for a scratch file, or a PostgreSQL server URL: a scratch
database is made on it and dropped): the catalog tracks of the DEV corpus (``--dev``) and of
the second corpus (``--corpus``, from ``bench/get-second-corpus.sh``) are stored by
``zamio.recognition.index.store_fingerprints`` (``bench.zamio_adapter``), and every query of
``CORPUS/queries-confusers/queries.json`` is answered by ``zamio.recognition.index.identify``
on one warm connection with a scan run's pair cache.  Positives are excerpts of catalog
tracks of either corpus; negatives are excerpts of both corpora's held-out tracks (real
music never indexed) and espeak-ng speech.  Each answer that names a track other than the
truth (a wrong track for a positive, any track for a negative) is listed with its evidence.

With ``--scale N`` the same database is then grown to N tracks with the synthetic rows of
``bench/fingerprint_bench.py`` (hash fields drawn from the stored rows' distributions) and
the 10 s queries are answered again: accuracy, false positives and latency at that size.
Writes ``--out/second_catalog_<database>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import defaultdict

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from bench.fingerprint_bench import catalog_paths, load_synthetic, short_name  # noqa: E402
from zamio.recognition.audio import SilentAudio  # noqa: E402

RESULTS = os.path.join(REPO, "bench", "results")
SILENT = "silent"  # the answer recorded for an excerpt the decoder finds silent


def truth_path(q: dict, folders: dict[str, str]) -> str | None:
    """The catalog WAV a query should be recognised as, or None for a negative."""
    if q["truth"] is None:
        return None
    name, rel = q["truth"].split("/", 1)
    return os.path.join(folders[name], rel)


def answer_all(system, queries: list[dict], folder: str, folders: dict[str, str]) -> list[dict]:
    """Answer every query; return one record per query: set, split, condition, length,
    truth, answer (catalog path or None), evidence, latency (s)."""
    records = []
    for i, q in enumerate(queries):
        t0 = time.perf_counter()
        try:
            answer, evidence = system.query(os.path.join(folder, q["file"]))
        except SilentAudio:  # a quiet passage: a scan records silence and never asks
            answer, evidence = SILENT, 0.0
        records.append(
            {
                "file": q["file"],
                "set": q["set"],
                "split": q["split"],
                "condition": q["condition"],
                "length": q["length"],
                "truth": truth_path(q, folders),
                "answer": answer,
                "evidence": round(float(evidence), 2),
                "latency_s": time.perf_counter() - t0,
            }
        )
        if (i + 1) % 200 == 0:
            print(f"  {i + 1} / {len(queries)} queries", file=sys.stderr, flush=True)
    return records


def summarise(records: list[dict]) -> dict:
    """Top-1 per (set, condition, length) on positives; false positives per (set, length) on
    negatives; the answers naming a wrong track; latency."""
    top1: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    wrong_track: dict[str, int] = defaultdict(int)
    negatives: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    silent = [r["file"] for r in records if r["answer"] == SILENT]
    records = [r for r in records if r["answer"] != SILENT]
    for r in records:
        if r["truth"]:
            key = f"{r['set']}|{r['condition']}|{int(r['length'])}"
            top1[key][0] += r["answer"] == r["truth"]
            top1[key][1] += 1
            wrong_track[key] += r["answer"] is not None and r["answer"] != r["truth"]
        else:
            key = f"{r['set']}|{r['condition']}|{int(r['length'])}"
            negatives[key][0] += r["answer"] is not None
            negatives[key][1] += 1
    latencies = np.array([r["latency_s"] for r in records])
    confusions = [
        {k: r[k] for k in ("file", "truth", "answer", "evidence")}
        for r in records
        if r["answer"] is not None and r["answer"] != r["truth"]
    ]
    return {
        "queries": len(records),
        "silent_left_out": silent,
        "positives": sum(1 for r in records if r["truth"]),
        "top1": {k: {"correct": c, "of": n, "wrong_track": wrong_track[k]} for k, (c, n) in sorted(top1.items())},
        "negatives": {k: {"matched": m, "of": n} for k, (m, n) in sorted(negatives.items())},
        "confusions": confusions,
        "latency_mean_ms": round(1000 * float(latencies.mean()), 1),
        "latency_p95_ms": round(1000 * float(np.percentile(latencies, 95)), 1),
    }


def run(
    database: str, dev: str, corpus: str, scale: list[int], workdir: str, cache_mb: int, out: str, step: int
) -> dict:
    """Index both catalogs in a scratch ``database``, answer the queries, then grow it to each
    ``scale`` size and answer the 10 s queries again; return the figures, saved in ``out``
    after each step (a long run stopped keeps what it measured)."""
    from bench.zamio_adapter import ZamioDatabaseFingerprinter, analyse, index_bytes

    folder = os.path.join(corpus, "queries-confusers")
    folders = {"dev": dev, "second": corpus}  # where each query set's tracks live (speech has none)
    (dev_paths, dev_s), (second_paths, second_s) = catalog_paths(dev), catalog_paths(corpus)
    system = ZamioDatabaseFingerprinter(
        os.path.join(workdir, short_name(database)), database=database, cache_mb=str(cache_mb)
    )
    try:
        t0 = time.perf_counter()
        system.index(dev_paths + second_paths)
        queries = json.load(open(os.path.join(folder, "queries.json")))["queries"][::step]
        figures = {
            "database": short_name(database),
            "tracks": len(dev_paths) + len(second_paths),
            "dev_tracks": len(dev_paths),
            "second_tracks": len(second_paths),
            "audio_hours": round((dev_s + second_s) / 3600, 2),
            "index_s": round(time.perf_counter() - t0, 1),
            "index_bytes": index_bytes(system.engine),
            "cache_mb": cache_mb,
            "query_step": step,
            "real": summarise(answer_all(system, queries, folder, folders)),
            "scaled": [],
        }
        save(out, figures)
        tens = [q for q in queries if q["length"] == 10.0]
        stored = figures["tracks"]
        for tracks in sorted(scale):
            t0 = time.perf_counter()
            rows = load_synthetic(system.engine, tracks - stored, seed=tracks)
            analyse(system.engine)
            stored = tracks
            figures["scaled"].append(
                {
                    "tracks": tracks,
                    "synthetic_rows": rows,
                    "load_s": round(time.perf_counter() - t0, 1),
                    "index_bytes": index_bytes(system.engine),
                    **summarise(answer_all(system, tens, folder, folders)),
                }
            )
            save(out, figures)
        return figures
    finally:
        system.close()


def rate(cell: dict, hit: str) -> str:
    return f"{100 * cell[hit] / cell['of']:.1f}" if cell["of"] else "-"


def top1_table(summary: dict) -> list[str]:
    """Markdown rows: top-1 % (wrong tracks) per set and condition, 5 s / 10 s."""
    rows = [
        "| queries of | condition | top-1 % 5 s | top-1 % 10 s | wrong track (5 s / 10 s) | n (5 s / 10 s) |",
        "|---|---|---|---|---|---|",
    ]
    keys = sorted(
        {k.rsplit("|", 1)[0] for k in summary["top1"]},
        key=lambda k: (k.split("|")[0], CONDITION_ORDER.index(k.split("|")[1])),
    )
    for key in keys:
        five, ten = summary["top1"].get(key + "|5"), summary["top1"].get(key + "|10")
        name, condition = key.split("|")
        rows.append(
            f"| {name} | {condition} | {rate(five, 'correct')} | {rate(ten, 'correct')} | "
            f"{five['wrong_track']} / {ten['wrong_track']} | {five['of']} / {ten['of']} |"
        )
    return rows


CONDITION_ORDER = ["clean", "snr5", "snr0", "mp3_64k", "speed+2", "speed-3"]


def negatives_table(summary: dict) -> list[str]:
    """Markdown rows: negatives matched per source and length."""
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for key, cell in summary["negatives"].items():
        name, _, length = key.split("|")
        totals[f"{name}|{length}"][0] += cell["matched"]
        totals[f"{name}|{length}"][1] += cell["of"]
    rows = ["| negatives from | 5 s matched | 10 s matched |", "|---|---|---|"]
    for name in sorted({k.split("|")[0] for k in totals}):
        five, ten = totals[f"{name}|5"], totals[f"{name}|10"]
        source = "espeak-ng speech" if name == "speech" else f"{name} held-out tracks"
        rows.append(f"| {source} | {five[0]} of {five[1]} | {ten[0]} of {ten[1]} |")
    return rows


def report(out: str) -> None:
    """Print the Markdown tables of every saved second_catalog_*.json."""
    for name in sorted(f for f in os.listdir(out) if f.startswith("second_catalog_") and f.endswith(".json")):
        figures = json.load(open(os.path.join(out, name)))
        real = figures["real"]
        print(
            f"### {figures['database']}: {figures['tracks']} real tracks ({figures['dev_tracks']} DEV + "
            f"{figures['second_tracks']} second), {figures['audio_hours']} h, indexed in {figures['index_s']} s, "
            f"{figures['index_bytes'] / 1e6:.1f} MB; {real['queries']} queries, latency mean "
            f"{real['latency_mean_ms']} ms, p95 {real['latency_p95_ms']} ms\n"
        )
        print("\n".join(top1_table(real) + [""] + negatives_table(real)))
        print("\nanswers naming a wrong track:", json.dumps(real["confusions"], indent=1))
        for s in figures["scaled"]:
            positives = [c for k, c in s["top1"].items()]
            correct, of = sum(c["correct"] for c in positives), sum(c["of"] for c in positives)
            matched = sum(c["matched"] for c in s["negatives"].values())
            print(
                f"\nscaled to {s['tracks']} tracks ({s['synthetic_rows']} synthetic rows, loaded in {s['load_s']} s, "
                f"{s['index_bytes'] / 1e9:.2f} GB): 10 s top-1 {100 * correct / of:.1f} % ({correct}/{of}), "
                f"negatives matched {matched} of {sum(c['of'] for c in s['negatives'].values())}, latency mean "
                f"{s['latency_mean_ms']} ms, p95 {s['latency_p95_ms']} ms, wrong answers {len(s['confusions'])}"
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dev", default="/work/corpus", help="the DEV corpus (get-dev-corpus.sh)")
    ap.add_argument("--corpus", default="/work/corpus2", help="the second corpus (bench/get-second-corpus.sh)")
    ap.add_argument("--database", action="append", default=[], metavar="URL")
    ap.add_argument("--scale", type=int, action="append", default=[], metavar="TRACKS")
    ap.add_argument("--workdir", default="/tmp/zamio-confuser-bench")
    ap.add_argument("--cache-mb", type=int, default=256, help="the pair cache, as a scan run keeps it")
    ap.add_argument("--out", default=RESULTS)
    # 5 is prime to the 12 queries of a track (6 conditions, 2 lengths): every condition is sampled
    ap.add_argument("--step", type=int, default=1, help="answer every STEP-th query only (a quicker run)")
    ap.add_argument("--report", action="store_true", help="print the tables of the saved results")
    a = ap.parse_args()
    if a.report:
        report(a.out)
        return
    for database in a.database:
        run(database, a.dev, a.corpus, a.scale, a.workdir, a.cache_mb, a.out, a.step)
        print(f"{short_name(database)}: done", file=sys.stderr)
    report(a.out)


def save(out: str, figures: dict) -> None:
    with open(os.path.join(out, f"second_catalog_{figures['database']}.json"), "w") as f:
        json.dump(figures, f, indent=1)


if __name__ == "__main__":
    main()
