"""The second look at marginal matches: peaks of the excerpt against the recording's, by hand."""

from __future__ import annotations

import numpy as np

from zamio.recognition import fingerprint, verify

NOTHING = (np.zeros(0, np.int64), np.zeros(0, np.int64))

# An excerpt of 100 frames with a peak every 10 frames at cell 50 (log-frequency 50.5),
# placed 100 frames into the recording at nominal speed: the recording's frames 100..200.
QUERY_T = np.arange(0, 100, 10)
QUERY_U = np.full(10, 50.5)
AT = verify.Alignment(offset_frames=100.0, tempo=1.0, pitch=1.0, frames=100.0)


def test_the_recordings_peaks_where_the_excerpts_are_all_agree() -> None:
    stored = (100 + QUERY_T, np.full(10, 50))
    own = (np.array([100, 110, 120]), np.array([50, 50, 50]))
    agreement = verify.check(QUERY_T, QUERY_U, stored, own, AT)
    assert agreement == verify.Agreement(peaks=10, agreeing=10, own=3, own_agreeing=3)
    assert verify.verified(agreement)


def test_peaks_between_the_excerpts_or_at_other_frequencies_do_not_agree() -> None:
    between = (105 + QUERY_T, np.full(10, 50))  # half-way between two of the excerpt's peaks
    assert verify.check(QUERY_T, QUERY_U, between, between, AT) == verify.Agreement(10, 0, 10, 0)
    elsewhere = (100 + QUERY_T, np.full(10, 53))  # three cells away
    assert verify.check(QUERY_T, QUERY_U, elsewhere, elsewhere, AT) == verify.Agreement(10, 0, 10, 0)
    near = (101 + QUERY_T, np.full(10, 51))  # a frame later, a cell up: within the tolerance
    assert verify.check(QUERY_T, QUERY_U, near, near, AT) == verify.Agreement(10, 10, 10, 10)


def test_a_chance_bin_scatters_its_hits_over_the_bins_frames() -> None:
    # A chance bin's hits lie anywhere in its 8 frames (two bins of 4): 8 own peaks at
    # offsets -3..4 from the excerpt's peaks, one each; those within a frame agree
    # (-1, 0 and 1): 3 of 8, 0.375.
    own = (100 + np.arange(10, 90, 10) + np.arange(-3, 5), np.full(8, 50))
    agreement = verify.check(QUERY_T, QUERY_U, own, own, AT)
    assert agreement == verify.Agreement(8, 3, 8, 3)
    assert not verify.verified(agreement)


def test_a_recording_whose_other_peaks_do_not_agree_is_refused() -> None:
    # The excerpt's ten peaks agree with the bin's own hashes, but 30 other peaks of the
    # recording in the span lie 3 to 5 frames from any of the excerpt's: 10 of 40 agree.
    own = (100 + QUERY_T, np.full(10, 50))
    others = 100 + (QUERY_T[:, None] + np.array([3, 4, 5])).ravel()
    stored = (np.concatenate([own[0], others]), np.full(40, 50))
    agreement = verify.check(QUERY_T, QUERY_U, stored, own, AT)
    assert agreement == verify.Agreement(40, 10, 10, 10) and agreement.coverage == 0.25
    assert not verify.verified(agreement)
    # the same peaks a frame from the excerpt's: all agree
    close = (np.concatenate([own[0], 100 + np.repeat(QUERY_T, 3) + np.tile([-1, 1, 0], 10)]), np.full(40, 50))
    assert verify.verified(verify.check(QUERY_T, QUERY_U, close, own, AT))


def test_a_shuffled_recording_agrees_about_as_often_as_chance() -> None:
    # The recording's other peaks shuffled in time over the span agree only where they land a
    # frame from one of the excerpt's.
    rng = np.random.default_rng(7)
    others = 100 + rng.permutation(np.setdiff1d(np.arange(101), QUERY_T))[:30]
    own = (100 + QUERY_T, np.full(10, 50))
    stored = (np.concatenate([own[0], others]), np.full(40, 50))
    near = sum(1 for f in (others - 100).tolist() if min(abs(f - t) for t in range(0, 100, 10)) <= 1)
    agreement = verify.check(QUERY_T, QUERY_U, stored, own, AT)
    assert agreement == verify.Agreement(40, 10 + near, 10, 10)
    assert verify.verified(agreement) is ((10 + near) / 40 >= verify.MIN_COVERAGE)


def test_verified_asks_for_both_shares() -> None:
    assert verify.MIN_COVERAGE == 0.3 and verify.MIN_OWN_AGREEING == 0.5
    assert verify.verified(verify.Agreement(peaks=10, agreeing=3, own=4, own_agreeing=2))
    assert not verify.verified(verify.Agreement(peaks=10, agreeing=2, own=4, own_agreeing=2))
    assert not verify.verified(verify.Agreement(peaks=10, agreeing=3, own=4, own_agreeing=1))
    assert not verify.verified(verify.Agreement(peaks=0, agreeing=0, own=0, own_agreeing=0))


def test_only_the_peaks_inside_the_excerpts_span_count() -> None:
    stored = (np.array([50, 99, 100, 155, 200, 201, 260]), np.full(7, 50))
    agreement = verify.check(QUERY_T, QUERY_U, stored, NOTHING, AT)
    assert (agreement.peaks, agreement.agreeing) == (3, 1)  # frames 100, 155 and 200; 100 alone agrees


def test_pitch_and_tempo_of_the_alignment_move_the_excerpts_peaks() -> None:
    # Played 3 cells (about 5.9 %) sharp and fast: every peak 3 cells up, the frames closer together.
    pitch = 2 ** (3 / fingerprint.STEPS_PER_OCTAVE)
    played_t = np.rint(QUERY_T / pitch)
    at = verify.Alignment(100.0, pitch, pitch, 100.0 / pitch)
    stored = (100 + QUERY_T, np.full(10, 50))
    assert verify.check(played_t, QUERY_U + 3, stored, stored, at) == verify.Agreement(10, 10, 10, 10)
    unshifted = verify.Alignment(100.0, pitch, 1.0, 100.0 / pitch)  # the tempo alone: every peak 3 cells off
    assert verify.check(played_t, QUERY_U + 3, stored, stored, unshifted).agreeing == 0


def test_peaks_of_the_excerpt_and_of_stored_pairs() -> None:
    landmarks = fingerprint.Landmarks(t1=np.array([3, 3, 8], np.int32), u1=np.array([10.2, 10.2, 40.7], np.float32),
                                      u2=np.array([20.5, 12.0, 41.0], np.float32), dt=np.array([5, 9, 4], np.int32))
    t, u = verify.query_peaks(landmarks)
    assert sorted(zip(t.tolist(), np.round(u, 1).tolist())) == [
        (3, 10.2), (8, 20.5), (8, 40.7), (12, 12.0), (12, 41.0)]
    pair = fingerprint.pack_pair_hash(np.array([10, 40]), np.array([10, -2]), np.array([5, 63]))
    st, sc = verify.stored_peaks(pair, np.array([3, 8]))
    assert list(zip(st.tolist(), sc.tolist())) == [(3, 10), (8, 40), (8, 20), (71, 38)]


# Two versions of a recording weighed head to head, each at its own alignment: the excerpt's
# ten peaks (QUERY_T at cell 50, frames 100..200 of either).
VERSION_OWN = (100 + QUERY_T[:4], np.full(4, 50))  # the bin's own hashes: four of the shared peaks


def test_the_version_whose_peaks_all_agree_beats_one_that_shares_half() -> None:
    # Version A holds the excerpt's ten peaks; version B the first five, and five of its own
    # part (3 cells up) where the excerpt has the others: A 10 of 10 agree, B 5 of 10.
    a = (100 + QUERY_T, np.full(10, 50))
    b = (100 + QUERY_T, np.r_[np.full(5, 50), np.full(5, 53)])
    mine, theirs = (verify.check(QUERY_T, QUERY_U, peaks, VERSION_OWN, AT) for peaks in (a, b))
    assert (mine.peaks, mine.agreeing, theirs.peaks, theirs.agreeing) == (10, 10, 10, 5)
    assert verify.ahead(mine, theirs)  # 1.0 against 0.5
    assert not verify.ahead(theirs, mine)


def test_two_versions_that_hold_the_same_peaks_are_refused() -> None:
    same = (100 + QUERY_T, np.full(10, 50))
    mine = theirs = verify.check(QUERY_T, QUERY_U, same, VERSION_OWN, AT)
    assert mine == verify.Agreement(10, 10, 4, 4)
    assert not verify.ahead(mine, theirs)


def test_a_lead_under_min_lead_is_refused() -> None:
    assert verify.MIN_LEAD == 0.1
    mine = verify.Agreement(peaks=100, agreeing=95, own=40, own_agreeing=40)
    assert not verify.ahead(mine, verify.Agreement(peaks=100, agreeing=90, own=40, own_agreeing=40))  # 0.05
    assert verify.ahead(mine, verify.Agreement(peaks=100, agreeing=80, own=40, own_agreeing=40))  # 0.15
    # shares, not counts: 38 of 40 (0.95) against 170 of 200 (0.85)
    assert verify.ahead(verify.Agreement(40, 38, 10, 10), verify.Agreement(200, 170, 10, 10))
    assert not verify.ahead(verify.Agreement(40, 38, 10, 10), verify.Agreement(200, 180, 10, 10))  # 0.95 and 0.9
