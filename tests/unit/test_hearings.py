"""Filing a long hearing as one (zamio.recognition.hearings.decide): its pieces join the recording of the
audio another hearing shares with them, never across a change of song, and two recordings one hearing
aligns with over the same seconds are merged.

The songs are random notes that never repeat a phrase (tests/unit/test_unknown.py's), so the only audio two
hearings share is the song's seconds both heard.  Each expected place is worked out from the songs' seconds
and the prints' time step (64 ms): a piece heard from second s of a song lies at s in a recording whose
time 0 is the song's start.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from tests.unit.test_unknown import notes
from zamio.recognition import audio, hearings, unknown
from zamio.recognition.fingerprint import FRAME_SECONDS
from zamio.recognition.hearings import Loaded, Part

RATE = audio.ANALYSIS_RATE
PLACE = 2 * FRAME_SECONDS  # a place is found to the offset bin and the decoder's rounding


def piece(capture_id: int, start: float, seconds: float, unknown_id: int | None = None,
          offset: float | None = None, hearing: str = "") -> Part:
    row = SimpleNamespace(capture_id=capture_id, seconds=seconds, unknown_id=unknown_id, offset_seconds=offset)
    return Part(row, hearing, start)  # type: ignore[arg-type]


def prints_of(samples: np.ndarray, parts: list[Part]) -> tuple[np.ndarray, np.ndarray]:
    """The prints of each piece (cut from ``samples``, the hearing's audio), in the hearing's time."""
    hashes, frames = [], []
    for part in parts:
        fp = unknown.prints(samples[int(part.start * RATE):int(part.end * RATE)])
        hashes.append(fp.hashes.astype(np.int64))
        frames.append(fp.offsets.astype(np.int64) + round(part.start / FRAME_SECONDS))
    return np.concatenate(hashes), np.concatenate(frames)


def loaded(mine: tuple[np.ndarray, list[Part]], *others: tuple[np.ndarray, list[Part]]) -> Loaded:
    """A hearing (its audio and pieces) to file against the other hearings given, stored."""
    named = {f"h{i}": parts for i, (_, parts) in enumerate(others)}
    stored = [prints_of(samples, parts) for samples, parts in others]
    return Loaded(mine[1], prints_of(*mine), named, (
        np.concatenate([h for h, _ in stored]),
        np.concatenate([np.full(h.size, i, np.int64) for i, (h, _) in enumerate(stored)]),
        np.concatenate([f for _, f in stored])))


@pytest.fixture(scope="module")
def songs() -> dict[int, np.ndarray]:
    return {seed: notes(seed, 80.0) for seed in (61, 62, 63, 64)}


def joined(outcome: hearings.Outcome) -> dict[int, tuple[int | None, float]]:
    return {part.row.capture_id: (recording, offset) for part, recording, offset, _, _ in outcome.joined}


def test_a_piece_joins_the_recording_of_the_seconds_another_hearing_shares_with_it(songs) -> None:
    """Heard before: the song's seconds 0-60 in pieces of 20 s, all in recording 7.  Heard now: seconds
    30-80.  They share seconds 30-60: this hearing's 0-30.  Its first piece (30-50) is covered whole and
    joins 7 at 30 s; its second (50-70) is covered for 10 of its 20 s, enough (6 s): it joins 7 at 50 s;
    the third (70-80) is not covered: it waits."""
    song = songs[61]
    before = [piece(1, 0.0, 20.0, 7, 0.0), piece(2, 20.0, 20.0, 7, 20.0), piece(3, 40.0, 20.0, 7, 40.0)]
    now = [piece(11, 0.0, 20.0), piece(12, 20.0, 20.0), piece(13, 40.0, 10.0)]
    outcome = hearings.decide(loaded((song[30 * RATE:], now), (song[:60 * RATE], before)), unknown.MIN_ALIGNED)
    found = joined(outcome)
    assert set(found) == {11, 12} and {r for r, _ in found.values()} == {7}
    assert abs(found[11][1] - 30.0) <= PLACE and abs(found[12][1] - 50.0) <= PLACE
    assert [p.row.capture_id for p in outcome.single] == [13]
    assert outcome.merges == []


def test_a_hearing_across_a_change_of_song_joins_each_song_s_recording_and_never_the_two(songs) -> None:
    """Heard now: song A's seconds 0-30, then song B's 0-30, back to back.  A's 0-40 are recording 1, B's
    0-40 recording 2.  The first piece (A 0-20) joins 1 at 0 s, the third (B 10-30) joins 2 at 10 s; the
    second holds 10 s of each and joins the one whose stretch covers more of it.  The two stretches of this
    hearing (its 0-30 and 30-60) do not overlap, so the two recordings stay apart."""
    a, b = songs[62], songs[63]
    mix = np.concatenate([a[:30 * RATE], b[:30 * RATE]])
    heard_a = [piece(1, 0.0, 20.0, 1, 0.0), piece(2, 20.0, 20.0, 1, 20.0)]
    heard_b = [piece(3, 0.0, 20.0, 2, 0.0), piece(4, 20.0, 20.0, 2, 20.0)]
    now = [piece(11, 0.0, 20.0), piece(12, 20.0, 20.0), piece(13, 40.0, 20.0)]
    outcome = hearings.decide(loaded((mix, now), (a[:40 * RATE], heard_a), (b[:40 * RATE], heard_b)),
                              unknown.MIN_ALIGNED)
    found = joined(outcome)
    assert found[11][0] == 1 and abs(found[11][1]) <= PLACE
    assert found[13][0] == 2 and abs(found[13][1] - 10.0) <= PLACE
    assert found[12][0] in (1, 2)
    assert outcome.merges == []


def test_two_recordings_a_hearing_aligns_with_over_the_same_seconds_are_merged_into_the_older(songs) -> None:
    """Recording 1 holds the song's seconds 0-36 (time 0: the song's start), recording 2 its 24-80 (time 0:
    second 24).  Heard now: 10-70, aligning with 1 over its 0-26 and with 2 over its 14-60: the same seconds
    14-26, one song.  2 is merged into 1 with its time 0 at 24 s of 1's; the pieces join 1 at 10, 30, 50 s."""
    song = songs[64]
    one = [piece(1, 0.0, 20.0, 1, 0.0), piece(2, 20.0, 16.0, 1, 20.0)]
    two = [piece(3, 0.0, 20.0, 2, 0.0), piece(4, 20.0, 20.0, 2, 20.0), piece(5, 40.0, 16.0, 2, 40.0)]
    now = [piece(11, 0.0, 20.0), piece(12, 20.0, 20.0), piece(13, 40.0, 20.0)]
    outcome = hearings.decide(loaded((song[10 * RATE:70 * RATE], now), (song[:36 * RATE], one),
                                     (song[24 * RATE:], two)), unknown.MIN_ALIGNED)
    [(younger, older, shift)] = outcome.merges
    assert (younger, older) == (2, 1) and abs(shift - 24.0) <= 2 * PLACE
    found = joined(outcome)
    assert {c: r for c, (r, _) in found.items()} == {11: 1, 12: 1, 13: 1}
    for capture_id, second in ((11, 10.0), (12, 30.0), (13, 50.0)):
        assert abs(found[capture_id][1] - second) <= PLACE


def test_candidates_of_another_hearing_a_hearing_aligns_with_make_a_new_recording_with_it(songs) -> None:
    """Heard before, filed in no recording: the song's 0-40.  Heard now: 20-60.  They share 20-40: the
    earlier hearing's second piece and this one's first make a new recording whose time 0 is the first of
    them to start in the song (second 20): each at 0 s."""
    song = songs[61]
    before = [piece(1, 0.0, 20.0), piece(2, 20.0, 20.0)]
    now = [piece(11, 0.0, 20.0), piece(12, 20.0, 20.0)]
    outcome = hearings.decide(loaded((song[20 * RATE:60 * RATE], now), (song[:40 * RATE], before)),
                              unknown.MIN_ALIGNED)
    found = joined(outcome)
    assert set(found) == {2, 11} and {r for r, _ in found.values()} == {None}
    assert abs(found[2][1]) <= PLACE and abs(found[11][1]) <= PLACE
    assert [p.row.capture_id for p in outcome.single] == [12]


def test_a_hearing_of_another_song_joins_nothing(songs) -> None:
    before = [piece(1, 0.0, 20.0, 1, 0.0), piece(2, 20.0, 20.0, 1, 20.0)]
    now = [piece(11, 0.0, 20.0), piece(12, 20.0, 20.0)]
    outcome = hearings.decide(loaded((songs[62][:40 * RATE], now), (songs[63][:40 * RATE], before)),
                              unknown.MIN_ALIGNED)
    assert outcome.joined == [] and outcome.merges == []
    assert [p.row.capture_id for p in outcome.single] == [11, 12]
