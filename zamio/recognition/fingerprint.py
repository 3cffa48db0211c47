"""Landmark fingerprints: samples -> spectrogram -> peaks -> triplets and pairs -> hashes.

Pure numpy/scipy: no database, no network, no ffmpeg (``zamio.recognition.audio`` decodes).

The scheme is Wang's (2003) peak landmarks, recognised in two stages:

* **Stored: triplets.**  The index keeps the strongest peaks (``IndexProfile``), each
  with its three nearest later partners, and stores every triplet of an anchor and two
  of them (an anchor with a single partner p stores (anchor, p, p)): about 20 rows per
  second of audio.  A triplet hash holds 31 bits (anchor cell, two frequency
  differences, two time gaps) where a peak pair holds 20, so a lookup returns about a
  hundred times fewer rows of other recordings, and finding the *candidate*
  recordings of an excerpt stays cheap as the catalog grows.  The query side never
  looks up the triplets of a held note (both frequency differences zero): sustained
  tones make them alike in every recording.
* **Verified: pairs.**  The stored triplets of an anchor hold every pair (anchor,
  partner) (``pairs_of_triplets``): exactly the peak pairs a pair index of the same
  peaks would store.  A triplet needs three peaks to survive noise where a pair needs
  two, so the candidates are decided by pair landmarks: their stored triplets are
  unfolded into pairs and matched against the excerpt's pairs, which are many more per
  second than the index keeps, so that the stored ones are found among them
  (``zamio.recognition.query``).
* Frequencies are on a logarithmic scale (``STEPS_PER_OCTAVE`` cells per octave), so
  playing a recording s times faster moves every peak by the same ``log2(s)`` octaves:
  frequency differences do not change and the anchor frequency moves by a constant.
  The query side (``zamio.recognition.query``) re-hashes its triplets and pairs under several
  speed hypotheses (a played peak (f, t) comes from (f / s, t * s) in the original), so one
  batched lookup covers clean and sped-up audio alike; sub-bin frequency interpolation makes the
  re-hashing exact enough without re-analysing the audio.

Array conventions: ``spectrogram`` is ``[frames, bins]`` float32 in dB; times are
integer frame indices of ``FRAME_SECONDS``; hashes are int32 (non-negative, they fit
a PostgreSQL ``integer``) and every stored hash carries ``FINGERPRINT_VERSION``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zamio.recognition.audio import ANALYSIS_RATE

# Bump when anything below changes the hashes an index would store.
# 1: peak pairs (20-bit hashes).  2: triplets (31-bit hashes), verified as pairs.
FINGERPRINT_VERSION = 2

WINDOW_SAMPLES = 1024  # 128 ms at 8 kHz: 7.8 Hz bins resolve low notes
HOP_SAMPLES = 256  # 32 ms frames
FRAME_SECONDS = HOP_SAMPLES / ANALYSIS_RATE  # seconds per frame
BIN_HZ = ANALYSIS_RATE / WINDOW_SAMPLES  # Hz per FFT bin

MIN_HZ = 125.0  # below this, bins are too coarse for a log scale and full of rumble
STEPS_PER_OCTAVE = 36  # log-frequency cell: 1/3 semitone, 1.94 % (about one speed step)
FREQ_CELLS = 256  # 8 bits of anchor frequency: 125 Hz .. 125 * 2**(256/36) Hz > 4 kHz
MIN_BIN = int(np.ceil(MIN_HZ / BIN_HZ))

# Target zone of an anchor's partners:
MAX_DT_FRAMES = 63  # partner at most 2.0 s after the anchor (6 bits)
MIN_DT_FRAMES = 1
MAX_DU_STEPS = 31  # |log-frequency difference| at most 31 cells (just under an octave)

F1_BITS = 8
DU_BITS = 6  # du + MAX_DU_STEPS in 0..62
# Pair hash, 20 bits: anchor cell (8) | du (6) | dt (6).
DT_BITS = 6
# Triplet hash, 31 bits: anchor cell (8) | du of the first partner (6) | du of the
# second (6) | the two time gaps (11).  The gaps are ordered (1 <= dt2 <= dt3 <= 63:
# partners come in time order), so the pair has 63 * 64 / 2 = 2,016 values and fits
# 11 bits where two independent fields would need 12.
GAPS_BITS = 11

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
    partners: int = 3  # the nearest peaks in time inside the zone; every two make a triplet


INDEX_PROFILE = IndexProfile()


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
class Triplets:
    """Anchor peaks with two of their partners: anchor frame ``t1`` (int32), the
    log-frequencies ``u1`` (anchor), ``u2``, ``u3`` (partners, float32 cells) and the
    partners' gaps after the anchor ``dt2 <= dt3`` in frames (int32)."""

    t1: np.ndarray
    u1: np.ndarray
    u2: np.ndarray
    u3: np.ndarray
    dt2: np.ndarray
    dt3: np.ndarray


@dataclass(frozen=True)
class Fingerprint:
    """What the index stores for one recording: ``hashes`` and anchor ``offsets``
    (frames of ``FRAME_SECONDS``), both int32 and of equal length."""

    hashes: np.ndarray
    offsets: np.ndarray
    version: int
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
    return _select_peaks(spec, _ranked_candidates(spec), peaks_per_second)


def _select_peaks(spec: np.ndarray, ranked: tuple[np.ndarray, ...], peaks_per_second: float) -> Peaks:
    """Given ``_ranked_candidates`` of ``spec``, return those within the budget of
    ``peaks_per_second`` as ``Peaks``: the same ranking serves every density."""
    t, b, strength, rank = ranked
    keep = rank < peaks_per_second * (2 * RANK_WINDOW_FRAMES + 1) * FRAME_SECONDS
    t, b, strength = t[keep], b[keep], strength[keep]
    u = _bins_to_cells(b + _parabolic_offset(spec, t, b))
    return Peaks(t.astype(np.int32), u.astype(np.float32), strength.astype(np.float32))


def _ranked_candidates(spec: np.ndarray) -> tuple[np.ndarray, ...]:
    """Return the peak candidates of ``spec`` (frame, bin, strength) with their rank in
    their +-``RANK_WINDOW_FRAMES`` window (0 = strongest), sorted by time."""
    # The neighbourhood maximum, one axis at a time, each along contiguous memory.
    local_max = _sliding_max(spec, PEAK_NEIGHBOUR_FRAMES)
    local_max = _sliding_max(np.ascontiguousarray(local_max.T), PEAK_NEIGHBOUR_BINS).T
    is_peak = spec == local_max
    is_peak[:, 0] = is_peak[:, -1] = False  # edge bins cannot be interpolated
    is_peak &= spec > FLOOR_DB + 1.0
    t, b = np.nonzero(is_peak)
    strength = spec[t, b]
    strongest = _rank_in_frame(t, strength) < MAX_CANDIDATES_PER_FRAME
    t, b, strength = t[strongest], b[strongest], strength[strongest]
    return t, b, strength, _rank_in_window(t, strength, RANK_WINDOW_FRAMES)


def _sliding_max(x: np.ndarray, half_width: int) -> np.ndarray:
    """Return the maximum of ``x`` over rows ``i - half_width .. i + half_width`` for every
    row ``i`` (the window cut at the edges, as ``scipy.ndimage.maximum_filter1d`` with
    its default mode gives): windows of doubling length, about log2 of the width passes
    over whole rows, where the filter walks each column separately."""
    n, width = x.shape[0], 2 * half_width + 1
    pad = np.full((half_width, *x.shape[1:]), -np.inf, x.dtype)
    m = np.concatenate([pad, x, pad])  # m[j] is row j - half_width
    span = 1
    while 2 * span <= width:
        m = np.maximum(m[:-span], m[span:])  # m[j] = max of rows j .. j + 2 span - 1
        span *= 2
    return np.maximum(m[:n], m[width - span:width - span + n])


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
    """Given peaks, return pair landmarks: each anchor paired with the ``fanout`` nearest
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


def partner_table(peaks: Peaks, partners: int) -> np.ndarray:
    """Given peaks, return ``[peaks, partners]`` indices of each peak's nearest later
    peaks inside the target zone (``MIN_DT_FRAMES..MAX_DT_FRAMES``, ``|du| <=
    MAX_DU_STEPS``), nearest first; -1 where a peak has fewer."""
    t, u = peaks.t, peaks.u
    n = t.size
    table = np.full((n, partners), -1, np.int64)
    taken = np.zeros(n, np.int64)
    hi = np.searchsorted(t, t + MAX_DT_FRAMES, side="right")
    widest = int((hi - np.arange(n)).max(initial=0))
    for d in range(1, widest):
        a = np.arange(n - d)
        p = a + d
        ok = ((p < hi[a]) & (t[p] - t[a] >= MIN_DT_FRAMES) & (np.abs(u[p] - u[a]) <= MAX_DU_STEPS)
              & (taken[a] < partners))
        a = a[ok]
        table[a, taken[a]] = p[ok]
        taken[a] += 1
    return table


def peaks_to_triplets(peaks: Peaks, partners: int, lone_partner: bool = False) -> Triplets:
    """Given peaks, return every triplet of an anchor and two of its ``partners``
    nearest partners (``partner_table``), the earlier partner second.  With
    ``lone_partner``, an anchor with a single partner p gives the triplet (anchor, p, p),
    so that its pair is stored too."""
    table = partner_table(peaks, partners)
    anchors, seconds, thirds = [], [], []
    every_anchor = np.arange(table.shape[0])
    for i in range(partners):
        for j in range(i + 1, partners):
            ok = (table[:, i] >= 0) & (table[:, j] >= 0)
            anchors.append(every_anchor[ok])
            seconds.append(table[ok, i])
            thirds.append(table[ok, j])
    if lone_partner and partners > 1:
        ok = (table[:, 0] >= 0) & (table[:, 1] < 0)
        anchors.append(every_anchor[ok])
        seconds.append(table[ok, 0])
        thirds.append(table[ok, 0])
    a, p, q = (np.concatenate(x) if x else np.zeros(0, np.int64) for x in (anchors, seconds, thirds))
    t, u = peaks.t, peaks.u
    return Triplets(t[a], u[a], u[p], u[q], (t[p] - t[a]).astype(np.int32), (t[q] - t[a]).astype(np.int32))


def pack_pair_hash(f1: np.ndarray, du: np.ndarray, dt: np.ndarray) -> np.ndarray:
    """Pack quantised fields into int32 pair hashes: anchor cell ``f1`` (0..255),
    frequency difference ``du`` in cells (-MAX_DU_STEPS..MAX_DU_STEPS), gap ``dt``
    frames (0..63)."""
    f1 = np.asarray(f1, np.int64)
    du = np.asarray(du, np.int64) + MAX_DU_STEPS
    dt = np.asarray(dt, np.int64)
    return ((f1 << (DU_BITS + DT_BITS)) | (du << DT_BITS) | dt).astype(np.int32)


def unpack_pair_hash(h: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inverse of ``pack_pair_hash``: return (f1, du, dt) as int32 arrays."""
    h = np.asarray(h, np.int64)
    dt = h & ((1 << DT_BITS) - 1)
    du = ((h >> DT_BITS) & ((1 << DU_BITS) - 1)) - MAX_DU_STEPS
    f1 = h >> (DU_BITS + DT_BITS)
    return f1.astype(np.int32), du.astype(np.int32), dt.astype(np.int32)


def pack_hash(f1: np.ndarray, du2: np.ndarray, du3: np.ndarray, dt2: np.ndarray, dt3: np.ndarray) -> np.ndarray:
    """Pack quantised fields into int32 triplet hashes: anchor cell ``f1`` (0..255),
    frequency differences ``du2``, ``du3`` in cells (-MAX_DU_STEPS..MAX_DU_STEPS), gaps
    ``dt2``, ``dt3`` in frames (1 <= dt2 <= dt3 <= MAX_DT_FRAMES)."""
    f1, dt2, dt3 = (np.asarray(x, np.int64) for x in (f1, dt2, dt3))
    du2 = np.asarray(du2, np.int64) + MAX_DU_STEPS
    du3 = np.asarray(du3, np.int64) + MAX_DU_STEPS
    gaps = dt3 * (dt3 - 1) // 2 + dt2 - 1  # the ordered pair's rank: 0 .. 2,015
    return ((((f1 << DU_BITS) | du2) << DU_BITS | du3) << GAPS_BITS | gaps).astype(np.int32)


def unpack_hash(h: np.ndarray) -> tuple[np.ndarray, ...]:
    """Inverse of ``pack_hash``: return (f1, du2, du3, dt2, dt3) as int32 arrays."""
    h = np.asarray(h, np.int64)
    gaps = h & ((1 << GAPS_BITS) - 1)
    du3 = ((h >> GAPS_BITS) & ((1 << DU_BITS) - 1)) - MAX_DU_STEPS
    du2 = ((h >> (GAPS_BITS + DU_BITS)) & ((1 << DU_BITS) - 1)) - MAX_DU_STEPS
    f1 = h >> (GAPS_BITS + 2 * DU_BITS)
    # dt3 is the largest n with n (n - 1) / 2 <= gaps
    dt3 = np.floor((1 + np.sqrt(1 + 8 * gaps)) / 2).astype(np.int64)
    dt3 -= dt3 * (dt3 - 1) // 2 > gaps
    dt2 = gaps - dt3 * (dt3 - 1) // 2 + 1
    return tuple(x.astype(np.int32) for x in (f1, du2, du3, dt2, dt3))


def pairs_of_triplets(hashes: np.ndarray, tracks: np.ndarray,
                      frames: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Given stored triplet rows (hashes, track ids, anchor frames), return the pair rows
    they hold, (pair hashes, track ids, frames) with each distinct row once: the pairs
    (anchor, first partner) and (anchor, second partner) of every triplet, which are
    the pairs a pair index of the same peaks would have stored."""
    f1, du2, du3, dt2, dt3 = unpack_hash(hashes)
    h = np.concatenate([pack_pair_hash(f1, du2, dt2), pack_pair_hash(f1, du3, dt3)]).astype(np.int64)
    track_ids, track = np.unique(np.asarray(tracks), return_inverse=True)
    f = np.tile(np.asarray(frames, np.int64), 2)
    if f.size and int(f.max()) >> _KEY_FRAME_BITS:
        raise ValueError(f"a fingerprint frame is beyond {2 ** _KEY_FRAME_BITS} (the audio is too long)")
    # One int64 key per row (track's rank, frame, pair hash), so that one flat sort finds
    # the distinct rows: a recording's pair comes from two or three of its triplets.
    key = np.sort((((np.tile(track.astype(np.int64), 2) << _KEY_FRAME_BITS) | f) << _PAIR_HASH_BITS) | h)
    key = key[np.r_[True, key[1:] != key[:-1]]] if key.size else key
    track_frame = key >> _PAIR_HASH_BITS
    return ((key & ((1 << _PAIR_HASH_BITS) - 1)).astype(np.int32),
            track_ids[track_frame >> _KEY_FRAME_BITS].astype(np.int32),
            (track_frame & ((1 << _KEY_FRAME_BITS) - 1)).astype(np.int32))


_PAIR_HASH_BITS = F1_BITS + DU_BITS + DT_BITS
PAIR_HASH_SPACE = 1 << _PAIR_HASH_BITS  # every pair hash is below this
_KEY_FRAME_BITS = 21  # frames of 32 ms: 18 hours, far beyond the longest audio zamio decodes


def landmarks_to_hashes(lm: Landmarks, speed: float = 1.0,
                        tempo: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Given pair landmarks observed at playback ``speed``, return (pair hashes int32,
    anchor times float32 in original frames, keep mask) as the original recording would
    hash them: f -> f / speed, t -> t * speed (t -> t * ``tempo`` when given: a
    time-stretch changes the tempo alone).  Landmarks leaving the field ranges are
    dropped (mask False)."""
    tempo = speed if tempo is None else tempo
    shift = STEPS_PER_OCTAVE * np.log2(speed)
    f1 = np.floor(lm.u1 - shift).astype(np.int64)
    du = np.rint(lm.u2 - lm.u1).astype(np.int64)
    dt = np.rint(lm.dt * tempo).astype(np.int64)
    ok = (f1 >= 0) & (f1 < FREQ_CELLS) & (np.abs(du) <= MAX_DU_STEPS) & (dt <= MAX_DT_FRAMES)
    return pack_pair_hash(f1[ok], du[ok], dt[ok]), (lm.t1[ok] * tempo).astype(np.float32), ok


def triplets_to_hashes(tr: Triplets, speed: float = 1.0, held_notes: bool = False,
                       tempo: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Given triplets observed at playback ``speed``, return (hashes int32, anchor
    times float32 in original frames, keep mask) as the original recording would hash
    them: f -> f / speed, t -> t * speed (t -> t * ``tempo`` when given: a time-stretch
    changes the tempo alone).  Triplets leaving the field ranges are dropped (mask
    False), and so are those of a held note (both frequency differences zero) unless
    ``held_notes``: alike in every recording, they are worthless to look up, but the
    index keeps them for the pairs they hold."""
    tempo = speed if tempo is None else tempo
    shift = STEPS_PER_OCTAVE * np.log2(speed)
    f1 = np.floor(tr.u1 - shift).astype(np.int64)
    du2 = np.rint(tr.u2 - tr.u1).astype(np.int64)
    du3 = np.rint(tr.u3 - tr.u1).astype(np.int64)
    dt2 = np.maximum(np.rint(tr.dt2 * tempo).astype(np.int64), MIN_DT_FRAMES)
    dt3 = np.rint(tr.dt3 * tempo).astype(np.int64)
    ok = ((f1 >= 0) & (f1 < FREQ_CELLS) & (np.abs(du2) <= MAX_DU_STEPS) & (np.abs(du3) <= MAX_DU_STEPS)
          & (dt3 <= MAX_DT_FRAMES) & (held_notes | (du2 != 0) | (du3 != 0)))
    hashes = pack_hash(f1[ok], du2[ok], du3[ok], dt2[ok], np.maximum(dt3[ok], dt2[ok]))
    return hashes, (tr.t1[ok] * tempo).astype(np.float32), ok


def fingerprint(samples: np.ndarray, profile: IndexProfile = INDEX_PROFILE) -> Fingerprint:
    """Given a recording's mono samples at ``ANALYSIS_RATE``, return the triplet hashes to
    store (about ``profile.peaks_per_second`` times 3 triplets per anchor, per second)
    with their anchor frame offsets.  Together they hold every pair of an anchor and
    one of its partners (``pairs_of_triplets``), held notes included."""
    peaks = find_peaks(spectrogram(samples), profile.peaks_per_second)
    tr = peaks_to_triplets(peaks, profile.partners, lone_partner=True)
    hashes, _, ok = triplets_to_hashes(tr, held_notes=True)
    return Fingerprint(hashes, tr.t1[ok].astype(np.int32), FINGERPRINT_VERSION, samples.size / ANALYSIS_RATE)


def peaks_at_densities(samples: np.ndarray, *peaks_per_second: float) -> tuple[Peaks, ...]:
    """Given mono samples at ``ANALYSIS_RATE``, return their ``find_peaks`` at each density of
    ``peaks_per_second``: one spectrogram and one ranking serve them all."""
    spec = spectrogram(samples)
    ranked = _ranked_candidates(spec)
    return tuple(_select_peaks(spec, ranked, density) for density in peaks_per_second)
