"""The pieces a long capture is heard in: back to back, each of an ordinary capture's length.

A long capture of a station (``SCAN_LISTEN_SECONDS``, :mod:`zamio.scanning.listening`) may hold
the end of one song and the start of the next.  Each piece is recognised against the catalog and
recorded as an ordinary capture would be, so a play of a catalog song is as precise as before.
The pieces that are music the catalog lacks are filed together, as one hearing
(:mod:`zamio.recognition.hearings`): what joins them to a recording is where another hearing holds
the same audio, never where the sound seems to change (``bench/segue_bench.py`` measured that: a
change of song found from the sound alone is missed too often, and found where there is none).

The pieces do not overlap: two pieces never hold the same second, so a second is never held twice.
"""

from __future__ import annotations

from zamio.recognition.audio import ANALYSIS_RATE

RATE = ANALYSIS_RATE
#: A remainder shorter than this (a play's shortest), or than half a piece, is heard with the piece
#: before it, not alone: too short to recognise on its own.
MIN_PIECE_SECONDS = 10.0


def cut(total_samples: int, piece_seconds: float) -> list[tuple[int, int]]:
    """Given a long capture's length in samples at ``RATE``, return its pieces as (first, end)
    sample indices, in order and back to back: ``piece_seconds`` long, the last one holding the
    remainder too when that is shorter than ``MIN_PIECE_SECONDS`` or half a piece.  A capture no
    longer than a piece is one piece."""
    length = max(1, int(round(piece_seconds * RATE)))
    if total_samples <= length:
        return [(0, total_samples)]
    starts = list(range(0, total_samples, length))
    if len(starts) > 1 and total_samples - starts[-1] < min(MIN_PIECE_SECONDS * RATE, length / 2):
        starts.pop()
    ends = starts[1:] + [total_samples]
    return list(zip(starts, ends, strict=True))
