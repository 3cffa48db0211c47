"""Recognising a capture by the catalog's matcher from the prints the unknown index kept of it.

A stream capture keeps no audio; what stays of music that matched nothing is its prints in
the unknown index (``zamio.recognition.unknown``): triplets of its strongest peaks, 12 a
second, each anchor with its three nearest partners.  A triplet hash holds the anchor's
log-frequency cell and each partner's difference in cells and gap in frames
(``fingerprint.unpack_hash``), so the prints give back the peaks they were made of: every
anchor, and every partner, at its frame and cell.

From those peaks :func:`query_of_prints` makes the query the catalog's matcher reads of an
excerpt (``query.query_of_peaks``, as ``query.query_fingerprint`` makes it of audio):
triplets of each peak with its ``triplet_partners`` nearest (the candidates), pairs of each peak
with every partner in the target zone (the decision) and those pairs as landmarks (the second
look, ``zamio.recognition.verify``), under the same speed hypotheses.  A record played s times
fast moves every peak from frame t to t / s and every cell by 36 log2(s) (cells are
log-frequency), so the peaks re-hashed under a hypothesis are those of the record at its own
speed, as an excerpt's are: a station playing records 2 to 4 % fast or slow keeps captures
whose prints name the song.  The cells are whole (the quantisation of the hashes): each peak is
placed in the middle of its cell, inside the second look's tolerance of a cell; the varispeed
hypotheses are whole cells apart, so a peak moves into a whole cell under each.  Recognised by
``zamio.recognition.index.identify_query``, a capture is accepted as an excerpt is: its nominal
prints first (the nominal query is the one made with no other speed, print for print), then the
other speeds; evidence against the best of the other candidates, and the second look below
``match.VERIFY_BELOW``.
"""

from __future__ import annotations

import math

import numpy as np

from zamio.recognition.fingerprint import FRAME_SECONDS, Peaks, unpack_hash
from zamio.recognition.query import QUERY_PROFILE, Query, QueryProfile, query_of_peaks

#: A peak recovered from a hash lies somewhere in its cell: the middle of it.
CELL_MIDDLE = 0.5
#: An answer at any speed hypothesis, past the nominal pass, takes the second look whatever its evidence
#: (``index.identify_query``'s ``verify_below``).  On generated songs played 2 to 4 % fast or slow, the evidence
#: alone let 3 of 168 captures of songs outside the catalog name a catalog song at 5 to 6 standard deviations
#: (the excerpts' own audio named 2 of those 4 alike); asked always, the second look refused them all and lost
#: none of 288 captures of catalog songs (bench/kept_speed_bench.py).  A naming moves money with no one listening.
VERIFY_OFF_NOMINAL = math.inf


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


def query_of_prints(hashes: np.ndarray, frames: np.ndarray, seconds: float,
                    profile: QueryProfile = QUERY_PROFILE) -> Query:
    """Given a capture's kept triplet prints and its length, return the catalog matcher's query of it under
    the speed hypotheses of ``profile`` (see the module docstring; another profile only where a benchmark
    compares one)."""
    peaks = peaks_of_prints(hashes, frames)
    return query_of_peaks(peaks, peaks, seconds, profile)


def frames_span(frames: np.ndarray) -> float:
    """The seconds the prints' anchors cover (a capture's length when it is not known otherwise)."""
    frames = np.asarray(frames)
    return float(frames.max() - frames.min() + 1) * FRAME_SECONDS if frames.size else 0.0
