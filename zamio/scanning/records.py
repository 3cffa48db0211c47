"""Writing what was heard: one ``captures`` row per capture and its ``detections`` row.

The one writer of captures and detections: stream captures and uploaded snippets
(``bin/scan-station-streams``) and files recorded by ``bin/detect-audio --record``
fill the same columns the same way.  A local detection keeps the catalog's facts of
its track as they were when it was heard (ISRC, ISWC, title, artist, album, length,
society), as an ACRCloud detection keeps the service's.

Both writes are idempotent: a capture is keyed by ``capture_key`` (``link:<id>:<start>``,
``snippet:<chunk id>`` or ``file:<sha256>:<station_ref>:<start>``) and a detection by
(capture, source), so a run killed and repeated never records a capture twice.  A
capture already recorded is left as it is, detection included.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Required, TypedDict

from sqlalchemy import Connection, select, update

from zamio.db.engine import insert_ignore, utcnow
from zamio.db.tables import artists, captures, detections, tracks, unknown_recordings
from zamio.scanning.fallback import detection_fields
from zamio.scanning.outcomes import Heard

if TYPE_CHECKING:
    from zamio.recognition.unknown import Filed, Merger

ERROR_MESSAGE_MAX_CHARS = 2000


class CaptureRow(TypedDict):
    """A ``captures`` row as written."""

    capture_key: str
    station_id: int
    stream_link_id: int | None
    source: str
    chunk_id: str | None
    url_used: str | None
    started_at: datetime
    seconds: float
    codec: str | None
    bytes: int
    audio_sha256: str | None
    audio_path: str | None
    audio_host: str | None
    icy_title: str | None
    burst_seconds: float | None
    outcome: str
    error_reason: str | None
    error_message: str | None
    content: str | None
    music_probability: float | None
    created_at: datetime


class CatalogFields(TypedDict, total=False):
    """The detection columns a local match fills from the catalog: the track alone when it is gone."""

    track_id: Required[int]
    isrc: str | None
    iswc: str | None
    title: str
    artist: str | None
    album: str | None
    duration_seconds: float | None
    society_id: int | None
    isrc_valid: bool | None
    society_status: str


@dataclass(frozen=True)
class CaptureFacts:
    """Where a capture came from and what was read; times are aware UTC."""

    station_id: int
    source: str  # stream | snippet | file
    started_at: datetime
    audio: bytes
    station_ref: str | None = None  # file captures are keyed by the station as it was named
    stream_link_id: int | None = None
    chunk_id: str | None = None
    url_used: str | None = None
    codec: str | None = None
    icy_title: str | None = None
    audio_path: str | None = None
    audio_host: str | None = None  # the host that keeps the file at audio_path
    seconds: float | None = None
    burst_seconds: float | None = None  # started_at is this much before the first byte arrived

    @cached_property
    def audio_sha256(self) -> str | None:
        return hashlib.sha256(self.audio).hexdigest() if self.audio else None

    @property
    def capture_key(self) -> str:
        if self.chunk_id is not None:
            return f"snippet:{self.chunk_id}"
        if self.source == "file":
            # The same audio heard on the same station at the same time is one capture,
            # whatever the file is called; a file that could not be read is told by its path.
            audio = self.audio_sha256 or f"unreadable:{self.audio_path}"
            return f"file:{audio}:{self.station_ref}:{self.started_at.isoformat()}"
        return f"link:{self.stream_link_id}:{self.started_at.isoformat()}"


def record_capture(conn: Connection, facts: CaptureFacts, heard: Heard) -> tuple[int, bool]:
    """Write the capture and its detection, if any; return (capture id, detection written).

    A capture recorded before keeps its outcome and detection: a file recorded again
    after the catalog changed must not gain a detection its capture says it lacks."""
    row = capture_row(facts, heard)
    inserted = insert_ignore(conn, captures, [row], ["capture_key"]) > 0
    capture_id = conn.execute(select(captures.c.id).where(captures.c.capture_key == row["capture_key"])).scalar_one()
    if not inserted:
        return capture_id, False
    if heard.prints is not None and heard.outcome == "no_match":
        from zamio.recognition.unknown import store_candidate

        store_candidate(conn, capture_id, facts.station_id, facts.started_at, row["seconds"], heard.prints)
    detection = detection_row(conn, capture_id, facts, heard)
    written = detection is not None and insert_ignore(conn, detections, [detection], ["capture_id", "source"]) > 0
    return capture_id, written


def capture_row(facts: CaptureFacts, heard: Heard) -> CaptureRow:
    """The ``captures`` row of a capture and its outcome."""
    error = heard.error
    return {
        "capture_key": facts.capture_key,
        "station_id": facts.station_id,
        "stream_link_id": facts.stream_link_id,
        "source": facts.source,
        "chunk_id": facts.chunk_id,
        "url_used": facts.url_used,
        "started_at": facts.started_at,
        "seconds": round(facts.seconds if facts.seconds is not None else heard.seconds, 3),
        "codec": facts.codec,
        "bytes": len(facts.audio),
        "audio_sha256": facts.audio_sha256,
        "audio_path": facts.audio_path,
        "audio_host": facts.audio_host,
        "icy_title": facts.icy_title,
        "burst_seconds": facts.burst_seconds,
        "outcome": heard.outcome,
        "error_reason": error.reason if error is not None else None,
        "error_message": str(error)[:ERROR_MESSAGE_MAX_CHARS] if error is not None else None,
        "content": heard.content,
        "music_probability": (round(heard.music_probability, 4) if heard.music_probability is not None else None),
        "created_at": utcnow(),
    }


def detection_row(conn: Connection, capture_id: int, facts: CaptureFacts, heard: Heard) -> dict[str, object] | None:
    """The ``detections`` row of a matched capture, or None when nothing was recognised."""
    if heard.outcome != "match":
        return None
    base: dict[str, object] = {"capture_id": capture_id, "station_id": facts.station_id,
                               "detected_at": facts.started_at, "created_at": utcnow()}
    if heard.local is not None:
        found = heard.local
        return {**base, "source": "local", **catalog_fields(conn, int(found.track_id)),
                "offset_seconds": float(found.offset_seconds), "speed": float(found.speed),
                "confidence": float(found.confidence), "score": float(found.score)}
    assert heard.acr is not None
    fields = detection_fields(heard.acr)
    return {**base, "source": "acrcloud", "track_id": track_by_isrc(conn, fields["isrc"]), **fields}


def catalog_fields(conn: Connection, track_id: int) -> CatalogFields:
    """The detection columns of a locally matched catalog track: its facts as they are now."""
    row = conn.execute(select(tracks.c.isrc, tracks.c.iswc, tracks.c.title, artists.c.name.label("artist"),
                              tracks.c.album, tracks.c.duration_seconds, tracks.c.society_id)
                       .select_from(tracks.outerjoin(artists, artists.c.id == tracks.c.artist_id))
                       .where(tracks.c.id == track_id)).first()
    if row is None:
        return {"track_id": track_id}
    return {"track_id": track_id, "isrc": row.isrc, "iswc": row.iswc, "title": row.title, "artist": row.artist,
            "album": row.album, "duration_seconds": row.duration_seconds, "society_id": row.society_id,
            "isrc_valid": True if row.isrc else None,  # the catalog import checked it
            # Mapped already: update-pro-mappings maps only rows without a society.
            "society_status": "mapped" if row.society_id is not None else "unmapped"}


def track_by_isrc(conn: Connection, isrc: str | None) -> int | None:
    """The catalog track with this ISRC when exactly one active track has it, else None."""
    if not isrc:
        return None
    ids = conn.execute(select(tracks.c.id).where(tracks.c.isrc == isrc, tracks.c.active).limit(2)).scalars().all()
    return ids[0] if len(ids) == 1 else None


def file_unknown(conn: Connection, limit: int | None = None, merge: Merger | None = None) -> tuple[int, list[Filed]]:
    """File pending music captures with no match into unknown recordings
    (``zamio.recognition.unknown.file_pending``), merging with ``merge`` the recordings found to
    be one song (the scan job gives ``zamio.playlogs.identify.merge_same_song``), and write a
    detection of source ``unknown`` for each capture filed into one; return how many were filed
    and those captures."""
    from zamio.recognition.unknown import FILE_BATCH, file_pending

    processed, filed = file_pending(conn, FILE_BATCH if limit is None else limit, merge)
    now = utcnow()
    named = _named_tracks(conn, {f.unknown_id for f in filed})
    rows: list[dict[str, object]] = []
    for f in filed:
        row: dict[str, object] = {
            "capture_id": f.capture_id, "station_id": f.station_id, "detected_at": f.started_at, "source": "unknown",
            "unknown_id": f.unknown_id, "title": f.unknown_ref,
            # A capture that begins before the part of the song first heard: the song was on air from its start.
            "offset_seconds": max(f.offset_seconds, 0.0),
            "confidence": f.confidence, "score": float(f.aligned), "created_at": now}
        if f.unknown_id in named:  # named by hand: the capture is heard as the track, placed in its time
            track_id, track_offset = named[f.unknown_id]
            row.update(catalog_fields(conn, track_id), offset_seconds=max(f.offset_seconds + track_offset, 0.0))
        rows.append(row)
    if rows:
        insert_ignore(conn, detections, rows, ["capture_id", "source"])
    return processed, filed


def _named_tracks(conn: Connection, recording_ids: set[int]) -> dict[int, tuple[int, float]]:
    """The unknown recordings among these named as a catalog track: id -> (track id, where the
    recording's time 0 lies in the track)."""
    if not recording_ids:
        return {}
    u = unknown_recordings.c
    query = select(u.id, u.track_id, u.track_offset_seconds).where(u.id.in_(sorted(recording_ids)),
                                                                    u.track_id.is_not(None))
    return {int(r.id): (int(r.track_id), float(r.track_offset_seconds or 0.0)) for r in conn.execute(query)}


def name_pending(conn: Connection, recording_id: int, track_id: int, track_offset: float) -> int:
    """Make the detections of an unknown recording not yet turned into plays name the catalog track it was
    named as, placed in the track's time; return how many changed.  Those already in plays stay as
    they were heard: their plays move by correction."""
    pending = conn.execute(select(detections.c.id, detections.c.offset_seconds).where(
        detections.c.unknown_id == recording_id, detections.c.track_id.is_(None),
        detections.c.convert_status != "converted")).all()
    fields = catalog_fields(conn, track_id)
    for detection_id, offset in pending:
        conn.execute(update(detections).where(detections.c.id == detection_id).values(
            **fields, offset_seconds=max(float(offset or 0.0) + track_offset, 0.0)))
    return len(pending)


def move_pending(conn: Connection, merged_id: int, survivor_id: int, survivor_ref: str, shift: float) -> int:
    """Make the detections of a merged unknown recording not yet turned into plays name the recording it
    was merged into, placed in its time; return how many changed."""
    pending = conn.execute(select(detections.c.id, detections.c.offset_seconds).where(
        detections.c.unknown_id == merged_id, detections.c.convert_status != "converted")).all()
    for detection_id, offset in pending:
        conn.execute(update(detections).where(detections.c.id == detection_id).values(
            unknown_id=survivor_id, title=survivor_ref, offset_seconds=max(float(offset or 0.0) + shift, 0.0)))
    return len(pending)


def move_captures_pending(conn: Connection, offsets: dict[int, float], recording_id: int, ref: str) -> int:
    """Make the detections of these captures not yet turned into plays name the unknown recording they were split
    off into, each placed at its capture's start in its time (``offsets``: capture id -> seconds); return how many
    changed."""
    pending = conn.execute(select(detections.c.id, detections.c.capture_id).where(
        detections.c.capture_id.in_(sorted(offsets)), detections.c.source == "unknown",
        detections.c.convert_status != "converted")).all()
    for detection_id, capture_id in pending:
        conn.execute(update(detections).where(detections.c.id == detection_id).values(
            unknown_id=recording_id, title=ref, offset_seconds=max(offsets[int(capture_id)], 0.0)))
    return len(pending)


def record_late_match(conn: Connection, capture_id: int, station_id: int, started_at: datetime, track_id: int,
                      offset_seconds: float, speed: float, confidence: float, score: float) -> bool:
    """Write the local detection of a kept capture recognised again, later, as a catalog track (it had no
    match when heard); return False when the capture has one already (nothing is written twice)."""
    row = {"capture_id": capture_id, "station_id": station_id, "detected_at": started_at, "source": "local",
           **catalog_fields(conn, track_id), "offset_seconds": offset_seconds, "speed": speed,
           "confidence": confidence, "score": score, "created_at": utcnow()}
    return insert_ignore(conn, detections, [row], ["capture_id", "source"]) > 0
