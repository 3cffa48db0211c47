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
* its same seconds match a recording and a candidate (``votes.candidate_beside``): the candidate
  is the recording's song heard once more, a capture that missed it when it was filed (a
  quiet passage, or heard before the recording existed).  The capture joins the recording, and
  the candidate joins it too, placed through the capture;
* it holds two of them at different seconds of itself (``votes.chain``: two candidates, a
  recording and a candidate, or two recordings, each accepted against any third), and something
  says it holds one song: the same seconds aligned in both (two candidates heard over one
  stretch), or its stream title, on the captures it aligned with too, naming an item on each
  station (``zamio.recognition.titles.one_item``).  They are the song at two points that no
  capture heard together before: the capture chains them as above, or, two recordings, merges
  them (``titled``).  Otherwise it may hold the end of one song and the start of the next.

Each capture filed into a recording is returned (:class:`Filed`), for the scan to record
its detection; the recording keeps its first and last time heard, the first stream title
a station sent with it and the first of its captures that kept audio (its excerpt).

Filing also finds two open recordings to be one song (:class:`SameSong`), and hands the
evidence to the caller's ``merge`` (``zamio.playlogs.identify.merge_same_song``: the younger
merged into the older, plays, held money and prints following, an audit entry naming it):

* *a bridge*: the capture's same seconds align confidently with both (each accepted against
  the best of any third recording, the two aligned stretches of the capture overlapping by at
  least ``votes.BRIDGE_OVERLAP_SECONDS``).  A capture holding the end of one song and the start of
  the next aligns with both too, but with stretches that do not overlap: never merged by that;
* *titled*: the capture holds both at different seconds of itself, and its stream title is on the
  captures it aligned with too and names an item on each station (above);
* *a sequence* (``zamio.recognition.sequence``): the two heard on consecutive captures of one
  station with the same gap in the song's time on at least two airings, or on one airing whose
  two captures carry the same stream title.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from itertools import product

import numpy as np
from sqlalchemy import ColumnElement, Connection, delete, func, insert, select, text, update

from zamio.db.engine import StoredRow, insert_ignore, is_sqlite, utcnow
from zamio.db.tables import captures, unknown_captures, unknown_prints, unknown_recordings
from zamio.recognition import titles
from zamio.recognition.fingerprint import FRAME_SECONDS, Fingerprint, IndexProfile, fingerprint
from zamio.recognition.match import chance_probability
from zamio.recognition.stretches import longest_unheard
from zamio.recognition.votes import (
    MIN_ALIGNED,
    GroupVote,
    Vote,
    best_vote,
    bridge,
    candidate_beside,
    chain,
    count_votes,
    group_votes,
    overlapping,
)

#: Denser than the catalog's index: both sides of a lookup here are stored prints of a
#: few seconds of overlap, not a query of every peak against a whole song.  12 peaks a
#: second align about 90 hashes over 6 s of one song, against at most 14 by chance.
UNKNOWN_PROFILE = IndexProfile(peaks_per_second=12.0)
#: A joining capture keeps its prints when it covers this much of the song that no kept member covers.
NEW_PART_SECONDS = 2.0
LOOKUP_BATCH = 5000  # hashes per statement (under SQLite's parameter limit)
FILE_BATCH = 200  # pending captures filed per call
#: PostgreSQL advisory lock key of filing ("zamio" "U"): SQLite's one writer already serialises it.
FILING_LOCK = 0x7A616D55
REF_DIGITS = 6


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
class SameSong:
    """Evidence found while filing that two open unknown recordings are one song."""

    younger_id: int
    older_id: int
    shift_seconds: float  # the younger's time 0 in the older's time
    kind: str  # "bridge", "titled" or "sequence"
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
    kind = "bridge"
    if groups and pair is None and beside is None:
        pair, beside, kind = _chained(conn, row, groups, open_ids)
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
    return filed, _bridged(conn, row, pair, kind) if pair is not None else None


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


def _chained(conn: Connection, row: StoredRow, groups: list[GroupVote],
             open_ids: set[int]) -> tuple[tuple[GroupVote, GroupVote] | None, tuple[GroupVote, GroupVote] | None, str]:
    """The two groups a capture chains (:func:`chain`) when they are one song: aligned over the same seconds of
    it (two candidates: ``"bridge"``), or the capture's title and theirs say one item (``"titled"``).  Returned as
    filing reads them: two recordings as a pair to merge, else as a group to join and a candidate to pull in."""
    found = chain(groups, open_ids)
    if found is None:
        return None, None, ""
    if overlapping(*found):
        kind = "bridge"
    elif titles.one_item(conn, [int(row.capture_id), *(g.vote.capture_id for g in found)]):
        kind = "titled"
    else:
        return None, None, ""
    if not _as_aired(conn, row, found):
        return None, None, ""
    return (found, None, kind) if found[1].group > 0 else (None, found, kind)


def _as_aired(conn: Connection, row: StoredRow, found: tuple[GroupVote, GroupVote]) -> bool:
    """Whether the capture and the two groups it chains, placed in one time through it, lie as their stations
    aired them: two captures of one station within one airing (``sequence.SAME_AIRING_SECONDS``) as far apart in
    the song as in time, within ``sequence.TOLERANCE_SECONDS``.  A song that repeats itself aligns a capture at
    each repeat, and only the airing tells which is its place; a chain placed at another repeat would put the
    recording's members at the wrong seconds of the song, where no later airing finds them."""
    from zamio.recognition import sequence

    start = _start_in(conn, found[0].vote)
    parts = [_placed_members(conn, found[0].group, 0.0), [(int(row.station_id), row.started_at, start)],
             _placed_members(conn, found[1].group, start - _start_in(conn, found[1].vote))]
    return lie_as_aired(parts, sequence.SAME_AIRING_SECONDS, sequence.TOLERANCE_SECONDS)


Placed = tuple[int, datetime, float]  # a capture placed in a recording's time: station, heard at, offset (seconds)


def lie_as_aired(parts: Sequence[Sequence[Placed]], airing_seconds: float, tolerance_seconds: float) -> bool:
    """Whether captures placed in one time lie as aired: any two of different ``parts`` heard on one station less
    than ``airing_seconds`` apart lie as far apart in the song as in time, within ``tolerance_seconds``."""
    for k, part in enumerate(parts):
        for other in parts[k + 1:]:
            for (station, at, offset), (other_station, other_at, other_offset) in product(part, other):
                gap = (other_at - at).total_seconds()
                if (station == other_station and abs(gap) < airing_seconds
                        and abs(other_offset - offset - gap) > tolerance_seconds):
                    return False
    return True


def _placed_members(conn: Connection, group: int, shift: float) -> list[Placed]:
    """The captures of a recording (or the one candidate: minus its capture id) as (station, heard at, offset in
    the recording's time moved ``shift`` seconds)."""
    c = unknown_captures.c
    which = c.unknown_id == group if group > 0 else c.capture_id == -group
    rows = conn.execute(select(c.station_id, c.started_at, c.offset_seconds).where(which)).all()
    return [(int(r.station_id), r.started_at, float(r.offset_seconds or 0.0) + shift) for r in rows]


def _bridged(conn: Connection, row: StoredRow, pair: tuple[GroupVote, GroupVote], kind: str) -> SameSong:
    """The evidence of a capture aligned with two recordings (over the same seconds, or under one title): the
    capture joined the older (``pair[0]``); the younger's time 0 in the older's time follows from where the
    capture starts in each."""
    older, younger = pair
    starts = [_start_in(conn, g.vote) for g in pair]
    return SameSong(younger.group, older.group, round(starts[0] - starts[1], 3), kind, {
        "capture_id": int(row.capture_id), "station_id": int(row.station_id), "started_at": row.started_at.isoformat(),
        "aligned": [older.vote.aligned, younger.vote.aligned],
        "stretches": [list(older.stretch), list(younger.stretch)]})


def _start_in(conn: Connection, vote: Vote) -> float:
    """Where a capture aligned by ``vote`` starts in the time of the recording of the capture it aligned with."""
    offset = conn.execute(select(unknown_captures.c.offset_seconds)
                          .where(unknown_captures.c.capture_id == vote.capture_id)).scalar()
    return float(offset or 0.0) + vote.offset_frames * FRAME_SECONDS


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
    votes = count_votes(hashes, frames, _rows_sharing(conn, hashes, single))
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


def _heard(conn: Connection, capture_id: int) -> StoredRow:
    return conn.execute(select(captures.c.icy_title, captures.c.audio_path, captures.c.audio_host)
                        .where(captures.c.id == capture_id)).one()


def _filed(conn: Connection, row: StoredRow, recording_id: int, offset: float, vote: Vote) -> Filed:
    ref = conn.execute(select(unknown_recordings.c.unknown_ref)
                       .where(unknown_recordings.c.id == recording_id)).scalar_one()
    confidence = 1.0 - chance_probability(vote.aligned, vote.runner_up)
    return Filed(int(row.capture_id), int(row.station_id), row.started_at, recording_id, ref, offset, vote.aligned,
                 round(confidence, 6))
