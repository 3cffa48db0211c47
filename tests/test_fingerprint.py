"""The named transforms of zamio.fingerprint, on signals with known answers."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from zamio import audio, fingerprint as fp, synth

RATE = audio.ANALYSIS_RATE


def tone(hz: float, seconds: float = 2.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


@given(st.integers(0, fp.FREQ_CELLS - 1), st.integers(-fp.MAX_DU_STEPS, fp.MAX_DU_STEPS),
       st.integers(0, fp.MAX_DT_FRAMES))
def test_hash_packing_round_trips(f1, du, dt):
    h = fp.pack_hash(np.array([f1]), np.array([du]), np.array([dt]))
    assert h.dtype == np.int32 and h[0] >= 0
    assert [int(v[0]) for v in fp.unpack_hash(h)] == [f1, du, dt]


def test_distinct_fields_give_distinct_hashes():
    f1, du, dt = np.meshgrid(np.arange(0, 256, 17), np.arange(-31, 32, 5), np.arange(0, 64, 7))
    h = fp.pack_hash(f1.ravel(), du.ravel(), dt.ravel())
    assert np.unique(h).size == h.size


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


def test_query_side_contains_the_index_side():
    x = audio.resample(synth.song(23, 12.0), synth.SYNTH_RATE)
    stored = set(fp.fingerprint(x).hashes.tolist())
    query = fp.query_fingerprint(x)
    at_nominal = set(query.hashes[query.speeds[query.speed_index] == 1.0].tolist())
    assert len(stored & at_nominal) / len(stored) > 0.95


def test_speed_hypothesis_recovers_the_original_hashes():
    source = synth.song(24, 12.0)
    stored = set(fp.fingerprint(audio.resample(source, synth.SYNTH_RATE)).hashes.tolist())
    played = audio.resample(synth.change_speed(source, 2), synth.SYNTH_RATE)
    query = fp.query_fingerprint(played)
    found = [len(stored & set(query.hashes[query.speed_index == k].tolist())) for k in range(query.speeds.size)]
    best = int(np.argmax(found))
    assert abs(query.speeds[best] - 1.02) < 0.01
    assert found[best] > 2 * found[int(np.flatnonzero(query.speeds == 1.0)[0])]


def test_speed_hypotheses_bracket_radio_speed_ups():
    speeds = fp.speed_hypotheses()
    assert 1.0 in speeds
    assert speeds.min() < 0.985 and speeds.max() > 1.03
    step = fp.STEPS_PER_OCTAVE * np.diff(np.log2(speeds))
    np.testing.assert_allclose(step, 1.0)


def test_too_short_input_gives_no_hashes():
    f = fp.fingerprint(np.zeros(100, np.float32))
    assert f.hashes.size == 0 and f.offsets.size == 0
    assert fp.query_fingerprint(np.zeros(100, np.float32)).hashes.size == 0
