"""The unknown index's vote: excerpts of one recording align at their true distance, other recordings do not.

The recordings are random note sequences that never repeat a phrase: a generated song
(``zamio.demo.synth``) repeats its bars, and a repeat aligns as well as the true distance.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zamio.recognition import audio, stretches, unknown, votes
from zamio.recognition.fingerprint import FRAME_SECONDS

RATE = audio.ANALYSIS_RATE


def notes(seed: int, seconds: float = 40.0) -> np.ndarray:
    """Random notes of 0.15 to 0.5 s, two at a time, each with three harmonics, at ``RATE``."""
    rng = np.random.default_rng(seed)
    out = np.zeros(int(seconds * RATE))
    for _voice in range(2):
        at = 0.0
        while at < seconds:
            length = rng.uniform(0.15, 0.5)
            first, count = int(at * RATE), int(length * RATE)
            t = np.arange(min(count, out.size - first)) / RATE
            hz = rng.uniform(150.0, 1200.0)
            tone = sum(np.sin(2 * np.pi * hz * k * t) / k for k in (1, 2, 3)) * np.exp(-3.0 * t)
            out[first:first + t.size] += tone
            at += length
    return (out / np.abs(out).max() * 0.5).astype(np.float32)


@pytest.fixture(scope="module")
def songs() -> dict[int, np.ndarray]:
    return {seed: notes(seed) for seed in (51, 52, 53)}


def stored(excerpts: dict[int, tuple[np.ndarray, float, float]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The unknown index of captures (capture id -> (song samples, from, to) in seconds)."""
    parts = []
    for capture_id, (samples, start, end) in excerpts.items():
        fp = unknown.prints(samples[int(start * RATE):int(end * RATE)])
        parts.append(np.stack([fp.hashes.astype(np.int64), np.full(fp.hashes.size, capture_id, np.int64),
                               fp.offsets.astype(np.int64)]))
    table = np.concatenate(parts, axis=1)
    return table[0], table[1], table[2]


def query(samples: np.ndarray, start: float, end: float) -> tuple[np.ndarray, np.ndarray]:
    fp = unknown.prints(samples[int(start * RATE):int(end * RATE)])
    return fp.hashes.astype(np.int64), fp.offsets.astype(np.int64)


@pytest.mark.parametrize("start", [2.0, 3.0, 5.0, 7.5])
def test_an_overlapping_excerpt_is_placed_at_its_distance_from_the_one_it_matches(songs, start: float) -> None:
    index = stored({1: (songs[51], 0.0, 12.0), 2: (songs[52], 0.0, 12.0)})
    vote = votes.best_vote(*query(songs[51], start, start + 12.0), index, {})
    assert vote is not None and vote.capture_id == 1
    # A sound at second s of the song is frame s/F of capture 1 and (s − start)/F of the new one: capture 1's
    # frame of the new capture's start is start/F, within the two-frame bin and the decoder's rounding.
    assert abs(vote.offset_frames * FRAME_SECONDS - start) <= 2 * FRAME_SECONDS
    assert vote.aligned >= votes.MIN_ALIGNED


def test_another_song_and_an_excerpt_without_overlap_find_nothing(songs) -> None:
    index = stored({1: (songs[51], 0.0, 12.0), 2: (songs[52], 0.0, 12.0)})
    assert votes.best_vote(*query(songs[53], 0.0, 12.0), index, {}) is None
    assert votes.best_vote(np.array([], np.int64), np.array([], np.int64), index, {}) is None


def test_the_best_of_the_same_recording_is_not_its_own_runner_up(songs) -> None:
    """Two captures of one recording both align: the runner-up is another recording's best, so the
    vote stands; counted as rivals, two equal bins would cancel each other out."""
    index = stored({1: (songs[51], 0.0, 12.0), 2: (songs[51], 0.0, 12.0)})
    hashes, frames = query(songs[51], 4.0, 16.0)
    assert votes.best_vote(hashes, frames, index, {1: 7, 2: 7}) is not None
    assert votes.best_vote(hashes, frames, index, {}) is None


def test_a_capture_whose_same_seconds_align_with_two_recordings_bridges_them(songs) -> None:
    """Recording 7 holds seconds 0–12 of a song, recording 8 seconds 6–18 (captures 1 and 2): a capture of
    seconds 3–15 aligns with both over its seconds 3–9 (song 6–12); the older, 7, comes first.  Its stretches:
    song 3–12 of recording 7 is the capture's 0–9 s, song 6–15 of recording 8 its 3–12 s, each trimmed a
    little at both ends (the 5–95 % quantiles of the aligned hashes, the prints' edges): 6 s in common, more
    than the 2 s asked."""
    index = stored({1: (songs[51], 0.0, 12.0), 2: (songs[51], 6.0, 18.0)})
    groups = votes.group_votes(*query(songs[51], 3.0, 15.0), index, {1: 7, 2: 8})
    pair = votes.bridge(groups, {7, 8})
    assert pair is not None and [g.group for g in pair] == [7, 8]
    (a_from, a_to), (b_from, b_to) = pair[0].stretch, pair[1].stretch
    assert 0.0 <= a_from < 1.5 and 6.5 < a_to <= 9.0 and 3.0 <= b_from < 4.5 and 9.0 < b_to <= 12.0
    assert min(a_to, b_to) - max(a_from, b_from) >= votes.BRIDGE_OVERLAP_SECONDS
    assert votes.bridge(groups, {7}) is None  # recording 8 named or merged: nothing to merge


def test_a_capture_across_the_end_of_one_recording_and_the_start_of_another_bridges_nothing(songs) -> None:
    """Recording 7 is seconds 0–12 of one song, recording 8 seconds 0–12 of another; a capture of the first's
    last 6 s followed by the other's first 6 s aligns with both, over different seconds of the capture."""
    index = stored({1: (songs[51], 0.0, 12.0), 2: (songs[52], 0.0, 12.0)})
    joined = np.concatenate([songs[51][int(6.0 * RATE):int(12.0 * RATE)], songs[52][: int(6.0 * RATE)]])
    groups = votes.group_votes(*query(joined, 0.0, 12.0), index, {1: 7, 2: 8})
    assert {g.group for g in groups[:2]} == {7, 8}
    assert all(g.vote.aligned >= votes.MIN_ALIGNED for g in groups[:2])
    assert votes.bridge(groups, {7, 8}) is None


def test_a_capture_whose_same_seconds_align_with_a_recording_and_a_candidate_brings_the_candidate_in(songs) -> None:
    """Capture 1 of recording 7 holds seconds 0–12 of a song; capture 2, heard once (a candidate), seconds 6–18.
    A capture of seconds 3–15 aligns with both over the same seconds: the recording comes first, then the
    candidate (minus its capture id), whatever their order of votes; with two candidates, or the recording
    named or merged, nothing is said."""
    index = stored({1: (songs[51], 0.0, 12.0), 2: (songs[51], 6.0, 18.0)})
    groups = votes.group_votes(*query(songs[51], 3.0, 15.0), index, {1: 7})
    found = votes.candidate_beside(groups, {7})
    assert found is not None and [g.group for g in found] == [7, -2]
    # Capture 2 starts 3 s after the new capture: its frame of the new capture's start is about -3 s.
    assert abs(found[1].vote.offset_frames * FRAME_SECONDS + 3.0) <= 2 * FRAME_SECONDS
    assert votes.candidate_beside(groups, set()) is None
    assert votes.candidate_beside(votes.group_votes(*query(songs[51], 3.0, 15.0), index, {}), set()) is None
    swapped = votes.candidate_beside(votes.group_votes(*query(songs[51], 3.0, 15.0), index, {2: 7}), {7})
    assert swapped is not None and [g.group for g in swapped] == [7, -1]


def test_a_capture_across_the_end_of_a_recording_and_the_start_of_a_candidate_brings_nothing_in(songs) -> None:
    index = stored({1: (songs[51], 0.0, 12.0), 2: (songs[52], 0.0, 12.0)})
    joined = np.concatenate([songs[51][int(6.0 * RATE):int(12.0 * RATE)], songs[52][: int(6.0 * RATE)]])
    groups = votes.group_votes(*query(joined, 0.0, 12.0), index, {1: 7})
    assert {g.group for g in groups[:2]} == {7, -2}
    assert votes.candidate_beside(groups, {7}) is None


def test_a_capture_holding_two_groups_at_different_seconds_chains_them_for_its_title_to_confirm(songs) -> None:
    """Capture 1 holds seconds 0–8 of a song, capture 2 seconds 12–20; a capture of seconds 4–16 holds both, over
    its seconds 0–4 and 8–12: no seconds in common, as a capture across a change of song.  ``chain`` returns the
    two whatever they are (two candidates, the better aligned first; a recording before a candidate; the older of
    two recordings first), for filing to ask whether the capture holds one song; nothing when one is a recording
    named or merged, or when a third aligns as well."""
    index = stored({1: (songs[51], 0.0, 8.0), 2: (songs[51], 12.0, 20.0)})
    hashes, frames = query(songs[51], 4.0, 16.0)
    candidates = votes.chain(votes.group_votes(hashes, frames, index, {}), set())
    assert candidates is not None and {g.group for g in candidates} == {-1, -2}
    assert candidates[0].vote.aligned >= candidates[1].vote.aligned >= votes.MIN_ALIGNED
    assert not votes.overlapping(*candidates)
    # Capture 2 starts 8 s after the new capture: its frame of the new capture's start is about -8 s.
    second = next(g for g in candidates if g.group == -2)
    assert abs(second.vote.offset_frames * FRAME_SECONDS + 8.0) <= 2 * FRAME_SECONDS
    found = votes.chain(votes.group_votes(hashes, frames, index, {2: 7}), {7})
    assert found is not None and [g.group for g in found] == [7, -1]
    found = votes.chain(votes.group_votes(hashes, frames, index, {1: 9, 2: 8}), {8, 9})
    assert found is not None and [g.group for g in found] == [8, 9]
    assert votes.chain(votes.group_votes(hashes, frames, index, {1: 9, 2: 8}), {9}) is None
    crowded = stored({1: (songs[51], 0.0, 8.0), 2: (songs[51], 12.0, 20.0), 3: (songs[51], 4.0, 16.0)})
    assert votes.chain(votes.group_votes(hashes, frames, crowded, {}), set()) is None


AT = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return AT + timedelta(seconds=seconds)


@pytest.mark.parametrize(("parts", "aired"), [
    # Station 1 heard the song at 12:00:00 (placed at 10 s) and 12:02:00: 120 s later in time, so at 130 s.
    ([[(1, at(0), 10.0)], [(1, at(120), 130.0)]], True),
    ([[(1, at(0), 10.0)], [(1, at(120), 130.8)]], True),  # within the 1 s tolerance
    # Placed at a repeat of the song 60 s after its own seconds: not as aired.
    ([[(1, at(0), 10.0)], [(1, at(120), 70.0)]], False),
    # Another station, or the same station 20 minutes later (another airing): time says nothing.
    ([[(1, at(0), 10.0)], [(2, at(120), 70.0)]], True),
    ([[(1, at(0), 10.0)], [(1, at(1200), 70.0)]], True),
    # Two captures of one part are not compared with each other (they were placed before).
    ([[(1, at(0), 10.0), (1, at(120), 70.0)], [(2, at(0), 0.0)]], True),
    # The third part against the first: 240 s apart in time, 240 s in the song.
    ([[(1, at(0), 0.0)], [(2, at(0), 5.0)], [(1, at(240), 240.0)]], True),
    ([[(1, at(0), 0.0)], [(2, at(0), 5.0)], [(1, at(240), 180.0)]], False),
])
def test_captures_chained_into_one_time_lie_as_their_stations_aired_them(parts, aired) -> None:
    assert unknown.lie_as_aired(parts, 900.0, 1.0) is aired


@pytest.mark.parametrize(("stretch", "heard", "unheard"), [
    ((12.0, 32.0), [(0.0, 20.0), (40.0, 60.0)], 12.0),  # inside the span 0–60, seconds 20–32 never heard
    ((12.0, 32.0), [(0.0, 20.0), (18.0, 40.0)], 0.0),
    ((10.0, 50.0), [(0.0, 15.0), (20.0, 30.0), (33.0, 45.0)], 5.0),  # 15–20, 30–33, 45–50: the longest is 5
    ((10.0, 50.0), [(12.0, 14.0)], 36.0),  # after the one stretch heard: 14–50
    ((10.0, 30.0), [], 20.0),
    ((10.0, 30.0), [(35.0, 40.0), (0.0, 5.0)], 20.0),  # heard elsewhere only, listed out of order
])
def test_the_longest_unheard_part_counts_holes_inside_the_span_heard(stretch, heard, unheard) -> None:
    assert stretches.longest_unheard(stretch, heard) == pytest.approx(unheard)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 60), st.integers(1, 40),
       st.lists(st.tuples(st.integers(0, 100), st.integers(1, 30)), max_size=6))
def test_the_longest_unheard_part_is_the_longest_run_of_seconds_no_stretch_covers(start, length, heard) -> None:
    """Counted second by second over whole seconds: the longest run of seconds of the stretch outside every one
    heard."""
    spans = [(float(a), float(a + n)) for a, n in heard]
    longest = run = 0
    for second in range(start, start + length):
        covered = any(a <= second < a + n for a, n in heard)
        run = 0 if covered else run + 1
        longest = max(longest, run)
    assert stretches.longest_unheard((float(start), float(start + length)), spans) == longest


@pytest.mark.parametrize(("first", "second", "shared"), [
    ([(0.0, 26.0)], [(20.0, 46.0)], 6.0),
    ([(0.0, 20.0), (10.0, 30.0)], [(25.0, 50.0)], 5.0),  # the first's two stretches overlap: counted once
    ([(0.0, 20.0), (40.0, 60.0)], [(15.0, 45.0)], 10.0),  # 15–20 and 40–45
    ([(0.0, 20.0)], [(20.0, 40.0)], 0.0),
    ([], [(0.0, 10.0)], 0.0),
])
def test_the_seconds_two_sets_of_stretches_share(first, second, shared) -> None:
    assert stretches.shared_seconds(first, second) == pytest.approx(shared)
