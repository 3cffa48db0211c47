"""Triplet and pair hashes: how their fields are packed, and the lookup keys of version 3.

Pure numpy, shared by the stored side and the query side (``zamio.recognition.fingerprint``
computes the fields, ``zamio.recognition.match`` and ``zamio.recognition.index`` use the hashes).

A triplet hash holds 31 bits (anchor cell, two frequency differences, two time gaps): it
fits a PostgreSQL ``integer``.  Version 3 looks a triplet up by a 33-bit *key*: its hash
and, above bit 31, the two frequency differences on a half-cell grid (``fine_bits``),
which a lookup must match too.  A lookup of real music then returns about 3.4 times
fewer rows of other recordings (bench/results/recognition.md).  The two bits do not fit
the ``integer`` hash column; the index keeps them in the spare high bits of the row's
frame (``zamio.recognition.index``).  A key of version 2 is its hash.
"""

from __future__ import annotations

import numpy as np

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


#: Version 3: the extra bits a triplet's lookup key holds above its 31-bit hash.
HASH_BITS = 31
EXTRA_BITS = 2
HASH_MASK = (1 << HASH_BITS) - 1


def fine_bits(du2: np.ndarray, du3: np.ndarray) -> np.ndarray:
    """Given a triplet's two frequency differences in cells (float, as the peaks' interpolated
    log-frequencies give them), return its two extra bits (int64, 0..3): for each difference,
    whether it lies in the upper half of the cell it rounds to (the first difference's bit
    above the second's).  Differences do not move with a change of speed, so every speed
    hypothesis of the query side gives the bits the original recording stored."""
    return _upper_half(du2) << 1 | _upper_half(du3)


def _upper_half(d: np.ndarray) -> np.ndarray:
    d = np.asarray(d)
    return (d - np.rint(d) >= 0).astype(np.int64)


def lookup_keys(hashes: np.ndarray, extra: np.ndarray) -> np.ndarray:
    """Given 31-bit triplet hashes and their ``fine_bits``, return their version 3 lookup keys (int64)."""
    return np.asarray(hashes, np.int64) | (np.asarray(extra, np.int64) << HASH_BITS)


def split_keys(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of ``lookup_keys``: return (hashes int32, extra bits int32).  A version 2 key
    (a hash) has no extra bits."""
    keys = np.asarray(keys, np.int64)
    return (keys & HASH_MASK).astype(np.int32), (keys >> HASH_BITS).astype(np.int32)


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
    the pairs a pair index of the same peaks would have stored.  ``hashes`` may be version 3
    lookup keys: the pairs come from their 31-bit hashes."""
    f1, du2, du3, dt2, dt3 = unpack_hash(np.asarray(hashes, np.int64) & HASH_MASK)
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
