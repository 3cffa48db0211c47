"""Where the sound of a long capture changes: the cuts that keep two songs out of one piece.

A long capture of a station (``SCAN_LISTEN_SECONDS``, :mod:`zamio.scanning.listening`) may hold
the end of one song and the start of the next, back to back.  Filed whole into the unknown
index (:mod:`zamio.recognition.unknown`) it would join both songs' recordings into one, so
:func:`cut` cuts it where its sound changes, at a dip in loudness (a fade, the pause between
two songs) or a change of spectrum (another song's instruments, level and key), and each part
again into pieces no longer than an ordinary capture.  Each piece is then heard like an
ordinary capture.

Cutting inside a song costs little (its pieces are shorter, each still in the index, where
another airing's pieces overlap it); leaving two songs in one piece mixes them.  So the cut is
eager.  On the 30 wesnoth pieces of the week bench (8 kHz, half-second steps): at the change
between two pieces heard back to back, each from the middle of the piece, a cut is placed within
a second of it 88 % of the time when the first stops dead, 99 % when it fades out over 8 s, and
every time when the first piece ends as written; inside a piece 31 % of the half seconds score
as high, so a long capture of one song is cut about every 4 to 8 s.
"""

from __future__ import annotations

import numpy as np

from zamio.recognition.audio import ANALYSIS_RATE

RATE = ANALYSIS_RATE
BLOCK_SECONDS = 0.5  # the time step of the cut: a change is placed to half a second
SIDE_BLOCKS = 8  # 4 s each side of a candidate cut are compared
BANDS = 16  # log-spaced from BAND_HZ[0] to BAND_HZ[1]
BAND_HZ = (100.0, 3800.0)
#: A change of spectrum: the mean spectra of the 4 s either side differ by this much (RMS over the
#: bands, in dB, each side's own level removed) plus a third of their difference in level.
CHANGE_DB = 6.0
#: A dip: a half second this far under the louder median of the two sides (a fade-out and
#: the start of the next song, the pause between two songs).
DIP_DB = 18.0
MIN_PIECE_SECONDS = 4.0  # no piece is cut shorter: too short to judge (content.MIN_SECONDS) or to join


def cut(samples: np.ndarray, piece_seconds: float) -> list[tuple[int, int]]:
    """Given a long capture's samples at ``RATE``, return its pieces as (first, end) sample
    indices, in order and touching: cut at every change of sound (:func:`changes`), then each
    part into equal pieces of at most ``piece_seconds``."""
    total = int(samples.size)
    bounds = [0, *[round(t * RATE) for t in changes(samples)], total]
    pieces: list[tuple[int, int]] = []
    for first, end in zip(bounds, bounds[1:], strict=False):
        count = max(1, int(np.ceil((end - first) / (piece_seconds * RATE) - 1e-9)))
        edges = np.linspace(first, end, count + 1).round().astype(int).tolist()
        pieces += list(zip(edges, edges[1:], strict=False))
    return pieces


def changes(samples: np.ndarray) -> list[float]:
    """The seconds into the samples where the sound changes (see the module docstring), at
    least ``MIN_PIECE_SECONDS`` from each other and from both ends, strongest first kept."""
    levels = block_levels(samples)
    if levels.shape[0] < 2 * SIDE_BLOCKS:
        return []
    score = change_scores(levels)
    min_blocks = int(round(MIN_PIECE_SECONDS / BLOCK_SECONDS))
    chosen: list[int] = []
    for at in np.argsort(-score, kind="stable").tolist():
        if score[at] < 1.0:
            break
        if at < min_blocks or at > levels.shape[0] - min_blocks:
            continue
        if all(abs(at - other) >= min_blocks for other in chosen):
            chosen.append(at)
    return sorted(at * BLOCK_SECONDS for at in chosen)


def block_levels(samples: np.ndarray) -> np.ndarray:
    """The power of each half second in ``BANDS`` log-spaced bands, in dB: (blocks, bands)."""
    block = int(BLOCK_SECONDS * RATE)
    blocks = int(samples.size) // block
    if blocks == 0:
        return np.zeros((0, BANDS))
    frames = samples[: blocks * block].astype(np.float64).reshape(blocks, block)
    window = np.hanning(block)
    power = np.abs(np.fft.rfft(frames * window, axis=1)) ** 2
    hz = np.fft.rfftfreq(block, 1.0 / RATE)
    edges = np.geomspace(BAND_HZ[0], BAND_HZ[1], BANDS + 1)
    which = np.digitize(hz, edges) - 1
    bands = np.stack([power[:, which == k].sum(axis=1) for k in range(BANDS)], axis=1)
    return 10.0 * np.log10(bands + 1e-9)


def change_scores(levels: np.ndarray) -> np.ndarray:
    """For each block boundary, how strongly the sound changes there, in units of its threshold:
    the larger of the spectral change over ``CHANGE_DB`` and the dip over ``DIP_DB``."""
    blocks = levels.shape[0]
    loudness = 10.0 * np.log10(np.power(10.0, levels / 10.0).sum(axis=1) + 1e-9)
    score = np.zeros(blocks)
    for at in range(SIDE_BLOCKS, blocks - SIDE_BLOCKS + 1):
        left, right = levels[at - SIDE_BLOCKS:at].mean(axis=0), levels[at:at + SIDE_BLOCKS].mean(axis=0)
        level_gap = abs(left.mean() - right.mean())
        shape = float(np.sqrt(np.mean(((left - left.mean()) - (right - right.mean())) ** 2)))
        around = max(np.median(loudness[at - SIDE_BLOCKS:at]), np.median(loudness[at:at + SIDE_BLOCKS]))
        dip = around - float(loudness[max(0, at - 1):at + 1].min())
        score[at] = max((shape + level_gap / 3.0) / CHANGE_DB, dip / DIP_DB)
    return score
