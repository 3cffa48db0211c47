#!/usr/bin/env python3
"""Royalty engine benchmark on PostgreSQL: price and split a million plays, then close a cycle.

Creates a scratch database, bulk-loads 200 stations, 20,000 tracks (local works
with 1-3 contributors, some through publishers, some with bad shares, some
foreign works under agreements) and N plays over one month with COPY, then:

1. a row-by-row baseline on a sample (one play per transaction, one query per
   contributor and publisher, one INSERT per line, as the upstream calculator
   did) into a scratch table, extrapolated to plays per second;
2. ``price_pending`` (the hourly job's function) over every play, with ``--workers``
   batches at once as the job does (default 2);
3. ``close_cycle`` + ``write_files`` (bin/process-royalty-cycle) over the month.

Prints the figures; asserts nothing.  Heavy: run it alone.

    python3 bench/royalty_bench.py                       # 1,000,000 plays
    python3 bench/royalty_bench.py --plays 50000 --keep  # smaller, keep the database
"""

from __future__ import annotations

import argparse
import io
import random
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from zamio.db import open_engine, transaction  # noqa: E402
from zamio.migrate import migrate  # noqa: E402
from zamio.money import allocate, round_units  # noqa: E402
from zamio.royalties.calculate import BATCH_PLAYS, WORKERS  # noqa: E402

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
CLASSES = ["class_a", "class_b", "class_c", "online", "community"]
MONTH_START = datetime(2026, 3, 1, tzinfo=timezone.utc)


def copy(conn, table: str, columns: list[str], rows) -> None:  # noqa: ANN001
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join("\\N" if v is None else str(v) for v in row) + "\n")
    buffer.seek(0)
    cursor = conn.connection.dbapi_connection.cursor()
    cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", buffer)
    cursor.close()


def generate(engine, plays: int, seed: int = 7) -> None:  # noqa: ANN001
    rng = random.Random(seed)
    now = "2026-01-01 00:00:00+00"
    with engine.begin() as conn:
        copy(conn, "stations", ["station_ref", "name", "station_class", "timezone", "country", "created_at"],
             [(f"st{i}", f"Station {i}", CLASSES[i % 5], "Africa/Lagos" if i % 10 == 0 else "Africa/Accra", "GH",
               now) for i in range(1, 201)])
        copy(conn, "publishers", ["publisher_ref", "name", "created_at"],
             [(f"pub{i}", f"Publisher {i}", now) for i in range(1, 201)])
        copy(conn, "artists", ["artist_ref", "name", "publisher_id", "created_at"],
             [(f"art{i}", f"Artist {i}", (i % 200) + 1 if i % 4 == 0 else None, now) for i in range(1, 5001)])
        societies = dict(conn.execute(text("SELECT code, id FROM partner_societies")).all())
        foreign = [societies[c] for c in ("052", "010", "021", "058")]
        conn.execute(text("INSERT INTO reciprocal_agreements (society_id, territory, admin_fee_percent, "
                          "effective_from, status, created_at) VALUES (:s, 'GH', 15, '2025-01-01', 'active', now())"),
                     [{"s": s} for s in foreign[:3]])  # SACEM has no agreement: its plays go to suspense
        tracks, shares = [], []
        for t in range(1, 20001):
            society = foreign[t % 4] if t % 10 == 0 else None
            tracks.append((f"t{t}", f"Track {t}", rng.randint(1, 5000), society, f"GHA12{t:07d}", now, now))
            if society is None and t % 5 != 0:
                n = 1 + t % 3
                parts = [Decimal(100) / n] * n if n != 3 else [Decimal("33.33"), Decimal("33.33"), Decimal("33.34")]
                if t % 50 == 1:
                    parts[0] -= 10  # bad shares
                for k, part in enumerate(parts):
                    shares.append((t, f"party{(t * 7 + k) % 30000}", f"Writer {k}", "composer", part,
                                   (t + k) % 200 + 1 if (t + k) % 3 == 0 else None, now))
        copy(conn, "tracks", ["track_ref", "title", "artist_id", "society_id", "isrc", "created_at", "updated_at"],
             tracks)
        copy(conn, "contributors", ["track_id", "party_ref", "name", "role", "share_percent", "publisher_id",
                                    "created_at"], shares)
    seconds_in_month = 31 * 86400
    for start in range(0, plays, 200_000):
        with engine.begin() as conn:
            rows = []
            for i in range(start + 1, min(plays, start + 200_000) + 1):
                at = MONTH_START + timedelta(seconds=rng.randrange(seconds_in_month))
                track = rng.randint(1, 20000)
                rows.append((f"play{i}", 1, rng.randint(1, 200), track, f"track:{track}", "local", at.isoformat(),
                             at.isoformat(), rng.choice((5, 30, 120, 180, 200, 240, 300)), "final",
                             round(rng.uniform(0.3, 1.0), 3), now))
            copy(conn, "play_logs", ["play_key", "version", "station_id", "track_id", "recording_key", "source",
                                     "started_at", "ended_at", "duration_seconds", "status", "confidence_avg",
                                     "created_at"], rows)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))


BASELINE_PERIODS = [(0, 6, "off_peak"), (6, 10, "prime"), (10, 16, "regular"), (16, 20, "prime"),
                    (20, 24, "regular")]


def baseline(engine, sample: int) -> float:  # noqa: ANN001
    """Row by row, as the upstream calculator: a transaction per play, a query per contributor; plays/s."""
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE bench_baseline_ledger (LIKE royalty_ledger INCLUDING ALL)"))
        ids = list(conn.execute(text("SELECT id FROM play_logs ORDER BY id LIMIT :n"), {"n": sample}).scalars())
    started = time.perf_counter()
    for play_id in ids:
        with engine.begin() as conn:
            play = conn.execute(text("SELECT * FROM play_logs WHERE id = :i"), {"i": play_id}).one()
            station = conn.execute(text("SELECT * FROM stations WHERE id = :i"), {"i": play.station_id}).one()
            hour = play.started_at.hour
            period = next(p for a, b, p in BASELINE_PERIODS if a <= hour < b)
            card = conn.execute(text("SELECT * FROM rate_cards WHERE station_class = :c AND period = :p"),
                                {"c": station.station_class, "p": period}).one()
            gross = round_units(card.rate_per_second * card.multiplier * Decimal(str(play.duration_seconds)))
            people = conn.execute(text("SELECT id FROM contributors WHERE track_id = :t ORDER BY id"),
                                  {"t": play.track_id}).scalars().all()
            parts = []
            for cid in people:  # one query per contributor, one for its publisher
                c = conn.execute(text("SELECT * FROM contributors WHERE id = :i"), {"i": cid}).one()
                if c.publisher_id:
                    conn.execute(text("SELECT * FROM publishers WHERE id = :i"), {"i": c.publisher_id}).one()
                parts.append(c)
            amounts = allocate(gross, [p.share_percent for p in parts]) if parts else [gross]
            refs = [p.party_ref for p in parts] or ["artist"]
            for ref, amount in zip(refs, amounts):
                conn.execute(text(
                    "INSERT INTO bench_baseline_ledger (entry_key, play_id, version, kind, recipient_type, "
                    "recipient_ref, amount, currency, seconds, created_at) VALUES "
                    "(:k, :p, 1, 'share', 'contributor', :r, :a, 'GHS', :s, now())"),
                    {"k": f"b{play_id}:{ref}", "p": play_id, "r": ref, "a": amount, "s": play.duration_seconds})
    return len(ids) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plays", type=int, default=1_000_000)
    parser.add_argument("--baseline-sample", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=WORKERS,
                        help=f"batches priced at once, as the job's --workers (default {WORKERS})")
    parser.add_argument("--batch-size", type=int, default=BATCH_PLAYS,
                        help=f"plays per pricing transaction, as the job's --batch-size (default {BATCH_PLAYS})")
    parser.add_argument("--admin-url", default=ADMIN_URL)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()
    name = f"royaltybench_{uuid.uuid4().hex[:8]}"
    admin = open_engine(args.admin_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(args.admin_url).set(database=name).render_as_string(hide_password=False)
    engine = open_engine(url)
    try:
        run(engine, args)
    finally:
        engine.dispose()
        if not args.keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        else:
            print(f"kept database {url}")


def run(engine, args) -> None:  # noqa: ANN001
    from zamio.royalties.calculate import price_pending
    from zamio.royalties.cycle import CycleSpec, close_cycle, report_lines, write_files

    migrate(engine)
    t0 = time.perf_counter()
    generate(engine, args.plays)
    print(f"generated {args.plays:,} plays, 200 stations, 20,000 tracks in {time.perf_counter() - t0:.1f} s")
    base = baseline(engine, args.baseline_sample)
    print(f"baseline (row by row, sample of {args.baseline_sample:,}): {base:,.0f} plays/s "
          f"→ {args.plays / base / 60:,.1f} min extrapolated for {args.plays:,}")
    t0 = time.perf_counter()
    stats = price_pending(lambda: transaction(engine), "bench", workers=args.workers, batch_size=args.batch_size)
    priced = time.perf_counter() - t0
    rate = args.plays / priced
    print(f"set-based pricing ({args.workers} workers, batches of {args.batch_size:,}): {args.plays:,} plays in "
          f"{priced:.1f} s = {rate:,.0f} plays/s ({rate / base:,.0f}× the baseline); {', '.join(stats.phrases())}")
    with engine.connect() as conn:
        lines = conn.execute(text("SELECT count(*) FROM royalty_ledger")).scalar()
    print(f"ledger lines written: {lines:,}")
    out = Path(tempfile.mkdtemp(prefix="zamio-cycle-"))
    t0 = time.perf_counter()
    with transaction(engine) as conn:
        cycle, found = close_cycle(conn, CycleSpec("2026-03", date(2026, 3, 1), date(2026, 3, 31)), "bench", out)
    closed = time.perf_counter() - t0
    with transaction(engine, read_only=True) as conn:
        write_files(conn, cycle, out)
    total = time.perf_counter() - t0
    print("\n".join(report_lines(cycle, found)))
    files = sum(1 for p in out.rglob("*") if p.is_file())
    print(f"cycle closed (locked, line items, remittances) in {closed:.1f} s; with its {files:,} files in "
          f"{total:.1f} s ({out})")


if __name__ == "__main__":
    main()
