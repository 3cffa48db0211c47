"""Uploaded snippets: audio files dropped into the inbox by recording devices.

Protocol.  A device (or an upload service) writes the audio file first, say
``inbox/ab12.mp3``, then its side-car ``inbox/ab12.mp3.json`` (``inbox/ab12.json`` is
accepted too)::

    {"station_ref": "joy-fm", "chunk_id": "dev7-000123", "started_at": "2026-05-18T14:59:20+00:00"}

It may add ``"title"``: what the station said it was airing while the device recorded
(the RadioText an FM receiver decodes, or the stream's ICY title), kept as a streamed
capture's stream title is (``captures.icy_title``).

The side-car is the commit marker: a file without one is never touched.  Writers
should create the side-car under a temporary name and rename it into place; as a
second guard a snippet is taken only when both files are at least
``SETTLE_SECONDS`` old (their mtime), so a file still being copied is left for the
next run.

Each snippet becomes a capture like a streamed one (source ``snippet``, key
``snippet:<chunk_id>``), exactly once per ``chunk_id``.  Then the bytes that were
heard and hashed are written to ``var/snippets/<station_ref>/<chunk_id>.<hash><ext>``
(:func:`stored_path`; the path kept in ``captures.audio_path``), and the inbox file
and its side-car are deleted: the evidence is a copy, never a link to a file that
may change.  A bad side-car, an unknown station, undecodable audio or two audio files
for one side-car move the files to ``inbox/rejected/`` with a ``<name>.reason.txt``
beside them.  A chunk already recorded is moved there too: with the reason
``duplicate_chunk`` when its audio is the recorded audio, ``chunk_conflict`` when it
is other audio under a reused ``chunk_id`` (a device whose counter was reset), which
waits for a person.

A snippet the ACRCloud fallback could not be asked about for a reason of the service
(:data:`RETRY_REASONS`: credentials refused, service down or paused) is not
recorded and stays in the inbox, to be heard again by a later run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, select

from zamio.db.engine import transaction, utcnow
from zamio.db.tables import captures, stations
from zamio.runtime.errors import ItemError
from zamio.runtime.status import SNIPPET_CONFLICT_REASON
from zamio.scanning.outcomes import Heard
from zamio.scanning.settings import MAX_SNIPPET_SECONDS
from zamio.values.instants import ImplausibleTime, NoOffset, parse_play_time

log = logging.getLogger(__name__)

SETTLE_SECONDS = 2.0  # files younger than this may still be being written
MAX_SNIPPET_BYTES = 50_000_000
MAX_SIDECAR_BYTES = 64_000
MAX_CHUNK_ID_CHARS = 200
MAX_TITLE_CHARS = 4080  # the longest ICY metadata block; RDS RadioText is 64 characters
REJECTED_DIR = "rejected"
CONFLICT_REASON = SNIPPET_CONFLICT_REASON  # zamio-status counts the snippets set aside with it
CHUNK_HASH_CHARS = 16  # of the chunk_id's SHA-256 in a stored name: names that read alike stay apart
#: Fallback outcomes where the service never answered for the snippet, because of its
#: configuration or its state: the snippet is heard again later, not recorded.
RETRY_REASONS = frozenset({"acrcloud_auth", "acrcloud_unavailable", "acrcloud_limit", "acrcloud_breaker_open"})
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")

if TYPE_CHECKING:
    from zamio.scanning.hearing import Recogniser


class BadSnippet(ItemError):
    """A snippet or its side-car cannot be used; ``reason`` says why."""

    reason = "bad_snippet"


@dataclass(frozen=True)
class Snippet:
    """A side-car found in the inbox and the audio file beside it (None if missing, or
    if several files could be it: then ``candidates`` holds them)."""

    sidecar: Path
    audio: Path | None
    candidates: tuple[Path, ...] = ()

    @property
    def name(self) -> str:
        return self.audio.name if self.audio is not None else self.sidecar.name

    @property
    def files(self) -> list[Path]:
        """Every file of the snippet in the inbox, the side-car last."""
        return [p for p in (self.audio, *self.candidates) if p is not None] + [self.sidecar]


@dataclass(frozen=True)
class Sidecar:
    station_ref: str
    chunk_id: str
    started_at: datetime
    title: str | None = None  # what the station said it aired (RadioText, ICY title), if the device read it


@dataclass(frozen=True)
class Examined:
    """A snippet after decoding and recognition, or why it is rejected or skipped."""

    snippet: Snippet
    sidecar: Sidecar | None = None
    station_id: int | None = None
    data: bytes = b""
    heard: Heard | None = None
    rejected: ItemError | None = None
    earlier: Recorded | None = None  # the capture already recorded with this chunk_id


@dataclass(frozen=True)
class Recorded:
    """The capture a chunk_id was recorded as."""

    capture_id: int
    audio_path: str | None
    audio_sha256: str | None


def find_snippets(inbox: Path, now: float | None = None) -> list[Snippet]:
    """Given the inbox folder, return its settled snippets, oldest side-car first."""
    if not inbox.is_dir():
        return []
    now = time.time() if now is None else now
    found = []
    for sidecar in inbox.glob("*.json"):
        snippet = _snippet(sidecar)
        if all(_settled(p, now) for p in snippet.files):
            found.append(snippet)
    return sorted(found, key=lambda s: (s.sidecar.stat().st_mtime, s.sidecar.name))


def _settled(path: Path, now: float) -> bool:
    try:
        return now - path.stat().st_mtime >= SETTLE_SECONDS
    except FileNotFoundError:
        return False


def _snippet(sidecar: Path) -> Snippet:
    found = audio_candidates(sidecar)
    return Snippet(sidecar, found[0]) if len(found) == 1 else Snippet(sidecar, None, tuple(found))


def audio_candidates(sidecar: Path) -> list[Path]:
    """The files that may be a side-car's audio: ``X`` alone if it exists, else every
    ``X.<extension>`` (one is the audio; several are ambiguous)."""
    stem = sidecar.with_suffix("")
    if stem.is_file():
        return [stem]
    return sorted(p for p in sidecar.parent.iterdir()
                  if p.is_file() and p != sidecar and p.suffix != ".json" and p.stem == stem.name)


def read_sidecar(path: Path) -> Sidecar:
    """Given a side-car file, return its fields; raise BadSnippet naming what is wrong.

    The file is UTF-8 JSON (a byte-order mark is allowed); a key given twice, a text field
    holding a NUL or an unpaired surrogate (which no database column holds) and a document
    nested too deeply to read are refused like any other bad side-car."""
    try:
        if path.stat().st_size > MAX_SIDECAR_BYTES:
            raise BadSnippet(f"{path.name} is larger than {MAX_SIDECAR_BYTES} bytes", "bad_sidecar")
        document = json.loads(path.read_text("utf-8-sig"), object_pairs_hook=_unique_keys)
    except (OSError, UnicodeDecodeError, ValueError) as error:  # JSONDecodeError, a number too long, a key twice
        raise BadSnippet(f"{path.name} is not a readable JSON side-car ({error})", "bad_sidecar") from None
    except RecursionError:
        raise BadSnippet(f"{path.name} is not a readable JSON side-car (it is nested too deeply)",
                         "bad_sidecar") from None
    if not isinstance(document, dict):
        raise BadSnippet(f"{path.name} must hold a JSON object", "bad_sidecar")
    station_ref, chunk_id = (_text_field(document, path, name) for name in ("station_ref", "chunk_id"))
    if len(chunk_id) > MAX_CHUNK_ID_CHARS:
        raise BadSnippet(f"{path.name}: chunk_id is longer than {MAX_CHUNK_ID_CHARS} characters", "bad_sidecar")
    return Sidecar(station_ref, chunk_id, _started_at(document, path), _title(document, path))


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """A JSON object's members as a dict; raise ValueError naming a key given twice (which one is meant?)."""
    document: dict[str, object] = {}
    for key, value in pairs:
        if key in document:
            raise ValueError(f"{key!r} is given twice; keep the one meant")
        document[key] = value
    return document


def _text_field(document: dict[str, object], path: Path, name: str) -> str:
    value = document.get(name)
    if not isinstance(value, str) or not value.strip():
        raise BadSnippet(f"{path.name}: {name} is missing or empty; the side-car needs station_ref, "
                         "chunk_id and started_at", "bad_sidecar")
    _storable(value, path, name)
    return value.strip()


def _title(document: dict[str, object], path: Path) -> str | None:
    """The optional title, stripped; None when absent or blank."""
    value = document.get("title")
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadSnippet(f"{path.name}: title must be text (what the station said it aired), or left out",
                         "bad_sidecar")
    _storable(value, path, "title")
    if len(value) > MAX_TITLE_CHARS:
        raise BadSnippet(f"{path.name}: title is longer than {MAX_TITLE_CHARS} characters", "bad_sidecar")
    return value.strip() or None


def _storable(value: str, path: Path, name: str) -> None:
    """Raise BadSnippet when a text field holds what no database column can."""
    if "\x00" in value or not _encodable(value):
        raise BadSnippet(f"{path.name}: {name} holds a NUL character or an unpaired surrogate escape (\\ud800), "
                         "which no text field can hold; write it without", "bad_sidecar")


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _started_at(document: dict[str, object], path: Path) -> datetime:
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
        station_id = conn.execute(select(stations.c.id).where(stations.c.station_ref == sidecar.station_ref)).scalar()
        earlier = recorded_chunk(conn, sidecar.chunk_id)
    if station_id is None:
        return Examined(snippet, sidecar, rejected=BadSnippet(
            f"{snippet.sidecar.name}: no station has station_ref {sidecar.station_ref!r}", "unknown_station"))
    if earlier is not None:
        return Examined(snippet, sidecar, station_id, data, earlier=earlier)
    heard = recogniser.hear(data, probe_codec(data), snippet.name, MAX_SNIPPET_SECONDS)
    if heard.outcome == "error":
        return Examined(snippet, sidecar, station_id, rejected=heard.error)
    return Examined(snippet, sidecar, station_id, data, heard)


def _read_audio(snippet: Snippet) -> bytes:
    if snippet.candidates:
        names = ", ".join(p.name for p in snippet.candidates)
        raise BadSnippet(f"{snippet.sidecar.name} could belong to any of {names}; send one audio file per "
                         "side-car", "ambiguous_audio")
    if snippet.audio is None:
        raise BadSnippet(f"{snippet.sidecar.name} has no audio file beside it (expected "
                         f"{snippet.sidecar.with_suffix('').name} or {snippet.sidecar.stem}.<ext>)", "missing_audio")
    if snippet.audio.stat().st_size > MAX_SNIPPET_BYTES:
        raise BadSnippet(f"{snippet.audio.name} is larger than {MAX_SNIPPET_BYTES} bytes", "too_large")
    return snippet.audio.read_bytes()


def recorded_chunk(conn: Connection, chunk_id: str) -> Recorded | None:
    """The capture already recorded with ``chunk_id``, if any."""
    row = conn.execute(select(captures.c.id, captures.c.audio_path, captures.c.audio_sha256)
                       .where(captures.c.chunk_id == chunk_id)).first()
    return None if row is None else Recorded(row.id, row.audio_path, row.audio_sha256)


def same_audio(earlier: Recorded, data: bytes) -> bool:
    """Whether ``data`` is the audio ``earlier`` was recorded with (a capture without a hash cannot tell)."""
    return earlier.audio_sha256 is None or earlier.audio_sha256 == hashlib.sha256(data).hexdigest()


def unfinished_path(earlier: Recorded) -> Path | None:
    """Where a recorded capture's audio should be kept but is not: a run stopped before storing it."""
    if not earlier.audio_path or Path(earlier.audio_path).exists():
        return None
    return Path(earlier.audio_path)


def copy_of_recorded(sidecar: Sidecar, earlier: Recorded, data: bytes) -> BadSnippet:
    """Why a snippet whose chunk_id is recorded already is set aside: a copy, or a conflict."""
    if same_audio(earlier, data):
        return BadSnippet(f"chunk_id {sidecar.chunk_id!r} was already recorded as capture "
                          f"{earlier.capture_id}; this copy is set aside", "duplicate_chunk")
    return BadSnippet(f"chunk_id {sidecar.chunk_id!r} was already recorded as capture {earlier.capture_id} "
                      f"with other audio (sha256 {earlier.audio_sha256}, this file's is "
                      f"{hashlib.sha256(data).hexdigest()}); the device reused the chunk_id (a counter reset?): "
                      "check which recording is right and send this one again under a new chunk_id",
                      CONFLICT_REASON)


def retry_later(heard: Heard) -> bool:
    """Whether the fallback could not be asked about this snippet for a reason of the service."""
    return heard.error is not None and heard.error.reason in RETRY_REASONS


def stored_path(snippets_dir: Path, sidecar: Sidecar, audio: Path) -> Path:
    """Where a recorded snippet's audio is kept: ``<snippets_dir>/<station>/<chunk_id>.<hash><ext>``.

    The chunk_id is made safe for a file name, so ``dev/9`` and ``dev_9`` read alike;
    the start of the chunk_id's SHA-256 keeps their files apart."""
    digest = hashlib.sha256(sidecar.chunk_id.encode("utf-8")).hexdigest()[:CHUNK_HASH_CHARS]
    return snippets_dir / _safe(sidecar.station_ref) / f"{_safe(sidecar.chunk_id)}.{digest}{audio.suffix.lower()}"


def _safe(text: str) -> str:
    return _UNSAFE.sub("_", text).strip("._") or "_"


def file_away(snippet: Snippet, target: Path, data: bytes) -> None:
    """Keep ``data``, the audio read, hashed and heard, at ``target``; then delete the
    snippet's files from the inbox.

    The bytes are written rather than the file moved: an inbox file given as a symlink
    (or changed since it was read) must not become, or alter, the evidence."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    try:
        with open(partial, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, target)
    except BaseException:  # a full disk, or a run told to stop at once: no half-written file is left
        partial.unlink(missing_ok=True)
        raise
    for path in snippet.files:
        path.unlink(missing_ok=True)  # a symlink goes, never the file it points to


def reject(snippet: Snippet, error: ItemError) -> Path:
    """Move a snippet's files to ``inbox/rejected/`` with ``<name>.reason.txt``; return that folder."""
    folder = snippet.sidecar.parent / REJECTED_DIR
    folder.mkdir(exist_ok=True)
    suffix = "" if not (folder / snippet.sidecar.name).exists() else f".{int(time.time() * 1000)}"
    for path in snippet.files:
        if path.exists() or path.is_symlink():
            shutil.move(path, folder / (path.name + suffix))
    note = folder / f"{snippet.sidecar.with_suffix('').name}{suffix}.reason.txt"
    note.write_text(f"{error.reason}\n{error}\n", "utf-8")
    log.warning("snippet %s rejected (%s): %s", snippet.name, error.reason, error)
    return folder

