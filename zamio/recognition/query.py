"""The query side: an excerpt's triplets and pairs hashed under every speed hypothesis.

Pure numpy, on ``zamio.recognition.fingerprint``'s transforms.  The index stores the hashes of
a recording at nominal speed; an excerpt may be played fast or slow (varispeed: pitch and tempo
together) or time-stretched (tempo alone), so its peaks are re-hashed as the original recording
would hash them under each hypothesis of a ``QueryProfile`` (``hypotheses``) and looked up in one
batch (``QueryPrints``).  ``query_fingerprint`` makes the ``Query`` of an excerpt's samples,
``query_of_peaks`` that of peaks already found (the prints the unknown index kept,
``zamio.recognition.kept_prints``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from zamio.recognition.audio import ANALYSIS_RATE
from zamio.recognition.fingerprint import (
    STEPS_PER_OCTAVE,
    Landmarks,
    Peaks,
    landmarks_to_hashes,
    peaks_at_densities,
    peaks_to_landmarks,
    peaks_to_triplets,
    triplets_to_hashes,
)


@dataclass(frozen=True)
class QueryProfile:
    """Density and speed hypotheses of the query side."""

    peaks_per_second: float = 20.0  # pairs: every partner inside the target zone
    triplet_peaks_per_second: float = 8.0  # the strongest of the same peaks
    triplet_partners: int = 6  # 15 triplets per anchor: enough to rank the recording among the candidates
    # Varispeed (pitch and tempo together): stations and DJ mixes play records fast and
    # slow, vinyl and tape transfers drift both ways.  The triplets are looked up under
    # one hypothesis per log-frequency cell from 3 cells slow to 3 fast (5.6 % slow to
    # 5.9 % fast, 7 hypotheses) ...
    min_speed: float = 0.945
    max_speed: float = 1.055
    speed_step_cells: float = 1.0
    # ... and, once every hypothesis is tried, each candidate is decided by the pairs under
    # hypotheses half a cell apart within half a cell of the speed its own triplets found
    # (``zamio.recognition.match.pairs_near``; None: under the triplets' own hypotheses).  A clip played
    # between two hypotheses is then decided near its own speed, and chance has three
    # hypotheses per candidate to rise in, not all of them (bench/results/recognition.md).
    pair_speed_step_cells: float = 0.5
    speed_window_cells: float | None = 0.5
    # Time-stretch (tempo alone, pitch kept), as some playout systems do: the tempos tried,
    # 1.5 cells (2.9 %) either side; the pairs' window covers the tempos between.
    stretch_tempos: tuple[float, ...] = (2 ** (-1.5 / STEPS_PER_OCTAVE), 2 ** (1.5 / STEPS_PER_OCTAVE))
    # Stations play fast rather than slow: before every hypothesis, the varispeeds of this
    # range are tried the way they always were (pairs under each of them, for every
    # candidate), so what was recognised there still is, the same way, though against the
    # rivals every hypothesis names too (``zamio.recognition.index.usual_against_every_rival``).
    usual_min_speed: float = 0.98
    usual_max_speed: float = 1.045



QUERY_PROFILE = QueryProfile()


@dataclass(frozen=True)
class QueryPrints:
    """Hashes of an excerpt under every speed hypothesis.

    ``hashes`` int32; ``times`` the anchor times in frames of the *original* recording
    relative to the excerpt start (float32, already multiplied by the speed);
    ``speed_index`` int16 into ``speeds`` (playback speed ratios, 1.0 = nominal: the
    tempo, which places the excerpt in time) and ``pitches`` (the pitch ratio of each
    hypothesis: its speed for varispeed, 1 for a time-stretch; None: the speeds).
    """

    hashes: np.ndarray
    times: np.ndarray
    speed_index: np.ndarray
    speeds: np.ndarray
    duration_seconds: float
    pitches: np.ndarray | None = None

    def near(self, speed_index: int, cells: float) -> QueryPrints:
        """Return these prints under the hypotheses whose pitch and tempo are both within
        ``cells`` log-frequency cells of hypothesis ``speed_index``'s (indices renumbered)."""
        pitches = self.speeds if self.pitches is None else self.pitches
        step = 1.0 / STEPS_PER_OCTAVE
        close = ((np.abs(np.log2(pitches / pitches[speed_index])) <= cells * step + 1e-9)
                 & (np.abs(np.log2(self.speeds / self.speeds[speed_index])) <= cells * step + 1e-9))
        return self.only(close)

    def only(self, wanted: np.ndarray) -> QueryPrints:
        """Return these prints under the hypotheses ``wanted`` (booleans; indices renumbered)."""
        pitches = self.speeds if self.pitches is None else self.pitches
        close = np.asarray(wanted, bool)
        kept = np.flatnonzero(close)
        renumber = np.full(self.speeds.size, -1, np.int16)
        renumber[kept] = np.arange(kept.size)
        keep = close[self.speed_index]
        return QueryPrints(self.hashes[keep], self.times[keep], renumber[self.speed_index[keep]], self.speeds[kept],
                           self.duration_seconds, pitches[kept])


@dataclass(frozen=True)
class Query:
    """An excerpt's prints for the two stages of recognition: ``triplets`` find the
    candidate recordings, ``pairs`` decide among them (triplet and pair hashes).
    ``landmarks`` (the pairs before hashing) and ``profile`` let the decision hash the
    pairs on a finer grid around the speed the triplets found
    (``zamio.recognition.match.pairs_near``); the
    ``pairs`` are then hashed at nominal speed only (what the first pass of
    ``zamio.recognition.index.identify`` reads), else under the triplets' hypotheses."""

    triplets: QueryPrints
    pairs: QueryPrints
    landmarks: Landmarks | None = None
    profile: QueryProfile | None = None


def speed_hypotheses(profile: QueryProfile = QUERY_PROFILE) -> np.ndarray:
    """Return the playback speeds tried by the query side: 1.0 and its multiples by
    ``speed_step_cells`` log-frequency cells nearest to ``min_speed``..``max_speed``."""
    step = profile.speed_step_cells / STEPS_PER_OCTAVE  # octaves
    lo = int(np.round(np.log2(profile.min_speed) / step))
    hi = int(np.round(np.log2(profile.max_speed) / step))
    return np.power(2.0, np.arange(lo, hi + 1) * step)


def hypotheses(profile: QueryProfile = QUERY_PROFILE) -> tuple[np.ndarray, np.ndarray]:
    """Return the (pitch, tempo) ratios tried by the query side, as two arrays: the
    varispeed ``speed_hypotheses`` (pitch and tempo alike), then the time-stretches of
    ``stretch_tempos`` (pitch 1)."""
    speeds = speed_hypotheses(profile)
    stretches = np.asarray(profile.stretch_tempos, np.float64)
    return np.r_[speeds, np.ones(stretches.size)], np.r_[speeds, stretches]


def query_fingerprint(samples: np.ndarray, profile: QueryProfile = QUERY_PROFILE) -> Query:
    """Given an excerpt's mono samples at ``ANALYSIS_RATE``, return its triplet and pair
    hashes under every speed hypothesis (see ``Query``): many more per second than the
    index stores, so that the index's landmarks are found among them."""
    triplet_peaks, pair_peaks = peaks_at_densities(samples, profile.triplet_peaks_per_second,
                                                   profile.peaks_per_second)
    return query_of_peaks(triplet_peaks, pair_peaks, samples.size / ANALYSIS_RATE, profile)


def query_of_peaks(triplet_peaks: Peaks, pair_peaks: Peaks, duration: float,
                   profile: QueryProfile = QUERY_PROFILE) -> Query:
    """Given an excerpt's peaks for the triplets and for the pairs and its length, return its ``Query``
    under the hypotheses of ``profile`` (the pairs at nominal speed alone when they are decided near the
    speed found)."""
    tr = peaks_to_triplets(triplet_peaks, profile.triplet_partners)
    lm = peaks_to_landmarks(pair_peaks, None)
    tried = hypotheses(profile)
    tried_pairs = tried if profile.speed_window_cells is None else (np.ones(1), np.ones(1))
    return Query(under_speeds(lambda s, t: triplets_to_hashes(tr, s, tempo=t), tried, duration),
                 under_speeds(lambda s, t: landmarks_to_hashes(lm, s, tempo=t), tried_pairs, duration), lm, profile)


def under_speeds(hash_at: Callable[[float, float], tuple[np.ndarray, np.ndarray, np.ndarray]],
                  tried: tuple[np.ndarray, np.ndarray], duration: float) -> QueryPrints:
    """Return the ``QueryPrints`` of ``hash_at(pitch, tempo) -> (hashes, times, mask)``
    over the (pitch, tempo) hypotheses ``tried``; their ``speeds`` are the tempos (what
    places the excerpt in time)."""
    pitches, tempos = tried
    hashes, times, index = [], [], []
    for k, (pitch, tempo) in enumerate(zip(pitches.tolist(), tempos.tolist(), strict=True)):
        h, t, _ = hash_at(pitch, tempo)
        hashes.append(h)
        times.append(t)
        index.append(np.full(h.size, k, np.int16))
    return QueryPrints(np.concatenate(hashes), np.concatenate(times), np.concatenate(index), tempos, duration,
                       pitches)
