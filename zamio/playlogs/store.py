"""Writing plays: current rows, new versions, links to detections, detection states.

Every function takes the connection first and runs in the caller's transaction (one
station batch), so a run killed at any instant leaves either all of a batch or none of
it.  Inserts are insert-or-ignore on (play_key, version), and at most one row per
play_key is ``final`` (a partial unique index), so even two converters that got past
the job lock cannot store an airing twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import Connection, func, select, update

from zamio.db.engine import insert_ignore, is_sqlite, utcnow
from zamio.db.tables import detections, play_detections, play_logs, stations
from zamio.playlogs.billing import CURRENT
from zamio.runtime.leases import backoff_seconds

#: Rows per IN (...) list: well under SQLite's parameter limit.
CHUNK = 500

T = TypeVar("T")
#: What a rebuild must reproduce for a stored play to stand: recording key, category, start, end,
#: end estimated, single observation and the detection ids in order.
Signature = tuple[str, str, datetime, datetime, bool, bool, tuple[int, ...]]


def chunks(values: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


@dataclass(frozen=True)
class StoredPlay:
    """A current (final) detected play as stored, with what decides whether it changed."""

    id: int
    play_key: str
    version: int
    signature: Signature
    detection_ids: frozenset[int]


def signature(recording_key: str, category: str, started_at: datetime, ended_at: datetime,
              end_estimated: bool, single_observation: bool, detection_ids: Iterable[int]) -> Signature:
    """The facts of a play that a rebuild must reproduce for the stored row to stand."""
    return (recording_key, category, started_at, ended_at, bool(end_estimated), bool(single_observation),
            tuple(sorted(detection_ids)))


def lock_station(conn: Connection, station_id: int) -> None:
    """Serialise the writers of one station's plays (the converter, imports) until the transaction ends.

    PostgreSQL: ``FOR NO KEY UPDATE`` on the station row, which does not block the foreign-key
    checks of other writers (``FOR UPDATE`` would, and a writer waiting on it while holding a
    play the other needs deadlocks).  SQLite's one writer at a time already serialises them.
    """
    if not is_sqlite(conn):
        conn.execute(select(stations.c.id).where(stations.c.id == station_id).with_for_update(key_share=True))


def watermark(conn: Connection, station_id: int, before: datetime | None = None) -> datetime | None:
    """The ``first_captured_at`` of the station's latest current detected play (before ``before``)."""
    query = select(func.max(play_logs.c.first_captured_at)).where(
        play_logs.c.station_id == station_id, play_logs.c.status.in_(CURRENT),
    )
    if before is not None:
        query = query.where(play_logs.c.first_captured_at < before)
    return conn.execute(query).scalar()


def current_plays(conn: Connection, station_id: int, since: datetime | None, until: datetime) -> list[StoredPlay]:
    """The station's current detected plays (billed or duplicates of a play billed before them)
    whose first capture lies in [since, until]."""
    c = play_logs.c
    query = select(c.id, c.play_key, c.version, c.recording_key, c.category, c.started_at, c.ended_at,
                   c.end_estimated, c.single_observation).where(
        c.station_id == station_id, c.status.in_(CURRENT), c.first_captured_at.is_not(None),
        c.first_captured_at <= until,
    )
    if since is not None:
        query = query.where(c.first_captured_at >= since)
    rows = list(conn.execute(query))
    links: dict[int, set[int]] = {row.id: set() for row in rows}
    for part in chunks([row.id for row in rows]):
        linked = select(play_detections.c.play_id, play_detections.c.detection_id).where(
            play_detections.c.play_id.in_(part))
        for play_id, detection_id in conn.execute(linked):
            links[play_id].add(detection_id)
    return [
        StoredPlay(row.id, row.play_key, row.version, signature(
            row.recording_key, row.category, row.started_at, row.ended_at, row.end_estimated,
            row.single_observation, links[row.id]), frozenset(links[row.id]))
        for row in rows
    ]


@dataclass(frozen=True)
class Pins:
    """What corrections by hand hold on one station, for the converter to leave alone.

    ``detections``: each detection linked to a play a correction wrote or replaced, with that
    play's id.  ``windows``: (start, end, play id) of each current play written by a correction
    and of each play a correction withdrew without a successor (voided): a detection captured
    inside one belongs to what a person decided about that time.
    """

    detections: dict[int, int] = field(default_factory=dict)
    windows: tuple[tuple[datetime, datetime, int], ...] = ()

    def window(self, captured_at: datetime) -> int | None:
        """Given a capture's start, return the id of the play a person wrote or voided whose span holds it, or None."""
        return next((play for start, end, play in self.windows if start <= captured_at < end), None)


#: No play is longer than this: a correction further back cannot hold a detection of the window read.
LONGEST_PLAY = timedelta(hours=6)


def pinned(conn: Connection, station_id: int, since: datetime, until: datetime) -> Pins:
    """Given a station and a window of capture times, return what corrections by hand hold there (``Pins``)."""
    c = play_logs.c
    corrected = (c.correction_id.is_not(None)) | (c.corrected_by_id.is_not(None))
    near = [c.station_id == station_id, corrected, c.started_at >= since - LONGEST_PLAY, c.started_at <= until]
    rows = conn.execute(select(c.id, c.status, c.correction_id, c.started_at, c.ended_at).where(*near)).all()
    if not rows:
        return Pins()
    ids = [row.id for row in rows]
    rank = {row.id: (row.status in CURRENT, row.id) for row in rows}  # a detection is held by its current play
    detections: dict[int, int] = {}
    for part in chunks(ids):
        linked = select(play_detections.c.play_id, play_detections.c.detection_id).where(
            play_detections.c.play_id.in_(part))
        for play_id, detection_id in conn.execute(linked):
            held = detections.get(detection_id)
            if held is None or rank[play_id] > rank[held]:
                detections[detection_id] = play_id
    successors: set[int] = set()
    for part in chunks(ids):
        successors.update(conn.execute(select(c.supersedes_id).where(c.supersedes_id.in_(part))).scalars())
    windows = tuple(sorted(
        (row.started_at, row.ended_at, row.id) for row in rows
        if (row.status in CURRENT and row.correction_id is not None)
        or (row.status == "superseded" and row.id not in successors)))
    return Pins(detections, windows)


def latest_versions(conn: Connection, keys: Sequence[str]) -> dict[str, int]:
    """The highest version stored of each play key (any status)."""
    found: dict[str, int] = {}
    for part in chunks(list(keys)):
        query = select(play_logs.c.play_key, func.max(play_logs.c.version)).where(
            play_logs.c.play_key.in_(part)).group_by(play_logs.c.play_key)
        found.update(dict(conn.execute(query).all()))
    return found


def retire(conn: Connection, play_ids: Sequence[int], corrected_by: int | None = None) -> int:
    """Mark current rows superseded (the ledger lines of billed ones are to be reversed); return
    how many changed.  Once their new versions are stored, the caller re-homes the duplicates
    that pointed to them (``billing.rehome``).  A correction by hand names its audit entry
    (``corrected_by``), which pins the rows and their detections against rebuilds (``pinned``)."""
    changed = 0
    values: dict[str, object] = {"status": "superseded", "superseded_at": utcnow()}
    if corrected_by is not None:
        values["corrected_by_id"] = corrected_by
    for part in chunks(list(play_ids)):
        result = conn.execute(update(play_logs).where(play_logs.c.id.in_(part), play_logs.c.status.in_(CURRENT))
                              .values(**values))
        changed += max(result.rowcount, 0)
    return changed


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
