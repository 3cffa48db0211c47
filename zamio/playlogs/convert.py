"""One play per airing, built from each station's detections.

Per station with detections waiting (``convert_status='pending'`` and due), in one
transaction per batch:

1. Find where to rebuild from.  The watermark W is the ``first_captured_at`` of the
   station's latest current detected play.  Normally the rebuild starts at W.  When a
   waiting detection was captured at or before W (it arrived late, or was fixed after
   failing), it starts at the stored play before that detection instead.
2. Read the captures from a little before that point up to now (``evidence``) and build
   the airings with ``zamio.playlogs.airings`` (boundary = that point).
3. Compare the settled airings with the plays stored from that point on: an airing equal
   to its stored play changes nothing; a new airing is inserted as version 1; a changed
   one becomes a new version that supersedes the stored row; a stored play that no
   longer exists (its detections joined another airing) is superseded.  Rows are never
   deleted and a final row's facts are never edited.  A play of an airing that another
   report (an imported play) bills already is stored as its duplicate, never billed
   twice (``zamio.playlogs.billing``).
4. Mark the detections of stored plays ``converted``; record why unusable detections
   failed, retrying them with back-off until ``max_attempts``, then ``parked``.

Plays corrected by hand (``zamio.playlogs.corrections``) are never rebuilt (``store.pinned``):
they are not among the stored plays compared (they have no ``first_captured_at``); an airing
holding a detection of a play a correction wrote or replaced is left out of the comparison,
its detections staying in the evidence so that its neighbours come out as before; and a
waiting detection captured inside a play a person wrote or voided is set aside before the
airings are built, as a capture that tells nothing.  Such late detections (and any other
joining a held airing) are set ``pinned``, with the play that holds them in
``convert_error``, and never converted: the correction stands.

A run killed at any instant loses at most the station batch in progress, which the next
run redoes identically.  Open airings are not written: a play appears once it is final
(see docs/playlogs.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Connection, Engine, func, select

from zamio.db.engine import utcnow
from zamio.db.tables import captures, detections, stations
from zamio.playlogs import billing, store
from zamio.playlogs.airings import (
    DEFAULT_SETTLE_SECONDS,
    DEFAULT_START_TOLERANCE_SECONDS,
    DEFAULT_UNKNOWN_DURATION_HORIZON_SECONDS,
    Airing,
    Observation,
    airing_key,
    build_airings,
    settled,
)
from zamio.playlogs.evidence import StationEvidence, read_evidence, window_start
from zamio.playlogs.terms import DEFAULT_BATCH_ROWS, DEFAULT_MAX_ATTEMPTS
from zamio.runtime.errors import UsageError

log = logging.getLogger(__name__)

MAX_BATCH_ROWS = 200_000
DEFAULT_BACKOFF_BASE_SECONDS = 300.0  # 5, 10, 20, 40, 80 min: parked about 2.5 h after the first failure
LOOKBACK_SCAN_INTERVALS = 3


@dataclass(frozen=True)
class ConvertSettings:
    """How the converter groups, waits and retries (seconds unless named otherwise)."""

    start_tolerance_seconds: float = DEFAULT_START_TOLERANCE_SECONDS
    settle_seconds: float = DEFAULT_SETTLE_SECONDS
    unknown_duration_horizon_seconds: float = DEFAULT_UNKNOWN_DURATION_HORIZON_SECONDS
    lookback_seconds: float = LOOKBACK_SCAN_INTERVALS * 120.0
    batch_rows: int = DEFAULT_BATCH_ROWS
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    backoff_base_seconds: float = DEFAULT_BACKOFF_BASE_SECONDS


@dataclass
class StationResult:
    """What converting one station did."""

    stored: int = 0  # plays inserted (new airings and new versions)
    revised: int = 0  # of those, new versions of a stored play
    withdrawn: int = 0  # stored plays superseded with no airing of their own left
    converted: int = 0  # detections marked converted
    failed: list[tuple[int, str]] = field(default_factory=list)  # (detection id, message) this run
    parked: int = 0
    conflicts: int = 0
    duplicates: int = 0  # of those stored, plays of an airing another report bills already
    pinned: int = 0  # detections left alone: they fall in a play corrected by hand
    open_detections: bool = False

    def add(self, other: StationResult) -> None:
        for name in ("stored", "revised", "withdrawn", "converted", "parked", "conflicts", "duplicates", "pinned"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.failed += other.failed


@dataclass(frozen=True)
class NewPlay:
    airing: Airing
    play_key: str
    version: int
    supersedes_id: int | None
    detection_ids: tuple[int, ...]


@dataclass
class Plan:
    """What a rebuild changes: rows to insert, current rows to supersede, detections to release."""

    new: list[NewPlay] = field(default_factory=list)
    retire: list[int] = field(default_factory=list)
    withdrawn: int = 0
    release: list[int] = field(default_factory=list)
    unchanged: int = 0


def play_key(station_id: int, airing: Airing) -> str:
    """The identity of an airing's play: station plus ``zamio.playlogs.airings.airing_key``."""
    return f"s{station_id}|{airing_key(airing)}"


def plan_changes(station_id: int, airings: Sequence[Airing], stored: Sequence[store.StoredPlay],
                 evidence: StationEvidence, versions: dict[str, int]) -> Plan:
    """Given settled airings rebuilt from a point, the current plays stored from that point,
    the evidence (for companion detections) and the highest stored version of each key,
    return the changes that make the stored plays equal the airings."""
    plan = Plan()
    by_key = {play.play_key: play for play in stored}
    seen: set[str] = set()
    for airing in airings:
        key = play_key(station_id, airing)
        seen.add(key)
        ids = tuple(evidence.detection_ids(airing.detection_ids))
        old = by_key.get(key)
        if old is not None and old.signature == _signature(airing, ids):
            plan.unchanged += 1
            continue
        if old is not None:
            plan.retire.append(old.id)
        plan.new.append(NewPlay(airing, key, versions.get(key, 0) + 1, old.id if old else None, ids))
    gone = [play for play in stored if play.play_key not in seen]
    plan.retire += [play.id for play in gone]
    plan.withdrawn = len(gone)
    plan.new = [_link_withdrawn(new, gone) for new in plan.new]
    kept = {d for airing in airings for d in evidence.detection_ids(airing.detection_ids)}
    retired = [play for play in stored if play.id in set(plan.retire)]
    plan.release = sorted({d for play in retired for d in play.detection_ids} - kept)
    return plan


def _signature(airing: Airing, detection_ids: Sequence[int]) -> store.Signature:
    return store.signature(airing.recording_key, airing.category, airing.started_at, airing.ended_at,
                           airing.end_estimated, airing.single_observation, detection_ids)


def _link_withdrawn(new: NewPlay, gone: Sequence[store.StoredPlay]) -> NewPlay:
    """A new airing that took over the detections of a withdrawn play supersedes it."""
    if new.supersedes_id is not None or not gone:
        return new
    overlap = max(gone, key=lambda play: (len(play.detection_ids & set(new.detection_ids)), -play.id))
    if not overlap.detection_ids & set(new.detection_ids):
        return new
    return NewPlay(new.airing, new.play_key, new.version, overlap.id, new.detection_ids)


def play_row(station_id: int, new: NewPlay, evidence: StationEvidence, now: datetime) -> billing.PlayRow:
    """The ``play_logs`` row of a new play (status final)."""
    airing = new.airing
    first = evidence.facts[airing.detection_ids[0]]
    sources = {evidence.facts[d].source for d in new.detection_ids if d in evidence.facts}
    return {
        "play_key": new.play_key, "version": new.version, "station_id": station_id,
        "track_id": first.track_id, "recording_key": airing.recording_key, "acrcloud_id": first.acrcloud_id,
        "isrc": first.isrc, "title": first.title, "artist": first.artist, "category": airing.category,
        "source": next((source for source in ("local", "acrcloud") if source in sources), "unknown"),
        "started_at": airing.started_at, "ended_at": airing.ended_at,
        "duration_seconds": round(airing.played_seconds, 6),
        "end_estimated": airing.end_estimated, "single_observation": airing.single_observation,
        "status": "final", "supersedes_id": new.supersedes_id, "detection_count": len(new.detection_ids),
        "confidence_avg": airing.confidence_avg, "confidence_min": airing.confidence_min,
        "society_id": first.society_id, "society_status": first.society_status,
        "created_at": now, "finalised_at": now, "first_captured_at": airing.first_captured_at,
        "speed": airing.speed,
    }


def pending_stations(conn: Connection, now: datetime, station_ids: Sequence[int] | None = None) -> list[int]:
    """The stations with detections waiting to be converted and due, in id order."""
    query = select(detections.c.station_id).distinct().where(*_due(now)).order_by(detections.c.station_id)
    if station_ids is not None:
        query = query.where(detections.c.station_id.in_(list(station_ids)))
    return [row[0] for row in conn.execute(query)]


def _due(now: datetime) -> list[ColumnElement[bool]]:
    c = detections.c
    return [c.convert_status == "pending",
            (c.convert_next_attempt_at.is_(None)) | (c.convert_next_attempt_at <= now)]


def earliest_waiting(conn: Connection, station_id: int, now: datetime) -> datetime | None:
    """The capture time of the station's earliest detection waiting and due (up to ``now``)."""
    query = (
        select(func.min(captures.c.started_at))
        .select_from(detections.join(captures, captures.c.id == detections.c.capture_id))
        .where(detections.c.station_id == station_id, captures.c.started_at <= now, *_due(now))
    )
    return conn.execute(query).scalar()


def convert_batch(conn: Connection, station_id: int, now: datetime, settings: ConvertSettings,
                  batch_rows: int | None = None) -> tuple[StationResult, bool]:
    """Convert one batch of one station's detections at ``now`` inside the caller's transaction.

    Return the result and whether more of the station's history is waiting beyond this
    batch (the read was cut by ``batch_rows`` and the batch made progress).
    """
    store.lock_station(conn, station_id)
    result = StationResult()
    earliest = earliest_waiting(conn, station_id, now)
    if earliest is None:
        return result, False
    boundary = store.watermark(conn, station_id)
    if boundary is not None and earliest <= boundary:
        boundary = store.watermark(conn, station_id, before=earliest)  # a late detection: rebuild from before it
    since = window_start(conn, station_id, boundary or earliest, timedelta(seconds=settings.lookback_seconds))
    evidence = read_evidence(conn, station_id, since, now, now, batch_rows or settings.batch_rows)
    pins = store.pinned(conn, station_id, since, now)
    aside = set_aside(evidence, pins)
    effective_now = min(now, evidence.cut_at) if evidence.cut_at else now
    airings = build_airings(
        evidence.observations, effective_now, boundary=boundary,
        start_tolerance_seconds=settings.start_tolerance_seconds, settle_seconds=settings.settle_seconds,
        unknown_duration_horizon_seconds=settings.unknown_duration_horizon_seconds,
    )
    done = settled(airings)
    result.open_detections = len(done) < len(airings)
    if done:
        _apply(conn, station_id, done, boundary, evidence, pins, result)
    for holder, ids in aside.items():
        result.pinned += store.set_detections(conn, ids, "pinned", pinned_note(holder))
    _record_problems(conn, evidence, now, settings, result)
    return result, bool(evidence.cut_at) and bool(done)


def pinned_note(play_id: int) -> str:
    """Why a detection is left alone: the play corrected by hand that holds it."""
    return (f"pinned: captured within play {play_id}, corrected by hand (bin/correct-plays); the correction stands: "
            "correct that play to change it")


def set_aside(evidence: StationEvidence, pins: store.Pins) -> dict[int, list[int]]:
    """Given a station's evidence and what corrections by hand hold, take out the waiting detections captured
    inside a window a person decided (their captures stay, as telling nothing: coverage gaps); return their ids
    by the play holding them."""
    aside: dict[int, list[int]] = {}
    kept = []
    for obs in evidence.observations:
        facts = evidence.facts.get(obs.detection_id) if obs.detection_id is not None else None
        holder = pins.window(obs.captured_at) if facts is not None and facts.convert_status == "pending" else None
        if holder is None or obs.detection_id is None:
            kept.append(obs)
            continue
        aside.setdefault(holder, []).extend([obs.detection_id, *evidence.companions.get(obs.detection_id, ())])
        kept.append(Observation(obs.capture_id, obs.captured_at, obs.seconds, "error"))
    evidence.observations[:] = kept
    return aside


def held_airings(airings: Sequence[Airing], evidence: StationEvidence, pins: store.Pins) -> dict[int, list[int]]:
    """Given settled airings, their evidence and what corrections by hand hold, return the airings holding a
    detection of a corrected play, as {index in ``airings``: [the corrected play, then the airing's detections]}."""
    held: dict[int, list[int]] = {}
    for n, airing in enumerate(airings):
        ids = evidence.detection_ids(airing.detection_ids)
        holder = next((pins.detections[d] for d in ids if d in pins.detections), None)
        if holder is not None:
            held[n] = [holder, *ids]
    return held


def _apply(conn: Connection, station_id: int, done: list[Airing], boundary: datetime | None,
           evidence: StationEvidence, pins: store.Pins, result: StationResult) -> None:
    """Bring the stored plays from ``boundary`` in line with the settled airings ``done``, leaving alone what
    corrections by hand hold (``pins``)."""
    stored = store.current_plays(conn, station_id, boundary, done[-1].first_captured_at)
    held = held_airings(done, evidence, pins)
    done = [airing for n, airing in enumerate(done) if n not in held]
    keys = [play_key(station_id, airing) for airing in done]
    plan = plan_changes(station_id, done, stored, evidence, store.latest_versions(conn, keys))
    store.retire(conn, plan.retire)
    now = utcnow()
    rows = [play_row(station_id, new, evidence, now) for new in plan.new]
    ids = billing.store(conn, rows)
    billing.rehome(conn, plan.retire)
    store.link(conn, [(ids[(new.play_key, new.version)], d) for new in plan.new for d in new.detection_ids])
    store.set_detections(conn, plan.release, "pending")
    result.converted += store.set_detections(conn, [d for new in plan.new for d in new.detection_ids], "converted")
    for holder, *joined in held.values():  # a detection joining a corrected airing: left to the correction
        loose = [d for d in joined if d not in pins.detections]
        result.pinned += store.set_detections(conn, loose, "pinned", pinned_note(holder))
    result.duplicates += sum(1 for row in rows if row["status"] == "duplicate")
    result.stored += len(plan.new)
    result.revised += sum(1 for new in plan.new if new.version > 1)
    result.withdrawn += plan.withdrawn


def _record_problems(conn: Connection, evidence: StationEvidence, now: datetime, settings: ConvertSettings,
                     result: StationResult) -> None:
    """Record each unusable detection's reason; park those out of attempts; mark conflicts."""
    for facts, error in evidence.problems:
        if not facts.due:
            continue
        message = f"{error.reason}: {error}"
        parked = store.record_failure(conn, facts.detection_id, facts.convert_attempts, message, now=now,
                                      max_attempts=settings.max_attempts,
                                      backoff_base_seconds=settings.backoff_base_seconds)
        result.failed.append((facts.detection_id, message))
        result.parked += int(parked)
    for loser, primary in evidence.conflicts:
        if loser.convert_status == "pending":
            note = (f"conflict: capture {loser.capture_id} was also recognised as {primary.recording_key} "
                    f"by detection {primary.detection_id} ({primary.source}), which was kept")
            result.conflicts += store.set_detections(conn, [loser.detection_id], "conflict", note)


def convert_station(engine: Engine, station_id: int, now: datetime, settings: ConvertSettings,
                    *, dry_run: bool = False, should_stop: Callable[[], bool] = lambda: False) -> StationResult:
    """Convert one station's waiting detections at ``now``, batch after batch, one
    transaction each (a dry run computes one batch and rolls it back)."""
    from zamio.db.engine import transaction

    total = StationResult()
    limit = settings.batch_rows
    while True:
        with transaction(engine, dry_run=dry_run) as conn:
            result, more = convert_batch(conn, station_id, now, settings, limit)
        total.add(result)
        total.open_detections = result.open_detections
        if dry_run or not more or should_stop():
            return total
        if result.stored == 0:  # one airing longer than the batch: read more at once
            limit = min(limit * 2, MAX_BATCH_ROWS)


def station_ids(conn: Connection, refs: Sequence[str]) -> list[int]:
    """The ids of the named stations; raise UsageError naming any unknown reference."""
    query = select(stations.c.station_ref, stations.c.id).where(stations.c.station_ref.in_(refs))
    rows = dict(conn.execute(query).all())
    missing = [ref for ref in refs if ref not in rows]
    if missing:
        raise UsageError(f"unknown station(s): {', '.join(missing)}; see the stations table")
    return [rows[ref] for ref in refs]
