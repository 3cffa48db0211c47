"""A capture across a change of song: the end of one recording and the start of the next.

A station sampled every two minutes for 10 or 12 s is often caught as one song ends and the
next begins, back to back.  Both recordings then align with the capture, each on its own
seconds, and the matcher takes the best recording's rivals for the level chance reaches
(``zamio.recognition.match.accept``): each song is the other's rival, so the whole capture is
refused, though either part alone is recognised with a wide margin.  Such a capture was then
judged music, met again at the next change to or from the same song, and became an unknown
recording whose plays were held in suspense: on the demo's simulated day ten captures of
catalog songs made four of them.

:func:`identify_capture` recognises the whole capture first.  When nothing matches and it
lasts at least ``2 * MIN_PART_SECONDS``, its two halves are recognised one by one, each a
complete recognition with its own rivals.  A change of song inside the capture leaves at
least one half wholly inside one song.  A half is accepted only with ``PART_MIN_ALIGNED``
anchors and ``PART_MIN_EVIDENCE``, stricter than a whole capture's ``match.MIN_ALIGNED`` and
``match.MIN_EVIDENCE``, since chance gets two more tries at every capture that matches
nothing.  When both halves match, the capture is a detection of the one with more aligned
anchors (the recording heard longest in it); its offset is moved back to the capture's
start (a negative offset: the capture began before the recording).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from sqlalchemy import Connection

from zamio.recognition.audio import ANALYSIS_RATE
from zamio.recognition.index import PairCache, identify
from zamio.recognition.match import MatchResult
from zamio.recognition.query import QUERY_PROFILE, QueryProfile

#: The shortest half tried: a 10 s stream capture gives two halves of 5 s, which the
#: catalog recognises at nominal speed 98.6 % of the time (docs/recognition.md).
MIN_PART_SECONDS = 4.0
#: What a half needs, beyond the matcher's own acceptance: aligned anchors and standard
#: deviations above chance.  Chance gets two more tries at every capture that matches
#: nothing, and a half of a few seconds is where it reaches furthest with few rivals.  On
#: the DEV corpus, of the 761 captures holding no catalog music (held-out music, changes
#: between two held-out songs, speech) that match nothing whole, the matcher's rule (8
#: anchors, 2.5) accepts a half of 9, 8 anchors and 4 deviations a half of 2, this rule
#: none; of the 128 captures holding a catalog song that the whole refuses, this rule
#: recovers 30, those 34 (bench/changeover_bench.py, bench/results/recognition.md).
PART_MIN_ALIGNED = 14
PART_MIN_EVIDENCE = 4.0


def identify_capture(
    conn: Connection, samples: np.ndarray, cache: PairCache | None = None, profile: QueryProfile = QUERY_PROFILE
) -> MatchResult | None:
    """Given a capture's mono samples at ``ANALYSIS_RATE``, return the catalog track heard,
    as ``zamio.recognition.index.identify`` does for the whole capture, else the best of its
    halves (see the module docstring) with the offset of the capture's start; None when
    neither the whole nor a half is recognised."""
    found = identify(conn, samples, cache, profile)
    if found is not None:
        return found
    return identify_halves(conn, samples, cache, profile)


def identify_halves(
    conn: Connection, samples: np.ndarray, cache: PairCache | None = None, profile: QueryProfile = QUERY_PROFILE
) -> MatchResult | None:
    """Given a capture's samples, return the better of its halves' matches that reach
    ``PART_MIN_ALIGNED`` and ``PART_MIN_EVIDENCE``, its offset placing the capture's start; None when the capture
    is shorter than two ``MIN_PART_SECONDS`` or no half is recognised."""
    middle = samples.size // 2
    if middle < MIN_PART_SECONDS * ANALYSIS_RATE:
        return None
    found = []
    for start in (0, middle):
        part = identify(conn, samples[start : start + middle], cache, profile)
        if part is not None and part.aligned >= PART_MIN_ALIGNED and part.evidence >= PART_MIN_EVIDENCE:
            found.append(from_capture_start(part, start / ANALYSIS_RATE))
    return max(found, key=lambda m: (m.aligned, m.evidence), default=None)


def from_capture_start(part: MatchResult, part_start_seconds: float) -> MatchResult:
    """Given the match of a part of a capture that began ``part_start_seconds`` into it, return
    the match placed at the capture's start: at speed s, a second played is s seconds of
    the recording."""
    return replace(part, offset_seconds=part.offset_seconds - part_start_seconds * part.speed)
