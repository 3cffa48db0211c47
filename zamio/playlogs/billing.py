"""One airing, one billing: every report of an airing is kept, exactly one of them is billed.

An airing reaches zamio from several sources: the station's detections (``convert-matches``),
any number of partners (``import-playlogs``: a monitoring service, the station's own log),
and the same partner again in a re-sent or corrected file.  Each report is stored as a play.
The first one stored for an airing is billed (status ``final``: the royalty engine prices
it); every later report of the same airing is stored as ``duplicate`` with ``duplicate_of``
naming the billed play, as evidence, and never priced.

Two plays report the same airing when they are on the same station, name the same
recording (``recording_ref``: the ISRC where one is known, since partners name recordings
by ISRC and the catalog gives tracks theirs; else the catalog track, else the ACRCloud id),
start at most ``START_TOLERANCE`` apart (reported logs carry scheduled, not measured, start
times), and their [start, end] intervals overlap.

The rule is the database's, not this module's timing: sql/0015 refuses a second final play
of an airing (an exclusion constraint on PostgreSQL, triggers on SQLite).  This module looks
first, so the common case costs one query, and when another writer billed the airing in the
meantime (two jobs racing on PostgreSQL) the refused insert is rolled back to its savepoint
and the play is stored as the duplicate it is.

When a billed play stops being current (a corrected version of it, or a detected play
withdrawn), its duplicates are re-homed: each points to the play now billing its airing,
or, if none does, the earliest of them is billed in its place, so an airing is never left
unbilled while a report of it stands.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypedDict

from sqlalchemy import Connection, exc, select, update

from zamio.db.engine import insert_ignore
from zamio.db.tables import play_logs

#: Reports of one recording on one station starting at most this far apart (and overlapping)
#: are one airing.  Fixed by the schema (sql/0015), which enforces it.
START_TOLERANCE = timedelta(seconds=60)

CURRENT = ("final", "duplicate")  # the statuses of a play that still stands as a report


class PlayRow(TypedDict, total=False):
    """A ``play_logs`` row as the converter, the import and the corrections write it (each gives the columns it
    sets; the database's defaults fill the rest), or the columns of a stored play that place its airing."""

    id: int
    play_key: str
    version: int
    station_id: int
    track_id: int | None
    recording_key: str
    recording_ref: str
    acrcloud_id: str | None
    isrc: str | None
    title: str | None
    artist: str | None
    category: str
    source: str
    started_at: datetime
    ended_at: datetime
    duration_seconds: float | Decimal
    end_estimated: bool
    single_observation: bool
    status: str
    supersedes_id: int | None
    detection_count: int
    confidence_avg: float | None
    confidence_min: float | None
    society_id: int | None
    society_status: str
    import_ref: str | None
    created_at: datetime
    finalised_at: datetime | None
    first_captured_at: datetime | None
    speed: float | None
    duplicate_of: int | None
    correction_id: int | None


def recording_ref(isrc: str | None, track_id: int | None, acrcloud_id: str | None, recording_key: str) -> str:
    """The recording as every source can name it: ISRC, else catalog track, else ACRCloud id."""
    if isrc:
        return f"isrc:{isrc}"
    if track_id is not None:
        return f"track:{track_id}"
    if acrcloud_id:
        return f"acr:{acrcloud_id}"
    return recording_key


def with_recording_ref(row: PlayRow) -> PlayRow:
    """The play row with its ``recording_ref`` filled in from its identifiers."""
    row["recording_ref"] = recording_ref(row.get("isrc"), row.get("track_id"), row.get("acrcloud_id"),
                                         row["recording_key"])
    return row


def billed_play(conn: Connection, play: PlayRow, *, other_than: int | None = None) -> int | None:
    """The id of the final play billing the airing ``play`` reports (other than ``other_than``), or None."""
    c = play_logs.c
    query = select(c.id).where(
        c.status == "final", c.station_id == play["station_id"], c.recording_ref == play["recording_ref"],
        c.started_at >= play["started_at"] - START_TOLERANCE, c.started_at <= play["started_at"] + START_TOLERANCE,
        c.started_at <= play["ended_at"], c.ended_at >= play["started_at"],
    ).order_by(c.id).limit(1)
    if other_than is not None:
        query = query.where(c.id != other_than)
    return conn.execute(query).scalar()


def store(conn: Connection, rows: Sequence[PlayRow]) -> dict[tuple[str, int], int]:
    """Insert play rows, each ``final`` one stored as a duplicate where its airing is billed already
    (insert-or-ignore on (play_key, version)); return the ids by (play_key, version).

    Rows are stored in order, so of two rows of one airing in ``rows`` the first is billed.
    The rows given are updated with the status and ``duplicate_of`` they were stored with.
    """
    for row in rows:
        with_recording_ref(row)
        if row["status"] == "final":
            _store_billable(conn, row)
        else:
            insert_ignore(conn, play_logs, [row], ["play_key", "version"])
    return _ids(conn, rows)


def _store_billable(conn: Connection, row: PlayRow) -> None:
    billed = billed_play(conn, row)
    if billed is None:
        savepoint = conn.begin_nested()
        try:
            insert_ignore(conn, play_logs, [row], ["play_key", "version"])
        except exc.IntegrityError:
            # Another writer billed this airing after we looked: the database refused ours.
            savepoint.rollback()
            billed = billed_play(conn, row)
            if billed is None:
                raise
        else:
            savepoint.commit()
            return
    row.update({"status": "duplicate", "duplicate_of": billed})
    insert_ignore(conn, play_logs, [row], ["play_key", "version"])


def _ids(conn: Connection, rows: Sequence[PlayRow]) -> dict[tuple[str, int], int]:
    wanted = {(row["play_key"], row["version"]) for row in rows}
    keys = sorted({key for key, _ in wanted})
    ids: dict[tuple[str, int], int] = {}
    for start in range(0, len(keys), 500):
        query = select(play_logs.c.id, play_logs.c.play_key, play_logs.c.version).where(
            play_logs.c.play_key.in_(keys[start:start + 500]))
        ids.update({(key, version): pid for pid, key, version in conn.execute(query) if (key, version) in wanted})
    return ids


def rehome(conn: Connection, retired_ids: Sequence[int]) -> list[int]:
    """Given plays that just stopped being current, re-home the duplicates that pointed to them:
    to the play now billing their airing, else the earliest is billed itself.  Return the ids of
    the duplicates that became billed."""
    if not retired_ids:
        return []
    promoted: list[int] = []
    for duplicate in _duplicates_of(conn, retired_ids):
        billed = billed_play(conn, duplicate, other_than=duplicate["id"])
        if billed is None:
            if _promote(conn, duplicate["id"]):
                promoted.append(duplicate["id"])
                continue
            billed = billed_play(conn, duplicate, other_than=duplicate["id"])  # another writer billed it
        if billed is not None:
            conn.execute(update(play_logs).where(play_logs.c.id == duplicate["id"]).values(duplicate_of=billed))
    return promoted


def _duplicates_of(conn: Connection, play_ids: Sequence[int]) -> list[PlayRow]:
    c = play_logs.c
    found: list[PlayRow] = []
    ids = sorted(set(play_ids))
    for start in range(0, len(ids), 500):
        query = select(c.id, c.station_id, c.recording_ref, c.started_at, c.ended_at).where(
            c.status == "duplicate", c.duplicate_of.in_(ids[start:start + 500]))
        found += [PlayRow(id=row.id, station_id=row.station_id, recording_ref=row.recording_ref,
                          started_at=row.started_at, ended_at=row.ended_at) for row in conn.execute(query)]
    return sorted(found, key=lambda row: row["id"])


def _promote(conn: Connection, play_id: int) -> bool:
    """Bill a duplicate whose airing nobody bills any more; False if another writer just did."""
    savepoint = conn.begin_nested()
    try:
        conn.execute(update(play_logs).where(play_logs.c.id == play_id, play_logs.c.status == "duplicate")
                     .values(status="final", duplicate_of=None))
    except exc.IntegrityError:
        savepoint.rollback()
        return False
    savepoint.commit()
    return True


def same_facts(stored: Mapping[str, object], row: PlayRow) -> bool:
    """Whether a re-sent report states what its stored version states (else it is a correction)."""
    return all(_same(stored[name], row[name]) for name in ("started_at", "ended_at", "recording_ref", "track_id",
                                                             "isrc", "category", "confidence_avg"))


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, datetime) and isinstance(b, datetime):
        return abs(a - b) < timedelta(microseconds=1)
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and abs(float(a) - float(b)) < 1e-9 or a is b is None
    return a == b
