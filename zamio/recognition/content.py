"""Music or not: what a capture that matched nothing in the catalog contains.

:func:`classify` looks at decoded samples (mono, ``ANALYSIS_RATE``) and says whether
they are ``music``, ``speech`` (a presenter, a news bulletin, an advertisement read
over a music bed) or ``noise`` (static, hum, a dead carrier).  Silence never gets
here: the decoder refuses it first (``audio.SilentAudio``).

It measures a handful of clip-level figures from one short-time spectrum
(:func:`features`) and weighs them with a multinomial logistic model:

* ``low_energy``: the share of frames 10 dB or more under the clip's loud level.
  Speech stops between words and breaths; music, and noise, rarely do.
* ``deep_pauses``: the same, 25 dB under: only speech without a bed falls that far.
* ``syllable_rate``: the share of the loudness envelope's modulation between 2.5
  and 7 Hz, where syllables are (the "4 Hz modulation" of speech).
* ``beat``: the strongest periodicity of the onset envelope between 0.25 and 1.5 s:
  a beat, a bar, a strummed chord.
* ``persistence``: the share of spectral peaks that stay on the same frequency for
  five frames (160 ms): held notes stay, voiced speech glides from one pitch to the next.
* ``harmonic``: the share of energy that a median filter along time keeps over one
  along frequency (harmonic/percussive separation): tones and chords against clicks and hiss.
* ``flatness``: the mean spectral flatness (geometric over arithmetic mean): 1 for white noise.
* ``flux``: the spread of the spectral flux (frame-to-frame change) over its mean.
* ``zcr_spread``: the spread of the zero-crossing rate over its mean: speech swings
  between voiced sounds and fricatives.
* ``pitch_focus``: how few of the twelve pitch classes hold the clip's tonal peaks
  (one minus their normalised entropy): a song stays in its key.
* ``change``: how far the spectrum moves from one second to the next (the median RMS
  difference, in dB, of successive one-second mean spectra): chords and phrases
  change it, hiss, hum and a test tone do not.

The weights (``_MEANS``, ``_SCALES``, ``_WEIGHTS``) were fitted by ``bench/music_bench.py
--fit`` on generated songs, real recorded music, synthetic speech, speech over music
beds and generated noise, and that script reports the figures on clips held out of the
fit.  A clip is music when the model gives music at least ``MUSIC_THRESHOLD``:
set above one half so that talk and advertisements are seldom taken for music.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zamio.recognition.audio import ANALYSIS_RATE

CLASSES = ("music", "speech", "noise")
FEATURES = ("low_energy", "deep_pauses", "syllable_rate", "beat", "persistence", "harmonic", "flatness", "flux",
            "zcr_spread", "pitch_focus", "change")

WINDOW_SAMPLES = 512  # 64 ms at 8 kHz: 15.6 Hz bins
HOP_SAMPLES = 256  # 32 ms frames: the envelope is sampled at 31.25 Hz
FRAME_RATE = ANALYSIS_RATE / HOP_SAMPLES
MIN_SECONDS = 3.0  # shorter clips are not judged: too few syllables, beats or notes
MAX_SECONDS = 30.0  # the first 30 s are enough, and bound the cost of a long file
LOUD_PERCENTILE = 90  # the clip's loud level, which pauses are measured against
LOW_ENERGY_DB = 10.0
DEEP_PAUSE_DB = 25.0
SYLLABLE_HZ = (2.5, 7.0)
MODULATION_HZ = (0.5, 15.0)
BEAT_SECONDS = (0.25, 1.5)
PEAK_FLOOR_DB = 30.0  # spectral peaks count within this much of the frame's strongest
PERSIST_FRAMES = 5
HPSS_POOL = 2  # frames and bins summed in twos first: the median filters cost an eighth
HPSS_CELLS = 9  # pooled cells each filter spans: 0.58 s along time, 281 Hz along frequency
BAND_HZ = (100.0, 3800.0)
CHANGE_BLOCK_FRAMES = 31  # one second
CHANGE_RANGE_DB = 60.0  # spectra are compared down to this far under the clip's strongest bin

MUSIC_THRESHOLD = 0.75

# Fitted by bench/music_bench.py --fit (standardisation, then one row of weights per class).
_MEANS = np.array([
    0.309485, 0.0762156, 0.416163, 0.28276, 0.322811, 0.457189, 0.086317, 0.328202, 0.398291,
    0.0774783, 6.4963,
])
_SCALES = np.array([
    0.210144, 0.115094, 0.13609, 0.289505, 0.226588, 0.255565, 0.105122, 0.241441, 0.223877,
    0.130354, 2.55559,
])
_WEIGHTS = np.array([
    [
        -0.375583, 1.13226, -0.89822, 2.28915, 2.14326, 1.52137, -0.677993, -1.43286, 0.549554,
        -0.305083, 0.512686, 2.33798,
    ],
    [
        1.7564, 0.112704, 1.47721, -0.47396, -1.56664, -0.144713, -1.05213, 0.995045, -1.19311,
        -1.81445, 2.98958, 2.46001,
    ],
    [
        -1.38082, -1.24496, -0.578992, -1.81519, -0.576625, -1.37666, 1.73013, 0.437819, 0.643551,
        2.11953, -3.50226, -4.79799,
    ],
])


@dataclass(frozen=True)
class Content:
    """What a clip contains: ``kind`` (one of ``CLASSES``) and the model's probability of music."""

    kind: str
    music: float

    @property
    def is_music(self) -> bool:
        return self.kind == "music"


def classify(samples: np.ndarray) -> Content | None:
    """Given mono samples at ``ANALYSIS_RATE``, return what they contain, or None when
    there are fewer than ``MIN_SECONDS`` of them."""
    found = features(samples)
    if found is None:
        return None
    return decide(probabilities(found))


def decide(p: np.ndarray) -> Content:
    """Given the class probabilities (in ``CLASSES`` order), return the verdict."""
    music = float(p[0])
    if music >= MUSIC_THRESHOLD:
        return Content("music", music)
    return Content(CLASSES[1 + int(np.argmax(p[1:]))], music)


def probabilities(x: np.ndarray, weights: np.ndarray | None = None, means: np.ndarray | None = None,
                  scales: np.ndarray | None = None) -> np.ndarray:
    """Given the feature vectors ``x`` (``[n, features]`` or one vector), return the class
    probabilities, ``[n, classes]`` (or one row), under the shipped model or the one given."""
    w = _WEIGHTS if weights is None else weights
    z = (np.atleast_2d(x) - (_MEANS if means is None else means)) / (_SCALES if scales is None else scales)
    logits = z @ w[:, :-1].T + w[:, -1]
    logits -= logits.max(axis=1, keepdims=True)
    e = np.exp(logits)
    p = e / e.sum(axis=1, keepdims=True)
    return p[0] if np.ndim(x) == 1 else p


def features(samples: np.ndarray) -> np.ndarray | None:
    """Given mono samples at ``ANALYSIS_RATE``, return the ``FEATURES`` of their first
    ``MAX_SECONDS``, or None when they last less than ``MIN_SECONDS``."""
    x = np.asarray(samples, np.float32)[: int(MAX_SECONDS * ANALYSIS_RATE)]
    if x.size < MIN_SECONDS * ANALYSIS_RATE:
        return None
    x = x - float(x.mean())
    frames = np.lib.stride_tricks.sliding_window_view(x, WINDOW_SAMPLES)[::HOP_SAMPLES]
    power = _power(frames)
    lo, hi = (int(round(hz / (ANALYSIS_RATE / WINDOW_SAMPLES))) for hz in BAND_HZ)
    band = power[:, lo:hi] + 1e-12
    energy_db = 10 * np.log10(band.sum(axis=1))
    loud = float(np.percentile(energy_db, LOUD_PERCENTILE))
    log_spec = 10 * np.log10(band)
    return np.array([
        float(np.mean(energy_db < loud - LOW_ENERGY_DB)),
        float(np.mean(energy_db < loud - DEEP_PAUSE_DB)),
        _syllable_rate(energy_db),
        _beat(log_spec),
        _persistence(log_spec),
        _harmonic(band),
        _flatness(band),
        _flux_spread(log_spec),
        _zcr_spread(frames),
        _pitch_focus(log_spec, lo),
        _change(band),
    ])


def _power(frames: np.ndarray) -> np.ndarray:
    import scipy.fft

    spec = scipy.fft.rfft(frames * np.hanning(WINDOW_SAMPLES).astype(np.float32), axis=1)
    return (spec.real**2 + spec.imag**2).astype(np.float64)


def _share(spectrum: np.ndarray, hz: np.ndarray, within: tuple[float, float], of: tuple[float, float]) -> float:
    total = float(spectrum[(hz >= of[0]) & (hz <= of[1])].sum())
    part = float(spectrum[(hz >= within[0]) & (hz <= within[1])].sum())
    return part / total if total > 0 else 0.0


def _syllable_rate(energy_db: np.ndarray) -> float:
    """The share of the loudness envelope's modulation that lies at syllable rates."""
    envelope = np.maximum(energy_db, float(energy_db.max()) - 60.0)
    envelope = envelope - envelope.mean()
    spectrum = np.abs(np.fft.rfft(envelope * np.hanning(envelope.size))) ** 2
    hz = np.fft.rfftfreq(envelope.size, 1.0 / FRAME_RATE)
    return _share(spectrum, hz, SYLLABLE_HZ, MODULATION_HZ)


def _onsets(log_spec: np.ndarray) -> np.ndarray:
    rise = np.maximum(np.diff(log_spec, axis=0), 0.0).mean(axis=1)
    return rise - rise.mean()


def _beat(log_spec: np.ndarray) -> float:
    """The highest normalised autocorrelation of the onset envelope over beat-like lags."""
    onset = _onsets(log_spec)
    n = onset.size
    spectrum = np.fft.rfft(onset, 2 * n)
    auto = np.fft.irfft(np.abs(spectrum) ** 2)[:n]
    if auto[0] <= 0:
        return 0.0
    auto = auto / auto[0] * n / np.maximum(n - np.arange(n), 1)  # unbiased: long lags are not penalised
    lo, hi = (int(round(s * FRAME_RATE)) for s in BEAT_SECONDS)
    return float(np.clip(auto[lo : min(hi, n // 2) + 1].max(initial=0.0), 0.0, 1.0))


def _peaks(log_spec: np.ndarray) -> np.ndarray:
    """Local spectral maxima (over the two bins each side) within ``PEAK_FLOOR_DB`` of the frame's top."""
    from scipy.ndimage import maximum_filter1d

    top = maximum_filter1d(log_spec, size=5, axis=1)
    return (log_spec >= top) & (log_spec > log_spec.max(axis=1, keepdims=True) - PEAK_FLOOR_DB)


def _persistence(log_spec: np.ndarray) -> float:
    """The share of spectral peaks found again within a bin in each of the next frames."""
    from scipy.ndimage import maximum_filter1d

    peaks = _peaks(log_spec)
    near = maximum_filter1d(peaks.astype(np.uint8), size=3, axis=1).astype(bool)
    held = peaks[: peaks.shape[0] - PERSIST_FRAMES + 1].copy()
    for k in range(1, PERSIST_FRAMES):
        held &= near[k : near.shape[0] - PERSIST_FRAMES + 1 + k]
    count = int(peaks[: held.shape[0]].sum())
    return float(held.sum()) / count if count else 0.0


def _harmonic(band: np.ndarray) -> float:
    """The share of energy that is harmonic (steady in time) rather than percussive (spread in frequency)."""
    from scipy.ndimage import median_filter

    frames, bins = (n // HPSS_POOL * HPSS_POOL for n in band.shape)
    pooled = band[:frames, :bins].reshape(frames // HPSS_POOL, HPSS_POOL, bins // HPSS_POOL, HPSS_POOL).sum(axis=(1, 3))
    along_time = median_filter(pooled, size=(HPSS_CELLS, 1), mode="nearest")
    along_freq = median_filter(pooled, size=(1, HPSS_CELLS), mode="nearest")
    h2, p2 = along_time**2, along_freq**2
    mask = h2 / (h2 + p2 + 1e-30)
    return float((mask * pooled).sum() / pooled.sum())


def _flatness(band: np.ndarray) -> float:
    geometric = np.exp(np.mean(np.log(band), axis=1))
    return float(np.mean(geometric / band.mean(axis=1)))


def _flux_spread(log_spec: np.ndarray) -> float:
    flux = np.sqrt(np.mean(np.diff(log_spec, axis=0) ** 2, axis=1))
    mean = float(flux.mean())
    return float(flux.std()) / mean if mean > 0 else 0.0


def _zcr_spread(frames: np.ndarray) -> float:
    signs = np.signbit(frames)
    zcr = np.mean(signs[:, 1:] != signs[:, :-1], axis=1)
    mean = float(zcr.mean())
    return float(zcr.std()) / mean if mean > 0 else 0.0


def _change(band: np.ndarray) -> float:
    """The median RMS difference (dB) between the mean spectra of successive seconds."""
    count = band.shape[0] // CHANGE_BLOCK_FRAMES
    if count < 2:
        return 0.0
    blocks = band[: count * CHANGE_BLOCK_FRAMES].reshape(count, CHANGE_BLOCK_FRAMES, -1).mean(axis=1)
    db = 10 * np.log10(blocks)
    db = np.maximum(db, float(db.max()) - CHANGE_RANGE_DB)
    return float(np.median(np.sqrt(np.mean(np.diff(db, axis=0) ** 2, axis=1))))


def _pitch_focus(log_spec: np.ndarray, first_bin: int) -> float:
    """One minus the normalised entropy of the tonal peaks' pitch classes, weighted by level."""
    peaks = _peaks(log_spec)
    frame_idx, bin_idx = np.nonzero(peaks)
    if bin_idx.size == 0:
        return 0.0
    hz = (bin_idx + first_bin) * (ANALYSIS_RATE / WINDOW_SAMPLES)
    pitch_class = np.round(12 * np.log2(hz / 440.0)).astype(int) % 12
    level = log_spec[frame_idx, bin_idx]
    weight = np.maximum(level - (level.max() - PEAK_FLOOR_DB), 0.0)
    histogram = np.bincount(pitch_class, weights=weight, minlength=12)
    total = float(histogram.sum())
    if total <= 0:
        return 0.0
    p = histogram[histogram > 0] / total
    return 1.0 - float(-(p * np.log(p)).sum() / np.log(12))
