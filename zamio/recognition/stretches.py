"""Stretches of a song's time, as (from, to) seconds: what a recording's members cover, and what they leave unheard.

Filing keeps a joining capture's prints while it covers a part of the song no kept member covers
(``zamio.recognition.unknown``), and sequence evidence measures how much two recordings placed one in the other
share (``zamio.recognition.sequence``); both read the stretches their members' kept prints cover.
"""

from __future__ import annotations

from collections.abc import Sequence


def longest_unheard(stretch: tuple[float, float], heard: Sequence[tuple[float, float]]) -> float:
    """The longest part of ``stretch`` (from, to) that none of the ``heard`` stretches covers, in seconds.

    Not the span from the first to the last second heard: airings captured at other moments of the song leave
    holes inside that span, and a capture filling one must keep its prints, or the next airing heard there
    finds nothing to join and starts a second recording of the song."""
    start, end = stretch
    longest, reached = 0.0, start
    for lo, hi in sorted(heard):
        if hi <= reached:
            continue
        if lo >= end:
            break
        longest = max(longest, lo - reached)
        reached = max(reached, hi)
    return max(longest, end - reached, 0.0)


def shared_seconds(first: Sequence[tuple[float, float]], second: Sequence[tuple[float, float]]) -> float:
    """The seconds that both sets of stretches (from, to) cover."""
    return sum(max(0.0, min(a_to, b_to) - max(a_from, b_from))
               for a_from, a_to in union(first) for b_from, b_to in union(second))


def union(stretches: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """The stretches merged where they overlap or touch, in order."""
    merged: list[tuple[float, float]] = []
    for lo, hi in sorted(stretches):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged
