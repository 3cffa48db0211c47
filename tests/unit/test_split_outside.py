"""Where a play of an unknown recording divides when naming splits off the captures outside the track
(``zamio.playlogs.identify.play_cut``, ``zamio.recognition.naming.outside_track``): for any airing of a song
heard straight after or before other audio, at any phase of the captures, the instant falls where the song
ends (or begins) on air, every capture begun before it is on one side and every other on the other, and the
part kept for the track holds every capture that shares a second of it with the song."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zamio.playlogs.identify import PlayCapture, play_cut
from zamio.recognition.naming import INSIDE_TRACK_SECONDS, NamingRefused, outside_track

CAPTURE_SECONDS = 20.0
EVERY_SECONDS = 120.0
ON_AIR = datetime(2026, 3, 6, 12, 0, tzinfo=UTC)  # the song's first second on air
ROUNDING = timedelta(milliseconds=1)  # instants from seconds as floats, to the microsecond

AIRINGS = st.tuples(
    st.floats(60.0, 420.0),  # the song's length
    st.floats(0.0, EVERY_SECONDS),  # the first capture's start after the song's (or the other audio's)
    st.floats(-0.3, 0.3),  # how far the recording's alignment places the captures off (64 ms frames, speed)
    st.integers(1, 4),  # captures of the other audio
)


def captures_of(start: float, count: int, error: float) -> list[tuple[float, float]]:
    """``count`` captures every two minutes from ``start`` seconds after the song's first second on air: each
    capture's start on air and in the track as placed, seconds from the song's first second."""
    return [(start + k * EVERY_SECONDS, start + k * EVERY_SECONDS + error) for k in range(count)]


def heard(placed: list[tuple[float, float]]) -> list[PlayCapture]:
    return [PlayCapture(i, ON_AIR + timedelta(seconds=on_air), in_track) for i, (on_air, in_track) in enumerate(placed)]


@given(AIRINGS)
def test_a_song_followed_by_other_audio_is_cut_where_it_ends_on_air(airing: tuple[float, float, float, int]) -> None:
    seconds, phase, error, after = airing
    inside = int((seconds - INSIDE_TRACK_SECONDS - phase) // EVERY_SECONDS) + 1  # captures sharing a second with it
    placed = captures_of(phase, inside + after, error)
    play = heard(placed)
    outside = {c.capture_id for c in play if outside_track(c.in_track or 0.0, CAPTURE_SECONDS, seconds)}
    assert outside, "the other audio's captures lie outside the song"
    cut = play_cut("play 1 of U-000001", "T-A", play, outside, seconds)
    if len(outside) == len(play):
        assert cut == (None, True)
        return
    assert cut is not None
    at, second_outside = cut
    assert at is not None and second_outside
    first = [c.capture_id for c in play if c.started_at < at]
    assert set(first).isdisjoint(outside) and {c.capture_id for c in play if c.started_at >= at} == outside
    ends = ON_AIR + timedelta(seconds=seconds - error)  # where the placed captures put the song's end
    assert at <= max(ends, play[len(first) - 1].started_at + ROUNDING) + ROUNDING
    assert all(c.started_at + timedelta(seconds=CAPTURE_SECONDS) > ON_AIR + timedelta(seconds=seconds)
               for c in play if c.capture_id in outside), "only captures reaching past the song's end move"


@given(AIRINGS)
def test_a_song_after_other_audio_is_cut_where_it_begins_on_air(airing: tuple[float, float, float, int]) -> None:
    seconds, phase, error, before = airing
    phase = min(phase % 100.0, seconds - 2.0)  # the song's first capture within it, the one before all before it
    first_on_air = phase - before * EVERY_SECONDS  # the first capture, that many captures before the song
    placed = captures_of(first_on_air, before + 1, error)
    play = heard(placed)
    outside = {c.capture_id for c in play if outside_track(c.in_track or 0.0, CAPTURE_SECONDS, seconds)}
    cut = play_cut("play 1 of U-000001", "T-A", play, outside, seconds)
    assert cut is not None
    at, second_outside = cut
    assert at is not None and not second_outside
    assert {c.capture_id for c in play if c.started_at < at} == outside
    begins = ON_AIR - timedelta(seconds=error)  # where the placed captures put the song's start
    assert at >= min(begins, max(c.started_at for c in play if c.capture_id in outside) + ROUNDING) - ROUNDING
    assert at <= min(c.started_at for c in play if c.capture_id not in outside)


def test_a_play_whose_captures_go_in_and_out_of_the_track_is_refused_with_what_to_do() -> None:
    play = heard([(0.0, 0.0), (120.0, 400.0), (240.0, 240.0)])
    with pytest.raises(NamingRefused, match=r"play 7 of U-000001 goes in and out of track T-A.*correct-plays split"):
        play_cut("play 7 of U-000001", "T-A", play, {1}, 300.0)
