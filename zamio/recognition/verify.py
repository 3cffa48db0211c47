"""A second look at a marginal match: do the excerpt's peaks lie where the recording's are?

``zamio.recognition.match`` accepts a recording when its best bin of aligned hashes stands
``MIN_EVIDENCE`` standard deviations above the best bin of its rivals.  On real music
outside the catalog some excerpts reach that level by chance (a chord or a riff that hashes
alike in an unrelated recording), and they stand at the same 2.5 to 4 standard deviations
as the weakest true answers (noisy, talked over, cross-faded, speed-shifted clips), so the
level alone cannot tell them apart.

At the alignment the bin gives (offset and tempo fitted to its hits, the pitch of its speed
hypothesis), the recording's peaks are read back from its stored rows (a pair hash holds the
anchor's cell and the partner's offset from it) and the excerpt's from its pair landmarks
(every peak the query side picked, 20 a second, where the index keeps the strongest 7).  A
peak agrees when the other side has one within ``FRAME_TOLERANCE`` frames and
``CELL_TOLERANCE`` cells.  Two shares tell a true alignment from a chance one (``verified``):

* of the peaks of the bin's own hashes, those that agree (``MIN_OWN_AGREEING``): a true
  alignment puts its hits on one line, so nearly all agree; a chance bin gathers hits
  anywhere in its 8 frames, of which the tolerance holds 3, and about 0.4 agree;
* of all the recording's peaks in the excerpt's span, those that agree
  (``MIN_COVERAGE``): an excerpt of the recording holds most of them, even noisy or talked
  over; a chance bin holds its own hashes' peaks and a few more.

Two recordings that share material (an edit, a remix, two mixes of one piece) both align
with an excerpt of either; the one the excerpt is of holds more of its peaks, which ``ahead``
asks of it before ``zamio.recognition.match`` names it rather than refusing both.

Measured before choosing (``bench/verify_bench.py``, bench/results/verify.md): a binomial
tail over the recording's peaks *other* than the bin's own does not separate the two, since
a peak of a true match that survives the noise nearly always forms a hash with a surviving
partner, so little is left outside the bin's own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from zamio.recognition.fingerprint import (
    FREQ_CELLS,
    STEPS_PER_OCTAVE,
    Landmarks,
)
from zamio.recognition.hashes import MAX_DU_STEPS, unpack_pair_hash

#: Tolerance of "the same place": a frame (32 ms) and a log-frequency cell (1/3 semitone)
#: either way, the quantisation of the stored rows and of a speed hypothesis's re-hashing.
FRAME_TOLERANCE = 1
CELL_TOLERANCE = 1
#: The shares ``verified`` asks for.  Of the answers below 4 standard deviations on the DEV
#: and second catalogs (bench/results/verify.md), 95 % of the right ones hold 0.41 or more
#: of the recording's peaks and 0.64 or more of their own; the wrong ones 0.16 to 0.47 and
#: 0.12 to 0.83, both as high in one of 15.
MIN_COVERAGE = 0.3
MIN_OWN_AGREEING = 0.5
#: How far the share of agreeing peaks of an answer must stand above that of a related
#: recording it is weighed against head to head (``ahead``).  Measured on two real pairs
#: (freedroidrpg ``HellFortressTwo`` and ``HellFortressEntrance``, and ``TechBattle`` and its
#: mix ``AmbientBattle``; bench/results/verify.md): in all 23 head-to-heads the excerpt's
#: own recording led the other, by 0.02 to 0.33 (0.145 at the median, 17 by 0.1 or more);
#: where two recordings hold the same peaks, neither leads (0).  0.1 keeps a margin above that.
MIN_LEAD = 0.1


@dataclass(frozen=True)
class Alignment:
    """Where an excerpt sits in a recording: ``offset_frames`` (the recording's frame at the
    excerpt's start), ``tempo`` (recording frames per frame played), ``pitch`` (the ratio by
    which the excerpt's frequencies are raised) and ``frames`` (the excerpt's length as played)."""

    offset_frames: float
    tempo: float
    pitch: float
    frames: float


@dataclass(frozen=True)
class Agreement:
    """The outcome of ``check``: the recording's ``peaks`` in the excerpt's span and how
    many of them are ``agreeing``; ``own`` of them are the peaks of the bin's own hashes,
    ``own_agreeing`` of those agree."""

    peaks: int
    agreeing: int
    own: int
    own_agreeing: int

    @property
    def coverage(self) -> float:
        """The share of the recording's peaks in the span that agree."""
        return self.agreeing / self.peaks if self.peaks else 0.0

    @property
    def own_share(self) -> float:
        """The share of the bin's own peaks that agree."""
        return self.own_agreeing / self.own if self.own else 0.0


def query_peaks(landmarks: Landmarks) -> tuple[np.ndarray, np.ndarray]:
    """Given an excerpt's pair landmarks, return its distinct peaks as (frame int, cell float):
    every anchor and every partner."""
    t = np.concatenate([landmarks.t1, landmarks.t1 + landmarks.dt]).astype(np.int64)
    u = np.concatenate([landmarks.u1, landmarks.u2]).astype(np.float64)
    _, first = np.unique(t * 4096 + np.floor(u * 8).astype(np.int64), return_index=True)
    return t[first], u[first]


def stored_peaks(pair_hashes: np.ndarray, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Given a recording's stored pair rows (pair hashes, anchor frames), return the peaks
    they hold as (frame, cell) int64 arrays, each with one row per pair (anchor, partner):
    anchors first, then partners."""
    f1, du, dt = unpack_pair_hash(pair_hashes)
    frames = np.asarray(frames, np.int64)
    return (np.concatenate([frames, frames + dt]), np.concatenate([f1, f1 + du]).astype(np.int64))


def check(query_t: np.ndarray, query_u: np.ndarray, stored: tuple[np.ndarray, np.ndarray],
          own: tuple[np.ndarray, np.ndarray], at: Alignment) -> Agreement:
    """Given the excerpt's peaks (played frame, cell), the recording's stored peaks and the
    peaks of the bin's own hashes (both as (frame, cell)), and the alignment, return how
    many of each, inside the excerpt's span, agree with a peak of the excerpt."""
    start = int(math.floor(at.offset_frames))
    width = int(math.ceil(at.frames * at.tempo)) + 1
    cells = FREQ_CELLS + MAX_DU_STEPS + 2 * CELL_TOLERANCE + 1  # a partner lies up to MAX_DU_STEPS above its anchor
    grid = np.zeros((width + 2 * FRAME_TOLERANCE, cells), bool)
    qt = np.rint(at.offset_frames + at.tempo * np.asarray(query_t, np.float64)).astype(np.int64) - start
    qc = np.floor(np.asarray(query_u, np.float64) - STEPS_PER_OCTAVE * math.log2(at.pitch)).astype(np.int64)
    for dt in range(-FRAME_TOLERANCE, FRAME_TOLERANCE + 1):
        for dc in range(-CELL_TOLERANCE, CELL_TOLERANCE + 1):
            t, c = qt + dt + FRAME_TOLERANCE, qc + dc + CELL_TOLERANCE
            ok = (t >= 0) & (t < grid.shape[0]) & (c >= 0) & (c < cells)
            grid[t[ok], c[ok]] = True
    peaks, agreeing = _agreeing(grid, _shifted(stored, start), width)
    mine, mine_agreeing = _agreeing(grid, _shifted(own, start), width)
    return Agreement(peaks, agreeing, mine, mine_agreeing)


def _agreeing(grid: np.ndarray, peaks: tuple[np.ndarray, np.ndarray], width: int) -> tuple[int, int]:
    """(distinct peaks inside the span, how many of them fall on a marked cell of ``grid``)."""
    t, c = peaks
    inside = (t >= FRAME_TOLERANCE) & (t < FRAME_TOLERANCE + width) & (c >= 0) & (c < grid.shape[1])
    keys = np.unique(t[inside] * grid.shape[1] + c[inside])
    t, c = np.divmod(keys, grid.shape[1])
    return int(keys.size), int(grid[t, c].sum())


def verified(agreement: Agreement) -> bool:
    """Return True if the alignment is the recording's rather than chance's (see the module
    docstring): at least ``MIN_OWN_AGREEING`` of the bin's own peaks and ``MIN_COVERAGE`` of
    all the recording's peaks in the span agree."""
    return agreement.own_share >= MIN_OWN_AGREEING and agreement.coverage >= MIN_COVERAGE


def ahead(mine: Agreement, theirs: Agreement) -> bool:
    """Given the agreement of an answer and of a related recording at its own alignment (a
    version sharing material with it), return True if the answer's share of agreeing peaks
    stands at least ``MIN_LEAD`` above the other's: the excerpt is of this version.  Where
    the two share the excerpt's material, both hold the same peaks and neither leads."""
    return mine.coverage >= theirs.coverage + MIN_LEAD


def _shifted(peaks: tuple[np.ndarray, np.ndarray], start: int) -> tuple[np.ndarray, np.ndarray]:
    """Peaks (frame, cell) as indices of ``check``'s grid."""
    return (np.asarray(peaks[0], np.int64) - start + FRAME_TOLERANCE,
            np.asarray(peaks[1], np.int64) + CELL_TOLERANCE)
