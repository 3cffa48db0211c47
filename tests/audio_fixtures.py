"""Shared audio fixtures: synthetic recordings, files encoded by ffmpeg, a small
fingerprinted catalog.  Import the fixtures you use into a test module:

    from tests.audio_fixtures import catalog, encoded  # noqa: F401

Everything is generated at test time (seeded) and cached for the session.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pytest

from zamio.demo import synth
from zamio.recognition import audio, fingerprint, match
from zamio.recognition.query import query_fingerprint

CATALOG_SEEDS = (11, 12, 13, 14)
SONG_SECONDS = 24.0

# ffmpeg output arguments per format: (file suffix, codec arguments)
ENCODINGS = {
    "mp3": (".mp3", ["-c:a", "libmp3lame", "-b:a", "64k"]),
    "aac": (".aac", ["-c:a", "aac", "-b:a", "64k", "-f", "adts"]),
    "ogg": (".ogg", ["-c:a", "libvorbis", "-q:a", "3"]),
    "opus": (".opus", ["-c:a", "libopus", "-b:a", "48k"]),
    "flac": (".flac", ["-c:a", "flac"]),
    "mpegts": (".ts", ["-c:a", "mp2", "-b:a", "128k", "-f", "mpegts"]),
}

def ffmpeg_encode(wav: Path, out: Path, codec_args: list[str]) -> Path:
    """Encode ``wav`` to ``out`` with ffmpeg (test set-up only; zamio decodes via zamio.recognition.audio)."""
    subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", str(wav),
                    *codec_args, str(out)], check=True)
    return out


class Catalog:
    """A few synthetic songs, fingerprinted into an ``ArrayIndex``."""

    def __init__(self, songs: dict[int, np.ndarray]) -> None:
        self.songs = songs
        self.index = match.ArrayIndex()
        for track_id, samples in songs.items():
            fp = fingerprint.fingerprint(audio.resample(samples, synth.SYNTH_RATE))
            self.index.add(track_id, fp.hashes, fp.offsets)

    def excerpt(self, track_id: int, start_s: float, seconds: float) -> np.ndarray:
        """Return ``seconds`` of a song from ``start_s``, at ``synth.SYNTH_RATE``."""
        i = int(start_s * synth.SYNTH_RATE)
        return self.songs[track_id][i : i + int(seconds * synth.SYNTH_RATE)]

    def identify(self, samples: np.ndarray, rate: int = synth.SYNTH_RATE) -> match.MatchResult | None:
        """Recognise samples at ``rate`` against the catalog."""
        query = query_fingerprint(audio.resample(samples, rate))
        return match.recognise(query, self.index.lookup, match.pairs_from(self.index.fetch))


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return Catalog({seed: synth.song(seed, SONG_SECONDS) for seed in CATALOG_SEEDS})


@pytest.fixture(scope="session")
def tone_wav(tmp_path_factory) -> Path:
    """Three seconds of a 440 Hz tone at 22.05 kHz, 16-bit mono."""
    t = np.arange(3 * synth.SYNTH_RATE) / synth.SYNTH_RATE
    path = tmp_path_factory.mktemp("audio") / "tone.wav"
    synth.write_wav(path, 0.5 * np.sin(2 * np.pi * 440 * t), synth.SYNTH_RATE)
    return path


@pytest.fixture(scope="session")
def encoded(tone_wav) -> dict[str, Path]:
    """The tone encoded by ffmpeg in every format of ``ENCODINGS`` (name -> path).
    These tests need ffmpeg (Debian package ``ffmpeg``) and fail without it."""
    return {name: ffmpeg_encode(tone_wav, tone_wav.with_suffix(suffix), args)
            for name, (suffix, args) in ENCODINGS.items()}


def dominant_hz(samples: np.ndarray, rate: int = audio.ANALYSIS_RATE) -> float:
    """Return the frequency (Hz) of the strongest FFT bin of ``samples``."""
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    return float(np.argmax(spectrum) * rate / samples.size)


# --- a catalog on disk and in a database (recognition, jobs and detect-audio tests) ---

DB_SONG_SEEDS = (21, 22, 23)
DB_SONG_SECONDS = 20.0


@pytest.fixture(scope="session")
def song_files(tmp_path_factory) -> dict[str, Path]:
    """Three synthetic songs as 22.05 kHz 16-bit WAV files, by track_ref (``song-21`` ...)."""
    return write_songs(tmp_path_factory.mktemp("songs"), DB_SONG_SEEDS, DB_SONG_SECONDS)


def write_songs(folder: Path, seeds: Iterable[int], seconds: float) -> dict[str, Path]:
    """Write the synthetic song of each seed, ``seconds`` long, as a WAV file in ``folder``;
    return the files by track_ref (``song-<seed>``)."""
    files = {}
    for seed in seeds:
        files[f"song-{seed}"] = folder / f"song-{seed}.wav"
        synth.write_wav(files[f"song-{seed}"], synth.song(seed, seconds))
    return files


def read_song(path: Path) -> np.ndarray:
    """Return a song file's samples at the analysis rate."""
    return audio.decode_file(path)


def add_tracks(conn, files: dict[str, Path]) -> dict[str, int]:
    """Insert a track (artist "Test Artist") per file; return track_ref -> tracks.id."""
    from zamio.catalog.imports import upsert_track

    return {ref: upsert_track(conn, {"track_ref": ref, "title": f"Title {ref}", "artist": "Test Artist",
                                     "audio_path": str(path)}, path.parent)
            for ref, path in files.items()}


def store_catalog(conn, files: dict[str, Path]) -> dict[str, int]:
    """Insert the tracks of ``files`` and store their fingerprints; return track_ref -> id."""
    from zamio.recognition.index import store_fingerprints

    ids = add_tracks(conn, files)
    for ref, path in files.items():
        samples = read_song(path)
        store_fingerprints(conn, ids[ref], fingerprint.fingerprint(samples), "0" * 64,
                           samples.size / audio.ANALYSIS_RATE)
    return ids


def excerpt_file(source: Path, out: Path, start_s: float, seconds: float, codec_args: list[str]) -> Path:
    """Cut ``seconds`` from ``start_s`` of ``source`` and encode them with ffmpeg to ``out``."""
    subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-ss", str(start_s),
                    "-t", str(seconds), "-i", str(source), *codec_args, str(out)], check=True)
    return out


def stalled_ffmpeg(folder: Path) -> tuple[Path, Path]:
    """An ``ffmpeg`` that writes its pid and then decodes nothing for ten minutes; return (its folder, the pid file).
    Put the folder first on ``PATH``."""
    folder.mkdir()
    pid_file = folder / "ffmpeg.pid"
    fake = folder / "ffmpeg"
    fake.write_text(f"#!/bin/sh\necho $$ > {pid_file}.part && mv {pid_file}.part {pid_file}\nexec sleep 600\n")
    fake.chmod(0o755)
    return folder, pid_file
