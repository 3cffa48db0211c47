#!/usr/bin/env python3
"""Recognition of clips played at another speed, or time-stretched, through the database (a script, not a test).

    bench/speed_bench.py --database postgresql://postgres@127.0.0.1:5432/postgres
    bench/speed_bench.py --database sqlite --per-track 2 --speech 40

Builds, deterministically (seeded), a query set from the DEV corpus (``--corpus``, see
``bench/fingerprint_bench.py``) into ``--queries``: from every track 3 excerpts of 5 s and
3 of 10 s (``--per-track``), each under

* ``clean``;
* ``speed-5`` … ``speed+5``: varispeed by whole percents, pitch and tempo together (a
  resampling, as a station speeding a record up or a DJ slowing it down; the source span is
  longer or shorter so the clip keeps its length);
* ``stretch-3``, ``stretch+3``: tempo alone, pitch kept (ffmpeg ``atempo``), as some playout
  systems do.

Excerpts of the held-out tracks under the same conditions are negatives, and so are
``--speech`` clips of each length of a presenter talking, generated with espeak-ng
(Debian package ``espeak-ng``; several voices, rates and pitches; no music).

The catalog is stored in a fresh database through ``zamio.recognition.index``
(``bench.zamio_adapter``), and every query is answered by ``identify`` twice, with the
query profile of each ``PROFILES`` entry, alternately, on one warm connection with one
pair cache that already holds every catalog track (warm: the figures leave out reading a
candidate's set the first time).  So the accuracy of both, their false positives and the
ratio of their query times come from one run on one machine, whatever else runs on it.

Prints a Markdown table and writes ``speed_<database>.json`` into ``--out``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from zamio.recognition.query import QUERY_PROFILE, QueryProfile  # noqa: E402

RATE = 22050  # the corpus's sample rate
SEED = 2002
#: The query side as it was (3 % slow to 5 % fast, one hypothesis per log-frequency cell),
#: and as it is now.
PROFILES = {"before": QueryProfile(min_speed=0.98, max_speed=1.045, speed_step_cells=1.0, pair_speed_step_cells=1.0,
                                   speed_window_cells=None, stretch_tempos=()),
            "now": QUERY_PROFILE}
SPEED_CONDITIONS = ["clean", *[f"speed{p:+d}" for p in range(-5, 6) if p], "stretch-3", "stretch+3"]
SPEECH_TEXTS = [
    "Good morning Accra, you are listening to the breakfast show, and the time is seven fifteen.",
    "Traffic update: the motorway is busy this morning, so take the ring road if you can.",
    "Coming up after the news, we talk to the minister about the new market in Kumasi.",
    "Call us now on oh two four, five five five, one two three four, and tell us what you think.",
    "The weather today will be warm and sunny, with a light breeze in the afternoon along the coast.",
    "That was a great song. Stay with us, more music and your requests are coming right up.",
    "And now the sports news. The Black Stars won their match last night by two goals to one.",
    "This programme is brought to you by our sponsors. Visit the shop on Oxford Street today.",
    "Welcome back to the drive time show. We have a lot of great music lined up for you this evening.",
    "Our guest today is a farmer from the Volta region who grows the best pineapples in the country.",
]
SPEECH_VOICES = ["en", "en-us", "en+m3", "en+f3", "en+m7", "en+f2", "en-gb-x-rp", "en+m1", "en+f4", "en+klatt"]


def seed_for(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256("|".join(map(str, parts)).encode()).digest()[:8], "little")


def read_wav(path: str) -> np.ndarray:
    from scipy.io import wavfile

    rate, x = wavfile.read(path)
    x = x.astype(np.float64) / 32768.0
    x = x if x.ndim == 1 else x.mean(axis=1)
    if rate != RATE:
        from scipy.signal import resample_poly

        x = resample_poly(x, RATE, rate)
    return x


def write_wav(path: str, y: np.ndarray) -> None:
    from scipy.io import wavfile

    peak = float(np.max(np.abs(y))) if y.size else 0.0
    if peak > 0.999:  # scale down instead of clipping
        y = y * (0.999 / peak)
    wavfile.write(path, RATE, np.round(y * 32767).astype(np.int16))


def atempo(y: np.ndarray, tempo: float) -> np.ndarray:
    """``y`` (mono float at RATE) played at ``tempo`` with its pitch kept (ffmpeg ``atempo``)."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        src, out = os.path.join(folder, "a.wav"), os.path.join(folder, "out.wav")
        write_wav(src, y)
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", src, "-af", f"atempo={tempo}", "-ac", "1",
                        "-ar", str(RATE), "-c:a", "pcm_s16le", out], check=True)
        return read_wav(out)


def render(x: np.ndarray, i0: int, n: int, condition: str) -> np.ndarray:
    """The clip of ``n`` samples from ``i0`` of ``x`` under ``condition``."""
    from scipy.signal import resample_poly

    if condition == "clean":
        return x[i0:i0 + n]
    if condition.startswith("speed"):
        pct = int(condition[5:])
        m = int(round(n * (100 + pct) / 100))
        return resample_poly(x[i0:i0 + m], 100, 100 + pct)[:n]
    if condition.startswith("stretch"):
        tempo = (100 + int(condition[7:])) / 100
        return atempo(x[i0:i0 + int(n * tempo) + RATE], tempo)[:n]
    raise ValueError(f"unknown condition {condition}")


def speech_clip(folder: str, k: int) -> np.ndarray:
    """The ``k``-th presenter recording (espeak-ng), about 20 s, at RATE."""
    path = os.path.join(folder, f"speech_{k}.wav")
    if not os.path.exists(path):
        text = " ".join(SPEECH_TEXTS[(k + j) % len(SPEECH_TEXTS)] for j in range(4))
        subprocess.run(["espeak-ng", "-v", SPEECH_VOICES[k % len(SPEECH_VOICES)], "-s", str(140 + 7 * (k % 8)),
                        "-p", str(30 + 5 * (k % 9)), "-w", path, text], check=True)
    return read_wav(path)


def make_queries(corpus: str, out: str, conditions: list[str], per_track: int, speech: int) -> list[dict]:
    """Write the query set (see the module docstring) and return its records."""
    listed = os.path.join(out, "queries.json")
    wanted = {"conditions": conditions, "per_track": per_track, "speech": speech, "seed": SEED}
    if os.path.exists(listed):
        found = json.load(open(listed))
        if found["made_with"] == wanted:
            return found["queries"]
    os.makedirs(out, exist_ok=True)
    manifest = json.load(open(os.path.join(corpus, "manifest.json")))
    tracks = sorted(manifest["tracks"], key=lambda t: t["file"])
    talk = [speech_clip(out, k) for k in range(speech)]
    queries = []
    for track in tracks:
        x = read_wav(os.path.join(corpus, track["file"]))
        stem = os.path.splitext(os.path.basename(track["file"]))[0]
        for length in (5.0, 10.0):
            rng = np.random.default_rng(seed_for(SEED, track["file"], length))
            span = length * 1.06 + 1.2  # room for the slowest speed and the stretch's tail
            starts = np.sort(rng.uniform(2.0, x.size / RATE - span - 2.0, per_track))
            for k, start in enumerate(starts):
                i0, n = int(start * RATE), int(length * RATE)
                for condition in conditions:
                    rel = f"{condition}/{int(length)}s/{track['split']}__{stem}__{k}.wav"
                    os.makedirs(os.path.dirname(os.path.join(out, rel)), exist_ok=True)
                    write_wav(os.path.join(out, rel), render(x, i0, n, condition))
                    queries.append({"file": rel, "truth": track["file"] if track["split"] == "catalog" else None,
                                    "condition": condition, "length": length, "negative": track["split"]})
    for length in (5.0, 10.0):
        for k in range(speech):
            y = talk[k]
            i0 = int(np.random.default_rng(seed_for(SEED, "speech", k, length)).uniform(0, y.size - length * RATE))
            rel = f"speech/{int(length)}s/speech__{k}.wav"
            os.makedirs(os.path.dirname(os.path.join(out, rel)), exist_ok=True)
            write_wav(os.path.join(out, rel), y[i0:i0 + int(length * RATE)])
            queries.append({"file": rel, "truth": None, "condition": "speech", "length": length,
                            "negative": "speech"})
    json.dump({"made_with": wanted, "queries": queries}, open(listed, "w"), indent=0)
    return queries


def run(corpus: str, queries_dir: str, queries: list[dict], database: str, workdir: str) -> dict:
    """Index the DEV catalog in ``database``, answer every query with every profile; return the records."""
    from bench.fingerprint_bench import warm_catalog
    from zamio.recognition import audio
    from zamio.recognition.index import identify

    system, truth_of = warm_catalog(corpus, database, workdir)  # every track's pairs cached before the first query
    records = []
    names = list(PROFILES)
    for n, q in enumerate(queries):
        samples = audio.decode_file(os.path.join(queries_dir, q["file"]))
        record = dict(q)
        for name in names if n % 2 == 0 else names[::-1]:  # alternate who goes first
            t0 = time.perf_counter()
            with system.conn.begin():
                found = identify(system.conn, samples, system.cache, PROFILES[name])
            record[name] = {"ms": 1000 * (time.perf_counter() - t0),
                            "track": None if found is None else found.track_id,
                            "speed": None if found is None else round(found.speed, 4)}
            record[name]["ok"] = (found is not None and found.track_id == truth_of[q["truth"]]) if q["truth"] \
                else found is None
        records.append(record)
        if n % 200 == 0:
            print(f"[speed] {n}/{len(queries)}", file=sys.stderr, flush=True)
    system.close()
    return {"records": records, "database": system.name}


def summarise(result: dict, headline: str) -> str:
    """The Markdown table of one run: per condition and length, top-1 (positives) or false
    positives (negatives) and mean / p95 ms of each profile, and the ratio of their means."""
    records = result["records"]
    names = list(PROFILES)
    out = [headline, "",
           "| condition | len | n | " + " | ".join(f"{n}: top-1 % / FP %" for n in names) + " | "
           + " | ".join(f"{n}: mean / p95 ms" for n in names) + f" | ms {names[1]} ÷ {names[0]} |",
           "|---|---|---|" + "---|" * (2 * len(names) + 1)]
    groups: dict[tuple[str, float, bool], list[dict]] = {}
    for r in records:
        groups.setdefault((r["condition"] if r["truth"] else f"negative: {r['negative']}, {r['condition']}"
                           if r["negative"] != "speech" else "negative: speech", r["length"], r["truth"] is None),
                          []).append(r)
    order = {c: i for i, c in enumerate(SPEED_CONDITIONS)}
    for (condition, length, negative), rows in sorted(groups.items(), key=lambda g: (
            g[0][2], order.get(g[0][0].split(", ")[-1], 99), g[0][0], g[0][1])):
        cells = _cells(rows, names, negative, false_positive_digits=1)
        out.append(f"| {condition} | {int(length)} s | {len(rows)} | " + " | ".join(cells) + " |")
    for negative in (True, False):
        for length in (5.0, 10.0):
            rows = [r for r in records if (r["truth"] is None) == negative and r["length"] == length]
            label = "all negatives" if negative else "all positives"
            cells = _cells(rows, names, negative, false_positive_digits=2)
            out.append(f"| **{label}** | {int(length)} s | {len(rows)} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def _cells(rows: list[dict], names: list[str], negative: bool, false_positive_digits: int) -> list[str]:
    """One table row's cells: per query side its accuracy (or, for negatives, its false positives), then per side
    its mean / p95 milliseconds, then the ratio of the second side's mean time to the first's."""
    cells = []
    for name in names:
        ok = sum(r[name]["ok"] for r in rows)
        cells.append(f"{100 * (len(rows) - ok) / len(rows):.{false_positive_digits}f}" if negative
                     else f"{100 * ok / len(rows):.1f}")
    times = [np.array([r[name]["ms"] for r in rows]) for name in names]
    cells += [f"{t.mean():.0f} / {np.percentile(t, 95):.0f}" for t in times]
    cells.append(f"{times[1].mean() / times[0].mean():.2f}")
    return cells


def machine_load() -> str:
    return "load average " + " ".join(f"{v:.1f}" for v in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default="/tmp/dev" if os.path.exists("/tmp/dev") else "/work/corpus")
    ap.add_argument("--queries", default="/tmp/zamio-speed-queries", help="where the query set is written")
    ap.add_argument("--out", default=os.path.join(REPO, "bench", "results"))
    ap.add_argument("--workdir", default="/tmp/zamio-speed-work")
    ap.add_argument("--database", default="sqlite", metavar="URL",
                    help="sqlite, or a PostgreSQL server URL (a scratch database is created on it)")
    ap.add_argument("--per-track", type=int, default=3)
    ap.add_argument("--speech", type=int, default=60, help="speech clips of each length (negatives)")
    a = ap.parse_args()
    conditions = SPEED_CONDITIONS
    kind = "speed"
    queries_dir = os.path.join(a.queries, kind)
    queries = make_queries(a.corpus, queries_dir, conditions, a.per_track, a.speech)
    os.makedirs(a.workdir, exist_ok=True)
    load_before = machine_load()
    t0 = time.perf_counter()
    result = run(a.corpus, queries_dir, queries, a.database, a.workdir)
    headline = (f"{kind} conditions, DEV catalog (24 tracks) in {result['database']}, warm (every track's pairs "
                f"cached before the first query), {len(queries)} queries answered by each profile alternately; "
                f"{os.cpu_count()} cores, {load_before} before, {machine_load()} after "
                f"({time.perf_counter() - t0:.0f} s)")
    table = summarise(result, headline)
    print(table)
    os.makedirs(a.out, exist_ok=True)
    name = f"{kind}_{result['database'].removeprefix('zamio-')}"
    json.dump({"headline": headline, "profiles": {n: vars(p) for n, p in PROFILES.items()}, **result},
              open(os.path.join(a.out, f"{name}.json"), "w"), indent=0)
    open(os.path.join(a.out, f"{name}.md"), "w").write(table + "\n")


if __name__ == "__main__":
    main()
