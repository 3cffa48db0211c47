"""How often can periodic captures of a song's airings make one unknown recording at all?

    .venv/bin/python bench/capture_coverage_model.py
    .venv/bin/python bench/capture_coverage_model.py --airings 3 5 8 --capture 20 60 120 --period 120

A model, not a measurement of zamio: it asks what the capture schedule allows before any
fingerprint is computed.  Filing (``zamio.recognition.unknown``) links two captures of a song
only where they hold the same audio, at least ``--shared`` seconds of it (6 s aligns reliably;
see the constants there).  A station is heard for ``--capture`` seconds every ``--period``
seconds of its programme, at a phase that a song's airing does not choose, so each airing of a
song is heard at the positions ``phase + k * period`` of the song, the phase uniform.

For each draw: a song of a length uniform in ``--length`` seconds, aired ``--airings`` times; the
parts of each capture inside the song (at least 10 s, the minimum a play needs) are linked when
they share ``--shared`` seconds; the groups of two or more linked captures are the recordings.
A song is *one* when it makes exactly one recording (the target's measure: a lone capture is no
recording), *split* when several, *none* when no two captures share audio.

What the model leaves out, each of which zamio uses and which makes the measured weeks do better
than the model: a song repeating its own material (a chorus heard at two positions aligns), and
the sequence evidence (two recordings heard one after the other with the same gap on two airings).
What it leaves out that makes them do worse: talk over an intro, a fade, a capture judged speech.
"""

from __future__ import annotations

import argparse
from collections import Counter

import numpy as np

MIN_PLAY_SECONDS = 10.0


def captured_parts(rng: np.random.Generator, song: float, airings: int, capture: float,
                   period: float) -> list[tuple[float, float]]:
    """The stretches of the song (seconds) that the captures of its airings hold."""
    parts = []
    for _ in range(airings):
        start = rng.uniform(0.0, period) - period
        while start < song:
            lo, hi = max(start, 0.0), min(start + capture, song)
            if hi - lo >= MIN_PLAY_SECONDS:
                parts.append((lo, hi))
            start += period
    return parts


def recordings(parts: list[tuple[float, float]], shared: float) -> int:
    """How many groups of two or more captures sharing audio the parts make (union-find)."""
    parent = list(range(len(parts)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, (lo_i, hi_i) in enumerate(parts):
        for j in range(i + 1, len(parts)):
            lo_j, hi_j = parts[j]
            if min(hi_i, hi_j) - max(lo_i, lo_j) >= shared:
                parent[root(i)] = root(j)
    sizes = Counter(root(i) for i in range(len(parts)))
    return sum(1 for size in sizes.values() if size >= 2)


def outcome(count: int) -> str:
    return "none" if count == 0 else "one" if count == 1 else "split"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--airings", type=int, nargs="+", default=[3, 5, 8])
    ap.add_argument("--capture", type=float, nargs="+", default=[20, 30, 40, 60, 90, 110, 120])
    ap.add_argument("--period", type=float, default=120.0)
    ap.add_argument("--shared", type=float, default=6.0)
    ap.add_argument("--length", type=float, nargs=2, default=[150.0, 300.0])
    ap.add_argument("--draws", type=int, default=4000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    print(f"Songs of {args.length[0]:.0f}-{args.length[1]:.0f} s, heard {{capture}} s every {args.period:.0f} s "
          f"of programme at a random phase per airing, linked by >= {args.shared:.0f} s of shared audio; "
          f"{args.draws} draws per cell, seed {args.seed}. A model of the schedule, not of zamio.")
    print("| capture s | airings | one recording | split | none |")
    print("| --- | --- | --- | --- | --- |")
    for capture in args.capture:
        for airings in args.airings:
            rng = np.random.default_rng(args.seed)
            tally = Counter(outcome(recordings(captured_parts(rng, rng.uniform(*args.length), airings, capture,
                                                              args.period), args.shared))
                            for _ in range(args.draws))
            shares = {k: tally[k] / args.draws for k in ("one", "split", "none")}
            print(f"| {capture:.0f} | {airings} | {shares['one']:.1%} | {shares['split']:.1%} | {shares['none']:.1%} |")


if __name__ == "__main__":
    main()
