"""Can a change of song inside a long hearing be found from the sound alone?

    nice .venv/bin/python bench/segue_bench.py --music /usr/share/games/wesnoth/1.16/data/core/music

A measurement for the next step of unknown music: a hearing of about 110 s of every 120 s is
what makes most songs aired three times one recording (``bench/capture_coverage_model.py``),
and it can be filed as one only where it holds one song.  Between songs radio mostly puts talk,
a jingle or an advertisement, which the content judge (``zamio.recognition.content``) tells from
music; this bench asks about the rest: one song running straight into the next (a cut) or
fading into it (a cross-fade).

The detector is a novelty curve (J. Foote, "Automatic audio segmentation using a measure of
audio novelty", ICME 2000): band energies of 0.25 s frames, each frame's shape (its log energies
less their mean), a cosine self-similarity matrix, and a checkerboard kernel of ``--kernel``
seconds each side slid along its diagonal.  A change of song is a moment where the seconds before
resemble each other and not the seconds after.  A boundary is a local maximum of the curve over
``--threshold`` (in standard deviations of the curve within the programme).

Programmes: the pieces of ``--music`` in a shuffled order, ``--seconds`` of each from its middle,
joined by a cut or a cross-fade of ``--fade`` seconds, every piece at the same loudness.  Reported
per threshold: the share of joins with a boundary within ``--tolerance`` seconds (a join missed is
a long hearing that would mix two songs) and the boundaries elsewhere per 10 minutes of music (a
false one splits a hearing of one song: it costs linking, not money).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from zamio.recognition import audio  # noqa: E402

RATE = audio.ANALYSIS_RATE
FRAME_SECONDS = 0.25
BANDS = 24  # log-spaced from 60 Hz to 3.9 kHz (the analysis rate's Nyquist is 4 kHz)


def band_shapes(samples: np.ndarray) -> np.ndarray:
    """Given samples at ``RATE``, return one row per 0.25 s frame: the log energies of ``BANDS``
    bands less their mean (the spectrum's shape, whatever the loudness), unit length."""
    hop = int(FRAME_SECONDS * RATE)
    frames = samples[: samples.size // hop * hop].reshape(-1, hop) * np.hanning(hop)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    edges = np.geomspace(60.0, 3900.0, BANDS + 1) / (RATE / 2) * (power.shape[1] - 1)
    bins = np.clip(np.round(edges).astype(int), 1, power.shape[1] - 1)
    energies = np.stack([power[:, a:max(b, a + 1)].sum(axis=1) for a, b in zip(bins[:-1], bins[1:], strict=True)],
                        axis=1)
    shapes = np.log(energies + 1e-9)
    shapes -= shapes.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(shapes, axis=1, keepdims=True)
    return shapes / np.where(norms > 0, norms, 1.0)


def chroma(samples: np.ndarray) -> np.ndarray:
    """Given samples at ``RATE``, return one row per 0.25 s frame: the energy of each of the 12 pitch
    classes (bins from 110 Hz to 3.5 kHz folded onto the octave), unit length: the key and chords."""
    hop = int(FRAME_SECONDS * RATE)
    frames = samples[: samples.size // hop * hop].reshape(-1, hop) * np.hanning(hop)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    hz = np.fft.rfftfreq(hop, 1.0 / RATE)
    usable = (hz >= 110.0) & (hz <= 3500.0)
    pitch_class = np.round(12 * np.log2(hz[usable] / 440.0)).astype(int) % 12
    classes = np.zeros((len(frames), 12))
    for k in range(12):
        classes[:, k] = power[:, usable][:, pitch_class == k].sum(axis=1)
    classes = np.sqrt(classes)
    norms = np.linalg.norm(classes, axis=1, keepdims=True)
    return classes / np.where(norms > 0, norms, 1.0)


FEATURES = {"bands": band_shapes, "chroma": chroma,
            "both": lambda s: np.hstack([band_shapes(s), chroma(s)]) / np.sqrt(2.0)}


def novelty(shapes: np.ndarray, kernel_seconds: float) -> np.ndarray:
    """Foote's novelty: the checkerboard kernel (with a Gaussian taper) along the self-similarity diagonal."""
    half = int(kernel_seconds / FRAME_SECONDS)
    similar = shapes @ shapes.T
    axis = np.arange(-half, half) + 0.5
    taper = np.exp(-0.5 * (axis / (0.5 * half)) ** 2)
    kernel = np.outer(np.sign(axis) * taper, np.sign(axis) * taper)
    curve = np.zeros(len(shapes))
    for at in range(half, len(shapes) - half):
        curve[at] = float(np.sum(similar[at - half:at + half, at - half:at + half] * kernel))
    return curve


def boundaries(curve: np.ndarray, threshold: float, kernel_seconds: float) -> np.ndarray:
    """Times (s) of the curve's local maxima over ``threshold`` standard deviations, one per kernel width."""
    valid = curve[curve != 0]
    level = valid.mean() + threshold * valid.std()
    half = int(kernel_seconds / FRAME_SECONDS)
    found: list[int] = []
    for at in np.argsort(-curve).tolist():
        if curve[at] < level:
            break
        if all(abs(at - other) > half for other in found):
            found.append(at)
    return np.array(sorted(found)) * FRAME_SECONDS


def programme(pieces: list[np.ndarray], seconds: float, fade: float) -> tuple[np.ndarray, list[float]]:
    """The pieces' middles, joined by a cross-fade of ``fade`` s (0: a cut); the joins' times (s)."""
    out = np.zeros(0, np.float32)
    joins = []
    overlap = int(fade * RATE)
    for piece in pieces:
        middle = piece[max(0, (piece.size - int(seconds * RATE)) // 2):][: int(seconds * RATE)]
        middle = middle / (np.sqrt(np.mean(middle ** 2)) + 1e-9) * 0.1
        if out.size and overlap:
            ramp = np.linspace(0.0, 1.0, overlap)
            joins.append((out.size - overlap / 2) / RATE)
            out[-overlap:] = out[-overlap:] * (1 - ramp) + middle[:overlap] * ramp
            out = np.concatenate([out, middle[overlap:]])
        else:
            if out.size:
                joins.append(out.size / RATE)
            out = np.concatenate([out, middle])
    return out.astype(np.float32), joins


def decoded(path: Path) -> np.ndarray | None:
    """The file's samples at ``RATE``; None for a silent one (a game's ``silence.ogg``)."""
    try:
        return audio.decode_file(path)
    except audio.SilentAudio:
        return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--music", type=Path, required=True, help="a folder of music files (ogg, mp3, flac, wav)")
    ap.add_argument("--seconds", type=float, default=60.0, help="seconds of each piece (from its middle)")
    ap.add_argument("--fade", type=float, nargs="+", default=[0.0, 3.0, 8.0], help="cross-fade seconds (0: a cut)")
    ap.add_argument("--kernel", type=float, nargs="+", default=[4.0, 8.0], help="kernel seconds each side")
    ap.add_argument("--threshold", type=float, nargs="+", default=[0.5, 1.0, 1.5, 2.0, 2.5, 3.0])
    ap.add_argument("--tolerance", type=float, default=3.0, help="a join is found by a boundary this close (s)")
    ap.add_argument("--features", choices=sorted(FEATURES), nargs="+", default=["bands", "chroma", "both"])
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    files = sorted(p for p in args.music.iterdir() if p.suffix.lower() in (".ogg", ".mp3", ".flac", ".wav"))
    pieces = [p for p in map(decoded, files) if p is not None and p.size >= args.seconds * RATE]
    order = np.random.default_rng(args.seed).permutation(len(pieces)).tolist()
    shuffled = [pieces[i] for i in order]
    print(f"{len(shuffled)} pieces of {args.music} at least {args.seconds:.0f} s long, {args.seconds:.0f} s of each "
          f"from its middle, equal loudness, seed {args.seed}; a join is found within {args.tolerance:.0f} s")
    print("| features | join | kernel s | threshold (sd) | joins found | false boundaries per 10 min |")
    print("| --- | --- | --- | --- | --- | --- |")
    for features in args.features:
        for fade in args.fade:
            samples, joins = programme(shuffled, args.seconds, fade)
            shapes = FEATURES[features](samples)
            minutes = (samples.size / RATE - len(joins) * 2 * args.tolerance) / 60
            name = "cut" if fade == 0 else f"cross-fade {fade:.0f} s"
            for kernel in args.kernel:
                curve = novelty(shapes, kernel)
                for threshold in args.threshold:
                    hit, false = scored(boundaries(curve, threshold, kernel), joins, args.tolerance)
                    print(f"| {features} | {name} | {kernel:.0f} | {threshold:.1f} | {hit} / {len(joins)} "
                          f"({hit / len(joins):.0%}) | {false / minutes * 10:.1f} |", flush=True)


def scored(found: np.ndarray, joins: list[float], tolerance: float) -> tuple[int, int]:
    """How many joins a boundary finds within ``tolerance`` s, and how many boundaries find none."""
    hit = sum(1 for j in joins if found.size and np.min(np.abs(found - j)) <= tolerance)
    false = sum(1 for b in found if min(abs(b - j) for j in joins) > tolerance)
    return hit, false

if __name__ == "__main__":
    main()
