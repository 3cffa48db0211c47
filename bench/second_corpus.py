#!/usr/bin/env python3
"""The second real-music corpus: music of free games packaged by Debian, and its queries.

    bench/second_corpus.py list bench/lists/second.list     # choose the tracks (packages installed)
    bench/second_corpus.py queries /work/corpus2 --dev /work/corpus

``bench/get-second-corpus.sh`` runs both around the shared ``prepare_corpus.py``; see it
for the whole recipe.

``list`` looks at the music folders of ``PACKAGES`` (every one in Debian main, so under a
licence the Debian Free Software Guidelines accept; each file's licence is read from the
package's ``copyright`` file) and keeps the Ogg Vorbis, MP3, FLAC and WAV files of at least
``MIN_SECONDS``.  Tracker and MIDI files are left out: ffmpeg renders them without their
instruments' care.  Two files holding the same music would make a held-out excerpt a
true match of a catalog track, so duplicates are dropped: the same decoded samples
(SHA-256), or the same music by fingerprint (an excerpt of one recognised as the other,
which also catches the same piece at another bit rate or cut shorter).  The DEV corpus
(wesnoth) takes part in the check, so no track of the second corpus is a DEV track.
The music of warzone2100, singularity, hyperrogue, nexuiz and ufoai is kept for an
independent check and never looked at.  Writes ``group|path|package|licence|duration``
lines (group: the package, or package.folder where two of its files share a name, since
``prepare_corpus.py`` names a corpus file after its group and file name), dropped files as
comments saying which file they repeat.

``queries`` writes the confuser bench's queries, deterministically, into
``CORPUS/queries-confusers/`` with a ``queries.json`` in the shared protocol's format:
from the second corpus and from the DEV corpus, one excerpt of 5 s and one of 10 s per
chosen track (every track of DEV, every held-out track and every ``--every``-th catalog track
of the second corpus), each under ``CONDITIONS``; and ``espeak-ng`` speech (radio talk, never
in any catalog) under the same conditions as further negatives.
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
# The shared protocol's query functions (make_queries.py), so the confuser queries are made the same way.
SHARED_BENCH = os.environ.get("SHARED_BENCH", "/work/shared/bench")

from scipy.io import wavfile  # noqa: E402
from scipy.signal import resample_poly  # noqa: E402

from zamio.recognition import audio, fingerprint, match  # noqa: E402
from zamio.recognition.query import Query, query_fingerprint  # noqa: E402

# Debian packages of free games whose music the corpus takes, and where each keeps it.
DEFAULT_MUSIC = r"(?i)/(music|mus|songs?)/"
PACKAGES = {
    "asc-music": DEFAULT_MUSIC,
    "colobot-common-sounds": DEFAULT_MUSIC,
    "extremetuxracer-data": DEFAULT_MUSIC,
    "btanks-data": r"/tunes/",
    "drascula-music": r"/drascula/en/",  # the other languages' folders hold the same music
    "fb-music-high": r"\.ogg$",
    "fillets-ng-data": r"/fillets-ng/music/",
    "flare-game": DEFAULT_MUSIC,
    "freeciv-data": r"/stdmusic/",
    "freecol": DEFAULT_MUSIC,
    "freedroidrpg-data": DEFAULT_MUSIC,
    "fretsonfire-songs-muldjord": r"/song\.ogg$",  # the whole mix; guitar.ogg is one of its parts
    "fretsonfire-songs-sectoid": r"/song\.ogg$",
    "frozen-bubble-data": r"/snd/[^/]*zik[^/]*$",  # its music files are named "...zik"
    "funnyboat": r"/funnyboat/data/[^/]+\.ogg$",
    "hedgewars-data": DEFAULT_MUSIC,
    "holotz-castle-data": r"/sound/",
    "lincity-ng-data": DEFAULT_MUSIC,
    "lugaru-data": r"/Sounds/Music",
    "megaglest-data": DEFAULT_MUSIC,
    "naev-data": DEFAULT_MUSIC,
    "neverball-data": r"/bgm/",
    "openclonk-data": r"/Music\.ocg/",
    "scorched3d-data": DEFAULT_MUSIC,
    "supertux-data": DEFAULT_MUSIC,
    # each race track folder holds its own music beside the models; speech and engine sounds are not music
    "supertuxkart-data": r"/data/(music/|tracks/[^/]+/(?![^/]*(speech|steamLocomotive))[^/]+\.ogg$)",
    "widelands-data": DEFAULT_MUSIC,
    "xmoto-data": r"/Musics/",
}
# Copyright files that are not in the machine-readable format: their one licence for the music.
LICENCE_NOTES = {
    "fb-music-high": "GPL-2+",
    "fillets-ng-data": "GPL-2+",
    "fretsonfire-songs-muldjord": "CC-BY-SA-3.0",
    "fretsonfire-songs-sectoid": "Expat",
    "openclonk-data": "CC-BY-3.0 or CC0-1.0 (game content, copyright file)",
}
RESERVED = re.compile(r"warzone2100|singularity|hyperrogue|nexuiz|ufoai|wesnoth")
AUDIO_EXTENSIONS = (".ogg", ".oga", ".mp3", ".flac", ".wav", ".opus")
MIN_SECONDS = 30.0  # shorter files are jingles and stings, not songs a station plays
SAME_MUSIC_PROBES = (0.2, 0.4, 0.6, 0.8)  # where (fraction of the track) the 10 s duplicate probes start
ALIGN_TOLERANCE_SECONDS = 1.0  # two probes of one copy sit as far apart in the original, give or take
PROBE_SECONDS = 10.0

CONDITIONS = ("clean", "snr5", "snr0", "mp3_64k", "speed+2", "speed-3")
LENGTHS = (5.0, 10.0)
SPEECH_CLIPS = 16
SPEECH_VOICES = ("en+m1", "en+f2", "en-us+m3", "en-gb-x-rp+f4", "fr-fr+m2", "de+m6", "sw+m4", "en+klatt")


def music_files(package: str, pattern: str) -> list[str]:
    """Return the audio files of an installed ``package`` whose path matches ``pattern``, sorted."""
    listing = subprocess.run(["dpkg", "-L", package], capture_output=True, text=True, check=True).stdout
    paths = [p for p in listing.splitlines() if p.lower().endswith(AUDIO_EXTENSIONS) and re.search(pattern, p)]
    return sorted(p for p in paths if os.path.isfile(p) and not RESERVED.search(p))


def duration_seconds(path: str) -> float:
    """The duration ffprobe reads from the container (0.0 when it cannot)."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", path],
        capture_output=True,
        text=True,
    )
    try:
        return float(out.stdout.strip())
    except ValueError:
        return 0.0


def copyright_stanzas(package: str) -> list[tuple[list[str], str]]:
    """The (file patterns, licence) stanzas of a machine-readable copyright file, in order."""
    text = open(f"/usr/share/doc/{package}/copyright", encoding="utf-8", errors="replace").read()
    stanzas = []
    for block in re.split(r"\n\s*\n", text):
        files = re.search(r"^Files:(.*(?:\n[ \t]+.*)*)", block, re.M)
        licence = re.search(r"^License:[ \t]*(.+)$", block, re.M)
        if files and licence:
            stanzas.append((files.group(1).split(), licence.group(1).strip()))
    return stanzas


def licence_of(package: str, path: str, stanzas: list[tuple[list[str], str]]) -> str:
    """The licence of an installed file: the last stanza whose pattern matches a tail of its
    path (source paths are not installed paths), else the ``Files: *`` stanza's."""
    if package in LICENCE_NOTES:
        return LICENCE_NOTES[package]
    parts = path.split("/")
    tails = ["/".join(parts[i:]) for i in range(1, len(parts))]
    found = ""
    for patterns, licence in stanzas:
        if any(
            p == "*" or any(fnmatch.fnmatch(t, p) or fnmatch.fnmatch(t, p.rstrip("/") + "/*") for t in tails)
            for p in patterns
        ):
            found = licence if "*" not in patterns or not found else found
    return found or "see copyright"


def analysis_samples(path: str) -> tuple[str, np.ndarray]:
    """Decode one file to zamio's analysis rate; return (SHA-256 of the samples, samples)."""
    samples = audio.decode_file(path)
    return hashlib.sha256(samples.tobytes()).hexdigest(), samples


def probe_prints(samples: np.ndarray) -> list[tuple[float, Query]]:
    """The start (s) and query fingerprint of each 10 s duplicate probe of one track."""
    n, rate = samples.size, audio.ANALYSIS_RATE
    starts = [int(f * max(0, n - PROBE_SECONDS * rate)) for f in SAME_MUSIC_PROBES]
    return [(s / rate, query_fingerprint(samples[s : s + int(PROBE_SECONDS * rate)])) for s in starts]


def _prints(path: str) -> tuple[str, fingerprint.Fingerprint, list[tuple[float, Query]]]:
    digest, samples = analysis_samples(path)
    return digest, fingerprint.fingerprint(samples), probe_prints(samples)


def choose(candidates: list[tuple[str, str]], dev_paths: list[str], jobs: int) -> list[tuple[str, str, str]]:
    """Drop duplicates from ``candidates`` ((package, path), in order): a file whose decoded
    samples equal an earlier kept file's or a DEV track's, or whose music is one of theirs
    (``same_music``).  Return every candidate as (package, path, "") when kept or
    (package, path, "same as OTHER") when dropped."""
    paths = dev_paths + [p for _, p in candidates]
    with ProcessPoolExecutor(jobs) as pool:
        prints = list(pool.map(_prints, paths, chunksize=4))
    index = match.ArrayIndex()
    for i, (_, fp, _) in enumerate(prints):
        index.add(i, fp.hashes, fp.offsets)
    kept: set[int] = set(range(len(dev_paths)))
    seen = {prints[i][0]: i for i in kept}
    decisions = []
    for i in range(len(dev_paths), len(paths)):
        twin = seen.get(prints[i][0])
        if twin is None:
            twin, lone = same_music(prints[i][2], index, kept)
            for other in lone:
                print(f"one probe of {paths[i]} recognised as {paths[other]}, the others not: kept", flush=True)
        if twin is None:
            kept.add(i)
            seen[prints[i][0]] = i
        package = candidates[i - len(dev_paths)][0]
        decisions.append((package, paths[i], "" if twin is None else f"same as {paths[twin]}"))
    return decisions


def same_music(
    probes: list[tuple[float, Query]], index: match.ArrayIndex, kept: set[int]
) -> tuple[int | None, list[int]]:
    """The kept track whose music a track holds: two probes recognised as it, at places as
    far apart in it as they are in the track (at the speed found; a faster or slower copy
    counts).  Only kept tracks are looked at: the track itself would always win, and a
    dropped copy may tie with its original.  Also return the tracks one probe alone was
    recognised as (a recognition the other probes do not confirm)."""
    allowed = np.fromiter(kept, np.int32)

    def only_kept(rows: match.Rows) -> match.Rows:
        keep = np.isin(rows[1], allowed)
        return rows[0][keep], rows[1][keep], rows[2][keep]

    def lookup(hashes: np.ndarray) -> match.Rows:
        return only_kept(index.lookup(hashes))

    def fetch(track_ids: np.ndarray) -> match.Rows:
        return only_kept(index.fetch(track_ids))

    found: dict[int, list[tuple[float, match.MatchResult]]] = {}
    for start, q in probes:
        result = match.recognise(q, lookup, match.pairs_from(fetch))
        if result is not None:
            found.setdefault(result.track_id, []).append((start, result))
    for track, hits in found.items():
        for k, (start, result) in enumerate(hits):
            for later, other in hits[k + 1 :]:
                expected = (later - start) * result.speed
                if abs(other.offset_seconds - result.offset_seconds - expected) <= ALIGN_TOLERANCE_SECONDS:
                    return track, []
    return None, sorted(found)


def corpus_groups(tracks: list[tuple[str, str]]) -> dict[str, str]:
    """The group of each (package, path): its package, or package.folder where two files of
    the package share a name (prepare_corpus.py names a corpus file group__name)."""
    names: dict[tuple[str, str], int] = {}
    for package, path in tracks:
        key = (package, os.path.splitext(os.path.basename(path))[0])
        names[key] = names.get(key, 0) + 1
    groups = {}
    for package, path in tracks:
        shared = names[(package, os.path.splitext(os.path.basename(path))[0])] > 1
        folder = re.sub(r"[^A-Za-z0-9_-]+", "_", os.path.basename(os.path.dirname(path)))
        groups[path] = f"{package}.{folder}" if shared else package
    return groups


def make_list(out: str, dev: str, jobs: int) -> None:
    """Write the second corpus's list file (see the module docstring)."""
    candidates, facts = [], {}
    for package, pattern in sorted(PACKAGES.items()):
        stanzas = [] if package in LICENCE_NOTES else copyright_stanzas(package)
        for path in music_files(package, pattern):
            seconds = duration_seconds(path)
            if seconds >= MIN_SECONDS:
                candidates.append((package, path))
                facts[path] = (licence_of(package, path, stanzas), seconds)
    dev_manifest = json.load(open(os.path.join(dev, "manifest.json")))
    dev_paths = sorted(os.path.join(dev, t["file"]) for t in dev_manifest["tracks"])
    decisions = choose(candidates, dev_paths, jobs)
    groups = corpus_groups([(package, path) for package, path, dropped in decisions if not dropped])
    with open(out, "w") as f:
        f.write("# group|path|package|licence|duration (s); made by bench/second_corpus.py list\n")
        for package, path, dropped in decisions:
            licence, seconds = facts[path]
            line = f"{groups.get(path, package)}|{path}|{package}|{licence}|{seconds:.3f}"
            f.write(f"# {line}|{dropped}\n" if dropped else line + "\n")
    kept = sum(1 for d in decisions if not d[2])
    print(f"{out}: {kept} tracks kept of {len(decisions)} ({len(decisions) - kept} duplicates)")


def render(x: np.ndarray, sr: int, i0: int, n: int, condition: str, seed: int) -> np.ndarray:
    """The excerpt ``x[i0:i0+n]`` under ``condition`` (make_queries.py's, plus slower speeds)."""
    seg = x[i0 : i0 + n]
    if condition == "clean":
        return seg
    if condition.startswith("snr"):
        noise = np.random.default_rng(seed).standard_normal(len(seg))
        return seg + noise * np.sqrt(np.mean(seg**2) / 10 ** (float(condition[3:]) / 10))
    if condition.startswith("mp3_"):
        return shared_queries().mp3_roundtrip(seg, sr, int(condition[4:].rstrip("k")))
    if condition.startswith("speed"):
        percent = int(condition[5:])  # played faster (+) or slower (-): resampled, pitch moves with it
        span = int(round(n * (100 + percent) / 100))
        return resample_poly(x[i0 : i0 + span], 100, 100 + percent)[:n]
    raise SystemExit(f"unknown condition {condition}")


def shared_queries():
    """The shared bench's make_queries module."""
    if SHARED_BENCH not in sys.path:
        sys.path.insert(0, SHARED_BENCH)
    import make_queries

    return make_queries


def track_queries(corpus: str, track: dict, name: str, out: str, seed: int) -> list[dict]:
    """Write one excerpt of each length of one corpus track under every condition; return the entries."""
    shared = shared_queries()
    sr, x = wavfile.read(os.path.join(corpus, track["file"]))
    x = shared.to_float(x)
    entries = []
    for length in LENGTHS:
        n = int(round(length * sr))
        rng = np.random.default_rng(shared.seed_for(seed, name, track["file"], length))
        start = float(rng.uniform(2.0, max(2.0, len(x) / sr - length * 1.04 - 2.0)))
        i0 = int(round(start * sr))
        stem = os.path.splitext(os.path.basename(track["file"]))[0]
        for condition in CONDITIONS:
            rel = f"{condition}/{int(length)}s/{name}__{track['split']}__{stem}.wav"
            y = render(x, sr, i0, n, condition, shared.seed_for(seed, name, track["file"], length, condition))
            write_clip(out, rel, sr, y)
            truth = f"{name}/{track['file']}" if track["split"] == "catalog" else None
            entries.append(
                {
                    "file": rel,
                    "truth": truth,
                    "condition": condition,
                    "length": length,
                    "start": round(start, 3),
                    "track": f"{name}/{track['file']}",
                    "split": track["split"],
                    "set": name,
                }
            )
    return entries


def write_clip(out: str, rel: str, sr: int, y: np.ndarray) -> None:
    os.makedirs(os.path.dirname(os.path.join(out, rel)), exist_ok=True)
    shared_queries().write_wav(os.path.join(out, rel), sr, y)


def speech_queries(out: str, sr: int, seed: int) -> list[dict]:
    """Write ``SPEECH_CLIPS`` espeak-ng readings of radio talk under every condition; return the entries."""
    from bench.music_bench import TEXTS

    entries = []
    for k in range(SPEECH_CLIPS):
        voice = SPEECH_VOICES[k % len(SPEECH_VOICES)]
        text = " ".join(TEXTS[(k + j) % len(TEXTS)] for j in range(3))  # long enough for a 10 s excerpt
        x = spoken(text, voice, sr)
        for length in LENGTHS:
            n = int(round(length * sr))
            for condition in CONDITIONS:
                rel = f"{condition}/{int(length)}s/speech__{k:02d}.wav"
                y = render(
                    x, sr, int(0.5 * sr), n, condition, shared_queries().seed_for(seed, "speech", k, length, condition)
                )
                write_clip(out, rel, sr, y)
                entries.append(
                    {
                        "file": rel,
                        "truth": None,
                        "condition": condition,
                        "length": length,
                        "start": 0.5,
                        "track": f"speech/{voice}/{k}",
                        "split": "speech",
                        "set": "speech",
                    }
                )
    return entries


def spoken(text: str, voice: str, sr: int) -> np.ndarray:
    """espeak-ng reading ``text`` in ``voice``, at ``sr`` Hz."""
    with tempfile.TemporaryDirectory() as tmp:
        raw, wav = os.path.join(tmp, "raw.wav"), os.path.join(tmp, "voice.wav")
        subprocess.run(["espeak-ng", "-v", voice, "-s", "165", "-w", raw, text], check=True, capture_output=True)
        subprocess.run(
            ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", raw, "-ac", "1", "-ar", str(sr), wav], check=True
        )
        return shared_queries().to_float(wavfile.read(wav)[1]) * 0.8


def make_queries(corpus: str, dev: str, every: int, seed: int) -> None:
    """Write ``CORPUS/queries-confusers`` (see the module docstring)."""
    out = os.path.join(corpus, "queries-confusers")
    entries = []
    for name, folder, step in (("dev", dev, 1), ("second", corpus, every)):
        tracks = sorted(json.load(open(os.path.join(folder, "manifest.json")))["tracks"], key=lambda t: t["file"])
        # every held-out track (the negatives are few), a sample of the catalog tracks
        chosen = [t for t in tracks if t["split"] == "catalog"][::step] + [t for t in tracks if t["split"] != "catalog"]
        for track in chosen:
            entries += track_queries(folder, track, name, out, seed)
    entries += speech_queries(out, 22050, seed)
    with open(os.path.join(out, "queries.json"), "w") as f:
        json.dump({"seed": seed, "corpora": {"dev": dev, "second": corpus}, "queries": entries}, f, indent=0)
    positives = sum(e["truth"] is not None for e in entries)
    print(f"{out}: {len(entries)} queries ({positives} positive, {len(entries) - positives} negative)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    listing = sub.add_parser("list", help="choose the tracks from the installed packages")
    listing.add_argument("out")
    listing.add_argument("--dev", default="/work/corpus", help="the DEV corpus (its tracks are never chosen)")
    listing.add_argument("--jobs", type=int, default=2)
    queries = sub.add_parser("queries", help="write the confuser bench's queries")
    queries.add_argument("corpus")
    queries.add_argument("--dev", default="/work/corpus")
    queries.add_argument("--every", type=int, default=6, help="one track in EVERY of the second corpus")
    queries.add_argument("--seed", type=int, default=2002)
    a = ap.parse_args()
    if a.command == "list":
        make_list(a.out, a.dev, a.jobs)
    else:
        make_queries(a.corpus, a.dev, a.every, a.seed)


if __name__ == "__main__":
    main()
