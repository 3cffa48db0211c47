"""Recognising a capture by the catalog's matcher from the prints the unknown index kept of it.

A stream capture keeps no audio; what stays of music that matched nothing is its prints in
the unknown index (``zamio.recognition.unknown``): triplets of its strongest peaks, 12 a
second, each anchor with its three nearest partners.  A triplet hash holds the anchor's
log-frequency cell and each partner's difference in cells and gap in frames
(``fingerprint.unpack_hash``), so the prints give back the peaks they were made of: every
anchor, and every partner, at its frame and cell.

From those peaks :func:`query_of_prints` makes the query the catalog's matcher reads of an
excerpt (``fingerprint.query_fingerprint``) at nominal speed: triplets of each peak with its
``triplet_partners`` nearest (the candidates), pairs of each peak with every partner in the
target zone (the decision) and those pairs as landmarks (the second look,
``zamio.recognition.verify``).  The cells are whole (the quantisation of the hashes): each
peak is placed in the middle of its cell, inside the second look's tolerance of a cell.
Recognised by ``zamio.recognition.index.identify_query``, a capture is accepted as an excerpt
is: evidence against the best of the other candidates, and the second look below
``match.VERIFY_BELOW``.  Captures of a station's air are at nominal speed; the speed
hypotheses of a query are not made.
"""

from __future__ import annotations

import numpy as np

from zamio.recognition.fingerprint import (
    FRAME_SECONDS,
    QUERY_PROFILE,
    Peaks,
    Query,
    QueryPrints,
    landmarks_to_hashes,
    peaks_to_landmarks,
    peaks_to_triplets,
    triplets_to_hashes,
    unpack_hash,
)

#: A peak recovered from a hash lies somewhere in its cell: the middle of it.
CELL_MIDDLE = 0.5


def peaks_of_prints(hashes: np.ndarray, frames: np.ndarray) -> Peaks:
    """Given triplet prints (hashes, anchor frames), return the distinct peaks they hold, sorted by time,
    then cell; every peak's strength is 0 (the prints do not keep it)."""
    f1, du2, du3, dt2, dt3 = (np.asarray(x, np.int64) for x in unpack_hash(hashes))
    t0 = np.asarray(frames, np.int64)
    t = np.concatenate([t0, t0 + dt2, t0 + dt3])
    cell = np.concatenate([f1, f1 + du2, f1 + du3])
    keys = np.unique(t * 4096 + (cell + 2048))  # cells lie in -31 .. 286: 4096 keeps them apart
    t, cell = np.divmod(keys, 4096)
    return Peaks(t.astype(np.int32), (cell - 2048 + CELL_MIDDLE).astype(np.float32), np.zeros(t.size, np.float32))


def query_of_prints(hashes: np.ndarray, frames: np.ndarray, seconds: float) -> Query:
    """Given a capture's kept triplet prints and its length, return the catalog matcher's query of it at
    nominal speed (see the module docstring); the query has no profile, so the matcher makes no other speed."""
    peaks = peaks_of_prints(hashes, frames)
    profile = QUERY_PROFILE
    triplets = peaks_to_triplets(peaks, profile.triplet_partners)
    landmarks = peaks_to_landmarks(peaks, None)
    return Query(_nominal(*triplets_to_hashes(triplets)[:2], seconds),
                 _nominal(*landmarks_to_hashes(landmarks)[:2], seconds), landmarks, None)


def _nominal(hashes: np.ndarray, times: np.ndarray, seconds: float) -> QueryPrints:
    one = np.ones(1)
    return QueryPrints(hashes, times, np.zeros(hashes.size, np.int16), one, seconds, one)


def frames_span(frames: np.ndarray) -> float:
    """The seconds the prints' anchors cover (a capture's length when it is not known otherwise)."""
    frames = np.asarray(frames)
    return float(frames.max() - frames.min() + 1) * FRAME_SECONDS if frames.size else 0.0
