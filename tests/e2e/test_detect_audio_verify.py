"""bin/detect-audio refuses a marginal chance match that the recording's peaks do not confirm."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.audio_fixtures import ENCODINGS, ffmpeg_encode, store_catalog, write_songs
from tests.support import Project
from zamio.db.engine import transaction
from zamio.demo import synth
from zamio.recognition import audio, match
from zamio.recognition.changeover import identify_capture
from zamio.recognition.fingerprint import FRAME_SECONDS

CATALOG_SEEDS = range(21, 31)  # ten songs of 20 s


@pytest.fixture(scope="module")
def ten_songs(tmp_path_factory) -> dict[str, Path]:
    return write_songs(tmp_path_factory.mktemp("ten-songs"), CATALOG_SEEDS, 20.0)


def scattered_clip(folder: Path) -> Path:
    """Ten seconds made as chance aligns a recording: slices of 0.6 s of song-21, each taken
    up to 3 frames (96 ms) early or late, so that their hashes fall in one offset bin of the
    vote but not on one line, with 2 s of song-22 over seconds 7 to 9 as the rival; encoded
    to MP3 by ffmpeg."""
    rate = synth.SYNTH_RATE
    a, b = synth.song(21, 20.0), synth.song(22, 20.0)
    rng = np.random.default_rng(2)
    clip = np.zeros(10 * rate)
    for pos in range(0, clip.size, int(0.6 * rate)):
        piece = min(int(0.6 * rate), clip.size - pos)
        source = 4 * rate + pos + int(rng.integers(-3, 4) * FRAME_SECONDS * rate)
        clip[pos:pos + piece] = a[source:source + piece]
    clip[7 * rate:9 * rate] = b[9 * rate:11 * rate]
    wav = folder / "scattered.wav"
    synth.write_wav(wav, 0.7 * clip / np.abs(clip).max())
    return ffmpeg_encode(wav, folder / "scattered.mp3", ENCODINGS["mp3"][1])


def noisy_clip(folder: Path, seed: int, start: float) -> Path:
    """Ten seconds of song ``seed`` from ``start`` under white noise at 0 dB SNR, as an MP3 file."""
    song = synth.song(seed, 20.0)
    clip = song[int(start * synth.SYNTH_RATE):int((start + 10.0) * synth.SYNTH_RATE)]
    wav = folder / f"noisy-{seed}.wav"
    synth.write_wav(wav, synth.add_noise(clip, 0.0, seed=seed))
    return ffmpeg_encode(wav, folder / f"noisy-{seed}.mp3", ENCODINGS["mp3"][1])


def test_a_marginal_match_off_the_line_is_refused_and_a_noisy_true_one_kept(project: Project, ten_songs, tmp_path,
                                                                             monkeypatch) -> None:
    with transaction(project.engine) as conn:
        ids = store_catalog(conn, ten_songs)
    scattered = scattered_clip(tmp_path)
    noisy = noisy_clip(tmp_path, 23, 6.0)
    monkeypatch.setattr(match, "VERIFY_BELOW", 0.0)  # evidence alone, as before the second look
    with transaction(project.engine) as conn:
        before = identify_capture(conn, audio.decode_file(scattered))
    assert before is not None and before.track_id == ids["song-21"]
    assert match.MIN_EVIDENCE <= before.evidence < 4.0  # marginal: the second look applies
    monkeypatch.undo()
    result = project.script("detect-audio", "--json", str(scattered), str(noisy))
    assert result.returncode == 0, result.stderr
    scattered_line, noisy_line = (json.loads(line) for line in result.stdout.splitlines())
    assert scattered_line["match"] is False and scattered_line["track_ref"] is None
    assert noisy_line["match"] is True and noisy_line["track_ref"] == "song-23"
