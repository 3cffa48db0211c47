"""Fingerprints in the database: storage, atomic replacement, batched lookup, identify (SQLite and PostgreSQL)."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import exc, insert, select, text

from tests.audio_fixtures import ENCODINGS, excerpt_file, read_song, song_files, store_catalog, write_songs  # noqa: F401
from tests.support import ROOT, Project
from zamio.db.engine import transaction, utcnow
from zamio.db.tables import fingerprint_sets
from zamio.demo import synth
from zamio.recognition import audio, fingerprint, match
from zamio.recognition import index as recognition
from zamio.recognition.hash_index import maintain_hash_index
from zamio.recognition.query import query_fingerprint


def stored_rows(project: Project, track_id: int, version: int = fingerprint.FINGERPRINT_VERSION) -> list[tuple]:
    """A track's whole stored set as recognition reads a candidate's (PostgreSQL: its packed
    value; SQLite: its rows)."""
    with transaction(project.engine, read_only=True) as conn:
        hashes, _, frames = recognition.make_fetch(conn, version=version)(np.array([track_id]))
    return sorted(zip(hashes.tolist(), frames.tolist()))


def table_rows(project: Project, track_id: int, version: int = fingerprint.FINGERPRINT_VERSION) -> list[tuple]:
    rows = project.query("SELECT hash, frame FROM fingerprints WHERE track_id = :t AND version = :v "
                         "ORDER BY hash, frame", t=track_id, v=version)
    return [tuple(r) for r in rows]


def held_note(hashes: np.ndarray) -> np.ndarray:
    _, du2, du3, _, _ = fingerprint.unpack_hash(hashes)
    return (du2 == 0) & (du3 == 0)


def expected_table_rows(project: Project, fp: fingerprint.Fingerprint) -> list[tuple]:
    """The rows ``fingerprints`` holds of a set: all on SQLite; on PostgreSQL all but the
    triplets of held notes of version 2, which only its packed value holds."""
    if project.engine.dialect.name == "sqlite" or fp.version != 2:
        return expected_rows(fp)
    keep = ~held_note(fp.hashes)
    return sorted(zip(fp.hashes[keep].tolist(), fp.offsets[keep].tolist()))


def expected_rows(fp: fingerprint.Fingerprint) -> list[tuple]:
    return sorted(zip(fp.hashes.tolist(), fp.offsets.tolist()))


@pytest.fixture
def two_tracks(project: Project, song_files) -> tuple[dict[str, int], dict[str, fingerprint.Fingerprint]]:
    from tests.audio_fixtures import add_tracks

    with transaction(project.engine) as conn:
        ids = add_tracks(conn, {ref: song_files[ref] for ref in ("song-21", "song-22")})
    prints = {ref: fingerprint.fingerprint(read_song(song_files[ref])) for ref in ids}
    return ids, prints


def test_a_stored_set_reads_back_exactly_and_a_second_store_replaces_it(project: Project, two_tracks) -> None:
    ids, prints = two_tracks
    a, b = ids["song-21"], ids["song-22"]
    with transaction(project.engine) as conn:
        recognition.store_fingerprints(conn, a, prints["song-21"], "a" * 64, 20.0)
        recognition.store_fingerprints(conn, b, prints["song-22"], "b" * 64, 20.0)
    assert stored_rows(project, a) == expected_rows(prints["song-21"])
    assert table_rows(project, a) == expected_table_rows(project, prints["song-21"])
    # Store song-22's prints under track a: a's rows are replaced whole, b's are untouched.
    with transaction(project.engine) as conn:
        recognition.store_fingerprints(conn, a, prints["song-22"], "c" * 64, 19.5)
    assert stored_rows(project, a) == expected_rows(prints["song-22"])
    assert stored_rows(project, b) == expected_rows(prints["song-22"])
    assert table_rows(project, a) == table_rows(project, b) == expected_table_rows(project, prints["song-22"])
    sets = project.query("SELECT track_id, version, hash_count, audio_seconds, audio_sha256 FROM fingerprint_sets "
                         "ORDER BY track_id")
    assert [tuple(s) for s in sets] == [
        (a, fingerprint.FINGERPRINT_VERSION, prints["song-22"].hashes.size, 19.5, "c" * 64),
        (b, fingerprint.FINGERPRINT_VERSION, prints["song-22"].hashes.size, 20.0, "b" * 64),
    ]


def test_a_failure_inside_store_leaves_the_previous_set_intact(project: Project, two_tracks) -> None:
    ids, prints = two_tracks
    a = ids["song-21"]
    with transaction(project.engine) as conn:
        recognition.store_fingerprints(conn, a, prints["song-21"], "a" * 64, 20.0)
    # The set record is written last; a NULL digest violates NOT NULL after the old rows
    # were deleted and the new ones inserted, inside the same transaction.
    with pytest.raises(exc.IntegrityError):
        with transaction(project.engine) as conn:
            recognition.store_fingerprints(conn, a, prints["song-22"], None, 20.0)  # type: ignore[arg-type]
    assert stored_rows(project, a) == expected_rows(prints["song-21"])
    assert project.scalar("SELECT audio_sha256 FROM fingerprint_sets") == "a" * 64


def test_store_refuses_arrays_that_do_not_fit_the_table(project: Project, two_tracks) -> None:
    ids, _ = two_tracks
    bad = fingerprint.Fingerprint(np.array([1, 2**40]), np.array([0, 1]), 1, 1.0)
    with pytest.raises(ValueError, match="outside"):
        with transaction(project.engine) as conn:
            recognition.store_fingerprints(conn, ids["song-21"], bad, "a" * 64, 1.0)
    uneven = fingerprint.Fingerprint(np.array([1, 2], np.int32), np.array([0], np.int32), 1, 1.0)
    with pytest.raises(ValueError, match="differ"):
        with transaction(project.engine) as conn:
            recognition.store_fingerprints(conn, ids["song-21"], uneven, "a" * 64, 1.0)


def test_lookup_in_small_batches_returns_every_row_of_the_current_version(project: Project, two_tracks) -> None:
    ids, prints = two_tracks
    index = match.ArrayIndex()
    with transaction(project.engine) as conn:
        for ref, track_id in ids.items():
            recognition.store_fingerprints(conn, track_id, prints[ref], "a" * 64, 20.0)
            index.add(track_id, prints[ref].hashes, prints[ref].offsets)
        other = fingerprint.Fingerprint(prints["song-21"].hashes, prints["song-21"].offsets, 7, 20.0)
        recognition.store_fingerprints(conn, ids["song-21"], other, "a" * 64, 20.0)  # another version: never returned
    _, du2, du3, _, _ = fingerprint.unpack_hash(prints["song-21"].hashes)
    held = prints["song-21"].hashes[(du2 == 0) & (du3 == 0)]
    looked_up = prints["song-21"].hashes[(du2 != 0) | (du3 != 0)]
    wanted = np.concatenate([looked_up[:40], np.array([5, 6, 7], np.int32)])  # a few unknown hashes
    with transaction(project.engine, read_only=True) as conn:
        batched = recognition.make_lookup(conn, batch_size=7)(wanted)
        whole = recognition.make_lookup(conn)(wanted)
        held_rows = recognition.make_lookup(conn)(held)
        fetched = recognition.make_fetch(conn)(np.array([ids["song-21"]]))

    def as_set(rows):
        return sorted(zip(*(r.tolist() for r in rows)))

    assert len(as_set(batched)) > 40
    assert as_set(batched) == as_set(whole) == as_set(index.lookup(wanted))
    # triplets of held notes are stored for the pairs they hold, never looked up by hash
    assert held.size > 0 and held_rows[0].size == 0
    assert as_set(fetched) == as_set(index.fetch(np.array([ids["song-21"]])))
    assert all(r.dtype == np.int32 for r in batched)


def test_identify_through_the_database(project: Project, song_files, tmp_path) -> None:
    with transaction(project.engine) as conn:
        ids = store_catalog(conn, song_files)
    songs = {ref: read_song(path) for ref, path in song_files.items()}
    rate = audio.ANALYSIS_RATE

    def clip(ref: str, start_s: float, seconds: float = 10.0) -> np.ndarray:
        return songs[ref][int(start_s * rate): int((start_s + seconds) * rate)]

    mp3 = excerpt_file(song_files["song-23"], tmp_path / "q.mp3", 6.0, 10.0, ENCODINGS["mp3"][1])
    cases = {
        "clean": ("song-21", clip("song-21", 4.0), 4.0),
        "mp3 64k": ("song-23", audio.decode_file(mp3), 6.0),
        "noise 5 dB": ("song-22", synth.add_noise(clip("song-22", 8.0), 5.0, seed=3), 8.0),
        "speed +2 %": ("song-21", audio.resample(synth.change_speed(clip("song-21", 5.0), 2), rate), 5.0),
    }
    with transaction(project.engine, read_only=True) as conn:
        for name, (ref, samples, start_s) in cases.items():
            found = recognition.identify(conn, samples)
            assert found is not None and found.track_id == ids[ref], name
            assert abs(found.offset_seconds - start_s) < 0.2, name
        assert recognition.identify(conn, audio.resample(synth.song(99, 10.0), synth.SYNTH_RATE)) is None
        sped = recognition.identify(conn, cases["speed +2 %"][1])
    assert abs(sped.speed - 1.02) < 0.005


def sped(song: np.ndarray, start_s: float, percent: int, seconds: float = 10.0) -> np.ndarray:
    """``seconds`` of ``song`` (at the analysis rate) from ``start_s``, played ``percent`` fast."""
    rate = audio.ANALYSIS_RATE
    source = song[int(start_s * rate): int((start_s + seconds * (1 + percent / 100) + 0.1) * rate)]
    return synth.change_speed(source, percent)[: int(seconds * rate)]


def test_every_pass_decides_against_a_full_set_of_rivals_or_all_a_small_catalog_has(project: Project,
                                                                                     song_files, tmp_path) -> None:
    # Three recordings: no pass can name CANDIDATES of them, so the usual varispeeds decide
    # with the two rivals there are, and a clip played 3 % fast is recognised.
    with transaction(project.engine) as conn:
        small = store_catalog(conn, song_files)
    clip = sped(read_song(song_files["song-22"]), 5.0, 3)
    with transaction(project.engine, read_only=True) as conn:
        found = recognition.identify(conn, clip)
        named = match.ranked_candidates(query_fingerprint(clip).triplets, recognition.make_lookup(conn))
    assert named[0].size <= len(small) < match.CANDIDATES
    assert found is not None and found.track_id == small["song-22"] and abs(found.speed - 1.03) < 0.01

    # Ten more.  The usual varispeeds decide against their own candidates and those every
    # hypothesis names, then every hypothesis with a full set: clips whose usual varispeeds
    # name a full set, clips where only every hypothesis does, and clips with fewer rivals
    # than that are each recognised.
    files = write_songs(tmp_path, range(31, 41), 20.0)
    with transaction(project.engine) as conn:
        ids = store_catalog(conn, files)
    songs = {ref: read_song(path) for ref, path in files.items()}
    cases = [("song-36", -2), ("song-33", -5), ("song-36", -5), ("song-36", 2), ("song-34", 3)]
    ways = set()
    with transaction(project.engine, read_only=True) as conn:
        lookup = recognition.make_lookup(conn)
        for ref, percent in cases:
            clip = sped(songs[ref], 4.0, percent)
            query = query_fingerprint(clip)
            usual = match.ranked_candidates(match.usual_query(query).triplets, lookup)[0].size
            every = match.ranked_candidates(query.triplets, lookup)[0].size
            ways.add("usual" if usual == match.CANDIDATES else "every" if every == match.CANDIDATES else "fewer")
            found = recognition.identify(conn, clip)
            assert found is not None and found.track_id == ids[ref], (ref, percent)
            assert abs(found.speed - (1 + percent / 100)) < 0.01 and abs(found.offset_seconds - 4.0) < 0.2
        assert recognition.identify(conn, audio.resample(synth.song(99, 10.0), synth.SYNTH_RATE)) is None
    assert ways == {"usual", "every", "fewer"}


def test_a_shared_cache_answers_alike_and_rereads_a_track_fingerprinted_again(project: Project, song_files) -> None:
    with transaction(project.engine) as conn:
        ids = store_catalog(conn, song_files)
    song = read_song(song_files["song-21"])
    excerpt = song[4 * audio.ANALYSIS_RATE: 14 * audio.ANALYSIS_RATE]
    cache = recognition.PairCache()
    with transaction(project.engine, read_only=True) as conn:
        alone = recognition.identify(conn, excerpt)
        first = recognition.identify(conn, excerpt, cache)
        again = recognition.identify(conn, excerpt, cache)
    assert alone == first == again and alone is not None and alone.track_id == ids["song-21"]
    assert cache.hits >= cache.misses > 0 and len(cache) == cache.misses and cache.nbytes > 0

    # Track song-21 is fingerprinted again from other audio: its cached pairs must not serve.
    other = fingerprint.fingerprint(read_song(song_files["song-22"]))
    with transaction(project.engine) as conn:
        recognition.store_fingerprints(conn, ids["song-21"], other, "f" * 64, 20.0)
    track = np.array([ids["song-21"]])
    with transaction(project.engine, read_only=True) as conn:
        served = recognition.pairs_of(conn, cache)(track)
    fresh = match.lookup_in([match.TrackPairs(ids["song-21"], other.hashes, other.offsets)])
    wanted = np.arange(1 << 20, dtype=np.int32)  # every pair hash
    assert [a.tolist() for a in served(wanted)] == [a.tolist() for a in fresh(wanted)]


def test_the_pair_cache_keeps_the_most_recently_used_within_its_bytes() -> None:
    def pairs(track_id: int) -> match.TrackPairs:
        hashes = fingerprint.pack_hash(np.arange(100) % 200, np.ones(100), np.ones(100), np.ones(100), np.full(100, 2))
        return match.TrackPairs(track_id, hashes, np.arange(100, dtype=np.int32))

    size = pairs(1).nbytes
    cache = recognition.PairCache(max_bytes=2 * size)
    for track in (1, 2):
        cache.put(("db", track, 2), ("stamp",), pairs(track))
    assert cache.get(("db", 1, 2), ("stamp",)) is not None  # 1 is now the most recently used
    cache.put(("db", 3, 2), ("stamp",), pairs(3))
    assert cache.get(("db", 2, 2), ("stamp",)) is None  # the least recently used went
    assert cache.get(("db", 1, 2), ("stamp",)) is not None and cache.get(("db", 3, 2), ("stamp",)) is not None
    assert cache.get(("db", 1, 2), ("another stamp",)) is None  # the set was replaced since
    assert len(cache) == 2 and cache.nbytes == 2 * size
    assert recognition.pair_cache(0) is None and recognition.pair_cache(3).max_bytes == 3 * 2**20


def test_the_hash_index_is_rebuilt_sparse_or_in_the_other_form_beside_the_old_one(project: Project,
                                                                                  two_tracks) -> None:
    ids, prints = two_tracks
    with transaction(project.engine) as conn:
        for ref, track_id in ids.items():
            recognition.store_fingerprints(conn, track_id, prints[ref], "a" * 64, 20.0)
    if project.engine.dialect.name == "sqlite":
        assert maintain_hash_index(project.engine, covering=True).action is None
        return
    # What rebuilds killed half-way leave: an invalid index named like REINDEX's new one, a half-built next one.
    with project.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for name in ("ix_fingerprints_hash_ccnew", "ix_fingerprints_hash_next"):
            with pytest.raises(exc.IntegrityError):
                conn.exec_driver_sql(f"CREATE UNIQUE INDEX CONCURRENTLY {name} ON fingerprints (version)")
    wanted = prints["song-21"].hashes[:50]

    def looked_up() -> list[tuple]:
        with transaction(project.engine, read_only=True) as conn:
            return sorted(zip(*(a.tolist() for a in recognition.make_lookup(conn)(wanted))))

    def hash_indexes() -> list[tuple]:
        return [tuple(i) for i in project.query(
            "SELECT c.relname, i.indisvalid, i.indnatts FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE c.relname LIKE 'ix_fingerprints_hash%' ORDER BY c.relname")]

    before = looked_up()
    assert len(before) >= 40
    # the covering form is the default (sql/0031_packed_fingerprint_sets.sql)
    compacted = maintain_hash_index(project.engine, below=1.01)  # always sparser than that
    assert compacted.action == "compacted" and compacted.covering and 0 < compacted.density < 1.01
    assert hash_indexes() == [("ix_fingerprints_hash", True, 4)] and looked_up() == before
    assert maintain_hash_index(project.engine, below=0.0).action is None
    made = maintain_hash_index(project.engine, covering=False, below=0.0)
    assert made.action == "made compact" and made.covering
    assert hash_indexes() == [("ix_fingerprints_hash", True, 1)] and looked_up() == before
    assert not maintain_hash_index(project.engine, covering=False, below=0.0).covering
    assert maintain_hash_index(project.engine, covering=True, below=0.0).action == "made covering"
    assert hash_indexes() == [("ix_fingerprints_hash", True, 4)] and looked_up() == before


def test_fingerprint_sets_key_is_track_and_version(project: Project, two_tracks) -> None:
    ids, prints = two_tracks
    with transaction(project.engine) as conn:
        for version in (1, 2):
            fp = fingerprint.Fingerprint(prints["song-21"].hashes, prints["song-21"].offsets, version, 20.0)
            recognition.store_fingerprints(conn, ids["song-21"], fp, "a" * 64, 20.0)
            recognition.store_fingerprints(conn, ids["song-21"], fp, "a" * 64, 20.0)
    with project.engine.connect() as conn:
        versions = conn.execute(select(fingerprint_sets.c.version).order_by(fingerprint_sets.c.version)).scalars()
        assert list(versions) == [1, 2]
        count = conn.execute(text("SELECT count(*) FROM fingerprints")).scalar()
    held = int(held_note(prints["song-21"].hashes).sum())
    assert held > 0
    # version 1 keeps every row; version 2 all but its held notes on PostgreSQL (in its packed value)
    per_set = prints["song-21"].hashes.size
    assert count == 2 * per_set - (held if project.engine.dialect.name == "postgresql" else 0)


def test_the_migration_packs_the_sets_stored_before_it_and_recognition_answers_alike(empty_project: Project,
                                                                                      song_files, tmp_path) -> None:
    from tests.audio_fixtures import add_tracks
    from zamio.runtime import migrate

    engine = empty_project.engine
    before = tmp_path / "sql-before"
    before.mkdir()
    for path in (ROOT / "sql").glob("*.sql"):
        if path.name < "0031":
            (before / path.name).write_text(path.read_text())
    migrate.migrate(engine, before)
    prints = {ref: fingerprint.fingerprint(read_song(path)) for ref, path in song_files.items()}
    with transaction(engine) as conn:
        ids = add_tracks(conn, song_files)
        for ref, fp in prints.items():  # the rows and the record the code before the migration wrote
            conn.execute(text("INSERT INTO fingerprints (hash, track_id, frame, version) VALUES (:h, :t, :f, 2)"),
                         [{"h": h, "t": ids[ref], "f": f} for h, f in zip(fp.hashes.tolist(), fp.offsets.tolist())])
            conn.execute(insert(fingerprint_sets).values(track_id=ids[ref], version=2, hash_count=fp.hashes.size,
                                                         audio_seconds=20.0, audio_sha256="a" * 64,
                                                         created_at=utcnow()))
        conn.execute(text("INSERT INTO fingerprints (hash, track_id, frame, version) VALUES (77, 999, 3, 2)"))
    migrate.migrate(engine)

    postgresql = engine.dialect.name == "postgresql"
    for ref, fp in prints.items():
        assert stored_rows(empty_project, ids[ref]) == expected_rows(fp), ref
        assert table_rows(empty_project, ids[ref]) == expected_table_rows(empty_project, fp), ref
        packed = empty_project.scalar("SELECT packed FROM fingerprint_sets WHERE track_id = :t", t=ids[ref])
        # built by SQL, the same bytes the code writes
        assert (bytes(packed) == recognition.pack_set(fp.hashes, fp.offsets)) if postgresql else packed is None
    # rows of no recorded set could never be deleted again without an index on tracks
    assert empty_project.scalar("SELECT count(*) FROM fingerprints WHERE track_id = 999") == (0 if postgresql else 1)
    song = read_song(song_files["song-22"])
    with transaction(engine, read_only=True) as conn:
        found = recognition.identify(conn, song[6 * audio.ANALYSIS_RATE: 16 * audio.ANALYSIS_RATE])
    assert found is not None and found.track_id == ids["song-22"] and abs(found.offset_seconds - 6.0) < 0.2


def test_a_packed_set_reads_back_in_frame_order_and_a_broken_one_is_refused() -> None:
    hashes = np.array([9, 4, 2**31 - 1, 4, 0], np.int32)
    frames = np.array([7, 7, 0, 2, 40_000], np.int32)
    packed = recognition.pack_set(hashes, frames)
    assert len(packed) == 40
    back_hashes, back_frames = recognition.unpack_set(packed)
    assert back_hashes.tolist() == [2**31 - 1, 4, 4, 9, 0] and back_frames.tolist() == [0, 2, 7, 7, 40_000]
    assert back_hashes.dtype == back_frames.dtype == np.int32
    with pytest.raises(ValueError, match="36 bytes"):
        recognition.unpack_set(packed[:36])


def test_two_stores_of_one_track_at_once_leave_one_whole_set(project: Project, two_tracks) -> None:
    if project.engine.dialect.name == "sqlite":
        pytest.skip("SQLite lets one writer at a time in: the second store starts after the first commits")
    import threading

    ids, prints = two_tracks
    a = ids["song-21"]
    first = project.engine.connect()
    first.begin()
    recognition.store_fingerprints(first, a, prints["song-21"], "a" * 64, 20.0)  # not committed yet
    errors: list[BaseException] = []

    def second_store() -> None:
        try:
            with transaction(project.engine) as conn:
                recognition.store_fingerprints(conn, a, prints["song-22"], "b" * 64, 20.0)
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    second = threading.Thread(target=second_store)
    second.start()
    # the second store waits for a lock the first holds until it commits (the track's own)
    while not project.scalar("SELECT count(*) FROM pg_locks WHERE NOT granted"):
        assert second.is_alive()
    first.commit()
    first.close()
    second.join()
    assert errors == []
    assert stored_rows(project, a) == expected_rows(prints["song-22"])
    assert table_rows(project, a) == expected_table_rows(project, prints["song-22"])
