"""Sequence evidence: two unknown recordings heard one after the other are one song heard at two points.

The scan hears a station every two minutes or so; two airings of one song whose captures fall
at the same points make one unknown recording per point heard (``zamio.recognition.unknown``),
each right, never joined, since no capture holds audio of two of them.  Yet each airing tells
how they lie in the song: capture *a* of recording R heard at ``t_a``, ``o_a`` seconds into R's
time, and the station's next capture *b* of recording R2 at ``t_b``, ``o_b`` into R2's, place
R2's time 0 at ``o_a + (t_b - t_a) - o_b`` in R's time, if they are one song.  Two different
songs give that figure by chance; two airings giving it again, within ``TOLERANCE_SECONDS``,
do not.  :func:`evidence` is asked after each capture filed into a recording and returns the
:class:`~zamio.recognition.unknown.SameSong` to merge when:

* the consecutive captures of one station heard as R and R2 (either first) place R2 within
  ``TOLERANCE_SECONDS`` of one another on at least ``MIN_AIRINGS`` airings (different stations,
  or song starts at least ``SAME_AIRING_SECONDS`` apart), or on one airing whose two captures
  carry the same stream title (:func:`titles_say`: the station says it aired one item across
  both), and at least half of all such pairs agree;
* the stations did not announce a change of item between the two on two of those airings (the same
  two titles, one on each capture: :func:`announced_change`);
* placed so, two recordings whose kept prints overlap in the song's time share the audio there
  (``zamio.recognition.naming.recording_alignment`` agrees within ``TOLERANCE_SECONDS``); where an
  airing's titles say one item and they overlap by less than ``AUDIO_CHECK_SECONDS``, only an
  alignment elsewhere refuses it;
* no capture contradicts it: a capture of a station next to one of theirs, falling within the
  song so placed, heard as a catalog track or as a third recording.

A stream title is read as naming the item aired only where it changes with the items
(``zamio.recognition.titles``): a title the station kept on for longer than ``TITLE_RUN_SECONDS``
(its name, a programme's) names no item, and one also on a capture heard as another song confirms
nothing.  A capture keeps the last title it heard, so one across a change of song carries the next
song's title: a pair of it and the next capture looks like one item when it holds mostly the song
before.  A station that leaves the last title on while it airs a song from outside its playout
system does the same.  That is the titles' residual risk; naming tells the songs apart as below.

The residual risk is two different songs always aired back to back with the same gap between
them (a segue of two album tracks, a jingle always followed by the same bed): every airing
places the second at the same point after the first, and no airing of one without the other
contradicts it.  Such a pair is merged.  Naming the recording tells them apart, from the track's audio: the
captures placed outside the track are split off as a recording of their own before the naming
(``zamio.playlogs.identify.split_outside``, ``docs/operations.md``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from zamio.db.engine import StoredRow
from zamio.db.tables import captures, unknown_captures, unknown_recordings
from zamio.recognition.stretches import shared_seconds
from zamio.recognition.titles import heard_as_track, run_of, title_key
from zamio.recognition.unknown import SameSong, kept_stretches

#: Placements agreeing this closely are one: capture start times (the stream's first byte, its
#: buffered burst taken off) and offsets (aligned to 64 ms) are each good to a few hundred ms.
#: Measured (bench/results/unknown_week.md): two airings' pairs of one song agreed within 6 ms.
TOLERANCE_SECONDS = 1.0
MIN_AIRINGS = 2
#: Two hearings of a song whose starts on one station lie closer than this are one airing.
SAME_AIRING_SECONDS = 900.0
#: Consecutive captures further apart than this are not read as one song heard on (a scan gap).
MAX_GAP_SECONDS = 600.0
#: A neighbouring capture contradicts only when it lies this far inside the song's placed span.
INSIDE_SECONDS = 2.0
#: Two recordings placed to share this much of the song's time must align there; sharing less, they may not
#: (bench/hearing_filing_bench.py: 6 s shared by two recordings of one wesnoth song, on five airings placed
#: within 30 ms under one title, did not align), and only an alignment elsewhere refuses the placement.
AUDIO_CHECK_SECONDS = 10.0


@dataclass(frozen=True)
class Heard:
    """A capture of an unknown recording: where and when, and where in the recording's time."""

    capture_id: int
    station_id: int
    started_at: datetime
    offset: float
    seconds: float
    title: str | None  # the stream title the station sent with it, as :func:`title_key` compares it


@dataclass(frozen=True)
class Pair:
    """Consecutive captures of one station, one of each recording: R2's time 0 placed in R's time."""

    station_id: int
    song_start: float  # the airing's start on the station, seconds since the epoch, as R places it
    shift: float
    said: str | None = None  # what the station's titles say of the two (:func:`titles_say`)
    titles: tuple[str | None, str | None] = (None, None)  # the two captures' titles, in the order aired

    @property
    def titled(self) -> bool:
        return self.said == "same"


def evidence(conn: Connection, capture_id: int) -> SameSong | None:
    """Given a capture of a recording, return the evidence that the recording and another heard next to the
    capture on its station are one song, or None (see the module docstring)."""
    row = conn.execute(select(unknown_captures).where(unknown_captures.c.capture_id == capture_id)).one()
    for neighbour in _neighbours(conn, row.station_id, row.started_at):
        other = _recording_of(conn, neighbour)
        if other is None or other == row.unknown_id or not _open(conn, other, int(row.unknown_id)):
            continue
        older, younger = sorted((int(row.unknown_id), other))
        found = _placement(conn, older, younger)
        if found is not None:
            return found
    return None


def _placement(conn: Connection, older: int, younger: int) -> SameSong | None:
    """The evidence that ``younger`` lies at one point of ``older``'s time, if the pairs show it."""
    first, second = _members(conn, older), _members(conn, younger)
    pairs = _pairs(conn, first, second, {older, younger})
    best = _agreeing(pairs)
    if not (_distinct_airings(best) or any(p.titled for p in best)) or 2 * len(best) < len(pairs):
        return None
    if announced_change(best):
        return None
    shift = round(sorted(p.shift for p in best)[len(best) // 2], 3)
    one_item = any(p.titled for p in best) and not any(p.said == "different" for p in best)
    if not _audio_agrees(conn, older, younger, shift, one_item) or _contradicted(conn, first, second, shift,
                                                                                 {older, younger}):
        return None
    return SameSong(younger, older, shift, "sequence", {
        "pairs": [{"station_id": p.station_id, "shift_seconds": round(p.shift, 3), "titles": p.said}
                  for p in best],
        "disagreeing": len(pairs) - len(best), "tolerance_seconds": TOLERANCE_SECONDS})


def _pairs(conn: Connection, first: list[Heard], second: list[Heard], recordings: set[int]) -> list[Pair]:
    found = []
    for a in first:
        for b in second:
            gap = (b.started_at - a.started_at).total_seconds()
            if a.station_id != b.station_id or not 0 < abs(gap) <= MAX_GAP_SECONDS:
                continue
            if _consecutive(conn, a, b):
                early, late = (a, b) if gap > 0 else (b, a)
                found.append(Pair(a.station_id, a.started_at.timestamp() - a.offset, a.offset + gap - b.offset,
                                  titles_say(conn, a, b, recordings), (early.title, late.title)))
    return found


def announced_change(pairs: list[Pair]) -> bool:
    """Whether the stations announced the same change of item between the two recordings (the same two titles,
    one then the other) on at least ``MIN_AIRINGS`` airings: a repeated segue of two items.  A change on one
    airing alone says little: a capture across the end of a song carries the next item's title, which differs
    from airing to airing."""
    changes: dict[tuple[str | None, str | None], list[Pair]] = {}
    for p in pairs:
        if p.said == "different":
            changes.setdefault(p.titles, []).append(p)
    return any(_distinct_airings(same) for same in changes.values())


def titles_say(conn: Connection, a: Heard, b: Heard, recordings: set[int]) -> str | None:
    """What the station's titles say of consecutive captures ``a`` and ``b``: ``"same"`` when both carry one title
    naming an item (``zamio.recognition.titles.run_of``) and no capture of that title's run was heard as a catalog
    track or as an unknown recording not among ``recordings``; ``"different"`` when they carry two titles each
    naming an item (the station changed item between them); else None (a station sending no title, or its own
    name)."""
    if a.title is None or b.title is None:
        return None
    if a.title == b.title:
        run = run_of(conn, a.station_id, a.capture_id, a.started_at, a.title)
        named = run is not None and not any(_another_song(conn, capture_id, recordings) for capture_id in run)
        return "same" if named else None
    named = (run_of(conn, a.station_id, a.capture_id, a.started_at, a.title) is not None
             and run_of(conn, b.station_id, b.capture_id, b.started_at, b.title) is not None)
    return "different" if named else None


def _agreeing(pairs: list[Pair]) -> list[Pair]:
    """The largest set of pairs whose placements lie within ``TOLERANCE_SECONDS`` of one another."""
    ordered = sorted(pairs, key=lambda p: p.shift)
    best: list[Pair] = []
    for i, p in enumerate(ordered):
        group = [q for q in ordered[i:] if q.shift - p.shift <= TOLERANCE_SECONDS]
        if len(group) > len(best):
            best = group
    return best


def _distinct_airings(pairs: list[Pair]) -> bool:
    """Whether at least ``MIN_AIRINGS`` of the pairs come from different airings."""
    airings: list[Pair] = []
    for p in pairs:
        if all(p.station_id != q.station_id or abs(p.song_start - q.song_start) >= SAME_AIRING_SECONDS
               for q in airings):
            airings.append(p)
    return len(airings) >= MIN_AIRINGS


def _audio_agrees(conn: Connection, older: int, younger: int, shift: float, one_item: bool) -> bool:
    """Placed at ``shift``, recordings overlapping in the song's time must align there, at that shift.

    Where a station's titles say the two were one item (``one_item``: a pair titled the same, none titled
    differently), the overlap is the audio their kept prints hold, and under ``AUDIO_CHECK_SECONDS`` of it only an
    alignment elsewhere refuses the placement: a few seconds of a quiet passage, trimmed at the edges, may not
    align.  Otherwise, two airings agreeing on a gap is all the evidence, and the spans must align wherever they
    overlap: two different songs aired back to back twice agree on a gap too."""
    from zamio.recognition.naming import recording_alignment

    if one_item:
        second = [(lo + shift, hi + shift) for lo, hi in kept_stretches(conn, younger)]
        shared = shared_seconds(kept_stretches(conn, older), second)
    else:
        spans = conn.execute(select(unknown_recordings.c.id, unknown_recordings.c.span_from,
                                    unknown_recordings.c.span_to)
                             .where(unknown_recordings.c.id.in_([older, younger]))).all()
        by_id = {int(r.id): (float(r.span_from), float(r.span_to)) for r in spans}
        (a_from, a_to), (b_from, b_to) = by_id[older], by_id[younger]
        shared = min(a_to, b_to + shift) - max(a_from, b_from + shift)
    if shared < INSIDE_SECONDS:
        return True
    found = recording_alignment(conn, younger, older)
    if found is None:
        return one_item and shared < AUDIO_CHECK_SECONDS
    return abs(found.offset_seconds - shift) <= TOLERANCE_SECONDS


def _contradicted(conn: Connection, first: list[Heard], second: list[Heard], shift: float,
                  recordings: set[int]) -> bool:
    """Whether a capture next to one of theirs, within the song placed so, was heard as another song."""
    placed = [(h, h.offset) for h in first] + [(h, h.offset + shift) for h in second]
    song_from = min(at for _, at in placed)
    song_to = max(at + h.seconds for h, at in placed)
    own = {h.capture_id for h, _ in placed}
    for heard, at in placed:
        for neighbour in _neighbours(conn, heard.station_id, heard.started_at):
            if neighbour in own:
                continue
            n = conn.execute(select(captures.c.started_at, captures.c.seconds).where(captures.c.id == neighbour)).one()
            start = at + (n.started_at - heard.started_at).total_seconds()
            inside = start >= song_from + INSIDE_SECONDS and start + float(n.seconds) <= song_to - INSIDE_SECONDS
            if inside and _another_song(conn, neighbour, recordings):
                return True
    return False


def _another_song(conn: Connection, capture_id: int, recordings: set[int]) -> bool:
    """Whether the capture was heard as a catalog track or as an unknown recording not among these."""
    other = _recording_of(conn, capture_id)
    return (other is not None and other not in recordings) or heard_as_track(conn, capture_id)


def _members(conn: Connection, recording_id: int) -> list[Heard]:
    u = unknown_captures.c
    rows = conn.execute(select(u.capture_id, u.station_id, u.started_at, u.offset_seconds, u.seconds,
                               captures.c.icy_title)
                        .join_from(unknown_captures, captures, captures.c.id == u.capture_id)
                        .where(u.unknown_id == recording_id).order_by(u.started_at)).all()
    return [_heard(r) for r in rows]


def _heard(row: StoredRow) -> Heard:
    return Heard(int(row.capture_id), int(row.station_id), row.started_at, float(row.offset_seconds or 0.0),
                 float(row.seconds), title_key(row.icy_title))


def _neighbours(conn: Connection, station_id: int, started_at: datetime) -> list[int]:
    """The station's captures just before and just after this moment."""
    c = captures.c
    before = conn.execute(select(c.id).where(c.station_id == station_id, c.started_at < started_at)
                          .order_by(c.started_at.desc(), c.id.desc()).limit(1)).scalar()
    after = conn.execute(select(c.id).where(c.station_id == station_id, c.started_at > started_at)
                         .order_by(c.started_at, c.id).limit(1)).scalar()
    return [int(i) for i in (before, after) if i is not None]


def _consecutive(conn: Connection, a: Heard, b: Heard) -> bool:
    """Whether no capture of their station lies strictly between the two."""
    early, late = sorted((a.started_at, b.started_at))
    between = conn.execute(select(captures.c.id).where(captures.c.station_id == a.station_id,
                                                       captures.c.started_at > early,
                                                       captures.c.started_at < late).limit(1)).first()
    return between is None


def _recording_of(conn: Connection, capture_id: int) -> int | None:
    found = conn.execute(select(unknown_captures.c.unknown_id).where(unknown_captures.c.capture_id == capture_id,
                                                                     unknown_captures.c.status == "joined")).scalar()
    return int(found) if found is not None else None


def _open(conn: Connection, *recording_ids: int) -> bool:
    """Whether these recordings are all neither named nor merged."""
    found = conn.execute(select(unknown_recordings.c.id).where(unknown_recordings.c.id.in_(recording_ids),
                                                               unknown_recordings.c.resolved_at.is_(None))).all()
    return len(found) == len(set(recording_ids))
