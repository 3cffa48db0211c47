"""Fingerprinting the catalog: queue tracks lacking the current fingerprint version, fingerprint them, clean up.

The work of ``bin/auto-fingerprint-new-tracks``, ``bin/batch-fingerprint-tracks`` and
``bin/cleanup-old-fingerprints`` (their adapters are in ``zamio/jobs/``).

Work goes through the ``fingerprint_work`` queue (one row per track) and is
claimed with leases (``zamio.runtime.leases``), so several hosts running
``auto-fingerprint-new-tracks`` share it and never fingerprint a track twice.
For each claimed track the audio is decoded and fingerprinted outside any
transaction (the CPU work); one short transaction then stores the set and
marks the work done.

A track that fails (missing file, a path that names a device, FIFO or folder, a
file over ``audio.MAX_FILE_BYTES``, undecodable audio, silence) keeps its reason
in ``last_error`` and is retried with exponential back-off; after
``MAX_ATTEMPTS`` it is parked with ``status = 'failed'`` (shown by
``zamio-status``) until a person fixes the audio and re-imports the track or
runs ``batch-fingerprint-tracks --track REF``.  When the run must stop during a
decode (SIGTERM, or ``--max-seconds`` used up), ffmpeg is killed and the track is
put back as it was before it was claimed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, and_, delete, exists, func, insert, literal, select, update
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from zamio.db.engine import StoredRow, upsert, utcnow
from zamio.db.tables import fingerprint_sets, fingerprint_work, tracks
from zamio.recognition.fingerprint import FINGERPRINT_VERSION, Fingerprint
from zamio.runtime import leases
from zamio.runtime.errors import ItemError, UsageError
from zamio.runtime.progress import Progress, Transactions

MAX_ATTEMPTS = 5  # then the track is parked as failed
LEASE_SECONDS = 900  # longer than decoding and fingerprinting the longest track takes
MAX_TRACK_SECONDS = 3 * 3600.0  # longer audio is refused (AudioTooLong), not decoded
DECODE_TIMEOUT_SECONDS = 600
CLEANUP_SETS_PER_TRANSACTION = 20  # about 100,000 rows: a short transaction


class AudioMissing(ItemError):
    """The track's audio file does not exist or cannot be read."""

    reason = "audio_missing"


@dataclass(frozen=True)
class Outcome:
    """What fingerprinting one track produced (for the log)."""

    track_ref: str
    hashes: int
    seconds: float


def select_tracks(conn: Connection, track_refs: Sequence[str] | None) -> list[int]:
    """Return the ids of the tracks named by ``track_refs`` (each once, in order), or of
    every active track with audio for None; raise UsageError naming unknown references."""
    if track_refs is None:
        query = select(tracks.c.id).where(_has_audio()).order_by(tracks.c.id)
        return list(conn.execute(query).scalars())
    found = dict(conn.execute(select(tracks.c.track_ref, tracks.c.id).where(tracks.c.track_ref.in_(track_refs))).all())
    unknown = [ref for ref in track_refs if ref not in found]
    if unknown:
        raise UsageError(f"no track with track_ref {', '.join(unknown)}; "
                         "check the references (import-catalog --tracks)")
    return [found[ref] for ref in dict.fromkeys(track_refs)]


def _has_audio() -> ColumnElement[bool]:
    return and_(tracks.c.active.is_(True), tracks.c.audio_path.is_not(None), tracks.c.audio_path != "")


def has_current(conn: Connection, track_id: int) -> bool:
    """Return whether the track has a fingerprint set of the current version."""
    query = select(literal(1)).where(fingerprint_sets.c.track_id == track_id,
                                     fingerprint_sets.c.version == FINGERPRINT_VERSION)
    return conn.execute(query).first() is not None


def requeue(conn: Connection, track_ids: list[int]) -> None:
    """Queue the tracks as pending with no attempts, done and parked ones included."""
    now = utcnow()
    for start in range(0, len(track_ids), 500):
        chunk = track_ids[start:start + 500]
        upsert(conn, fingerprint_work, [dict(track_id=i, status="pending", attempts=0, next_attempt_at=None,
                                             last_error=None, updated_at=now) for i in chunk], keys=["track_id"])


def _lacking_current() -> ColumnElement[bool]:
    has_set = exists().where(fingerprint_sets.c.track_id == tracks.c.id,
                             fingerprint_sets.c.version == FINGERPRINT_VERSION)
    return and_(_has_audio(), ~has_set)


def count_missing(conn: Connection) -> int:
    """Return how many active tracks with audio lack a fingerprint set of the current version."""
    return conn.execute(select(func.count()).select_from(tracks).where(_lacking_current())).scalar_one()


def enqueue_missing(conn: Connection) -> int:
    """Queue every active track with audio that lacks the current version: insert its
    ``fingerprint_work`` row, or reset a row marked done (a new fingerprint version).
    Parked (failed) rows stay parked.  Return how many tracks were queued."""
    now = utcnow()
    queued = exists().where(fingerprint_work.c.track_id == tracks.c.id)
    new = select(tracks.c.id, literal("pending"), literal(now, fingerprint_work.c.updated_at.type)).where(
        _lacking_current(), ~queued)
    inserted = conn.execute(insert(fingerprint_work).from_select(["track_id", "status", "updated_at"], new)).rowcount
    lacking = select(tracks.c.id).where(_lacking_current())
    reset = conn.execute(update(fingerprint_work).where(
        fingerprint_work.c.status == "done", fingerprint_work.c.track_id.in_(lacking)
    ).values(status="pending", attempts=0, next_attempt_at=None, last_error=None, updated_at=now)).rowcount
    return max(inserted, 0) + max(reset, 0)


def fingerprint_queued(transactions: Transactions, progress: Progress, *, owner: str, limit: int,
                       track_ids: list[int] | None = None) -> Iterator[int]:
    """Claim (as ``owner``) and fingerprint due pending tracks one at a time (those of
    ``track_ids``, or any), at most ``limit``, until none is due or the run must stop;
    yield each track id."""
    from zamio.recognition.reference import check_reference_fingerprint

    check_reference_fingerprint()  # once per process: no fingerprint from a host whose numpy/scipy differ
    where = fingerprint_work.c.track_id.in_(track_ids) if track_ids is not None else None
    done = 0
    while done < limit and not progress.should_stop():
        with transactions() as conn:
            condition = fingerprint_work.c.status == "pending"
            claimed = leases.claim(conn, fingerprint_work, owner=owner, limit=1, lease_seconds=LEASE_SECONDS,
                                   where=condition if where is None else and_(condition, where))
        if not claimed:
            return
        process_claimed(transactions, progress, owner, claimed[0])
        done += 1
        yield claimed[0].track_id


def process_claimed(transactions: Transactions, progress: Progress, owner: str, work: StoredRow) -> None:
    """Fingerprint one ``fingerprint_work`` row claimed by ``owner`` and record the outcome on it."""
    with transactions(read_only=True) as conn:
        track = conn.execute(select(tracks).where(tracks.c.id == work.track_id)).first()
    if work.attempts > MAX_ATTEMPTS:  # earlier runs died on it without recording why
        _record_failure(transactions, progress, owner, work, track,
                        ItemError(f"gave up after {work.attempts - 1} attempts that did not finish"))
        return
    from zamio.recognition.audio import DecodeStopped

    try:
        prints, sha256, seconds = fingerprint_file(track.audio_path if track else None, progress.should_stop)
    except DecodeStopped:
        _put_back(transactions, owner, work)
        return
    except ItemError as error:
        _record_failure(transactions, progress, owner, work, track, error)
        return
    from zamio.recognition.index import store_fingerprints

    assert track is not None  # fingerprint_file refused a track that is gone (no path)
    with transactions() as conn:
        store_fingerprints(conn, work.track_id, prints, sha256, seconds)
        if track.duration_seconds is None:
            conn.execute(update(tracks).where(tracks.c.id == track.id).values(duration_seconds=round(seconds, 3)))
        if not leases.release(conn, fingerprint_work, work.track_id, owner, status="done", attempts=0,
                              next_attempt_at=None, last_error=None, updated_at=utcnow()):
            raise ItemError(f"track {track.track_ref}: the work lease expired before the set was stored")
    progress.ok()


def fingerprint_file(path: str | None, should_stop: Callable[[], bool] | None = None
                     ) -> tuple[Fingerprint, str, float]:
    """Given an audio file path, return (its ``Fingerprint``, SHA-256 hex of the file,
    decoded duration in seconds).  Raise ``AudioMissing`` if there is no readable file,
    and the ``zamio.recognition.audio`` errors if it is no regular file, is too large or
    cannot be decoded; ``DecodeStopped`` once ``should_stop()`` is true during the decode."""
    from zamio.recognition import audio, fingerprint
    if not path:
        raise AudioMissing("the track has no audio_path; set it in the tracks CSV and import it again")
    try:
        sha256 = _sha256(Path(path))
    except OSError as error:
        raise AudioMissing(f"cannot read {path} ({error.strerror}); restore the file or fix audio_path") from None
    samples = audio.decode_file(path, max_seconds=MAX_TRACK_SECONDS, timeout_seconds=DECODE_TIMEOUT_SECONDS,
                                should_stop=should_stop)
    return fingerprint.fingerprint(samples), sha256, samples.size / audio.ANALYSIS_RATE


def _sha256(path: Path) -> str:
    from zamio.recognition.audio import read_blocks

    digest = hashlib.sha256()
    for block in read_blocks(path):  # a device, FIFO, folder or oversized file is refused unread
        digest.update(block)
    return digest.hexdigest()


def _record_failure(transactions: Transactions, progress: Progress, owner: str, work: StoredRow,
                    track: StoredRow | None, error: ItemError) -> None:
    parked = work.attempts >= MAX_ATTEMPTS
    reason = f"{error.reason}: {error}"
    with transactions() as conn:
        if parked:
            leases.release(conn, fingerprint_work, work.track_id, owner, status="failed", last_error=reason[:2000],
                           updated_at=utcnow())
        else:
            leases.fail(conn, fingerprint_work, work.track_id, owner, work.attempts, reason, updated_at=utcnow())
    ref = track.track_ref if track is not None else f"id {work.track_id}"
    progress.failed(f"track {ref}" + (f" (parked after {work.attempts} attempts)" if parked else ""), reason)


def _put_back(transactions: Transactions, owner: str, work: StoredRow) -> None:
    """Release a track whose decode was stopped as it was before the claim: the attempt is not counted."""
    with transactions() as conn:
        leases.release(conn, fingerprint_work, work.track_id, owner, attempts=work.attempts - 1, updated_at=utcnow())


def old_sets(conn: Connection, keep: int) -> list[tuple[int, int]]:
    """Return (track_id, version) of every fingerprint set that has at least ``keep``
    newer sets of the same track."""
    newer = aliased(fingerprint_sets)
    newer_count = (select(func.count()).where(newer.c.track_id == fingerprint_sets.c.track_id,
                                              newer.c.version > fingerprint_sets.c.version).scalar_subquery())
    query = select(fingerprint_sets.c.track_id, fingerprint_sets.c.version).where(newer_count >= keep)
    return [tuple(row) for row in conn.execute(query.order_by(fingerprint_sets.c.track_id, fingerprint_sets.c.version))]


def delete_set(conn: Connection, track_id: int, version: int) -> int:
    """Delete one fingerprint set (its rows and its record); return the rows deleted."""
    from zamio.recognition.index import delete_lookup_rows

    rows = delete_lookup_rows(conn, track_id, version, lock=True)
    conn.execute(delete(fingerprint_sets).where(fingerprint_sets.c.track_id == track_id,
                                                fingerprint_sets.c.version == version))
    return rows
