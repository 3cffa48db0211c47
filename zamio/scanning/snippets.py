"""Uploaded snippets: audio files dropped into the inbox by recording devices.

Protocol.  A device (or an upload service) writes the audio file first, say
``inbox/ab12.mp3``, then its side-car ``inbox/ab12.mp3.json`` (``inbox/ab12.json`` is
accepted too)::

    {"station_ref": "joy-fm", "chunk_id": "dev7-000123", "started_at": "2026-05-18T14:59:20+00:00"}

The side-car is the commit marker: a file without one is never touched.  Writers
should create the side-car under a temporary name and rename it into place; as a
second guard a snippet is taken only when both files are at least
``SETTLE_SECONDS`` old (their mtime), so a file still being copied is left for the
next run.

Each snippet becomes a capture like a streamed one (source ``snippet``, key
``snippet:<chunk_id>``), exactly once per ``chunk_id``.  Then the audio moves to
``var/snippets/<station_ref>/<chunk_id>.<ext>`` (its path kept in
``captures.audio_path``) and the side-car is deleted.  A bad side-car, an unknown
station or undecodable audio moves both files to ``inbox/rejected/`` with a
``<name>.reason.txt`` beside them; a chunk already recorded is moved there too with
the reason ``duplicate_chunk``.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, Row, select

from zamio.db.engine import transaction, utcnow
from zamio.db.tables import captures, stations
from zamio.runtime.errors import ItemError
from zamio.scanning.outcomes import Heard
from zamio.scanning.settings import MAX_SNIPPET_SECONDS
from zamio.values.instants import ImplausibleTime, NoOffset, parse_play_time

log = logging.getLogger(__name__)

SETTLE_SECONDS = 2.0  # files younger than this may still be being written
MAX_SNIPPET_BYTES = 50_000_000
MAX_SIDECAR_BYTES = 64_000
MAX_CHUNK_ID_CHARS = 200
REJECTED_DIR = "rejected"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")

if TYPE_CHECKING:
    from zamio.scanning.hearing import Recogniser


class BadSnippet(ItemError):
    """A snippet or its side-car cannot be used; ``reason`` says why."""

    reason = "bad_snippet"


@dataclass(frozen=True)
class Snippet:
    """A side-car found in the inbox and the audio file beside it (None if missing)."""

    sidecar: Path
    audio: Path | None

    @property
    def name(self) -> str:
        return self.audio.name if self.audio is not None else self.sidecar.name


@dataclass(frozen=True)
class Sidecar:
    station_ref: str
    chunk_id: str
    started_at: datetime


@dataclass(frozen=True)
class Examined:
    """A snippet after decoding and recognition, or why it is rejected or skipped."""

    snippet: Snippet
    sidecar: Sidecar | None = None
    station_id: int | None = None
    data: bytes = b""
    heard: Heard | None = None
    rejected: ItemError | None = None
    duplicate_of: int | None = None
    duplicate_path: Path | None = None  # where a recorded copy's audio should be but is not yet


def find_snippets(inbox: Path, now: float | None = None) -> list[Snippet]:
    """Given the inbox folder, return its settled snippets, oldest side-car first."""
    if not inbox.is_dir():
        return []
    now = time.time() if now is None else now
    found = []
    for sidecar in inbox.glob("*.json"):
        audio = audio_for(sidecar)
        if all(_settled(p, now) for p in (sidecar, audio) if p is not None):
            found.append(Snippet(sidecar, audio))
    return sorted(found, key=lambda s: (s.sidecar.stat().st_mtime, s.sidecar.name))


def _settled(path: Path, now: float) -> bool:
    try:
        return now - path.stat().st_mtime >= SETTLE_SECONDS
    except FileNotFoundError:
        return False


def audio_for(sidecar: Path) -> Path | None:
    """The audio file of a side-car: ``X.json`` names ``X`` if it exists, else the one
    other file whose name is ``X.<extension>``."""
    stem = sidecar.with_suffix("")
    if stem.is_file():
        return stem
    others = [p for p in sidecar.parent.iterdir()
              if p.is_file() and p != sidecar and p.suffix != ".json" and p.stem == stem.name]
    return others[0] if len(others) == 1 else None


def read_sidecar(path: Path) -> Sidecar:
    """Given a side-car file, return its fields; raise BadSnippet naming what is wrong."""
    try:
        if path.stat().st_size > MAX_SIDECAR_BYTES:
            raise BadSnippet(f"{path.name} is larger than {MAX_SIDECAR_BYTES} bytes", "bad_sidecar")
        document = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BadSnippet(f"{path.name} is not a readable JSON side-car ({error})", "bad_sidecar") from None
    if not isinstance(document, dict):
        raise BadSnippet(f"{path.name} must hold a JSON object", "bad_sidecar")
    station_ref, chunk_id = (_text_field(document, path, name) for name in ("station_ref", "chunk_id"))
    if len(chunk_id) > MAX_CHUNK_ID_CHARS:
        raise BadSnippet(f"{path.name}: chunk_id is longer than {MAX_CHUNK_ID_CHARS} characters", "bad_sidecar")
    return Sidecar(station_ref, chunk_id, _started_at(document, path))


def _text_field(document: dict, path: Path, name: str) -> str:
    value = document.get(name)
    if not isinstance(value, str) or not value.strip():
        raise BadSnippet(f"{path.name}: {name} is missing or empty; the side-car needs station_ref, "
                         "chunk_id and started_at", "bad_sidecar")
    return value.strip()


def _started_at(document: dict, path: Path) -> datetime:
    raw = _text_field(document, path, "started_at")
    try:
        return parse_play_time(raw, utcnow())
    except NoOffset:
        raise BadSnippet(f"{path.name}: started_at {raw!r} has no UTC offset; write it like "
                         "2026-05-18T14:59:20+00:00", "bad_sidecar") from None
    except ImplausibleTime as error:  # a device clock reset to 1970 or set years ahead
        raise BadSnippet(f"{path.name}: started_at {raw!r} {error}", "bad_sidecar") from None
    except ValueError:
        raise BadSnippet(f"{path.name}: started_at {raw!r} is not an ISO 8601 time", "bad_sidecar") from None


def examine(snippet: Snippet, engine: Engine, recogniser: Recogniser) -> Examined:
    """Read, check, decode and recognise one snippet (in a worker thread); write nothing."""
    from zamio.recognition.audio import probe_codec

    try:
        sidecar = read_sidecar(snippet.sidecar)
        data = _read_audio(snippet)
    except ItemError as bad:
        return Examined(snippet, rejected=bad)
    with transaction(engine, read_only=True) as conn:
        station_id, duplicate = _station_and_duplicate(conn, sidecar)
    if station_id is None:
        return Examined(snippet, sidecar, rejected=BadSnippet(
            f"{snippet.sidecar.name}: no station has station_ref {sidecar.station_ref!r}", "unknown_station"))
    if duplicate is not None:
        unfinished = Path(duplicate.audio_path) if duplicate.audio_path else None
        if unfinished is not None and unfinished.exists():
            unfinished = None
        return Examined(snippet, sidecar, station_id, duplicate_of=duplicate.id, duplicate_path=unfinished)
    heard = recogniser.hear(data, probe_codec(data), snippet.name, MAX_SNIPPET_SECONDS)
    if heard.outcome == "error":
        return Examined(snippet, sidecar, station_id, rejected=heard.error)
    return Examined(snippet, sidecar, station_id, data, heard)


def _read_audio(snippet: Snippet) -> bytes:
    if snippet.audio is None:
        raise BadSnippet(f"{snippet.sidecar.name} has no audio file beside it (expected "
                         f"{snippet.sidecar.with_suffix('').name} or {snippet.sidecar.stem}.<ext>)", "missing_audio")
    if snippet.audio.stat().st_size > MAX_SNIPPET_BYTES:
        raise BadSnippet(f"{snippet.audio.name} is larger than {MAX_SNIPPET_BYTES} bytes", "too_large")
    return snippet.audio.read_bytes()


def _station_and_duplicate(conn: Connection, sidecar: Sidecar) -> tuple[int | None, Row[*tuple[Any, ...]] | None]:
    station_id = conn.execute(select(stations.c.id).where(stations.c.station_ref == sidecar.station_ref)).scalar()
    duplicate = conn.execute(select(captures.c.id, captures.c.audio_path)
                             .where(captures.c.chunk_id == sidecar.chunk_id)).first()
    return station_id, duplicate


def stored_path(snippets_dir: Path, sidecar: Sidecar, audio: Path) -> Path:
    """Where a recorded snippet's audio is kept: ``<snippets_dir>/<station>/<chunk_id><ext>``."""
    return snippets_dir / _safe(sidecar.station_ref) / (_safe(sidecar.chunk_id) + audio.suffix.lower())


def _safe(text: str) -> str:
    return _UNSAFE.sub("_", text).strip("._") or "_"


def file_away(snippet: Snippet, target: Path) -> None:
    """Move a recorded snippet's audio to ``target`` and delete its side-car."""
    if snippet.audio is not None and snippet.audio.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(snippet.audio, target)
    snippet.sidecar.unlink(missing_ok=True)


def reject(snippet: Snippet, error: ItemError) -> Path:
    """Move a snippet's files to ``inbox/rejected/`` with ``<name>.reason.txt``; return that folder."""
    folder = snippet.sidecar.parent / REJECTED_DIR
    folder.mkdir(exist_ok=True)
    suffix = "" if not (folder / snippet.sidecar.name).exists() else f".{int(time.time() * 1000)}"
    for path in (snippet.audio, snippet.sidecar):
        if path is not None and path.exists():
            shutil.move(path, folder / (path.name + suffix))
    note = folder / f"{snippet.sidecar.with_suffix('').name}{suffix}.reason.txt"
    note.write_text(f"{error.reason}\n{error}\n", "utf-8")
    log.warning("snippet %s rejected (%s): %s", snippet.name, error.reason, error)
    return folder

