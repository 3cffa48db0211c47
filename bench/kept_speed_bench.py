"""Captures played fast or slow, recognised from the prints the unknown index kept of them.

    nice -n 10 .venv/bin/python bench/kept_speed_bench.py
    nice -n 10 .venv/bin/python bench/kept_speed_bench.py --songs 40 --outside 20 --clips 3
    nice -n 10 .venv/bin/python bench/kept_speed_bench.py --music /usr/share/games/wesnoth/1.16/data/core/music

A catalog of generated songs (``zamio.demo.synth``, ``--songs`` of 40 s) is fingerprinted into an
index in memory; ``--outside`` more songs are not in it.  Each song gives ``--clips`` captures of 20 s
(seeded starts), played at each of ``--speeds`` (varispeed, ``synth.change_speed``), encoded MP3 64 kbit/s
by ffmpeg and decoded as a scan decodes them; each capture keeps the unknown index's prints
(``zamio.recognition.unknown.prints``) and nothing else.  From those prints the catalog's matcher
(``zamio.recognition.index.identify_query``) is asked under each query side compared.

With ``--music FOLDER`` the songs are recorded pieces instead (every ``*.ogg``, ``*.mp3``, ``*.flac`` or
``*.wav`` of the folder at least ``MIN_PIECE_SECONDS`` long, decoded by ``audio.decode_file``, whole):
``--songs`` of them, drawn by a seeded shuffle, in the catalog and ``--outside`` more outside it.  Their
captures are varispeeded at the analysis rate (the same resampling as ``synth.change_speed``) and
encoded MP3 64 kbit/s at 22,050 Hz, as the generated songs' are.

The query sides:

* ``nominal``: the query at nominal speed alone (no other speed hypothesis, as before);
* ``speeds``: the query under the hypotheses an excerpt's query has (``QUERY_PROFILE``), accepted as an
  excerpt's (the second look below ``match.VERIFY_BELOW``);
* ``speeds, second look``: the same, every answer past the nominal pass taking the second look
  (``kept_prints.VERIFY_OFF_NOMINAL``, what catalog naming asks);
* ``speeds, whole-cell pairs``: as ``speeds, second look``, the pairs decided a whole cell apart instead of
  half a cell (the kept prints' cells are whole);
* ``audio``: for reference, the capture's own audio recognised as the scan recognises an excerpt
  (``query_fingerprint``; its time includes the spectrogram).

Reported per speed: the share of the catalog's captures recognised as their song, those named as
another, and the outside songs' captures named as anything (a false answer); per query side, the
CPU time per capture (making the query and recognising it), measured side by side in one run, every
capture through each side in turn, and its ratio to ``nominal``.
"""

from __future__ import annotations

import argparse
import dataclasses
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from zamio.demo import synth  # noqa: E402
from zamio.recognition import audio, fingerprint, match, unknown  # noqa: E402
from zamio.recognition.index import identify_query  # noqa: E402
from zamio.recognition.kept_prints import VERIFY_OFF_NOMINAL, query_of_prints  # noqa: E402
from zamio.recognition.query import QUERY_PROFILE, query_fingerprint  # noqa: E402
from zamio.runtime.errors import ItemError  # noqa: E402

SONG_SECONDS = 40.0
CLIP_SECONDS = 20.0
MIN_PIECE_SECONDS = 40.0  # shorter recorded pieces (stings, jingles) give too few distinct captures
MUSIC_SUFFIXES = (".ogg", ".mp3", ".flac", ".wav")
MP3_RATE = 22050  # Hz the captures are encoded at, the generated songs' own rate
NOMINAL = dataclasses.replace(QUERY_PROFILE, min_speed=1.0, max_speed=1.0, stretch_tempos=(),
                              speed_window_cells=None)
SECOND_LOOK = VERIFY_OFF_NOMINAL
SIDES = {"nominal": (NOMINAL, match.VERIFY_BELOW), "speeds": (QUERY_PROFILE, match.VERIFY_BELOW),
         "speeds, second look": (QUERY_PROFILE, SECOND_LOOK),
         "speeds, whole-cell pairs": (dataclasses.replace(QUERY_PROFILE, pair_speed_step_cells=1.0),
                                      SECOND_LOOK),
         "audio": (QUERY_PROFILE, match.VERIFY_BELOW)}


@dataclasses.dataclass(frozen=True)
class Songs:
    """The songs captured: samples at ``rate`` Hz by key, the keys in the catalog and outside it, names."""

    samples: dict[int, np.ndarray]
    rate: int
    inside: list[int]
    outside: list[int]
    names: dict[int, str]


def generated_songs(inside: int, outside: int) -> Songs:
    """``inside`` generated songs of ``SONG_SECONDS`` for the catalog (seeds from 1000), ``outside`` more
    (seeds from 2000)."""
    keys_in, keys_out = list(range(1000, 1000 + inside)), list(range(2000, 2000 + outside))
    samples = {seed: synth.song(seed, SONG_SECONDS) for seed in keys_in + keys_out}
    return Songs(samples, synth.SYNTH_RATE, keys_in, keys_out, {seed: f"song {seed}" for seed in samples})


def recorded_songs(folder: Path, inside: int, outside: int) -> Songs:
    """Recorded pieces of ``folder`` at least ``MIN_PIECE_SECONDS`` long, decoded at the analysis rate;
    a seeded shuffle puts ``inside`` of them in the catalog and ``outside`` more outside it."""
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in MUSIC_SUFFIXES)
    pieces = {}
    for path in paths:
        try:
            pieces[path.stem] = audio.decode_file(path, timeout_seconds=600)
        except ItemError as error:  # wesnoth's silence.ogg, for one
            print(f"left out: {error}")
    long_enough = [name for name, x in pieces.items() if x.size >= MIN_PIECE_SECONDS * audio.ANALYSIS_RATE]
    if len(long_enough) < inside + outside:
        raise SystemExit(f"{folder}: {len(long_enough)} pieces of {MIN_PIECE_SECONDS:.0f} s or more, "
                         f"{inside + outside} asked for")
    chosen = [long_enough[k] for k in np.random.default_rng(11).permutation(len(long_enough))[:inside + outside]]
    names = dict(enumerate(chosen, start=1))
    keys = list(names)
    return Songs({k: pieces[n] for k, n in names.items()}, audio.ANALYSIS_RATE, keys[:inside], keys[inside:], names)


def capture(samples: np.ndarray, rate: int, percent: int, start_s: float, folder: Path) -> np.ndarray:
    """20 s of ``samples`` (at ``rate`` Hz) played ``percent`` % fast from ``start_s`` (of air time), through
    MP3 64k at ``MP3_RATE``, decoded."""
    played = synth.change_speed(samples, percent) if percent else samples
    clip = played[int(start_s * rate): int((start_s + CLIP_SECONDS) * rate)]
    wav, mp3 = folder / "clip.wav", folder / "clip.mp3"
    synth.write_wav(wav, clip, rate)
    subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", str(wav),
                    "-ar", str(MP3_RATE), "-c:a", "libmp3lame", "-b:a", "64k", str(mp3)], check=True)
    return audio.decode_file(mp3)


def answer(found: match.MatchResult | None) -> str:
    if found is None:
        return "none"
    return (f"track {found.track_id} at {found.offset_seconds:.2f} s, {found.aligned} aligned against "
            f"{found.runner_up}, evidence {found.evidence:.1f}")


def catalog_index(songs: Songs) -> match.ArrayIndex:
    index = match.ArrayIndex()
    for key in songs.inside:
        fp = fingerprint.fingerprint(audio.resample(songs.samples[key], songs.rate))
        index.add(key, fp.hashes, fp.offsets)
    return index


def recognise(samples: np.ndarray, index: match.ArrayIndex, pairs: match.PairsOf,
              cpu: dict[str, float]) -> dict[str, match.MatchResult | None]:
    """The answer of every query side to one capture, adding each side's CPU time to ``cpu``."""
    kept = unknown.prints(samples)
    seconds = samples.size / audio.ANALYSIS_RATE
    found = {}
    for side, (profile, verify_below) in SIDES.items():
        began = time.process_time()
        if side == "audio":
            query = query_fingerprint(samples, profile)
        else:
            query = query_of_prints(kept.hashes, kept.offsets, seconds, profile)
        found[side] = identify_query(query, index.lookup, pairs, verify_below)
        cpu[side] += time.process_time() - began
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--songs", type=int, default=24)
    parser.add_argument("--outside", type=int, default=12)
    parser.add_argument("--clips", type=int, default=2)
    parser.add_argument("--speeds", default="-4,-3,-2,0,2,3,4")
    parser.add_argument("--music", type=Path, help="a folder of recorded pieces to use instead of generated songs")
    args = parser.parse_args()
    speeds = [int(p) for p in args.speeds.split(",")]
    began = time.process_time()
    if args.music:
        songs = recorded_songs(args.music, args.songs, args.outside)
    else:
        songs = generated_songs(args.songs, args.outside)
    inside, outside = songs.inside, songs.outside
    index = catalog_index(songs)
    print(f"decoding or generating the songs and indexing the catalog: {time.process_time() - began:.0f} s CPU")
    if args.music:
        print("outside the catalog: " + ", ".join(songs.names[k] for k in outside))
    pairs = match.pairs_from(index.fetch)
    rng = np.random.default_rng(7)
    right = {(side, p): 0 for side in SIDES for p in speeds}
    wrong = dict.fromkeys(right, 0)
    false = dict.fromkeys(right, 0)
    cpu = dict.fromkeys(SIDES, 0.0)
    same_nominal = differ_nominal = 0
    captures = skipped = 0
    with tempfile.TemporaryDirectory() as scratch:
        for seed in inside + outside:
            duration = songs.samples[seed].size / songs.rate
            for _ in range(args.clips):
                start = float(rng.uniform(0.0, duration * 0.96 - CLIP_SECONDS))
                for percent in speeds:
                    try:
                        samples = capture(songs.samples[seed], songs.rate, percent, start, Path(scratch))
                    except ItemError as error:  # a silent passage of a recorded piece: nothing to recognise
                        skipped += 1
                        print(f"{songs.names[seed]} from {start:.1f} s at {percent:+d} %: skipped, {error}")
                        continue
                    captures += 1
                    found = recognise(samples, index, pairs, cpu)
                    for side in SIDES:
                        named = found[side].track_id if found[side] is not None else None
                        if seed in inside:
                            right[side, percent] += named == seed
                            wrong[side, percent] += named is not None and named != seed
                        else:
                            false[side, percent] += named is not None
                        if named is not None and named != seed:
                            print(f"{songs.names[seed]} from {start:.1f} s at {percent:+d} %, {side}: "
                                  f"named {songs.names[named]}, {answer(found[side])}, "
                                  f"at speed {found[side].speed:.3f}")
                    if percent == 0 and found["nominal"] is not None:
                        a, b = found["nominal"], found["speeds, second look"]
                        identical = b is not None and (a.track_id, a.offset_seconds, a.aligned, a.runner_up) == (
                            b.track_id, b.offset_seconds, b.aligned, b.runner_up)
                        same_nominal += identical
                        differ_nominal += not identical
                        if not identical:
                            print(f"{songs.names[seed]} from {start:.1f} s at nominal speed: nominal {answer(a)}, "
                                  f"speeds {answer(b)}")
    per_speed = args.clips * len(inside)
    kind = f"recorded pieces of {args.music}" if args.music else "generated songs"
    print(f"{len(inside)} {kind} in the catalog, {len(outside)} outside, {args.clips} captures of 20 s each per "
          f"speed, MP3 64k; recognised from the kept prints" + (f"; {skipped} silent captures skipped" if skipped
                                                                   else "") + "\n")
    print("| query side | " + " | ".join(f"{p:+d} %" for p in speeds) + " |")
    print("|---|" + "---|" * len(speeds))
    for side in SIDES:
        cells = [f"{right[side, p]}/{per_speed}" + (f" ({wrong[side, p]} wrong)" if wrong[side, p] else "")
                 for p in speeds]
        print(f"| {side} | " + " | ".join(cells) + " |")
    print("\nOutside songs named as a catalog song (false answers), per speed:")
    for side in SIDES:
        print(f"  {side}: " + ", ".join(f"{p:+d} %: {false[side, p]}/{args.clips * len(outside)}" for p in speeds))
    print(f"\nNominal captures recognised by the nominal query: {same_nominal + differ_nominal}, "
          f"the same answer (track, offset, aligned, runner-up) under the speeds with the second look: "
          f"{same_nominal}")
    print(f"\nCPU per capture ({captures} captures, making the query and recognising it):")
    for side in SIDES:
        print(f"  {side}: {1000 * cpu[side] / captures:.1f} ms, x{cpu[side] / cpu['nominal']:.2f} of nominal")


if __name__ == "__main__":
    main()
