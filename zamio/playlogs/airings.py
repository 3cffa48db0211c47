"""One play per airing: turn one station's capture outcomes into airings.

A station is sampled, not recorded: every couple of minutes a short window is captured
and recognised.  A recognised capture says *which* recording is on air and *where* in it
the clip starts (``offset_seconds``, in recording time), so each detection implies when
the recording started: ``captured_at − offset / speed`` (at speed s, s seconds of
recording pass per wall-clock second).  Detections of one airing agree on that instant;
the same song aired again later does not.

Rules (royalties reference, checklist 7.1), decided here once:

1. **Grouping.**  Observations are taken in capture order.  A detection joins the airing
   in progress if it is the same recording key, its implied start is within
   ``start_tolerance_seconds`` of the airing's latest detection, and it was captured
   before that airing could have ended (its natural end plus the tolerance, or for an
   unknown duration the last detection plus ``unknown_duration_horizon_seconds``).
   Anything else starts a new airing.  So A, B, A is three airings, and a song aired
   twice an hour apart is two.  One exception: a detection of the same recording whose
   implied start falls before the previous detection's capture ended joins too, since a
   restart cannot begin while the first airing is still being heard; its offset is wrong
   (a fingerprint can lock onto a repeated section).  Start and speed then come from the
   detections that agree with each other and place every detection inside the airing.
2. **What does not split.**  ``no_match`` and ``silence`` captures between agreeing
   detections do not split them: talk-over, noise or a quiet passage can make one
   capture fail, while a real interruption would shift the implied start by its own
   length.  ``error`` captures (no audio obtained) are coverage gaps, not evidence:
   they are ignored entirely, so they neither end an airing nor join two.
3. **Start** = the median implied start of the detections, but never before the end of a
   capture that began after that instant and showed silence or another recording: the
   recording cannot have been on air then.  A ``no_match`` there does not move the start:
   talk over a song's intro is common and makes exactly that capture fail, while a song
   cued in mid-way is rare.  Nor does a capture the recording began *during* (its first
   seconds were still the previous item).  **End** = the natural end (start + duration /
   speed), unless an earlier capture after the last detection shows something else
   (silence, no match, another recording), in which case that capture's start; a capture
   during which the natural end falls does not move it.  Talk at a song's end shortens
   it (the conservative side for money).
   ``end_estimated`` is True when the end comes from the recording's duration (it fell
   between captures or after the last one) rather than from an observed capture.
   With an unknown duration the end is the end of the last detection's capture (a lower
   bound), ``end_estimated`` True.  Duration is never negative and never longer than the
   recording's duration in wall time.
4. **Single observations** follow the same rules, not a matched-span lower bound: one
   detection with its offset fixes the start as firmly as three, and a capture showing
   other content caps the end just the same.  ``single_observation`` is set so the royalty engine can demand
   corroboration (for example a minimum played duration) where a society requires it.
5. **Final.**  An airing is final once nothing that is still to arrive can change it:
   ``now`` is ``settle_seconds`` past the earlier of (a) the capture of the next
   detection that started another airing and (b) the latest moment a detection could
   still join it (its natural end plus the tolerance, or the unknown-duration horizon).
   ``settle_seconds`` must exceed the time a capture can take to be recorded (one scan
   interval plus the capture length).  A ``no_match`` after the last detection does not
   make an airing final by itself, because a later agreeing detection would rejoin it.
   The builder returns open airings with ``final=False``; the job stores only final ones.
6. **Without an offset.**  A detection may say which recording is on air but not where
   in it the clip starts (an ACRCloud answer without its offset fields).  It then implies
   no start: it joins the airing in progress of the same recording if it was captured
   before that airing could have ended (for a recording known only from such detections,
   the first capture plus the recording's duration), and does not take part in the start
   estimate when other detections of the airing have an offset.  An airing known only
   from such detections starts at its first capture (the recording was on air from then
   at least) and ends at the end of its last capture, or at the next capture showing
   something else if that began earlier: the played duration heard, never the recording's
   full length (``end_estimated`` True, the conservative side for money).

Running incrementally (what the job does every few minutes, per station): keep a watermark
W, the ``first_captured_at`` of the latest airing stored.  Pass the observations captured
from a few scan intervals before W up to now, with ``boundary=W``: the detection
captured at W is known to start an airing (it did in the run that stored it), so it
starts one here too, whatever the truncated history before it would suggest, and only
airings from W on come back.  The grouping is greedy from left to right, so everything
from the airing at W onwards comes out as it would from the full history; the
observations before W serve only as context (the capture before the airing at W caps its
start).  Store the airings of ``settled(airings)`` whose ``first_captured_at`` is after
W, with ``airing_key`` as a unique key and insert-or-ignore, then move W on.  The same
holds from any stored airing's ``first_captured_at``, which is how a late detection is
folded in: rebuild from the stored airing before it.

The function is pure and deterministic: the same observations and ``now`` give the same
airings, in any input order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from zamio.runtime.errors import ItemError

OUTCOMES = ("match", "no_match", "silence", "error")
CATEGORIES = ("music", "jingle", "ad", "ident", "unknown")

DEFAULT_START_TOLERANCE_SECONDS = 10.0
# Longer than a 2-minute scan interval plus a 20 s capture and the time to store it.
DEFAULT_SETTLE_SECONDS = 300.0
# How long after its last detection an airing of unknown length may still be rejoined.
DEFAULT_UNKNOWN_DURATION_HORIZON_SECONDS = 600.0
# How far a fingerprint offset can be off when it is right: below this, an implied start
# before the previous detection ended is measurement error, above it a wrong offset.
OFFSET_PRECISION = timedelta(seconds=1.0)


class InvalidObservation(ItemError):
    """A capture outcome cannot be used to build airings; fix the capture or detection row."""

    reason = "invalid_observation"


@dataclass(frozen=True)
class Observation:
    """One capture of one station and what recognition made of it.

    ``offset_seconds`` is where the captured clip starts inside the recording, in recording
    seconds (negative when the recording began during the capture); None for a match whose
    recogniser did not say (rule 6 of the module docstring).  ``speed`` is the measured
    playback speed (1.02 = 2 % fast).  Construction raises InvalidObservation naming the
    capture if a field is unusable.
    """

    capture_id: int
    captured_at: datetime  # UTC, first audio byte
    seconds: float  # captured length
    outcome: str  # 'match' | 'no_match' | 'silence' | 'error'
    detection_id: int | None = None
    recording_key: str | None = None
    offset_seconds: float | None = None
    speed: float = 1.0
    confidence: float | None = None
    recording_seconds: float | None = None
    category: str = "music"

    def __post_init__(self) -> None:
        problem = _observation_problem(self)
        if problem:
            raise InvalidObservation(
                f"capture {self.capture_id}: {problem}; correct the capture or detection row"
            )

    @property
    def ended_at(self) -> datetime:
        """The instant of the capture's last audio byte."""
        return self.captured_at + timedelta(seconds=self.seconds)

    @property
    def implied_start(self) -> datetime:
        """For a match, the instant the recording started: captured_at − offset / speed;
        without an offset, the capture's start (the recording was on air from then at least)."""
        if self.outcome != "match":
            raise ValueError(f"capture {self.capture_id} is not a match: it implies no start")
        if self.offset_seconds is None:
            return self.captured_at
        return self.captured_at - timedelta(seconds=self.offset_seconds / self.speed)


def _observation_problem(obs: Observation) -> str | None:
    """Given an observation, return what is wrong with it in words, or None."""
    if obs.outcome not in OUTCOMES:
        return f"outcome {obs.outcome!r} is not one of {', '.join(OUTCOMES)}"
    if obs.captured_at.tzinfo is None:
        return "captured_at is a naive datetime; captures are timed in UTC"
    if not (math.isfinite(obs.seconds) and obs.seconds >= 0):
        return f"captured length {obs.seconds!r} s is not a finite non-negative number"
    if obs.outcome != "match":
        return None
    if not obs.recording_key:
        return "a match has no recording key"
    if obs.offset_seconds is not None and not math.isfinite(obs.offset_seconds):
        return f"offset {obs.offset_seconds!r} s inside the recording is not a finite number"
    if not (math.isfinite(obs.speed) and obs.speed > 0):
        return f"speed {obs.speed!r} is not a positive number"
    duration = obs.recording_seconds
    if duration is not None and not (math.isfinite(duration) and duration > 0):
        return f"recording duration {obs.recording_seconds!r} s is not a positive number"
    if obs.category not in CATEGORIES:
        return f"category {obs.category!r} is not one of {', '.join(CATEGORIES)}"
    return None


@dataclass(frozen=True)
class Airing:
    """One airing of one recording on one station, with the evidence behind it.

    ``anchor_at`` is the implied start of the first detection: it never changes as more
    detections arrive, so it (with the first capture id) forms the airing's key.
    ``started_at``/``ended_at`` are the best estimates and may be refined until ``final``.
    ``first_captured_at`` is when the first detection's capture began (the job's watermark).
    """

    recording_key: str
    category: str
    started_at: datetime
    ended_at: datetime
    end_estimated: bool
    single_observation: bool
    final: bool
    detection_ids: tuple[int, ...]
    capture_ids: tuple[int, ...]
    confidence_avg: float | None
    confidence_min: float | None
    anchor_at: datetime
    first_captured_at: datetime
    speed: float
    recording_seconds: float | None

    @property
    def played_seconds(self) -> float:
        """Wall-clock seconds on air: ended_at − started_at (never negative)."""
        return (self.ended_at - self.started_at).total_seconds()


@dataclass(frozen=True)
class _Rules:
    tolerance: timedelta
    settle: timedelta
    unknown_horizon: timedelta


@dataclass(frozen=True)
class _Estimate:
    """What the detections of one airing say together."""

    start: datetime  # median implied start (the first capture when no detection has an offset)
    speed: float  # median speed
    recording_seconds: float | None
    natural_end: datetime | None  # start + duration / speed, when the duration and an offset are known
    latest_end: datetime | None  # the latest the recording can end, when its duration is known


def build_airings(
    observations: Sequence[Observation],
    now: datetime,
    *,
    start_tolerance_seconds: float = DEFAULT_START_TOLERANCE_SECONDS,
    settle_seconds: float = DEFAULT_SETTLE_SECONDS,
    unknown_duration_horizon_seconds: float = DEFAULT_UNKNOWN_DURATION_HORIZON_SECONDS,
    boundary: datetime | None = None,
) -> list[Airing]:
    """Given one station's observations (any order) and the current UTC time, return its airings.

    Airings come in order of their first detection; every detection belongs to exactly one.
    Open airings are included with ``final=False``.  The rules are in the module docstring.
    With ``boundary`` (the ``first_captured_at`` of an airing the caller already knows),
    the first detection captured at or after it starts a new airing and only airings from
    it on are returned; earlier observations are context only.
    Raise ValueError if ``now`` or ``boundary`` is naive or a setting is negative.
    """
    if now.tzinfo is None or (boundary is not None and boundary.tzinfo is None):
        raise ValueError("now and boundary must be timezone-aware UTC datetimes")
    settings = (start_tolerance_seconds, settle_seconds, unknown_duration_horizon_seconds)
    if any(not (math.isfinite(s) and s >= 0) for s in settings):
        raise ValueError(f"airing settings must be finite and non-negative, got {settings}")
    rules = _Rules(*(timedelta(seconds=s) for s in settings))
    # Error captures carry no evidence either way: drop them before anything looks at neighbours.
    evidence = sorted(
        (o for o in observations if o.outcome != "error"), key=lambda o: (o.captured_at, o.capture_id)
    )
    groups = _group(evidence, rules, boundary)
    airings = []
    for n, group in enumerate(groups):
        if boundary is not None and evidence[group[0]].captured_at < boundary:
            continue  # context only: the caller stored it already, maybe from more evidence
        closing = evidence[groups[n + 1][0]] if n + 1 < len(groups) else None
        airings.append(_airing(evidence, group, closing, now, rules))
    return airings


def _group(evidence: list[Observation], rules: _Rules, boundary: datetime | None = None) -> list[list[int]]:
    """Given time-ordered non-error observations, return the detections of each airing as indices.

    Greedy and left to right, so the grouping of a prefix never changes when later
    observations are appended (which keeps keys stable between runs).  The first
    detection at or after ``boundary`` always starts a group.
    """
    groups: list[list[int]] = []
    waiting = boundary  # until the first detection at or after it has started its group
    for i, obs in enumerate(evidence):
        if obs.outcome != "match":
            continue  # no_match and silence neither join nor split
        forced = waiting is not None and obs.captured_at >= waiting
        if forced:
            waiting = None
        if groups and not forced and _joins([evidence[j] for j in groups[-1]], obs, rules):
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def _joins(members: list[Observation], obs: Observation, rules: _Rules) -> bool:
    """Given the detections of the airing in progress and a later detection, return whether it joins.

    It joins when it names the same recording before the airing could have ended, and
    either agrees on the start or implies a start before the last detection was over: a
    restart cannot begin while the first airing is still being heard, so there the
    offset is wrong (music repeats itself, and a fingerprint can lock onto the wrong
    repetition), not the airing new.
    """
    last = members[-1]
    if obs.recording_key != last.recording_key:
        return False
    placed = [m for m in members if m.offset_seconds is not None]
    if obs.offset_seconds is not None and placed:  # without an offset there is no start to compare
        agrees = abs(obs.implied_start - placed[-1].implied_start) <= rules.tolerance
        impossible_restart = obs.implied_start < last.ended_at - OFFSET_PRECISION
        if not (agrees or impossible_restart):
            return False
    return obs.captured_at <= _horizon(members, _estimate(members, rules), rules)


def _horizon(members: list[Observation], est: _Estimate, rules: _Rules) -> datetime:
    """The latest capture time at which another detection could still join this airing."""
    if est.latest_end is not None:
        return est.latest_end + rules.tolerance
    return members[-1].ended_at + rules.unknown_horizon


def _median_datetime(values: list[datetime]) -> datetime:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return ordered[middle - 1] + (ordered[middle] - ordered[middle - 1]) / 2


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _estimate(members: list[Observation], rules: _Rules) -> _Estimate:
    """Given the detections of one airing, return the start, speed and natural end they imply.

    The detections are clustered by implied start (within the tolerance); the start and
    speed are the medians of the cluster that best explains them all (see ``_best_cluster``),
    so one detection with a wrong offset does not drag the start.  Only detections with an
    offset take part; with none, the start is the first capture (rule 6).
    """
    durations = [m.recording_seconds for m in members if m.recording_seconds is not None]
    duration = durations[0] if durations else None
    placed = [m for m in members if m.offset_seconds is not None]
    if not placed:
        speed = _median([m.speed for m in members])
        start = members[0].captured_at
        latest = start + timedelta(seconds=duration / speed) if duration is not None else None
        return _Estimate(start, speed, duration, None, latest)
    cluster = _best_cluster(placed, members, duration, rules.tolerance)
    start = _median_datetime([m.implied_start for m in cluster])
    speed = _median([m.speed for m in cluster])
    natural_end = start + timedelta(seconds=duration / speed) if duration is not None else None
    return _Estimate(start, speed, duration, natural_end, natural_end)


def _best_cluster(placed: list[Observation], members: list[Observation], duration: float | None,
                  tolerance: timedelta) -> list[Observation]:
    """Given an airing's detections with an offset (``placed``) and all of them, return
    those of ``placed`` whose implied starts agree and explain the most.

    Preferred, in order: a cluster whose start puts every detection inside the airing,
    the largest, the one holding the first detection.
    """
    ordered = sorted(placed, key=lambda m: (m.implied_start, m.capture_id))
    clusters = [[ordered[0]]]
    for m in ordered[1:]:
        if m.implied_start - clusters[-1][-1].implied_start <= tolerance:
            clusters[-1].append(m)
        else:
            clusters.append([m])
    if len(clusters) == 1:
        return clusters[0]

    def merit(cluster: list[Observation]) -> tuple[bool, int, bool]:
        start = _median_datetime([m.implied_start for m in cluster])
        speed = _median([m.speed for m in cluster])
        end = start + timedelta(seconds=duration / speed) if duration is not None else None
        covers = all(start - tolerance <= m.captured_at and (end is None or m.captured_at <= end + tolerance)
                     for m in members)
        return covers, len(cluster), placed[0] in cluster

    return max(clusters, key=merit)


def _start(evidence: list[Observation], first: int, implied: datetime) -> datetime:
    """Given the evidence, the index of an airing's first detection and its implied start, return its start.

    Walks back over the captures between the implied start and the first detection: the
    latest one that began after the implied start and showed silence or another recording
    moves the start to its end.  A ``no_match`` there does not (talk over the intro is
    common, a song cued in mid-way is not), nor does a capture the recording began during.
    """
    for obs in reversed(evidence[:first]):
        if obs.captured_at < implied:
            break
        if obs.outcome in ("silence", "match"):
            return max(implied, obs.ended_at)
    return implied


def _end(members: list[Observation], est: _Estimate, after: Observation | None) -> tuple[datetime, bool]:
    """Given an airing's detections, estimate and the first capture after them, return (end, estimated)."""
    if est.natural_end is None:
        end = members[-1].ended_at  # lower bound: heard at least this long
        if est.latest_end is not None:
            end = min(end, est.latest_end)
        return (min(end, after.captured_at) if after else end), True
    if after is not None and after.captured_at < est.natural_end and est.natural_end > after.ended_at:
        return after.captured_at, False  # seen cut short by other content or silence
    return est.natural_end, True  # ended between captures, or during the next one


def _airing(
    evidence: list[Observation], group: list[int], closing: Observation | None, now: datetime, rules: _Rules
) -> Airing:
    """Given the evidence, one airing's detection indices and the detection that closed it, build it."""
    members = [evidence[i] for i in group]
    est = _estimate(members, rules)
    after = evidence[group[-1] + 1] if group[-1] + 1 < len(evidence) else None
    started = _start(evidence, group[0], est.start)
    end, end_estimated = _end(members, est, after)
    decided_at = _horizon(members, est, rules)
    if closing is not None:
        decided_at = min(decided_at, closing.captured_at)
    confidences = [m.confidence for m in members if m.confidence is not None]
    return Airing(
        recording_key=str(members[0].recording_key),
        category=members[0].category,
        started_at=started,
        ended_at=max(end, started),
        end_estimated=end_estimated,
        single_observation=len(members) == 1,
        final=now >= decided_at + rules.settle,
        detection_ids=tuple(m.detection_id for m in members if m.detection_id is not None),
        capture_ids=tuple(m.capture_id for m in members),
        confidence_avg=sum(confidences) / len(confidences) if confidences else None,
        confidence_min=min(confidences) if confidences else None,
        anchor_at=members[0].implied_start,
        first_captured_at=members[0].captured_at,
        speed=est.speed,
        recording_seconds=est.recording_seconds,
    )


def settled(airings: Sequence[Airing]) -> list[Airing]:
    """Given one run's airings in order, return the leading final ones: those safe to store.

    Stops at the first airing that is not final, so a watermark moved past the returned
    airings never skips one that is still open.
    """
    done = []
    for airing in airings:
        if not airing.final:
            break
        done.append(airing)
    return done


def airing_key(airing: Airing) -> str:
    """Given an airing, return its stable identity within a station: ``KEY|20260301T101502Z|c123``.

    Made of the recording key, the first detection's implied start floored to the second
    and the first detection's capture id.  All three are fixed by the first detection, so
    later runs that see more detections of the same airing produce the same key (a key
    from the running start estimate or a tolerance bucket would move, and an estimate near
    a bucket boundary would flip between buckets).  The capture id makes it unique: in
    A, B, A with a jingle B played over song A, both A airings imply the same start.  The
    caller adds the station.
    """
    anchor = airing.anchor_at.astimezone(UTC)
    return f"{airing.recording_key}|{anchor:%Y%m%dT%H%M%SZ}|c{airing.capture_ids[0]}"
