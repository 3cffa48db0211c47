"""A capture recognised by the catalog's matcher from the prints the unknown index kept of it
(``zamio.recognition.kept_prints``), and the rule that names a recording from its captures
(``zamio.playlogs.catalog_naming.decide``).  Synthetic songs, 20 s clips through MP3 64k, some under noise."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from tests.audio_fixtures import ENCODINGS, Catalog, ffmpeg_encode
from zamio.demo import synth
from zamio.playlogs.catalog_naming import Heard, Unnamed, decide
from zamio.recognition import audio, fingerprint, match, unknown
from zamio.recognition.index import identify_query
from zamio.recognition.kept_prints import peaks_of_prints, query_of_prints

SEEDS = range(31, 51)  # twenty recordings in the catalog
OUTSIDE = (97, 98, 99)  # songs it does not hold
SONG_SECONDS = 40.0
CLIP_SECONDS = 20.0


@pytest.fixture(scope="module")
def songs() -> dict[int, np.ndarray]:
    return {seed: synth.song(seed, SONG_SECONDS) for seed in [*SEEDS, *OUTSIDE]}


@pytest.fixture(scope="module")
def index(songs) -> match.ArrayIndex:
    return Catalog({seed: songs[seed] for seed in SEEDS}).index


def kept(songs, song: int, start_s: float, snr_db: float | None, folder: Path) -> fingerprint.Query:
    """The query made from the unknown index's prints of a 20 s capture of ``song`` from ``start_s``, white
    noise ``snr_db`` below it (None: none), through MP3 64k."""
    rate = synth.SYNTH_RATE
    clip = songs[song][int(start_s * rate): int((start_s + CLIP_SECONDS) * rate)]
    if snr_db is not None:
        clip = synth.add_noise(clip, snr_db, seed=song)
    wav = folder / "clip.wav"
    synth.write_wav(wav, clip)
    samples = audio.decode_file(ffmpeg_encode(wav, folder / "clip.mp3", ENCODINGS["mp3"][1]))
    prints = unknown.prints(samples)
    return query_of_prints(prints.hashes, prints.offsets, samples.size / audio.ANALYSIS_RATE)


def test_the_peaks_a_capture_s_triplets_hold_are_its_peaks_within_a_cell(songs) -> None:
    """Every peak of the unknown index's profile that is an anchor or a partner of a stored triplet comes back at
    its frame, in its cell or the next (a partner's cell is the anchor's plus a rounded difference); none other."""
    samples = audio.resample(songs[31][: int(CLIP_SECONDS * synth.SYNTH_RATE)], synth.SYNTH_RATE)
    peaks = fingerprint.find_peaks(fingerprint.spectrogram(samples), unknown.UNKNOWN_PROFILE.peaks_per_second)
    prints = unknown.prints(samples)
    back = peaks_of_prints(prints.hashes, prints.offsets)

    def near(t: np.ndarray, u: np.ndarray, others: fingerprint.Peaks) -> np.ndarray:
        return np.array([bool(np.any((others.t == ti) & (np.abs(np.floor(others.u) - np.floor(ui)) <= 1)))
                         for ti, ui in zip(t.tolist(), u.tolist(), strict=True)])

    assert near(back.t, back.u, peaks).all()
    assert near(peaks.t, peaks.u, back).mean() >= 0.9  # the clip's last peaks have no partner: no triplet


@pytest.mark.parametrize("song,start_s,snr_db", [(31, 0.0, None), (36, 12.5, None), (44, 20.0, 10.0),
                                                 (50, 5.0, 5.0)])
def test_a_capture_of_a_catalog_song_is_recognised_from_its_kept_prints(songs, index, tmp_path, song, start_s,
                                                                        snr_db) -> None:
    found = identify_query(kept(songs, song, start_s, snr_db, tmp_path), index.lookup, match.pairs_from(index.fetch))
    assert found is not None and found.track_id == song
    assert abs(found.offset_seconds - start_s) < 0.2
    assert found.evidence >= match.MIN_EVIDENCE


@pytest.mark.parametrize("song", OUTSIDE)
def test_a_capture_of_music_the_catalog_lacks_names_no_track(songs, index, tmp_path, song) -> None:
    assert identify_query(kept(songs, song, 10.0, None, tmp_path), index.lookup, match.pairs_from(index.fetch)) is None


NEW = {7: datetime(2026, 4, 1, tzinfo=UTC)}


def heard(track_id: int, ref: str) -> Heard:
    return Heard(capture_id=track_id * 10, track_id=track_id, track_ref=ref, evidence=9.0, aligned=40, runner_up=3,
                 coverage=None)


def test_a_recording_is_named_only_when_its_captures_name_one_new_track_and_no_other() -> None:
    assert decide("U-000001", [heard(7, "T-NEW"), heard(7, "T-NEW")], NEW) == 7
    assert decide("U-000001", [], NEW) is None
    both = decide("U-000001", [heard(7, "T-NEW"), heard(3, "T-OLD"), heard(7, "T-NEW")], NEW)
    assert both == Unnamed("U-000001", {"T-NEW": 2, "T-OLD": 1}, "its captures name different tracks")
    before = decide("U-000002", [heard(3, "T-OLD")], NEW)
    assert isinstance(before, Unnamed) and before.named == {"T-OLD": 1} and "held before" in before.why
