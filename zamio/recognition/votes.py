"""How a capture's prints align with the captures of the unknown index filed before it.

The votes are counted as the catalog's matcher counts them (``zamio.recognition.match``): each hash the
capture shares with a stored capture votes for their time difference, in bins of ``OFFSET_BIN_FRAMES``, and the
best bin of a stored capture is its alignment.  :func:`best_vote` takes the best of all, accepted against the
best of any other recording; :func:`group_votes` keeps the best of each recording (or candidate) with the
stretch of the capture it covers, for filing (``zamio.recognition.unknown``) to read what the capture says of
two of them: the same seconds heard in both (:func:`bridge`, :func:`candidate_beside`), or audio of both at
different seconds of the capture (:func:`chain`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from zamio.recognition.fingerprint import FRAME_SECONDS
from zamio.recognition.match import accept

#: Never join on fewer aligned hashes (about 2 s of shared audio), whatever the odds say: the
#: catalog's minimum (``match.MIN_ALIGNED``) is for a dense query against a whole song, and two
#: different songs of one style share up to a dozen aligned hashes (bench/unknown_bench.py).
MIN_ALIGNED = 24
OFFSET_BIN_FRAMES = 2  # time differences within 64 ms vote together (decoder jitter)
#: The stretches of a capture aligned with two recordings must overlap this much for the two to be
#: one song.  Measured (tests/unit/test_unknown.py): 6 s of audio shared by both make stretches
#: overlapping by 3.5 to 4.6 s (the quantiles and the prints' edges trim each end), a change of song
#: in the capture makes them 1 to 6 s apart.
BRIDGE_OVERLAP_SECONDS = 2.0
#: The stretch of a capture an alignment covers: these quantiles of its aligned hashes' frames.
STRETCH_QUANTILES = (5.0, 95.0)


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


def group_votes(hashes: np.ndarray, frames: np.ndarray, stored: tuple[np.ndarray, np.ndarray, np.ndarray],
                recording_of: dict[int, int]) -> list[GroupVote]:
    """Given what ``best_vote`` is given, return the capture's best alignment with each recording (and each
    candidate capture) it shares hashes with, best first; ``runner_up`` of each is the best of any other."""
    votes = count_votes(hashes, frames, stored)
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
    the two best, the older first (:func:`chain`), when both are open recordings and the stretches of the capture
    they cover overlap by ``BRIDGE_OVERLAP_SECONDS``; else None."""
    found = chain(groups, open_ids)
    return found if found is not None and found[1].group > 0 and overlapping(*found) else None


def candidate_beside(groups: list[GroupVote], open_ids: set[int]) -> tuple[GroupVote, GroupVote] | None:
    """Given a capture's alignments by recording (``group_votes``) and which recordings are open, return the
    open recording and the candidate (a capture heard once) of the two best (:func:`chain`), in that order, when the
    stretches of the capture they cover overlap by ``BRIDGE_OVERLAP_SECONDS``: the candidate is the song the
    recording is, heard once more, and the capture joins the recording rather than making a second recording of the
    song with the candidate.  The candidate's vote is its own, as aligned.  Else None."""
    found = chain(groups, open_ids)
    if found is None or found[0].group < 0 or found[1].group > 0 or not overlapping(*found):
        return None
    return found[0], next(g for g in groups[:2] if g.group == found[1].group)


def chain(groups: list[GroupVote], open_ids: set[int]) -> tuple[GroupVote, GroupVote] | None:
    """Given a capture's alignments by recording (``group_votes``) and which recordings are open, return the two
    best when each is an open recording or a candidate accepted against the best of any third, whatever the
    stretches of the capture they cover: first the one the capture joins (the older of two recordings, a recording
    before a candidate, else the better aligned), then the other.  The capture holds audio of both; they are one
    song only where it holds one song (``_chained`` asks what says so).  Else None."""
    if len(groups) < 2 or any(g.group > 0 and g.group not in open_ids for g in groups[:2]):
        return None
    third = groups[2].vote.aligned if len(groups) > 2 else 0
    if any(g.vote.aligned < MIN_ALIGNED or not accept(g.vote.aligned, third) for g in groups[:2]):
        return None
    first, second = sorted((replace(g, vote=replace(g.vote, runner_up=third)) for g in groups[:2]),
                           key=lambda g: (g.group < 0, max(g.group, 0)))
    return first, second


def overlapping(first: GroupVote, second: GroupVote) -> bool:
    """Whether the stretches of a capture two alignments cover overlap by ``BRIDGE_OVERLAP_SECONDS``: the same
    seconds of the capture heard in both."""
    (a_from, a_to), (b_from, b_to) = first.stretch, second.stretch
    return min(a_to, b_to) - max(a_from, b_from) >= BRIDGE_OVERLAP_SECONDS


@dataclass(frozen=True)
class Tally:
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


def count_votes(hashes: np.ndarray, frames: np.ndarray,
                stored: tuple[np.ndarray, np.ndarray, np.ndarray]) -> Tally | None:
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
    return Tally(s_capture[stored_at], q_frame[query_at], diff, bins, keys, tally)


def best_vote(hashes: np.ndarray, frames: np.ndarray, stored: tuple[np.ndarray, np.ndarray, np.ndarray],
              recording_of: dict[int, int]) -> Vote | None:
    """Given a capture's hashes and frames, the stored rows (hash, capture, frame) sharing
    its hashes and the recording of each filed capture, return the best alignment when
    ``match.accept`` takes it over the best alignment with any other recording and it has at
    least ``MIN_ALIGNED`` hashes, else None."""
    votes = count_votes(hashes, frames, stored)
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
