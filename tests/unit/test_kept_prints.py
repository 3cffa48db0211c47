"""A capture recognised by the catalog's matcher from the prints the unknown index kept of it
(``zamio.recognition.kept_prints``), and the rule that names a recording from its captures
(``zamio.playlogs.catalog_naming.decide``).  Synthetic songs, 20 s clips through MP3 64k, some under noise, some
played fast or slow."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from tests.audio_fixtures import ENCODINGS, Catalog, ffmpeg_encode
from zamio.demo import synth
from zamio.playlogs.catalog_naming import Heard, Unnamed, crossed_edges, decide
from zamio.recognition import audio, fingerprint, match, unknown
from zamio.recognition.index import identify_query, nominal_only
from zamio.recognition.kept_prints import VERIFY_OFF_NOMINAL, peaks_of_prints, query_of_prints
from zamio.recognition.query import QUERY_PROFILE, Query

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


def kept_prints(songs, song: int, start_s: float, snr_db: float | None, folder: Path,
                percent: int = 0) -> tuple[fingerprint.Fingerprint, float]:
    """The unknown index's prints of a 20 s capture of ``song`` played ``percent`` % fast from ``start_s`` (of
    the air's time), white noise ``snr_db`` below it (None: none), through MP3 64k; and the capture's seconds."""
    rate = synth.SYNTH_RATE
    played = synth.change_speed(songs[song], percent) if percent else songs[song]
    clip = played[int(start_s * rate): int((start_s + CLIP_SECONDS) * rate)]
    if snr_db is not None:
        clip = synth.add_noise(clip, snr_db, seed=song)
    wav = folder / "clip.wav"
    synth.write_wav(wav, clip)
    samples = audio.decode_file(ffmpeg_encode(wav, folder / "clip.mp3", ENCODINGS["mp3"][1]))
    return unknown.prints(samples), samples.size / audio.ANALYSIS_RATE


def kept(songs, song: int, start_s: float, snr_db: float | None, folder: Path, percent: int = 0) -> Query:
    """The query made from the kept prints of that capture (``kept_prints``)."""
    prints, seconds = kept_prints(songs, song, start_s, snr_db, folder, percent)
    return query_of_prints(prints.hashes, prints.offsets, seconds)


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
    found = identify_query(kept(songs, song, start_s, snr_db, tmp_path), index.lookup, match.pairs_from(index.fetch),
                          VERIFY_OFF_NOMINAL)
    assert found is not None and found.track_id == song
    assert abs(found.offset_seconds - start_s) < 0.2
    assert found.evidence >= match.MIN_EVIDENCE


@pytest.mark.parametrize("song", OUTSIDE)
def test_a_capture_of_music_the_catalog_lacks_names_no_track(songs, index, tmp_path, song) -> None:
    assert identify_query(kept(songs, song, 10.0, None, tmp_path), index.lookup, match.pairs_from(index.fetch),
                          VERIFY_OFF_NOMINAL) is None


@pytest.mark.parametrize("song,start_s,percent", [(33, 4.0, -4), (38, 10.0, -2), (42, 0.0, 2), (47, 15.0, 4)])
def test_a_capture_played_fast_or_slow_is_recognised_from_its_kept_prints(songs, index, tmp_path, song, start_s,
                                                                           percent) -> None:
    """Played ``percent`` % fast, the capture's ``start_s`` seconds of air are ``start_s`` × (1 + percent / 100)
    of the song, and the song runs at 1 + percent / 100."""
    found = identify_query(kept(songs, song, start_s, None, tmp_path, percent), index.lookup,
                           match.pairs_from(index.fetch), VERIFY_OFF_NOMINAL)
    assert found is not None and found.track_id == song
    assert abs(found.offset_seconds - start_s * (1 + percent / 100)) < 0.2
    assert abs(found.speed - (1 + percent / 100)) < 0.005
    assert found.evidence >= match.MIN_EVIDENCE


@pytest.mark.parametrize("percent", [-4, -2, 2, 4])
@pytest.mark.parametrize("song", OUTSIDE)
def test_a_capture_of_music_the_catalog_lacks_names_no_track_at_any_speed(songs, index, tmp_path, song,
                                                                          percent) -> None:
    assert identify_query(kept(songs, song, 10.0, None, tmp_path, percent), index.lookup,
                          match.pairs_from(index.fetch), VERIFY_OFF_NOMINAL) is None


@pytest.fixture(scope="module")
def bench_catalog() -> tuple[match.ArrayIndex, np.ndarray]:
    """bench/kept_speed_bench.py's catalog (generated songs 1000 to 1023, 40 s) and song 2007, outside it."""
    index = Catalog({seed: synth.song(seed, SONG_SECONDS) for seed in range(1000, 1024)}).index
    return index, synth.song(2007, SONG_SECONDS)


@pytest.mark.parametrize("start_s,percent", [(12.0, 2), (12.5, 3)])
def test_a_chance_answer_at_another_speed_is_refused_by_the_second_look(bench_catalog, tmp_path, start_s,
                                                                        percent) -> None:
    """Song 2007 played 2 or 3 % fast shares a chance bin with song 1017 at another speed: the evidence alone
    names 1017 (4.5 to 6.0 standard deviations, above ``VERIFY_BELOW``'s 4 where it would be asked); catalog naming
    asks the second look of every answer past the nominal pass (``VERIFY_OFF_NOMINAL``), which refuses it."""
    index, outside = bench_catalog
    prints, seconds = kept_prints({2007: outside}, 2007, start_s, None, tmp_path, percent)
    query = query_of_prints(prints.hashes, prints.offsets, seconds)
    pairs = match.pairs_from(index.fetch)
    by_evidence = identify_query(query, index.lookup, pairs)
    assert by_evidence is not None and by_evidence.track_id == 1017 and by_evidence.agreement is None
    assert identify_query(query, index.lookup, pairs, VERIFY_OFF_NOMINAL) is None


def test_at_nominal_speed_the_query_of_kept_prints_is_the_one_made_with_no_other_speed(songs, tmp_path) -> None:
    """The speed hypotheses add to the query and change none of its nominal prints: under nominal speed alone,
    the query is the one a profile of no other speed makes, hash for hash and time for time, and every kept
    print of two partners that is not a held note is among its triplets at its own frame (a kept print pairs an
    anchor with two of its 3 nearest partners; the query, with two of its 6)."""
    prints, seconds = kept_prints(songs, 36, 12.5, None, tmp_path)
    nominal = dataclasses.replace(QUERY_PROFILE, min_speed=1.0, max_speed=1.0, stretch_tempos=(),
                                  speed_window_cells=None)
    alone = query_of_prints(prints.hashes, prints.offsets, seconds, nominal)
    first = nominal_only(query_of_prints(prints.hashes, prints.offsets, seconds))
    for made, only in ((alone.triplets, first.triplets), (alone.pairs, first.pairs)):
        assert np.array_equal(made.hashes, only.hashes) and np.array_equal(made.times, only.times)
        assert list(made.speeds) == list(only.speeds) == [1.0] and not np.any(only.speed_index)
    _, du2, du3, dt2, dt3 = fingerprint.unpack_hash(prints.hashes)
    lone = (du2 == du3) & (dt2 == dt3)  # an anchor with a single partner p is kept as (anchor, p, p)
    wanted = ((du2 != 0) | (du3 != 0)) & ~lone
    kept_ones = set(zip(prints.hashes[wanted].tolist(), prints.offsets[wanted].tolist(), strict=True))
    in_query = set(zip(first.triplets.hashes.tolist(), first.triplets.times.astype(int).tolist(), strict=True))
    assert kept_ones and kept_ones <= in_query


NEW = {7: datetime(2026, 4, 1, tzinfo=UTC), 8: datetime(2026, 4, 1, tzinfo=UTC)}
LENGTHS = {7: 200.0, 8: 180.0}  # seconds of the tracks' audio


def heard(track_id: int, ref: str, in_recording: float = 0.0, in_track: float = 0.0, n: int = 0) -> Heard:
    return Heard(capture_id=track_id * 10 + n, track_id=track_id, track_ref=ref, evidence=9.0, aligned=40,
                 runner_up=3, coverage=None, in_recording=in_recording, in_track=in_track, seconds=20.0)


def test_a_recording_is_named_only_when_its_captures_name_one_new_track_and_no_other() -> None:
    assert decide("U-000001", [heard(7, "T-NEW"), heard(7, "T-NEW")], NEW, LENGTHS) == 7
    assert decide("U-000001", [], NEW, LENGTHS) is None
    both = decide("U-000001", [heard(7, "T-NEW"), heard(3, "T-OLD"), heard(7, "T-NEW")], NEW, LENGTHS)
    assert both == Unnamed("U-000001", {"T-NEW": 2, "T-OLD": 1}, "its captures name different tracks")
    before = decide("U-000002", [heard(3, "T-OLD")], NEW, LENGTHS)
    assert isinstance(before, Unnamed) and before.named == {"T-OLD": 1} and "held before" in before.why


def test_captures_naming_another_track_name_the_recording_only_where_they_hold_audio_outside_the_first() -> None:
    """T-NEW is 200 s; its two captures place the recording's time 0 at 10 s into it.  A capture naming T-NEXT
    placed at 210 s (past the end: a segue heard as one song) or at 197 s (17 of its 20 s past the end: across the
    change of song) leaves the recording T-NEW's, the capture to be split off; one placed at 189 s (its middle
    within T-NEW) or at 110 s (wholly inside) leaves it open: the captures do not tell the songs apart."""
    first = [heard(7, "T-NEW", 0.0, 10.0, 1), heard(7, "T-NEW", 120.0, 130.0, 2)]
    assert decide("U-000001", [*first, heard(8, "T-NEXT", 200.0, 5.0)], NEW, LENGTHS) == 7
    assert crossed_edges([*first, heard(8, "T-NEXT", 200.0, 5.0)], 7, 200.0) == frozenset()
    assert decide("U-000001", [*first, heard(8, "T-NEXT", 187.0, 0.0)], NEW, LENGTHS) == 7
    assert crossed_edges([*first, heard(8, "T-NEXT", 187.0, 0.0)], 7, 200.0) == {"end"}
    assert crossed_edges([heard(8, "T-NEXT", -22.0, 200.0), *first], 7, 200.0) == {"start"}
    for at in (179.0, 100.0):
        inside = decide("U-000001", [*first, heard(8, "T-NEXT", at, 0.0)], NEW, LENGTHS)
        assert isinstance(inside, Unnamed) and inside.why == "its captures name different tracks"
    # As many captures of each: the one heard first in the recording's time, when the other lies outside it.
    assert decide("U-000001", [heard(8, "T-NEXT", 200.0, 5.0), heard(7, "T-NEW", 0.0, 10.0)], NEW, LENGTHS) == 7
    # A track whose length is not known (no current set) is never named past another's captures.
    assert isinstance(decide("U-000001", [*first, heard(8, "T-NEXT", 200.0, 5.0)], NEW, {8: 180.0}), Unnamed)
