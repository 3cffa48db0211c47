#!/usr/bin/env python3
"""Captures across a change of song, recognised whole and by halves (a script, not a test).

    nice -n 10 python3 bench/changeover_bench.py                     # SQLite in a scratch folder
    nice -n 10 python3 bench/changeover_bench.py --database postgresql://postgres@127.0.0.1:5432/postgres

The DEV corpus's catalog (``--corpus``, see ``bench/fingerprint_bench.py``) is stored in a fresh
database through ``zamio.recognition.index`` (``bench.zamio_adapter``).  Captures of 10 and 12 s
are then cut, deterministically (seeded), as a station sampled every two minutes is caught:

* ``catalog→catalog``: the last seconds of one catalog track and the first of another, the
  change anywhere from 1 s to 1 s before the end (positives: either track is right);
* ``heldout→catalog``, ``catalog→heldout``: music outside the catalog and a catalog track
  (positives: the catalog track);
* negatives: ``heldout→heldout`` changes, excerpts from anywhere in the held-out tracks, the
  corpus's 10 s query clips of held-out tracks
  (``queries/queries.json``: clean, noisy, MP3, 2 % fast) and ``--speech`` clips of a
  presenter (espeak-ng, as ``bench/speed_bench.py`` makes them).

Each capture is answered by ``identify`` (the whole capture: as before) and by
``identify_capture`` (whole, then halves: as now), on one warm connection; each half's own
evidence is kept too, so the table shows how far chance reaches on the halves of negatives.
Prints a Markdown table and writes ``changeover_<database>.json`` into ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

SEED = 3003
LENGTHS = (10.0, 12.0)


def tracks_of(corpus: str, split: str) -> list[str]:
    manifest = json.load(open(os.path.join(corpus, "manifest.json")))
    return sorted(os.path.join(corpus, t["file"]) for t in manifest["tracks"] if t["split"] == split)


def changes(
    audio_of: dict[str, np.ndarray], first: list[str], second: list[str], kind: str, count: int, rate: int
) -> list[dict]:
    """``count`` captures per length: the end of a track of ``first``, then the start of one of ``second``."""
    rng = np.random.default_rng([SEED, len(kind), *kind.encode()])
    made = []
    for length in LENGTHS:
        for _ in range(count):
            a = str(rng.choice(first))
            b = str(rng.choice([t for t in second if t != a]))
            ending = float(rng.uniform(1.0, length - 1.0))
            x, y = audio_of[a], audio_of[b]
            head = x[x.size - int(ending * rate) :]
            clip = np.concatenate([head, y[: int(length * rate) - head.size]]).astype(np.float32)
            made.append(
                {
                    "kind": kind,
                    "length": length,
                    "first": a,
                    "second": b,
                    "change_at": round(ending, 3),
                    "samples": clip,
                }
            )
    return made


def excerpts(audio_of: dict[str, np.ndarray], tracks: list[str], count: int, rate: int) -> list[dict]:
    """``count`` captures per length from anywhere in ``tracks`` (music outside the catalog: negatives)."""
    rng = np.random.default_rng([SEED, count])
    made = []
    for length in LENGTHS:
        for _ in range(count):
            x = audio_of[str(rng.choice(tracks))]
            start = int(rng.uniform(0, x.size - length * rate))
            made.append({"kind": "heldout excerpt", "length": length, "samples": x[start : start + int(length * rate)]})
    return made


def negatives(corpus: str, speech: int, rate: int) -> list[dict]:
    """The corpus's 10 s query clips of held-out music, and presenter clips of each length."""
    from bench.speed_bench import speech_clip
    from zamio.recognition import audio

    made = []
    listed = json.load(open(os.path.join(corpus, "queries", "queries.json")))["queries"]
    for q in listed:
        if q["truth"] is None and q["length"] == 10.0:
            samples = audio.decode_file(os.path.join(corpus, "queries", q["file"]))
            made.append({"kind": f"heldout clip, {q['condition']}", "length": 10.0, "samples": samples})
    folder = os.path.join("/tmp", "zamio-changeover-speech")
    os.makedirs(folder, exist_ok=True)
    for k in range(speech):
        speech_clip(folder, k)  # written once, as a WAV in the folder
        talk = audio.decode_file(os.path.join(folder, f"speech_{k}.wav"))
        for length in LENGTHS:
            start = int(np.random.default_rng([SEED, k, int(length)]).uniform(0, talk.size - length * rate))
            made.append({"kind": "speech", "length": length, "samples": talk[start : start + int(length * rate)]})
    return made


def answer(system, capture: dict) -> dict:
    """The capture's answers: whole (before), whole then halves (now), and each half's own evidence."""
    from zamio.recognition.changeover import identify_capture
    from zamio.recognition.index import identify

    samples = capture["samples"]
    out = {k: v for k, v in capture.items() if k != "samples"}
    for name, recognise in (("before", identify), ("now", identify_capture)):
        t0 = time.perf_counter()
        with system.conn.begin():
            found = recognise(system.conn, samples, system.cache)
        out[name] = {
            "ms": 1000 * (time.perf_counter() - t0),
            "track": None if found is None else system.track_paths[found.track_id],
        }
    middle = samples.size // 2
    halves = []
    for start in (0, middle):
        with system.conn.begin():
            found = identify(system.conn, samples[start : start + middle], system.cache)
        halves.append(
            None
            if found is None
            else {
                "track": system.track_paths[found.track_id],
                "evidence": round(found.evidence, 2),
                "aligned": found.aligned,
                "runner_up": found.runner_up,
            }
        )
    out["halves"] = halves
    return out


def right(record: dict, name: str) -> bool:
    """Whether an answer is right: a catalog track the capture holds, or nothing for a negative."""
    track = record[name]["track"]
    wanted = [t for t in (record.get("first"), record.get("second")) if t and "/catalog/" in t]
    return track in wanted if wanted else track is None


def summarise(records: list[dict], headline: str) -> str:
    from zamio.recognition.changeover import PART_MIN_ALIGNED, PART_MIN_EVIDENCE

    out = [
        headline,
        "",
        "| captures | len | n | recognised before | now | false before | now | half evidence: max "
        "(negatives) / min accepted (positives) | ms before | now |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    groups: dict[tuple[str, float], list[dict]] = {}
    for r in records:
        kind = r["kind"] if not r["kind"].startswith("heldout clip") else "heldout clips (query set)"
        groups.setdefault((kind, r["length"]), []).append(r)
    for (kind, length), rows in sorted(groups.items()):
        positive = any("/catalog/" in (r.get("first") or "") + (r.get("second") or "") for r in rows)
        cells = []
        for name in ("before", "now"):
            cells.append(f"{100 * sum(right(r, name) for r in rows) / len(rows):.1f} %" if positive else "–")
        for name in ("before", "now"):
            cells.append(f"{sum(r[name]['track'] is not None and not right(r, name) for r in rows)}")
        evidences = [
            h["evidence"]
            for r in rows
            for h in r["halves"]
            if h is not None and (not positive or h["track"] in (r.get("first"), r.get("second")))
        ]
        reach = (
            max(evidences, default=0.0)
            if not positive
            else min(
                (
                    h["evidence"]
                    for r in rows
                    for h in r["halves"]
                    if h is not None and h["aligned"] >= PART_MIN_ALIGNED and h["evidence"] >= PART_MIN_EVIDENCE
                ),
                default=0.0,
            )
        )
        cells.append(f"{reach:.1f}")
        for name in ("before", "now"):
            cells.append(f"{np.mean([r[name]['ms'] for r in rows]):.0f}")
        out.append(f"| {kind} | {int(length)} s | {len(rows)} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default="/work/corpus")
    ap.add_argument("--out", default=os.path.join(REPO, "bench", "results"))
    ap.add_argument("--workdir", default="/tmp/zamio-changeover-work")
    ap.add_argument(
        "--database",
        default="sqlite",
        metavar="URL",
        help="sqlite, or a PostgreSQL server URL (a scratch database is created on it)",
    )
    ap.add_argument("--changes", type=int, default=60, help="captures per kind of change and length")
    ap.add_argument("--speech", type=int, default=30, help="presenter clips of each length (negatives)")
    a = ap.parse_args()
    from bench.zamio_adapter import ZamioDatabaseFingerprinter
    from zamio.recognition import audio

    os.makedirs(a.workdir, exist_ok=True)
    catalog, heldout = tracks_of(a.corpus, "catalog"), tracks_of(a.corpus, "heldout")
    system = ZamioDatabaseFingerprinter(a.workdir, database=a.database, cache_mb="256")
    system.index(catalog)
    audio_of = {path: audio.decode_file(path) for path in catalog + heldout}
    rate = audio.ANALYSIS_RATE
    captures = (
        changes(audio_of, catalog, catalog, "catalog→catalog", a.changes, rate)
        + changes(audio_of, heldout, catalog, "heldout→catalog", a.changes // 2, rate)
        + changes(audio_of, catalog, heldout, "catalog→heldout", a.changes // 2, rate)
        + changes(audio_of, heldout, heldout, "heldout→heldout", a.changes, rate)
        + excerpts(audio_of, heldout, 2 * a.changes, rate)
        + negatives(a.corpus, a.speech, rate)
    )
    t0 = time.perf_counter()
    records = []
    for n, capture in enumerate(captures):
        records.append(answer(system, capture))
        if n % 100 == 0:
            print(f"[changeover] {n}/{len(captures)}", file=sys.stderr, flush=True)
    system.close()
    headline = (
        f"Captures across a change of song, DEV catalog (24 tracks) in {system.name}, warm; "
        f"{len(records)} captures, {os.cpu_count()} cores, load average "
        f"{' '.join(f'{v:.1f}' for v in os.getloadavg())} ({time.perf_counter() - t0:.0f} s)"
    )
    table = summarise(records, headline)
    print(table)
    os.makedirs(a.out, exist_ok=True)
    name = f"changeover_{system.name.removeprefix('zamio-')}"
    json.dump({"headline": headline, "records": records}, open(os.path.join(a.out, f"{name}.json"), "w"), indent=0)
    open(os.path.join(a.out, f"{name}.md"), "w").write(table + "\n")


if __name__ == "__main__":
    main()
