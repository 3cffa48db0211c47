"""The named transforms of zamio.recognition.fingerprint, on signals with known answers."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from zamio.demo import synth
from zamio.recognition import audio, match
from zamio.recognition import fingerprint as fp
from zamio.recognition.query import hypotheses, query_fingerprint, speed_hypotheses

RATE = audio.ANALYSIS_RATE


def tone(hz: float, seconds: float = 2.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


fields = st.tuples(st.integers(0, fp.FREQ_CELLS - 1), st.integers(-fp.MAX_DU_STEPS, fp.MAX_DU_STEPS),
                   st.integers(-fp.MAX_DU_STEPS, fp.MAX_DU_STEPS), st.integers(1, fp.MAX_DT_FRAMES),
                   st.integers(1, fp.MAX_DT_FRAMES))


@given(fields)
def test_triplet_hash_packing_round_trips(values):
    f1, du2, du3, a, b = values
    dt2, dt3 = min(a, b), max(a, b)
    h = fp.pack_hash(*(np.array([v]) for v in (f1, du2, du3, dt2, dt3)))
    assert h.dtype == np.int32 and h[0] >= 0
    assert [int(v[0]) for v in fp.unpack_hash(h)] == [f1, du2, du3, dt2, dt3]


def test_distinct_triplet_fields_give_distinct_hashes():
    f1, du2, du3, dt2, dt3 = (g.ravel() for g in np.meshgrid(
        np.arange(0, 256, 37), np.arange(-31, 32, 9), np.arange(-31, 32, 11), np.arange(1, 64, 9), np.arange(1, 64, 6)))
    ordered = dt2 <= dt3
    h = fp.pack_hash(f1[ordered], du2[ordered], du3[ordered], dt2[ordered], dt3[ordered])
    assert np.unique(h).size == h.size
    assert h.min() >= 0


@given(st.integers(0, fp.FREQ_CELLS - 1), st.integers(-fp.MAX_DU_STEPS, fp.MAX_DU_STEPS),
       st.integers(0, fp.MAX_DT_FRAMES))
def test_pair_hash_packing_round_trips(f1, du, dt):
    h = fp.pack_pair_hash(np.array([f1]), np.array([du]), np.array([dt]))
    assert h.dtype == np.int32 and h[0] >= 0
    assert [int(v[0]) for v in fp.unpack_pair_hash(h)] == [f1, du, dt]


def test_distinct_pair_fields_give_distinct_hashes():
    f1, du, dt = np.meshgrid(np.arange(0, 256, 17), np.arange(-31, 32, 5), np.arange(0, 64, 7))
    h = fp.pack_pair_hash(f1.ravel(), du.ravel(), dt.ravel())
    assert np.unique(h).size == h.size


def test_a_triplet_holds_its_two_pairs():
    h = fp.pack_hash(np.array([40, 40]), np.array([3, -5]), np.array([-7, -5]), np.array([4, 9]), np.array([10, 9]))
    pair_hashes, tracks, frames = fp.pairs_of_triplets(h, np.array([5, 5], np.int32), np.array([100, 200], np.int32))
    expected = {(int(fp.pack_pair_hash(40, 3, 4)), 100), (int(fp.pack_pair_hash(40, -7, 10)), 100),
                (int(fp.pack_pair_hash(40, -5, 9)), 200)}  # the second triplet's pairs are one pair
    assert set(zip(pair_hashes.tolist(), frames.tolist())) == expected
    assert pair_hashes.size == 3 and set(tracks.tolist()) == {5}


def test_log_frequency_cells_round_trip():
    hz = np.array([125.0, 440.0, 1000.0, 3999.0])
    cells = fp._bins_to_cells(hz / fp.BIN_HZ - fp.MIN_BIN)
    np.testing.assert_allclose(fp.cells_to_hz(cells), hz, rtol=1e-9)


def test_spectrogram_shape_and_tone_bin():
    spec = fp.spectrogram(tone(1000.0))
    assert spec.dtype == np.float32
    assert spec.shape[1] == fp.WINDOW_SAMPLES // 2 + 1 - fp.MIN_BIN
    assert spec.shape[0] == (2 * RATE - fp.WINDOW_SAMPLES) // fp.HOP_SAMPLES + 1
    loudest_hz = (np.argmax(spec.mean(axis=0)) + fp.MIN_BIN) * fp.BIN_HZ
    assert abs(loudest_hz - 1000.0) <= fp.BIN_HZ


def test_tone_peaks_sit_on_the_tone_with_sub_bin_precision():
    for hz in (300.0, 1003.0, 2500.0):
        peaks = fp.find_peaks(fp.spectrogram(tone(hz)), 20.0)
        strong = peaks.strength > peaks.strength.max() - 20.0  # the rest is window leakage
        assert np.unique(peaks.t[strong]).size >= 10
        np.testing.assert_allclose(fp.cells_to_hz(peaks.u[strong]), hz, rtol=0.003)


def test_click_peaks_fall_on_the_click_frames():
    x = np.zeros(3 * RATE, np.float32)
    clicks = [0.5, 1.5, 2.5]
    for c in clicks:
        i = int(c * RATE)
        x[i : i + 40] = np.hanning(40) * np.sin(np.arange(40) * 1.3)  # a short broadband tick
    peaks = fp.find_peaks(fp.spectrogram(x), 20.0)
    # a frame's window covers the click when the click lies within it; its centre is near
    centres = (peaks.t * fp.HOP_SAMPLES + fp.WINDOW_SAMPLES / 2) / RATE
    for c in clicks:
        assert np.any(np.abs(centres - c) < 0.1)
    assert np.all(np.min(np.abs(centres[:, None] - np.array(clicks)[None, :]), axis=1) < 0.1)


def test_peak_budget_holds_on_noise():
    x = np.random.default_rng(1).standard_normal(20 * RATE).astype(np.float32) * 0.1
    peaks = fp.find_peaks(fp.spectrogram(x), 7.0)
    per_second = peaks.t.size / 20
    assert 5.0 < per_second <= 7.0 * 1.15  # the budget, plus the clip edges


def test_fingerprint_is_deterministic_and_lean():
    x = audio.resample(synth.song(21, 20.0), synth.SYNTH_RATE)
    a, b = fp.fingerprint(x), fp.fingerprint(x.copy())
    np.testing.assert_array_equal(a.hashes, b.hashes)
    assert a.hashes.dtype == np.int32 and a.offsets.dtype == np.int32
    assert a.version == fp.FINGERPRINT_VERSION
    assert abs(a.duration_seconds - 20.0) < 1e-3
    assert 10 < a.hashes.size / 20.0 <= 25  # the storage budget: about 20 rows per second
    assert a.offsets.min() >= 0 and a.offsets.max() * fp.FRAME_SECONDS < 20.0


def test_landmarks_respect_the_target_zone_and_fanout():
    peaks = fp.find_peaks(fp.spectrogram(audio.resample(synth.song(22, 10.0), synth.SYNTH_RATE)), 7.0)
    lm = fp.peaks_to_landmarks(peaks, 3)
    assert np.all((lm.dt >= fp.MIN_DT_FRAMES) & (lm.dt <= fp.MAX_DT_FRAMES))
    assert np.all(np.abs(lm.u2 - lm.u1) <= fp.MAX_DU_STEPS)
    _, per_anchor = np.unique(np.stack([lm.t1, lm.u1]), axis=1, return_counts=True)
    assert per_anchor.max() <= 3
    everything = fp.peaks_to_landmarks(peaks, None)
    assert everything.t1.size >= lm.t1.size


def test_stored_triplets_hold_the_pairs_of_every_anchor_and_partner():
    x = audio.resample(synth.song(25, 12.0), synth.SYNTH_RATE)
    stored = fp.fingerprint(x)
    pair_hashes, _, frames = fp.pairs_of_triplets(stored.hashes, np.zeros(stored.hashes.size, np.int32), stored.offsets)
    peaks = fp.find_peaks(fp.spectrogram(x), fp.INDEX_PROFILE.peaks_per_second)
    lm = fp.peaks_to_landmarks(peaks, fp.INDEX_PROFILE.partners)
    expected, _, ok = fp.landmarks_to_hashes(lm)
    assert set(zip(pair_hashes.tolist(), frames.tolist())) == set(zip(expected.tolist(), lm.t1[ok].tolist()))


def test_triplets_respect_the_target_zone_and_partner_count():
    peaks = fp.find_peaks(fp.spectrogram(audio.resample(synth.song(22, 10.0), synth.SYNTH_RATE)), 8.0)
    table = fp.partner_table(peaks, 3)
    tr = fp.peaks_to_triplets(peaks, 3)
    assert np.all((tr.dt2 >= fp.MIN_DT_FRAMES) & (tr.dt2 <= tr.dt3) & (tr.dt3 <= fp.MAX_DT_FRAMES))
    assert np.all(np.abs(tr.u2 - tr.u1) <= fp.MAX_DU_STEPS) and np.all(np.abs(tr.u3 - tr.u1) <= fp.MAX_DU_STEPS)
    # three partners make three triplets per anchor; fewer partners, fewer triplets
    full = int(((table >= 0).sum(axis=1) == 3).sum())
    two = int(((table >= 0).sum(axis=1) == 2).sum())
    one = int(((table >= 0).sum(axis=1) == 1).sum())
    assert tr.t1.size == 3 * full + two
    assert fp.peaks_to_triplets(peaks, 3, lone_partner=True).t1.size == 3 * full + two + one
    assert fp.peaks_to_triplets(peaks, 8).t1.size > tr.t1.size


def test_partners_are_the_nearest_later_peaks_in_the_zone():
    peaks = fp.Peaks(np.array([0, 1, 2, 3, 80], np.int32), np.array([10.0, 60.0, 12.0, 14.0, 10.0], np.float32),
                     np.zeros(5, np.float32))
    table = fp.partner_table(peaks, 2)
    # peak 1 is too far in frequency from 0, peak 4 too late for anyone
    assert table.tolist() == [[2, 3], [-1, -1], [3, -1], [-1, -1], [-1, -1]]


def test_held_notes_are_not_looked_up_but_are_stored():
    tr = fp.Triplets(np.array([0, 0], np.int32), np.array([10.0, 10.0], np.float32), np.array([10.2, 13.0], np.float32),
                     np.array([9.9, 10.0], np.float32), np.array([4, 4], np.int32), np.array([8, 8], np.int32))
    hashes, _, ok = fp.triplets_to_hashes(tr)
    assert ok.tolist() == [False, True] and hashes.size == 1
    assert fp.triplets_to_hashes(tr, held_notes=True)[0].size == 2


def test_query_side_contains_the_index_side():
    x = audio.resample(synth.song(23, 12.0), synth.SYNTH_RATE)
    stored = fp.fingerprint(x)
    query = query_fingerprint(x)
    triplets = query.triplets
    at_nominal = set(triplets.hashes[triplets.speeds[triplets.speed_index] == 1.0].tolist())
    # the index's triplets of held notes are never looked up
    f1, du2, du3, _, _ = fp.unpack_hash(stored.hashes)
    looked_up = set(stored.hashes[(du2 != 0) | (du3 != 0)].tolist())
    assert len(looked_up & at_nominal) / len(looked_up) > 0.9
    pair_hashes, _, _ = fp.pairs_of_triplets(stored.hashes, np.zeros(stored.hashes.size, np.int32), stored.offsets)
    pairs = query.pairs
    pairs_at_nominal = set(pairs.hashes[pairs.speeds[pairs.speed_index] == 1.0].tolist())
    assert len(set(pair_hashes.tolist()) & pairs_at_nominal) / len(set(pair_hashes.tolist())) > 0.95


def test_speed_hypothesis_recovers_the_original_hashes():
    source = synth.song(24, 12.0)
    stored = set(fp.fingerprint(audio.resample(source, synth.SYNTH_RATE)).hashes.tolist())
    played = audio.resample(synth.change_speed(source, 2), synth.SYNTH_RATE)
    query = query_fingerprint(played).triplets
    found = [len(stored & set(query.hashes[query.speed_index == k].tolist())) for k in range(query.speeds.size)]
    best = int(np.argmax(found))
    assert abs(query.speeds[best] - 1.02) < 0.01
    assert found[best] > 2 * found[int(np.flatnonzero(query.speeds == 1.0)[0])]


def test_speed_hypotheses_bracket_five_percent_both_ways():
    speeds = speed_hypotheses()
    assert 1.0 in speeds
    assert speeds.min() < 0.95 and speeds.max() > 1.05
    step = fp.STEPS_PER_OCTAVE * np.diff(np.log2(speeds))
    np.testing.assert_allclose(step, 1.0)
    pitches, tempos = hypotheses()
    stretched = pitches != tempos
    np.testing.assert_allclose(tempos[stretched], [2 ** (-1.5 / 36), 2 ** (1.5 / 36)])  # 2.9 % either side
    assert (pitches[stretched] == 1.0).all() and tempos.size == speeds.size + 2


def test_pairs_are_decided_on_a_finer_grid_near_the_speed_found():
    samples = audio.resample(synth.song(5, 6.0), synth.SYNTH_RATE)
    query = query_fingerprint(samples)
    slow = int(np.flatnonzero(query.triplets.speeds == 2 ** (-2 / 36))[0])
    stretch = int(np.flatnonzero(query.triplets.pitches != query.triplets.speeds)[-1])
    prints, windows = match.pairs_near(query, np.array([slow, stretch, slow]))
    # Half a cell either side, half a cell apart: three hypotheses each, hashed once.
    cells = 36 * np.log2(prints.speeds)
    varispeed = prints.pitches == prints.speeds
    np.testing.assert_allclose(cells[varispeed], [-2.5, -2.0, -1.5])
    np.testing.assert_allclose(cells[~varispeed], [1.0, 1.5, 2.0])
    np.testing.assert_allclose(prints.pitches[~varispeed], 1.0)  # a time-stretch keeps the pitch
    np.testing.assert_array_equal(windows, [varispeed, ~varispeed, varispeed])
    k = int(np.flatnonzero(~varispeed & np.isclose(cells, 2.0))[0])
    expected, _, _ = fp.landmarks_to_hashes(query.landmarks, 1.0, tempo=2 ** (2.0 / 36))
    np.testing.assert_array_equal(prints.hashes[prints.speed_index == k], expected)


def test_too_short_input_gives_no_hashes():
    f = fp.fingerprint(np.zeros(100, np.float32))
    assert f.hashes.size == 0 and f.offsets.size == 0
    query = query_fingerprint(np.zeros(100, np.float32))
    assert query.triplets.hashes.size == 0 and query.pairs.hashes.size == 0


def test_held_note_triplets_are_what_the_partial_hash_index_leaves_out():
    # sql/0011_fingerprints_track_btree.sql: (hash >> 11) & 4095 = 2015 marks a held note
    f1, du2, du3, dt2, dt3 = (g.ravel() for g in np.meshgrid(
        np.arange(0, 256, 51), np.arange(-31, 32, 7), np.arange(-31, 32, 7),
        np.arange(1, 64, 13), np.arange(1, 64, 13)))
    ordered = dt2 <= dt3
    f1, du2, du3, dt2, dt3 = (a[ordered] for a in (f1, du2, du3, dt2, dt3))
    h = fp.pack_hash(f1, du2, du3, dt2, dt3).astype(np.int64)
    np.testing.assert_array_equal(((h >> 11) & 4095) == 2015, (du2 == 0) & (du3 == 0))
