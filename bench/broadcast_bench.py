#!/usr/bin/env python3
"""Recognition of clips as a radio station delivers them, through the database (a script, not a test).

    nice -n 10 bench/broadcast_bench.py --database sqlite
    nice -n 10 bench/broadcast_bench.py --database postgresql://postgres:postgres@127.0.0.1:5432/postgres
    nice -n 10 bench/broadcast_bench.py --second /work/corpus2 --clips 32 --database sqlite

Builds, deterministically (seeded), a query set from the DEV corpus (``--corpus``, see
``bench/fingerprint_bench.py``) into ``--queries``: from every catalog track 2 excerpts of
5 s and 2 of 10 s (``--per-track``), from every held-out track 3 of each (``--per-heldout``,
negatives), each under every condition of ``CONDITIONS``:

* ``clean``;
* ``band``: 50 Hz high-pass and 15 kHz low-pass (second order), the FM band.  The corpus
  is sampled at 22.05 kHz, so it holds nothing above 11.025 kHz: every processed condition
  runs at 44.1 kHz (upsampled, as a station's playout does), where the 15 kHz low-pass
  exists but finds nothing to remove; the 50 Hz high-pass is the part that acts;
* ``multiband``: a 3-band compressor (ffmpeg ``mcompand``, crossovers 200 Hz and 2 kHz,
  every band 10 dB up at −40 dBFS and 12 dB down at 0 dBFS) into a limiter driven 6 dB
  (``alimiter``, ceiling −3 dBFS): the loudness processing of an FM or stream chain;
* ``aac32``, ``aac48``: ffmpeg's native AAC-LC encoder at 32 and 48 kbit/s, stereo at
  44.1 kHz as a stream carries it, decoded back;
* ``talkover``: a presenter (espeak-ng) talking over the clip's first ``TALK_SECONDS``,
  the voice ``TALK_DB`` louder than the music (RMS over the talk; the music not ducked);
  the clip's start stands for the song's intro;
* ``crossfade``: the previous song (a held-out track, another one for held-out clips, at
  the clip's loudness) fading out linearly over the first ``CROSSFADE_SECONDS`` while
  this one fades in;
* ``chain``: everything at once: talk-over, then band limit, multiband, limiter, AAC 48k;
* ``snr5``, ``snr0``: white noise at 5 and 0 dB SNR (as the shared protocol's
  ``make_queries.py``: relative to the excerpt's power);
* ``speed-5``, ``speed+5``: varispeed, pitch and tempo together (``bench/speed_bench.py``).

The processed conditions render a second of audio either side of the clip and cut the
clip out, so compressor and encoder have settled as they have on air.  Negatives are the
held-out excerpts under every condition and ``--speech`` clips of each length of a
presenter talking (espeak-ng), each as recorded and through the station's processing
(``speech-chain``: band, multiband, limiter, AAC 48k).

The catalog is stored in a fresh database through ``zamio.recognition.index``
(``bench.zamio_adapter``), and every query is answered by ``identify`` twice, in turn
(the order reversed every other query): warm and cold, so both figures come from one run
on one machine, whatever else runs on it.

* warm: one connection kept for the run and one pair cache that already holds every
  catalog track (as ``bench/speed_bench.py``; a scan run's steady state);
* cold: a connection opened for the query on an engine that keeps none (SQLite: an
  empty page cache of its own; PostgreSQL: a new server backend, with no plan or
  catalog cache) and an empty pair cache, so every candidate's set is read and unfolded.
  The operating system's file cache and PostgreSQL's shared buffers stay warm: dropping
  them needs the whole machine, which others share.  The connect itself is not timed.

With ``--second CORPUS`` (the second real-music corpus, ``bench/get-second-corpus.sh``) the
queries are excerpts of that corpus instead, and its catalog is indexed beside the DEV
catalog in the one database (330 real tracks): ``--clips`` of its catalog tracks and
``--heldout-clips`` of its held-out tracks, drawn with the seed, one excerpt of each length
each (an audible one), under every condition above and the time-stretches of
``bench/speed_bench.py`` (``stretch-3``, ``stretch+3``: tempo alone, pitch kept); the
crossfades come from its held-out tracks; the speech negatives are as above.  Warm and cold
are as defined above.  Results are
named ``broadcast_second_<database>``.

Prints a Markdown table and writes ``broadcast_<database>.json`` (every query) and
``broadcast_<database>.md`` into ``--out``; ``--side-by-side`` prints the tables of both
databases' runs (that of ``docs/recognition.md`` last) and the clips they answer differently.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from bench.speed_bench import RATE, machine_load, read_wav, seed_for, speech_clip, write_wav  # noqa: E402
from bench.speed_bench import render as render_speed  # noqa: E402

SEED = 2026
MODES = ("warm", "cold")  # each answer is recorded under its mode's name
CONDITIONS = ["clean", "band", "multiband", "aac32", "aac48", "talkover", "crossfade", "chain", "snr5", "snr0",
              "speed-5", "speed+5"]
#: Measured on the second catalog too (on DEV by ``bench/speed_bench.py``): tempo alone, pitch kept.
STRETCH_CONDITIONS = ["stretch-3", "stretch+3"]
SPEECH_CONDITIONS = ["clean", "chain"]
CHECKPOINT = 56  # queries between two saves of a run's records
CHAIN_RATE = 44100  # the processing's rate: a station's playout and stream
MARGIN_SECONDS = 1.0  # rendered either side of the clip so compressor and encoder have settled
TALK_SECONDS = 3.5
TALK_DB = 6.0  # the voice above the music, RMS over the talk
CROSSFADE_SECONDS = 3.0
BAND = "highpass=f=50:poles=2,lowpass=f=15000:poles=2"
_BAND_CURVE = "6 -60/-60,-40/-30,-20/-16,0/-12"
MULTIBAND = (f"mcompand=args='0.005,0.1 {_BAND_CURVE} 200 | 0.003,0.05 {_BAND_CURVE} 2000"
             f" | 0.001,0.025 {_BAND_CURVE} 22000',alimiter=level_in=2:limit=0.7:attack=5:release=50")
#: ffmpeg filters and AAC bit rate (kbit/s, None: none) of the processed conditions.
PROCESSING = {"band": (BAND, None), "multiband": (MULTIBAND, None), "aac32": ("anull", 32), "aac48": ("anull", 48),
              "chain": (f"{BAND},{MULTIBAND}", 48)}


def station_processing(y: np.ndarray, filters: str, aac_kbps: int | None) -> np.ndarray:
    """``y`` (mono float at RATE) through ``filters`` at CHAIN_RATE and, with ``aac_kbps``, an
    AAC-LC round trip (stereo, as streamed); returned mono at RATE, as long as ``y``."""
    with tempfile.TemporaryDirectory() as folder:
        src, coded, out = (os.path.join(folder, name) for name in ("in.wav", "coded.m4a", "out.wav"))
        write_wav(src, y)
        first = ["-af", f"aresample={CHAIN_RATE},{filters}"]
        if aac_kbps:
            _ffmpeg(src, coded, [*first, "-ac", "2", "-c:a", "aac", "-b:a", f"{aac_kbps}k"])
            _ffmpeg(coded, out, ["-ac", "1", "-ar", str(RATE), "-c:a", "pcm_s16le"])
        else:
            _ffmpeg(src, out, [*first, "-ac", "1", "-ar", str(RATE), "-c:a", "pcm_s16le"])
        z = read_wav(out)
    return np.pad(z, (0, max(0, y.size - z.size)))[:y.size]


def _ffmpeg(src: str, out: str, args: list[str]) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", src, *args, out], check=True)


def rms(y: np.ndarray) -> float:
    return float(np.sqrt(np.mean(y**2))) if y.size else 0.0


def talk_over(y: np.ndarray, at: int, voice: np.ndarray) -> np.ndarray:
    """``y`` with ``voice`` (a presenter's speech) mixed in from sample ``at`` for TALK_SECONDS,
    TALK_DB above the music's RMS over that span, faded out over its last 50 ms."""
    n = int(TALK_SECONDS * RATE)
    music = y[at:at + n]
    talk = voice[:n] * (rms(music) / max(rms(voice[:n]), 1e-9) * 10 ** (TALK_DB / 20))
    fade = int(0.05 * RATE)
    talk[-fade:] *= np.linspace(1.0, 0.0, fade)
    out = y.copy()
    out[at:at + n] += talk
    return out


def crossfade(y: np.ndarray, at: int, previous: np.ndarray) -> np.ndarray:
    """``y`` fading in linearly from sample ``at`` over CROSSFADE_SECONDS while ``previous`` (the
    song before, brought to ``y``'s loudness) fades out; before ``at`` only ``previous`` plays."""
    n = int(CROSSFADE_SECONDS * RATE)
    ramp = np.linspace(0.0, 1.0, n)
    tail = previous[:at + n] * (rms(y[at:]) / max(rms(previous[:at + n]), 1e-9))
    out = y.copy()
    out[:at] = tail[:at]
    out[at:at + n] = y[at:at + n] * ramp + tail[at:] * ramp[::-1]
    return out


def with_noise(y: np.ndarray, snr_db: float, seed: int) -> np.ndarray:
    """``y`` plus white Gaussian noise ``snr_db`` below its power (as the shared make_queries.py)."""
    noise = np.random.default_rng(seed).standard_normal(y.size)
    return y + noise * np.sqrt(np.mean(y**2) / 10 ** (snr_db / 10))


def render(x: np.ndarray, i0: int, n: int, condition: str, *, voice: np.ndarray, previous: np.ndarray,
           seed: int) -> np.ndarray:
    """The clip of ``n`` samples from ``i0`` of ``x`` under ``condition`` (see the module docstring);
    ``voice`` and ``previous`` are the presenter and the song before, ``seed`` the noise's."""
    if condition.startswith("snr"):
        return with_noise(x[i0:i0 + n], float(condition[3:]), seed)
    if condition == "clean" or condition.startswith(("speed", "stretch")):
        return render_speed(x, i0, n, condition)
    margin = int(MARGIN_SECONDS * RATE)
    y = x[i0 - margin:i0 + n + margin]
    if condition in ("talkover", "chain"):
        y = talk_over(y, margin, voice)
    if condition == "crossfade":
        y = crossfade(y, margin, previous)
    if condition in PROCESSING:
        y = station_processing(y, *PROCESSING[condition])
    if condition not in ("talkover", "crossfade", *PROCESSING):
        raise ValueError(f"unknown condition {condition}")
    return y[margin:margin + n]


def make_queries(corpus: str, out: str, per_track: int, per_heldout: int, speech: int) -> list[dict]:
    """Write the query set (see the module docstring) into ``out`` and return its records; a set
    already there, made with the same settings, is reused."""
    wanted = {"conditions": CONDITIONS, "per_track": per_track, "per_heldout": per_heldout, "speech": speech,
              "seed": SEED, "talk": [TALK_SECONDS, TALK_DB], "crossfade": CROSSFADE_SECONDS,
              "processing": PROCESSING}
    found = made_before(out, wanted)
    if found is not None:
        return found
    tracks = sorted(json.load(open(os.path.join(corpus, "manifest.json")))["tracks"], key=lambda t: t["file"])
    heldout = [t["file"] for t in tracks if t["split"] != "catalog"]
    voices = [speech_clip(out, k) for k in range(max(speech, 10))]
    queries = []
    for track in tracks:
        x = read_wav(os.path.join(corpus, track["file"]))
        count = per_track if track["split"] == "catalog" else per_heldout
        for length in (5.0, 10.0):
            rng = np.random.default_rng(seed_for(SEED, track["file"], length))
            span = length * 1.06 + 2 * MARGIN_SECONDS
            for k, start in enumerate(np.sort(rng.uniform(2.0, x.size / RATE - span - 2.0, count))):
                queries += excerpt_queries(out, corpus, track, x, (float(start), length, k), rng, heldout, voices,
                                           CONDITIONS)
        print(f"[broadcast] rendered {track['file']}", file=sys.stderr, flush=True)
    queries += speech_queries(out, voices, speech)
    json.dump({"made_with": wanted, "queries": queries}, open(os.path.join(out, "queries.json"), "w"), indent=0)
    return queries


def make_second_queries(corpus: str, out: str, clips: int, heldout_clips: int, speech: int) -> list[dict]:
    """Write the query set of a second catalog into ``out`` and return its records: ``clips`` of its
    catalog tracks and ``heldout_clips`` of its held-out tracks, drawn with the seed, give one
    excerpt of each length each (an audible one: the first draw the decoder would not refuse as
    silent), under every condition and the time-stretches; the previous songs of the crossfades
    are its held-out tracks.  A set already there, made with the same settings, is reused."""
    conditions = [*CONDITIONS, *STRETCH_CONDITIONS]
    wanted = {"catalog": "second", "conditions": conditions, "clips": clips, "heldout_clips": heldout_clips,
              "speech": speech, "seed": SEED, "talk": [TALK_SECONDS, TALK_DB], "crossfade": CROSSFADE_SECONDS,
              "processing": PROCESSING}
    tracks = sorted(json.load(open(os.path.join(corpus, "manifest.json")))["tracks"], key=lambda t: t["file"])
    catalog = [t for t in tracks if t["split"] == "catalog"]
    heldout = [t for t in tracks if t["split"] != "catalog"]
    # the first of one seeded order of each split, so a larger set holds a smaller one
    chosen = [*(catalog[i] for i in np.random.default_rng(seed_for(SEED, "catalog")).permutation(len(catalog))
                [:clips]),
              *(heldout[i] for i in np.random.default_rng(seed_for(SEED, "heldout")).permutation(len(heldout))
                [:heldout_clips])]
    found = made_before(out, wanted) or made_before(out, {**wanted, **larger(out, wanted)})
    if found is not None:  # (from a larger set: its records of the chosen tracks and the speech)
        names = {t["file"] for t in chosen}
        return [q for q in found if q["track"] in names or q["negative"] == "speech"]
    voices = [speech_clip(out, k) for k in range(max(speech, 10))]
    queries = []
    for track in chosen:
        x = read_wav(os.path.join(corpus, track["file"]))
        for length in (5.0, 10.0):
            rng = np.random.default_rng(seed_for(SEED, track["file"], length))
            start = audible_start(x, length, rng)
            queries += excerpt_queries(out, corpus, track, x, (start, length, 0), rng,
                                       [t["file"] for t in heldout], voices, conditions)
        print(f"[broadcast] rendered {track['file']}", file=sys.stderr, flush=True)
    queries += speech_queries(out, voices, speech)
    json.dump({"made_with": wanted, "queries": queries}, open(os.path.join(out, "queries.json"), "w"), indent=0)
    return queries


def made_before(out: str, wanted: dict) -> list[dict] | None:
    """The records of the query set in ``out`` if it was made with ``wanted``; else None (and
    ``out`` exists, to be written)."""
    listed = os.path.join(out, "queries.json")
    if os.path.exists(listed):
        found = json.load(open(listed))
        if found["made_with"] == json.loads(json.dumps(wanted)):
            return found["queries"]
    os.makedirs(out, exist_ok=True)
    return None


def larger(out: str, wanted: dict) -> dict:
    """The track counts of the second catalog's query set in ``out`` if they are at least ``wanted``'s
    (so it holds ``wanted``'s set: its tracks are the first of one seeded order); else ``{}``."""
    listed = os.path.join(out, "queries.json")
    made = json.load(open(listed))["made_with"] if os.path.exists(listed) else {}
    counts = {k: made.get(k, 0) for k in ("clips", "heldout_clips")}
    return counts if all(counts[k] >= wanted[k] for k in counts) else {}


def audible_start(x: np.ndarray, length: float, rng: np.random.Generator, tries: int = 20) -> float:
    """A start (seconds) for an excerpt of ``length`` of ``x`` that the decoder does not refuse as
    silent, drawn uniformly with ``rng`` until one is (a scan records silence and never asks)."""
    from zamio.recognition import audio

    span = length * 1.06 + 2 * MARGIN_SECONDS
    for _ in range(tries):
        start = float(rng.uniform(2.0, x.size / RATE - span - 2.0))
        try:
            audio.check_not_silent(x[int(start * RATE):int((start + length) * RATE)])
            return start
        except audio.SilentAudio:
            continue
    raise SystemExit(f"no audible excerpt of {length:.0f} s found in {tries} draws: check the corpus's tracks")


def excerpt_queries(out: str, corpus: str, track: dict, x: np.ndarray, excerpt: tuple[float, float, int],
                    rng: np.random.Generator, heldout: list[str], voices: list[np.ndarray],
                    conditions: list[str]) -> list[dict]:
    """Write the excerpt ``(start, length, k)`` of ``track`` (samples ``x``) under every condition and
    return its records; ``rng`` draws the song before (another of ``heldout``) and the presenter."""
    start, length, k = excerpt
    others = [h for h in heldout if h != track["file"]]
    before = read_wav(os.path.join(corpus, others[int(rng.integers(len(others)))]))
    b0 = int(rng.uniform(10.0, before.size / RATE - 10.0) * RATE)
    context = {"voice": voices[int(rng.integers(len(voices)))], "previous": before[b0:],
               "seed": seed_for(SEED, track["file"], length, k)}
    stem = os.path.splitext(os.path.basename(track["file"]))[0]
    queries = []
    for condition in conditions:
        rel = f"{condition}/{int(length)}s/{track['split']}__{stem}__{k}.wav"
        _save(out, rel, render(x, int(start * RATE), int(length * RATE), condition, **context))
        queries.append({"file": rel, "truth": track["file"] if track["split"] == "catalog" else None,
                        "condition": condition, "length": length, "negative": track["split"],
                        "track": track["file"], "start": round(start, 3)})
    return queries


def speech_queries(out: str, voices: list[np.ndarray], speech: int) -> list[dict]:
    """Write ``speech`` clips of each length of a presenter talking, as recorded and through the
    station's processing; return their records (negatives)."""
    queries = []
    for length in (5.0, 10.0):
        n = int(length * RATE)
        for k in range(speech):
            y, margin = voices[k], int(MARGIN_SECONDS * RATE)
            i0 = int(np.random.default_rng(seed_for(SEED, "speech", k, length)).uniform(margin, y.size - n - margin))
            for condition in SPEECH_CONDITIONS:
                clip = y[i0:i0 + n] if condition == "clean" else station_processing(
                    y[i0 - margin:i0 + n + margin], *PROCESSING["chain"])[margin:margin + n]
                rel = f"speech-{condition}/{int(length)}s/speech__{k}.wav"
                _save(out, rel, clip)
                queries.append({"file": rel, "truth": None, "condition": f"speech-{condition}", "length": length,
                                "negative": "speech", "track": None})
    return queries


def _save(out: str, rel: str, clip: np.ndarray) -> None:
    os.makedirs(os.path.dirname(os.path.join(out, rel)), exist_ok=True)
    write_wav(os.path.join(out, rel), clip)


def run(corpus: str, queries_dir: str, queries: list[dict], database: str, workdir: str, *,
        beside: tuple[str, ...] = (), modes: tuple[str, ...] = MODES, checkpoint=None) -> dict:
    """Index the catalog of ``corpus`` (and of the ``beside`` corpora) in ``database`` and answer
    every query in each of ``modes``; return the records, also given to ``checkpoint`` every
    ``CHECKPOINT`` queries (a long run stopped keeps what it measured)."""
    from bench.fingerprint_bench import warm_catalog
    from zamio.db.engine import open_engine
    from zamio.recognition import audio

    # every track's pairs cached before the first query
    system, truth_of = warm_catalog(corpus, database, workdir, beside)
    cold_engine, records = open_engine(system.url), []
    try:  # the scratch database is dropped, however the run ends
        for n, q in enumerate(queries):
            samples = audio.decode_file(os.path.join(queries_dir, q["file"]))
            record = dict(q)
            for mode in modes if n % 2 == 0 else modes[::-1]:
                found, ms = answer(system, cold_engine, samples, mode)
                ok = (found is not None and found.track_id == truth_of[q["truth"]]) if q["truth"] else found is None
                record[mode] = {"ms": ms, "track": None if found is None else system.track_paths[found.track_id],
                                "ok": ok, "evidence": None if found is None else round(found.evidence, 2)}
            records.append(record)
            if checkpoint and (n + 1) % CHECKPOINT == 0:
                checkpoint({"records": records, "database": system.name, "tracks": len(system.track_paths)})
                print(f"[broadcast] {n + 1}/{len(queries)}", file=sys.stderr, flush=True)
    finally:
        cold_engine.dispose()
        system.close()
    return {"records": records, "database": system.name, "tracks": len(system.track_paths)}


def interleaved(queries: list[dict]) -> list[dict]:
    """``queries`` in rounds: every clip of the first catalog track, of the first held-out track and
    of the first speech clip, then of the second of each, and so on, so that a run stopped early
    has measured every condition about as often."""
    groups: dict[str, list[dict]] = {}
    for q in queries:
        groups.setdefault(q["track"] or q["file"].rsplit("__", 1)[-1], []).append(q)
    kinds: dict[str, list[list[dict]]] = {}
    for group in groups.values():
        kinds.setdefault(group[0]["negative"], []).append(group)
    rounds = max(len(g) for g in kinds.values())
    return [q for i in range(rounds) for kind in kinds.values() if i < len(kind) for q in kind[i]]


def answer(system, cold_engine, samples: np.ndarray, mode: str):
    """``identify`` on the run's warm connection and cache, or on a fresh connection with an
    empty cache (cold); return (result, milliseconds)."""
    from zamio.recognition.index import PairCache, identify

    conn = cold_engine.connect() if mode == "cold" else system.conn
    cache = PairCache() if mode == "cold" else system.cache
    try:
        t0 = time.perf_counter()
        with conn.begin():
            found = identify(conn, samples, cache)
        return found, 1000 * (time.perf_counter() - t0)
    finally:
        if mode == "cold":
            conn.close()
            cold_engine.dispose()  # the next cold query connects afresh


def group_of(record: dict) -> str:
    if record["truth"]:
        return record["condition"]
    if record["negative"] == "speech":
        return f"negative: {record['condition']}"
    return f"negative: held-out, {record['condition']}"


def summarise(result: dict, headline: str) -> str:
    """The Markdown table of one run: per condition and length, top-1 (positives) or false
    positives (negatives), and warm and cold mean / p95 ms."""
    records = result["records"]
    out = [headline, "",
           "| condition | len | n | top-1 % / FP % | warm mean / p95 ms | cold mean / p95 ms |",
           "|---|---|---|---|---|---|"]
    order = [*CONDITIONS, *STRETCH_CONDITIONS, *(f"speech-{c}" for c in SPEECH_CONDITIONS)]
    groups: dict[tuple[str, float], list[dict]] = {}
    for r in records:
        groups.setdefault((group_of(r), r["length"]), []).append(r)
    for (group, length), rows in sorted(groups.items(), key=lambda g: (
            g[0][0].startswith("negative"), order.index(g[0][0].split(", ")[-1].removeprefix("negative: ")),
            g[0][0], g[0][1])):
        out.append(f"| {group} | {int(length)} s | {len(rows)} | " + " | ".join(_cells(rows)) + " |")
    for negative in (False, True):
        for length in (5.0, 10.0):
            rows = [r for r in records if (r["truth"] is None) == negative and r["length"] == length]
            if not rows:  # a set of negatives alone (--clips 0)
                continue
            label = "all negatives" if negative else "all positives"
            out.append(f"| **{label}** | {int(length)} s | {len(rows)} | " + " | ".join(_cells(rows, 2)) + " |")
    return "\n".join(out)


def _cells(rows: list[dict], digits: int = 1) -> list[str]:
    """Accuracy (positives) or false positives (negatives) of the warm answers (the cold ones
    are the same answers, checked in ``main``), then mean / p95 ms warm and cold."""
    ok = sum(r["warm"]["ok"] for r in rows)
    share = f"{100 * (len(rows) - ok if rows[0]['truth'] is None else ok) / len(rows):.{digits}f}"
    times = [np.array([r[mode]["ms"] for r in rows]) for mode in MODES]
    return [share, *(f"{t.mean():.0f} / {np.percentile(t, 95):.0f}" for t in times)]


def misses(records: list[dict], mode: str) -> list[str]:
    """One line per query ``mode`` answered wrongly: condition, length, clip, and what was answered."""
    return [f"{r['condition']} {int(r['length'])} s {r['file']}: answered {r[mode]['track']}"
            f" (evidence {r[mode]['evidence']})" for r in records if not r[mode]["ok"]]


def side_by_side(out: str, prefix: str = "broadcast_") -> str:
    """The Markdown table of ``bench/results/recognition.md`` from the runs ``<prefix><database>.json``
    in ``out`` on both databases: per condition and length, top-1 (or false positives), and
    each database's warm and cold mean (p95) ms; then any clip they answer differently."""
    runs = both_runs(out, prefix)
    rows: dict[tuple[str, float], dict[str, list[dict]]] = {}
    for db, records in runs.items():
        for r in records:
            key = ("all negatives" if r["truth"] is None else r["condition"], r["length"])
            rows.setdefault(key, {}).setdefault(db, []).append(r)
    out_lines = ["| condition | len | n | top-1 % / FP % | PostgreSQL warm · cold ms, mean (p95) "
                 "| SQLite warm · cold ms, mean (p95) |", "|---|---|---|---|---|---|"]
    order = [*CONDITIONS, *STRETCH_CONDITIONS, "all negatives"]
    for (condition, length), by_db in sorted(rows.items(), key=lambda g: (order.index(g[0][0]), -g[0][1])):
        answers = by_db["postgresql"]
        share = _cells(answers, 2 if condition == "all negatives" else 1)[0]
        times = []
        for db in ("postgresql", "sqlite"):
            t = {m: np.array([r[m]["ms"] for r in by_db[db]]) for m in MODES}
            times.append(" · ".join(f"{v.mean():.0f} ({np.percentile(v, 95):.0f})" for v in t.values()))
        out_lines.append(f"| {condition} | {int(length)} s | {len(answers)} | {share} | "
                         f"{times[0]} | {times[1]} |")
    return "\n".join(out_lines + differences(runs["postgresql"], runs["sqlite"]))


def both_runs(out: str, prefix: str) -> dict[str, list[dict]]:
    """The records of the runs ``<prefix><database>.json`` in ``out``, of the clips both databases answered."""
    runs = {db: json.load(open(os.path.join(out, f"{prefix}{db}.json")))["records"] for db in ("postgresql", "sqlite")}
    common = {r["file"] for r in runs["postgresql"]} & {r["file"] for r in runs["sqlite"]}
    return {db: sorted((r for r in records if r["file"] in common), key=lambda r: r["file"])
            for db, records in runs.items()}


def differences(postgresql: list[dict], sqlite: list[dict]) -> list[str]:
    """Lines naming every clip the two databases, or warm and cold, answer differently (none: one line saying so)."""
    lines = []
    for a, b in zip(postgresql, sqlite, strict=True):
        answers = {f"{db} {mode}": r[mode]["track"] for db, r in (("PostgreSQL", a), ("SQLite", b))
                   for mode in ("warm", "cold")}
        if a["file"] != b["file"] or len(set(answers.values())) > 1:
            lines.append(f"* {a['file']}: " + ", ".join(f"{k} {v}" for k, v in answers.items()))
    return ["", *(lines or ["Both databases, warm and cold, gave the same answer to every clip."])]


def doc_table(out: str, prefix: str) -> str:
    """The table of ``docs/recognition.md`` from the runs ``<prefix><database>.json`` in ``out`` on both
    databases: per condition, top-1 of 10 s and 5 s clips, then per length and database warm · cold
    mean (p95) ms; a last row of false positives per length; then any clip answered differently."""
    runs = both_runs(out, prefix)
    lines = ["| condition | 10 s | 5 s | 10 s ms, PostgreSQL warm · cold (p95) | 10 s ms, SQLite warm · cold (p95) "
             "| 5 s ms, PostgreSQL warm · cold (p95) | 5 s ms, SQLite warm · cold (p95) |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    present = [c for c in (*CONDITIONS, *STRETCH_CONDITIONS)
               if any(r["condition"] == c and r["truth"] for r in runs["sqlite"])]
    for condition in [*present, None]:  # None: the negatives

        def pick(db: str, length: float, condition: str | None = condition) -> list[dict]:
            return [r for r in runs[db] if r["length"] == length
                    and (r["truth"] is None if condition is None else r["truth"] and r["condition"] == condition)]

        cells = []
        for length in (10.0, 5.0):
            rows = pick("postgresql", length)
            ok = sum(r["warm"]["ok"] for r in rows)
            cells.append(f"{100 * ok / len(rows):.1f} %" if condition else
                         f"{100 * (len(rows) - ok) / len(rows):.2f} % ({len(rows) - ok} of {len(rows)})")
        for length in (10.0, 5.0):
            for db in ("postgresql", "sqlite"):
                warm, cold = (np.array([r[m]["ms"] for r in pick(db, length)]) for m in ("warm", "cold"))
                cells.append(f"{warm.mean():.0f} · {cold.mean():.0f} "
                             f"({np.percentile(warm, 95):.0f} · {np.percentile(cold, 95):.0f})")
        lines.append(f"| {condition or 'false positives'} | " + " | ".join(cells) + " |")
    return "\n".join(lines + differences(runs["postgresql"], runs["sqlite"]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default="/tmp/dev" if os.path.exists("/tmp/dev") else "/work/corpus")
    ap.add_argument("--second", metavar="CORPUS", help="excerpts of this second corpus (bench/get-second-corpus.sh),"
                    " its catalog indexed beside --corpus's")
    ap.add_argument("--queries", help="where the query set is written (default under /tmp)")
    ap.add_argument("--out", default=os.path.join(REPO, "bench", "results"))
    ap.add_argument("--workdir", default="/tmp/zamio-broadcast-work")
    ap.add_argument("--database", default="sqlite", metavar="URL",
                    help="sqlite, or a PostgreSQL server URL (a scratch database is created on it)")
    ap.add_argument("--per-track", type=int, default=2, help="excerpts of each length per catalog track")
    ap.add_argument("--per-heldout", type=int, default=3, help="excerpts of each length per held-out track")
    ap.add_argument("--clips", type=int, default=24, help="with --second: catalog tracks excerpted")
    ap.add_argument("--heldout-clips", type=int, default=12, help="with --second: held-out tracks excerpted")
    ap.add_argument("--speech", type=int, default=30, help="speech clips of each length (negatives)")
    ap.add_argument("--only-queries", action="store_true", help="write the query set and stop")
    ap.add_argument("--side-by-side", action="store_true",
                    help="print the tables of both databases' runs already in --out and stop")
    a = ap.parse_args()
    prefix = "broadcast_second_" if a.second else "broadcast_"
    if a.side_by_side:
        print(side_by_side(a.out, prefix) + "\n\n" + doc_table(a.out, prefix))
        return
    if a.second:
        a.queries = a.queries or "/tmp/zamio-broadcast-second-queries"
        queries = make_second_queries(a.second, a.queries, a.clips, a.heldout_clips, a.speech)
    else:
        a.queries = a.queries or "/tmp/zamio-broadcast-queries"
        queries = make_queries(a.corpus, a.queries, a.per_track, a.per_heldout, a.speech)
    if a.only_queries:
        return
    os.makedirs(a.workdir, exist_ok=True)
    load_before, t0 = machine_load(), time.perf_counter()

    def save(result: dict) -> None:
        catalog = (f"excerpts of the second catalog, it and DEV ({result['tracks']} tracks)" if a.second
                   else f"DEV catalog ({result['tracks']} tracks)")
        write_results(a, prefix, result, f"broadcast conditions, {catalog} in {result['database']}, "
                      f"{len(result['records'])} of {len(queries)} queries, each answered warm and cold in turn",
                      f"{os.cpu_count()} cores, {load_before} before, {machine_load()} after "
                      f"({time.perf_counter() - t0:.0f} s)")

    if a.second:
        result = run(a.second, a.queries, interleaved(queries), a.database, a.workdir, beside=(a.corpus,),
                     checkpoint=save)
    else:
        result = run(a.corpus, a.queries, queries, a.database, a.workdir)
    save(result)


def write_results(a: argparse.Namespace, prefix: str, result: dict, conditions: str, load: str) -> None:
    """Print the table of a run and write it and its records (``<prefix><database>.md`` and ``.json``)."""
    differ = sum(r["warm"]["track"] != r["cold"]["track"] for r in result["records"])
    headline = f"{conditions} ({differ} answers differ between warm and cold); {load}"
    table = summarise(result, headline)
    wrong = misses(result["records"], "warm")
    print(table + "\n\nWrong answers:\n" + "\n".join(wrong))
    os.makedirs(a.out, exist_ok=True)
    name = f"{prefix}{result['database'].removeprefix('zamio-')}"
    made_with = json.load(open(os.path.join(a.queries, "queries.json")))["made_with"]
    json.dump({"headline": headline, "made_with": made_with, "wrong": wrong, **result},
              open(os.path.join(a.out, f"{name}.json"), "w"), indent=0)
    open(os.path.join(a.out, f"{name}.md"), "w").write(table + "\n")


if __name__ == "__main__":
    main()
