"""Captures played fast or slow, recognised from the prints the unknown index kept of them.

    nice -n 10 .venv/bin/python bench/kept_speed_bench.py
    nice -n 10 .venv/bin/python bench/kept_speed_bench.py --songs 40 --outside 20 --clips 3

A catalog of generated songs (``zamio.demo.synth``, ``--songs`` of 40 s) is fingerprinted into an
index in memory; ``--outside`` more songs are not in it.  Each song gives ``--clips`` captures of 20 s
(seeded starts), played at each of ``--speeds`` (varispeed, ``synth.change_speed``), encoded MP3 64 kbit/s
by ffmpeg and decoded as a scan decodes them; each capture keeps the unknown index's prints
(``zamio.recognition.unknown.prints``) and nothing else.  From those prints the catalog's matcher
(``zamio.recognition.index.identify_query``) is asked under each query side compared:

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

SONG_SECONDS = 40.0
CLIP_SECONDS = 20.0
NOMINAL = dataclasses.replace(QUERY_PROFILE, min_speed=1.0, max_speed=1.0, stretch_tempos=(),
                              speed_window_cells=None)
SECOND_LOOK = VERIFY_OFF_NOMINAL
SIDES = {"nominal": (NOMINAL, match.VERIFY_BELOW), "speeds": (QUERY_PROFILE, match.VERIFY_BELOW),
         "speeds, second look": (QUERY_PROFILE, SECOND_LOOK),
         "speeds, whole-cell pairs": (dataclasses.replace(QUERY_PROFILE, pair_speed_step_cells=1.0),
                                      SECOND_LOOK),
         "audio": (QUERY_PROFILE, match.VERIFY_BELOW)}


def capture(samples: np.ndarray, percent: int, start_s: float, folder: Path) -> np.ndarray:
    """20 s of ``samples`` played ``percent`` % fast from ``start_s`` (of air time), through MP3 64k, decoded."""
    played = synth.change_speed(samples, percent) if percent else samples
    clip = played[int(start_s * synth.SYNTH_RATE): int((start_s + CLIP_SECONDS) * synth.SYNTH_RATE)]
    wav, mp3 = folder / "clip.wav", folder / "clip.mp3"
    synth.write_wav(wav, clip)
    subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", str(wav),
                    "-c:a", "libmp3lame", "-b:a", "64k", str(mp3)], check=True)
    return audio.decode_file(mp3)


def answer(found: match.MatchResult | None) -> str:
    if found is None:
        return "none"
    return (f"track {found.track_id} at {found.offset_seconds:.2f} s, {found.aligned} aligned against "
            f"{found.runner_up}, evidence {found.evidence:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--songs", type=int, default=24)
    parser.add_argument("--outside", type=int, default=12)
    parser.add_argument("--clips", type=int, default=2)
    parser.add_argument("--speeds", default="-4,-3,-2,0,2,3,4")
    args = parser.parse_args()
    speeds = [int(p) for p in args.speeds.split(",")]
    inside = list(range(1000, 1000 + args.songs))
    outside = list(range(2000, 2000 + args.outside))
    songs = {seed: synth.song(seed, SONG_SECONDS) for seed in inside + outside}
    index = match.ArrayIndex()
    for seed in inside:
        fp = fingerprint.fingerprint(audio.resample(songs[seed], synth.SYNTH_RATE))
        index.add(seed, fp.hashes, fp.offsets)
    pairs = match.pairs_from(index.fetch)
    rng = np.random.default_rng(7)
    right = {(side, p): 0 for side in SIDES for p in speeds}
    wrong = dict.fromkeys(right, 0)
    false = dict.fromkeys(right, 0)
    cpu = dict.fromkeys(SIDES, 0.0)
    same_nominal = differ_nominal = 0
    captures = 0
    with tempfile.TemporaryDirectory() as scratch:
        for seed in inside + outside:
            for _ in range(args.clips):
                start = float(rng.uniform(0.0, SONG_SECONDS * 0.96 - CLIP_SECONDS))
                for percent in speeds:
                    samples = capture(songs[seed], percent, start, Path(scratch))
                    kept = unknown.prints(samples)
                    seconds = samples.size / audio.ANALYSIS_RATE
                    captures += 1
                    found = {}
                    for side, (profile, verify_below) in SIDES.items():
                        began = time.process_time()
                        if side == "audio":
                            query = query_fingerprint(samples, profile)
                        else:
                            query = query_of_prints(kept.hashes, kept.offsets, seconds, profile)
                        found[side] = identify_query(query, index.lookup, pairs, verify_below)
                        cpu[side] += time.process_time() - began
                        named = found[side].track_id if found[side] is not None else None
                        if seed in inside:
                            right[side, percent] += named == seed
                            wrong[side, percent] += named is not None and named != seed
                        else:
                            false[side, percent] += named is not None
                    if percent == 0 and found["nominal"] is not None:
                        a, b = found["nominal"], found["speeds, second look"]
                        identical = b is not None and (a.track_id, a.offset_seconds, a.aligned, a.runner_up) == (
                            b.track_id, b.offset_seconds, b.aligned, b.runner_up)
                        same_nominal += identical
                        differ_nominal += not identical
                        if not identical:
                            print(f"song {seed} from {start:.1f} s at nominal speed: nominal {answer(a)}, "
                                  f"speeds {answer(b)}")
    per_speed = args.clips * len(inside)
    print(f"{len(inside)} songs in the catalog, {len(outside)} outside, {args.clips} captures of 20 s each per "
          f"speed, MP3 64k; recognised from the kept prints\n")
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
