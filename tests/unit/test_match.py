"""Recognition of synthetic songs through an in-memory lookup."""

from __future__ import annotations

import numpy as np
import pytest

from tests.audio_fixtures import ENCODINGS, catalog, ffmpeg_encode  # noqa: F401
from zamio.demo import synth
from zamio.recognition import audio, fingerprint, match
from zamio.recognition.query import QueryPrints, query_fingerprint


def test_array_index_lookup_returns_exactly_the_matching_rows():
    idx = match.ArrayIndex()
    idx.add(1, np.array([5, 7, 9], np.int32), np.array([0, 1, 2], np.int32))
    idx.add(2, np.array([7, 11], np.int32), np.array([3, 4], np.int32))
    h, t, o = idx.lookup(np.array([7, 11, 12, 7], np.int32))
    rows = sorted(zip(h.tolist(), t.tolist(), o.tolist()))
    assert rows == [(7, 1, 1), (7, 2, 3), (11, 2, 4)]
    assert len(idx) == 5


def test_clean_excerpt_is_found_at_its_offset(catalog):
    r = catalog.identify(catalog.excerpt(13, 7.3, 10.0))
    assert r is not None and r.track_id == 13
    assert abs(r.offset_seconds - 7.3) < 0.1
    assert abs(r.speed - 1.0) < 0.005
    assert r.aligned >= match.MIN_ALIGNED and r.score >= r.aligned
    assert r.confidence > 0.999 and r.evidence >= match.MIN_EVIDENCE


def test_five_second_excerpts_are_found(catalog):
    # A 5 s excerpt holds few triplets, so a sparse passage can fall short of the
    # evidence needed; across every song and starting point nearly all are found.
    excerpts = [(track_id, start) for track_id in catalog.songs for start in range(0, 19, 3)]
    found = sum(1 for track_id, start in excerpts
                if (r := catalog.identify(catalog.excerpt(track_id, start + 0.3, 5.0))) and r.track_id == track_id)
    assert found >= 0.9 * len(excerpts)


def test_mp3_64k_excerpt_is_found(catalog, tmp_path):
    wav = tmp_path / "q.wav"
    synth.write_wav(wav, catalog.excerpt(12, 4.0, 10.0))
    mp3 = ffmpeg_encode(wav, tmp_path / "q.mp3", ENCODINGS["mp3"][1])
    r = catalog.identify(audio.decode_file(mp3), audio.ANALYSIS_RATE)
    assert r is not None and r.track_id == 12
    assert abs(r.offset_seconds - 4.0) < 0.15


def test_noisy_excerpt_at_5_db_snr_is_found(catalog):
    r = catalog.identify(synth.add_noise(catalog.excerpt(14, 9.0, 10.0), 5.0, seed=4))
    assert r is not None and r.track_id == 14


@pytest.mark.parametrize("percent", [-5, -4, -3, -1, 2, 3, 5])
def test_sped_up_or_slowed_excerpt_is_found_with_its_speed(catalog, percent):
    source = catalog.excerpt(11, 6.0, 10.0 * (1 + percent / 100) + 0.1)
    played = synth.change_speed(source, percent)[: 10 * synth.SYNTH_RATE]
    r = catalog.identify(played)
    assert r is not None and r.track_id == 11
    assert abs(r.speed - (1 + percent / 100)) < 0.005
    assert abs(r.offset_seconds - 6.0) < 0.15


@pytest.mark.parametrize("tempo", [0.97, 1.03])
def test_time_stretched_excerpt_is_found_with_its_tempo(catalog, tmp_path, tempo):
    """A playout system's time-stretch (ffmpeg atempo): tempo changed, pitch kept."""
    wav = tmp_path / "source.wav"
    synth.write_wav(wav, 0.8 * catalog.excerpt(12, 4.0, 10.0 * tempo + 1.0))
    stretched = ffmpeg_encode(wav, tmp_path / "stretched.wav", ["-af", f"atempo={tempo}"])
    r = catalog.identify(audio.decode_file(stretched)[: 10 * audio.ANALYSIS_RATE], audio.ANALYSIS_RATE)
    assert r is not None and r.track_id == 12
    assert abs(r.speed - tempo) < 0.01  # the tempo: original seconds per second played
    assert abs(r.offset_seconds - 4.0) < 0.2


def test_sped_up_noisy_mp3_is_found(catalog, tmp_path):
    """What the demo needs: generated songs recognised after MP3, noise and +2 % speed."""
    source = catalog.excerpt(13, 2.0, 10.3)
    played = synth.add_noise(synth.change_speed(source, 2)[: 10 * synth.SYNTH_RATE], 10.0, seed=6)
    wav = tmp_path / "q.wav"
    synth.write_wav(wav, 0.8 * played)
    mp3 = ffmpeg_encode(wav, tmp_path / "q.mp3", ENCODINGS["mp3"][1])
    r = catalog.identify(audio.decode_file(mp3), audio.ANALYSIS_RATE)
    assert r is not None and r.track_id == 13


@pytest.mark.parametrize("seed", [101, 102, 103, 104, 105])
def test_music_not_in_the_catalog_is_rejected(catalog, seed):
    assert catalog.identify(synth.song(seed, 10.0)) is None


def test_noise_is_rejected(catalog):
    noise = np.random.default_rng(8).standard_normal(10 * synth.SYNTH_RATE).astype(np.float32) * 0.2
    assert catalog.identify(noise) is None


def test_no_hits_is_no_match():
    empty = match.ArrayIndex()
    q = query_fingerprint(audio.resample(synth.song(1, 5.0), synth.SYNTH_RATE))
    assert match.recognise(q, empty.lookup, match.pairs_from(empty.fetch)) is None
    assert match.match(q.pairs, empty.lookup) is None


def test_candidates_are_the_tracks_with_most_aligned_triplets(catalog):
    query = query_fingerprint(audio.resample(catalog.excerpt(12, 3.0, 10.0), synth.SYNTH_RATE))
    ranked = match.candidates(query.triplets, catalog.index.lookup, limit=3)
    assert ranked[0] == 12 and 1 <= ranked.size <= 3 and np.unique(ranked).size == ranked.size


def test_array_index_fetches_whole_tracks():
    idx = match.ArrayIndex()
    idx.add(1, np.array([5, 7, 9], np.int32), np.array([0, 1, 2], np.int32))
    idx.add(2, np.array([7, 11], np.int32), np.array([3, 4], np.int32))
    h, t, o = idx.fetch(np.array([2], np.int32))
    assert sorted(zip(h.tolist(), t.tolist(), o.tolist())) == [(7, 2, 3), (11, 2, 4)]


def test_pairs_of_cached_tracks_answer_as_one_index_of_their_unfolded_rows(catalog):
    tracks = np.array([12, 3, 7], np.int32)
    unfolded = match.ArrayIndex.of_rows(fingerprint.pairs_of_triplets(*catalog.index.fetch(tracks)))
    per_track = match.lookup_in([match.TrackPairs(int(t), *catalog.index.fetch(np.array([t]))[::2]) for t in tracks])
    query = query_fingerprint(audio.resample(catalog.excerpt(12, 3.0, 10.0), synth.SYNTH_RATE))

    def as_set(rows):
        return sorted(zip(*(r.tolist() for r in rows)))

    wanted = np.concatenate([query.pairs.hashes, np.array([0, 1, 2], np.int32)])
    assert len(as_set(unfolded.lookup(wanted))) > 100
    assert as_set(per_track(wanted)) == as_set(unfolded.lookup(wanted))
    assert all(a.dtype == np.int32 for a in per_track(wanted))
    assert match.lookup_in([])(wanted)[0].size == 0


def test_acceptance_rule():
    assert match.accept(30, 5)
    assert not match.accept(12, 10)  # barely above the best other track: chance
    assert not match.accept(match.MIN_ALIGNED - 1, 0)  # too few, however clean
    assert match.evidence(20, 3) == pytest.approx(8.5)


def test_chance_probability_falls_with_the_score():
    p = [match.chance_probability(k, 5) for k in (3, 8, 15, 30)]
    assert p[0] == pytest.approx(1.0, abs=0.2)
    assert p == sorted(p, reverse=True)
    assert p[-1] < 1e-9


def _looping_track_index() -> tuple[match.ArrayIndex, dict[int, list[tuple[int, int]]]]:
    """A track of 20 loops of 100 frames.  Most loops store 5 loop hashes and 5 hashes
    unique to that loop (a melody); loops 15 and 16 store 12 loop hashes and no melody,
    as when the strongest peaks of a stretch all come from the repeated material."""
    hashes, frames, melody = [], [], {}
    for k in range(20):
        phases = range(12) if k in (15, 16) else range(5)
        for j in phases:
            hashes.append(1000 + j)
            frames.append(100 * k + 8 * j)
        if k not in (15, 16):
            melody[k] = [(5000 + 10 * k + j, 100 * k + 8 * j + 4) for j in range(5)]
            for h, f in melody[k]:
                hashes.append(h)
                frames.append(f)
    idx = match.ArrayIndex()
    idx.add(1, np.array(hashes, np.int32), np.array(frames, np.int32))
    return idx, melody


def test_offset_is_placed_by_unrepeated_material_not_by_the_loop():
    idx, melody = _looping_track_index()
    hashes, times = [], []
    for k in (3, 4):  # an excerpt of loops 3 and 4, with every loop hash audible
        for j in range(12):
            hashes.append(1000 + j)
            times.append(100 * (k - 3) + 8 * j)
        for h, f in melody[k]:
            hashes.append(h)
            times.append(f - 300)
    query = QueryPrints(np.array(hashes, np.int32), np.array(times, np.float32),
                                    np.zeros(len(hashes), np.int16), np.array([1.0]), 2.0)
    rows = idx.lookup(query.hashes)
    votes = match.vote(match.join_hits(query, rows), rows, 1)
    best, _ = match.best_bins(votes)
    plain_offset = int(votes.offset_bin[best]) * match.OFFSET_BIN_FRAMES
    assert 1450 <= plain_offset <= 1550  # the plain count prefers the loop-only stretch

    r = match.match(query, idx.lookup)
    assert r is not None and r.track_id == 1
    assert abs(r.offset_seconds - 300 * fingerprint.FRAME_SECONDS) < 0.05


def test_row_weights_count_repetitions_within_a_track_only():
    rows = (np.array([7, 7, 7, 9], np.int32), np.array([1, 1, 2, 1], np.int32), np.array([0, 5, 3, 8], np.int32))
    assert match.row_weights(rows).tolist() == [0.5, 0.5, 1.0, 1.0]
