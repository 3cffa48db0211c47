"""One station's captures and detections, read as ``zamio.playlogs.airings`` observations.

Every capture of the window becomes one observation.  A capture with a usable
detection is a match; one whose detections are all unusable is a coverage gap
(``error``): nothing is known of what played.  When a capture has detections from
two sources (local and ACRCloud), one is primary: local first, then the higher
confidence.  A second detection naming the same recording joins the play as extra
evidence; one naming another recording is a *conflict* and is kept out.

A detection of source ``unknown`` names an unknown recording (``zamio.recognition.unknown``):
its recording key is the recording's ``U-000001``.

A detection is unusable when it names no recording, or its times cannot be right
(an offset past the end of the recording, a capture of another station, a capture
recorded as failed).  Each such detection is reported with a typed error so the
converter can record the reason on it, retry it with back-off and park it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Connection, Select, func, select

from zamio.db.engine import StoredRow
from zamio.db.tables import artists, captures, detections, fingerprint_sets, tracks, unknown_recordings
from zamio.playlogs.airings import InvalidObservation, Observation
from zamio.runtime.errors import ItemError

#: An offset this far outside the recording is a mismatch, not rounding (seconds).
OFFSET_SLACK_SECONDS = 5.0
EVIDENCE_OUTCOMES = ("match", "no_match", "silence", "error")


class UnknownRecording(ItemError):
    """The detection names no catalog track, ACRCloud id or valid ISRC; fix the detection or the catalog."""

    reason = "unknown_recording"


class ImpossibleTimes(ItemError):
    """The detection's offset or capture times cannot describe an airing."""

    reason = "impossible_times"


class InconsistentDetection(ItemError):
    """The detection disagrees with its capture (another station, a failed capture)."""

    reason = "inconsistent_detection"


@dataclass(frozen=True)
class DetectionFacts:
    """A detection and what a play copies from it or from its catalog track."""

    detection_id: int
    capture_id: int
    source: str
    recording_key: str | None
    track_id: int | None
    acrcloud_id: str | None
    isrc: str | None
    title: str | None
    artist: str | None
    category: str
    society_id: int | None
    society_status: str
    convert_status: str
    convert_attempts: int
    due: bool  # pending and past its next attempt time
    confidence: float | None


@dataclass
class StationEvidence:
    """What one read of a station's window found."""

    observations: list[Observation] = field(default_factory=list)
    facts: dict[int, DetectionFacts] = field(default_factory=dict)  # usable primaries and companions
    companions: dict[int, list[int]] = field(default_factory=dict)  # primary id -> same-recording ids
    problems: list[tuple[DetectionFacts, ItemError]] = field(default_factory=list)
    conflicts: list[tuple[DetectionFacts, DetectionFacts]] = field(default_factory=list)  # (kept out, primary)
    cut_at: datetime | None = None  # the read stopped before this capture time (batch limit)

    def detection_ids(self, primaries: Sequence[int]) -> list[int]:
        """Given the primary detection ids of an airing, return them with their companions."""
        ids = list(primaries)
        for primary in primaries:
            ids.extend(self.companions.get(primary, ()))
        return sorted(ids)


def _recording_seconds() -> ColumnElement[float]:
    """The recording's length: the catalog's, else the fingerprinted audio's (seconds)."""
    fingerprinted = (
        select(func.max(fingerprint_sets.c.audio_seconds))
        .where(fingerprint_sets.c.track_id == tracks.c.id)
        .scalar_subquery()
    )
    return func.coalesce(tracks.c.duration_seconds, fingerprinted, detections.c.duration_seconds)


def window_query(station_id: int, since: datetime, until: datetime, limit: int) -> Select[*tuple[object, ...]]:
    """The captures of one station from ``since`` to ``until`` (inclusive) with their detections."""
    joined = (
        captures.outerjoin(detections, detections.c.capture_id == captures.c.id)
        .outerjoin(tracks, tracks.c.id == detections.c.track_id)
        .outerjoin(artists, artists.c.id == tracks.c.artist_id)
        .outerjoin(unknown_recordings, unknown_recordings.c.id == detections.c.unknown_id)
    )
    return (
        select(
            captures.c.id.label("capture_id"), captures.c.started_at, captures.c.seconds, captures.c.outcome,
            detections.c.id.label("detection_id"), detections.c.station_id.label("detection_station_id"),
            detections.c.source, detections.c.track_id, detections.c.acrcloud_id, detections.c.isrc,
            detections.c.isrc_valid, detections.c.title, detections.c.artist, detections.c.offset_seconds,
            detections.c.speed, detections.c.confidence, detections.c.society_id, detections.c.society_status,
            detections.c.convert_status, detections.c.convert_attempts, detections.c.convert_next_attempt_at,
            tracks.c.title.label("track_title"), tracks.c.isrc.label("track_isrc"), tracks.c.category,
            tracks.c.society_id.label("track_society_id"), artists.c.name.label("track_artist"),
            _recording_seconds().label("recording_seconds"), unknown_recordings.c.unknown_ref,
        )
        .select_from(joined)
        .where(captures.c.station_id == station_id, captures.c.started_at >= since, captures.c.started_at <= until)
        .order_by(captures.c.started_at, captures.c.id, detections.c.id)
        .limit(limit)
    )


def read_evidence(
    conn: Connection, station_id: int, since: datetime, until: datetime, now: datetime, limit: int
) -> StationEvidence:
    """Given a station and a window of capture start times, return its observations.

    At most ``limit`` rows are read; when the limit cuts the window, the captures of the
    last start time read are dropped (a capture is never half read) and ``cut_at`` says
    where the read stopped: everything captured before it was read.  ``now`` decides
    which failing detections are due for another attempt.
    """
    rows = list(conn.execute(window_query(station_id, since, until, limit)))
    evidence = StationEvidence()
    if len(rows) >= limit:
        evidence.cut_at = rows[-1].started_at
        rows = [r for r in rows if r.started_at < evidence.cut_at]
    by_capture: dict[int, list[StoredRow]] = {}
    for row in rows:
        by_capture.setdefault(row.capture_id, []).append(row)
    for capture_rows in by_capture.values():
        _add_capture(evidence, station_id, capture_rows, now)
    return evidence


def _add_capture(evidence: StationEvidence, station_id: int, rows: list[StoredRow], now: datetime) -> None:
    """Given the rows of one capture (one per detection, or one without), add its observation."""
    first = rows[0]
    seconds = float(first.seconds or 0.0)
    outcome = first.outcome if first.outcome in EVIDENCE_OUTCOMES else "error"
    usable: list[tuple[DetectionFacts, Observation]] = []
    for row in rows:
        if row.detection_id is None:
            continue
        facts = _facts(row, now)
        if facts.convert_status not in ("pending", "converted"):
            continue  # parked or a conflict: a person decides; until then nothing is known
        try:
            usable.append((facts, _observation(row, facts, station_id, seconds)))
        except ItemError as error:
            evidence.problems.append((facts, error))
    if usable:
        _add_match(evidence, usable)
    elif any(row.detection_id is not None for row in rows) or outcome == "match":
        evidence.observations.append(Observation(first.capture_id, first.started_at, seconds, "error"))
    else:
        evidence.observations.append(Observation(first.capture_id, first.started_at, seconds, outcome))


def _add_match(evidence: StationEvidence, usable: list[tuple[DetectionFacts, Observation]]) -> None:
    """Given a capture's usable detections, record the primary's observation and sort out the rest."""
    usable.sort(key=lambda pair: (pair[0].source != "local", -(pair[0].confidence or 0.0), pair[0].detection_id))
    primary, observation = usable[0]
    evidence.observations.append(observation)
    evidence.facts[primary.detection_id] = primary
    for facts, _ in usable[1:]:
        if facts.recording_key == primary.recording_key:
            evidence.facts[facts.detection_id] = facts
            evidence.companions.setdefault(primary.detection_id, []).append(facts.detection_id)
        else:
            evidence.conflicts.append((facts, primary))


def recording_key(track_id: int | None, acrcloud_id: str | None, isrc: str | None,
                  unknown_ref: str | None = None) -> str | None:
    """The identity of a recording across detections: catalog track, else ACRCloud id, else ISRC,
    else the unknown recording heard (``U-000001``: its plays are held in suspense
    ``unidentified:U-000001`` until it is named)."""
    if track_id is not None:
        return f"track:{track_id}"
    if acrcloud_id:
        return f"acr:{acrcloud_id}"
    if isrc:
        return f"isrc:{isrc}"
    return unknown_ref


def _facts(row: StoredRow, now: datetime) -> DetectionFacts:
    isrc = row.track_isrc or (row.isrc if row.isrc_valid is not False else None)
    due = row.convert_status == "pending" and (
        row.convert_next_attempt_at is None or row.convert_next_attempt_at <= now
    )
    return DetectionFacts(
        detection_id=row.detection_id,
        capture_id=row.capture_id,
        source=row.source,
        recording_key=recording_key(row.track_id, row.acrcloud_id, isrc, row.unknown_ref),
        track_id=row.track_id,
        acrcloud_id=row.acrcloud_id,
        isrc=isrc,
        title=row.track_title or row.title,
        artist=row.track_artist or row.artist,
        category=row.category or "music",
        society_id=row.society_id if row.society_id is not None else row.track_society_id,
        society_status=row.society_status if row.society_id is not None else (
            "mapped" if row.track_society_id is not None else "unmapped"),
        convert_status=row.convert_status,
        convert_attempts=row.convert_attempts or 0,
        due=due,
        confidence=row.confidence,
    )


def _observation(row: StoredRow, facts: DetectionFacts, station_id: int, seconds: float) -> Observation:
    """Given a detection row, return its match observation; raise an ItemError saying why it is unusable."""
    name = f"detection {row.detection_id} (capture {row.capture_id})"
    if row.detection_station_id != station_id:
        raise InconsistentDetection(f"{name} names station {row.detection_station_id}, its capture station "
                                    f"{station_id}; correct the detection's station_id")
    if row.outcome == "error":
        raise InconsistentDetection(f"{name}: its capture is recorded as failed; correct the capture's outcome")
    if facts.recording_key is None:
        raise UnknownRecording(f"{name} names no catalog track, ACRCloud id or valid ISRC; "
                               "link it to a track or park it")
    _check_offset(name, row)
    try:
        return Observation(
            row.capture_id, row.started_at, seconds, "match", detection_id=row.detection_id,
            recording_key=facts.recording_key, offset_seconds=row.offset_seconds,
            speed=row.speed if row.speed is not None else 1.0, confidence=row.confidence,
            recording_seconds=row.recording_seconds or None, category=facts.category,
        )
    except InvalidObservation as error:
        raise InvalidObservation(f"{name}: {error}") from None


def _check_offset(name: str, row: StoredRow) -> None:
    offset = row.offset_seconds
    if offset is None and row.source == "acrcloud":
        return  # ACRCloud named the recording but not where the clip sits in it: heard from the capture on
    if offset is None or not math.isfinite(offset):
        raise ImpossibleTimes(f"{name} has no offset inside the recording; the start of the airing is unknown")
    if offset < -(float(row.seconds or 0.0) + OFFSET_SLACK_SECONDS):
        raise ImpossibleTimes(f"{name}: offset {offset:.1f} s puts the recording's start after the capture ended")
    duration = row.recording_seconds
    if duration and offset > duration + OFFSET_SLACK_SECONDS:
        raise ImpossibleTimes(f"{name}: offset {offset:.1f} s is past the end of the {duration:.0f} s recording; "
                              "check the track's duration_seconds")


#: No recording is longer than this: context further back cannot move a start (seconds).
LONGEST_CONTEXT_SECONDS = 6 * 3600


def last_other_content_before(conn: Connection, station_id: int, moment: datetime) -> datetime | None:
    """The start time of the station's last capture before ``moment`` that showed a recording or silence."""
    query = select(func.max(captures.c.started_at)).where(
        captures.c.station_id == station_id, captures.c.started_at < moment,
        captures.c.started_at >= moment - timedelta(seconds=LONGEST_CONTEXT_SECONDS),
        captures.c.outcome.in_(("match", "silence")),
    )
    return conn.execute(query).scalar()


def window_start(conn: Connection, station_id: int, moment: datetime, lookback: timedelta) -> datetime:
    """Where a read must begin to give the airing starting at ``moment`` its context: back to
    the last capture before it that can bound its start (however long a dead stream or
    talk lasted), and at least ``lookback``."""
    previous = last_other_content_before(conn, station_id, moment)
    start = moment - lookback
    return min(start, previous) if previous is not None else start
