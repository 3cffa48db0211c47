#!/usr/bin/env python3
"""The second look at marginal matches (``zamio.recognition.verify``), old rule against new in
one run (a script, not a test).

    nice -n 10 .venv/bin/python bench/verify_bench.py --database sqlite
    nice -n 10 .venv/bin/python bench/verify_bench.py --second /work/corpus2 --database sqlite
    .venv/bin/python bench/verify_bench.py --report        # the tables of the saved runs

The query sets are ``bench/broadcast_bench.py``'s (every broadcast condition, 5 s and 10 s):
without ``--second`` the DEV set (2 excerpts of each length of every catalog track, 3 of
every held-out track, 30 speech clips); with it the second catalog's, indexed beside DEV
(``--clips`` catalog tracks, every one of ``--heldout-clips`` held-out tracks, 20 speech
clips, the time-stretches too); with ``--protocol`` the DEV corpus's own query set of the shared
protocol (``CORPUS/queries``: clean, SNR 10, 5 and 0 dB, MP3 64k, 2 % fast; 216 negatives of
held-out music); with ``--second --confusers`` ``bench/confuser_bench.py``'s set (excerpts of
both catalogs and of both corpora's held-out tracks, and speech: clean, SNR 5 and 0 dB, MP3
64k, 2 % fast, 3 % slow).  The catalog is indexed once and warmed (every track's
pairs in the pair cache), and every query is answered by ``identify`` on that connection
in each mode, in turn (the order reversed every other query), so that both rules meet the
same machine load:

* ``before``: matches accepted on evidence alone (``VERIFY_BELOW`` set to 0: never checked);
* ``after``: the rule as ``zamio.recognition.match`` has it;
* ``scored`` (with ``--scored``): the old rule's answers with every one checked and
  none refused, to see where the right and wrong answers stand on the check, and every
  head-to-head answer (``match.HEAD_TO_HEAD``) given whatever the lead;
* ``verify`` (with ``--versions``, in place of ``before``): the rule without the head-to-head
  of two related recordings, to set against it.

Writes ``--out/verify_<catalog>_<database>.json`` (every query, every mode); ``--report``
prints, per condition and length, top-1 or false positives before and after, the extra
time, and every clip whose answer the rule changes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from contextlib import contextmanager

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from bench.broadcast_bench import (  # noqa: E402
    group_of,
    interleaved,
    make_queries,
    make_second_queries,
)
from bench.speed_bench import machine_load  # noqa: E402
from zamio.recognition import match, verify  # noqa: E402

RESULTS = os.path.join(REPO, "bench", "results")


@contextmanager
def rule(mode: str):
    """The acceptance of ``mode`` (see the module docstring) while the block runs."""
    kept = match.VERIFY_BELOW, verify.MIN_COVERAGE, verify.MIN_OWN_AGREEING, match.HEAD_TO_HEAD, verify.MIN_LEAD
    if mode == "before":
        match.VERIFY_BELOW = 0.0
    elif mode == "verify":
        match.HEAD_TO_HEAD = False
    elif mode == "scored":
        match.VERIFY_BELOW, verify.MIN_COVERAGE, verify.MIN_OWN_AGREEING = float("inf"), 0.0, 0.0
        verify.MIN_LEAD = -1.0
    try:
        yield
    finally:
        match.VERIFY_BELOW, verify.MIN_COVERAGE, verify.MIN_OWN_AGREEING, match.HEAD_TO_HEAD, verify.MIN_LEAD = kept


def run(corpus: str, queries_dir: str, queries: list[dict], database: str, workdir: str, modes: tuple[str, ...],
        beside: tuple[str, ...], checkpoint) -> dict:
    """Index the catalog(s), then answer every query in every mode; return the records."""
    from bench.fingerprint_bench import warm_catalog
    from zamio.recognition import audio
    from zamio.recognition.index import identify

    system, _ = warm_catalog(corpus, database, workdir, beside)
    track_of = {path: track_id for track_id, path in system.track_paths.items()}
    folders = {"dev": beside[0] if beside else corpus, "second": corpus}  # the confuser set's truths
    records: list[dict] = []
    try:
        for n, q in enumerate(queries):
            try:
                samples = audio.decode_file(os.path.join(queries_dir, q["file"]))
            except audio.SilentAudio:  # a silent passage: a scan records silence and never asks
                continue
            record = dict(q)
            for mode in modes if n % 2 == 0 else modes[::-1]:
                with rule(mode), system.conn.begin():
                    t0 = time.perf_counter()
                    found = identify(system.conn, samples, system.cache)
                    ms = 1000 * (time.perf_counter() - t0)
                truth = track_of[truth_path(q, corpus, folders)] if q["truth"] else None
                ok = found is None if truth is None else found is not None and found.track_id == truth
                record[mode] = {"ms": round(ms, 2), "ok": ok,
                                "track": None if found is None else system.track_paths[found.track_id],
                                "evidence": None if found is None else round(found.evidence, 2),
                                "agreement": None if found is None or found.agreement is None
                                else vars(found.agreement),
                                "rival": None if found is None or found.rival_agreement is None
                                else vars(found.rival_agreement)}
            records.append(record)
            if (n + 1) % 100 == 0:
                checkpoint(records, system.name)
                print(f"[verify] {n + 1}/{len(queries)}", file=sys.stderr, flush=True)
    finally:
        system.close()
    checkpoint(records, system.name)
    return {"records": records, "database": system.name}


def truth_path(q: dict, corpus: str, folders: dict[str, str]) -> str:
    """The catalog file a positive query should be recognised as: its truth is a path in
    ``corpus``, or in the DEV or second corpus for the confuser set (``dev/...``, ``second/...``)."""
    if "set" in q and q["truth"].split("/", 1)[0] in folders:
        name, rel = q["truth"].split("/", 1)
        return os.path.join(folders[name], rel)
    return os.path.join(corpus, q["truth"])


def table(result: dict, modes: tuple[str, ...] = ("before", "after")) -> str:
    """Per condition and length: top-1 % (positives) or false positives (negatives) in each mode,
    and the mean time of each; then the totals."""
    records = result["records"]
    a, b = modes
    out = [result["headline"], "",
           f"| condition | len | n | {a}: top-1 % / FP | {b}: top-1 % / FP | {a} ms | {b} ms |",
           "|---|---|---|---|---|---|---|"]
    groups: dict[tuple[str, float], list[dict]] = {}
    for r in records:
        groups.setdefault((group_of(r), r["length"]), []).append(r)
    for (group, length), rows in sorted(groups.items(), key=lambda g: (g[0][0].startswith("negative"), g[0])):
        out.append(f"| {group} | {int(length)} s | {len(rows)} | {_rate(rows, a)} | {_rate(rows, b)} | "
                   f"{_ms(rows, a)} | {_ms(rows, b)} |")
    for negative in (False, True):
        for length in (5.0, 10.0):
            rows = [r for r in records if (r["truth"] is None) == negative and r["length"] == length]
            if rows:
                name = "**all negatives**" if negative else "**all positives**"
                out.append(f"| {name} | {int(length)} s | {len(rows)} | {_rate(rows, a)} | {_rate(rows, b)} | "
                           f"{_ms(rows, a)} | {_ms(rows, b)} |")
    return "\n".join(out)


def _rate(rows: list[dict], mode: str) -> str:
    if rows[0]["truth"] is None:
        wrong = sum(not r[mode]["ok"] for r in rows)
        return f"{100 * wrong / len(rows):.2f} % ({wrong})"
    return f"{100 * sum(r[mode]['ok'] for r in rows) / len(rows):.1f}"


def _ms(rows: list[dict], mode: str) -> str:
    return f"{np.mean([r[mode]['ms'] for r in rows]):.0f}"


def changed(records: list[dict], a: str = "before", b: str = "after") -> list[str]:
    """Every clip whose answer differs between modes ``a`` and ``b``."""
    lines = []
    for r in records:
        x, y = r[a], r[b]
        if x["track"] != y["track"]:
            kind = ("negative" if r["truth"] is None else "positive") + (
                ", false answer removed" if r["truth"] is None and y["ok"] else "")
            lines.append(f"{r['file']} ({kind}): {_named(x)} -> {_named(y)}")
    return lines


def _named(answer: dict) -> str:
    if answer["track"] is None:
        return "no match"
    agreement = answer["agreement"]
    checked = "" if agreement is None else (
        f", peaks {agreement['agreeing']}/{agreement['peaks']}, own {agreement['own_agreeing']}/{agreement['own']}")
    return f"{os.path.basename(answer['track'])} (evidence {answer['evidence']}{checked}, " + (
        "right)" if answer["ok"] else "wrong)")


def report(out: str) -> None:
    """Print the tables and changed clips of every saved run, and how many answers the two
    databases' runs of one query set give differently."""
    runs: dict[str, dict[str, dict]] = {}
    for name in sorted(os.listdir(out)):
        if name.startswith("verify_") and name.endswith(".json"):
            result = json.load(open(os.path.join(out, name)))
            runs.setdefault(name.split("_")[1], {})[result["database"]] = result
            pair = tuple(result["modes"][:2])
            print(table(result, pair) + "\n\nAnswers changed:\n" + "\n".join(changed(result["records"], *pair)) + "\n")
    for catalog, by_database in runs.items():
        if len(by_database) == 2:
            first, second = by_database.values()
            answers = {r["file"]: r for r in second["records"]}
            differ = [r["file"] for r in first["records"] if r["file"] in answers
                      for mode in first["modes"][:2] if r[mode]["track"] != answers[r["file"]][mode]["track"]]
            print(f"{catalog}: {' and '.join(by_database)} answer {len(differ)} queries differently: {differ}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default="/tmp/dev" if os.path.exists("/tmp/dev") else "/work/corpus")
    ap.add_argument("--second", metavar="CORPUS", help="excerpts of this second corpus, its catalog beside DEV's")
    ap.add_argument("--protocol", action="store_true", help="the query set of the shared protocol in --corpus")
    ap.add_argument("--confusers", action="store_true",
                    help="with --second: bench/confuser_bench.py's query set of both catalogs")
    ap.add_argument("--queries", help="where the query set is (written if absent)")
    ap.add_argument("--database", default="sqlite", metavar="URL")
    ap.add_argument("--workdir", default="/tmp/zamio-verify-work")
    ap.add_argument("--clips", type=int, default=24, help="with --second: catalog tracks excerpted")
    ap.add_argument("--heldout-clips", type=int, default=34, help="with --second: held-out tracks excerpted")
    ap.add_argument("--scored", action="store_true", help="answer in the scored mode too")
    ap.add_argument("--only-scored", action="store_true", help="answer in the scored mode alone")
    ap.add_argument("--versions", action="store_true",
                    help="compare the rule without the head-to-head of related recordings (verify) with it (after)")
    ap.add_argument("--out", default=RESULTS)
    ap.add_argument("--report", action="store_true")
    a = ap.parse_args()
    if a.report:
        report(a.out)
        return
    if a.confusers:
        a.queries = os.path.join(a.second, "queries-confusers")
        listed = json.load(open(os.path.join(a.queries, "queries.json")))["queries"]
        queries = [{**q, "negative": q["split"], "condition": f"{q['set']} {q['condition']}"} for q in listed]
    elif a.protocol:
        a.queries = os.path.join(a.corpus, "queries")
        listed = json.load(open(os.path.join(a.queries, "queries.json")))["queries"]
        queries = [{**q, "negative": q["split"]} for q in listed]
    elif a.second:
        a.queries = a.queries or "/tmp/zamio-broadcast-second-queries"
        queries = interleaved(make_second_queries(a.second, a.queries, a.clips, a.heldout_clips, 20))
    else:
        a.queries = a.queries or "/tmp/zamio-broadcast-queries"
        queries = make_queries(a.corpus, a.queries, 2, 3, 30)
    modes = ("scored",) if a.only_scored else ("verify" if a.versions else "before", "after",
                                               *(("scored",) if a.scored else ()))
    catalog = "confusers" if a.confusers else "second" if a.second else "protocol" if a.protocol else "dev"
    load_before, t0 = machine_load(), time.perf_counter()
    os.makedirs(a.workdir, exist_ok=True)

    def save(records: list[dict], database: str) -> None:
        headline = (f"{catalog} query set, {len(records)} of {len(queries)} queries, answered warm in modes "
                    f"{', '.join(modes)} in turn ({database}); {os.cpu_count()} cores, {load_before} before, "
                    f"{machine_load()} after ({time.perf_counter() - t0:.0f} s)")
        name = f"verify_{catalog}_{database.removeprefix('zamio-')}{'_scored' if a.only_scored else ''}.json"
        json.dump({"headline": headline, "modes": modes, "records": records, "database": database},
                  open(os.path.join(a.out, name), "w"), indent=0)

    run(a.corpus if not a.second else a.second, a.queries, queries, a.database, a.workdir, modes,
        (a.corpus,) if a.second else (), save)


if __name__ == "__main__":
    main()
