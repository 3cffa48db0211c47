"""bin/detect-audio names the version of a recording an excerpt is of, when the catalog holds
two that share material, and names neither where they are the same."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.audio_fixtures import ENCODINGS, ffmpeg_encode, store_catalog
from tests.support import Project
from zamio.db.engine import transaction
from zamio.demo import synth
from zamio.recognition import audio, match
from zamio.recognition.changeover import identify_capture

RATE = synth.SYNTH_RATE
OTHER_SEEDS = (71, 72, 73, 74)  # unrelated songs: the level chance reaches


def versions() -> dict[str, np.ndarray]:
    """Two versions of one 20 s song (seed 51): the same first 10 s, then each with a part of
    its own (seconds 10 to 20 of song 61 in ``version-a``, of song 62 in ``version-b``) played
    over the shared song as loud as it."""
    base = synth.song(51, 20.0)
    out = {}
    for ref, seed in (("version-a", 61), ("version-b", 62)):
        mixed = base.astype(np.float64)
        mixed[10 * RATE:] += synth.song(seed, 20.0)[10 * RATE:]
        out[ref] = 0.9 * mixed / np.abs(mixed).max()
    return out


@pytest.fixture(scope="module")
def catalog_files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("versions")
    songs = {**versions(), **{f"song-{seed}": synth.song(seed, 20.0) for seed in OTHER_SEEDS}}
    files = {}
    for ref, samples in songs.items():
        files[ref] = folder / f"{ref}.wav"
        synth.write_wav(files[ref], samples)
    return files


def clip_of(source: Path, start: float, folder: Path, name: str) -> Path:
    """Ten seconds of a catalog file from ``start``, as an MP3 file made by ffmpeg."""
    samples = audio.decode_file(source)
    wav = folder / f"{name}.wav"
    piece = samples[int(start * audio.ANALYSIS_RATE):int((start + 10.0) * audio.ANALYSIS_RATE)]
    synth.write_wav(wav, piece, audio.ANALYSIS_RATE)
    return ffmpeg_encode(wav, folder / f"{name}.mp3", ENCODINGS["mp3"][1])


def test_the_version_an_excerpt_is_of_is_named_and_a_shared_part_names_neither(project: Project, catalog_files,
                                                                                tmp_path, monkeypatch) -> None:
    with transaction(project.engine) as conn:
        store_catalog(conn, catalog_files)
    # Seconds 7 to 17 of version A: 3 s both versions hold, then 7 s of A's own part over the
    # shared song.  Both versions align with all of it, so the runner-up is version B, not chance.
    own = clip_of(catalog_files["version-a"], 7.0, tmp_path, "own")
    # Seconds 0 to 10 of version A are seconds 0 to 10 of version B, sample for sample.
    shared = clip_of(catalog_files["version-a"], 0.0, tmp_path, "shared")
    monkeypatch.setattr(match, "HEAD_TO_HEAD", False)  # the runner-up taken for chance, as before
    with transaction(project.engine) as conn:
        assert identify_capture(conn, audio.decode_file(own)) is None
    monkeypatch.undo()
    result = project.script("detect-audio", "--json", str(own), str(shared))
    assert result.returncode == 0, result.stderr
    own_line, shared_line = (json.loads(line) for line in result.stdout.splitlines())
    assert own_line["match"] is True and own_line["track_ref"] == "version-a"
    assert shared_line["match"] is False and shared_line["track_ref"] is None
