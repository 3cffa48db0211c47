"""Recognition in the database: store a track's fingerprint, look hashes up, identify an excerpt.

This module joins the pure engine (``zamio.recognition.fingerprint``, ``zamio.recognition.match``) to the
``fingerprints`` and ``fingerprint_sets`` tables.  Functions take the
connection first and run inside the caller's transaction.

Storage: one row (hash, track_id, frame, version) per stored hash, written in
bulk (PostgreSQL ``COPY ... (FORMAT binary)``, SQLite ``executemany``).  A
track's set of one version is replaced whole inside one transaction, so a
reader sees the old set or the new one, never a mixture or nothing.  On
PostgreSQL the table holds only the hashes a lookup may ask for, in a covering
hash index, and the whole set (held notes included) is packed into one value of
``fingerprint_sets.packed`` (``pack_set``), which is what recognition reads of a
candidate: one row instead of a heap page per hundred rows (sql/0031).  SQLite
keeps every row in ``fingerprints`` and reads a candidate's set from there.

Lookup: the distinct triplet hashes of an excerpt go to the database in few round
trips (PostgreSQL: one join of ``unnest(int4[])`` with the hash index per
``LOOKUP_BATCH_POSTGRES`` hashes, rows returned by binary COPY straight into
numpy; SQLite: ``IN`` lists of at most ``LOOKUP_BATCH_SQLITE`` parameters), only
rows of ``FINGERPRINT_VERSION``; then the rows of the few candidate tracks they
point at are fetched whole (``zamio.recognition.match.recognise``: one statement on
``fingerprint_sets`` on PostgreSQL, on the track index on SQLite).  The table is
never loaded whole.  The cost of a lookup is about one index probe per distinct
hash, so ``identify`` first tries the hashes of nominal playback speed alone.
"""

from __future__ import annotations

import io
import struct
import threading
from collections import OrderedDict
from collections.abc import Iterator
from datetime import datetime

import numpy as np
from sqlalchemy import Connection, bindparam, delete, select
from sqlalchemy.engine.interfaces import DBAPICursor

from zamio.db.engine import is_sqlite, upsert, utcnow
from zamio.db.replicas import CATALOG_OPTION
from zamio.db.tables import fingerprint_sets, fingerprints
from zamio.db.tables.fingerprints import HASH_INDEX_CONDITION, HELD_NOTE, HELD_NOTE_FIELD
from zamio.recognition.fingerprint import FINGERPRINT_VERSION, Fingerprint
from zamio.recognition.match import (
    CANDIDATES,
    Fetch,
    Lookup,
    MatchResult,
    PairsOf,
    Rows,
    TrackPairs,
    by_track,
    lookup_in,
    match,
    ranked_candidates,
    recognise,
    usual_query,
)
from zamio.recognition.query import QUERY_PROFILE, Query, QueryPrints, QueryProfile, query_fingerprint

#: Hashes per lookup statement.  A 10 s excerpt has about 5,000 distinct triplet hashes
#: under all speed hypotheses, so one statement (one round trip) covers it on either database.
LOOKUP_BATCH_POSTGRES = 20_000
LOOKUP_BATCH_SQLITE = 30_000  # under SQLite's limit of 32,766 parameters per statement

INT4_MAX = 2**31 - 1

# PostgreSQL binary COPY framing (see the COPY documentation, "Binary Format").
_COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
_COPY_TRAILER = struct.pack("!h", -1)
_COPY_IN_ROW = np.dtype([("fields", ">i2"), ("l_hash", ">i4"), ("hash", ">i4"), ("l_track", ">i4"),
                         ("track", ">i4"), ("l_frame", ">i4"), ("frame", ">i4"), ("l_version", ">i4"),
                         ("version", ">i2")])
_COPY_OUT_ROW = np.dtype([("fields", ">i2"), ("l_hash", ">i4"), ("hash", ">i4"), ("l_track", ">i4"),
                          ("track", ">i4"), ("l_frame", ">i4"), ("frame", ">i4")])


def store_fingerprints(
    conn: Connection, track_id: int, fp: Fingerprint, audio_sha256: str, audio_seconds: float
) -> None:
    """Given a track id and its fingerprint, replace that track's stored rows of
    ``fp.version`` by ``fp``'s and record the set in ``fingerprint_sets``
    (``audio_seconds``: decoded duration in seconds; ``audio_sha256``: hex digest of
    the audio file).  Runs in the caller's transaction: if anything fails, the caller's
    rollback leaves the previous set untouched.  Raise ValueError if the arrays differ
    in length or hold values outside int4.
    """
    hashes, frames = _checked_arrays(fp)
    # Deleting first is as atomic as deleting last: both happen in this one transaction,
    # readers keep seeing the old set until it commits, and the delete then needs no
    # way to tell old rows from new rows of the same (track, version).
    if is_sqlite(conn):
        conn.execute(delete(fingerprints).where(fingerprints.c.track_id == track_id,
                                                fingerprints.c.version == fp.version))
        _insert_sqlite(conn, track_id, hashes, frames, fp.version)
        packed = None
    else:
        delete_lookup_rows(conn, track_id, fp.version, lock=True)
        keep = looked_up(hashes, fp.version)
        _copy_postgres(conn, track_id, hashes[keep], frames[keep], fp.version)
        packed = pack_set(hashes, frames)
    upsert(conn, fingerprint_sets, [dict(
        track_id=track_id, version=fp.version, hash_count=int(hashes.size), audio_seconds=float(audio_seconds),
        audio_sha256=audio_sha256, created_at=utcnow(), packed=packed,
    )], keys=["track_id", "version"])


def looked_up(hashes: np.ndarray, version: int) -> np.ndarray:
    """Given a set's hashes, return the mask of those a lookup may ask for: all but the
    triplets of held notes of version 2 (``HASH_INDEX_CONDITION``, in numpy)."""
    if version != 2:
        return np.ones(hashes.size, bool)
    return ((hashes >> HELD_NOTE_FIELD[0]) & HELD_NOTE_FIELD[1]) != HELD_NOTE


#: A track's whole set in one value of ``fingerprint_sets.packed`` (PostgreSQL): every
#: hash as a big-endian int4, then every frame alike, in the order of (frame, hash).  A
#: plain format, so that the migration that brought it (sql/0031) builds the same bytes
#: in SQL with ``int4send``.
PACKED_VALUE = np.dtype(">i4")


def pack_set(hashes: np.ndarray, frames: np.ndarray) -> bytes:
    """Given a set's int32 hashes and frames (equal lengths), return its packed value."""
    order = np.lexsort((hashes, frames))
    return hashes[order].astype(PACKED_VALUE).tobytes() + frames[order].astype(PACKED_VALUE).tobytes()


def unpack_set(packed: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Given a value of ``pack_set``, return (hashes, frames) as int32 arrays, in (frame, hash) order.
    Raise ValueError if its length is not a whole number of (hash, frame) rows."""
    if len(packed) % (2 * PACKED_VALUE.itemsize):
        raise ValueError(f"a packed fingerprint set of {len(packed)} bytes is not whole (hash, frame) rows")
    values = np.frombuffer(packed, PACKED_VALUE)
    half = values.size // 2
    return values[:half].astype(np.int32), values[half:].astype(np.int32)


#: Advisory lock class of a track's fingerprint sets ("zF"), with the track id as the second key.
SET_LOCK_CLASS = 0x7A46


def delete_lookup_rows(conn: Connection, track_id: int, version: int, *, lock: bool = False) -> int:
    """Given a track's set of ``version``, delete its rows from ``fingerprints`` (PostgreSQL:
    through the hash index, by the hashes of its packed set, as the table has no index on
    tracks); return the rows deleted.  ``lock`` first takes the track's lock for the rest
    of the transaction, so that two transactions replacing one set take turns (each reads
    the set the other committed) instead of each keeping rows the other wrote."""
    if is_sqlite(conn):  # SQLite has one writer at a time
        return max(0, conn.execute(delete(fingerprints).where(fingerprints.c.track_id == track_id,
                                                              fingerprints.c.version == version)).rowcount)
    if lock:
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%(class)s, %(track)s)",
                             {"class": SET_LOCK_CLASS, "track": track_id})
    packed = conn.execute(select(fingerprint_sets.c.packed).where(fingerprint_sets.c.track_id == track_id,
                                                                  fingerprint_sets.c.version == version)).scalar()
    if packed is None:
        return 0
    hashes, _ = unpack_set(packed)
    literal = "{" + ",".join(map(str, np.unique(hashes).tolist())) + "}"
    return max(0, conn.exec_driver_sql(
        f"DELETE FROM fingerprints WHERE hash = ANY('{literal}'::int4[]) AND track_id = %(track)s "
        f"AND version = %(version)s AND {LOOKUP_CONDITION}", {"track": track_id, "version": version}).rowcount)


def _checked_arrays(fp: Fingerprint) -> tuple[np.ndarray, np.ndarray]:
    hashes, frames = np.asarray(fp.hashes), np.asarray(fp.offsets)
    if hashes.shape != frames.shape or hashes.ndim != 1:
        raise ValueError(f"fingerprint arrays differ: {hashes.shape} hashes, {frames.shape} offsets")
    for name, values in (("hash", hashes), ("offset", frames)):
        if values.size and (int(values.min()) < 0 or int(values.max()) > INT4_MAX):
            raise ValueError(f"a fingerprint {name} is outside 0..{INT4_MAX}")
    return hashes.astype(np.int32), frames.astype(np.int32)


def _driver_cursor(conn: Connection) -> DBAPICursor:
    """A cursor of the driver's own connection under ``conn``, for the bulk paths SQLAlchemy has no API for."""
    driver = conn.connection.dbapi_connection
    assert driver is not None  # None only once the connection is closed or invalidated: conn is in use
    return driver.cursor()


def _insert_sqlite(conn: Connection, track_id: int, hashes: np.ndarray, frames: np.ndarray, version: int) -> None:
    cursor = _driver_cursor(conn)
    try:
        rows = zip(hashes.tolist(), [track_id] * hashes.size, frames.tolist(), [version] * hashes.size)
        sql = "INSERT INTO fingerprints (hash, track_id, frame, version) VALUES (?, ?, ?, ?)"
        cursor.executemany(sql, rows)  # type: ignore[arg-type]  # sqlite3 takes any iterable, the stub a sequence
    finally:
        cursor.close()


def copy_payload(track_ids: np.ndarray, hashes: np.ndarray, frames: np.ndarray, version: int) -> bytes:
    """Given equal-length int arrays, return the PostgreSQL binary COPY stream of
    ``fingerprints (hash, track_id, frame, version)`` rows."""
    rows = np.empty(hashes.size, _COPY_IN_ROW)
    rows["fields"] = 4
    rows["l_hash"] = rows["l_track"] = rows["l_frame"] = 4
    rows["l_version"] = 2
    rows["hash"], rows["track"], rows["frame"], rows["version"] = hashes, track_ids, frames, version
    return _COPY_SIGNATURE + rows.tobytes() + _COPY_TRAILER


def _copy_postgres(conn: Connection, track_id: int, hashes: np.ndarray, frames: np.ndarray, version: int) -> None:
    payload = copy_payload(np.full(hashes.size, track_id, np.int32), hashes, frames, version)
    copy_rows_postgres(conn, payload)


def copy_rows_postgres(conn: Connection, payload: bytes) -> None:
    """COPY a binary payload from ``copy_payload`` into ``fingerprints`` (PostgreSQL)."""
    cursor = _driver_cursor(conn)
    try:
        cursor.copy_expert("COPY fingerprints (hash, track_id, frame, version) FROM STDIN (FORMAT binary)",
                           io.BytesIO(payload))
    finally:
        cursor.close()


def make_lookup(conn: Connection, *, version: int = FINGERPRINT_VERSION, batch_size: int | None = None) -> Lookup:
    """Given a connection, return a ``zamio.recognition.match.Lookup``: int32 hashes -> every stored
    (hash, track_id, frame) row of ``version`` with one of those hashes, as three int32
    arrays.  ``batch_size`` hashes go in one statement (default per database)."""
    sqlite = is_sqlite(conn)
    size = batch_size or (LOOKUP_BATCH_SQLITE if sqlite else LOOKUP_BATCH_POSTGRES)
    fetch = _fetch_sqlite if sqlite else _fetch_postgres

    def lookup(hashes: np.ndarray) -> Rows:
        parts = [fetch(conn, chunk, version) for chunk in _chunks(np.unique(hashes), size)]
        if not parts:
            empty = np.zeros(0, np.int32)
            return empty, empty, empty
        return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
                np.concatenate([p[2] for p in parts]))

    return lookup


def make_fetch(conn: Connection, *, version: int = FINGERPRINT_VERSION) -> Fetch:
    """Given a connection, return a ``zamio.recognition.match.Fetch``: int32 track ids -> every stored
    (hash, track_id, frame) row of ``version`` of those tracks, as three int32 arrays."""
    fetch = _fetch_tracks_sqlite if is_sqlite(conn) else _fetch_tracks_postgres

    def fetch_tracks(track_ids: np.ndarray) -> Rows:
        return fetch(conn, np.unique(np.asarray(track_ids, np.int64)), version)

    return fetch_tracks


def _chunks(values: np.ndarray, size: int) -> Iterator[np.ndarray]:
    for start in range(0, values.size, size):
        yield values[start:start + size]


#: The condition of the partial hash index on PostgreSQL (sql/0011_fingerprints_track_btree.sql),
#: repeated in every lookup so that the planner may use the index (and on SQLite, so that
#: both answer alike): version 2 triplets of held notes are never looked up.
LOOKUP_CONDITION = f"({HASH_INDEX_CONDITION})"


def _fetch_postgres(conn: Connection, hashes: np.ndarray, version: int) -> Rows:
    # The hashes are our own int32 values, so inlining them is safe; COPY cannot take
    # parameters, and binary COPY out lands in numpy without a Python object per row.
    # The function (sql/0014_fingerprint_lookup_function.sql) probes the hash index once
    # per hash under LOOKUP_CONDITION, with the planner settings that plan needs.
    literal = "{" + ",".join(map(str, hashes.tolist())) + "}"
    return _copy_out(conn, f"SELECT hash, track_id, frame "
                           f"FROM zamio_fingerprint_rows('{literal}', {int(version)}::int2)")


def _fetch_tracks_postgres(conn: Connection, track_ids: np.ndarray, version: int) -> Rows:
    literal = "{" + ",".join(map(str, track_ids.tolist())) + "}"
    sets = conn.exec_driver_sql(f"SELECT track_id, packed FROM fingerprint_sets "
                                f"WHERE track_id = ANY('{literal}'::int8[]) AND version = {int(version)} "
                                f"AND packed IS NOT NULL").all()
    parts = [(*unpack_set(bytes(packed)), track) for track, packed in sets]
    if not parts:
        empty = np.zeros(0, np.int32)
        return empty, empty, empty
    return (np.concatenate([h for h, _, _ in parts]),
            np.concatenate([np.full(h.size, t, np.int32) for h, _, t in parts]),
            np.concatenate([f for _, f, _ in parts]))


def _copy_out(conn: Connection, select_sql: str) -> Rows:
    """Run ``select_sql`` (hash, track_id, frame int4 columns) as a binary COPY and
    return its three columns as int32 arrays."""
    buffer = io.BytesIO()
    cursor = _driver_cursor(conn)
    try:
        cursor.copy_expert(f"COPY ({select_sql}) TO STDOUT (FORMAT binary)", buffer)
    finally:
        cursor.close()
    data = buffer.getvalue()
    rows = np.frombuffer(data, _COPY_OUT_ROW, offset=len(_COPY_SIGNATURE),
                         count=(len(data) - len(_COPY_SIGNATURE) - len(_COPY_TRAILER)) // _COPY_OUT_ROW.itemsize)
    return rows["hash"].astype(np.int32), rows["track"].astype(np.int32), rows["frame"].astype(np.int32)


def _fetch_sqlite(conn: Connection, hashes: np.ndarray, version: int) -> Rows:
    return _select_sqlite(conn, f"hash IN ({{marks}}) AND {LOOKUP_CONDITION}", hashes, version)


def _fetch_tracks_sqlite(conn: Connection, track_ids: np.ndarray, version: int) -> Rows:
    return _select_sqlite(conn, "track_id IN ({marks})", track_ids, version)


def _select_sqlite(conn: Connection, condition: str, values: np.ndarray, version: int) -> Rows:
    where = condition.format(marks=",".join("?" * values.size))
    cursor = _driver_cursor(conn)
    try:
        cursor.execute(f"SELECT hash, track_id, frame FROM fingerprints f WHERE {where} AND version = ?",
                       [*values.tolist(), int(version)])
        rows = np.array(cursor.fetchall(), np.int32).reshape(-1, 3)
    finally:
        cursor.close()
    return rows[:, 0].copy(), rows[:, 1].copy(), rows[:, 2].copy()


def identify(conn: Connection, samples: np.ndarray, cache: PairCache | None = None,
             profile: QueryProfile = QUERY_PROFILE) -> MatchResult | None:
    """Given mono float32 samples at ``zamio.recognition.audio.ANALYSIS_RATE`` (decode with
    ``zamio.recognition.audio``), return the catalog track they are an excerpt of (``track_id`` is
    ``tracks.id``) with offset, speed and confidence, or None if nothing matches.
    ``cache`` keeps candidates' pair rows between calls (a process recognising many
    excerpts passes one ``PairCache``); without it they are read for this call only.

    Three passes share one lookup cache: first only the hashes of nominal speed (a
    ninth of the query's triplet hashes, so a ninth of the index probes, which dominate
    the time); if that finds nothing, the usual varispeeds (2 % slow to 4.5 % fast)
    as they were always tried; then every hypothesis, each candidate decided near its
    own speed (``QueryProfile``).  Each pass is a complete ``recognise`` with its own
    chance estimate, and answers only against a full set of ``CANDIDATES``, since fewer
    rivals understate chance: the usual varispeeds' own candidates together with those
    every hypothesis names (``usual_against_every_rival``), for the other passes their
    own.  Only when even every hypothesis names fewer (a catalog of fewer recordings)
    do the usual varispeeds decide with the rivals there are.  ``profile`` is the query
    side's (the default unless a benchmark compares another).
    """
    return identify_prints(conn, query_fingerprint(samples, profile), cache)


def identify_prints(conn: Connection, query: Query, cache: PairCache | None = None,
                    verify_below: float | None = None) -> MatchResult | None:
    """``identify`` of a query made otherwise than from samples (the prints the unknown index kept of a
    capture, ``zamio.recognition.kept_prints``); ``verify_below`` as ``identify_query``'s."""
    return identify_query(query, _CachingLookup(make_lookup(conn)),
                          pairs_of(conn, cache if cache is not None else PairCache()), verify_below)


def identify_query(query: Query, lookup: Lookup, pairs: PairsOf,
                   verify_below: float | None = None) -> MatchResult | None:
    """The passes of ``identify`` over any triplet ``Lookup`` and ``PairsOf`` (a benchmark
    runs them over an index in memory).  An answer of the passes after the nominal one takes the second
    look below ``verify_below`` standard deviations (None: ``match.VERIFY_BELOW``, as the nominal pass always takes)."""
    first = recognise(nominal_only(query), lookup, pairs, min_candidates=CANDIDATES, near_speed=False)
    if first is not None or query.profile is None or query.profile.speed_window_cells is None:
        return first if first is not None else recognise(query, lookup, pairs, verify_below=verify_below)
    usual = usual_against_every_rival(query, lookup, pairs, verify_below)
    if usual is not None:
        return usual
    every = recognise(query, lookup, pairs, min_candidates=CANDIDATES, verify_below=verify_below)
    return every if every is not None else _with_the_rivals_there_are(query, lookup, pairs, verify_below)


def usual_against_every_rival(query: Query, lookup: Lookup, pairs: PairsOf,
                              verify_below: float | None = None) -> MatchResult | None:
    """Given a query made by ``query_fingerprint``, return what its usual varispeeds
    (``usual_query``) recognise against their own candidates and those the triplets of
    every hypothesis name, or None if together they are fewer than ``CANDIDATES``.  A quiet
    or sparse 5 s clip often shares triplets under the usual varispeeds with one to five
    recordings only: against so few, chance is set far too low (clips of other music were
    accepted at 2.7 to 11 standard deviations), while asking the usual varispeeds alone
    for a full set loses clips that every hypothesis's rivals leave well recognised."""
    usual = usual_query(query)
    own = ranked_candidates(usual.triplets, lookup)[0]
    every = ranked_candidates(query.triplets, lookup)[0]
    tracks = np.concatenate([own, every[~np.isin(every, own)]])
    if own.size == 0 or tracks.size < CANDIDATES:
        return None
    return match(usual.pairs, pairs(tracks), landmarks=query.landmarks, verify_below=verify_below)


def _with_the_rivals_there_are(query: Query, lookup: Lookup, pairs: PairsOf,
                               verify_below: float | None) -> MatchResult | None:
    """Given a query no pass recognised with a full set of rivals, return what the usual
    varispeeds recognise with fewer, if even every hypothesis names fewer than ``CANDIDATES``
    recordings (a catalog that small, or a clip sharing triplets with so few, has no more
    rivals to give), else None."""
    if ranked_candidates(query.triplets, lookup)[0].size >= CANDIDATES:
        return None
    return recognise(usual_query(query), lookup, pairs, near_speed=False, verify_below=verify_below)


def nominal_only(query: Query) -> Query:
    """Given a query, return its prints under the nominal speed alone (the first hypothesis
    of speed 1: the varispeed grid's, before any time-stretch)."""
    return Query(_only_speed(query.triplets), _only_speed(query.pairs), query.landmarks, query.profile)


def _only_speed(query: QueryPrints) -> QueryPrints:
    return query.near(int(np.flatnonzero(query.speeds == 1.0)[0]), 0.0)


class _CachingLookup:
    """A ``Lookup`` that asks the database only for hashes it has not fetched yet
    (for the passes of one ``identify`` call)."""

    def __init__(self, lookup: Lookup) -> None:
        self._lookup = lookup
        self._asked = np.zeros(0, np.int32)
        self._rows: list[Rows] = []

    def __call__(self, hashes: np.ndarray) -> Rows:
        wanted = np.unique(hashes)
        if not self._rows:  # the first pass: everything is new
            self._rows.append(_arrays(self._lookup(wanted)))
            self._asked = wanted
            return self._rows[0]
        new = wanted[~np.isin(wanted, self._asked, assume_unique=True)]
        if new.size:
            self._rows.append(_arrays(self._lookup(new)))
            self._asked = np.union1d(self._asked, new)
        h, t, f = (np.concatenate([r[i] for r in self._rows]) if self._rows else np.zeros(0, np.int32)
                   for i in range(3))
        keep = np.isin(h, wanted)
        return h[keep], t[keep], f[keep]


def _arrays(rows: Rows) -> Rows:
    hashes, track_ids, frames = rows
    return np.asarray(hashes), np.asarray(track_ids), np.asarray(frames)


#: Bytes of candidates' pair rows a process keeps by default: about 100 KB per song of
#: three to four minutes, so some 2,500 songs, more than a station's rotation.
PAIR_CACHE_BYTES = 256 * 2**20

SetStamp = tuple[datetime, int, str]  # (created_at, hash_count, audio_sha256) of a track's fingerprint_sets row
CacheKey = tuple[str, int, int]  # (database, track id, version)


def pair_cache(megabytes: int) -> PairCache | None:
    """Given ``RECOGNITION_CACHE_MB``, return the ``PairCache`` a run keeps, or None for 0
    (each ``identify`` then keeps its candidates for its own two passes only)."""
    return PairCache(megabytes * 2**20) if megabytes > 0 else None


class PairCache:
    """Candidates' pair rows (``zamio.recognition.match.TrackPairs``) kept between the excerpts one
    process recognises, least recently used dropped first beyond ``max_bytes``.

    Radio repeats itself: the captures of a station during one song name the same
    candidates, and a rotation of a few hundred songs fills a day, so a warm process
    finds most candidates here instead of reading and unfolding their rows, which was
    half of a recognition's time (bench/results/recognition.md).  An entry serves only
    while the track's ``fingerprint_sets`` row has the stamp it was read with (checked
    in the excerpt's own transaction, ``pairs_of``): a track fingerprinted again is
    read again.  Entries are keyed by database too, so one cache may serve several.
    Thread-safe: the scan's hearing threads share one; its entries are never modified.
    """

    def __init__(self, max_bytes: int = PAIR_CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self.hits = self.misses = 0
        self._entries: OrderedDict[CacheKey, tuple[SetStamp, TrackPairs]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: CacheKey, stamp: SetStamp) -> TrackPairs | None:
        """Given a key and the set's current stamp, return the cached pairs, or None."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != stamp:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[1]

    def put(self, key: CacheKey, stamp: SetStamp, pairs: TrackPairs) -> None:
        """Keep ``pairs`` under ``key`` with the stamp of the set they were read from."""
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old[1].nbytes
            if pairs.nbytes > self.max_bytes:
                return
            self._entries[key] = (stamp, pairs)
            self._bytes += pairs.nbytes
            while self._bytes > self.max_bytes:
                _, (_, dropped) = self._entries.popitem(last=False)
                self._bytes -= dropped.nbytes

    @property
    def nbytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)


_SET_STAMPS = (select(fingerprint_sets.c.track_id, fingerprint_sets.c.created_at, fingerprint_sets.c.hash_count,
                      fingerprint_sets.c.audio_sha256)
               .where(fingerprint_sets.c.version == bindparam("version"),
                      fingerprint_sets.c.track_id.in_(bindparam("tracks", expanding=True))))


def set_stamps(conn: Connection, track_ids: list[int], *, version: int = FINGERPRINT_VERSION) -> dict[int, SetStamp]:
    """Given track ids, return the stamp of each one's ``fingerprint_sets`` row of ``version``
    (tracks without one left out): equal stamps mean the same stored set."""
    rows = conn.execute(_SET_STAMPS, {"version": version, "tracks": track_ids})
    return {row[0]: (row[1], row[2], row[3]) for row in rows}


def pairs_of(conn: Connection, cache: PairCache, *, version: int = FINGERPRINT_VERSION) -> PairsOf:
    """Given a connection and a ``PairCache``, return a ``zamio.recognition.match.PairsOf``: candidates
    found in the cache with their set's current stamp are used as they are, the others
    are read in one statement on the track index, unfolded and cached."""
    fetch = make_fetch(conn, version=version)
    # A replica reads the primary's catalog: its connections name it, so that one cache serves them all.
    database = conn.get_execution_options().get(CATALOG_OPTION) or conn.engine.url.render_as_string(hide_password=True)

    def pairs(tracks: np.ndarray) -> Lookup:
        wanted = [int(t) for t in tracks]
        stamps = set_stamps(conn, wanted, version=version)
        found = {t: cache.get((database, t, version), stamps[t]) for t in wanted if t in stamps}
        missing = [t for t in wanted if found.get(t) is None]
        if missing:
            for track, hashes, frames in by_track(*fetch(np.array(missing, np.int64))):
                found[track] = unfolded = TrackPairs(track, hashes, frames)
                if track in stamps:
                    cache.put((database, track, version), stamps[track], unfolded)
        return lookup_in([pairs for t in wanted if (pairs := found.get(t)) is not None])

    return pairs
