"""Airings from capture outcomes: one play per airing, honest starts and ends, stable keys.

Most scenarios are generated from a known broadcast timeline ("what the station really
played") sampled the way the scanner samples it, so each test can compare the airings
with the truth.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zamio.playlogs.airings import Airing, InvalidObservation, Observation, airing_key, build_airings, settled
from zamio.runtime.errors import ItemError

T0 = datetime(2026, 3, 2, 12, 0, 0, tzinfo=UTC)
INTERVAL_S = 120
CAPTURE_S = 20
TOLERANCE_S = 10
LATER = T0 + timedelta(days=1)


@dataclass(frozen=True)
class Segment:
    """What the station really played: a recording from ``start`` for ``played_s`` wall seconds."""

    key: str
    start: datetime
    recording_s: float
    speed: float = 1.0
    played_s: float | None = None  # None: played to its natural end
    category: str = "music"

    @property
    def end(self) -> datetime:
        wall = self.played_s if self.played_s is not None else self.recording_s / self.speed
        return self.start + timedelta(seconds=wall)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def sample(
    programme: list[Segment],
    captures: int,
    *,
    first: datetime = T0,
    errors: frozenset[int] = frozenset(),
    talk_over: frozenset[int] = frozenset(),
    offset_noise_s: float = 0.0,
    seed: int = 1,
) -> list[Observation]:
    """Capture every INTERVAL_S; a capture fully inside a segment recognises it, otherwise no_match.

    Captures numbered in ``errors`` got no audio; those in ``talk_over`` were not recognised.
    """
    rnd = random.Random(seed)
    observations = []
    for n in range(captures):
        t = first + timedelta(seconds=n * INTERVAL_S)
        if n in errors:
            observations.append(Observation(n + 1, t, 0.0, "error"))
            continue
        on_air = [s for s in programme if s.start <= t and t + timedelta(seconds=CAPTURE_S) <= s.end]
        if not on_air or n in talk_over:
            observations.append(Observation(n + 1, t, CAPTURE_S, "no_match"))
            continue
        seg = on_air[0]
        offset = (t - seg.start).total_seconds() * seg.speed + rnd.uniform(-offset_noise_s, offset_noise_s)
        observations.append(
            Observation(
                n + 1, t, CAPTURE_S, "match", detection_id=1000 + n, recording_key=seg.key,
                offset_seconds=offset, speed=seg.speed, confidence=80.0 + n % 7,
                recording_seconds=seg.recording_s, category=seg.category,
            )
        )  # fmt: skip
    return observations


def match(capture_id: int, t: datetime, key: str, offset: float, **fields) -> Observation:
    fields.setdefault("recording_seconds", 240.0)
    return Observation(
        capture_id, t, CAPTURE_S, "match", detection_id=capture_id + 1000, recording_key=key,
        offset_seconds=offset, **fields,
    )  # fmt: skip


def other(capture_id: int, t: datetime, outcome: str = "no_match") -> Observation:
    return Observation(capture_id, t, CAPTURE_S if outcome != "error" else 0.0, outcome)


def seconds_between(a: datetime, b: datetime) -> float:
    return abs((a - b).total_seconds())


def test_song_seen_by_three_captures_is_one_play_with_a_true_start():
    song = Segment("A", at(-50), 410.0)  # on air 11:59:10 .. 12:06:00
    airings = build_airings(sample([song], 5, offset_noise_s=3.0), LATER)
    assert len(airings) == 1
    play = airings[0]
    assert play.capture_ids == (1, 2, 3) and play.detection_ids == (1000, 1001, 1002)
    assert seconds_between(play.started_at, song.start) <= TOLERANCE_S
    assert seconds_between(play.ended_at, song.end) <= TOLERANCE_S
    assert play.end_estimated and not play.single_observation and play.final
    assert play.confidence_min == 80.0 and play.confidence_avg == pytest.approx(81.0)


def test_back_to_back_songs_are_two_plays():
    a = Segment("A", at(-30), 200.0)  # 11:59:30 .. 12:02:50
    b = Segment("B", a.end, 300.0)  # 12:02:50 .. 12:07:50
    airings = build_airings(sample([a, b], 6), LATER)
    assert [x.recording_key for x in airings] == ["A", "B"]
    assert seconds_between(airings[0].started_at, a.start) < 1
    assert seconds_between(airings[0].ended_at, a.end) < 1
    assert seconds_between(airings[1].started_at, b.start) < 1
    assert seconds_between(airings[1].ended_at, b.end) < 1


def test_same_song_an_hour_apart_is_two_plays():
    first = Segment("A", at(-10), 180.0)
    again = Segment("A", at(3590), 180.0)
    airings = build_airings(sample([first, again], 35), LATER)
    assert [x.recording_key for x in airings] == ["A", "A"]
    assert len({airing_key(x) for x in airings}) == 2
    assert seconds_between(airings[1].started_at, again.start) < 1


def test_a_b_a_is_three_plays_even_when_the_song_resumes():
    # A jingle over a long song: the detections either side agree on A's start, yet B splits them.
    observations = [
        match(1, at(0), "A", 60.0, recording_seconds=600.0),
        match(2, at(120), "B", 5.0, recording_seconds=30.0, category="jingle"),
        match(3, at(240), "A", 300.0, recording_seconds=600.0),
    ]
    airings = build_airings(observations, LATER)
    assert [(x.recording_key, x.capture_ids) for x in airings] == [("A", (1,)), ("B", (2,)), ("A", (3,))]
    assert airings[0].anchor_at == airings[2].anchor_at
    assert len({airing_key(x) for x in airings}) == 3
    assert airings[0].ended_at == at(120) and not airings[0].end_estimated


def test_song_restarted_before_its_end_is_two_plays():
    first = Segment("A", at(-100), 300.0, played_s=190.0)  # stopped at 12:01:30 ...
    again = Segment("A", first.end, 300.0)  # ... and started again from the top
    airings = build_airings(sample([first, again], 5), LATER)
    assert [x.capture_ids for x in airings] == [(1,), (2, 3, 4)]
    assert airings[0].ended_at == at(120) and not airings[0].end_estimated
    assert seconds_between(airings[1].started_at, again.start) < 1


def test_sped_up_song_start_and_duration_follow_the_measured_speed():
    song = Segment("A", at(-100), 400.0, speed=1.02)  # 392.2 s on air
    play = build_airings(sample([song], 6), LATER)[0]
    assert seconds_between(play.started_at, song.start) < 0.01
    assert play.played_seconds == pytest.approx(400.0 / 1.02, abs=0.01)
    assert play.speed == 1.02
    # Ignoring the speed would put the start 0.02 × offset early: seconds, not milliseconds.
    naive = [replace(o, speed=1.0) for o in sample([song], 6)]
    assert seconds_between(build_airings(naive, LATER)[0].started_at, song.start) > 4


def test_jingle_keeps_its_category():
    jingle = Segment("J1", at(-5), 30.0, category="jingle")
    play = build_airings(sample([jingle], 2), LATER)[0]
    assert play.category == "jingle" and play.single_observation
    assert play.ended_at == jingle.end


def test_song_cut_short_ends_at_the_capture_showing_other_content():
    song = Segment("A", at(-30), 300.0, played_s=120.0)  # faded out at 12:01:30
    play = build_airings(sample([song], 3), LATER)[0]
    assert play.ended_at == at(120) and not play.end_estimated
    assert play.played_seconds == 150.0


@pytest.mark.parametrize("outcome", ["silence", "no_match"])
def test_silence_or_no_match_after_a_song_ends_it(outcome):
    observations = [match(1, at(0), "A", 30.0), other(2, at(120), outcome)]
    assert build_airings(observations, LATER)[0].ended_at == at(120)


def test_single_observation_uses_the_natural_end_capped_by_the_next_capture():
    alone = [match(1, at(0), "A", 200.0)]  # started 11:56:40, natural end 12:00:40
    play = build_airings(alone, LATER)[0]
    assert play.single_observation and play.end_estimated
    assert (play.started_at, play.ended_at) == (at(-200), at(40))
    # Implied start 11:57:30 and natural end 12:02:30, but the capture at 11:58:00-11:58:20
    # was silent, and the one at 12:02:00 showed other content.
    song = match(1, at(0), "A", 150.0, recording_seconds=300.0)
    observations = [other(0, at(-120), "silence"), song, other(2, at(120))]
    capped = build_airings(observations, LATER)[0]
    assert (capped.started_at, capped.ended_at, capped.end_estimated) == (at(-100), at(120), False)


@pytest.mark.parametrize("outcome", ["no_match", "silence"])
def test_failed_capture_between_agreeing_detections_does_not_split(outcome):
    observations = [
        match(1, at(0), "A", 10.0, recording_seconds=400.0),
        other(2, at(120), outcome),
        match(3, at(240), "A", 251.0, recording_seconds=400.0),
    ]
    airings = build_airings(observations, LATER)
    assert len(airings) == 1 and airings[0].capture_ids == (1, 3)
    assert airings[0].started_at == at(-10.5)


def test_dead_stream_inside_a_song_neither_splits_nor_ends_it():
    song = Segment("A", at(-20), 600.0)
    observations = sample([song], 7, errors=frozenset({1, 2, 4}))
    airings = build_airings(observations, LATER)
    assert len(airings) == 1 and airings[0].capture_ids == (1, 4)
    assert airings[0].ended_at == song.end and airings[0].end_estimated


def test_dead_stream_after_the_last_detection_does_not_end_the_song_early():
    observations = [match(1, at(0), "A", 30.0), other(2, at(120), "error"), other(3, at(240), "error")]
    play = build_airings(observations, LATER)[0]
    assert play.ended_at == at(210) and play.end_estimated


def test_dead_stream_does_not_merge_airings_the_starts_separate():
    observations = [match(1, at(0), "A", 30.0)]
    observations += [other(n, at(120 * n), "error") for n in range(2, 31)]
    observations += [match(31, at(3600), "A", 30.0)]
    assert len(build_airings(observations, LATER)) == 2


def test_unknown_duration_ends_with_the_last_detection():
    observations = [
        match(1, at(0), "X", 5.0, recording_seconds=None),
        match(2, at(120), "X", 125.0, recording_seconds=None),
    ]
    play = build_airings(observations, LATER)[0]
    assert play.capture_ids == (1, 2) and play.recording_seconds is None
    assert (play.started_at, play.ended_at, play.end_estimated) == (at(-5), at(140), True)


def test_unknown_duration_airing_is_not_rejoined_after_the_horizon():
    # Twenty minutes without a detection: whatever comes next cannot change the first airing.
    observations = [match(1, at(0), "X", 5.0, recording_seconds=None)]
    observations += [other(n, at(120 * n)) for n in range(2, 11)]
    observations += [match(11, at(1320), "X", 1325.0, recording_seconds=None)]
    assert [x.capture_ids for x in build_airings(observations, LATER)] == [(1,), (11,)]


def test_overlapping_capture_from_a_second_stream_link_caps_the_end():
    observations = [match(1, at(0), "X", 5.0, recording_seconds=None), other(2, at(10), "silence")]
    assert build_airings(observations, LATER)[0].ended_at == at(10)


def test_open_airing_becomes_final_with_the_same_key():
    observations = sample([Segment("A", at(-10), 300.0)], 2)  # natural end 12:04:50
    early = build_airings(observations, at(140))
    assert [x.final for x in early] == [False]
    late = build_airings(observations, at(290 + TOLERANCE_S + 300))
    assert [x.final for x in late] == [True]
    assert airing_key(early[0]) == airing_key(late[0]) == "A|20260302T115950Z|c1"
    assert early[0] == replace(late[0], final=False)


def test_airing_closed_by_the_next_song_is_final_after_the_settle_time():
    observations = [match(1, at(0), "A", 10.0, recording_seconds=900.0), match(2, at(120), "B", 5.0)]
    assert not build_airings(observations, at(419))[0].final
    assert build_airings(observations, at(420))[0].final


def test_no_match_alone_does_not_make_an_airing_final():
    observations = [match(1, at(0), "A", 10.0, recording_seconds=900.0), other(2, at(120))]
    assert not build_airings(observations, at(600))[0].final


def test_duration_never_negative_nor_longer_than_the_recording():
    # Contradictory evidence: the capture before claims other content after A's implied start.
    song = match(2, at(0), "A", 200.0, recording_seconds=205.0)
    observations = [other(1, at(-10)), song, other(3, at(120))]
    play = build_airings(observations, LATER)[0]
    assert 0 <= play.played_seconds <= 205.0


def test_invalid_observations_are_item_errors_naming_the_capture():
    with pytest.raises(InvalidObservation, match="capture 7.*offset") as caught:
        Observation(7, T0, 20.0, "match", recording_key="A", offset_seconds=float("nan"))
    assert isinstance(caught.value, ItemError) and caught.value.reason == "invalid_observation"
    with pytest.raises(InvalidObservation, match="naive"):
        Observation(8, T0.replace(tzinfo=None), 20.0, "no_match")
    with pytest.raises(InvalidObservation, match="speed"):
        match(9, T0, "A", 1.0, speed=0.0)
    with pytest.raises(ValueError, match="aware"):
        build_airings([], T0.replace(tzinfo=None))


# --- properties over generated broadcast days -------------------------------------------------

SEGMENTS = st.lists(
    st.tuples(
        st.sampled_from(["A", "B", "C", "J"]),
        st.floats(min_value=25, max_value=420),  # recording seconds
        st.sampled_from([1.0, 1.0, 1.02, 0.98]),
        st.floats(min_value=0, max_value=200),  # silence or talk before it
        st.booleans(),  # cut short
    ),
    min_size=1,
    max_size=14,
)


def programme_from(spec) -> list[Segment]:
    programme, t = [], at(-60)
    for key, recording_s, speed, gap_s, cut in spec:
        start = t + timedelta(seconds=gap_s)
        played = recording_s / speed * (0.5 if cut else 1.0)
        programme.append(Segment(key, start, recording_s, speed, played, "jingle" if key == "J" else "music"))
        t = start + timedelta(seconds=played)
    return programme


def broadcast(spec, seed: int) -> list[Observation]:
    programme = programme_from(spec)
    captures = int((programme[-1].end - T0).total_seconds() // INTERVAL_S) + 4
    chosen = random.Random(seed).sample(range(captures), 2 * (captures // 6))
    errors, talk_over = frozenset(chosen[::2]), frozenset(chosen[1::2])
    return sample(programme, captures, errors=errors, talk_over=talk_over, offset_noise_s=2.0, seed=seed)


def snapshot(airings: list[Airing]) -> dict[str, Airing]:
    return {airing_key(x): x for x in airings}


@settings(max_examples=60, deadline=None)
@given(SEGMENTS, st.integers(0, 10**6))
def test_every_detection_in_exactly_one_airing_with_sane_times(spec, seed):
    observations = broadcast(spec, seed)
    airings = build_airings(observations, LATER)
    detections = sorted(o.detection_id for o in observations if o.outcome == "match")
    assert sorted(d for x in airings for d in x.detection_ids) == detections
    assert len(snapshot(airings)) == len(airings)
    for x in airings:
        assert x.final
        assert 0 <= x.played_seconds <= x.recording_seconds / x.speed + 1e-6


@settings(max_examples=60, deadline=None)
@given(SEGMENTS, st.integers(0, 10**6))
def test_deterministic_in_any_input_order(spec, seed):
    observations = broadcast(spec, seed)
    shuffled = observations[:]
    random.Random(seed).shuffle(shuffled)
    assert build_airings(shuffled, LATER) == build_airings(observations, LATER)


@settings(max_examples=40, deadline=None)
@given(SEGMENTS, st.integers(0, 10**6))
def test_final_airings_and_keys_survive_incremental_runs(spec, seed):
    observations = broadcast(spec, seed)
    complete = snapshot(build_airings(observations, LATER))
    for k in range(1, len(observations) + 1):
        now = observations[k - 1].ended_at  # a run right after the k-th capture was stored
        for key, airing in snapshot(build_airings(observations[:k], now)).items():
            assert key in complete, "an airing key seen by an earlier run must persist"
            if airing.final:
                assert airing == complete[key], "a final airing must never change"


@settings(max_examples=40, deadline=None)
@given(SEGMENTS, st.integers(0, 10**6))
def test_windowed_runs_with_a_watermark_store_each_airing_once(spec, seed):
    """The job's loop: a window from before the watermark, store settled airings after it."""
    observations = broadcast(spec, seed)
    lookback = timedelta(seconds=3 * INTERVAL_S)
    stored: dict[str, Airing] = {}
    watermark = observations[0].captured_at - timedelta(days=1)  # nothing stored yet
    runs = [(observations[k - 1].ended_at, k) for k in range(1, len(observations) + 1)]
    for now, k in runs + [(LATER, len(observations))]:
        window = [o for o in observations[:k] if o.captured_at >= watermark - lookback]
        for airing in settled(build_airings(window, now)):
            if airing.first_captured_at > watermark:
                assert airing_key(airing) not in stored
                stored[airing_key(airing)] = airing
                watermark = airing.first_captured_at
    assert stored == snapshot(build_airings(observations, LATER))


def test_settled_stops_at_the_first_open_airing():
    # B's catalogue duration (30 s) is shorter than its offset: it is decided before A is.
    observations = [
        match(1, at(0), "A", 10.0, recording_seconds=900.0),
        match(2, at(120), "B", 50.0, recording_seconds=30.0),
        match(3, at(240), "C", 5.0, recording_seconds=900.0),
    ]
    airings = build_airings(observations, at(415))
    assert [x.final for x in airings] == [False, True, False]
    assert settled(airings) == []
    assert [x.recording_key for x in settled(build_airings(observations, at(420)))] == ["A", "B"]


# --- refinements: partial captures, talk over intros, wrong offsets, the job's boundary ---------


def test_capture_the_song_began_during_does_not_move_its_start():
    # A ends and B starts at 12:02:10, inside the capture 12:02:00-12:02:20 (recognised as A).
    observations = [match(1, at(0), "A", 60.0, recording_seconds=190.0),
                    match(2, at(120), "A", 180.0, recording_seconds=190.0),
                    match(3, at(240), "B", 110.0)]
    b = build_airings(observations, LATER)[1]
    assert b.started_at == at(130)


def test_no_match_over_an_intro_does_not_move_the_start_but_silence_does():
    song = match(2, at(120), "A", 100.0, recording_seconds=300.0)  # implied start 12:00:20
    talk_over = build_airings([other(1, at(0)), other(0, at(-120), "silence"), song], LATER)[0]
    assert talk_over.started_at == at(20)
    dead_air = build_airings([other(1, at(30), "silence"), song], LATER)[0]
    assert dead_air.started_at == at(50)


def test_a_later_detection_with_an_offset_in_a_repeated_section_joins_the_airing():
    # The second offset is 45 s off (a loop repeated): a restart could not begin before 12:00:20.
    observations = [match(1, at(0), "A", 28.0, recording_seconds=174.0),
                    match(2, at(120), "A", 102.0, recording_seconds=174.0)]
    (play,) = build_airings(observations, LATER)
    assert play.detection_ids == (1001, 1002) and play.started_at == at(-28)
    assert play.ended_at == at(146)


@settings(max_examples=40, deadline=None)
@given(SEGMENTS, st.integers(0, 10**6))
def test_runs_from_the_stored_boundary_store_each_airing_once(spec, seed):
    """The converter's loop: rebuild from the latest stored airing (boundary), store what follows."""
    observations = broadcast(spec, seed)
    lookback = timedelta(seconds=3 * INTERVAL_S)
    stored: dict[str, Airing] = {}
    boundary = None
    runs = [(observations[k - 1].ended_at, k) for k in range(1, len(observations) + 1)]
    for now, k in runs + [(LATER, len(observations))]:
        start = (boundary or observations[0].captured_at) - lookback
        window = [o for o in observations[:k] if o.captured_at >= start]
        for airing in settled(build_airings(window, now, boundary=boundary)):
            key = airing_key(airing)
            if key in stored:
                assert stored[key] == airing, "a stored airing must come out the same from its boundary"
                continue
            stored[key] = airing
            boundary = airing.first_captured_at
    assert stored == snapshot(build_airings(observations, LATER))


# --- detections without an offset (an ACRCloud answer without its offset fields) ---------------


def unplaced(capture_id: int, t: datetime, key: str, **fields) -> Observation:
    return replace(match(capture_id, t, key, 0.0, **fields), offset_seconds=None)


def test_without_offsets_a_play_runs_from_the_first_capture_to_the_end_of_the_last():
    observations = [unplaced(1, at(0), "A"), unplaced(2, at(120), "A"), other(3, at(240))]
    (play,) = build_airings(observations, LATER)
    # Heard from 12:00:00 (capture 1) to the end of capture 2 (12:02:00 + 20 s): 140 s, never the 240 s song.
    assert (play.started_at, play.ended_at, play.played_seconds) == (at(0), at(140), 140.0)
    assert play.capture_ids == (1, 2) and play.end_estimated and not play.single_observation
    assert airing_key(play) == "A|20260302T120000Z|c1"


def test_without_an_offset_a_single_detection_is_the_capture_heard():
    (play,) = build_airings([unplaced(1, at(0), "A"), other(2, at(10), "silence")], LATER)
    assert (play.started_at, play.ended_at, play.single_observation) == (at(0), at(10), True)
    (alone,) = build_airings([unplaced(1, at(0), "A")], LATER)
    assert (alone.started_at, alone.ended_at) == (at(0), at(20))


def test_without_offsets_the_same_song_after_its_length_is_another_airing():
    # 240 s from the first capture, plus the tolerance, is the latest a detection can still join.
    observations = [unplaced(1, at(0), "A"), unplaced(2, at(120), "A"), unplaced(3, at(250), "A")]
    assert [x.capture_ids for x in build_airings(observations, LATER)] == [(1, 2, 3)]
    observations = [unplaced(1, at(0), "A"), unplaced(2, at(120), "A"), unplaced(3, at(251), "A")]
    assert [x.capture_ids for x in build_airings(observations, LATER)] == [(1, 2), (3,)]
    assert build_airings(observations[:1], at(250 + 300 - 1))[0].final is False
    assert build_airings(observations[:1], at(250 + 300))[0].final is True


def test_a_detection_without_an_offset_joins_an_airing_placed_by_others():
    song = {"recording_seconds": 400.0}
    observations = [match(1, at(0), "A", 30.0, **song), unplaced(2, at(120), "A", **song),
                    match(3, at(240), "A", 270.0, **song), other(4, at(400))]
    (play,) = build_airings(observations, LATER)
    # The placed detections say 11:59:30; 400 s later it ended, before the capture at 12:06:40.
    assert play.capture_ids == (1, 2, 3) and (play.started_at, play.ended_at) == (at(-30), at(370))


@settings(max_examples=60, deadline=None)
@given(SEGMENTS, st.integers(0, 10**6))
def test_without_offsets_plays_never_run_beyond_what_was_on_air(spec, seed):
    """Every detection in one airing, and each airing inside the airings of its recording that were
    really on air at its first and its last capture: the conservative side for money."""
    programme = programme_from(spec)
    observations = [replace(o, offset_seconds=None) if o.outcome == "match" else o for o in broadcast(spec, seed)]
    airings = build_airings(observations, LATER)
    detections = sorted(o.detection_id for o in observations if o.outcome == "match")
    assert sorted(d for x in airings for d in x.detection_ids) == detections
    by_capture = {o.capture_id: o for o in observations}
    for airing in airings:
        first, last = by_capture[airing.capture_ids[0]], by_capture[airing.capture_ids[-1]]
        on_air = [s for s in programme if s.key == airing.recording_key]
        # At an instant where one airing of the recording ends and the next begins, both were on air.
        started = min(s.start for s in on_air if s.start <= first.captured_at <= s.end)
        ended = max(s.end for s in on_air if s.start <= last.captured_at <= s.end)
        assert started <= airing.started_at <= airing.ended_at <= ended
