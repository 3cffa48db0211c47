"""Decoding captures in shared ffmpeg runs gives the samples and the errors of one run per capture."""

from __future__ import annotations

import os
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from tests.audio_fixtures import stalled_ffmpeg
from tests.scan_helpers import CATALOG_SEEDS, UNKNOWN_SEEDS, scan_audio  # noqa: F401
from zamio.recognition import audio
from zamio.scanning.decoding import BatchDecoder

MAX_SECONDS = 60.0


def alone(data: bytes, hint: str = "mp3") -> np.ndarray:
    return audio.decode_bytes(data, format_hint=hint, name="alone", max_seconds=MAX_SECONDS)


def test_one_run_for_several_captures_gives_each_its_own_samples(scan_audio):
    songs = [scan_audio.mp3(seed) for seed in CATALOG_SEEDS + UNKNOWN_SEEDS]
    decoder = BatchDecoder()
    results = decoder.decode_together([(mp3, "mp3", f"song {i}", MAX_SECONDS) for i, mp3 in enumerate(songs)])
    assert decoder.batches == 1 and decoder.decoded == len(songs)
    for mp3, samples in zip(songs, results):
        assert np.array_equal(samples, alone(mp3))


def test_a_bad_capture_in_a_batch_keeps_its_own_error_and_spares_the_others(scan_audio):
    good = scan_audio.mp3(CATALOG_SEEDS[0])
    results = BatchDecoder().decode_together([
        (good, "mp3", "good", MAX_SECONDS),
        (b"<html><body>not a stream</body></html>" * 50, "mp3", "web page", MAX_SECONDS),
        (scan_audio.silence_mp3, "mp3", "quiet", MAX_SECONDS),
        (good, "mp3", "too long", 5.0),
    ])
    assert np.array_equal(results[0], alone(good))
    assert isinstance(results[1], audio.NotAudio) and "web page" in str(results[1])
    assert isinstance(results[2], audio.SilentAudio) and "quiet" in str(results[2])
    assert isinstance(results[3], audio.AudioTooLong)


def test_threads_asking_at_once_all_get_their_own_samples(scan_audio):
    songs = [scan_audio.mp3(seed) for seed in CATALOG_SEEDS + UNKNOWN_SEEDS] * 3
    decoder = BatchDecoder()
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda mp3: decoder.decode(mp3, format_hint="mp3", name="song",
                                                           max_seconds=MAX_SECONDS), songs))
    for mp3, samples in zip(songs, results):
        assert np.array_equal(samples, alone(mp3))
    with pytest.raises(audio.SilentAudio):
        decoder.decode(scan_audio.silence_mp3, format_hint="mp3", name="quiet", max_seconds=MAX_SECONDS)


@pytest.mark.parametrize("captures", [1, 2], ids=["alone", "shared"])
def test_a_stop_kills_the_running_ffmpeg_and_leaves_no_scratch_files(scan_audio, tmp_path, monkeypatch, captures):
    fakes, pid_file = stalled_ffmpeg(tmp_path / "fake-bin")
    monkeypatch.setenv("PATH", f"{fakes}:{os.environ.get('PATH', '/usr/bin:/bin')}")
    stop = threading.Event()
    decoder = BatchDecoder(should_stop=stop.is_set)
    songs = [(scan_audio.mp3(seed), "mp3", f"song {seed}", MAX_SECONDS) for seed in CATALOG_SEEDS[:captures]]
    with ThreadPoolExecutor(1) as pool:
        decoding = pool.submit(decoder.decode_together, songs)
        deadline = time.monotonic() + 30
        while not pid_file.exists():
            assert time.monotonic() < deadline and not decoding.done(), "ffmpeg did not start"
            time.sleep(0.02)
        stop.set()
        results = decoding.result(timeout=10)  # not the 30 s of its time limit
    assert all(isinstance(result, audio.DecodeStopped) for result in results), results
    assert not Path(f"/proc/{int(pid_file.read_text())}").exists()  # killed and reaped
    scratch = [Path("/dev/shm"), Path(tempfile.gettempdir())]
    assert [p for root in scratch if root.is_dir() for p in root.glob(f"zamio-decode-{os.getpid()}-*")] == []
