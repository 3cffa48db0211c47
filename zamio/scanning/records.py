"""Writing what a scan heard: one ``captures`` row per capture and its ``detections`` row.

Both writes are idempotent: a capture is keyed by ``capture_key`` (``link:<id>:<start>``
or ``snippet:<chunk id>``) and a detection by (capture, source), so a run killed and
repeated never records a capture twice.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from zamio.db import insert_ignore, utcnow
from zamio.scanning.fallback import detection_fields
from zamio.scanning.outcomes import Heard
from zamio.tables import captures, detections, tracks

ERROR_MESSAGE_MAX_CHARS = 2000


@dataclass(frozen=True)
class CaptureFacts:
    """Where a capture came from and what was read; times are aware UTC."""

    station_id: int
    source: str  # stream | snippet
    started_at: datetime
    audio: bytes
    stream_link_id: int | None = None
    chunk_id: str | None = None
    url_used: str | None = None
    codec: str | None = None
    icy_title: str | None = None
    audio_path: str | None = None
    seconds: float | None = None
    burst_seconds: float | None = None  # started_at is this much before the first byte arrived

    @property
    def capture_key(self) -> str:
        if self.chunk_id is not None:
            return f"snippet:{self.chunk_id}"
        return f"link:{self.stream_link_id}:{self.started_at.isoformat()}"


def record_capture(conn: Connection, facts: CaptureFacts, heard: Heard) -> tuple[int, bool]:
    """Write the capture and its detection, if any; return (capture id, detection written)."""
    row = capture_row(facts, heard)
    insert_ignore(conn, captures, [row], ["capture_key"])
    capture_id = conn.execute(select(captures.c.id).where(captures.c.capture_key == row["capture_key"])).scalar_one()
    detection = detection_row(conn, capture_id, facts, heard)
    written = bool(detection) and insert_ignore(conn, detections, [detection], ["capture_id", "source"]) > 0
    return capture_id, written


def capture_row(facts: CaptureFacts, heard: Heard) -> dict[str, Any]:
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
        "audio_sha256": hashlib.sha256(facts.audio).hexdigest() if facts.audio else None,
        "audio_path": facts.audio_path,
        "icy_title": facts.icy_title,
        "burst_seconds": facts.burst_seconds,
        "outcome": heard.outcome,
        "error_reason": error.reason if error is not None else None,
        "error_message": str(error)[:ERROR_MESSAGE_MAX_CHARS] if error is not None else None,
        "created_at": utcnow(),
    }


def detection_row(conn: Connection, capture_id: int, facts: CaptureFacts, heard: Heard) -> dict[str, Any] | None:
    """The ``detections`` row of a matched capture, or None when nothing was recognised."""
    if heard.outcome != "match":
        return None
    base = {"capture_id": capture_id, "station_id": facts.station_id, "detected_at": facts.started_at,
            "created_at": utcnow()}
    if heard.local is not None:
        found = heard.local
        return {**base, "source": "local", "track_id": int(found.track_id),
                "offset_seconds": float(found.offset_seconds), "speed": float(found.speed),
                "confidence": float(found.confidence), "score": float(found.score)}
    assert heard.acr is not None
    fields = detection_fields(heard.acr)
    return {**base, "source": "acrcloud", "track_id": track_by_isrc(conn, fields["isrc"]), **fields}


def track_by_isrc(conn: Connection, isrc: str | None) -> int | None:
    """The catalog track with this ISRC when exactly one active track has it, else None."""
    if not isrc:
        return None
    ids = conn.execute(select(tracks.c.id).where(tracks.c.isrc == isrc, tracks.c.active).limit(2)).scalars().all()
    return ids[0] if len(ids) == 1 else None
