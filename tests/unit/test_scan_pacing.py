"""How many captures a run may still start: every one must also be heard in time."""

from __future__ import annotations

from zamio.scanning.pacing import FIRST_GUESS_CPU_SECONDS, LEAST_CPU_SECONDS, PLANNING_SHARE, HearingPace


def test_before_any_measure_the_stage_is_assumed_slow():
    pace = HearingPace(workers=8, cores=2)
    assert pace.per_second == 2 / FIRST_GUESS_CPU_SECONDS


def test_the_measured_pace_follows_the_hearings_and_is_never_trusted_beyond_the_cores():
    pace = HearingPace(workers=8, cores=2)
    pace.measured(2.0)
    assert pace.per_second == 4.0  # 8 workers, 2 s each
    for _ in range(50):
        pace.measured(1.0)
    assert abs(pace.per_second - 8.0) < 0.1
    for _ in range(50):
        pace.measured(0.01)  # an idle stage hears one capture quickly; many at once share the cores
    assert pace.per_second == 2 / LEAST_CPU_SECONDS


def test_captures_fit_while_they_and_the_queue_ahead_can_be_heard_in_time():
    pace = HearingPace(workers=4, cores=2, seconds=PLANNING_SHARE)  # planned: 4 hearings a second
    # 60 s left, 20 s per capture: 40 s of hearing at 4/s, nothing ahead.
    assert pace.captures_that_fit(spare_seconds=60, capture_seconds=20, capturing=0) == 160
    # 100 captures in flight land first; 80 of them are heard while the new ones read.
    assert pace.captures_that_fit(spare_seconds=60, capture_seconds=20, capturing=100) == 140
    pace.waiting = 200  # a long queue: 300 ahead, 80 drained meanwhile, 220 left of the 160 possible
    assert pace.captures_that_fit(spare_seconds=60, capture_seconds=20, capturing=100) == 0
    assert pace.captures_that_fit(spare_seconds=19, capture_seconds=20, capturing=0) == 0
    assert abs(PLANNING_SHARE * pace.per_second - 4.0) < 1e-9
