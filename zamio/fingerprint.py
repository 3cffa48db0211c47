"""Landmark fingerprints: samples -> spectrogram -> peaks -> landmarks -> hashes.

Pure numpy/scipy: no database, no network, no ffmpeg (``zamio.audio`` decodes).

The scheme is Wang's (2003) peak-pair landmarks with two changes that make it
survive the speed-up radio stations apply (tempo and pitch together):

* Frequencies are on a logarithmic scale (``STEPS_PER_OCTAVE`` cells per octave), so
  playing a recording s times faster moves every peak by the same ``log2(s)`` octaves:
  the frequency difference of a pair does not change and its anchor frequency moves
  by a constant.
* The index side stores a lean set of hashes (the strongest peaks, few partners each,
  about ``peaks_per_second * fanout`` = 21 per second, which bounds database storage).
  The query side (``query_fingerprint``) keeps more peaks, pairs each with every
  partner in the target zone, and re-hashes every pair under several speed hypotheses
  (a played peak (f, t) comes from (f / s, t * s) in the original), so one batched
  lookup covers clean and sped-up audio alike.  Sub-bin frequency interpolation makes
  the re-hashing exact enough without re-analysing the audio.

Array conventions: ``spectrogram`` is ``[frames, bins]`` float32 in dB; times are
integer frame indices of ``FRAME_SECONDS``; hashes are int32 (non-negative, they fit
a PostgreSQL ``integer``) and every stored hash carries ``FINGERPRINT_VERSION``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zamio.audio import ANALYSIS_RATE

# Bump when anything below changes the hashes an index would store.
FINGERPRINT_VERSION = 1

WINDOW_SAMPLES = 1024  # 128 ms at 8 kHz: 7.8 Hz bins resolve low notes
HOP_SAMPLES = 256  # 32 ms frames
FRAME_SECONDS = HOP_SAMPLES / ANALYSIS_RATE  # seconds per frame
BIN_HZ = ANALYSIS_RATE / WINDOW_SAMPLES  # Hz per FFT bin

MIN_HZ = 125.0  # below this, bins are too coarse for a log scale and full of rumble
STEPS_PER_OCTAVE = 36  # log-frequency cell: 1/3 semitone, 1.94 % (about one speed step)
FREQ_CELLS = 256  # 8 bits of anchor frequency: 125 Hz .. 125 * 2**(256/36) Hz > 4 kHz
MIN_BIN = int(np.ceil(MIN_HZ / BIN_HZ))

# Target zone of a landmark (anchor, partner):
MAX_DT_FRAMES = 63  # partner at most 2.0 s after the anchor (6 bits)
MIN_DT_FRAMES = 1
MAX_DU_STEPS = 31  # |log-frequency difference| at most 31 cells (just under an octave)

DT_BITS = 6
DU_BITS = 6  # du + MAX_DU_STEPS in 0..62
F1_BITS = 8

# Peak picking: a peak is the maximum of its neighbourhood, and ranks among the
# strongest few of the candidates within +-RANK_WINDOW_FRAMES (a density budget that
# follows the music, the same on a whole track and on an excerpt of it).
PEAK_NEIGHBOUR_FRAMES = 3  # +-96 ms
PEAK_NEIGHBOUR_BINS = 6  # +-47 Hz
RANK_WINDOW_FRAMES = 31  # +-1 s
# Only the strongest few candidates of a frame compete in the window ranking: no frame
# contributes more than this to either side, and it bounds the cost of the ranking.
MAX_CANDIDATES_PER_FRAME = 6
TILT_DB_PER_OCTAVE = 3.0  # lifts high bins to offset the falling spectrum of music
FLOOR_DB = -100.0  # power floor (dB re full scale) of the log spectrogram
BLOCK_FRAMES = 2048  # frames transformed per FFT call, bounds temporary memory


@dataclass(frozen=True)
class IndexProfile:
    """Density of the stored (index) side."""

    peaks_per_second: float = 7.0
    fanout: int = 3  # partners per anchor: the nearest peaks in time inside the zone


@dataclass(frozen=True)
class QueryProfile:
    """Density and speed hypotheses of the query side."""

    peaks_per_second: float = 20.0
    # Stations play fast rather than slow.  Each hypothesis also covers about half a
    # step either side, so 0.98..1.045 (4 hypotheses) recognises 0.97..1.055.
    min_speed: float = 0.98
    max_speed: float = 1.045
    speed_step_cells: float = 1.0  # hypothesis spacing in log-frequency cells


INDEX_PROFILE = IndexProfile()
QUERY_PROFILE = QueryProfile()


@dataclass(frozen=True)
class Peaks:
    """Spectral peaks: ``t`` frame (int32), ``u`` log-frequency in cells (float32, from
    ``MIN_HZ``), ``strength`` in dB (float32); sorted by time, then frequency."""

    t: np.ndarray
    u: np.ndarray
    strength: np.ndarray


@dataclass(frozen=True)
class Landmarks:
    """Peak pairs: anchor frame ``t1`` (int32), anchor and partner log-frequencies
    ``u1``, ``u2`` (float32 cells) and time gap ``dt`` in frames (int32)."""

    t1: np.ndarray
    u1: np.ndarray
    u2: np.ndarray
    dt: np.ndarray


@dataclass(frozen=True)
class Fingerprint:
    """What the index stores for one recording: ``hashes`` and anchor ``offsets``
    (frames of ``FRAME_SECONDS``), both int32 and of equal length."""

    hashes: np.ndarray
    offsets: np.ndarray
    version: int
    duration_seconds: float


@dataclass(frozen=True)
class QueryPrints:
    """Hashes of an excerpt under every speed hypothesis.

    ``hashes`` int32; ``times`` the anchor times in frames of the *original* recording
    relative to the excerpt start (float32, already multiplied by the speed);
    ``speed_index`` int16 into ``speeds`` (playback speed ratios, 1.0 = nominal).
    """

    hashes: np.ndarray
    times: np.ndarray
    speed_index: np.ndarray
    speeds: np.ndarray
    duration_seconds: float


def spectrogram(samples: np.ndarray) -> np.ndarray:
    """Given mono samples at ``ANALYSIS_RATE``, return the log power spectrogram in dB,
    shape ``[frames, bins]`` (bins from ``MIN_BIN`` up to Nyquist), float32, with a
    fixed tilt of ``TILT_DB_PER_OCTAVE``.  Fewer samples than one window give 0 frames."""
    import scipy.fft  # imported on use: a job that only reads FINGERPRINT_VERSION starts faster

    x = np.ascontiguousarray(samples, dtype=np.float32)
    n_bins = WINDOW_SAMPLES // 2 + 1 - MIN_BIN
    if x.size < WINDOW_SAMPLES:
        return np.zeros((0, n_bins), np.float32)
    frames = np.lib.stride_tricks.sliding_window_view(x, WINDOW_SAMPLES)[::HOP_SAMPLES]
    window = np.hanning(WINDOW_SAMPLES).astype(np.float32)
    out = np.empty((frames.shape[0], n_bins), np.float32)
    for i in range(0, frames.shape[0], BLOCK_FRAMES):
        spec = scipy.fft.rfft(frames[i : i + BLOCK_FRAMES] * window, axis=1)[:, MIN_BIN:]
        out[i : i + BLOCK_FRAMES] = spec.real**2 + spec.imag**2
    np.maximum(out, 10 ** (FLOOR_DB / 10), out=out)
    np.log10(out, out=out)
    out *= 10.0
    out += _tilt_db()
    return out


def _tilt_db() -> np.ndarray:
    bins = np.arange(MIN_BIN, WINDOW_SAMPLES // 2 + 1)
    return (TILT_DB_PER_OCTAVE * np.log2(bins / MIN_BIN)).astype(np.float32)


def find_peaks(spec: np.ndarray, peaks_per_second: float) -> Peaks:
    """Given a spectrogram ``[frames, bins]`` in dB, return its local maxima that rank
    within the strongest ``peaks_per_second`` (on average over a +-1 s window)."""
    from scipy.ndimage import maximum_filter1d

    local_max = maximum_filter1d(spec, 2 * PEAK_NEIGHBOUR_BINS + 1, axis=1)
    local_max = maximum_filter1d(local_max, 2 * PEAK_NEIGHBOUR_FRAMES + 1, axis=0)
    is_peak = spec == local_max
    is_peak[:, 0] = is_peak[:, -1] = False  # edge bins cannot be interpolated
    is_peak &= spec > FLOOR_DB + 1.0
    t, b = np.nonzero(is_peak)
    strength = spec[t, b]
    strongest = _rank_in_frame(t, strength) < MAX_CANDIDATES_PER_FRAME
    t, b, strength = t[strongest], b[strongest], strength[strongest]
    keep_n = peaks_per_second * (2 * RANK_WINDOW_FRAMES + 1) * FRAME_SECONDS
    keep = _rank_in_window(t, strength, RANK_WINDOW_FRAMES) < keep_n
    t, b, strength = t[keep], b[keep], strength[keep]
    u = _bins_to_cells(b + _parabolic_offset(spec, t, b))
    return Peaks(t.astype(np.int32), u.astype(np.float32), strength.astype(np.float32))


def _rank_in_frame(t: np.ndarray, strength: np.ndarray) -> np.ndarray:
    """For candidates sorted by frame ``t``, return each one's rank by strength within
    its frame (0 = strongest)."""
    order = np.lexsort((-strength, t))
    ts = t[order]
    first = np.r_[0, np.flatnonzero(ts[1:] != ts[:-1]) + 1]
    group_start = np.repeat(first, np.diff(np.r_[first, ts.size]))
    rank = np.empty(t.size, np.int64)
    rank[order] = np.arange(t.size) - group_start
    return rank


def _rank_in_window(t: np.ndarray, strength: np.ndarray, half_width: int) -> np.ndarray:
    """For candidates sorted by time ``t``, return how many candidates within
    +-``half_width`` frames are stronger (ties broken by position)."""
    n = t.size
    rank = np.zeros(n, np.int32)
    hi = np.searchsorted(t, t + half_width, side="right")
    idx = np.arange(n)
    widest = int((hi - idx).max(initial=0))
    for d in range(1, widest + 1):
        ahead = idx[: n - d]
        inside = (ahead + d) < hi[ahead]
        stronger = strength[ahead + d] > strength[ahead]
        rank[: n - d] += inside & stronger
        rank[d:] += inside & ~stronger  # ties count against the later candidate
    return rank


def _parabolic_offset(spec: np.ndarray, t: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Sub-bin offset (-0.5..0.5) of each peak from a parabola through 3 dB values."""
    left, mid, right = spec[t, b - 1], spec[t, b], spec[t, b + 1]
    denom = left - 2 * mid + right
    with np.errstate(divide="ignore", invalid="ignore"):
        off = np.where(denom < 0, 0.5 * (left - right) / denom, 0.0)
    return np.clip(off, -0.5, 0.5)


def _bins_to_cells(bin_in_spec: np.ndarray) -> np.ndarray:
    """Fractional spectrogram bin (0 = ``MIN_BIN``) -> log-frequency cells above MIN_HZ."""
    hz = (bin_in_spec + MIN_BIN) * BIN_HZ
    return STEPS_PER_OCTAVE * np.log2(hz / MIN_HZ)


def cells_to_hz(u: np.ndarray | float) -> np.ndarray:
    """Given log-frequency cells, return frequencies in Hz (inverse of the peak scale)."""
    return MIN_HZ * np.power(2.0, np.asarray(u, dtype=np.float64) / STEPS_PER_OCTAVE)


def peaks_to_landmarks(peaks: Peaks, fanout: int | None) -> Landmarks:
    """Given peaks, return landmarks: each anchor paired with the ``fanout`` nearest
    later peaks inside the target zone (``MIN_DT_FRAMES..MAX_DT_FRAMES``,
    ``|du| <= MAX_DU_STEPS``), or with every peak in the zone if ``fanout`` is None."""
    t, u = peaks.t, peaks.u
    n = t.size
    hi = np.searchsorted(t, t + MAX_DT_FRAMES, side="right")
    widest = int((hi - np.arange(n)).max(initial=0))
    taken = np.zeros(n, np.int32)
    anchors, partners = [], []
    for d in range(1, widest):
        a = np.arange(n - d)
        p = a + d
        ok = (p < hi[a]) & (t[p] - t[a] >= MIN_DT_FRAMES) & (np.abs(u[p] - u[a]) <= MAX_DU_STEPS)
        if fanout is not None:
            ok &= taken[a] < fanout
            taken[a[ok]] += 1
        anchors.append(a[ok])
        partners.append(p[ok])
    a = np.concatenate(anchors) if anchors else np.zeros(0, np.int64)
    p = np.concatenate(partners) if partners else np.zeros(0, np.int64)
    return Landmarks(t[a], u[a], u[p], (t[p] - t[a]).astype(np.int32))


def pack_hash(f1: np.ndarray, du: np.ndarray, dt: np.ndarray) -> np.ndarray:
    """Pack quantised fields into int32 hashes: anchor cell ``f1`` (0..255), frequency
    difference ``du`` in cells (-MAX_DU_STEPS..MAX_DU_STEPS), gap ``dt`` frames (0..63)."""
    f1 = np.asarray(f1, np.int64)
    du = np.asarray(du, np.int64) + MAX_DU_STEPS
    dt = np.asarray(dt, np.int64)
    return ((f1 << (DU_BITS + DT_BITS)) | (du << DT_BITS) | dt).astype(np.int32)


def unpack_hash(h: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inverse of ``pack_hash``: return (f1, du, dt) as int32 arrays."""
    h = np.asarray(h, np.int64)
    dt = h & ((1 << DT_BITS) - 1)
    du = ((h >> DT_BITS) & ((1 << DU_BITS) - 1)) - MAX_DU_STEPS
    f1 = h >> (DU_BITS + DT_BITS)
    return f1.astype(np.int32), du.astype(np.int32), dt.astype(np.int32)


def landmarks_to_hashes(lm: Landmarks, speed: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Given landmarks observed at playback ``speed``, return (hashes int32, anchor
    times float32 in original frames, keep mask) as the original recording would hash
    them: f -> f / speed, t -> t * speed.  Landmarks leaving the field ranges are dropped
    (mask False)."""
    shift = STEPS_PER_OCTAVE * np.log2(speed)
    f1 = np.floor(lm.u1 - shift).astype(np.int64)
    du = np.rint(lm.u2 - lm.u1).astype(np.int64)
    dt = np.rint(lm.dt * speed).astype(np.int64)
    ok = (f1 >= 0) & (f1 < FREQ_CELLS) & (np.abs(du) <= MAX_DU_STEPS) & (dt <= MAX_DT_FRAMES)
    return pack_hash(f1[ok], du[ok], dt[ok]), (lm.t1[ok] * speed).astype(np.float32), ok


def fingerprint(samples: np.ndarray, profile: IndexProfile = INDEX_PROFILE) -> Fingerprint:
    """Given a recording's mono samples at ``ANALYSIS_RATE``, return the hashes to store
    (about ``profile.peaks_per_second * profile.fanout`` per second) with their anchor
    frame offsets."""
    peaks = find_peaks(spectrogram(samples), profile.peaks_per_second)
    lm = peaks_to_landmarks(peaks, profile.fanout)
    hashes, _, ok = landmarks_to_hashes(lm)
    return Fingerprint(hashes, lm.t1[ok].astype(np.int32), FINGERPRINT_VERSION, samples.size / ANALYSIS_RATE)


def speed_hypotheses(profile: QueryProfile = QUERY_PROFILE) -> np.ndarray:
    """Return the playback speeds tried by the query side: 1.0 and its multiples by
    ``speed_step_cells`` log-frequency cells nearest to ``min_speed``..``max_speed``."""
    step = profile.speed_step_cells / STEPS_PER_OCTAVE  # octaves
    lo = int(np.round(np.log2(profile.min_speed) / step))
    hi = int(np.round(np.log2(profile.max_speed) / step))
    return np.power(2.0, np.arange(lo, hi + 1) * step)


def query_fingerprint(samples: np.ndarray, profile: QueryProfile = QUERY_PROFILE) -> QueryPrints:
    """Given an excerpt's mono samples at ``ANALYSIS_RATE``, return its hashes under
    every speed hypothesis (see ``QueryPrints``); many more per second than the index
    stores, so that the index's landmarks are found among them."""
    peaks = find_peaks(spectrogram(samples), profile.peaks_per_second)
    lm = peaks_to_landmarks(peaks, None)
    speeds = speed_hypotheses(profile)
    hashes, times, index = [], [], []
    for k, s in enumerate(speeds):
        h, t, _ = landmarks_to_hashes(lm, s)
        hashes.append(h)
        times.append(t)
        index.append(np.full(h.size, k, np.int16))
    return QueryPrints(
        np.concatenate(hashes), np.concatenate(times), np.concatenate(index), speeds, samples.size / ANALYSIS_RATE
    )
