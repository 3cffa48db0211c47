"""Airings heard once, found when their song is registered.

A capture of music the catalog lacks becomes an unknown recording, and its airing a play with its money
held, only when another capture shares its audio (``zamio.recognition.unknown``).  One that shares audio
with none stays a candidate of the unknown index (``single``): an airing heard, but no play, and no
money set aside for it.  Most songs aired a few times leave such airings (``bench/hearing_filing_bench.py``:
130 of 358 airings of songs aired twice or more, on real music).

When the song is registered, the fingerprinting jobs (after naming the recordings from the catalog,
``zamio.playlogs.catalog_naming``, and only with ``UNKNOWN_AUTO_NAMING``) look each track fingerprinted
since its last such look up among those candidates (:func:`check`):

* the track's audio is printed as the unknown index prints a capture, and the candidates heard before its
  fingerprint set was made that align with it on as many hashes as filing needs to join two captures
  (``unknown.singles_sharing_audio``) are its airings heard once, perhaps;
* each is recognised by the catalog's matcher from its kept prints (``zamio.recognition.kept_prints``), the
  whole catalog as rivals, with the usual acceptance and the second look; one it recognises as the track
  gets a local detection (``zamio.scanning.records.record_late_match``), from which ``bin/convert-matches``
  makes a play as for any detection, priced to the track's parties; and the capture leaves the unknown
  index, never to join a recording of it later;
* the fingerprint set is recorded as looked up (``unknown_track_checks``), with the candidates and those found.

A candidate heard after the set was made was heard by a scan that knew the track, and is left as it is.
One track at a time, in one transaction holding filing's lock (so a candidate never joins a recording while it
becomes the track's): a run killed leaves a track looked up whole or not at all, and two runs at once write each
detection once (``record_late_match``) and each look-up once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, func, select

from zamio.db.engine import insert_ignore, utcnow
from zamio.db.tables import fingerprint_sets, tracks, unknown_captures, unknown_track_checks
from zamio.recognition.audio import decode_file
from zamio.recognition.fingerprint import FINGERPRINT_VERSION
from zamio.recognition.index import PairCache, identify_prints
from zamio.recognition.kept_prints import VERIFY_OFF_NOMINAL, query_of_prints
from zamio.recognition.unknown import forget, hold_filing_lock, kept_prints, prints, singles_sharing_audio
from zamio.runtime.errors import ItemError
from zamio.runtime.progress import Progress, Transactions
from zamio.scanning.records import record_late_match


@dataclass(frozen=True)
class Registered:
    """A track fingerprinted and not yet looked up among the captures heard once."""

    track_id: int
    track_ref: str
    audio_path: str
    set_created_at: datetime


@dataclass
class Found:
    """What a look-up found."""

    tracks: int = 0
    candidates: int = 0
    found: list[tuple[str, int]] = field(default_factory=list)  # (track_ref, capture id) now a detection
    unreadable: list[str] = field(default_factory=list)  # tracks whose audio could not be read


def registered(conn: Connection) -> list[Registered]:
    """The tracks whose current fingerprint set was not looked up yet and was made after the first capture
    heard once that the unknown index keeps (an older set has none heard before it, and never will), oldest
    set first."""
    first = conn.execute(select(func.min(unknown_captures.c.started_at))
                         .where(unknown_captures.c.status == "single")).scalar()
    if first is None:
        return []
    looked = select(unknown_track_checks.c.track_id).where(
        unknown_track_checks.c.track_id == fingerprint_sets.c.track_id,
        unknown_track_checks.c.set_created_at == fingerprint_sets.c.created_at).exists()
    query = (select(tracks.c.id, tracks.c.track_ref, tracks.c.audio_path, fingerprint_sets.c.created_at)
             .join(fingerprint_sets, fingerprint_sets.c.track_id == tracks.c.id)
             .where(fingerprint_sets.c.version == FINGERPRINT_VERSION, fingerprint_sets.c.created_at > first,
                    tracks.c.audio_path.is_not(None), ~looked)
             .order_by(fingerprint_sets.c.created_at, tracks.c.id))
    return [Registered(int(r.id), str(r.track_ref), str(r.audio_path), r.created_at) for r in conn.execute(query)]


def check(transactions: Transactions, progress: Progress) -> Found:
    """Look every track not yet looked up among the captures heard once (see the module docstring)."""
    with transactions(read_only=True) as conn:
        due = registered(conn)
    found = Found()
    cache = PairCache()
    for track in due:
        if progress.should_stop():
            break
        look_up(transactions, track, cache, found)
    return found


def look_up(transactions: Transactions, track: Registered, cache: PairCache, found: Found) -> None:
    """Find the track's airings heard once, write their detections and record the look-up, in one transaction."""
    try:
        track_prints = prints(decode_file(track.audio_path))
    except (ItemError, OSError):
        found.unreadable.append(track.track_ref)
        return
    with transactions() as conn:
        # Filing must not join a candidate to a recording while it becomes the track's: a capture with a
        # detection of each would be two plays.
        hold_filing_lock(conn)
        candidates = singles_sharing_audio(conn, track_prints, track.set_created_at)
        recognised = [capture_id for capture_id in candidates if _recognised_as(conn, capture_id, track, cache)]
        insert_ignore(conn, unknown_track_checks, [{
            "track_id": track.track_id, "set_created_at": track.set_created_at, "checked_at": utcnow(),
            "candidates": len(candidates), "found": len(recognised)}], ["track_id", "set_created_at"])
    found.tracks += 1
    found.candidates += len(candidates)
    found.found += [(track.track_ref, capture_id) for capture_id in recognised]


def _recognised_as(conn: Connection, capture_id: int, track: Registered, cache: PairCache) -> bool:
    """Recognise a capture heard once from its kept prints; when the catalog names this track, write its
    detection and take it out of the unknown index; return whether it was."""
    hashes, frames, heard = kept_prints(conn, capture_id)
    result = identify_prints(conn, query_of_prints(hashes, frames, float(heard.seconds)), cache, VERIFY_OFF_NOMINAL)
    if result is None or result.track_id != track.track_id:
        return False
    written = record_late_match(conn, capture_id, int(heard.station_id), heard.started_at, track.track_id,
                                float(result.offset_seconds), float(result.speed), float(result.confidence),
                                float(result.score))
    forget(conn, capture_id)
    return written


def lines(found: Found) -> list[str]:
    """What a look-up did, for the job's output."""
    out = [f"airing heard once found as track {ref}: capture {capture_id}" for ref, capture_id in found.found]
    out += [f"track {ref}: its audio could not be read; not looked up among the airings heard once"
            for ref in found.unreadable]
    if found.tracks:
        out.append(f"tracks looked up among the airings heard once: {found.tracks}, sharing audio with "
                   f"{found.candidates} captures, {len(found.found)} recognised as their track")
    return out
