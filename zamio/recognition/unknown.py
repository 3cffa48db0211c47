"""Unknown recordings: music the catalog does not hold, told apart by its fingerprints.

A capture that matched nothing and was judged music (``zamio.recognition.content``) is
fingerprinted with the catalog's engine (``zamio.recognition.fingerprint``) into the
*unknown index*: ``unknown_prints``, a table of its own that the catalog's lookups
(``zamio.recognition.index``) never read.  The scan writes the capture's prints and its
``unknown_captures`` row (status ``pending``) with the capture; that is all the hot path
pays (:func:`prints` and :func:`store_candidate`).

:func:`file_pending` then files the pending captures one by one, in the order they were
heard, under a lock, so two runs never file the same audio into two recordings:

* the capture's hashes are looked up among the captures filed before it; the votes of
  (capture, time difference) are counted as the catalog's matcher counts them, and the
  best capture is accepted by ``zamio.recognition.match.accept`` against the best of any
  other recording;
* nothing found: the capture stays a candidate (``single``), heard once; so does one that
  matches a candidate of the same station at the same moment (one hearing recorded twice,
  as a file and a snippet);
* it matches a candidate: the two become a new unknown recording, ``U-000001`` onwards,
  whose time starts at the candidate's first second;
* it matches a capture of an unknown recording: it joins that recording, placed in its
  time by the aligned hashes.  Excerpts that overlap chain into one recording: each
  member's prints stay in the index while they cover a part of the song that no kept member
  covers (beyond the span heard so far, or in a hole inside it, where airings heard at other
  moments of the song left it unheard), and are dropped when they add nothing;
* its same seconds match a recording and a candidate (:func:`candidate_beside`): the candidate
  is the recording's song heard once more, a capture that missed it when it was filed (a
  quiet passage, or heard before the recording existed).  The capture joins the recording, and
  the candidate joins it too, placed through the capture.

Each capture filed into a recording is returned (:class:`Filed`), for the scan to record
its detection; the recording keeps its first and last time heard, the first stream title
a station sent with it and the first of its captures that kept audio (its excerpt).

Filing also finds two open recordings to be one song (:class:`SameSong`), and hands the
evidence to the caller's ``merge`` (``zamio.playlogs.identify.merge_same_song``: the younger
merged into the older, plays, held money and prints following, an audit entry naming it):

* *a bridge*: the capture's same seconds align confidently with both (each accepted against
  the best of any third recording, the two aligned stretches of the capture overlapping by at
  least ``BRIDGE_OVERLAP_SECONDS``).  A capture holding the end of one song and the start of
  the next aligns with both too, but with stretches that do not overlap: never merged;
* *a sequence* (``zamio.recognition.sequence``): the two heard on consecutive captures of one
  station with the same gap in the song's time on at least two airings, or on one airing whose
  two captures carry the same stream title.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import ColumnElement, Connection, delete, func, insert, select, text, update

from zamio.db.engine import StoredRow, insert_ignore, is_sqlite, utcnow
from zamio.db.tables import captures, unknown_captures, unknown_prints, unknown_recordings
from zamio.recognition.fingerprint import FRAME_SECONDS, Fingerprint, IndexProfile, fingerprint
from zamio.recognition.match import accept, chance_probability

#: Denser than the catalog's index: both sides of a lookup here are stored prints of a
#: few seconds of overlap, not a query of every peak against a whole song.  12 peaks a
#: second align about 90 hashes over 6 s of one song, against at most 14 by chance.
UNKNOWN_PROFILE = IndexProfile(peaks_per_second=12.0)
#: Never join on fewer aligned hashes (about 2 s of shared audio), whatever the odds say: the
#: catalog's minimum (``match.MIN_ALIGNED``) is for a dense query against a whole song, and two
#: different songs of one style share up to a dozen aligned hashes (bench/unknown_bench.py).
MIN_ALIGNED = 24
OFFSET_BIN_FRAMES = 2  # time differences within 64 ms vote together (decoder jitter)
#: A joining capture keeps its prints when it covers this much of the song that no kept member covers.
NEW_PART_SECONDS = 2.0
LOOKUP_BATCH = 5000  # hashes per statement (under SQLite's parameter limit)
FILE_BATCH = 200  # pending captures filed per call
#: PostgreSQL advisory lock key of filing ("zamio" "U"): SQLite's one writer already serialises it.
FILING_LOCK = 0x7A616D55
REF_DIGITS = 6
#: The stretches of a capture aligned with two recordings must overlap this much for the two to be
#: one song.  Measured (tests/unit/test_unknown.py): 6 s of audio shared by both make stretches
#: overlapping by 3.5 to 4.6 s (the quantiles and the prints' edges trim each end), a change of song
#: in the capture makes them 1 to 6 s apart.
BRIDGE_OVERLAP_SECONDS = 2.0
#: The stretch of a capture an alignment covers: these quantiles of its aligned hashes' frames.
STRETCH_QUANTILES = (5.0, 95.0)


@dataclass(frozen=True)
class Filed:
    """A capture filed into an unknown recording (a detection of it)."""

    capture_id: int
    station_id: int
    started_at: datetime
    unknown_id: int
    unknown_ref: str
    offset_seconds: float
    aligned: int  # the hashes aligned with the capture it matched (a new recording's first: the same)
    confidence: float  # 1 - the chance of so many aligned hashes by accident


@dataclass(frozen=True)
class Vote:
    """The best alignment of a new capture with an earlier one."""

    capture_id: int
    offset_frames: int  # the new capture's start in the earlier capture's frames
    aligned: int
    runner_up: int


@dataclass(frozen=True)
class GroupVote:
    """A capture's best alignment with one recording (or one candidate), and the stretch of the
    capture it covers (seconds from the capture's start)."""

    group: int  # the recording's id, or minus the candidate capture's id
    vote: Vote
    stretch: tuple[float, float]


@dataclass(frozen=True)
class SameSong:
    """Evidence found while filing that two open unknown recordings are one song."""

    younger_id: int
    older_id: int
    shift_seconds: float  # the younger's time 0 in the older's time
    kind: str  # "bridge" or "sequence"
    details: dict[str, object] = field(default_factory=dict)  # JSON-able, for the audit entry


#: Merges two recordings found to be one song in the caller's transaction; returns whether it merged.
Merger = Callable[[Connection, SameSong], bool]


def prints(samples: np.ndarray) -> Fingerprint:
    """Given a capture's samples at ``ANALYSIS_RATE``, return the prints the unknown index keeps."""
    return fingerprint(samples, UNKNOWN_PROFILE)


def store_candidate(conn: Connection, capture_id: int, station_id: int, started_at: datetime, seconds: float,
                    fp: Fingerprint) -> bool:
    """Add a music capture with no match to the unknown index, to be filed; return False
    when it was added before (nothing is written twice)."""
    hashes, frames = np.asarray(fp.hashes, np.int64), np.asarray(fp.offsets, np.int64)
    row = {"capture_id": capture_id, "station_id": station_id, "started_at": started_at,
           "seconds": round(float(seconds), 3), "hash_count": int(hashes.size), "status": "pending",
           "created_at": utcnow()}
    if insert_ignore(conn, unknown_captures, [row], ["capture_id"]) == 0:
        return False
    if hashes.size:
        conn.execute(insert(unknown_prints), [{"hash": h, "capture_id": capture_id, "frame": f}
                                              for h, f in zip(hashes.tolist(), frames.tolist(), strict=True)])
    return True


def hold_filing_lock(conn: Connection) -> None:
    """Take filing's lock for the rest of the transaction: filing, and whatever takes captures heard once out of
    the unknown index (``zamio.playlogs.heard_once``), one at a time.  SQLite's one writer already serialises
    them."""
    if not is_sqlite(conn):
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": FILING_LOCK})


def file_pending(conn: Connection, limit: int = FILE_BATCH, merge: Merger | None = None) -> tuple[int, list[Filed]]:
    """File up to ``limit`` pending captures in the order heard (see the module docstring);
    return how many were filed and those filed into unknown recordings (a new recording's
    first capture included), each naming the recording it belongs to once the batch is done.
    ``merge``: called with each piece of evidence that two open recordings are one song; without
    it the evidence is not looked for."""
    hold_filing_lock(conn)
    pending = conn.execute(select(unknown_captures).where(unknown_captures.c.status == "pending")
                           .order_by(unknown_captures.c.started_at, unknown_captures.c.capture_id)
                           .limit(limit)).all()
    filed: list[Filed] = []
    for row in pending:
        found, bridged = _file(conn, row, merge is not None)
        filed += found
        if merge is not None and found:
            filed = _follow(conn, [f.capture_id for f in found], bridged, merge, filed)
    return len(pending), filed


def _follow(conn: Connection, asked: list[int], same: SameSong | None, merge: Merger,
            filed: list[Filed]) -> list[Filed]:
    """Merge ``same`` (if any), then look for sequence evidence next to each capture ``asked`` (those just filed,
    a candidate that just became a recording too) and next to those of each recording merged meanwhile, whose
    neighbours on air may be a third recording's; return ``filed`` with the captures merged moved.  Each merge
    leaves one open recording fewer, so this ends."""
    from zamio.recognition import sequence

    while same is not None or asked:
        if same is not None:
            moving = _captures_of(conn, same.younger_id)
            if merge(conn, same):
                filed = [_moved(f, same, conn) for f in filed]
                asked += moving
        same = sequence.evidence(conn, asked.pop(0)) if asked else None
    return filed


def _captures_of(conn: Connection, recording_id: int) -> list[int]:
    return [int(c) for c in conn.execute(select(unknown_captures.c.capture_id)
                                         .where(unknown_captures.c.unknown_id == recording_id)
                                         .order_by(unknown_captures.c.started_at)).scalars()]


def _moved(filed: Filed, same: SameSong, conn: Connection) -> Filed:
    """A capture filed into a recording since merged into another: filed into that one, in its time."""
    if filed.unknown_id != same.younger_id:
        return filed
    ref = conn.execute(select(unknown_recordings.c.unknown_ref)
                       .where(unknown_recordings.c.id == same.older_id)).scalar_one()
    return replace(filed, unknown_id=same.older_id, unknown_ref=ref,
                   offset_seconds=round(filed.offset_seconds + same.shift_seconds, 3))


def _file(conn: Connection, row: StoredRow, bridges: bool) -> tuple[list[Filed], SameSong | None]:
    now = utcnow()
    own = conn.execute(select(unknown_prints.c.hash, unknown_prints.c.frame)
                       .where(unknown_prints.c.capture_id == row.capture_id)).all()
    hashes = np.array([r.hash for r in own], np.int64)
    frames = np.array([r.frame for r in own], np.int64)
    stored = _stored_rows(conn, row.capture_id, hashes)
    recording_of = _recordings_of(conn, np.unique(stored[1]).tolist())
    groups = group_votes(hashes, frames, stored, recording_of) if bridges else []
    open_ids = _open_recordings(conn, {g.group for g in groups[:2]}) if groups else set()
    pair = bridge(groups, open_ids) if groups else None
    beside = candidate_beside(groups, open_ids) if groups and pair is None else None
    candidate = _unknown_capture(conn, -beside[1].group) if beside is not None else None
    if candidate is not None and same_hearing(candidate, row):
        beside = candidate = None
    vote = (pair[0].vote if pair is not None else beside[0].vote if beside is not None
            else best_vote(hashes, frames, stored, recording_of))
    if vote is None:
        conn.execute(update(unknown_captures).where(unknown_captures.c.capture_id == row.capture_id)
                     .values(status="single", filed_at=now))
        return [], None
    other = _unknown_capture(conn, vote.capture_id)
    if other.unknown_id is None and same_hearing(other, row):
        conn.execute(update(unknown_captures).where(unknown_captures.c.capture_id == row.capture_id)
                     .values(status="single", filed_at=now))
        return [], None
    filed: list[Filed] = []
    if other.unknown_id is None:  # a candidate heard again: a new unknown recording
        recording_id = _new_recording(conn, other, now)
        conn.execute(update(unknown_captures).where(unknown_captures.c.capture_id == other.capture_id)
                     .values(status="joined", unknown_id=recording_id, offset_seconds=0.0, aligned=vote.aligned))
        filed.append(_filed(conn, other, recording_id, 0.0, vote))
        other_offset = 0.0
    else:
        recording_id, other_offset = other.unknown_id, float(other.offset_seconds)
    offset = round(other_offset + vote.offset_frames * FRAME_SECONDS, 3)
    filed.append(_join(conn, row, recording_id, offset, vote, now))
    if beside is not None and candidate is not None:  # it heard the same seconds: it joins too, placed through row
        filed.append(_join(conn, candidate, recording_id,
                           round(offset - beside[1].vote.offset_frames * FRAME_SECONDS, 3), beside[1].vote, now))
    return filed, _bridged(conn, row, pair) if pair is not None else None


def _join(conn: Connection, row: StoredRow, recording_id: int, offset: float, vote: Vote, now: datetime) -> Filed:
    """File a capture into a recording, ``offset`` seconds into its time, keeping its prints if it covers a part
    of the song not heard before."""
    conn.execute(update(unknown_captures).where(unknown_captures.c.capture_id == row.capture_id)
                 .values(status="joined", unknown_id=recording_id, offset_seconds=offset, aligned=vote.aligned,
                         filed_at=now))
    if not _extend(conn, recording_id, row, offset):
        conn.execute(delete(unknown_prints).where(unknown_prints.c.capture_id == row.capture_id))
    return _filed(conn, row, recording_id, offset, vote)


def _unknown_capture(conn: Connection, capture_id: int) -> StoredRow:
    return conn.execute(select(unknown_captures).where(unknown_captures.c.capture_id == capture_id)).one()


def _bridged(conn: Connection, row: StoredRow, pair: tuple[GroupVote, GroupVote]) -> SameSong:
    """The evidence of a capture aligned with two recordings over the same seconds: the capture
    joined the older (``pair[0]``); the younger's time 0 in the older's time follows from where
    the capture starts in each."""
    older, younger = pair
    starts = [_start_in(conn, g.vote) for g in pair]
    return SameSong(younger.group, older.group, round(starts[0] - starts[1], 3), "bridge", {
        "capture_id": int(row.capture_id), "station_id": int(row.station_id), "started_at": row.started_at.isoformat(),
        "aligned": [older.vote.aligned, younger.vote.aligned],
        "stretches": [list(older.stretch), list(younger.stretch)]})


def _start_in(conn: Connection, vote: Vote) -> float:
    """Where a capture aligned by ``vote`` starts in the time of the recording of the capture it aligned with."""
    offset = conn.execute(select(unknown_captures.c.offset_seconds)
                          .where(unknown_captures.c.capture_id == vote.capture_id)).scalar()
    return float(offset or 0.0) + vote.offset_frames * FRAME_SECONDS


def group_votes(hashes: np.ndarray, frames: np.ndarray, stored: tuple[np.ndarray, np.ndarray, np.ndarray],
                recording_of: dict[int, int]) -> list[GroupVote]:
    """Given what ``best_vote`` is given, return the capture's best alignment with each recording (and each
    candidate capture) it shares hashes with, best first; ``runner_up`` of each is the best of any other."""
    votes = _tally(hashes, frames, stored)
    if votes is None:
        return []
    keys, tally = votes.keys, votes.tally
    best: dict[int, int] = {}  # group -> the column of its best (capture, bin)
    for column in np.argsort(-tally, kind="stable").tolist():
        best.setdefault(recording_of.get(int(keys[0, column]), -int(keys[0, column])), column)
    ranked = sorted(best.items(), key=lambda item: -int(tally[item[1]]))
    found = []
    for rank, (group, column) in enumerate(ranked):
        runner_up = int(tally[ranked[1 if rank == 0 else 0][1]]) if len(ranked) > 1 else 0
        in_bin = votes.in_bin(column)
        lo_q, hi_q = np.percentile(votes.query_frame[in_bin], STRETCH_QUANTILES) * FRAME_SECONDS
        vote = Vote(int(keys[0, column]), int(np.median(votes.diff[in_bin])), int(tally[column]), runner_up)
        found.append(GroupVote(group, vote, (round(float(lo_q), 3), round(float(hi_q), 3))))
    return found


def bridge(groups: list[GroupVote], open_ids: set[int]) -> tuple[GroupVote, GroupVote] | None:
    """Given a capture's alignments by recording (``group_votes``) and which recordings are open, return
    the two best, the older first, when both are open recordings, each accepted against the best of any
    third and the stretches of the capture they cover overlap by ``BRIDGE_OVERLAP_SECONDS``; else None."""
    if len(groups) < 2 or not {groups[0].group, groups[1].group} <= open_ids:
        return None
    third = groups[2].vote.aligned if len(groups) > 2 else 0
    if any(g.vote.aligned < MIN_ALIGNED or not accept(g.vote.aligned, third) for g in groups[:2]):
        return None
    (a_from, a_to), (b_from, b_to) = groups[0].stretch, groups[1].stretch
    if min(a_to, b_to) - max(a_from, b_from) < BRIDGE_OVERLAP_SECONDS:
        return None
    first, second = sorted((replace(g, vote=replace(g.vote, runner_up=third)) for g in groups[:2]),
                           key=lambda g: g.group)
    return first, second


def candidate_beside(groups: list[GroupVote], open_ids: set[int]) -> tuple[GroupVote, GroupVote] | None:
    """Given a capture's alignments by recording (``group_votes``) and which recordings are open, return the
    open recording and the candidate (a capture heard once) of the two best, in that order, when each is accepted
    against the best of any third and the stretches of the capture they cover overlap by
    ``BRIDGE_OVERLAP_SECONDS``: the candidate is the song the recording is, heard once more, and the capture
    joins the recording rather than making a second recording of the song with the candidate.  Else None."""
    if len(groups) < 2:
        return None
    recording, candidate = sorted(groups[:2], key=lambda g: g.group < 0)
    if recording.group not in open_ids or candidate.group >= 0:
        return None
    third = groups[2].vote.aligned if len(groups) > 2 else 0
    if any(g.vote.aligned < MIN_ALIGNED or not accept(g.vote.aligned, third) for g in (recording, candidate)):
        return None
    (a_from, a_to), (b_from, b_to) = recording.stretch, candidate.stretch
    if min(a_to, b_to) - max(a_from, b_from) < BRIDGE_OVERLAP_SECONDS:
        return None
    return replace(recording, vote=replace(recording.vote, runner_up=third)), candidate


def _open_recordings(conn: Connection, ids: set[int]) -> set[int]:
    """Those of these ids that are unknown recordings neither named nor merged."""
    wanted = sorted(i for i in ids if i > 0)
    if not wanted:
        return set()
    query = select(unknown_recordings.c.id).where(unknown_recordings.c.id.in_(wanted),
                                                  unknown_recordings.c.resolved_at.is_(None))
    return {int(i) for i in conn.execute(query).scalars()}


def same_hearing(first: StoredRow, second: StoredRow) -> bool:
    """Whether two captures are one hearing recorded twice (a file and a snippet of the same
    moment): the same station, their times overlapping.  That is not the song heard again."""
    start, end = first.started_at, first.started_at + timedelta(seconds=float(first.seconds))
    return (first.station_id == second.station_id and second.started_at < end
            and start < second.started_at + timedelta(seconds=float(second.seconds)))


@dataclass(frozen=True)
class _Tally:
    """A capture's hashes against the stored rows sharing them: per hit, the stored capture, the
    capture's own frame and the time difference (frames) with its offset bin; and the votes of each
    (stored capture, offset bin), as ``keys`` columns and their ``tally``."""

    capture: np.ndarray
    query_frame: np.ndarray
    diff: np.ndarray
    bins: np.ndarray
    keys: np.ndarray
    tally: np.ndarray

    def in_bin(self, column: int) -> np.ndarray:
        """Booleans over the hits: those voting for column ``column`` of ``keys``."""
        return (self.capture == self.keys[0, column]) & (self.bins == self.keys[1, column])


def _tally(hashes: np.ndarray, frames: np.ndarray, stored: tuple[np.ndarray, np.ndarray, np.ndarray]) -> _Tally | None:
    """Join a capture's (hashes, frames) with the stored rows (hash, capture, frame) sharing its hashes and
    count the votes of (stored capture, offset bin); None when no hash is shared."""
    s_hash, s_capture, s_frame = stored
    if not hashes.size or not s_hash.size:
        return None
    order = np.argsort(hashes, kind="stable")
    q_hash, q_frame = hashes[order], frames[order]
    lo = np.searchsorted(q_hash, s_hash, "left")
    hi = np.searchsorted(q_hash, s_hash, "right")
    counts = hi - lo
    if not counts.sum():
        return None
    stored_at = np.repeat(np.arange(s_hash.size), counts)
    query_at = np.concatenate([np.arange(a, b) for a, b in zip(lo[counts > 0], hi[counts > 0], strict=True)])
    diff = s_frame[stored_at] - q_frame[query_at]
    bins = np.floor_divide(diff, OFFSET_BIN_FRAMES)
    keys, tally = np.unique(np.stack([s_capture[stored_at], bins]), axis=1, return_counts=True)
    return _Tally(s_capture[stored_at], q_frame[query_at], diff, bins, keys, tally)


def best_vote(hashes: np.ndarray, frames: np.ndarray, stored: tuple[np.ndarray, np.ndarray, np.ndarray],
              recording_of: dict[int, int]) -> Vote | None:
    """Given a capture's hashes and frames, the stored rows (hash, capture, frame) sharing
    its hashes and the recording of each filed capture, return the best alignment when
    ``match.accept`` takes it over the best alignment with any other recording and it has at
    least ``MIN_ALIGNED`` hashes, else None."""
    votes = _tally(hashes, frames, stored)
    if votes is None:
        return None
    keys, tally = votes.keys, votes.tally
    best = int(np.argmax(tally))
    capture_id, aligned = int(keys[0, best]), int(tally[best])
    group = recording_of.get(capture_id, -capture_id)
    others = [int(n) for c, n in zip(keys[0], tally, strict=True) if recording_of.get(int(c), -int(c)) != group]
    runner_up = max(others, default=0)
    if aligned < MIN_ALIGNED or not accept(aligned, runner_up):
        return None
    return Vote(capture_id, int(np.median(votes.diff[votes.in_bin(best)])), aligned, runner_up)


def _stored_rows(conn: Connection, capture_id: int, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rows of the unknown index sharing a hash with the capture, of captures filed before it."""
    return _rows_sharing(conn, hashes, (unknown_captures.c.status != "pending")
                         & (unknown_prints.c.capture_id != capture_id))


def _rows_sharing(conn: Connection, hashes: np.ndarray,
                  which: ColumnElement[bool]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rows (hash, capture, frame) of the unknown index sharing one of ``hashes``, of the captures ``which``
    selects (a condition on ``unknown_captures`` and ``unknown_prints``)."""
    found: list[Sequence[int]] = []
    distinct = np.unique(hashes).tolist()
    for start in range(0, len(distinct), LOOKUP_BATCH):
        query = (select(unknown_prints.c.hash, unknown_prints.c.capture_id, unknown_prints.c.frame)
                 .select_from(unknown_prints.join(unknown_captures,
                                                  unknown_captures.c.capture_id == unknown_prints.c.capture_id))
                 .where(unknown_prints.c.hash.in_(distinct[start:start + LOOKUP_BATCH]), which))
        found += [tuple(r) for r in conn.execute(query)]
    table = np.array(found, np.int64).reshape(-1, 3)
    return table[:, 0], table[:, 1], table[:, 2]


def singles_sharing_audio(conn: Connection, fp: Fingerprint, heard_before: datetime) -> list[int]:
    """The captures heard once before ``heard_before`` (candidates of no recording: ``single``) whose kept prints
    align with ``fp`` (a registered track's prints, made as the unknown index's) on ``MIN_ALIGNED`` hashes or
    more at one time difference: the airings of the track heard once, to be recognised by the catalog's matcher."""
    hashes, frames = np.asarray(fp.hashes, np.int64), np.asarray(fp.offsets, np.int64)
    single = (unknown_captures.c.status == "single") & unknown_captures.c.unknown_id.is_(None) & (
        unknown_captures.c.started_at < heard_before)
    votes = _tally(hashes, frames, _rows_sharing(conn, hashes, single))
    if votes is None:
        return []
    best: dict[int, int] = {}
    for capture_id, count in zip(votes.keys[0].tolist(), votes.tally.tolist(), strict=True):
        best[capture_id] = max(best.get(capture_id, 0), count)
    return sorted(capture_id for capture_id, count in best.items() if count >= MIN_ALIGNED)


def kept_prints(conn: Connection, capture_id: int) -> tuple[np.ndarray, np.ndarray, StoredRow]:
    """The prints the unknown index keeps of a capture (hashes, frames) and its ``unknown_captures`` row."""
    rows = conn.execute(select(unknown_prints.c.hash, unknown_prints.c.frame)
                        .where(unknown_prints.c.capture_id == capture_id).order_by(unknown_prints.c.frame)).all()
    heard = conn.execute(select(unknown_captures).where(unknown_captures.c.capture_id == capture_id)).one()
    return np.array([r.hash for r in rows], np.int64), np.array([r.frame for r in rows], np.int64), heard


def forget(conn: Connection, capture_id: int) -> None:
    """Take a capture out of the unknown index: it is now heard as a catalog track, never again unknown music."""
    conn.execute(delete(unknown_prints).where(unknown_prints.c.capture_id == capture_id))


def _recordings_of(conn: Connection, capture_ids: list[int]) -> dict[int, int]:
    """The unknown recording of each of these captures that belongs to one."""
    found: dict[int, int] = {}
    for start in range(0, len(capture_ids), LOOKUP_BATCH):
        query = select(unknown_captures.c.capture_id, unknown_captures.c.unknown_id).where(
            unknown_captures.c.capture_id.in_(capture_ids[start:start + LOOKUP_BATCH]),
            unknown_captures.c.unknown_id.is_not(None))
        found.update((int(c), int(u)) for c, u in conn.execute(query))
    return found


def unknown_ref(number: int) -> str:
    """The reference of the ``number``-th unknown recording: U-000001 onwards."""
    return f"U-{number:0{REF_DIGITS}d}"


def next_ref(conn: Connection) -> str:
    """The reference the next unknown recording gets (callers hold filing's lock)."""
    last = conn.execute(select(func.max(unknown_recordings.c.unknown_ref))).scalar()
    return unknown_ref(int(last.removeprefix("U-")) + 1 if last else 1)


def _new_recording(conn: Connection, first: StoredRow, now: datetime) -> int:
    heard = _heard(conn, first.capture_id)
    row = {"unknown_ref": next_ref(conn), "first_heard_at": first.started_at, "last_heard_at": first.started_at,
           "span_from": 0.0, "span_to": round(float(first.seconds), 3), "icy_title": heard.icy_title,
           "excerpt_path": heard.audio_path, "excerpt_host": heard.audio_host if heard.audio_path else None,
           "created_at": now}
    primary = conn.execute(insert(unknown_recordings).values(**row)).inserted_primary_key
    assert primary is not None
    return int(primary[0])


def _extend(conn: Connection, recording_id: int, row: StoredRow, offset: float) -> bool:
    """Record a capture joining a recording; return whether it covers a part of the song that no member whose
    prints are kept covers (:func:`longest_unheard`), so its prints must stay for later airings to join on."""
    recording = conn.execute(select(unknown_recordings).where(unknown_recordings.c.id == recording_id)).one()
    end = offset + float(row.seconds)
    heard_before = kept_stretches(conn, recording_id, leaving_out=row.capture_id)
    new_part = longest_unheard((offset, end), heard_before) >= NEW_PART_SECONDS
    heard = _heard(conn, row.capture_id)
    values: dict[str, object] = {
        "first_heard_at": min(recording.first_heard_at, row.started_at),
        "last_heard_at": max(recording.last_heard_at, row.started_at),
        "span_from": round(min(recording.span_from, offset), 3), "span_to": round(max(recording.span_to, end), 3)}
    if recording.icy_title is None and heard.icy_title:
        values["icy_title"] = heard.icy_title
    if recording.excerpt_path is None and heard.audio_path:
        values.update(excerpt_path=heard.audio_path, excerpt_host=heard.audio_host)
    conn.execute(update(unknown_recordings).where(unknown_recordings.c.id == recording_id).values(**values))
    return new_part


def kept_stretches(conn: Connection, recording_id: int, leaving_out: int | None = None) -> list[tuple[float, float]]:
    """The stretches of the recording's time covered by its members whose prints the index keeps (but
    ``leaving_out``), as (from, to) seconds: what a lookup in the index can align with."""
    c = unknown_captures.c
    kept = select(unknown_prints.c.capture_id).where(unknown_prints.c.capture_id == c.capture_id).exists()
    which = [c.unknown_id == recording_id, kept] + ([c.capture_id != leaving_out] if leaving_out is not None else [])
    rows = conn.execute(select(c.offset_seconds, c.seconds).where(*which)).all()
    return [(float(r.offset_seconds or 0.0), float(r.offset_seconds or 0.0) + float(r.seconds)) for r in rows]


def longest_unheard(stretch: tuple[float, float], heard: Sequence[tuple[float, float]]) -> float:
    """The longest part of ``stretch`` (from, to) that none of the ``heard`` stretches covers, in seconds.

    Not the span from the first to the last second heard: airings captured at other moments of the song leave
    holes inside that span, and a capture filling one must keep its prints, or the next airing heard there
    finds nothing to join and starts a second recording of the song."""
    start, end = stretch
    longest, reached = 0.0, start
    for lo, hi in sorted(heard):
        if hi <= reached:
            continue
        if lo >= end:
            break
        longest = max(longest, lo - reached)
        reached = max(reached, hi)
    return max(longest, end - reached, 0.0)


def shared_seconds(first: Sequence[tuple[float, float]], second: Sequence[tuple[float, float]]) -> float:
    """The seconds that both sets of stretches (from, to) cover."""
    return sum(max(0.0, min(a_to, b_to) - max(a_from, b_from))
               for a_from, a_to in _union(first) for b_from, b_to in _union(second))


def _union(stretches: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for lo, hi in sorted(stretches):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def _heard(conn: Connection, capture_id: int) -> StoredRow:
    return conn.execute(select(captures.c.icy_title, captures.c.audio_path, captures.c.audio_host)
                        .where(captures.c.id == capture_id)).one()


def _filed(conn: Connection, row: StoredRow, recording_id: int, offset: float, vote: Vote) -> Filed:
    ref = conn.execute(select(unknown_recordings.c.unknown_ref)
                       .where(unknown_recordings.c.id == recording_id)).scalar_one()
    confidence = 1.0 - chance_probability(vote.aligned, vote.runner_up)
    return Filed(int(row.capture_id), int(row.station_id), row.started_at, recording_id, ref, offset, vote.aligned,
                 round(confidence, 6))
