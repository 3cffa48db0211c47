"""Uploaded snippets in the inbox: recorded once by chunk id, bad ones set aside with a reason."""

from __future__ import annotations

import hashlib
import os
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from tests.scan_helpers import (  # noqa: F401
    CATALOG_SEEDS,
    add_station,
    captures_by_station,
    catalog_prints,
    drop,
    rows,
    scan,
    scan_audio,
    seed_catalog,
)
from zamio.db.tables import detections
from zamio.scanning.snippets import SETTLE_SECONDS

A = CATALOG_SEEDS[0]


def test_snippets_are_recorded_once_and_bad_ones_rejected(project, scan_audio, catalog_prints):
    track_ids = seed_catalog(project, catalog_prints)
    add_station(project, "joy", "http://127.0.0.1:9/unused")
    inbox = project.var_dir / "inbox"
    good = {"station_ref": "joy", "chunk_id": "dev7-000123", "started_at": "2026-05-18T14:59:20+02:00"}
    drop(inbox, "good.mp3", scan_audio.mp3(A), good)
    drop(inbox, "bad.mp3", scan_audio.mp3(A), {"station_ref": "joy", "started_at": "2026-05-18T14:59:20Z"},
         sidecar_name="bad.json")
    drop(inbox, "naive.mp3", scan_audio.mp3(A), {**good, "chunk_id": "c2", "started_at": "2026-05-18T14:59:20"})
    drop(inbox, "page.html", b"<html><body>not audio</body></html>", {**good, "chunk_id": "c3"})
    drop(inbox, "elsewhere.mp3", scan_audio.mp3(A), {**good, "chunk_id": "c4", "station_ref": "nope"})
    drop(inbox, "fresh.mp3", scan_audio.mp3(A), {**good, "chunk_id": "c5"}, settled=False)
    drop(inbox, "reset.mp3", scan_audio.mp3(A), {**good, "chunk_id": "c6", "started_at": "1970-01-01T00:00:00+01:00"})

    result = scan(project, "--only", "snippets")
    assert result.returncode == 1, result.stderr  # five rejected snippets are item failures
    (capture,) = captures_by_station(project)["joy"]
    assert capture.source == "snippet" and capture.capture_key == "snippet:dev7-000123"
    assert capture.chunk_id == "dev7-000123" and capture.outcome == "match"
    assert capture.started_at == datetime(2026, 5, 18, 12, 59, 20, tzinfo=UTC)
    stored = Path(capture.audio_path)
    chunk_hash = hashlib.sha256(b"dev7-000123").hexdigest()[:16]
    assert stored == project.var_dir / "snippets" / "joy" / f"dev7-000123.{chunk_hash}.mp3"
    assert stored.read_bytes() == scan_audio.mp3(A)
    (detection,) = rows(project, select(detections))
    assert detection.track_id == track_ids[A] and detection.detected_at == capture.started_at
    assert sorted(p.name for p in inbox.iterdir() if p.is_file()) == ["fresh.mp3", "fresh.mp3.json"]
    rejected = inbox / "rejected"
    reasons = {p.name: p.read_text().splitlines()[0] for p in rejected.glob("*.reason.txt")}
    assert reasons == {"bad.reason.txt": "bad_sidecar", "naive.mp3.reason.txt": "bad_sidecar",
                       "page.html.reason.txt": "not_audio", "elsewhere.mp3.reason.txt": "unknown_station",
                       "reset.mp3.reason.txt": "bad_sidecar"}
    assert (rejected / "bad.mp3").exists() and (rejected / "bad.json").exists()
    assert "no UTC offset" in (rejected / "naive.mp3.reason.txt").read_text()
    # A device clock reset to 1970 in its own zone: before 1970 in UTC, no play can have that time.
    assert ("started_at '1970-01-01T00:00:00+01:00' is outside the accepted range 1970-01-01T00:00:00Z to "
            in (rejected / "reset.mp3.reason.txt").read_text())

    drop(inbox, "again.mp3", scan_audio.mp3(A), good)  # the device uploads the same chunk again
    past = time.time() - SETTLE_SECONDS - 5  # and the fresh snippet has finished arriving meanwhile
    for name in ("fresh.mp3", "fresh.mp3.json"):
        os.utime(inbox / name, (past, past))
    again = scan(project, "--only", "snippets")
    assert again.returncode == 0, again.stderr
    chunks = sorted(c.chunk_id for c in captures_by_station(project)["joy"])
    assert chunks == ["c5", "dev7-000123"]  # the settled snippet is recorded; the copy is not
    assert (rejected / "again.mp3.reason.txt").read_text().startswith("duplicate_chunk")
