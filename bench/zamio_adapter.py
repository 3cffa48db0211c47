"""zamio under the shared fingerprinting benchmark (``shared/bench/run_bench.py``).

    python3 /work/shared/bench/run_bench.py --system bench.zamio_adapter:ZamioFingerprinter \\
        --corpus /work/corpus --workdir /tmp/zw --out results/zamio_dev.json
    python3 /work/shared/bench/run_bench.py --system bench.zamio_adapter:ZamioDatabaseFingerprinter \\
        --param database=postgresql://postgres@127.0.0.1:5432/postgres ...

run from the repository root (so ``bench`` and ``zamio`` import).

* ``ZamioFingerprinter``: the engine alone, index in memory (``zamio.recognition.match.ArrayIndex``).
* ``ZamioDatabaseFingerprinter``: the real thing.  Tracks are rows of ``tracks``, their
  fingerprints are stored by ``zamio.recognition.index.store_fingerprints`` (one transaction
  per track) in a freshly migrated database, and each query is
  ``zamio.recognition.index.identify`` on one warm connection with one ``PairCache`` of
  ``cache_mb`` (default 256, as a scan run; 0 keeps nothing between queries).  ``database`` is a
  ``sqlite:///`` URL (the file is created in the workdir; its size is the index size) or
  a PostgreSQL server URL (a scratch database is created on it and dropped at the end;
  the index size is ``pg_total_relation_size('fingerprints')``, indexes included, and
  the server backend's CPU is counted in indexing CPU).
"""

from __future__ import annotations

import os
import sys
import uuid

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.environ.get("SHARED_BENCH", "/work/shared/bench"))

from adapters import Fingerprinter  # noqa: E402

from zamio.db.url import SQLITE, parse_database_url  # noqa: E402
from zamio.recognition import audio, fingerprint, match  # noqa: E402
from zamio.recognition.query import QUERY_PROFILE, query_fingerprint  # noqa: E402

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class ZamioFingerprinter(Fingerprinter):
    """zamio's engine: decode with ``zamio.recognition.audio``, index side ``fingerprint``, query
    side ``query_fingerprint`` + ``match.recognise``."""

    name = "zamio"
    warm = True

    def __init__(self, workdir, **params):
        super().__init__(workdir, **params)
        self.store = match.ArrayIndex()
        self.paths: list[str] = []

    def version(self):
        return f"fingerprint v{fingerprint.FINGERPRINT_VERSION}"

    def config(self):
        return {"rate": audio.ANALYSIS_RATE, "index": vars(fingerprint.INDEX_PROFILE),
                "query": vars(QUERY_PROFILE), **self.params}

    def index(self, paths):
        for track_id, path in enumerate(paths):
            fp = fingerprint.fingerprint(audio.decode_file(path))
            self.store.add(track_id, fp.hashes, fp.offsets)
            self.paths.append(path)
        h, t, o = self.store.rows()
        np.stack([h, t, o], axis=1).astype("<i4").tofile(os.path.join(self.workdir, "rows.i4"))

    def query(self, path):
        q = query_fingerprint(audio.decode_file(path))
        result = match.recognise(q, self.store.lookup, match.pairs_from(self.store.fetch))
        if result is None:
            return None, 0.0
        return self.paths[result.track_id], result.evidence


class ZamioDatabaseFingerprinter(ZamioFingerprinter):
    """zamio through its database layer (``zamio.recognition.index``) on SQLite or PostgreSQL."""

    def __init__(self, workdir, database="sqlite", cache_mb="256", **params):
        super().__init__(workdir, database=database, cache_mb=cache_mb, **params)
        from zamio.recognition.index import pair_cache

        # As a scan run keeps it: the candidates' pair rows of recent queries (0 MB: none kept).
        self.cache = pair_cache(int(cache_mb))
        self.url, self.scratch = scratch_database(database, workdir)
        self.database = parse_database_url(self.url)
        self.name = "zamio-" + self.database.kind
        from zamio.db.engine import open_engine
        from zamio.runtime.migrate import migrate

        self.engine = open_engine(self.url)
        migrate(self.engine, recognition_migrations(workdir))
        self.conn = self.engine.connect()
        self.track_paths: dict[int, str] = {}

    def config(self):
        return {**super().config(), "database": self.name}

    def index(self, paths):
        from zamio.recognition.index import store_fingerprints

        # Everything on the one connection whose server backend extra_cpu_seconds reads.
        with self.conn.begin():
            ids = add_bench_tracks(self.conn, paths)
        for path, track_id in zip(paths, ids, strict=True):
            samples = audio.decode_file(path)
            fp = fingerprint.fingerprint(samples)
            with self.conn.begin():
                store_fingerprints(self.conn, track_id, fp, "0" * 64, samples.size / audio.ANALYSIS_RATE)
            self.track_paths[track_id] = path
        analyse(self.engine)
        self.maintain()

    def maintain(self):
        """Do what the nightly ``cleanup-old-fingerprints`` does to the index (rebuild the
        hash index once inserts track by track have left it sparse) and say what it gave."""
        from zamio.recognition.hash_index import maintain_hash_index

        before = self.index_size_bytes()
        state = maintain_hash_index(self.engine)
        if state.action:
            analyse(self.engine)
            print(f"[{self.name}] hash index {state.density:.0%} full, {state.action} by the nightly maintenance: "
                  f"{before} -> {self.index_size_bytes()} bytes", file=sys.stderr, flush=True)

    def query(self, path):
        from zamio.recognition.index import identify

        samples = audio.decode_file(path)
        with self.conn.begin():
            result = identify(self.conn, samples, self.cache)
        if result is None:
            return None, 0.0
        return self.track_paths.get(result.track_id), result.evidence

    def index_size_bytes(self):
        return index_bytes(self.engine)

    def extra_cpu_seconds(self):
        """CPU seconds of this connection's PostgreSQL backend (same machine), else 0."""
        if self.database.is_sqlite:
            return 0.0
        pid = self.conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        self.conn.rollback()
        return backend_cpu_seconds(pid)

    def close(self):
        self.conn.close()
        self.engine.dispose()
        if self.scratch:
            drop_database(self.scratch)


def recognition_migrations(workdir: str):
    """Return a folder holding the migrations that make the fingerprint tables (0001,
    0002, 0008, 0011, 0014, 0031, 0032): all the benchmark needs, and independent of other stages' schema work."""
    import shutil
    from pathlib import Path

    from zamio.runtime.install import data_path

    sql_dir = data_path("sql")
    folder = Path(workdir) / "sql"
    folder.mkdir(exist_ok=True)
    for path in sorted([*sql_dir.glob("000[128]_*.sql"), *sql_dir.glob("001[14]_*.sql"),
                        *sql_dir.glob("0031_packed_fingerprint_sets.sql"),
                        *sql_dir.glob("0032_fingerprint_lookup_per_hash.sql")]):
        shutil.copy(path, folder / path.name)
    return folder


def scratch_database(database: str, workdir: str) -> tuple[str, tuple[str, str] | None]:
    """Return (URL of a fresh database, (server URL, name) to drop later or None)."""
    if database == SQLITE or parse_database_url(database, "database").is_sqlite:
        path = os.path.join(workdir, "zamio.db")
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.remove(path + suffix)
        return f"sqlite:///{path}", None
    import psycopg2

    name = f"{os.environ.get('BENCH_DATABASE_PREFIX', 'zamio_bench')}_{uuid.uuid4().hex[:10]}"
    server = parse_database_url(database, "database")
    admin = psycopg2.connect(server.libpq_dsn)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    return server.with_database(name).text, (database, name)


def drop_database(scratch: tuple[str, str]) -> None:
    import psycopg2

    server, name = scratch
    admin = psycopg2.connect(parse_database_url(server, "database").libpq_dsn)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def add_bench_tracks(conn, paths) -> list[int]:
    """Insert one track per path (artist "bench"); return their ids in order."""
    from zamio.catalog.imports import upsert_track

    return [upsert_track(conn, {"track_ref": f"bench-{i}", "title": os.path.basename(p), "artist": "bench",
                                "audio_path": p}, os.path.dirname(p)) for i, p in enumerate(paths)]


def analyse(engine) -> None:
    """Refresh planner statistics (PostgreSQL: VACUUM ANALYZE, so the visibility map is
    set as autovacuum would; SQLite: ANALYZE)."""
    if engine.dialect.name == "sqlite":
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE fingerprints")


def index_bytes(engine) -> int:
    """PostgreSQL: pg_total_relation_size of fingerprints and fingerprint_sets (heaps,
    indexes, maps, and the packed sets in TOAST).
    SQLite: the database file after a WAL checkpoint (every table, mostly fingerprints)."""
    if engine.dialect.name == "sqlite":
        raw = engine.raw_connection()  # outside any transaction: a checkpoint cannot run inside one
        try:
            raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()
        return os.path.getsize(engine.url.database)
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT pg_total_relation_size('fingerprints') "
                                        "+ pg_total_relation_size('fingerprint_sets')").scalar())


def evict(engine) -> None:
    """Drop the database's files from the operating system's page cache (PostgreSQL on this
    machine), so that the next query reads its pages from disk: a cold query.  Written
    pages are flushed first (CHECKPOINT), as the kernel keeps dirty pages.  The server's
    own shared buffers (128 MB here) cannot be emptied without a restart."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("CHECKPOINT")
        folder = conn.exec_driver_sql(
            "SELECT current_setting('data_directory') || '/base/' || oid FROM pg_database "
            "WHERE datname = current_database()").scalar()
    for name in os.listdir(folder):
        fd = os.open(os.path.join(folder, name), os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def backend_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a local process (PostgreSQL backend), from /proc."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
