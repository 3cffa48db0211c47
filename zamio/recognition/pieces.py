"""The pieces a long capture is heard in: fixed windows overlapping by half, never cut by sound.

A long capture of a station (``SCAN_LISTEN_SECONDS``, :mod:`zamio.scanning.listening`) may hold
the end of one song and the start of the next.  It is heard, and recorded, as pieces of an
ordinary capture's length, each starting ``PIECE_STEP_SHARE`` of a piece after the one before,
so every second of the capture lies in two pieces and any stretch of a piece's length lies
mostly (three quarters or more) in one of them.  That is what filing needs to place another
airing's pieces (:mod:`zamio.recognition.unknown`): a piece joins a recording only when its
alignment with a capture of another hearing covers most of it.

Cutting where the sound changes was measured and not kept (``bench/results/unknown_week.md``):
the sound of a song changes every 4 to 8 s, so its pieces were short and each overlapping pair
of them made a recording of its own.  Keeping two songs apart is now filing's work: a piece is
never joined to another piece of the same hearing, and one spanning a change of song covers too
little of either song's recordings to join them.
"""

from __future__ import annotations

from zamio.recognition.audio import ANALYSIS_RATE

RATE = ANALYSIS_RATE
#: Each piece starts this share of a piece's length after the one before (overlapping by the rest).
PIECE_STEP_SHARE = 0.5
#: The last piece, ending at the capture's end, is heard only when it adds this share of a step.
LAST_PIECE_SHARE = 0.25


def cut(total_samples: int, piece_seconds: float) -> list[tuple[int, int]]:
    """Given a long capture's length in samples at ``RATE``, return its pieces as (first, end)
    sample indices, in order: ``piece_seconds`` long, one every ``PIECE_STEP_SHARE`` of that, and
    a last one ending at the capture's end when that adds at least ``LAST_PIECE_SHARE`` of a step
    (a fraction of a second more is not worth its recognition).  A capture no longer than a piece
    is one piece."""
    length = int(round(piece_seconds * RATE))
    if total_samples <= length:
        return [(0, total_samples)]
    step = max(1, int(round(length * PIECE_STEP_SHARE)))
    starts = list(range(0, total_samples - length + 1, step))
    if total_samples - (starts[-1] + length) >= LAST_PIECE_SHARE * step:
        starts.append(total_samples - length)
    return [(first, first + length) for first in starts]
