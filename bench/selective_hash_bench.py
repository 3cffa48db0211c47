#!/usr/bin/env python3
"""Would a more selective triplet hash hold up?  Accuracy and real selectivity of extra hash
bits, side by side with the version 2 hash, on the engine with its index in memory (a script,
not a test).

    nice -n 10 .venv/bin/python bench/selective_hash_bench.py accuracy
    nice -n 10 .venv/bin/python bench/selective_hash_bench.py selectivity --corpus2 /work/corpus2
    .venv/bin/python bench/selective_hash_bench.py --report

A lookup returns rows of other recordings in proportion to the catalog, and each bit a triplet
hash gains halves them if the bit is spread evenly over real music.  Every variant here keeps the
version 2 hash and adds ``k`` bits taken from the same triplet, so the candidates' sets still
unfold into the same pairs and the decision by pairs is unchanged: only the first stage (which
recordings are candidates, and how many rows the lookup returns) differs.  The bits come from

* ``du``: each partner's frequency difference from the anchor on a finer grid (half a cell: 1
  bit each; a quarter: 2 bits each).  Differences do not move with the speed, so the varispeed
  and time-stretch hypotheses re-hash them unchanged;
* ``loud``: whether each partner is stronger than the anchor (1 bit each), which a change of
  speed or a codec leaves mostly alone but noise may flip.

Beside them, ``STOP_LISTS``: the version 2 hash with its commonest hashes never looked up.

``accuracy``: the DEV catalog (``--dev``) in memory, every query of the DEV query set
(clean, SNR 10/5/0 dB, MP3 64k, 2 % fast; 5 s and 10 s; held-out tracks as negatives) and of
``bench/speed_bench.py``'s set (varispeed -5 % to +5 %, time-stretch +-3 %, espeak-ng speech)
answered through ``zamio.recognition.index.identify_query`` (the passes ``identify`` runs) by
every variant in turn.  ``selectivity``: the DEV corpus and the second corpus (``--corpus2``,
catalog and held-out tracks: every real recording at hand) in one index; clean 10 s and 5 s
excerpts of their tracks are looked up at nominal speed (the first pass, the one almost every
clip ends in) and the rows of tracks other than the excerpt's own are counted, and the
same lookups are made among as many synthetic rows as ``bench/fingerprint_bench.py`` grows its
scale catalogs with (how far those stand for real music).

Writes ``--out/selective_hash.json``; ``--report`` prints its Markdown tables.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from zamio.db.tables.fingerprints import HELD_NOTE, HELD_NOTE_FIELD  # noqa: E402
from zamio.recognition import audio  # noqa: E402
from zamio.recognition.fingerprint import (  # noqa: E402
    INDEX_PROFILE,
    Peaks,
    Triplets,
    _ranked_candidates,
    _select_peaks,
    find_peaks,
    partner_table,
    spectrogram,
    triplets_to_hashes,
)
from zamio.recognition.index import identify_query, nominal_only  # noqa: E402
from zamio.recognition.match import ArrayIndex, MatchResult, TrackPairs, lookup_in, ranked_candidates  # noqa: E402
from zamio.recognition.query import QUERY_PROFILE, Query, QueryPrints, hypotheses, query_fingerprint  # noqa: E402

#: The fields a variant's extra bits are drawn from, per stored or looked-up triplet.
FIELDS = ("du2", "du3", "s12", "s13")


def _fine(d: np.ndarray, levels: int) -> np.ndarray:
    """Where inside its cell (rounded to the nearest) the difference ``d`` lies, 0 .. levels - 1."""
    return np.clip(np.floor((d - np.rint(d) + 0.5) * levels), 0, levels - 1).astype(np.int64)


#: name -> (extra bits, extra field of each triplet from FIELDS).
Variant = tuple[int, Callable[[dict[str, np.ndarray]], np.ndarray]]
VARIANTS: dict[str, Variant] = {
    "v2": (0, lambda f: np.zeros(f["du2"].size, np.int64)),
    "du+1": (1, lambda f: _fine(f["du2"], 2)),
    "du+2": (2, lambda f: _fine(f["du2"], 2) << 1 | _fine(f["du3"], 2)),
    "loud+2": (2, lambda f: (f["s12"] > 0).astype(np.int64) << 1 | (f["s13"] > 0)),
    "du+2 loud+1": (3, lambda f: _fine(f["du2"], 2) << 2 | _fine(f["du3"], 2) << 1 | (f["s13"] > 0)),
    "du+3": (3, lambda f: _fine(f["du2"], 4) << 1 | _fine(f["du3"], 2)),
    "du+2 loud+2": (4, lambda f: (_fine(f["du2"], 2) << 3 | _fine(f["du3"], 2) << 2
                                  | (f["s12"] > 0).astype(np.int64) << 1 | (f["s13"] > 0))),
    "du+4": (4, lambda f: _fine(f["du2"], 4) << 2 | _fine(f["du3"], 4)),
}


#: Multi-probe lookups: name -> (the variant whose index is looked up, margin).  A query triplet whose frequency
#: difference lies within ``margin`` of a cell from the line between its two half cells (the cell's centre) is
#: looked up under both halves of that bit (up to four keys a triplet): a peak that moved a little between the
#: stored recording and the excerpt (a codec, noise, another speed) still meets its stored row.  The index and the
#: storage are the variant's; only the query asks more.
PROBES: dict[str, tuple[str, float]] = {"du+2 probe .1": ("du+2", 0.1), "du+2 probe .2": ("du+2", 0.2),
                                        "du+2 probe .5": ("du+2", 0.5)}


def probe_keys(keys: np.ndarray, fields: dict[str, np.ndarray], margin: float) -> tuple[np.ndarray, np.ndarray]:
    """The du+2 ``keys`` of the query's triplets and those of the other half cells within ``margin`` (see
    ``PROBES``); return the keys and, for each, the triplet it belongs to."""
    near2 = np.abs(fields["du2"] - np.rint(fields["du2"])) < margin
    near3 = np.abs(fields["du3"] - np.rint(fields["du3"])) < margin
    every = np.arange(keys.size)
    parts, take = [keys], [every]
    for flip, near in ((2, near2), (1, near3), (3, near2 & near3)):
        parts.append(keys[near] ^ (np.int64(flip) << 31))
        take.append(every[near])
    return np.concatenate(parts), np.concatenate(take)


#: Stop-lists of the version 2 hash: name -> the share of the index's looked-up rows (held notes
#: left out) that the commonest hashes hold, which the lookup then never asks for (the hashes a
#: nightly job would list).
STOP_LISTS = {"v2 stop 5 %": 0.05, "v2 stop 10 %": 0.10, "v2 stop 20 %": 0.20}


def triplet_indices(peaks: Peaks, partners: int, lone_partner: bool) -> tuple[np.ndarray, ...]:
    """The (anchor, partner, partner) peak indices of ``peaks_to_triplets``, in its order."""
    table = partner_table(peaks, partners)
    every = np.arange(table.shape[0])
    parts = []
    for i in range(partners):
        for j in range(i + 1, partners):
            ok = (table[:, i] >= 0) & (table[:, j] >= 0)
            parts.append((every[ok], table[ok, i], table[ok, j]))
    if lone_partner and partners > 1:
        ok = (table[:, 0] >= 0) & (table[:, 1] < 0)
        parts.append((every[ok], table[ok, 0], table[ok, 0]))
    return tuple(np.concatenate([p[k] for p in parts]) if parts else np.zeros(0, np.int64) for k in range(3))


def triplets_of(peaks: Peaks, idx: tuple[np.ndarray, ...]) -> tuple[Triplets, dict[str, np.ndarray]]:
    a, p, q = idx
    t, u, s = peaks.t, peaks.u, peaks.strength
    tr = Triplets(t[a], u[a], u[p], u[q], (t[p] - t[a]).astype(np.int32), (t[q] - t[a]).astype(np.int32))
    return tr, {"du2": u[p] - u[a], "du3": u[q] - u[a], "s12": s[p] - s[a], "s13": s[q] - s[a]}


def index_track(path: str) -> dict[str, np.ndarray]:
    """A track's stored rows (the version 2 hashes and frames ``fingerprint`` gives) and the
    fields of their triplets."""
    samples = audio.decode_file(path)
    peaks = find_peaks(spectrogram(samples), INDEX_PROFILE.peaks_per_second)
    tr, fields = triplets_of(peaks, triplet_indices(peaks, INDEX_PROFILE.partners, lone_partner=True))
    hashes, _, ok = triplets_to_hashes(tr, held_notes=True)
    return {"hashes": hashes, "frames": tr.t1[ok].astype(np.int32), **{k: v[ok] for k, v in fields.items()}}


def cached_track(job: tuple[str, str]) -> dict[str, np.ndarray]:
    path, folder = job
    name = os.path.join(folder, os.path.basename(path) + ".npz")
    if not os.path.exists(name):
        np.savez(name + ".tmp.npz", **index_track(path))
        os.replace(name + ".tmp.npz", name)
    with np.load(name) as z:
        return {k: z[k] for k in z.files}


def synthetic_index(stored: np.ndarray, n: int) -> ArrayIndex:
    """``n`` version 2 rows drawn as ``bench/fingerprint_bench.py`` grows a catalog (each hash
    field from the distribution of ``stored``, independently), under one track id no real
    track has: what the scale runs put where real music would be."""
    from bench.fingerprint_bench import synthetic_hashes

    hashes = synthetic_hashes(stored, n, np.random.default_rng(5005))
    index = ArrayIndex.of_rows((hashes, np.full(n, -2, np.int32), np.zeros(n, np.int32)))
    index.rows()
    return index


def _without(lookup: Callable[[np.ndarray], tuple[np.ndarray, ...]],
             stopped: np.ndarray) -> Callable[[np.ndarray], tuple[np.ndarray, ...]]:
    """``lookup`` that never asks for the dense ids ``stopped`` marks."""
    return lambda hashes: lookup(hashes[(hashes < 0) | ~stopped[np.maximum(hashes, 0)]])


class Catalog:
    """Every track's rows in memory, looked up under each variant."""

    def __init__(self, tracks: list[dict[str, np.ndarray]], synthetic_from: list[int] | None = None) -> None:
        self.base = [t["hashes"] for t in tracks]
        self.synthetic = None if synthetic_from is None else synthetic_index(
            np.concatenate([self.base[i] for i in synthetic_from]), sum(h.size for h in self.base))
        ids = np.concatenate([np.full(t["hashes"].size, i, np.int32) for i, t in enumerate(tracks)])
        frames = np.concatenate([t["frames"] for t in tracks])
        fields = {k: np.concatenate([t[k] for t in tracks]) for k in FIELDS}
        hashes = np.concatenate(self.base).astype(np.int64)
        self.pairs = {i: TrackPairs(i, t["hashes"], t["frames"]) for i, t in enumerate(tracks)}
        self.vocab: dict[str, np.ndarray] = {}
        self.index: dict[str, ArrayIndex] = {}
        for name, (_, extra) in VARIANTS.items():
            keys = hashes | (extra(fields) << 31)
            self.vocab[name] = np.unique(keys)
            dense = np.searchsorted(self.vocab[name], keys).astype(np.int32)
            self.index[name] = ArrayIndex.of_rows((dense, ids, frames))
            self.index[name].rows()
        self.lookups: dict[str, Callable[[np.ndarray], tuple[np.ndarray, ...]]] = {
            name: index.lookup for name, index in self.index.items()}
        self.keys_of = {name: name for name in VARIANTS}
        for name, (base, _) in PROBES.items():
            self.lookups[name] = self.index[base].lookup
            self.keys_of[name] = base
        counts = np.bincount(self.index["v2"].rows()[0], minlength=self.vocab["v2"].size)
        shift, mask = HELD_NOTE_FIELD
        counts[(self.vocab["v2"] >> shift) & mask == HELD_NOTE] = 0  # never looked up anyway
        commonest = np.argsort(-counts, kind="stable")
        held = np.cumsum(counts[commonest]) / max(counts.sum(), 1)
        self.stop_lists: dict[str, dict[str, float]] = {}
        for name, share in STOP_LISTS.items():
            listed = commonest[:int(np.searchsorted(held, share)) + 1]
            stopped = np.zeros(counts.size, bool)
            stopped[listed] = True
            self.lookups[name] = _without(self.index["v2"].lookup, stopped)
            self.keys_of[name] = "v2"
            self.stop_lists[name] = {"hashes": int(listed.size), "of_distinct": int(np.count_nonzero(counts)),
                                     "fewest_rows": int(counts[listed].min())}

    def dense(self, name: str, keys: np.ndarray) -> np.ndarray:
        """The variant's keys as the dense ids its index holds (-1: held by no track)."""
        vocab = self.vocab[name]
        at = np.minimum(np.searchsorted(vocab, keys), max(vocab.size - 1, 0))
        return np.where(vocab[at] == keys, at, -1).astype(np.int32)

    def pairs_of(self, tracks: np.ndarray) -> Callable[[np.ndarray], tuple[np.ndarray, ...]]:
        return lookup_in([self.pairs[int(t)] for t in tracks])


def query_variants(samples: np.ndarray) -> tuple[Query, dict[str, np.ndarray], np.ndarray]:
    """The excerpt's ``Query`` and, for every variant, the 64-bit key of each of its triplet
    prints (the prints' order), checked against ``query_fingerprint``'s hashes; for a multi-probe
    lookup (``PROBES``) its keys and the triplet each belongs to, under ``(name, "take")``."""
    query = query_fingerprint(samples)
    spec = spectrogram(samples)
    peaks = _select_peaks(spec, _ranked_candidates(spec), QUERY_PROFILE.triplet_peaks_per_second)
    tr, fields = triplets_of(peaks, triplet_indices(peaks, QUERY_PROFILE.triplet_partners, lone_partner=False))
    hashes, kept = [], []
    for pitch, tempo in zip(*(h.tolist() for h in hypotheses(QUERY_PROFILE)), strict=True):
        h, _, ok = triplets_to_hashes(tr, pitch, tempo=tempo)
        hashes.append(h)
        kept.append(np.flatnonzero(ok))
    if not np.array_equal(np.concatenate(hashes), query.triplets.hashes):
        raise AssertionError("the triplets here are not query_fingerprint's")
    rows = np.concatenate(kept)
    base = query.triplets.hashes.astype(np.int64)
    chosen = {k: v[rows] for k, v in fields.items()}
    keys = {name: base | (extra(chosen) << 31) for name, (_, extra) in VARIANTS.items()}
    for name, (variant, margin) in PROBES.items():
        keys[name], keys[f"{name} take"] = probe_keys(keys[variant], chosen, margin)
    return query, keys, rows


def with_keys(query: Query, dense: np.ndarray, take: np.ndarray | None = None) -> Query:
    """The query with these keys in place of its hashes (``take``: the triplet each key belongs to, when a
    multi-probe lookup gives a triplet several)."""
    t = query.triplets
    times, speed_index = (t.times, t.speed_index) if take is None else (t.times[take], t.speed_index[take])
    return Query(QueryPrints(dense, times, speed_index, t.speeds, t.duration_seconds, t.pitches), query.pairs,
                 query.landmarks, query.profile)


def answer(catalog: Catalog, query: Query, keys: dict[str, np.ndarray], truth: int | None) -> dict[str, dict]:
    """Every variant's answer to one excerpt and the rows its nominal-speed lookup returns."""
    out = {}
    for name, lookup in catalog.lookups.items():
        if SELECTED and name not in SELECTED:
            continue
        own_keys = keys[name] if name in PROBES else keys[catalog.keys_of[name]]
        q = with_keys(query, catalog.dense(catalog.keys_of[name], own_keys), keys.get(f"{name} take"))
        rows = lookup(np.unique(nominal_only(q).triplets.hashes))
        own = int(np.count_nonzero(rows[1] == truth)) if truth is not None else 0
        named = ranked_candidates(nominal_only(q).triplets, lookup)[0].size
        t0 = time.perf_counter()
        found: MatchResult | None = identify_query(q, lookup, catalog.pairs_of)
        out[name] = {"track": None if found is None else found.track_id,
                     "evidence": None if found is None else round(found.evidence, 2),
                     "ms": round(1000 * (time.perf_counter() - t0), 1),
                     "rows": int(rows[0].size), "own_rows": own,
                     "candidates": int(named)}
    if catalog.synthetic is not None:  # the query's own hashes are version 2's
        nominal = np.unique(nominal_only(query).triplets.hashes)
        out["v2"]["synthetic_rows"] = int(catalog.synthetic.lookup(nominal)[0].size)
    return out


def dev_queries(corpus: str, speed_queries: str) -> list[dict]:
    """The DEV query set and speed_bench's: path, truth (the track's path, None for a
    negative), condition, length and set of each."""
    listed = json.load(open(os.path.join(corpus, "queries", "queries.json")))["queries"]
    out = [{"path": os.path.join(corpus, "queries", q["file"]),
            "truth": os.path.join(corpus, q["truth"]) if q["split"] == "catalog" else None,
            "condition": q["condition"], "length": q["length"], "set": "dev"} for q in listed]
    return out + made_queries(corpus, speed_queries, "speed")


def made_queries(corpus: str, folder: str, name: str) -> list[dict]:
    """The query set ``bench/speed_bench.py`` or ``bench/broadcast_bench.py`` wrote into ``folder``
    (excerpts of the DEV corpus), as ``dev_queries`` gives its records."""
    listed = json.load(open(os.path.join(folder, "queries.json")))["queries"]
    return [{"path": os.path.join(folder, q["file"]), "truth": q["truth"] and os.path.join(corpus, q["truth"]),
             "condition": q["condition"], "length": q["length"], "set": name} for q in listed]


def confuser_queries(corpus2: str) -> list[dict]:
    """``bench/confuser_bench.py``'s query set (excerpts of both corpora's catalog and held-out
    tracks, and speech), as ``dev_queries`` gives its records."""
    listed = json.load(open(os.path.join(corpus2, "queries-confusers", "queries.json")))
    roots = listed["corpora"]

    def truth(q: dict) -> str | None:
        if not q["truth"]:
            return None
        which, rest = q["truth"].split("/", 1)
        return os.path.join(roots[which], rest)

    return [{"path": os.path.join(corpus2, "queries-confusers", q["file"]), "truth": truth(q),
             "condition": q["condition"], "length": q["length"], "set": "confusers"} for q in listed["queries"]]


def catalog_files(root: str) -> list[str]:
    manifest = json.load(open(os.path.join(root, "manifest.json")))
    return sorted(os.path.join(root, t["file"]) for t in manifest["tracks"] if t["split"] == "catalog")


_CATALOG: Catalog | None = None
#: The variants, stop-lists and probes answered (``--variants``); empty: all of them.
SELECTED: list[str] = []


def _load(paths: list[str], folder: str, synthetic_from: list[int] | None = None,
          selected: list[str] | None = None) -> None:
    global _CATALOG
    SELECTED[:] = selected or []
    _CATALOG = Catalog([cached_track((p, folder)) for p in paths], synthetic_from)


def _answer_file(job: dict) -> dict:
    assert _CATALOG is not None
    try:
        samples = audio.decode_file(job["path"])
    except audio.SilentAudio:  # a quiet passage: a scan records silence and never asks
        return {**job, "answers": {name: {"track": None, "silent": True, "rows": 0, "own_rows": 0, "candidates": 0}
                                   for name in SELECTED or [*VARIANTS, *STOP_LISTS, *PROBES]}}
    query, keys, _ = query_variants(samples)
    return {**job, "answers": answer(_CATALOG, query, keys, job.get("truth_id"))}


def _answer_excerpt(job: dict) -> dict:
    assert _CATALOG is not None
    samples = np.load(job.pop("samples_path"))
    query, keys, _ = query_variants(samples)
    return {**job, "answers": answer(_CATALOG, query, keys, job["truth_id"])}


def accuracy(args: argparse.Namespace) -> dict:
    """The DEV catalog alone (``--catalog dev``) or with the second corpus's (``both``: then
    the confuser bench's queries too), every query answered by every variant."""
    paths = catalog_files(args.dev) + (catalog_files(args.corpus2) if args.catalog == "both" else [])
    folder = os.path.join(args.work, "prints")
    os.makedirs(folder, exist_ok=True)
    with ProcessPoolExecutor(args.jobs) as pool:
        list(pool.map(cached_track, [(p, folder) for p in paths]))
    if args.broadcast_queries:
        jobs = made_queries(args.dev, args.broadcast_queries, "broadcast")
    else:
        jobs = dev_queries(args.dev, args.speed_queries)
        if args.catalog == "both":
            jobs += confuser_queries(args.corpus2)
    for j in jobs:
        j["truth_id"] = paths.index(j["truth"]) if j["truth"] else None
    with ProcessPoolExecutor(args.jobs, initializer=_load, initargs=(paths, folder, None, args.variants)) as pool:
        records = list(pool.map(_answer_file, jobs, chunksize=8))
    return {"records": records, "tracks": len(paths)}


def real_paths(dev: str, corpus2: str) -> list[str]:
    out = []
    for root in (dev, corpus2):
        for split in ("catalog", "heldout"):
            folder = os.path.join(root, split)
            out += sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(".wav"))
    return out


def selectivity(args: argparse.Namespace) -> dict:
    paths = real_paths(args.dev, args.corpus2)
    folder = os.path.join(args.work, "prints")
    os.makedirs(folder, exist_ok=True)
    with ProcessPoolExecutor(args.jobs) as pool:
        list(pool.map(cached_track, [(p, folder) for p in paths]))
    seconds = 0.0
    jobs = []
    rng = np.random.default_rng(4004)
    cuts = os.path.join(args.work, "excerpts")
    os.makedirs(cuts, exist_ok=True)
    for i, path in enumerate(paths):
        samples = audio.decode_file(path)
        seconds += samples.size / audio.ANALYSIS_RATE
        for length in (5.0, 10.0):
            n = int(length * audio.ANALYSIS_RATE)
            if samples.size < n + 4 * audio.ANALYSIS_RATE:
                continue
            start = int(rng.uniform(2 * audio.ANALYSIS_RATE, samples.size - n - 2 * audio.ANALYSIS_RATE))
            name = os.path.join(cuts, f"{i}_{int(length)}.npy")
            np.save(name, samples[start:start + n])
            jobs.append({"samples_path": name, "track": os.path.basename(path), "truth_id": i,
                         "condition": "clean", "length": length})
    dev_catalog = [i for i, p in enumerate(paths) if p in catalog_files(args.dev)]
    with ProcessPoolExecutor(args.jobs, initializer=_load,
                             initargs=(paths, folder, dev_catalog, args.variants)) as pool:
        records = list(pool.map(_answer_excerpt, jobs, chunksize=8))
    stop_lists = Catalog([cached_track((p, folder)) for p in paths]).stop_lists
    return {"records": records, "tracks": len(paths), "audio_hours": round(seconds / 3600, 2),
            "stop_lists": stop_lists}


def accuracy_table(result: dict) -> str:
    rows: dict[tuple[str, str, float], dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
    fp: dict[str, list[bool]] = defaultdict(list)
    for r in result["records"]:
        for name, a in r["answers"].items():
            if r["truth_id"] is None:
                fp[name].append(a["track"] is not None)
            else:
                rows[(r.get("set", "dev"), r["condition"], r["length"])][name].append(a["track"] == r["truth_id"])
    names = list(result["records"][0]["answers"])
    lines = ["| condition | clips | " + " | ".join(names) + " |", "| --- | --- |" + " --- |" * len(names)]
    for (queries, condition, length), by in sorted(rows.items(), key=lambda kv: (kv[0][0], kv[0][2], kv[0][1])):
        lines.append(f"| {queries}: {condition} {length:g} s | {len(by[names[0]])} | "
                     + " | ".join(f"{100 * np.mean(by[n]):.1f} %" for n in names) + " |")
    lines.append(f"| false positives | {len(fp[names[0]])} | "
                 + " | ".join(f"{sum(fp[n])}" for n in names) + " |")
    return "\n".join(lines)


def kept_table(result: dict) -> str:
    """The right track's rows a nominal-speed lookup returns, each variant against v2, per
    condition at nominal speed (the share of its matching triplets the extra bits keep)."""
    own: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in result["records"]:
        if r["truth_id"] is not None and not r["condition"].startswith(("speed", "stretch")):
            for name, a in r["answers"].items():
                own[r["condition"]][name] += a["own_rows"]
    names = list(result["records"][0]["answers"])
    lines = ["| condition | " + " | ".join(names) + " |", "| --- |" + " --- |" * len(names)]
    for condition, by in sorted(own.items()):
        lines.append(f"| {condition} | " + " | ".join(f"{100 * by[n] / max(by[names[0]], 1):.0f} %" for n in names)
                     + " |")
    return "\n".join(lines)


def selectivity_table(result: dict) -> str:
    names = list(result["records"][0]["answers"])
    lines = ["| excerpts | figure | " + " | ".join(names) + " |", "| --- | --- |" + " --- |" * len(names)]
    for length in (5.0, 10.0):
        recs = [r for r in result["records"] if r["length"] == length]
        other = {n: np.array([r["answers"][n]["rows"] - r["answers"][n]["own_rows"] for r in recs]) for n in names}
        own = {n: np.array([r["answers"][n]["own_rows"] for r in recs]) for n in names}
        right = {n: np.mean([r["answers"][n]["track"] == r["truth_id"] for r in recs]) for n in names}
        base = other[names[0]].sum()
        lines.append(f"| {len(recs)} × {length:g} s | rows of other tracks, mean per lookup | "
                     + " | ".join(f"{other[n].mean():.0f}" for n in names) + " |")
        lines.append("| | fewer than v2 | "
                     + " | ".join(f"{base / max(other[n].sum(), 1):.2f}×" for n in names) + " |")
        lines.append("| | rows of the excerpt's own track, mean | "
                     + " | ".join(f"{own[n].mean():.0f}" for n in names) + " |")
        lines.append("| | top-1 | " + " | ".join(f"{100 * right[n]:.1f} %" for n in names) + " |")
    for name, listed in result.get("stop_lists", {}).items():
        lines.append(f"\n{name}: the {listed['hashes']:,} commonest of {listed['of_distinct']:,} looked-up hashes "
                     f"(each of {listed['fewest_rows']} rows or more).")
    synthetic = [r["answers"]["v2"].get("synthetic_rows") for r in result["records"]]
    if None not in synthetic:
        real = [r["answers"]["v2"]["rows"] - r["answers"]["v2"]["own_rows"] for r in result["records"]]
        lines.append(f"\nThe same lookups (v2) among as many rows drawn as the scale runs draw them: "
                     f"{np.mean(synthetic):.0f} rows per lookup against {np.mean(real):.0f} of real tracks "
                     f"({np.sum(synthetic) / np.sum(real):.2f}×).")
    return "\n".join(lines)


ANSWER_FIELDS = ("track", "evidence", "rows", "own_rows", "candidates", "synthetic_rows")


def compact(result: dict) -> dict:
    """``result`` as saved: each record's answers a list of ``ANSWER_FIELDS`` per variant."""
    names = list(result["records"][0]["answers"])
    records = [{**r, "answers": [[r["answers"][n].get(f) for f in ANSWER_FIELDS] for n in names]}
               for r in result["records"]]
    return {**result, "variants": names, "records": records}


def expand(saved: dict) -> dict:
    """The inverse of ``compact``."""
    records = [{**r, "answers": {n: dict(zip(ANSWER_FIELDS, a, strict=False))
                                 for n, a in zip(saved["variants"], r["answers"], strict=True)}}
               for r in saved["records"]]
    return {**saved, "records": records}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("step", nargs="?", choices=["accuracy", "selectivity"])
    ap.add_argument("--dev", default="/work/corpus")
    ap.add_argument("--corpus2", default="/work/corpus2")
    ap.add_argument("--speed-queries", default="/tmp/zamio-speed-queries",
                    help="bench/speed_bench.py's query set (made by it)")
    ap.add_argument("--catalog", choices=["dev", "both"], default="dev",
                    help="accuracy: the DEV catalog alone, or with the second corpus's (330 real tracks)")
    ap.add_argument("--broadcast-queries", metavar="DIR",
                    help="accuracy: bench/broadcast_bench.py's query set instead (its --only-queries writes it)")
    ap.add_argument("--work", default="/tmp/zamio-selective-work")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", default=os.path.join(REPO, "bench", "results"))
    ap.add_argument("--report", action="store_true")
    ap.add_argument("--variants", nargs="+", metavar="NAME",
                    help="answer by these variants, stop-lists and probes only (v2 first: the tables compare with it)")
    ap.add_argument("--key", help="save the run under this key instead (another selection of variants)")
    args = ap.parse_args()
    saved = os.path.join(args.out, "selective_hash.json")
    found = {k: expand(v) for k, v in json.load(open(saved)).items()} if os.path.exists(saved) else {}
    if args.step:
        t0 = time.time()
        result = (accuracy if args.step == "accuracy" else selectivity)(args)
        result["conditions"] = {"load_average": [round(v, 1) for v in os.getloadavg()],
                                "seconds": round(time.time() - t0)}
        broadcast = "_broadcast" if args.broadcast_queries else ""
        found[args.key or (args.step if args.step == "selectivity" else f"accuracy_{args.catalog}{broadcast}")] = result
        json.dump({k: compact(v) for k, v in found.items()}, open(saved, "w"), separators=(",", ":"))
    for key in [k for k in found if k.startswith("accuracy")]:
        if key in found:
            figures = found[key]
            print(f"Accuracy ({key}), {figures['tracks']} catalog tracks in memory:\n")
            print(accuracy_table(figures) + "\n")
            print("The right track's rows in the nominal-speed lookup, against v2:\n")
            print(kept_table(figures) + "\n")
    for key in [k for k in found if k.startswith("selectivity")]:
        s = found[key]
        print(f"Selectivity ({key}), {s['tracks']} real tracks ({s['audio_hours']} h) in memory, "
              "nominal-speed lookup:\n")
        print(selectivity_table(s))


if __name__ == "__main__":
    main()
