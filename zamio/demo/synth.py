"""Deterministic music-like recordings for tests and the demo.

``song(seed)`` renders a short piece: a chord progression on a pad, a bass line, a
melody and a drum kit, with tempo, key, mode, timbre and rhythm drawn from ``seed``.
The same seed always gives the same samples; different seeds give recordings that do
not match each other.  ``jingle(seed)`` is a short station-ident-like sting.
``add_noise`` and ``change_speed`` degrade a recording as a radio capture would.
"""

from __future__ import annotations

import math
import wave
from pathlib import Path

import numpy as np
from scipy.signal import lfilter, resample_poly

SYNTH_RATE = 22050  # Hz: a realistic source rate, above the analysis rate
PEAK_LEVEL = 0.9  # full scale fraction of the loudest sample

Scale = tuple[int, ...]  # semitones above the root of each degree
MAJOR: Scale = (0, 2, 4, 5, 7, 9, 11)
MINOR: Scale = (0, 2, 3, 5, 7, 8, 10)


def midi_hz(note: float) -> float:
    """Return the frequency in Hz of MIDI note ``note`` (69 = A4 = 440 Hz)."""
    return 440.0 * 2.0 ** ((note - 69) / 12)


def song(seed: int, seconds: float = 30.0, rate: int = SYNTH_RATE) -> np.ndarray:
    """Given a seed, return ``seconds`` of a music-like recording as float32 mono
    samples at ``rate`` Hz, peaking at ``PEAK_LEVEL``."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * rate))
    beat = 60.0 / rng.uniform(84, 140)  # seconds per beat
    root = int(rng.integers(45, 57))
    scale = MAJOR if rng.random() < 0.5 else MINOR
    degrees = [0] + list(rng.choice([1, 2, 3, 4, 5], size=3, replace=True))
    timbres = [_timbre(rng) for _ in range(3)]
    out = np.zeros(n, np.float64)
    _chords(out, rng, rate, beat, root, scale, degrees, timbres[0])
    _bass(out, rng, rate, beat, root, scale, degrees, timbres[1])
    _melody(out, rng, rate, beat, root, scale, timbres[2])
    _drums(out, rng, rate, beat)
    return _normalise(out)


def jingle(seed: int, seconds: float = 4.0, rate: int = SYNTH_RATE) -> np.ndarray:
    """Given a seed, return a short sting (rising arpeggio over a hit) as float32."""
    rng = np.random.default_rng(seed + 1_000_003)
    n = int(round(seconds * rate))
    out = np.zeros(n, np.float64)
    root = int(rng.integers(55, 67))
    timbre = _timbre(rng)
    step = seconds / 8
    for k, interval in enumerate((0, 4, 7, 12, 16, 19)):
        _note(out, rate, k * step, seconds - k * step, midi_hz(root + interval), 0.3, timbre)
    _kick(out, rate, 0.0, 0.8)
    return _normalise(out)


def _timbre(rng: np.random.Generator) -> np.ndarray:
    """Relative amplitudes of the first harmonics (a random spectral envelope)."""
    count = int(rng.integers(3, 9))
    tilt = rng.uniform(0.5, 1.6)
    amps = np.arange(1, count + 1, dtype=float) ** -tilt
    return amps * rng.uniform(0.4, 1.0, count)


def _note(out: np.ndarray, rate: int, start_s: float, length_s: float, hz: float,
          level: float, timbre: np.ndarray) -> None:
    """Add one note (harmonics under an attack/decay envelope) to ``out`` in place."""
    i0 = int(start_s * rate)
    m = min(int(length_s * rate), out.size - i0)
    if m <= 0:
        return
    t = np.arange(m) / rate
    env = np.minimum(1.0, t / 0.01) * np.exp(-t * 2.5 / max(length_s, 0.05))
    wave_ = np.zeros(m)
    for h, a in enumerate(timbre, start=1):
        if hz * h < rate / 2 - 200:
            wave_ += a * np.sin(2 * math.pi * hz * h * t)
    out[i0 : i0 + m] += level * env * wave_


def _chords(out: np.ndarray, rng: np.random.Generator, rate: int, beat: float, root: int, scale: Scale,
            degrees: list[int], timbre: np.ndarray) -> None:
    bar = 4 * beat
    for k in range(int(out.size / rate / bar) + 1):
        degree = degrees[k % len(degrees)]
        for third in (0, 2, 4):
            step = degree + third
            note = root + 12 + 12 * (step // 7) + scale[step % 7]
            _note(out, rate, k * bar, bar * 1.1, midi_hz(note), 0.12, timbre)


def _bass(out: np.ndarray, rng: np.random.Generator, rate: int, beat: float, root: int, scale: Scale,
          degrees: list[int], timbre: np.ndarray) -> None:
    pattern = rng.choice([1, 2], size=4)  # notes per beat
    total_beats = int(out.size / rate / beat) + 1
    for b in range(total_beats):
        degree = degrees[(b // 4) % len(degrees)]
        for j in range(int(pattern[b % 4])):
            note = root - 12 + scale[degree % 7] + (12 if j else 0)
            start = (b + j / pattern[b % 4]) * beat
            _note(out, rate, start, beat / pattern[b % 4], midi_hz(note), 0.25, timbre)


def _melody(out: np.ndarray, rng: np.random.Generator, rate: int, beat: float, root: int, scale: Scale,
            timbre: np.ndarray) -> None:
    step, t, end = int(rng.integers(0, 7)), 0.0, out.size / rate
    while t < end:
        length = beat * float(rng.choice([0.5, 0.5, 1.0, 1.0, 1.5, 2.0]))
        step = int(np.clip(step + rng.integers(-2, 3), -3, 12))
        if rng.random() > 0.15:  # some rests
            note = root + 24 + 12 * (step // 7) + scale[step % 7]
            _note(out, rate, t, length, midi_hz(note), 0.2, timbre)
        t += length


def _drums(out: np.ndarray, rng: np.random.Generator, rate: int, beat: float) -> None:
    total_beats = int(out.size / rate / beat) + 1
    noise = np.random.default_rng(int(rng.integers(1 << 31))).standard_normal(int(0.2 * rate))
    for b in range(total_beats):
        if b % 2 == 0:
            _kick(out, rate, b * beat, 0.6)
        else:
            _burst(out, rate, b * beat, noise, 0.12, 0.35, lowpass=0.5)
        for half in (0.0, 0.5):
            _burst(out, rate, (b + half) * beat, noise, 0.04, 0.08, lowpass=None)


def _kick(out: np.ndarray, rate: int, start_s: float, level: float) -> None:
    i0 = int(start_s * rate)
    m = min(int(0.25 * rate), out.size - i0)
    if m <= 0:
        return
    t = np.arange(m) / rate
    freq = 50 + 70 * np.exp(-t * 30)  # pitch drops from 120 Hz to 50 Hz
    out[i0 : i0 + m] += level * np.exp(-t * 14) * np.sin(2 * math.pi * np.cumsum(freq) / rate)


def _burst(out: np.ndarray, rate: int, start_s: float, noise: np.ndarray, length_s: float, level: float,
           lowpass: float | None) -> None:
    """Add a decaying noise burst: a snare (low-passed) or a hi-hat (high-passed)."""
    i0 = int(start_s * rate)
    m = min(int(length_s * rate), out.size - i0, noise.size)
    if m <= 0:
        return
    x = noise[:m]
    x = lfilter([lowpass], [1, lowpass - 1], x) if lowpass else np.diff(x, prepend=0.0)
    out[i0 : i0 + m] += level * np.exp(-np.arange(m) / rate * 5 / length_s) * x


def _normalise(x: np.ndarray) -> np.ndarray:
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    return (x * (PEAK_LEVEL / peak) if peak > 0 else x).astype(np.float32)


def add_noise(samples: np.ndarray, snr_db: float, seed: int = 0) -> np.ndarray:
    """Return ``samples`` plus white Gaussian noise at ``snr_db`` dB below their power."""
    rng = np.random.default_rng(seed)
    power = float(np.mean(np.square(samples, dtype=np.float64)))
    noise = rng.standard_normal(samples.size) * math.sqrt(power / 10 ** (snr_db / 10))
    return (samples + noise).astype(np.float32)


def change_speed(samples: np.ndarray, percent: int) -> np.ndarray:
    """Return ``samples`` played ``percent`` % faster (tempo and pitch together, as a
    radio station's speed-up), by resampling."""
    return resample_poly(samples, 100, 100 + percent).astype(np.float32)


def write_wav(path: str | Path, samples: np.ndarray, rate: int = SYNTH_RATE) -> None:
    """Write float samples in [-1, 1] as a mono 16-bit PCM WAV file (clipped)."""
    pcm = np.clip(np.round(np.asarray(samples, np.float64) * 32767), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
