"""The synthetic recordings used by tests and the demo."""

from __future__ import annotations

import numpy as np

from zamio.demo import synth
from zamio.recognition import audio


def test_same_seed_same_recording():
    np.testing.assert_array_equal(synth.song(5, 4.0), synth.song(5, 4.0))


def test_recordings_are_float32_at_the_peak_level():
    x = synth.song(6, 3.0)
    assert x.dtype == np.float32
    assert x.size == 3 * synth.SYNTH_RATE
    assert abs(np.max(np.abs(x)) - synth.PEAK_LEVEL) < 1e-6


def test_distinct_seeds_are_distinct_recordings():
    a, b = synth.song(7, 4.0), synth.song(8, 4.0)
    corr = abs(float(np.dot(a, b)) / float(np.linalg.norm(a) * np.linalg.norm(b)))
    assert corr < 0.2


def test_jingle_is_short_and_audible():
    j = synth.jingle(3)
    assert j.size == 4 * synth.SYNTH_RATE
    assert audio.check_not_silent(j) is j


def test_add_noise_reaches_the_requested_snr():
    x = synth.song(9, 4.0)
    y = synth.add_noise(x, 5.0, seed=2)
    snr = 10 * np.log10(np.mean(x.astype(np.float64) ** 2) / np.mean((y - x).astype(np.float64) ** 2))
    assert abs(snr - 5.0) < 0.2


def test_change_speed_shortens_and_raises_pitch():
    t = np.arange(synth.SYNTH_RATE) / synth.SYNTH_RATE
    x = np.sin(2 * np.pi * 500 * t).astype(np.float32)
    y = synth.change_speed(x, 2)
    assert abs(y.size - synth.SYNTH_RATE / 1.02) <= 1
    spectrum = np.abs(np.fft.rfft(y * np.hanning(y.size)))
    assert abs(np.argmax(spectrum) * synth.SYNTH_RATE / y.size - 510) < 3


def test_write_wav_round_trips_through_decode(tmp_path):
    x = synth.song(10, 2.0)
    synth.write_wav(tmp_path / "s.wav", x)
    y = audio.decode_file(tmp_path / "s.wav")
    ref = audio.resample(x, synth.SYNTH_RATE)
    assert y.size == ref.size
    assert np.max(np.abs(y - ref)) < 1e-3
