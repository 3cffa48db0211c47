"""Naming unknown recordings from the catalog once their song is registered (``UNKNOWN_AUTO_NAMING``).

An unknown recording (``U-000123``) holds its plays' money in suspense until it is named as a
catalog track (``bin/identify-unknown``).  When a society registers the song (the track
imported with its audio and fingerprinted), the recording's captures now match the catalog; the
fingerprinting jobs (``bin/auto-fingerprint-new-tracks``, ``bin/batch-fingerprint-tracks``)
then check the open recordings against the tracks new to them, after fingerprinting:

* a recording is due when a fingerprint set of the current version was created after it was
  last checked (never checked: after it was first heard; a capture heard after a set existed was
  recognised by the scan itself).  The tracks of those sets are its *new* tracks;
* each of its captures whose prints the unknown index keeps is recognised by the catalog's
  matcher from those prints (``zamio.recognition.kept_prints``), at the speeds an excerpt is tried
  at, with the usual acceptance: evidence against the other candidates and the second look
  (``zamio.recognition.verify``), which an answer past the nominal pass always takes;
* when the captures recognised (one at least) all name one new track, the recording is named as
  it through ``zamio.playlogs.identify.name``, as ``bin/identify-unknown`` names it (plays moved
  as new versions, the held money released by the next pricing run, locked cycles adjusted),
  actor ``catalog-naming``, the captures and their evidence in the audit entry; then its kept
  captures of no match are heard again (``zamio.scanning.rehearing``);
* captures naming two tracks, those naming the one most name placing the others outside it or across its
  start or end, mostly beyond it (a segue aired on every airing, heard as one song; a capture across the
  change of song: :func:`apart`), name the recording as that track; the naming splits the others off as a
  recording of their own (``zamio.playlogs.identify.split_outside``), which the check names in turn;
* captures naming two tracks otherwise, or a track the catalog held before (one the scan missed), leave
  the recording open: it is listed (:class:`Unnamed`) for a person to decide, and what the catalog
  suggests is kept on it (``catalog_suggestion``: each track named, by how many captures, with their
  best evidence) for ``bin/unidentified-report`` to show; each check replaces the last one's.

Safe to run twice at once and to kill: the naming takes the identify path's locks and refuses
a recording resolved meanwhile (``NamingRefused``); ``catalog_checked_at`` is written only once
a recording is decided, and once a named one's captures were heard again (a recording named by
a killed run is heard again by the next).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import median

from sqlalchemy import Connection, func, or_, select

from zamio.db import audit
from zamio.db.engine import utcnow
from zamio.db.tables import fingerprint_sets, tracks, unknown_captures, unknown_recordings
from zamio.playlogs import identify
from zamio.playlogs.corrections import CorrectionRefused
from zamio.recognition.fingerprint import FINGERPRINT_VERSION
from zamio.recognition.index import PairCache
from zamio.recognition.naming import NamingRefused, mark_checked, outside_track
from zamio.runtime.errors import ItemError
from zamio.runtime.progress import Progress, Transactions

#: The actor of the namings this check makes (audit_log, ``unknown_recordings.resolved_by``).
ACTOR = "catalog-naming"
#: A fingerprint set is written in one short transaction whose ``created_at`` is taken in it: one committed
#: after a check read the sets may carry an earlier time.  A check records at most this long before it began
#: as looked at, so a set committed that late is still new to the next check.
SETTLE_SECONDS = 60.0


@dataclass(frozen=True)
class Due:
    """A recording to check: open, with sets created after ``since``; or named by this check before and
    its kept captures not yet heard again (``named``)."""

    id: int
    ref: str
    first_heard_at: datetime
    since: datetime
    track_id: int | None = None

    @property
    def named(self) -> bool:
        return self.track_id is not None


@dataclass(frozen=True)
class Heard:
    """A capture of the recording the catalog's matcher recognised from its kept prints."""

    capture_id: int
    track_id: int
    track_ref: str
    evidence: float
    aligned: int
    runner_up: int
    coverage: float | None  # the second look's share of the track's peaks that agree; None: not asked
    title: str = ""  # the track's, for what the catalog suggests
    in_recording: float = 0.0  # where the capture starts in the recording's time, and in the track's
    in_track: float = 0.0
    seconds: float = 0.0

    def as_evidence(self) -> dict[str, object]:
        return {"capture_id": self.capture_id, "track_ref": self.track_ref, "evidence": round(self.evidence, 2),
                "aligned": self.aligned, "runner_up": self.runner_up,
                "coverage": None if self.coverage is None else round(self.coverage, 3)}


@dataclass(frozen=True)
class Unnamed:
    """A recording left open although captures of it were recognised: ``named`` tracks by capture count."""

    ref: str
    named: dict[str, int]
    why: str
    suggestion: str = ""  # JSON kept on the recording (sql/0034), written by the check


def suggestion(heard: list[Heard]) -> str:
    """What the catalog suggests for a recording left open, as kept in ``catalog_suggestion``: each track its
    captures named (most captures first, then by ref), with its title, the captures and their best evidence."""
    by_track: dict[str, list[Heard]] = {}
    for capture in heard:
        by_track.setdefault(capture.track_ref, []).append(capture)
    ordered = sorted(by_track.items(), key=lambda item: (-len(item[1]), item[0]))
    return json.dumps([{"track_ref": ref, "title": captures[0].title, "captures": len(captures),
                        "evidence": round(max(c.evidence for c in captures), 1)} for ref, captures in ordered])


@dataclass
class Tally:
    """What a check did."""

    checked: int = 0
    named: list[tuple[str, str]] = field(default_factory=list)  # (U-, track) named now
    unnamed: list[Unnamed] = field(default_factory=list)
    heard_again: int = 0  # kept captures of no match recognised as a named track
    refused: list[str] = field(default_factory=list)
    split: list[tuple[str, str, str, int]] = field(default_factory=list)  # (U-, track, U- split off, its id)


def due(conn: Connection, newest: datetime) -> list[Due]:
    """The recordings a check looks at now, oldest first (see the module docstring), given when the newest
    fingerprint set was created (a recording checked after it has no set new to it)."""
    since = func.coalesce(unknown_recordings.c.catalog_checked_at, unknown_recordings.c.first_heard_at)
    columns = (unknown_recordings.c.id, unknown_recordings.c.unknown_ref, unknown_recordings.c.first_heard_at,
               since.label("since"), unknown_recordings.c.track_id)
    open_ones = select(*columns).where(unknown_recordings.c.resolved_at.is_(None), since < newest)
    unfinished = select(*columns).where(
        unknown_recordings.c.resolved_by == ACTOR, unknown_recordings.c.track_id.is_not(None),
        or_(unknown_recordings.c.catalog_checked_at.is_(None),
            unknown_recordings.c.catalog_checked_at < unknown_recordings.c.resolved_at))
    found = [*conn.execute(open_ones.order_by(unknown_recordings.c.id)),
             *conn.execute(unfinished.order_by(unknown_recordings.c.id))]
    return [Due(int(r.id), r.unknown_ref, r.first_heard_at, _moment(r.since), r.track_id) for r in found]


def _moment(value: datetime | str) -> datetime:
    """``coalesce`` of two instants as the database returns it (SQLite: its text)."""
    from zamio.db.types import parse_sqlite_time

    return parse_sqlite_time(value) if isinstance(value, str) else value


def new_tracks(conn: Connection, track_ids: set[int], since: datetime) -> dict[int, datetime]:
    """Of the tracks ``track_ids``, those whose current fingerprint set was created after ``since``, with when."""
    if not track_ids:
        return {}
    rows = conn.execute(select(fingerprint_sets.c.track_id, fingerprint_sets.c.created_at).where(
        fingerprint_sets.c.version == FINGERPRINT_VERSION, fingerprint_sets.c.track_id.in_(sorted(track_ids)),
        fingerprint_sets.c.created_at > since))
    return {int(r.track_id): r.created_at for r in rows}


def track_lengths(conn: Connection, track_ids: set[int]) -> dict[int, float]:
    """The seconds of audio the current fingerprint sets of these tracks were made of."""
    rows = conn.execute(select(fingerprint_sets.c.track_id, fingerprint_sets.c.audio_seconds).where(
        fingerprint_sets.c.version == FINGERPRINT_VERSION, fingerprint_sets.c.track_id.in_(sorted(track_ids))))
    return {int(r.track_id): float(r.audio_seconds) for r in rows}


def latest_set(conn: Connection) -> datetime | None:
    """When the newest fingerprint set of the current version was created."""
    return conn.execute(select(func.max(fingerprint_sets.c.created_at))
                        .where(fingerprint_sets.c.version == FINGERPRINT_VERSION)).scalar()


def hear(conn: Connection, recording_id: int, cache: PairCache) -> tuple[int, list[Heard]]:
    """Recognise each capture of the recording whose prints the unknown index keeps; return how many
    were tried and those the catalog's matcher recognised."""
    from zamio.recognition.index import identify_prints
    from zamio.recognition.kept_prints import VERIFY_OFF_NOMINAL, query_of_prints
    from zamio.recognition.naming import prints_by_capture

    kept = prints_by_capture(conn, recording_id)
    seconds = dict(conn.execute(select(unknown_captures.c.capture_id, unknown_captures.c.seconds)
                                .where(unknown_captures.c.unknown_id == recording_id)).tuples().all())
    recognised = []
    for capture_id, (hashes, frames, in_recording) in sorted(kept.items()):
        query = query_of_prints(hashes, frames, float(seconds[capture_id]))
        result = identify_prints(conn, query, cache, VERIFY_OFF_NOMINAL)
        if result is not None:
            recognised.append((capture_id, in_recording, result))
    names = _names(conn, {result.track_id for _, _, result in recognised})
    heard = [Heard(capture_id, result.track_id, names[result.track_id][0], result.evidence, result.aligned,
                   result.runner_up, result.agreement.coverage if result.agreement else None,
                   names[result.track_id][1], in_recording, result.offset_seconds, float(seconds[capture_id]))
             for capture_id, in_recording, result in recognised]
    return len(kept), heard


def _names(conn: Connection, track_ids: set[int]) -> dict[int, tuple[str, str]]:
    """The track_ref and title of each of the tracks ``track_ids``."""
    if not track_ids:
        return {}
    rows = conn.execute(select(tracks.c.id, tracks.c.track_ref, tracks.c.title)
                        .where(tracks.c.id.in_(sorted(track_ids))))
    return {int(row.id): (str(row.track_ref), str(row.title or "")) for row in rows}


def decide(ref: str, heard: list[Heard], new: dict[int, datetime], lengths: dict[int, float]) -> int | Unnamed | None:
    """The new track the recognised captures name; an ``Unnamed`` when they name one the catalog held before, or
    two tracks unless the captures naming the others lie outside the one most name (``apart``); None when no
    capture was recognised."""
    if not heard:
        return None
    named = dict(Counter(capture.track_ref for capture in heard))
    tracks_named = {capture.track_id for capture in heard}
    track_id = next(iter(tracks_named)) if len(tracks_named) == 1 else apart(heard, lengths)
    if track_id is None:
        return Unnamed(ref, named, "its captures name different tracks")
    if track_id not in new:
        return Unnamed(ref, named, "its captures name a track the catalog held before (the scan missed it)")
    return track_id


def apart(heard: list[Heard], lengths: dict[int, float]) -> int | None:
    """The track most captures name (of two as many, the one heard first in the recording's time) when every capture
    naming another lies outside it or across its start or end (``crossed_edges``), placed by those that name it
    (two songs aired back to back on every airing, heard as one recording): naming the recording as it splits the
    others off (``zamio.playlogs.identify.split_outside``), and the check names them in turn.  None otherwise."""
    counts = Counter(capture.track_id for capture in heard)
    earliest = {t: min(c.in_recording for c in heard if c.track_id == t) for t in counts}
    track_id = min(counts, key=lambda t: (-counts[t], earliest[t]))  # a tie: the one heard first in its time
    if track_id not in lengths or crossed_edges(heard, track_id, lengths[track_id]) is None:
        return None
    return track_id


def crossed_edges(heard: list[Heard], track_id: int, track_seconds: float) -> frozenset[str] | None:
    """The edges of the track (``start``, ``end``) that captures naming another track lie across, most of each
    beyond it (the song before or after it, heard in one recording with it), placed in the track by the captures
    that name it; None when one lies within the track otherwise; empty when none lies across an edge."""
    offset = median([c.in_track - c.in_recording for c in heard if c.track_id == track_id])
    edges = set()
    for capture in heard:
        start = capture.in_recording + offset
        middle = start + capture.seconds / 2
        if capture.track_id == track_id or outside_track(start, capture.seconds, track_seconds):
            continue
        if start < 0 and middle < 0:
            edges.add("start")
        elif start + capture.seconds > track_seconds and middle > track_seconds:
            edges.add("end")
        else:
            return None
    return frozenset(edges)


def check(transactions: Transactions, progress: Progress, host_name: str) -> Tally:
    """Check every due recording (see the module docstring), one at a time; return what was done."""
    began = utcnow()
    with transactions(read_only=True) as conn:
        newest = latest_set(conn)
        recordings = due(conn, newest) if newest is not None else []
    looked_at = min(newest, began - timedelta(seconds=SETTLE_SECONDS)) if newest is not None else None
    tally = Tally()
    cache = PairCache()
    for recording in recordings:  # grows by the recordings split off while naming, checked in turn
        if progress.should_stop():
            break
        if not recording.named:
            splits = len(tally.split)
            outcome = _check_one(transactions, recording, cache, tally)
            recordings += [Due(new_id, ref, recording.first_heard_at, recording.since)
                           for _, _, ref, new_id in tally.split[splits:]]
            if not isinstance(outcome, int):
                _mark_checked(transactions, recording, looked_at, outcome.suggestion if outcome else None)
                continue
            recording = Due(recording.id, recording.ref, recording.first_heard_at, recording.since, outcome)
        _hear_again(transactions, progress, recording, host_name, tally)
    return tally


def _check_one(transactions: Transactions, recording: Due, cache: PairCache, tally: Tally) -> int | Unnamed | None:
    """Recognise the recording's captures and name it when they agree on a new track; return the track it was
    named as, what the catalog suggests when it is left open, or None when it stays open with no suggestion."""
    with transactions(read_only=True) as conn:
        tried, heard = hear(conn, recording.id, cache)
        new = new_tracks(conn, {capture.track_id for capture in heard}, recording.since)
        lengths = track_lengths(conn, {capture.track_id for capture in heard})
    tally.checked += 1
    found = decide(recording.ref, heard, new, lengths)
    if isinstance(found, Unnamed):
        found = Unnamed(found.ref, found.named, found.why, suggestion(heard))
        tally.unnamed.append(found)
        return found
    if found is None:
        return None
    evidence = {"captures_tried": tried, "captures": [capture.as_evidence() for capture in heard],
                "track_fingerprinted_at": new[found].isoformat()}
    across = crossed_edges(heard, found, lengths[found]) if found in lengths else None
    return found if _name(transactions, recording, found, heard, evidence, across or frozenset(), tally) else None


def _name(transactions: Transactions, recording: Due, track_id: int, heard: list[Heard],
          evidence: dict[str, object], across: frozenset[str], tally: Tally) -> bool:
    """Name the recording as the track its captures name, as ``bin/identify-unknown`` does, splitting off what lies
    outside it or, beyond the edges ``across``, mostly outside it; False when it was resolved meanwhile or a play of
    it cannot be moved (nothing changed)."""
    from zamio.recognition.audio import decode_file
    from zamio.recognition.unknown import prints

    track_ref = next(c.track_ref for c in heard if c.track_id == track_id)
    naming_it = sum(c.track_id == track_id for c in heard)
    others = len(heard) - naming_it
    reason = (f"registered: {naming_it} of {evidence['captures_tried']} captures' kept prints recognised as "
              f"track {track_ref} by the catalog's matcher, "
              + (f"{others} as other tracks beyond its edges" if others else "none as another"))
    try:
        with transactions(read_only=True) as conn:
            target = identify.track(conn, track_ref)
        track_prints = prints(decode_file(target.audio_path))
        with transactions() as conn:
            done = identify.name(conn, recording.ref, target, track_prints, audit.Who(ACTOR, reason),
                                 evidence=evidence, across=across)
            kept = _kept_against_the_catalog(done, heard, track_ref)
            if kept:  # the unknown index placed them otherwise than the catalog's matcher: leave it to a person
                raise NamingRefused(f"captures {', '.join(map(str, kept))} name other tracks than {track_ref} "
                                    "and would stay in it; nothing was changed")
    except (NamingRefused, CorrectionRefused, ItemError, OSError) as error:
        tally.refused.append(f"{recording.ref}: {error}")
        return False
    tally.named.append((recording.ref, track_ref))
    if done.split is not None:
        tally.split.append((recording.ref, track_ref, done.split.ref, done.split.recording_id))
    return True


def _kept_against_the_catalog(done: identify.Outcome, heard: list[Heard], track_ref: str) -> list[int]:
    """The captures recognised as another track than the one the recording was named as that the naming did not
    split off (the unknown index placed them within the track, the catalog's matcher elsewhere)."""
    split = set(done.split.captures) if done.split else set()
    return sorted(c.capture_id for c in heard if c.track_ref != track_ref and c.capture_id not in split)


def _hear_again(transactions: Transactions, progress: Progress, recording: Due, host_name: str, tally: Tally) -> None:
    """Hear the named recording's kept captures of no match again, then record it checked."""
    from zamio.scanning.rehearing import hear_again

    assert recording.track_id is not None
    heard = hear_again(transactions, progress, recording.track_id, recording.first_heard_at, host_name)
    tally.heard_again += len(heard.found)
    if not progress.should_stop():
        _mark_checked(transactions, recording, utcnow())


def _mark_checked(transactions: Transactions, recording: Due, looked_at: datetime | None,
                  suggested: str | None = None) -> None:
    if looked_at is None:
        return
    with transactions() as conn:
        mark_checked(conn, recording.id, max(looked_at, recording.since), suggested)


def lines(tally: Tally) -> list[str]:
    """What a check did, for the job's output."""
    out = [f"{ref} named as track {track} from its captures' kept prints" for ref, track in tally.named]
    out += [f"{ref}: its captures outside track {track} split off as {new_ref}, still held"
            for ref, track, new_ref, _ in tally.split]
    out += [f"{u.ref} left open, {u.why}: " + ", ".join(f"{t} ({n} captures)" for t, n in sorted(u.named.items()))
            for u in tally.unnamed]
    out += [f"naming refused: {why}" for why in tally.refused]
    if tally.checked or tally.heard_again:
        out.append(f"unknown recordings checked against the new tracks: {tally.checked}, named {len(tally.named)}, "
                   f"left open with captures recognised {len(tally.unnamed)}; kept captures heard again as "
                   f"their tracks: {tally.heard_again}")
    return out
