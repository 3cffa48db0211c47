"""Unknown recordings named or merged: the unknown index's side of ``bin/identify-unknown`` (and of the
merges the scan's filing makes, ``zamio.playlogs.identify.merge_same_song``).

An unknown recording (``zamio.recognition.unknown``) is *resolved* once a person has said what
it is: **named** (the catalog track it turned out to be, ``track_id``) or **merged** (another
unknown recording of the same song, ``merged_into_id``).  Both are final: a resolved
recording is never named or merged again.

Naming measures where the recording's own time lies in the track (``track_offset_seconds``):
the recording's prints kept in the unknown index are aligned with the track's audio
fingerprinted the same way (``alignment``).  A capture the scan still files into the named
recording (its prints stay in the index) is then placed in the track, and its detection names
the track (``zamio.scanning.records.file_unknown``), never a new ``U-``.

Naming also finds the captures that lie outside the track so placed (``captures_outside``) and moves them to
a recording of their own first (``split_off``): audio of another song that filing joined to the recording.

Merging moves the merged recording's captures, and with them their prints, to the surviving
recording, their offsets moved into its time when the two recordings share audio; a capture
that matches them later joins the survivor.  The plays and the money are the play logs'
concern (``zamio.playlogs.identify``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import Connection, delete, select, update

from zamio.db.engine import StoredRow
from zamio.db.tables import captures, unknown_captures, unknown_prints, unknown_recordings
from zamio.recognition.fingerprint import FRAME_SECONDS, Fingerprint
from zamio.recognition.unknown import next_ref, unknown_ref
from zamio.recognition.votes import best_vote
from zamio.runtime.errors import DataError

_REF = re.compile(r"^\s*[Uu]-?0*(\d{1,9})\s*$")
#: The stored rows of a track's prints are voted as one capture of this id (no capture has it).
TRACK_AS_CAPTURE = 0
#: A capture joins a recording on at least ``votes.MIN_ALIGNED`` hashes, about 2 s of shared audio: placed in
#: the track the recording is named as, a capture of that track overlaps it by that much.  One overlapping it by
#: less lies outside the track: other audio that filing joined to the recording (two songs aired back to back
#: with the same gap on every airing are one song to sequence evidence, ``zamio.recognition.sequence``).
INSIDE_TRACK_SECONDS = 1.0


class NamingRefused(DataError):
    """An unknown recording cannot be named or merged as asked; nothing was changed."""


@dataclass(frozen=True)
class Recording:
    """An unknown recording as ``bin/identify-unknown`` reads it."""

    id: int
    ref: str
    first_heard_at: datetime
    last_heard_at: datetime
    track_id: int | None
    merged_into_id: int | None
    resolved_at: datetime | None
    resolved_by: str | None


@dataclass(frozen=True)
class Alignment:
    """Where one recording's time lies in another's (or a track's): ``offset_seconds`` is the
    other's time at this recording's time 0, the median over the ``aligned`` captures that
    align, of ``captures`` with prints."""

    offset_seconds: float
    aligned: int
    captures: int


def parse_ref(text: str) -> int:
    """Given an unknown recording's reference as typed (``U-000123``, ``u-123``), return its number;
    raise NamingRefused naming the text otherwise."""
    found = _REF.match(text)
    if found is None or int(found.group(1)) == 0:
        raise NamingRefused(
            f"{text!r} is not an unknown recording's reference: write it as bin/suspense-report shows it (U-000123)"
        )
    return int(found.group(1))


def find(conn: Connection, text: str, *, lock: bool = False) -> Recording:
    """Given a reference as typed, return the recording; raise NamingRefused when there is none.
    ``lock``: hold the row against other writers until the transaction ends (PostgreSQL)."""
    ref = unknown_ref(parse_ref(text))
    query = select(unknown_recordings).where(unknown_recordings.c.unknown_ref == ref)
    if lock and conn.dialect.name != "sqlite":
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        raise NamingRefused(f"there is no unknown recording {ref}; bin/suspense-report lists those holding money")
    return _recording(row)


def _recording(row: StoredRow) -> Recording:
    return Recording(
        int(row.id),
        row.unknown_ref,
        row.first_heard_at,
        row.last_heard_at,
        row.track_id,
        row.merged_into_id,
        row.resolved_at,
        row.resolved_by,
    )


def ref_of(conn: Connection, recording_id: int) -> str:
    """The ``U-`` reference of a recording by id."""
    return str(
        conn.execute(
            select(unknown_recordings.c.unknown_ref).where(unknown_recordings.c.id == recording_id)
        ).scalar_one()
    )


def resolution(conn: Connection, recording: Recording, track_ref: str | None) -> str | None:
    """What a resolved recording was resolved as, in words (``named GH-001 by ama at ...``); None if open.
    ``track_ref`` is the reference of its track when it was named."""
    if recording.resolved_at is None:
        return None
    when = f"by {recording.resolved_by} at {recording.resolved_at:%Y-%m-%d %H:%M:%S} UTC"
    if recording.merged_into_id is not None:
        return f"merged into {ref_of(conn, recording.merged_into_id)} {when}"
    return f"named as track {track_ref} {when}"


def prints_by_capture(conn: Connection, recording_id: int) -> dict[int, tuple[np.ndarray, np.ndarray, float]]:
    """The prints the unknown index keeps of a recording's captures: capture id -> (hashes, frames,
    the capture's start in the recording's time, seconds)."""
    query = (
        select(
            unknown_prints.c.capture_id,
            unknown_prints.c.hash,
            unknown_prints.c.frame,
            unknown_captures.c.offset_seconds,
        )
        .join(unknown_captures, unknown_captures.c.capture_id == unknown_prints.c.capture_id)
        .where(unknown_captures.c.unknown_id == recording_id)
        .order_by(unknown_prints.c.capture_id, unknown_prints.c.frame)
    )
    rows: dict[int, list[tuple[int, int]]] = {}
    offsets: dict[int, float] = {}
    for capture_id, hash_, frame, offset in conn.execute(query):
        rows.setdefault(int(capture_id), []).append((int(hash_), int(frame)))
        offsets[int(capture_id)] = float(offset or 0.0)
    return {
        capture_id: (
            np.array([h for h, _ in pairs], np.int64),
            np.array([f for _, f in pairs], np.int64),
            offsets[capture_id],
        )
        for capture_id, pairs in rows.items()
    }


def alignment(
    recording: dict[int, tuple[np.ndarray, np.ndarray, float]],
    stored: tuple[np.ndarray, np.ndarray, np.ndarray],
    stored_offsets: dict[int, float],
) -> Alignment | None:
    """Given a recording's prints by capture (``prints_by_capture``), the stored rows (hash, capture,
    frame) of what it is compared with and the start of each of those captures in their own
    time (seconds; a track's prints: one capture at 0), return where the recording's time 0 lies
    in that time, or None when no capture of the recording aligns (``votes.best_vote``)."""
    found: list[float] = []
    for hashes, frames, offset in recording.values():
        vote = best_vote(hashes, frames, stored, {})
        if vote is not None:
            found.append(stored_offsets[vote.capture_id] + vote.offset_frames * FRAME_SECONDS - offset)
    if not found:
        return None
    return Alignment(round(float(np.median(found)), 3), len(found), len(recording))


def track_alignment(recording: dict[int, tuple[np.ndarray, np.ndarray, float]], track: Fingerprint) -> Alignment | None:
    """Where the recording's time 0 lies in a track, given the track's audio fingerprinted as the unknown
    index's (``zamio.recognition.unknown.prints``)."""
    hashes = np.asarray(track.hashes, np.int64)
    stored = (hashes, np.full(hashes.size, TRACK_AS_CAPTURE, np.int64), np.asarray(track.offsets, np.int64))
    return alignment(recording, stored, {TRACK_AS_CAPTURE: 0.0})


def recording_alignment(conn: Connection, merged_id: int, survivor_id: int) -> Alignment | None:
    """Where the merged recording's time 0 lies in the survivor's, when they share audio."""
    survivor = prints_by_capture(conn, survivor_id)
    if not survivor:
        return None
    stored = (
        np.concatenate([h for h, _, _ in survivor.values()]),
        np.concatenate([np.full(h.size, c, np.int64) for c, (h, _, _) in survivor.items()]),
        np.concatenate([f for _, f, _ in survivor.values()]),
    )
    return alignment(prints_by_capture(conn, merged_id), stored, {c: o for c, (_, _, o) in survivor.items()})


def mark_named(
    conn: Connection,
    recording_id: int,
    track_id: int,
    offset_seconds: float | None,
    actor: str,
    audit_id: int,
    now: datetime,
) -> None:
    """Record that the recording is the track (its time ``offset_seconds`` into it)."""
    conn.execute(
        update(unknown_recordings)
        .where(unknown_recordings.c.id == recording_id)
        .values(
            track_id=track_id,
            track_offset_seconds=offset_seconds,
            resolved_at=now,
            resolved_by=actor,
            resolved_audit_id=audit_id,
            catalog_suggestion=None,
        )
    )


def outside_track(start_in_track: float, seconds: float, track_seconds: float) -> bool:
    """Whether a capture starting ``start_in_track`` seconds into a track of ``track_seconds`` lies outside it
    (see ``INSIDE_TRACK_SECONDS``)."""
    inside = min(start_in_track + seconds, track_seconds) - max(start_in_track, 0.0)
    return inside < INSIDE_TRACK_SECONDS


def captures_outside(conn: Connection, recording_id: int, track_offset: float, track_seconds: float,
                     across: frozenset[str] = frozenset()) -> tuple[list[int], int]:
    """The recording's captures that lie outside the track once its time 0 is placed ``track_offset`` seconds into
    it, or mostly beyond one of the edges ``across`` (``start``, ``end``: where another song was heard across it),
    in the order heard, and how many captures it holds."""
    members = conn.execute(
        select(unknown_captures.c.capture_id, unknown_captures.c.offset_seconds, unknown_captures.c.seconds)
        .where(unknown_captures.c.unknown_id == recording_id)
        .order_by(unknown_captures.c.started_at, unknown_captures.c.capture_id)
    ).all()
    outside = [int(capture_id) for capture_id, offset, seconds in members
               if _beyond(float(offset or 0.0) + track_offset, float(seconds), track_seconds, across)]
    return outside, len(members)


def _beyond(start_in_track: float, seconds: float, track_seconds: float, across: frozenset[str]) -> bool:
    middle = start_in_track + seconds / 2
    return (outside_track(start_in_track, seconds, track_seconds) or ("start" in across and middle < 0)
            or ("end" in across and middle > track_seconds))


def split_off(conn: Connection, recording_id: int, capture_ids: list[int],
              now: datetime) -> tuple[int, str, dict[int, float]]:
    """Move these captures of the recording (and so their prints) to a new unknown recording whose time starts at
    the first second they hold; return its id, its reference and each moved capture's start in its time.  Both
    recordings' first and last time heard, span and excerpt are then read from the captures each holds."""
    moved = conn.execute(select(unknown_captures.c.capture_id, unknown_captures.c.offset_seconds)
                         .where(unknown_captures.c.capture_id.in_(capture_ids))).all()
    base = min(float(offset or 0.0) for _, offset in moved)
    ref = next_ref(conn)
    primary = conn.execute(unknown_recordings.insert().values(
        unknown_ref=ref, first_heard_at=now, last_heard_at=now, span_from=0.0, span_to=0.0, created_at=now
    )).inserted_primary_key
    assert primary is not None
    new_id = int(primary[0])
    offsets = {int(capture_id): round(float(offset or 0.0) - base, 3) for capture_id, offset in moved}
    for capture_id, offset in offsets.items():
        conn.execute(update(unknown_captures).where(unknown_captures.c.capture_id == capture_id)
                     .values(unknown_id=new_id, offset_seconds=offset))
    _read_from_members(conn, new_id)
    _read_from_members(conn, recording_id)
    return new_id, ref, offsets


def _read_from_members(conn: Connection, recording_id: int) -> None:
    """Set the recording's first and last time heard, span, stream title and excerpt from the captures it holds."""
    rows = conn.execute(
        select(unknown_captures.c.started_at, unknown_captures.c.offset_seconds, unknown_captures.c.seconds,
               captures.c.icy_title, captures.c.audio_path, captures.c.audio_host)
        .join(captures, captures.c.id == unknown_captures.c.capture_id)
        .where(unknown_captures.c.unknown_id == recording_id)
        .order_by(unknown_captures.c.started_at, unknown_captures.c.capture_id)
    ).all()
    excerpt = next((r for r in rows if r.audio_path), None)
    conn.execute(update(unknown_recordings).where(unknown_recordings.c.id == recording_id).values(
        first_heard_at=rows[0].started_at, last_heard_at=rows[-1].started_at,
        span_from=round(min(float(r.offset_seconds or 0.0) for r in rows), 3),
        span_to=round(max(float(r.offset_seconds or 0.0) + float(r.seconds) for r in rows), 3),
        icy_title=next((r.icy_title for r in rows if r.icy_title), None),
        excerpt_path=excerpt.audio_path if excerpt else None, excerpt_host=excerpt.audio_host if excerpt else None))


def mark_checked(conn: Connection, recording_id: int, up_to: datetime, suggestion: str | None = None) -> None:
    """Record that the recording was checked against the fingerprint sets created up to ``up_to``
    (``zamio.playlogs.catalog_naming``), with what the catalog suggests for it if it was left open (JSON),
    replacing the last check's; an open recording's only: a recording resolved meanwhile keeps none."""
    conn.execute(update(unknown_recordings).where(unknown_recordings.c.id == recording_id)
                 .values(catalog_checked_at=up_to))
    conn.execute(update(unknown_recordings)
                 .where(unknown_recordings.c.id == recording_id, unknown_recordings.c.resolved_at.is_(None))
                 .values(catalog_suggestion=suggestion))


def forget_prints(conn: Connection, recording_id: int) -> int:
    """Take a named recording's prints out of the unknown index (its audio did not align with the
    track's: the catalog's matcher, which tries other speeds, hears the song from now on); return
    how many rows went."""
    members = select(unknown_captures.c.capture_id).where(unknown_captures.c.unknown_id == recording_id)
    result = conn.execute(delete(unknown_prints).where(unknown_prints.c.capture_id.in_(members)))
    return max(result.rowcount, 0)


def merge(
    conn: Connection, merged_id: int, survivor_id: int, shift_seconds: float, actor: str, audit_id: int, now: datetime
) -> int:
    """Move the merged recording's captures (and so their prints) to the survivor, their offsets moved
    ``shift_seconds`` into its time, widen the survivor's hearing and span, and record the merge;
    return how many captures moved."""
    merged = conn.execute(select(unknown_recordings).where(unknown_recordings.c.id == merged_id)).one()
    members = conn.execute(
        select(unknown_captures.c.capture_id, unknown_captures.c.offset_seconds).where(
            unknown_captures.c.unknown_id == merged_id
        )
    ).all()
    for capture_id, offset in members:
        conn.execute(
            update(unknown_captures)
            .where(unknown_captures.c.capture_id == capture_id)
            .values(unknown_id=survivor_id, offset_seconds=round(float(offset or 0.0) + shift_seconds, 3))
        )
    survivor = conn.execute(select(unknown_recordings).where(unknown_recordings.c.id == survivor_id)).one()
    conn.execute(
        update(unknown_recordings)
        .where(unknown_recordings.c.id == survivor_id)
        .values(
            first_heard_at=min(survivor.first_heard_at, merged.first_heard_at),
            last_heard_at=max(survivor.last_heard_at, merged.last_heard_at),
            span_from=round(min(survivor.span_from, merged.span_from + shift_seconds), 3),
            span_to=round(max(survivor.span_to, merged.span_to + shift_seconds), 3),
            icy_title=survivor.icy_title or merged.icy_title,
            excerpt_path=survivor.excerpt_path or merged.excerpt_path,
            excerpt_host=survivor.excerpt_host if survivor.excerpt_path else merged.excerpt_host,
        )
    )
    conn.execute(
        update(unknown_recordings)
        .where(unknown_recordings.c.id == merged_id)
        .values(merged_into_id=survivor_id, resolved_at=now, resolved_by=actor, resolved_audit_id=audit_id,
                catalog_suggestion=None)
    )
    return len(members)
