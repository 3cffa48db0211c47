"""Writing plays: current rows, new versions, links to detections, detection states.

Every function takes the connection first and runs in the caller's transaction (one
station batch), so a run killed at any instant leaves either all of a batch or none of
it.  Inserts are insert-or-ignore on (play_key, version), and at most one row per
play_key is ``final`` (a partial unique index), so even two converters that got past
the job lock cannot store an airing twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select, update

from zamio.db import insert_ignore, utcnow
from zamio.leases import backoff_seconds
from zamio.tables import detections, play_detections, play_logs

#: Rows per IN (...) list: well under SQLite's parameter limit.
CHUNK = 500


def chunks(values: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


@dataclass(frozen=True)
class StoredPlay:
    """A current (final) detected play as stored, with what decides whether it changed."""

    id: int
    play_key: str
    version: int
    signature: tuple[Any, ...]
    detection_ids: frozenset[int]


def signature(recording_key: str, category: str, started_at: datetime, ended_at: datetime,
              end_estimated: bool, single_observation: bool, detection_ids: Iterable[int]) -> tuple[Any, ...]:
    """The facts of a play that a rebuild must reproduce for the stored row to stand."""
    return (recording_key, category, started_at, ended_at, bool(end_estimated), bool(single_observation),
            tuple(sorted(detection_ids)))


def watermark(conn: Connection, station_id: int, before: datetime | None = None) -> datetime | None:
    """The ``first_captured_at`` of the station's latest current detected play (before ``before``)."""
    query = select(func.max(play_logs.c.first_captured_at)).where(
        play_logs.c.station_id == station_id, play_logs.c.status == "final",
    )
    if before is not None:
        query = query.where(play_logs.c.first_captured_at < before)
    return conn.execute(query).scalar()


def current_plays(conn: Connection, station_id: int, since: datetime | None, until: datetime) -> list[StoredPlay]:
    """The station's current detected plays whose first capture lies in [since, until]."""
    c = play_logs.c
    query = select(c.id, c.play_key, c.version, c.recording_key, c.category, c.started_at, c.ended_at,
                   c.end_estimated, c.single_observation).where(
        c.station_id == station_id, c.status == "final", c.first_captured_at.is_not(None),
        c.first_captured_at <= until,
    )
    if since is not None:
        query = query.where(c.first_captured_at >= since)
    rows = list(conn.execute(query))
    links: dict[int, set[int]] = {row.id: set() for row in rows}
    for part in chunks([row.id for row in rows]):
        query = select(play_detections.c.play_id, play_detections.c.detection_id).where(
            play_detections.c.play_id.in_(part))
        for play_id, detection_id in conn.execute(query):
            links[play_id].add(detection_id)
    return [
        StoredPlay(row.id, row.play_key, row.version, signature(
            row.recording_key, row.category, row.started_at, row.ended_at, row.end_estimated,
            row.single_observation, links[row.id]), frozenset(links[row.id]))
        for row in rows
    ]


def latest_versions(conn: Connection, keys: Sequence[str]) -> dict[str, int]:
    """The highest version stored of each play key (any status)."""
    found: dict[str, int] = {}
    for part in chunks(list(keys)):
        query = select(play_logs.c.play_key, func.max(play_logs.c.version)).where(
            play_logs.c.play_key.in_(part)).group_by(play_logs.c.play_key)
        found.update({key: version for key, version in conn.execute(query)})
    return found


def retire(conn: Connection, play_ids: Sequence[int], *, duplicate_of: int | None = None) -> int:
    """Mark current rows superseded (their ledger lines are to be reversed); return how many changed."""
    changed = 0
    values: dict[str, Any] = {"status": "superseded", "superseded_at": utcnow()}
    if duplicate_of is not None:
        values["duplicate_of"] = duplicate_of
    for part in chunks(list(play_ids)):
        result = conn.execute(update(play_logs).where(play_logs.c.id.in_(part), play_logs.c.status == "final")
                              .values(**values))
        changed += max(result.rowcount, 0)
    return changed


def insert_plays(conn: Connection, rows: Sequence[dict[str, Any]]) -> dict[tuple[str, int], int]:
    """Insert play rows (ignoring any already there); return their ids by (play_key, version)."""
    insert_ignore(conn, play_logs, rows, ["play_key", "version"])
    wanted = {(row["play_key"], row["version"]) for row in rows}
    ids: dict[tuple[str, int], int] = {}
    for part in chunks(sorted({key for key, _ in wanted})):
        query = select(play_logs.c.id, play_logs.c.play_key, play_logs.c.version).where(
            play_logs.c.play_key.in_(part))
        ids.update({(key, version): pid for pid, key, version in conn.execute(query) if (key, version) in wanted})
    return ids


def link(conn: Connection, pairs: Sequence[tuple[int, int]]) -> None:
    """Link plays to their detections: (play_id, detection_id) pairs, idempotent."""
    rows = [{"play_id": play_id, "detection_id": detection_id} for play_id, detection_id in pairs]
    for part in chunks(rows):
        insert_ignore(conn, play_detections, part, ["play_id", "detection_id"])


def set_detections(conn: Connection, detection_ids: Sequence[int], status: str, error: str | None = None) -> int:
    """Set the conversion state of detections (clearing back-off); return how many changed."""
    changed = 0
    for part in chunks(sorted(set(detection_ids))):
        result = conn.execute(
            update(detections)
            .where(detections.c.id.in_(part), detections.c.convert_status != status)
            .values(convert_status=status, convert_error=error, convert_next_attempt_at=None)
        )
        changed += max(result.rowcount, 0)
    return changed


def record_failure(conn: Connection, detection_id: int, attempts: int, error: str, *, now: datetime,
                   max_attempts: int, backoff_base_seconds: float) -> bool:
    """Record a failed conversion attempt on a pending detection; park it at ``max_attempts``.

    ``attempts`` is the count before this attempt.  Return True if the detection is now parked.
    """
    tries = attempts + 1
    parked = tries >= max_attempts
    retry_at = None if parked else now + timedelta(seconds=backoff_seconds(tries, base=backoff_base_seconds))
    conn.execute(
        update(detections)
        .where(detections.c.id == detection_id, detections.c.convert_status == "pending")
        .values(convert_status="parked" if parked else "pending", convert_attempts=tries,
                convert_error=error[:2000], convert_next_attempt_at=retry_at)
    )
    return parked


def imported_duplicates(conn: Connection, station_id: int, plays: Sequence[dict[str, Any]],
                        tolerance: timedelta) -> list[tuple[int, int]]:
    """Given newly stored detected plays of a station (rows with ``id``), return
    (imported play id, detected play id) for each current imported play reporting one of them:
    the same recording (track, else ISRC) starting within ``tolerance``."""
    if not plays:
        return []
    earliest = min(p["started_at"] for p in plays) - tolerance
    latest = max(p["started_at"] for p in plays) + tolerance
    c = play_logs.c
    query = select(c.id, c.track_id, c.isrc, c.started_at).where(
        c.station_id == station_id, c.source == "imported", c.status == "final",
        c.started_at >= earliest, c.started_at <= latest,
    )
    found = []
    for imported in conn.execute(query):
        for play in plays:
            if same_recording(imported.track_id, imported.isrc, play["track_id"], play["isrc"]) and abs(
                    imported.started_at - play["started_at"]) <= tolerance:
                found.append((imported.id, play["id"]))
                break
    return found


def same_recording(track_a: int | None, isrc_a: str | None, track_b: int | None, isrc_b: str | None) -> bool:
    """Whether two plays name the same recording: the same catalog track, else the same ISRC."""
    if track_a is not None and track_b is not None:
        return track_a == track_b
    return bool(isrc_a) and isrc_a == isrc_b


def detected_duplicate(conn: Connection, station_id: int, track_id: int | None, isrc: str | None,
                       started_at: datetime, tolerance: timedelta) -> int | None:
    """The id of a current detected play of the same recording starting within ``tolerance``, or None."""
    c = play_logs.c
    same = []
    if track_id is not None:
        same.append(c.track_id == track_id)
    if isrc:
        same.append(c.isrc == isrc if track_id is None else and_(c.isrc == isrc, c.track_id.is_(None)))
    if not same:
        return None
    query = select(c.id).where(
        c.station_id == station_id, c.status == "final", c.source != "imported", or_(*same),
        c.started_at >= started_at - tolerance, c.started_at <= started_at + tolerance,
    ).order_by(c.started_at, c.id).limit(1)
    return conn.execute(query).scalar()
