"""The pass of the usual varispeeds decides against its own candidates and those every speed
hypothesis names (synthetic songs; clips played at the usual speeds, some with noise, encoded
to MP3 64k by ffmpeg)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.audio_fixtures import ENCODINGS, Catalog, ffmpeg_encode
from zamio.demo import synth
from zamio.recognition import audio, match
from zamio.recognition import index as recognition
from zamio.recognition.query import Query, QueryPrints, query_fingerprint

SEEDS = range(31, 51)  # twenty recordings: enough for every hypothesis to name a full set of rivals
SONG_SECONDS = 20.0
OUTSIDE = 99  # a song not in the catalog


@pytest.fixture(scope="module")
def songs() -> dict[int, np.ndarray]:
    return {seed: synth.song(seed, SONG_SECONDS) for seed in [*SEEDS, OUTSIDE]}


@pytest.fixture(scope="module")
def index(songs) -> match.ArrayIndex:
    return Catalog({seed: songs[seed] for seed in SEEDS}).index


def played(songs, song: int, start_s: float, percent: int, snr_db: float | None, folder: Path) -> Query:
    """The query of 10 s of ``song`` from ``start_s`` played ``percent`` fast, with white noise
    ``snr_db`` below it (None: none), through MP3 64k."""
    rate = synth.SYNTH_RATE
    source = songs[song][int(start_s * rate): int((start_s + 10.0 * (1 + percent / 100) + 0.1) * rate)]
    clip = synth.change_speed(source, percent)[: int(10.0 * rate)]
    if snr_db is not None:
        clip = synth.add_noise(clip, snr_db, seed=song)
    wav = folder / "clip.wav"
    synth.write_wav(wav, clip)
    return query_fingerprint(audio.decode_file(ffmpeg_encode(wav, folder / "clip.mp3",
                                                                         ENCODINGS["mp3"][1])))


def named(query: QueryPrints, index: match.ArrayIndex) -> set[int]:
    return set(match.ranked_candidates(query, index.lookup)[0].tolist())


def best_anchors(query: QueryPrints, pairs: match.PairsOf, track_id: int) -> int:
    """The aligned anchors of ``track_id``'s best bin under ``query``'s hypotheses, voted alone."""
    rows = pairs(np.array([track_id], np.int32))(np.unique(query.hashes))
    votes = match.vote(match.join_hits(query, rows), rows, query.speeds.size)
    return int(votes.anchors.max(initial=0))


# (song, start, percent, SNR): clips whose usual varispeeds name fewer than a full set of
# recordings while every hypothesis names more, so the two together make a full set.
SHORT_OF_RIVALS = [(36, 2.0, 3, None), (36, 2.0, 2, 5.0), (36, 2.0, 3, 5.0), (41, 8.0, 2, 5.0)]


@pytest.mark.parametrize(("song", "start_s", "percent", "snr_db"), SHORT_OF_RIVALS)
def test_clips_whose_usual_varispeeds_name_few_rivals_are_decided_against_all_rivals(
        songs, index, tmp_path, song, start_s, percent, snr_db) -> None:
    query = played(songs, song, start_s, percent, snr_db, tmp_path)
    usual = match.usual_query(query)
    own, every = named(usual.triplets, index), named(query.triplets, index)
    assert len(own) < match.CANDIDATES <= len(own | every)
    pairs = match.pairs_from(index.fetch)

    found = recognition.usual_against_every_rival(query, index.lookup, pairs)

    assert found is not None and found.track_id == song
    assert abs(found.speed - (1 + percent / 100)) < 0.01 and abs(found.offset_seconds - start_s) < 0.2
    # chance is the best bin of any rival of either set, under the usual varispeeds' pairs
    assert found.runner_up == max(best_anchors(usual.pairs, pairs, track) for track in (own | every) - {song})


@pytest.mark.parametrize(("start_s", "percent", "snr_db"), [(2.0, 2, None), (2.0, 3, None), (8.0, 3, 5.0)])
def test_music_outside_the_catalog_is_not_recognised_against_the_rivals_of_every_hypothesis(
        songs, index, tmp_path, start_s, percent, snr_db) -> None:
    query = played(songs, OUTSIDE, start_s, percent, snr_db, tmp_path)
    own, every = named(match.usual_query(query).triplets, index), named(query.triplets, index)
    assert len(own) < match.CANDIDATES <= len(own | every)
    assert recognition.usual_against_every_rival(query, index.lookup, match.pairs_from(index.fetch)) is None


def test_fewer_rivals_than_a_full_set_leave_the_decision_to_the_last_pass(songs, index, tmp_path) -> None:
    # Song 31 from 2 s, 2 % fast: every hypothesis names song 31 alone.  This pass does not
    # answer; ``identify`` then decides with the rivals there are (tests/db/test_recognition.py).
    query = played(songs, 31, 2.0, 2, None, tmp_path)
    assert named(query.triplets, index) == {31}
    assert recognition.usual_against_every_rival(query, index.lookup, match.pairs_from(index.fetch)) is None
