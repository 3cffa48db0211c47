"""Recognition in the database: store a track's fingerprint, look hashes up, identify an excerpt.

This module joins the pure engine (``zamio.fingerprint``, ``zamio.match``) to the
``fingerprints`` and ``fingerprint_sets`` tables.  Functions take the
connection first and run inside the caller's transaction.

Storage: one row (hash, track_id, frame, version) per stored hash, written in
bulk (PostgreSQL ``COPY ... (FORMAT binary)``, SQLite ``executemany``).  A
track's set of one version is replaced whole inside one transaction, so a
reader sees the old set or the new one, never a mixture or nothing.

Lookup: the distinct triplet hashes of an excerpt go to the database in few round
trips (PostgreSQL: one join of ``unnest(int4[])`` with the hash index per
``LOOKUP_BATCH_POSTGRES`` hashes, rows returned by binary COPY straight into
numpy; SQLite: ``IN`` lists of at most ``LOOKUP_BATCH_SQLITE`` parameters), only
rows of ``FINGERPRINT_VERSION``; then the rows of the few candidate tracks they
point at are fetched whole (``zamio.match.recognise``: one statement on the track
index).  The table is never loaded whole.  The cost of a lookup is about one index
probe per distinct hash, so ``identify`` first tries the hashes of nominal playback
speed alone.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator

import numpy as np
from sqlalchemy import Connection, delete

from zamio.db import is_sqlite, upsert, utcnow
from zamio.fingerprint import FINGERPRINT_VERSION, Fingerprint, Query, QueryPrints, query_fingerprint
from zamio.match import CANDIDATES, Fetch, Lookup, MatchResult, recognise
from zamio.tables import fingerprint_sets, fingerprints

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
    conn.execute(delete(fingerprints).where(fingerprints.c.track_id == track_id,
                                            fingerprints.c.version == fp.version))
    if is_sqlite(conn):
        _insert_sqlite(conn, track_id, hashes, frames, fp.version)
    else:
        _copy_postgres(conn, track_id, hashes, frames, fp.version)
    upsert(conn, fingerprint_sets, [dict(
        track_id=track_id, version=fp.version, hash_count=int(hashes.size), audio_seconds=float(audio_seconds),
        audio_sha256=audio_sha256, created_at=utcnow(),
    )], keys=["track_id", "version"])


def _checked_arrays(fp: Fingerprint) -> tuple[np.ndarray, np.ndarray]:
    hashes, frames = np.asarray(fp.hashes), np.asarray(fp.offsets)
    if hashes.shape != frames.shape or hashes.ndim != 1:
        raise ValueError(f"fingerprint arrays differ: {hashes.shape} hashes, {frames.shape} offsets")
    for name, values in (("hash", hashes), ("offset", frames)):
        if values.size and (int(values.min()) < 0 or int(values.max()) > INT4_MAX):
            raise ValueError(f"a fingerprint {name} is outside 0..{INT4_MAX}")
    return hashes.astype(np.int32), frames.astype(np.int32)


def _insert_sqlite(conn: Connection, track_id: int, hashes: np.ndarray, frames: np.ndarray, version: int) -> None:
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        rows = zip(hashes.tolist(), [track_id] * hashes.size, frames.tolist(), [version] * hashes.size)
        cursor.executemany("INSERT INTO fingerprints (hash, track_id, frame, version) VALUES (?, ?, ?, ?)", rows)
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
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        cursor.copy_expert("COPY fingerprints (hash, track_id, frame, version) FROM STDIN (FORMAT binary)",
                           io.BytesIO(payload))
    finally:
        cursor.close()


def make_lookup(conn: Connection, *, version: int = FINGERPRINT_VERSION, batch_size: int | None = None) -> Lookup:
    """Given a connection, return a ``zamio.match.Lookup``: int32 hashes -> every stored
    (hash, track_id, frame) row of ``version`` with one of those hashes, as three int32
    arrays.  ``batch_size`` hashes go in one statement (default per database)."""
    sqlite = is_sqlite(conn)
    size = batch_size or (LOOKUP_BATCH_SQLITE if sqlite else LOOKUP_BATCH_POSTGRES)
    fetch = _fetch_sqlite if sqlite else _fetch_postgres

    def lookup(hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        parts = [fetch(conn, chunk, version) for chunk in _chunks(np.unique(hashes), size)]
        if not parts:
            empty = np.zeros(0, np.int32)
            return empty, empty, empty
        return tuple(np.concatenate([p[i] for p in parts]) for i in range(3))  # type: ignore[return-value]

    return lookup


def make_fetch(conn: Connection, *, version: int = FINGERPRINT_VERSION) -> Fetch:
    """Given a connection, return a ``zamio.match.Fetch``: int32 track ids -> every stored
    (hash, track_id, frame) row of ``version`` of those tracks, as three int32 arrays."""
    fetch = _fetch_tracks_sqlite if is_sqlite(conn) else _fetch_tracks_postgres

    def fetch_tracks(track_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return fetch(conn, np.unique(np.asarray(track_ids, np.int64)), version)

    return fetch_tracks


def _chunks(values: np.ndarray, size: int) -> Iterator[np.ndarray]:
    for start in range(0, values.size, size):
        yield values[start:start + size]


# Planner settings for the lookup, set for its statement only.  The hashes come as a
# constant array of ~10,000 sorted values: with ``= ANY(array)`` the planner spends more
# time estimating the selectivity of each element than the query takes to run, and with
# a join it may pick a hash join that reads the whole table.  One index probe per hash
# (a nested loop over the sorted array) is right from ten tracks to a million; JIT
# compilation, which large estimated costs would trigger, only adds latency here.
_LOOKUP_SETTINGS = ("enable_hashjoin", "enable_mergejoin", "jit")
_SET_FOR_LOOKUP = "; ".join(f"SET LOCAL {name} = off" for name in _LOOKUP_SETTINGS)
_RESET_AFTER_LOOKUP = "; ".join(f"SET LOCAL {name} TO DEFAULT" for name in _LOOKUP_SETTINGS)


#: The condition of the partial hash index on PostgreSQL (sql/0011_fingerprints_track_btree.sql),
#: repeated in every lookup so that the planner may use the index (and on SQLite, so that
#: both answer alike): version 2 triplets of held notes are never looked up.
LOOKUP_CONDITION = "(f.version <> 2 OR (f.hash >> 11) & 4095 <> 2015)"


def _fetch_postgres(conn: Connection, hashes: np.ndarray, version: int) -> tuple[np.ndarray, ...]:
    # The hashes are our own int32 values, so inlining them is safe; COPY cannot take
    # parameters, and binary COPY out lands in numpy without a Python object per row.
    literal = "{" + ",".join(map(str, hashes.tolist())) + "}"
    return _copy_out(conn, f"SELECT f.hash, f.track_id, f.frame FROM unnest('{literal}'::int4[]) AS q (hash) "
                           f"JOIN fingerprints f ON f.hash = q.hash "
                           f"WHERE f.version = {int(version)} AND {LOOKUP_CONDITION}")


def _fetch_tracks_postgres(conn: Connection, track_ids: np.ndarray, version: int) -> tuple[np.ndarray, ...]:
    literal = "{" + ",".join(map(str, track_ids.tolist())) + "}"
    return _copy_out(conn, f"SELECT hash, track_id, frame FROM fingerprints "
                           f"WHERE track_id = ANY('{literal}'::int4[]) AND version = {int(version)}")


def _copy_out(conn: Connection, select_sql: str) -> tuple[np.ndarray, ...]:
    """Run ``select_sql`` (hash, track_id, frame int4 columns) as a binary COPY and
    return its three columns as int32 arrays."""
    buffer = io.BytesIO()
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        cursor.execute(_SET_FOR_LOOKUP)
        cursor.copy_expert(f"COPY ({select_sql}) TO STDOUT (FORMAT binary)", buffer)
        cursor.execute(_RESET_AFTER_LOOKUP)
    finally:
        cursor.close()
    data = buffer.getvalue()
    rows = np.frombuffer(data, _COPY_OUT_ROW, offset=len(_COPY_SIGNATURE),
                         count=(len(data) - len(_COPY_SIGNATURE) - len(_COPY_TRAILER)) // _COPY_OUT_ROW.itemsize)
    return rows["hash"].astype(np.int32), rows["track"].astype(np.int32), rows["frame"].astype(np.int32)


def _fetch_sqlite(conn: Connection, hashes: np.ndarray, version: int) -> tuple[np.ndarray, ...]:
    return _select_sqlite(conn, f"hash IN ({{marks}}) AND {LOOKUP_CONDITION}", hashes, version)


def _fetch_tracks_sqlite(conn: Connection, track_ids: np.ndarray, version: int) -> tuple[np.ndarray, ...]:
    return _select_sqlite(conn, "track_id IN ({marks})", track_ids, version)


def _select_sqlite(conn: Connection, condition: str, values: np.ndarray, version: int) -> tuple[np.ndarray, ...]:
    where = condition.format(marks=",".join("?" * values.size))
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        cursor.execute(f"SELECT hash, track_id, frame FROM fingerprints f WHERE {where} AND version = ?",
                       [*values.tolist(), int(version)])
        rows = np.array(cursor.fetchall(), np.int32).reshape(-1, 3)
    finally:
        cursor.close()
    return rows[:, 0].copy(), rows[:, 1].copy(), rows[:, 2].copy()


def identify(conn: Connection, samples: np.ndarray) -> MatchResult | None:
    """Given mono float32 samples at ``zamio.audio.ANALYSIS_RATE`` (decode with
    ``zamio.audio``), return the catalog track they are an excerpt of (``track_id`` is
    ``tracks.id``) with offset, speed and confidence, or None if nothing matches.

    Two passes share one lookup cache: first only the hashes of nominal speed (a
    quarter of the query's hashes, so a quarter of the index probes, which dominate
    the time), then, if that finds nothing, every speed hypothesis.  Each pass is a
    complete ``recognise`` with its own chance estimate; the first may answer only
    when it found a full set of ``CANDIDATES``, since fewer rivals understate chance.
    """
    query = query_fingerprint(samples)
    lookup = _CachingLookup(make_lookup(conn))
    fetch = _CachingFetch(make_fetch(conn))
    nominal = int(np.argmin(np.abs(np.log(query.pairs.speeds))))
    first = recognise(Query(_only_speed(query.triplets, nominal), _only_speed(query.pairs, nominal)), lookup, fetch,
                      min_candidates=CANDIDATES)
    return first if first is not None else recognise(query, lookup, fetch)


def _only_speed(query: QueryPrints, speed_index: int) -> QueryPrints:
    keep = query.speed_index == speed_index
    return QueryPrints(query.hashes[keep], query.times[keep], np.zeros(int(keep.sum()), np.int16),
                       query.speeds[speed_index:speed_index + 1], query.duration_seconds)


class _CachingLookup:
    """A ``Lookup`` that asks the database only for hashes it has not fetched yet
    (for the passes of one ``identify`` call)."""

    def __init__(self, lookup: Lookup) -> None:
        self._lookup = lookup
        self._asked = np.zeros(0, np.int32)
        self._rows: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def __call__(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        wanted = np.unique(hashes)
        new = wanted[~np.isin(wanted, self._asked, assume_unique=True)]
        if new.size:
            self._rows.append(tuple(np.asarray(a) for a in self._lookup(new)))  # type: ignore[arg-type]
            self._asked = np.union1d(self._asked, new)
        h, t, f = (np.concatenate([r[i] for r in self._rows]) if self._rows else np.zeros(0, np.int32)
                   for i in range(3))
        keep = np.isin(h, wanted)
        return h[keep], t[keep], f[keep]


class _CachingFetch:
    """A ``Fetch`` that asks the database only for tracks it has not fetched yet (for
    the passes of one ``identify`` call)."""

    def __init__(self, fetch: Fetch) -> None:
        self._fetch = fetch
        self._rows: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def __call__(self, track_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        wanted = np.unique(np.asarray(track_ids, np.int64))
        new = np.array([t for t in wanted.tolist() if t not in self._rows], np.int64)
        if new.size:
            h, t, f = self._fetch(new)
            order = np.argsort(t, kind="stable")
            h, t, f = h[order], t[order], f[order]
            starts = np.searchsorted(t, new, "left")
            ends = np.searchsorted(t, new, "right")
            for track, lo, hi in zip(new.tolist(), starts.tolist(), ends.tolist(), strict=True):
                self._rows[track] = (h[lo:hi], t[lo:hi], f[lo:hi])
        parts = [self._rows[t] for t in wanted.tolist()]
        if not parts:
            empty = np.zeros(0, np.int32)
            return empty, empty, empty
        return tuple(np.concatenate([p[i] for p in parts]) for i in range(3))  # type: ignore[return-value]
