"""The second real-music corpus keeps one copy of each piece of music, and renders its speed conditions exactly.

``bench/second_corpus.py`` drops a file whose music another kept file (or a DEV track)
already holds, since a held-out excerpt of one copy would rightly be recognised as the
other.  Here the files are real encodings made by ffmpeg of generated songs.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
from scipy.io import wavfile

from bench.second_corpus import choose, corpus_groups, render
from zamio.demo import synth

RATE = synth.SYNTH_RATE


def write_song(folder: Path, name: str, seed: int, seconds: float = 40.0) -> Path:
    path = folder / f"{name}.wav"
    wavfile.write(path, RATE, np.round(synth.song(seed, seconds) * 32000).astype(np.int16))
    return path


def encode(wav: Path, out: Path, *codec: str) -> Path:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(wav), *codec, str(out)], check=True)
    return out


def test_copies_of_kept_music_and_of_dev_tracks_are_dropped(tmp_path: Path) -> None:
    dev = write_song(tmp_path, "dev", seed=31)
    first = encode(write_song(tmp_path, "first", seed=32), tmp_path / "first.ogg", "-c:a", "libvorbis")
    other = encode(write_song(tmp_path, "other", seed=33), tmp_path / "other.ogg", "-c:a", "libvorbis")
    same_bytes = tmp_path / "same_bytes.ogg"
    same_bytes.write_bytes(first.read_bytes())
    mp3_of_first = encode(tmp_path / "first.wav", tmp_path / "first_again.mp3", "-c:a", "libmp3lame", "-b:a", "96k")
    dev_again = encode(dev, tmp_path / "dev_again.ogg", "-c:a", "libvorbis")
    candidates = [
        ("a", str(first)),
        ("a", str(other)),
        ("b", str(same_bytes)),
        ("b", str(mp3_of_first)),
        ("c", str(dev_again)),
    ]

    decisions = choose(candidates, [str(dev)], jobs=1)

    assert decisions == [
        ("a", str(first), ""),
        ("a", str(other), ""),
        ("b", str(same_bytes), f"same as {first}"),
        ("b", str(mp3_of_first), f"same as {first}"),
        ("c", str(dev_again), f"same as {dev}"),
    ]


def dominant_hz(y: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(y * np.hanning(y.size)))
    return float(np.argmax(spectrum) * RATE / y.size)


def test_speed_conditions_move_pitch_and_keep_the_length() -> None:
    t = np.arange(20 * RATE) / RATE
    tone = 0.5 * np.sin(2 * np.pi * 1000.0 * t)
    n = 5 * RATE

    faster = render(tone, RATE, RATE, n, "speed+2", seed=1)
    slower = render(tone, RATE, RATE, n, "speed-3", seed=1)

    assert faster.size == slower.size == n
    assert abs(dominant_hz(faster) - 1020.0) < 0.5  # 1,000 Hz played 2 % fast
    assert abs(dominant_hz(slower) - 970.0) < 0.5  # and 3 % slow


def test_files_sharing_a_name_in_one_package_get_a_group_each() -> None:
    tracks = [
        ("songs", "/music/songs/chaos_god/song.ogg"),
        ("songs", "/music/songs/Metal madness/song.ogg"),
        ("songs", "/music/songs/intro.ogg"),
        ("game", "/game/music/song.ogg"),
    ]

    assert corpus_groups(tracks) == {
        "/music/songs/chaos_god/song.ogg": "songs.chaos_god",
        "/music/songs/Metal madness/song.ogg": "songs.Metal_madness",
        "/music/songs/intro.ogg": "songs",
        "/game/music/song.ogg": "game",
    }
