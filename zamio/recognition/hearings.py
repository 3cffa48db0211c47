"""Filing a long hearing of unknown music as one: where two hearings hold the same audio.

A station playing music the catalog lacks is heard longer (``zamio.scanning.listening``), in
pieces of an ordinary capture's length, back to back (``zamio.recognition.pieces``).  Filed one
by one, as ordinary captures are (``zamio.recognition.unknown``), the pieces of two airings
would join only where two pieces happen to share enough audio, and one song would be split over
as many recordings as it has stretches heard (``bench/capture_coverage_model.py``).  So the
pending pieces of one long capture (one ``hearing_key``) are filed together by :func:`file`:

* their prints, placed in the hearing's time, are looked up among the stored prints of every
  other hearing (a capture heard alone is a hearing of one piece), whose prints are placed in
  that hearing's time; the votes of (hearing, time difference) are counted, and a hearing's best
  alignment stands when it has ``MIN_ALIGNED`` hashes and ``match.accept`` takes it against the
  best of the hearings that align with nothing (the level of chance);
* an alignment covers a stretch of each hearing (the 5-95 % quantiles of its hashes' times).
  One continuous stretch of shared audio is one song on both sides: the pieces it covers over
  ``COVER_SHARE`` of their seconds are of one recording, on either side;
* two alignments whose stretches of this hearing overlap by ``BRIDGE_OVERLAP_SECONDS`` share the
  same seconds: one song too.  Two that do not overlap are kept apart: between them the hearing
  may have changed song.  That is why a piece must be covered over more than half of it: two
  stretches covering one piece so overlap within it;
* each group so linked is one recording: the one it holds (several: merged into the oldest by the
  caller's ``merge``, as filing's other merges), else a new one; the hearing's covered pieces, and
  the candidates of other hearings covered, join it, placed in its time through the alignments.
  Pieces covered by nothing stay candidates, their prints kept for the airings to come.

A change of song is never looked for in the sound: measured, it is missed too often and found
where there is none (``bench/segue_bench.py``).  The residual risk is the one every filing has:
two songs always aired back to back with the same change between them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import Connection, select

from zamio.db.engine import StoredRow
from zamio.db.tables import unknown_captures, unknown_prints
from zamio.recognition.fingerprint import FRAME_SECONDS
from zamio.recognition.match import accept
from zamio.recognition.unknown import (
    BRIDGE_OVERLAP_SECONDS,
    OFFSET_BIN_FRAMES,
    STRETCH_QUANTILES,
    same_hearing,
    stored_rows,
    tally_votes,
)

#: A piece joins an alignment's recording when the alignment's stretch covers this share of its
#: seconds (6 s of a 20 s piece: the audio two captures must share to be linked at all, as
#: ``bench/capture_coverage_model.py`` has it); covered by several, it joins the one covering most.
JOIN_SHARE = 0.3
#: A piece of a recording links an alignment to that recording only when covered over this share of
#: it.  With ``JOIN_SHARE`` they add up to more than the whole piece: a piece that joined one song's
#: recording by its seconds of that song can never link another song's hearing by the rest of it.
HOLD_SHARE = 0.75


@dataclass
class Part:
    """A piece of a hearing (one ``unknown_captures`` row): where it starts in its hearing's time."""

    row: StoredRow
    hearing: str
    start: float  # seconds from its hearing's first piece

    @property
    def end(self) -> float:
        return self.start + float(self.row.seconds)

    def cover(self, stretch: tuple[float, float]) -> float:
        """The seconds of this piece a stretch of its hearing covers."""
        return max(0.0, min(self.end, stretch[1]) - max(self.start, stretch[0]))

    def joins(self, stretch: tuple[float, float]) -> bool:
        return self.cover(stretch) >= JOIN_SHARE * float(self.row.seconds)

    def holds(self, stretch: tuple[float, float]) -> bool:
        return self.cover(stretch) >= HOLD_SHARE * float(self.row.seconds)


@dataclass
class Alignment:
    """This hearing's best alignment with another: the other's time is this one's plus ``shift``."""

    hearing: str
    aligned: int
    runner_up: int
    shift: float
    mine: tuple[float, float]  # the stretch of this hearing it covers (seconds in its time)
    theirs: tuple[float, float]  # and of the other
    covered: list[Part] = field(default_factory=list)  # the other hearing's pieces it covers enough to join

    def holding(self) -> list[Part]:
        """The other hearing's pieces of a recording it covers enough to link: the recordings it is of."""
        return [p for p in self.covered if p.row.unknown_id is not None and p.holds(self.theirs)]


@dataclass
class Outcome:
    """What filing one hearing decided: its pieces and the others' joined, each with its recording
    (None: a new one, numbered by the caller) and offset in it; the recordings to merge."""

    joined: list[tuple[Part, int | None, float, Alignment, int]]  # ..., the group (one new recording per group)
    single: list[Part]
    merges: list[tuple[int, int, float]]  # (younger, older, younger's time 0 in the older's time)


def hearing_of(row: StoredRow) -> str:
    """The hearing a piece belongs to: its long capture's key, or the capture alone."""
    return row.hearing_key or f"capture:{row.capture_id}"


def parts_of(rows: Sequence[StoredRow]) -> list[Part]:
    """The pieces of one hearing placed in its time (from its first piece's start)."""
    first = min(r.started_at for r in rows)
    return [Part(r, hearing_of(r), round((r.started_at - first).total_seconds(), 3))
            for r in sorted(rows, key=lambda r: r.started_at)]


@dataclass(frozen=True)
class Loaded:
    """A hearing to file: its pieces and prints (hashes, frames in its time), and the other hearings sharing a
    hash with it: their pieces and their stored prints (hash, hearing index in ``others``' order, frame in
    that hearing's time)."""

    mine: list[Part]
    prints: tuple[np.ndarray, np.ndarray]
    others: dict[str, list[Part]]
    stored: tuple[np.ndarray, np.ndarray, np.ndarray]


def decide(loaded: Loaded, min_aligned: int) -> Outcome:
    """Decide which pieces of a hearing, and of the others, join which recording (see the module docstring)."""
    mine = loaded.mine
    alignments = _alignments(loaded.prints, loaded.others, loaded.stored, min_aligned)
    groups = _groups(alignments)
    group_of = {id(a): number for number, group in enumerate(groups) for a in group}
    chosen = {p.row.capture_id: best for p in mine if (best := _best_cover(p, alignments)) is not None}
    joined: list[tuple[Part, int | None, float, Alignment, int]] = []
    merges: list[tuple[int, int, float]] = []
    taken: set[int] = set()
    for number, group in enumerate(groups):
        mine_here = [p for p in mine if p.row.capture_id in chosen and group_of[id(chosen[p.row.capture_id])] == number]
        places = _recording_places(group)
        target = min(places) if places else None
        base = places[target] if target is not None else -_earliest(group, mine_here)
        merges += [(other, target, round(base - place, 3)) for other, place in sorted(places.items())
                   if target is not None and other != target]
        for part in mine_here:
            taken.add(part.row.capture_id)
            joined.append((part, target, round(part.start + base, 3), chosen[part.row.capture_id], number))
        for alignment in group:
            for part in alignment.covered:
                if part.row.unknown_id is None and part.row.capture_id not in taken:
                    taken.add(part.row.capture_id)
                    joined.append((part, target, round(part.start - alignment.shift + base, 3), alignment, number))
    return Outcome(joined, [p for p in mine if p.row.capture_id not in taken], merges)


def _alignments(prints: tuple[np.ndarray, np.ndarray], others: dict[str, list[Part]],
                stored: tuple[np.ndarray, np.ndarray, np.ndarray], min_aligned: int) -> list[Alignment]:
    """The best alignment with each other hearing that stands against chance."""
    votes = tally_votes(prints[0], prints[1], stored)
    if votes is None:
        return []
    names = list(others)
    best: dict[int, int] = {}  # hearing index -> its best column
    for column in np.argsort(-votes.tally, kind="stable").tolist():
        best.setdefault(int(votes.keys[0, column]), column)
    chance = max((int(votes.tally[c]) for c in best.values() if votes.tally[c] < min_aligned), default=0)
    found = []
    for index, column in best.items():
        aligned = int(votes.tally[column])
        if aligned < min_aligned or not accept(aligned, chance):
            continue
        shift = float(np.median(votes.diff[votes.in_bin(column)]))
        # The stretch from every hash at that shift, the neighbouring bin's too: two pieces cut half a frame
        # apart split one alignment over two bins.
        near = (votes.capture == index) & (np.abs(votes.diff - shift) <= OFFSET_BIN_FRAMES)
        here = votes.query_frame[near]
        there = here + votes.diff[near]
        mine = tuple(round(float(q), 3) for q in np.percentile(here, STRETCH_QUANTILES) * FRAME_SECONDS)
        theirs = tuple(round(float(q), 3) for q in np.percentile(there, STRETCH_QUANTILES) * FRAME_SECONDS)
        alignment = Alignment(names[index], aligned, chance, shift * FRAME_SECONDS,
                              (mine[0], mine[1]), (theirs[0], theirs[1]))
        alignment.covered = [p for p in others[alignment.hearing] if p.joins(alignment.theirs)]
        found.append(alignment)
    return sorted(found, key=lambda a: -a.aligned)


def _groups(alignments: list[Alignment]) -> list[list[Alignment]]:
    """The alignments linked into one song: by a recording both cover, or by overlapping stretches of this
    hearing (union-find)."""
    parent = list(range(len(alignments)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    holder: dict[int, int] = {}
    for i, alignment in enumerate(alignments):
        for part in alignment.holding():
            parent[root(i)] = root(holder.setdefault(int(part.row.unknown_id), i))
        for j in range(i):
            (a_from, a_to), (b_from, b_to) = alignment.mine, alignments[j].mine
            if min(a_to, b_to) - max(a_from, b_from) >= BRIDGE_OVERLAP_SECONDS:
                parent[root(i)] = root(j)
    grouped: dict[int, list[Alignment]] = defaultdict(list)
    for i, alignment in enumerate(alignments):
        grouped[root(i)].append(alignment)
    return list(grouped.values())


def _recording_places(group: list[Alignment]) -> dict[int, float]:
    """Each recording a group covers, and where this hearing's time 0 falls in its time (the median over the
    pieces of it covered: a piece's offset in the recording less its start in this hearing's time)."""
    found: dict[int, list[float]] = defaultdict(list)
    for alignment in group:
        for part in alignment.holding():
            start_here = part.start - alignment.shift  # the piece's start in this hearing's time
            found[int(part.row.unknown_id)].append(float(part.row.offset_seconds or 0.0) - start_here)
    return {recording: round(float(np.median(places)), 3) for recording, places in found.items()}


def _earliest(group: list[Alignment], mine: list[Part]) -> float:
    """Where the first piece a new recording takes starts, in this hearing's time: its time 0."""
    starts = [p.start for p in mine]
    starts += [p.start - a.shift for a in group for p in a.covered if p.row.unknown_id is None]
    return min(starts, default=0.0)


def _best_cover(part: Part, alignments: list[Alignment]) -> Alignment | None:
    """The alignment covering most of this hearing's piece, if any covers enough of it to join."""
    covering = [a for a in alignments if part.joins(a.mine)]
    return max(covering, key=lambda a: (part.cover(a.mine), a.aligned), default=None)


def load(conn: Connection, rows: Sequence[StoredRow]) -> Loaded:
    """This hearing's pieces and prints, and the other hearings sharing a hash with it: their pieces and their
    stored prints placed in their time.  A hearing of the same station at the same moment is not another (one
    hearing recorded twice: ``unknown.same_hearing``)."""
    mine = parts_of(rows)
    hashes, frames = [], []
    for part in mine:
        own = conn.execute(select(unknown_prints.c.hash, unknown_prints.c.frame)
                           .where(unknown_prints.c.capture_id == part.row.capture_id)).all()
        hashes += [r.hash for r in own]
        frames += [r.frame + round(part.start / FRAME_SECONDS) for r in own]
    prints = (np.array(hashes, np.int64), np.array(frames, np.int64))
    ids = {p.row.capture_id for p in mine}
    s_hash, s_capture, s_frame = stored_rows(conn, -1, prints[0])
    keep = ~np.isin(s_capture, list(ids))
    s_hash, s_capture, s_frame = s_hash[keep], s_capture[keep], s_frame[keep]
    others = _other_hearings(conn, np.unique(s_capture).tolist())
    others = {hearing: parts for hearing, parts in others.items()
              if not any(same_hearing(p.row, q.row) for p in parts for q in mine)}
    names = list(others)
    where = {p.row.capture_id: (names.index(h), p.start) for h, parts in others.items() for p in parts}
    placed = [(h, c, f) for h, c, f in zip(s_hash.tolist(), s_capture.tolist(), s_frame.tolist(), strict=True)
              if c in where]
    stored = (np.array([h for h, _, _ in placed], np.int64),
              np.array([where[c][0] for _, c, _ in placed], np.int64),
              np.array([f + round(where[c][1] / FRAME_SECONDS) for _, c, f in placed], np.int64))
    return Loaded(mine, prints, others, stored)


def _other_hearings(conn: Connection, capture_ids: list[int]) -> dict[str, list[Part]]:
    """The hearings of these stored captures, each with all its filed pieces placed in its time."""
    if not capture_ids:
        return {}
    rows = conn.execute(select(unknown_captures).where(unknown_captures.c.capture_id.in_(capture_ids))).all()
    keys = sorted({r.hearing_key for r in rows if r.hearing_key is not None})
    whole = list(conn.execute(select(unknown_captures).where(
        unknown_captures.c.hearing_key.in_(keys), unknown_captures.c.status != "pending")).all()) if keys else []
    by_hearing: dict[str, list[StoredRow]] = defaultdict(list)
    for row in [r for r in rows if r.hearing_key is None] + whole:
        by_hearing[hearing_of(row)].append(row)
    return {hearing: parts_of(pieces) for hearing, pieces in sorted(by_hearing.items())}
