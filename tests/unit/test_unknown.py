"""The unknown index's vote: excerpts of one recording align at their true distance, other recordings do not.

The recordings are random note sequences that never repeat a phrase: a generated song
(``zamio.demo.synth``) repeats its bars, and a repeat aligns as well as the true distance.
"""

from __future__ import annotations

import numpy as np
import pytest

from zamio.recognition import audio, unknown
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
    vote = unknown.best_vote(*query(songs[51], start, start + 12.0), index, {})
    assert vote is not None and vote.capture_id == 1
    # A sound at second s of the song is frame s/F of capture 1 and (s − start)/F of the new one: capture 1's
    # frame of the new capture's start is start/F, within the two-frame bin and the decoder's rounding.
    assert abs(vote.offset_frames * FRAME_SECONDS - start) <= 2 * FRAME_SECONDS
    assert vote.aligned >= unknown.MIN_ALIGNED


def test_another_song_and_an_excerpt_without_overlap_find_nothing(songs) -> None:
    index = stored({1: (songs[51], 0.0, 12.0), 2: (songs[52], 0.0, 12.0)})
    assert unknown.best_vote(*query(songs[53], 0.0, 12.0), index, {}) is None
    assert unknown.best_vote(np.array([], np.int64), np.array([], np.int64), index, {}) is None


def test_the_best_of_the_same_recording_is_not_its_own_runner_up(songs) -> None:
    """Two captures of one recording both align: the runner-up is another recording's best, so the
    vote stands; counted as rivals, two equal bins would cancel each other out."""
    index = stored({1: (songs[51], 0.0, 12.0), 2: (songs[51], 0.0, 12.0)})
    hashes, frames = query(songs[51], 4.0, 16.0)
    assert unknown.best_vote(hashes, frames, index, {1: 7, 2: 7}) is not None
    assert unknown.best_vote(hashes, frames, index, {}) is None
