"""Music or not: the classifier of unmatched captures on generated songs, synthetic speech and noise.

The speech clips are read by ``espeak-ng`` (Debian package).  Without it those tests are
skipped, unless ``ZAMIO_REQUIRE_ESPEAK=1`` (CI sets it): there they fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import numpy as np
import pytest

from zamio.demo import synth
from zamio.recognition import audio, content

REQUIRE_ESPEAK = os.environ.get("ZAMIO_REQUIRE_ESPEAK") == "1"
RATE = audio.ANALYSIS_RATE
TALK = ("Good evening, this is the drive time show. The traffic on the Ring Road is heavy tonight, "
        "so take the motorway if you can. After the news we have the sports headlines and your calls.")


def _song(seed: int, seconds: float = 15.0) -> np.ndarray:
    return audio.resample(synth.song(seed, seconds), synth.SYNTH_RATE)


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    if shutil.which("espeak-ng") is None:
        if REQUIRE_ESPEAK:
            pytest.fail("espeak-ng is required here (ZAMIO_REQUIRE_ESPEAK=1) but missing")
        pytest.skip("espeak-ng is not installed")
    wav = tmp_path_factory.mktemp("speech") / "talk.wav"
    subprocess.run(["espeak-ng", "-v", "en+m3", "-s", "165", "-w", str(wav), TALK], check=True, capture_output=True)
    return audio.decode_file(wav)


@pytest.mark.parametrize("seed", [3, 14, 27, 61])
def test_generated_songs_are_music(seed: int) -> None:
    verdict = content.classify(_song(seed))
    assert verdict is not None and verdict.kind == "music" and verdict.is_music
    assert content.MUSIC_THRESHOLD <= verdict.music <= 1.0


def test_a_song_through_a_noisy_radio_link_is_still_music() -> None:
    verdict = content.classify(audio.resample(synth.add_noise(synth.song(8, 15.0), 20.0, seed=1), synth.SYNTH_RATE))
    assert verdict is not None and verdict.kind == "music"


def test_hiss_hum_and_a_test_tone_are_noise() -> None:
    rng = np.random.default_rng(5)
    t = np.arange(15 * RATE) / RATE
    hiss = 0.1 * rng.standard_normal(t.size)
    hum = sum(0.2 / h * np.sin(2 * np.pi * 50 * h * t) for h in range(1, 6)) + 0.02 * rng.standard_normal(t.size)
    tone = 0.3 * np.sin(2 * np.pi * 1000 * t) + 0.01 * rng.standard_normal(t.size)
    for name, x in (("hiss", hiss), ("hum", hum), ("tone", tone)):
        verdict = content.classify(np.asarray(x, np.float32))
        assert verdict is not None and verdict.kind == "noise", (name, verdict)


def test_speech_is_speech(speech: np.ndarray) -> None:
    verdict = content.classify(speech)
    assert verdict is not None and verdict.kind == "speech" and not verdict.is_music


def test_an_advertisement_read_over_a_music_bed_is_not_music(speech: np.ndarray) -> None:
    """The bed is 12 dB under the voice: power ratio 10 ** (-12 / 10), about 0.063."""
    bed = np.resize(_song(40, 20.0), speech.size)
    gain = np.sqrt(np.mean(speech.astype(np.float64) ** 2) / np.mean(bed.astype(np.float64) ** 2) * 10 ** -1.2)
    verdict = content.classify((speech + gain * bed).astype(np.float32))
    assert verdict is not None and verdict.kind == "speech"


def test_fewer_than_the_minimum_seconds_are_not_judged() -> None:
    short = _song(3, 4.0)[: int(content.MIN_SECONDS * RATE) - 1]
    assert content.features(short) is None and content.classify(short) is None
    assert content.classify(_song(3, 4.0)[: int(content.MIN_SECONDS * RATE)]) is not None


def test_only_the_first_seconds_are_measured() -> None:
    first = _song(12, content.MAX_SECONDS)
    longer = np.concatenate([first, np.random.default_rng(0).standard_normal(5 * RATE).astype(np.float32)])
    np.testing.assert_array_equal(content.features(first), content.features(longer))


@pytest.mark.parametrize("kind", ["song", "hiss", "clicks", "square"])
def test_every_feature_is_a_finite_share(kind: str) -> None:
    rng = np.random.default_rng(9)
    t = np.arange(8 * RATE) / RATE
    x = {"song": _song(5, 8.0), "hiss": rng.standard_normal(t.size),
         "clicks": (rng.random(t.size) < 0.001) * 1.0, "square": np.sign(np.sin(2 * np.pi * 3 * t))}[kind]
    found = content.features(np.asarray(x, np.float32))
    assert found is not None and found.shape == (len(content.FEATURES),)
    assert np.all(np.isfinite(found)) and np.all(found >= 0.0), dict(zip(content.FEATURES, found, strict=True))
    # Shares and normalised entropies stay within [0, 1]; the spreads (std over mean) and the change (dB) may not.
    bounded = [i for i, name in enumerate(content.FEATURES) if name not in ("flux", "zcr_spread", "change")]
    assert np.all(found[bounded] <= 1.0)


def test_music_needs_the_threshold_and_otherwise_the_likelier_of_the_rest() -> None:
    # music 0.70 is under the threshold of 0.75: the likelier of speech 0.10 and noise 0.20 wins.
    assert content.decide(np.array([0.70, 0.10, 0.20])) == content.Content("noise", 0.70)
    assert content.decide(np.array([0.70, 0.25, 0.05])) == content.Content("speech", 0.70)
    assert content.decide(np.array([0.75, 0.20, 0.05])) == content.Content("music", 0.75)


def test_the_probabilities_of_a_clip_sum_to_one() -> None:
    found = content.features(_song(21, 10.0))
    assert found is not None
    p = content.probabilities(found)
    assert p.shape == (len(content.CLASSES),) and abs(float(p.sum()) - 1.0) < 1e-12 and np.all(p > 0)
    both = content.probabilities(np.vstack([found, found]))
    assert both.shape == (2, len(content.CLASSES))
    np.testing.assert_allclose(both[1], p)


def test_the_shipped_model_was_fitted_to_the_features_it_reads() -> None:
    assert content._MEANS.shape == content._SCALES.shape == (len(content.FEATURES),)
    assert content._WEIGHTS.shape == (len(content.CLASSES), len(content.FEATURES) + 1)
    assert np.all(content._SCALES > 0)
