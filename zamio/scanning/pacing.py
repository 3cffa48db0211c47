"""How many captures a run may still start so that every one is also heard before its time limit.

A capture spends most of its life waiting for real-time audio (an I/O slot), then a
short burst of CPU (decode, fingerprint, lookup, match) in one of a few hearing
workers.  The two stages are apart, so a capture that lands while the workers are busy
waits in their queue.  :class:`HearingPace` keeps the measured time of one hearing and
answers: if N captures started now, would the last of them be heard before the run's
time is up?  The arithmetic is plain so the tests can check it without a clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# A 20 s window costs about 0.2 CPU-seconds to hear (bench/scan_bench.py).  Before the
# first hearing is measured, assume 0.5 per core, so the first minute is not optimistic;
# and never count on less than 0.15 per core, whatever an idle stage measures (a
# hearing alone is quick; many landing at once share the cores).
FIRST_GUESS_CPU_SECONDS = 0.5
LEAST_CPU_SECONDS = 0.15
# Weight of the newest hearing in the running mean: recent load matters most.
MEAN_WEIGHT = 0.2
# The pace swings from one moment to the next on a busy host: plan with a little less.
PLANNING_SHARE = 0.9


@dataclass
class HearingPace:
    """The hearing stage's speed and queue.

    ``workers``: hearings running at once; ``cores``: the CPU cores they share;
    ``seconds``: the running mean wall time of one hearing (None until measured);
    ``waiting``: hearings queued or running now.
    """

    workers: int
    cores: int = 1
    seconds: float | None = None
    waiting: int = 0

    def measured(self, seconds: float) -> None:
        """Fold the wall time of one finished hearing into the running mean."""
        seconds = max(0.0, seconds)
        self.seconds = seconds if self.seconds is None else self.seconds + MEAN_WEIGHT * (seconds - self.seconds)

    @property
    def per_second(self) -> float:
        """Hearings the stage completes per second when it is kept busy."""
        if self.seconds is None:
            return self.cores / FIRST_GUESS_CPU_SECONDS
        return min(self.workers / max(self.seconds, 1e-3), self.cores / LEAST_CPU_SECONDS)

    def captures_that_fit(self, *, spare_seconds: float, capture_seconds: float, capturing: int) -> int:
        """Given the seconds left for captures and their hearing, the wall time one
        capture needs, and the captures already in flight, return how many more may
        start now and still be heard within ``spare_seconds`` (0 when none).

        Every capture in flight and every hearing waiting is ahead of the new ones; the
        stage drains ``per_second`` of them while the new captures read their audio.
        """
        hearing_time = spare_seconds - capture_seconds
        if hearing_time <= 0:
            return 0
        rate = PLANNING_SHARE * self.per_second
        ahead = max(0.0, self.waiting + capturing - capture_seconds * rate)
        fit = math.floor(hearing_time * rate - ahead)
        return max(0, fit)
