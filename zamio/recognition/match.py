"""Matching: vote the hits of an excerpt's hashes into (track, speed, offset) bins.

Pure numpy.  The index is reached only through two callables,

    lookup(hashes: int32 array) -> (hashes, track_ids, offsets)   # three equal-length arrays
    fetch(track_ids: int32 array) -> (hashes, track_ids, offsets)

returning every stored row whose hash is in ``hashes``, and every stored row of the
given tracks (the database layer runs them as batched ``WHERE hash = ANY(...)`` and
``WHERE track_id = ANY(...)`` queries on indexed columns; ``ArrayIndex`` below is an
in-memory index for tests and benchmarks).  Nothing here sees the whole index.

Two stages (``recognise``): the excerpt's triplet hashes, selective enough that a
lookup returns few rows of other recordings however large the catalog, vote for the
``CANDIDATES`` best recordings; their stored triplets are unfolded into pair
landmarks (``zamio.recognition.fingerprint.pairs_of_triplets``) and ``match`` decides among them
with the excerpt's pairs, which survive noise better than triplets on short excerpts.
The candidates beyond the first are the excerpt's nearest rivals: their best bins are
what chance reaches (see ``evidence``).

Voting: a hit pairs a query hash (anchor at original-time frame ``q`` under speed
hypothesis ``s``) with a stored row (track, anchor frame ``r``); if the excerpt is that
track played at speed ``s`` from frame ``r - q``, every true hit agrees on the same
(track, s, r - q).  Hits are counted in offset bins ``OFFSET_BIN_FRAMES`` wide (two
adjacent bins are summed, so a few frames of drift from a slightly wrong speed
hypothesis do not split the count).  See ``accept`` for the rule that decides
whether the best bin is a match or chance; below ``VERIFY_BELOW`` standard deviations a
match must also show that the excerpt's peaks lie where the recording's are
(``zamio.recognition.verify``), since chance alignments of unrelated real music reach the
same 2.5 to 4 standard deviations as the weakest true answers.

Where in the track: music repeats itself (a chorus, a four-bar loop), and the index
keeps only the strongest peaks of each second, so a stretch of a track whose stored
peaks all come from repeated material matches an excerpt from *any* repetition about
as well as the right one; on synthetic loop-based songs the plain count put 1.8 % of
excerpts one repetition off.  So the track is decided by the plain count, and the
offset by a count in which each stored row weighs ``1 / n``, ``n`` being how often its
hash occurs in that track (``row_weights``): repeated material then weighs what one
occurrence would, and the unrepeated material (a melody line, a lyric) decides
between repetitions.  Only bins with at least ``RELOCATE_MIN_FRACTION`` of the best
bin's anchors compete, so a weak bin of rare hashes cannot win.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from zamio.recognition import verify
from zamio.recognition.fingerprint import (
    FRAME_SECONDS,
    PAIR_HASH_SPACE,
    STEPS_PER_OCTAVE,
    Landmarks,
    landmarks_to_hashes,
    pairs_of_triplets,
)
from zamio.recognition.query import Query, QueryPrints, under_speeds

#: Stored rows as three equal-length arrays: (hashes, track_ids, offsets).
Rows = tuple[np.ndarray, np.ndarray, np.ndarray]
#: Per hit of ``join_hits``: (track, speed_index, offset difference in frames, row index).
Hits = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
Lookup = Callable[[np.ndarray], Rows]
Fetch = Callable[[np.ndarray], Rows]
#: Given candidate track ids, a ``Lookup`` into the pair rows their stored triplets hold.
PairsOf = Callable[[np.ndarray], Lookup]

# Recordings verified per excerpt: the true one ranks first among the triplet votes on
# nearly every excerpt that pairs can recognise; the others set the level of chance.
CANDIDATES = 8

OFFSET_BIN_FRAMES = 4  # 128 ms: drift of a speed guess off by half a step over 10 s

# Acceptance (see ``accept`` and ``evidence``).  On the DEV benchmark the 216 excerpts
# of unknown music reach at most 2.1 standard deviations; 2.5 leaves a margin.
MIN_ALIGNED = 8  # never accept fewer aligned hashes, whatever the statistics say
MIN_EVIDENCE = 2.5  # standard deviations above the best chance bin

# Bins of the recognised track that may hold the offset instead of the best one (see the
# module docstring).  On the broadcast-day evaluation (2,000 matches) 0.6 put every
# offset right, 0.4 and 0.8 left 3 and 2 wrong.
RELOCATE_MIN_FRACTION = 0.6

# The second look at marginal matches (``zamio.recognition.verify``): below VERIFY_BELOW
# standard deviations a match stands only if the excerpt's peaks lie where the recording's
# are.  On the second real-music catalog every false answer stood below 4 (10 s, 5 s) but
# for one recording that is a mix of the same piece, while between 4 and 5 stood 195 right
# answers, 7 of which the check would refuse (bench/results/verify.md).
VERIFY_BELOW = 4.0

# Two recordings that share material (an edit, a remix, a re-recording sharing stems): an
# excerpt of either aligns strongly with both, the runner-up is the other version rather than
# chance, and the evidence of the right one stays low.  When the runner-up is itself a match
# against every other recording, the two are compared head to head, each at its own
# alignment, by how many of their peaks agree with the excerpt's (``verify.ahead``); the
# evidence and confidence of the answer are then against the best of the other recordings.
HEAD_TO_HEAD = True


@dataclass(frozen=True)
class MatchResult:
    """The recognised track and where the excerpt sits in it.

    ``offset_seconds``: position of the excerpt start inside the track (original
    time); ``speed``: measured playback speed ratio (1.02 = played 2 % fast);
    ``score``: aligned hash count; ``aligned``: distinct stored anchor frames among
    them; ``runner_up``: aligned count of the best bin of any other track;
    ``evidence``: standard deviations above chance (see ``evidence``);
    ``confidence``: 0..1 (1 - chance probability of such a bin); ``query_hashes``:
    distinct hashes looked up; ``agreement``: how the excerpt's peaks agree with the
    recording's (``verify.check``), None when not checked (evidence of ``VERIFY_BELOW`` or more);
    ``rival_agreement``: the same of a related recording the answer was weighed against head to
    head (see ``HEAD_TO_HEAD``; ``runner_up`` is then the best bin of the other recordings),
    else None.
    """

    track_id: int
    offset_seconds: float
    speed: float
    score: int
    aligned: int
    runner_up: int
    evidence: float
    confidence: float
    query_hashes: int
    agreement: verify.Agreement | None = None
    rival_agreement: verify.Agreement | None = None


@dataclass(frozen=True)
class Votes:
    """Bins of the vote: ``track``, ``speed_index``, ``offset_bin``, ``count``
    (distinct stored rows), ``anchors`` (distinct stored anchor frames) and ``weight``
    (distinct stored rows, each weighing ``row_weights``); ``hits`` is the number of
    (query hash, stored row) pairs voted."""

    track: np.ndarray
    speed_index: np.ndarray
    offset_bin: np.ndarray
    count: np.ndarray
    anchors: np.ndarray
    weight: np.ndarray
    hits: int


class ArrayIndex:
    """An in-memory index of (hash, track_id, offset) rows sorted by hash; its
    ``lookup`` method is a ``Lookup``.  For tests, benchmarks and the demo."""

    def __init__(self) -> None:
        self._parts: list[Rows] = []
        self._sorted: Rows | None = None

    def add(self, track_id: int, hashes: np.ndarray, offsets: np.ndarray) -> None:
        """Store the rows of one track."""
        self._parts.append((hashes.astype(np.int32), np.full(hashes.size, track_id, np.int32),
                            offsets.astype(np.int32)))
        self._sorted = None

    def __len__(self) -> int:
        return sum(p[0].size for p in self._parts)

    def rows(self) -> Rows:
        """Return all rows (hashes, track_ids, offsets), sorted by hash."""
        if self._sorted is None:
            h, t, o = (np.concatenate([p[i] for p in self._parts]) if self._parts
                       else np.zeros(0, np.int32) for i in range(3))
            order = np.argsort(h, kind="stable")
            self._sorted = (h[order], t[order], o[order])
        return self._sorted

    def lookup(self, hashes: np.ndarray) -> Rows:
        """Return the rows whose hash is in ``hashes``."""
        h, t, o = self.rows()
        q = np.unique(hashes)
        lo, hi = np.searchsorted(h, q, "left"), np.searchsorted(h, q, "right")
        idx = _ranges(lo, hi)
        return h[idx], t[idx], o[idx]

    def fetch(self, track_ids: np.ndarray) -> Rows:
        """Return every row of the given tracks (a ``Fetch``)."""
        h, t, o = self.rows()
        keep = np.isin(t, track_ids)
        return h[keep], t[keep], o[keep]

    @classmethod
    def of_rows(cls, rows: Rows) -> ArrayIndex:
        """Return an index holding ``rows`` (hashes, track_ids, offsets)."""
        index = cls()
        hashes, track_ids, offsets = rows
        index._parts.append((np.asarray(hashes, np.int32), np.asarray(track_ids, np.int32),
                             np.asarray(offsets, np.int32)))
        return index


def _ranges(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Concatenate ``arange(lo[i], hi[i])`` for all i, without a Python loop."""
    n = hi - lo
    total = int(n.sum())
    if total == 0:
        return np.zeros(0, np.int64)
    starts = np.repeat(lo - np.concatenate(([0], np.cumsum(n)[:-1])), n)
    return starts + np.arange(total)


def join_hits(query: QueryPrints, rows: Rows) -> Hits:
    """Given query prints and the stored rows of their hashes, return per hit:
    (track, speed_index, offset difference in frames as float, row index)."""
    rh, rt, ro = rows
    order = np.argsort(query.hashes, kind="stable")
    qh = query.hashes[order]
    lo, hi = np.searchsorted(qh, rh, "left"), np.searchsorted(qh, rh, "right")
    qi = order[_ranges(lo, hi)]
    ri = np.repeat(np.arange(rh.size), hi - lo)
    diff = ro[ri] - query.times[qi]
    return rt[ri], query.speed_index[qi], diff, ri


def row_weights(rows: Rows) -> np.ndarray:
    """Given looked-up rows (hashes, track_ids, offsets), return each row's weight
    ``1 / n``, ``n`` being the number of rows with its hash and track: all of a hash's
    rows come back together, so ``n`` is how often the track repeats that hash."""
    rh, rt, _ = rows
    if rh.size == 0:
        return np.zeros(0, np.float64)
    key = (rh.astype(np.int64) << 32) | rt.astype(np.int64)
    _, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    return 1.0 / counts[inverse]


def vote(hits: Hits, rows: Rows, n_speeds: int) -> Votes:
    """Given ``join_hits`` output, count hits per (track, speed hypothesis, offset bin):
    ``count`` distinct stored rows, ``anchors`` distinct stored anchor frames,
    ``weight`` the ``row_weights`` of the distinct rows; each bin's figures include its
    next bin (drift tolerance)."""
    track, sp, diff, ri = hits
    if track.size == 0:
        z = np.zeros(0, np.int64)
        return Votes(z, z, z, z, z, np.zeros(0, np.float64), 0)
    obin = np.floor(diff / OFFSET_BIN_FRAMES).astype(np.int64)
    base = int(obin.min())
    span = int(obin.max()) - base + 2
    key = ((track.astype(np.int64) * n_speeds + sp) * span) + (obin - base)
    pair_keys, pair_rows, starts = _distinct_pairs(key, ri)
    keys = pair_keys[starts]
    count = np.diff(np.r_[starts, pair_keys.size])
    weight = np.add.reduceat(row_weights(rows)[pair_rows], starts)
    anchor_keys, _, anchor_starts = _distinct_pairs(key, rows[2][ri])  # the same keys: every bin has an anchor
    anchors = np.diff(np.r_[anchor_starts, anchor_keys.size])
    t, rest = np.divmod(keys, n_speeds * span)
    s, b = np.divmod(rest, span)
    return Votes(t, s, b + base, _with_next(keys, count), _with_next(keys, anchors), _with_next(keys, weight),
                 int(track.size))


def _distinct_pairs(key: np.ndarray, item: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the distinct (key, item) pairs sorted by key, as two arrays, and the index
    where each key's run of pairs starts."""
    order = np.lexsort((item, key))
    k, i = key[order], item[order]
    new_pair = np.r_[True, (k[1:] != k[:-1]) | (i[1:] != i[:-1])]
    k, i = k[new_pair], i[new_pair]
    return k, i, np.flatnonzero(np.r_[True, k[1:] != k[:-1]])


def _with_next(keys: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Add to each key's count the count of key + 1 (the next offset bin), if present."""
    nxt = np.minimum(np.searchsorted(keys, keys + 1), keys.size - 1)
    return count + np.where(keys[nxt] == keys + 1, count[nxt], 0)


def best_bins(votes: Votes) -> tuple[int, int]:
    """Return (index of the bin with the most aligned anchors, aligned anchors of the
    best bin of any other track).  Anchors rather than hashes: a chord struck once
    yields many hashes at one frame, and chance agreement of one chord must not
    weigh like agreement over the whole excerpt."""
    best = int(np.argmax(votes.anchors))
    other = votes.track != votes.track[best]
    runner_up = int(votes.anchors[other].max()) if other.any() else 0
    return best, runner_up


def evidence(score: int, runner_up: int) -> float:
    """Return how far the best bin stands above chance, in standard deviations.

    The best bin of any *other* track (``runner_up``) is what chance reaches for this
    excerpt against this catalog: it already reflects the excerpt's hash count, the
    catalog size and the clustering of musical material (a held chord hashes alike in
    many recordings), which a uniform model of random hits underestimates by a factor of
    ten on real music.  Counts of a chance bin are roughly Poisson, so the spread at that
    level is ``sqrt(runner_up + 1)`` (+1 keeps it defined on a one-track catalog).
    """
    return (score - runner_up) / math.sqrt(runner_up + 1.0)


def chance_probability(score: int, runner_up: int) -> float:
    """Return P(X >= score) for X ~ Poisson(runner_up + 1): how likely chance reaches
    ``score`` when its usual best is ``runner_up``."""
    # Imported here: scipy.special takes about 0.15 s to load on top of numpy, and only a match asks this.
    from scipy.special import gammainc

    if score <= 0:
        return 1.0
    # P(X >= k) for Poisson(lam) is the regularised lower incomplete gamma P(k, lam)
    return float(gammainc(score, runner_up + 1.0))


def recognise(query: Query, lookup: Lookup, pairs_of: PairsOf, min_candidates: int = 1,
              near_speed: bool = True, verify_below: float | None = None) -> MatchResult | None:
    """Given an excerpt's ``Query``, a triplet ``Lookup`` and ``pairs_of`` (``pairs_from``
    a ``Fetch`` of stored triplet rows by track, or a cache of unfolded tracks), return
    the recognised track, or None (see the module docstring: candidates by triplets, the
    decision by pairs).  With fewer than ``min_candidates`` candidates the answer is
    None: too few rivals to tell chance.  With ``near_speed`` (the default), each
    candidate is tried near the speed of its own best triplet bin (``pairs_near``,
    as the query's profile asks): every candidate, the rivals that set the level of
    chance included, gets the same chances to align.  Without it, every candidate is
    tried under every hypothesis of ``query.pairs``.  ``verify_below``: as ``match``'s."""
    tracks, speeds = ranked_candidates(query.triplets, lookup)
    if tracks.size == 0 or tracks.size < min_candidates:
        return None
    if not near_speed:
        return match(query.pairs, pairs_of(tracks), landmarks=query.landmarks, verify_below=verify_below)
    prints, windows = pairs_near(query, speeds)
    return match(prints, pairs_of(tracks), allowed=(tracks, windows), landmarks=query.landmarks,
                 verify_below=verify_below)


def usual_query(query: Query) -> Query:
    """Given a query made by ``query_fingerprint``, return it under the varispeeds of
    ``usual_min_speed``..``usual_max_speed`` alone, the pairs under the same hypotheses
    (see ``QueryProfile``)."""
    profile = query.profile
    assert profile is not None and query.landmarks is not None  # made by query_fingerprint
    triplets = query.triplets
    pitches = triplets.speeds if triplets.pitches is None else triplets.pitches
    wanted = ((pitches == triplets.speeds) & (triplets.speeds >= profile.usual_min_speed - 1e-9)
              & (triplets.speeds <= profile.usual_max_speed + 1e-9))
    usual = triplets.only(wanted)
    lm = query.landmarks
    pairs = under_speeds(lambda s, t: landmarks_to_hashes(lm, s, tempo=t), (usual.speeds, usual.speeds),
                         query.pairs.duration_seconds)
    return Query(usual, pairs, lm)


def pairs_near(query: Query, speed_indices: np.ndarray) -> tuple[QueryPrints, np.ndarray]:
    """Given a query and triplet hypotheses (indices), return pair prints under the
    hypotheses within ``speed_window_cells`` of any of them, every
    ``pair_speed_step_cells`` (the pitch moves with the tempo for varispeed and stays for
    a time-stretch), and which of those hypotheses lie in the window of each: booleans
    ``[given, hypotheses]``.  Without landmarks or a window: ``query.pairs``, every
    hypothesis in every window."""
    profile = query.profile
    if query.landmarks is None or profile is None or profile.speed_window_cells is None:
        return query.pairs, np.ones((len(speed_indices), query.pairs.speeds.size), bool)
    steps = int(np.floor(profile.speed_window_cells / profile.pair_speed_step_cells + 1e-9))
    ratios = np.power(2.0, np.arange(-steps, steps + 1) * profile.pair_speed_step_cells / STEPS_PER_OCTAVE)
    pitches = query.triplets.speeds if query.triplets.pitches is None else query.triplets.pitches
    tried_pitch: list[np.ndarray] = []
    tried_tempo: list[np.ndarray] = []
    window: list[np.ndarray] = []
    for k in np.asarray(speed_indices).tolist():
        pitch, tempo = float(pitches[k]), float(query.triplets.speeds[k])
        tried_pitch.append(pitch * ratios if abs(pitch - tempo) < 1e-9 else np.full(ratios.size, pitch))
        tried_tempo.append(tempo * ratios)
        window.append(np.full(ratios.size, len(window)))
    # The windows of nearby hypotheses overlap: hash each (pitch, tempo) once.
    both = np.stack([np.concatenate(tried_pitch), np.concatenate(tried_tempo)])
    cells = np.rint(STEPS_PER_OCTAVE / profile.pair_speed_step_cells * np.log2(both)).astype(np.int64)
    keys, first, which = np.unique(cells[0] * 100_003 + cells[1], return_index=True, return_inverse=True)
    inside = np.zeros((len(window), keys.size), bool)
    inside[np.concatenate(window), which] = True
    lm = query.landmarks
    prints = under_speeds(lambda s, t: landmarks_to_hashes(lm, s, tempo=t), (both[0][first], both[1][first]),
                          query.pairs.duration_seconds)
    return prints, inside


def pairs_from(fetch: Fetch) -> PairsOf:
    """Given a ``Fetch`` of stored triplet rows by track, return a ``PairsOf`` that fetches
    the candidates' rows and unfolds them, track by track (``TrackPairs``)."""
    return lambda tracks: lookup_in([TrackPairs(*rows) for rows in by_track(*fetch(tracks))])


def by_track(hashes: np.ndarray, tracks: np.ndarray, frames: np.ndarray) -> Iterator[tuple[int, np.ndarray,
                                                                                          np.ndarray]]:
    """Given stored rows of several tracks, yield (track id, hashes, frames) per track, by track id."""
    order = np.argsort(tracks, kind="stable")
    hashes, tracks, frames = hashes[order], tracks[order], frames[order]
    starts = np.flatnonzero(np.r_[True, tracks[1:] != tracks[:-1]]) if tracks.size else np.zeros(0, np.int64)
    for lo, hi in zip(starts.tolist(), [*starts[1:].tolist(), tracks.size], strict=True):
        yield int(tracks[lo]), hashes[lo:hi], frames[lo:hi]


class TrackPairs:
    """The pair rows one track's stored triplets hold (``pairs_of_triplets``): what
    ``match`` reads of a candidate, kept whole so that a cache can hold it between excerpts."""

    __slots__ = ("track_id", "hashes", "frames")

    def __init__(self, track_id: int, triplet_hashes: np.ndarray, triplet_frames: np.ndarray) -> None:
        self.hashes, _, self.frames = pairs_of_triplets(
            triplet_hashes, np.full(triplet_hashes.size, track_id, np.int32), triplet_frames)
        self.track_id = track_id

    @property
    def nbytes(self) -> int:
        return self.hashes.nbytes + self.frames.nbytes

    def rows_where(self, wanted: np.ndarray) -> Rows:
        """Given a table of booleans indexed by pair hash, return this track's rows whose hash is wanted."""
        idx = np.flatnonzero(wanted[self.hashes])
        return self.hashes[idx], np.full(idx.size, self.track_id, np.int32), self.frames[idx]


def lookup_in(tracks: list[TrackPairs]) -> Lookup:
    """Given the pair rows of some tracks, return a ``Lookup`` over all of them: the
    excerpt's hashes marked in a table over the whole pair-hash space (a megabyte), each
    track's rows kept where marked, one gather per row (no sort, no search)."""

    def lookup(hashes: np.ndarray) -> Rows:
        wanted = np.zeros(max(PAIR_HASH_SPACE, int(hashes.max(initial=0)) + 1), bool)
        wanted[hashes] = True
        parts = [track.rows_where(wanted) for track in tracks]
        if not parts:
            empty = np.zeros(0, np.int32)
            return empty, empty, empty
        return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
                np.concatenate([p[2] for p in parts]))

    return lookup


def candidates(query: QueryPrints, lookup: Lookup, limit: int = CANDIDATES) -> np.ndarray:
    """Given an excerpt's triplet prints and a triplet ``Lookup``, return up to ``limit``
    track ids, best first: ranked by the aligned anchors of their best bin, then by its
    aligned rows."""
    return ranked_candidates(query, lookup, limit)[0]


def ranked_candidates(query: QueryPrints, lookup: Lookup, limit: int = CANDIDATES) -> tuple[np.ndarray, np.ndarray]:
    """``candidates``, and for each the speed hypothesis (index) of its best bin."""
    if query.hashes.size == 0:
        return np.zeros(0, np.int32), np.zeros(0, np.int64)
    hashes, track_ids, offsets = lookup(np.unique(query.hashes))
    rows = (np.asarray(hashes), np.asarray(track_ids), np.asarray(offsets))
    votes = vote(join_hits(query, rows), rows, query.speeds.size)
    order = np.lexsort((-votes.count, -votes.anchors))
    ranked = votes.track[order]
    _, first = np.unique(ranked, return_index=True)
    best = order[np.sort(first)][:limit]
    return votes.track[best].astype(np.int32), votes.speed_index[best].astype(np.int64)


def match(query: QueryPrints, lookup: Lookup, allowed: tuple[np.ndarray, np.ndarray] | None = None,
          landmarks: Landmarks | None = None, verify_below: float | None = None) -> MatchResult | None:
    """Given an excerpt's query prints and a ``Lookup`` into the index, return the
    recognised track, or None if nothing passes ``accept``.  ``allowed`` (track ids,
    booleans ``[track, speed hypothesis]``) limits each track to some hypotheses.  With
    the excerpt's ``landmarks``, a match below ``verify_below`` standard deviations (None:
    ``VERIFY_BELOW``, read when called) must also pass ``verify.verified``."""
    if query.hashes.size == 0:
        return None
    unique = np.unique(query.hashes)
    hashes, track_ids, offsets = lookup(unique)
    rows = (np.asarray(hashes), np.asarray(track_ids), np.asarray(offsets))
    hits = join_hits(query, rows)
    votes = vote(hits, rows, query.speeds.size)
    if allowed is not None:
        votes = _only_allowed(votes, *allowed)
    if votes.count.size == 0:
        return None
    best, runner_up = best_bins(votes)
    aligned = int(votes.anchors[best])
    rival = None
    if not accept(aligned, runner_up):
        rival = _version_rival(votes, best) if landmarks is not None else None
        if rival is None:
            return None
    located = _where_in_track(votes, best)
    offset, speed = _locate(query, rows, hits, votes, located)
    agreement = rival_agreement = None
    below = VERIFY_BELOW if verify_below is None else verify_below
    if landmarks is not None and (rival is not None or evidence(aligned, runner_up) < below):
        every = lookup(np.arange(PAIR_HASH_SPACE, dtype=np.int32))  # every row of the candidates
        seen = (every, rows, hits, votes, verify.query_peaks(landmarks))  # read once, for either recording
        agreement = _agreement(query, *seen, located, (offset, speed))
        if not verify.verified(agreement):
            return None
    if rival is not None:
        assert agreement is not None and landmarks is not None  # a rival is sought with landmarks alone
        rival_located = _where_in_track(votes, rival)
        rival_agreement = _agreement(query, *seen, rival_located, _locate(query, rows, hits, votes, rival_located))
        if not verify.ahead(agreement, rival_agreement):
            return None
        runner_up = _best_other(votes, (int(votes.track[best]), int(votes.track[rival])))
    confidence = 1.0 - chance_probability(aligned, runner_up)
    return MatchResult(int(votes.track[best]), offset, speed, int(votes.count[best]), aligned,
                       runner_up, evidence(aligned, runner_up), confidence, int(unique.size), agreement,
                       rival_agreement)


def _best_other(votes: Votes, tracks: tuple[int, ...]) -> int:
    """The aligned anchors of the best bin of any track but ``tracks`` (0 if none)."""
    other = ~np.isin(votes.track, tracks)
    return int(votes.anchors[other].max()) if other.any() else 0


def _version_rival(votes: Votes, best: int) -> int | None:
    """Given the best bin, which ``accept`` refuses against the runner-up, return the runner-up
    bin if it is itself a match against every other track (``accept`` against the best bin of
    a third): a recording related to the best one (an edit, a remix, a re-recording sharing its
    stems), not chance, which ``match`` then weighs against the best one head to head; None
    otherwise."""
    other = np.flatnonzero(votes.track != votes.track[best])
    if not HEAD_TO_HEAD or other.size == 0:
        return None
    rival = int(other[np.argmax(votes.anchors[other])])
    third = _best_other(votes, (int(votes.track[best]), int(votes.track[rival])))
    return rival if accept(int(votes.anchors[rival]), third) else None


def _only_allowed(votes: Votes, tracks: np.ndarray, windows: np.ndarray) -> Votes:
    """The bins of ``votes`` whose speed hypothesis is allowed for their track (row of
    ``windows`` for each of ``tracks``); tracks not listed keep none."""
    order = np.argsort(tracks, kind="stable")
    at = np.minimum(np.searchsorted(tracks[order], votes.track), tracks.size - 1)
    listed = tracks[order][at] == votes.track
    keep = listed & windows[order[at], votes.speed_index]
    return Votes(votes.track[keep], votes.speed_index[keep], votes.offset_bin[keep], votes.count[keep],
                 votes.anchors[keep], votes.weight[keep], votes.hits)


def accept(aligned: int, runner_up: int, min_evidence: float | None = None) -> bool:
    """Return True if a best bin of ``aligned`` anchors is a match rather than chance,
    given the best bin ``runner_up`` of any other track: at least ``MIN_ALIGNED``
    anchors and ``evidence`` of at least ``min_evidence`` (default ``MIN_EVIDENCE``)
    standard deviations."""
    threshold = MIN_EVIDENCE if min_evidence is None else min_evidence
    return aligned >= MIN_ALIGNED and evidence(aligned, runner_up) >= threshold


def _where_in_track(votes: Votes, best: int) -> int:
    """Given the best bin, return the bin of the same track that places the excerpt:
    the one of most ``weight`` among those with at least ``RELOCATE_MIN_FRACTION`` of
    the best bin's anchors (see the module docstring)."""
    rivals = np.flatnonzero((votes.track == votes.track[best])
                            & (votes.anchors >= RELOCATE_MIN_FRACTION * votes.anchors[best]))
    return int(rivals[np.argmax(votes.weight[rivals])])


def _agreement(query: QueryPrints, every: Rows, rows: Rows, hits: Hits, votes: Votes,
               peaks: tuple[np.ndarray, np.ndarray], best: int, where: tuple[float, float]) -> verify.Agreement:
    """``verify.check`` of the excerpt's ``peaks`` (``verify.query_peaks``) against the
    recording's at the alignment found (bin ``best``, offset and tempo ``where``): the
    recording's rows are its rows among ``every`` row of the candidates (what a ``Lookup``
    asked for every pair hash returns)."""
    track = int(votes.track[best])
    mine = np.asarray(every[1]) == track
    sel = _bin_hits(hits, votes, best)
    own_rows = rows[0][hits[3][sel]], rows[2][hits[3][sel]]
    pitches = query.speeds if query.pitches is None else query.pitches
    offset, tempo = where
    at = verify.Alignment(offset / FRAME_SECONDS, tempo, float(pitches[votes.speed_index[best]]),
                          query.duration_seconds / FRAME_SECONDS)
    return verify.check(*peaks, verify.stored_peaks(np.asarray(every[0])[mine], np.asarray(every[2])[mine]),
                        verify.stored_peaks(*own_rows), at)


def _bin_hits(hits: Hits, votes: Votes, best: int) -> np.ndarray:
    """Booleans over ``hits``: those of bin ``best`` and its next (the bin's drift tolerance)."""
    track, sp, diff, _ = hits
    obin = np.floor(diff / OFFSET_BIN_FRAMES).astype(np.int64)
    return ((track == votes.track[best]) & (sp == votes.speed_index[best])
            & (obin >= votes.offset_bin[best]) & (obin <= votes.offset_bin[best] + 1))


def _locate(query: QueryPrints, rows: Rows, hits: Hits, votes: Votes, best: int) -> tuple[float, float]:
    """Fit stored frame = offset + speed * played frame over the hits of the best
    bin; return (offset of the excerpt start in seconds, speed ratio)."""
    _, _, diff, ri = hits
    sel = _bin_hits(hits, votes, best)
    stored = rows[2][ri[sel]].astype(np.float64)
    speed = float(query.speeds[votes.speed_index[best]])
    played = (stored - diff[sel]) / speed  # query anchor frame as played
    if np.ptp(played) > 0 and sel.sum() >= 3:
        slope, intercept = np.polyfit(played, stored, 1)
        if abs(slope - speed) < 0.02:
            speed, offset = float(slope), float(intercept)
        else:
            offset = float(np.median(stored - speed * played))
    else:
        offset = float(np.median(stored - speed * played))
    return offset * FRAME_SECONDS, speed
