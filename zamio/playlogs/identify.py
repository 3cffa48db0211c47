"""Naming an unknown recording as a catalog track, or merging two (``bin/identify-unknown``).

An unknown recording's plays are held whole in suspense ``unidentified:U-000001``
(*Royalties*).  When a person finds out what the song is and it is in the catalog, naming
the recording, in one transaction:

* first splits off the captures that lie outside the track where the recording's audio places them in
  it (:func:`split_outside`: another song filing joined to it, two songs aired back to back on every
  airing being one song to sequence evidence): a new unknown recording takes them, with their part of
  each play, still held; the track's parties are paid for the track's airings only;
* moves each of its current plays to the track by correction (``reassign``, a new version of
  the play with its own ``play.reassign`` audit entry, ``zamio.playlogs.corrections``), so
  the next ``calculate-royalty-distributions`` reverses what the suspense account was booked
  and prices the new versions to the track's parties (a play of a locked cycle: an
  adjustment in the next cycle);
* joins a moved play to the play of another unknown recording already moved to the same
  track (merging: to the surviving recording's own play) when the two report one airing
  (``zamio.playlogs.billing``: same station, starts at most a minute apart, times
  overlapping or touching): two parts of one song heard on consecutive captures, named
  apart.  Stored as it is, the later one would be a duplicate and never priced, although it
  reports seconds of the airing the other does not; a
  ``merge`` correction (its own ``play.merge`` audit entry) makes them one play from the
  earlier start to the later end, priced once, so seconds both claimed are paid once and
  the rest of the held money is reversed out of suspense with the plays it was held for;
* records the recording as named (``zamio.recognition.naming``): the track, who and when,
  under one ``unknown.identify`` audit entry, and where the recording's time lies in the
  track;
* makes its detections not yet turned into plays name the track
  (``zamio.scanning.records.name_pending``).

Merging (``U-000045`` found to be the same song as ``U-000123``) does the same with the
surviving recording in place of the track (``unknown.merge``): the plays move to it, the
merged recording's captures and their prints move to it.  The scan's filing merges the same
way when its captures prove two recordings one song (:func:`merge_same_song`, actor
``unknown-filing``, the evidence in the audit entry; ``zamio.recognition.unknown``).

The audit entry of the naming is keyed by the recording: it is written once, so a
recording is named or merged once.  A run that finds its own naming done (killed after the
transaction, or run again) does nothing more to the plays.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import Connection, select

from zamio.db import audit
from zamio.db.engine import utcnow
from zamio.db.tables import (
    captures,
    detections,
    fingerprint_sets,
    play_detections,
    play_logs,
    tracks,
    unknown_captures,
)
from zamio.playlogs import corrections
from zamio.playlogs.billing import CURRENT
from zamio.playlogs.correction_requests import Request
from zamio.recognition import naming
from zamio.recognition.fingerprint import FINGERPRINT_VERSION, Fingerprint
from zamio.recognition.naming import Alignment, NamingRefused, Recording
from zamio.recognition.unknown import SameSong, hold_filing_lock
from zamio.scanning import records

#: The source of a play made from detections of an unknown recording (``zamio.recognition.unknown``).
SOURCE_UNKNOWN = "unknown"


@dataclass(frozen=True)
class Track:
    """The catalog track a recording is named as."""

    id: int
    ref: str
    title: str
    audio_path: str


@dataclass
class SplitOff:
    """Captures of a recording that lay outside the track it was named as, moved to a new unknown recording."""

    ref: str  # the new recording's U-
    recording_id: int
    captures: list[int]
    audit_id: int
    moved: list[corrections.Outcome] = field(default_factory=list)  # its plays' splits and reassigns
    pending: int = 0  # detections not yet in plays that now name it


@dataclass
class Outcome:
    """What naming or merging did."""

    recording: Recording
    target: str  # the track's reference, or the surviving U-
    audit_id: int
    moved: list[corrections.Outcome] = field(default_factory=list)
    alignment: Alignment | None = None
    pending: int = 0  # detections not yet in plays that now name the target
    captures_moved: int = 0  # merge: captures moved to the survivor
    prints_forgotten: int = 0
    merged: bool = False  # merged into another unknown recording (``target``), not named
    split: SplitOff | None = None  # captures outside the track, split off before the naming

    @property
    def corrections(self) -> list[corrections.Outcome]:
        """Every correction made, in order: the split's, then the moves to the target."""
        return (self.split.moved if self.split else []) + self.moved

    @property
    def retired(self) -> list[int]:
        return [p for o in self.corrections for p in o.retired]

    @property
    def billed(self) -> list[int]:
        """The plays made billable that still stand (a moved play joined to another by a merge does not)."""
        gone = set(self.retired)
        return [p for o in self.corrections for p in o.billed if p not in gone]


def event_key(recording: Recording) -> str:
    """The audit event key of resolving a recording: one per recording, whatever it is resolved as."""
    return f"identify-unknown:{recording.ref}"


def track(conn: Connection, track_ref: str) -> Track:
    """Given a track reference, return the track; raise NamingRefused when it is not in the catalog, has no
    audio or has no fingerprints of the current version."""
    row = conn.execute(
        select(tracks.c.id, tracks.c.track_ref, tracks.c.title, tracks.c.audio_path).where(
            tracks.c.track_ref == track_ref
        )
    ).first()
    if row is None:
        raise NamingRefused(
            f"track {track_ref!r} is not in the catalog: import it with bin/import-catalog --tracks "
            "(with its audio_path and its contributors), fingerprint it, then name the recording"
        )
    fingerprinted = conn.execute(
        select(fingerprint_sets.c.track_id).where(
            fingerprint_sets.c.track_id == row.id, fingerprint_sets.c.version == FINGERPRINT_VERSION
        )
    ).first()
    if not row.audio_path or fingerprinted is None:
        raise NamingRefused(
            f"track {track_ref!r} has no fingerprints yet: run bin/batch-fingerprint-tracks --track "
            f"{track_ref} (its audio_path must name the recording's audio), then name the recording"
        )
    return Track(int(row.id), row.track_ref, row.title, row.audio_path)


def open_recording(conn: Connection, ref_text: str, *, lock: bool = False) -> Recording:
    """The recording named by ``ref_text``; raise NamingRefused when there is none or it is resolved."""
    recording = naming.find(conn, ref_text, lock=lock)
    if recording.resolved_at is not None:
        track_ref = _track_ref(conn, recording.track_id)
        raise NamingRefused(
            f"{recording.ref} is resolved already: {naming.resolution(conn, recording, track_ref)}; "
            "nothing was changed (bin/zamio-status --audit shows the entry)"
        )
    return recording


def _track_ref(conn: Connection, track_id: int | None) -> str | None:
    if track_id is None:
        return None
    return conn.execute(select(tracks.c.track_ref).where(tracks.c.id == track_id)).scalar()


def done_before(conn: Connection, ref_text: str) -> audit.Entry | None:
    """The audit entry that resolved the recording, if it is resolved."""
    recording = naming.find(conn, ref_text)
    return audit.find(conn, event_key(recording)) if recording.resolved_at is not None else None


def _current_plays(conn: Connection, ref: str) -> list[int]:
    return list(
        conn.execute(
            select(play_logs.c.id)
            .where(play_logs.c.recording_key == ref, play_logs.c.status.in_(CURRENT))
            .order_by(play_logs.c.started_at, play_logs.c.id)
        ).scalars()
    )


def _move_plays(
    conn: Connection, ref: str, who: audit.Who, track_ref: str | None = None, unknown_ref: str | None = None
) -> list[corrections.Outcome]:
    """Reassign every current play of recording ``ref`` to a catalog track or another unknown recording; a moved
    play that reports an airing another moved unknown play bills is merged with it (see the module docstring)."""
    done: list[corrections.Outcome] = []
    for play_id in _current_plays(conn, ref):
        moved = corrections.correct(
            conn, Request("reassign", (play_id,), track_ref=track_ref, unknown_ref=unknown_ref), who
        )
        done.append(moved)
        done += _join_parts_of_one_airing(conn, moved, who)
    return done


def _join_parts_of_one_airing(
    conn: Connection, moved: corrections.Outcome, who: audit.Who
) -> list[corrections.Outcome]:
    """Merge each version ``moved`` stored as a duplicate of a play heard by the unknown index with that play."""
    joined = []
    for play in moved.after:
        if play.status != "duplicate" or play.source != SOURCE_UNKNOWN or play.id is None:
            continue
        billed = conn.execute(
            select(play_logs.c.id, play_logs.c.source).where(
                play_logs.c.id == select(play_logs.c.duplicate_of).where(play_logs.c.id == play.id).scalar_subquery()
            )
        ).first()
        if billed is not None and billed.source == SOURCE_UNKNOWN:
            joined.append(corrections.correct(conn, Request("merge", (int(billed.id), play.id)), who))
    return joined


def name(conn: Connection, ref_text: str, target: Track, track_prints: Fingerprint, who: audit.Who, *,
         evidence: dict[str, object] | None = None, across: frozenset[str] = frozenset()) -> Outcome:
    """Name the recording as the track, in ``conn``'s transaction (see the module docstring): ``track_prints``
    is the track's audio fingerprinted as the unknown index's (``zamio.recognition.unknown.prints``).  Raise
    NamingRefused (nothing changed) for an unknown or resolved recording, ``audit.MissingReason`` without a
    reason.  ``evidence``: what showed the recording to be the track, kept in the audit entry (a naming
    from the catalog, ``zamio.playlogs.catalog_naming``); ``across``: the track's edges (``start``, ``end``) the
    catalog heard another song across, beyond which a capture lying mostly outside the track is split off too."""
    who = audit.check(who)
    hold_filing_lock(conn)
    recording = open_recording(conn, ref_text, lock=True)
    found = naming.track_alignment(naming.prints_by_capture(conn, recording.id), track_prints)
    split = None
    if found is not None:
        split = split_outside(conn, recording, target, found.offset_seconds, track_prints.duration_seconds, who,
                              across)
    plays = _current_plays(conn, recording.ref)
    after: dict[str, object] = {
        "track_ref": target.ref,
        "track_id": target.id,
        "track_offset_seconds": found.offset_seconds if found else None,
    }
    if evidence is not None:
        after["evidence"] = evidence
    change = audit.Change(
        "unknown.identify", "unknown_recording", recording.ref, before={"unknown_ref": recording.ref, "plays": plays},
        after=after,
    )
    audit_id = audit.record(conn, who, change, event_key=event_key(recording))
    outcome = Outcome(
        recording, target.ref, audit_id, _move_plays(conn, recording.ref, who, track_ref=target.ref), found,
        split=split,
    )
    offset = found.offset_seconds if found is not None else None
    naming.mark_named(conn, recording.id, target.id, offset, who.actor, audit_id, utcnow())
    if found is not None:
        outcome.pending = records.name_pending(conn, recording.id, target.id, found.offset_seconds)
    else:  # its time cannot be placed in the track: leave the song to the catalog's matcher
        outcome.prints_forgotten = naming.forget_prints(conn, recording.id)
        outcome.pending = records.name_pending(conn, recording.id, target.id, 0.0)
    return outcome


def split_outside(conn: Connection, recording: Recording, target: Track, track_offset: float, track_seconds: float,
                  who: audit.Who, across: frozenset[str] = frozenset()) -> SplitOff | None:
    """Split off the recording's captures that lie outside the track once placed in it (``naming.outside_track``),
    and beyond the edges ``across`` those lying mostly outside it:
    a new unknown recording takes them, with their prints, their detections not yet in plays and their part of
    each play (a play holding captures of both is split where the track ends, or begins, on air), still held in
    suspense, under an ``unknown.split`` audit entry.  Return None when every capture lies in the track; raise
    NamingRefused (nothing changed) when none does, or when a play's captures go in and out of the track."""
    outside, held = naming.captures_outside(conn, recording.id, track_offset, track_seconds, across)
    if not outside:
        return None
    if len(outside) == held:
        raise NamingRefused(f"none of {recording.ref}'s captures lie within track {target.ref} "
                            f"({track_seconds:.1f} s) where its audio places them: it is not that track")
    plays = [(play_id, _captures_of(conn, play_id, track_offset)) for play_id in _current_plays(conn, recording.ref)]
    cuts = {play_id: play_cut(f"play {play_id} of {recording.ref}", target.ref, heard, set(outside), track_seconds)
            for play_id, heard in plays}
    new_id, new_ref, offsets = naming.split_off(conn, recording.id, outside, utcnow())
    change = audit.Change(
        "unknown.split", "unknown_recording", recording.ref,
        before={"unknown_ref": recording.ref, "captures": outside},
        after={"split_into": new_ref, "track_ref": target.ref, "track_offset_seconds": round(track_offset, 3),
               "track_seconds": round(track_seconds, 3), "plays": sorted(p for p, cut in cuts.items() if cut)})
    reason = (f"{len(outside)} captures of {recording.ref} lie outside track {target.ref} placed by its audio: "
              f"other audio joined to it, split off as {new_ref} before naming ({who.reason})")
    split_who = audit.Who(who.actor, reason)
    audit_id = audit.record(conn, split_who, change, event_key=f"{event_key(recording)}:split")
    done = SplitOff(new_ref, new_id, outside, audit_id)
    for play_id, heard in plays:
        cut = cuts[play_id]
        if cut is not None:
            done.moved += _move_part(conn, play_id, cut, heard, offsets, new_ref, split_who)
    done.pending = records.move_captures_pending(conn, offsets, new_id, new_ref)
    return done


@dataclass(frozen=True)
class PlayCapture:
    """A capture of a play: its start, and where it starts in the track (None: not a capture of the recording)."""

    capture_id: int
    started_at: datetime
    in_track: float | None


def _captures_of(conn: Connection, play_id: int, track_offset: float) -> list[PlayCapture]:
    """The captures of a play's detections, in the order heard, placed in the track."""
    rows = conn.execute(select(captures.c.id, captures.c.started_at, unknown_captures.c.offset_seconds)
                        .join(detections, detections.c.capture_id == captures.c.id)
                        .join(play_detections, play_detections.c.detection_id == detections.c.id)
                        .outerjoin(unknown_captures, unknown_captures.c.capture_id == captures.c.id)
                        .where(play_detections.c.play_id == play_id).distinct()
                        .order_by(captures.c.started_at, captures.c.id)).all()
    return [PlayCapture(int(capture_id), started_at, None if offset is None else float(offset) + track_offset)
            for capture_id, started_at, offset in rows]


def play_cut(play: str, track_ref: str, heard: list[PlayCapture], outside: set[int],
             track_seconds: float) -> tuple[datetime | None, bool] | None:
    """Where a play (``play``: named so in a refusal) divides between the track and the audio outside it: None when
    none of its captures lie outside; (None, True) when all do; else the instant the track ends (or begins) on air,
    kept after the last capture of the first part and no later than the first of the second (a split gives each
    part the detections of the captures begun in it), and whether the second part is the one outside.  Raise
    NamingRefused when its captures go in and out of the track."""
    sides = [h.capture_id in outside for h in heard]
    if not any(sides):
        return None
    if all(sides):
        return None, True
    changes = [i for i in range(1, len(sides)) if sides[i] != sides[i - 1]]
    if len(changes) > 1:
        raise NamingRefused(
            f"{play} goes in and out of track {track_ref}: its captures "
            f"{', '.join(str(h.capture_id) for h in heard)} are not one part of each; split the play by hand "
            "(bin/correct-plays split), then name the recording"
        )
    last, first = heard[changes[0] - 1], heard[changes[0]]
    second_outside = sides[changes[0]]
    inside = last if second_outside else first
    at = first.started_at
    if inside.in_track is not None:  # the track's end after its last capture, or its start before its first
        edge = track_seconds - inside.in_track if second_outside else -inside.in_track
        at = min(max(inside.started_at + timedelta(seconds=edge), last.started_at + timedelta(milliseconds=1)),
                 first.started_at)
    return at, second_outside


def _move_part(conn: Connection, play_id: int, cut: tuple[datetime | None, bool], heard: list[PlayCapture],
               placed: dict[int, float], new_ref: str, who: audit.Who) -> list[corrections.Outcome]:
    """Move the part of the play outside the track to the recording split off (the whole play when ``cut`` has no
    instant): split it there first; start it no earlier than the new recording's time 0 as its captures place it
    (``placed``: each moved capture's start in that time), as a play made of them now would; then reassign it."""
    at, second_outside = cut
    done = []
    if at is not None:
        split = corrections.correct(conn, Request("split", (play_id,), at=at), who)
        done.append(split)
        first, second = (p.id for p in split.after)
        play_id = int(second if second_outside else first)  # type: ignore[arg-type]
    song_start = min(h.started_at - timedelta(seconds=placed[h.capture_id]) for h in heard if h.capture_id in placed)
    play = conn.execute(select(play_logs.c.started_at, play_logs.c.ended_at).where(play_logs.c.id == play_id)).one()
    if play.started_at < song_start < play.ended_at:
        seconds = Decimal(str(round((play.ended_at - song_start).total_seconds(), 3)))
        retimed = corrections.correct(conn, Request("retime", (play_id,), start=song_start, seconds=seconds), who)
        done.append(retimed)
        play_id = int(retimed.after[0].id)  # type: ignore[arg-type]
    done.append(corrections.correct(conn, Request("reassign", (play_id,), unknown_ref=new_ref), who))
    return done


def merge(conn: Connection, ref_text: str, into_text: str, who: audit.Who, *, shift: float | None = None,
          evidence: dict[str, object] | None = None) -> Outcome:
    """Merge the recording into another unknown recording of the same song, in ``conn``'s transaction.  Raise
    NamingRefused (nothing changed) for an unknown or resolved recording on either side, or a recording merged
    into itself.  ``shift``: the merged recording's time 0 in the survivor's when the evidence gives it
    (otherwise measured from their shared audio); ``evidence``: kept in the audit entry."""
    who = audit.check(who)
    hold_filing_lock(conn)
    recording = open_recording(conn, ref_text, lock=True)
    survivor = open_recording(conn, into_text, lock=True)
    if survivor.id == recording.id:
        raise NamingRefused(f"{recording.ref} cannot be merged into itself: name the recording it is the same song as")
    found = naming.recording_alignment(conn, recording.id, survivor.id) if shift is None else None
    if shift is None:
        shift = found.offset_seconds if found is not None else 0.0
    plays = _current_plays(conn, recording.ref)
    after: dict[str, object] = {"merged_into": survivor.ref, "offset_seconds": shift}
    if evidence is not None:
        after["evidence"] = evidence
    change = audit.Change("unknown.merge", "unknown_recording", recording.ref,
                          before={"unknown_ref": recording.ref, "plays": plays}, after=after)
    audit_id = audit.record(conn, who, change, event_key=event_key(recording))
    moved = _move_plays(conn, recording.ref, who, unknown_ref=survivor.ref)
    outcome = Outcome(recording, survivor.ref, audit_id, moved, found, merged=True)
    outcome.captures_moved = naming.merge(conn, recording.id, survivor.id, shift, who.actor, audit_id, utcnow())
    outcome.pending = records.move_pending(conn, recording.id, survivor.id, survivor.ref, shift)
    return outcome


#: The actor of the merges the scan's filing makes on its own evidence.
FILING_ACTOR = "unknown-filing"


def merge_same_song(conn: Connection, same: SameSong) -> bool:
    """Merge two open unknown recordings that filing found to be one song (``zamio.recognition.unknown``):
    the younger into the older, at the place the evidence gives, with an audit entry naming the evidence;
    return False when either is resolved already or a play cannot be moved (nothing changed: the filing goes
    on, the two left for a person to merge with ``bin/identify-unknown``)."""
    younger, older = naming.ref_of(conn, same.younger_id), naming.ref_of(conn, same.older_id)
    reason = f"filing heard {younger} and {older} as one song ({same.kind})"
    savepoint = conn.begin_nested()
    try:
        merge(conn, younger, older, audit.Who(FILING_ACTOR, reason), shift=same.shift_seconds,
              evidence={"kind": same.kind, **same.details})
    except (NamingRefused, corrections.CorrectionRefused):
        savepoint.rollback()
        return False
    savepoint.commit()
    return True
