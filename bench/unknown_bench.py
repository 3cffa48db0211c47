"""What the unknown index adds to a scan's capture, and whether repeated songs become one recording each.

    nice -n 10 python3 bench/unknown_bench.py                      # SQLite in a scratch folder
    nice -n 10 python3 bench/unknown_bench.py --database-url postgresql://…/postgres   # a scratch database

A catalog of generated songs (``zamio.demo.synth``) is fingerprinted into a fresh database;
then captures of other generated songs, each aired ``--airings`` times at different points of
the song, are heard as a stream capture is: MP3 128 kbit/s decoded by zamio's decoder, matched
against the catalog (nothing found), judged music, recorded.  Each capture is heard twice in
one run, by the same code: once as before the unknown index (no prints, nothing stored for
it) and once as now (its prints computed and stored with the capture).  The difference is
the cost the hot path pays per capture of unknown music; filing (done once per run, after the
captures) is timed apart.  It prints the two costs, their ratio, and how many unknown
recordings the filing made against how many songs were aired more than once.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from zamio.catalog.imports import upsert_station, upsert_track  # noqa: E402
from zamio.db.engine import open_engine  # noqa: E402
from zamio.db.tables import unknown_captures, unknown_recordings  # noqa: E402
from zamio.db.url import parse_database_url  # noqa: E402
from zamio.demo import synth  # noqa: E402
from zamio.recognition import audio, fingerprint, unknown  # noqa: E402
from zamio.recognition.index import store_fingerprints  # noqa: E402
from zamio.scanning.hearing import Recogniser  # noqa: E402
from zamio.scanning.records import CaptureFacts, file_unknown, record_capture  # noqa: E402

CAPTURE_SECONDS = 20.0
SONG_SECONDS = 120.0


def mp3_of(samples: np.ndarray, folder: Path, name: str) -> bytes:
    wav, mp3 = folder / f"{name}.wav", folder / f"{name}.mp3"
    synth.write_wav(wav, samples)
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", str(wav), "-c:a", "libmp3lame",
                    "-b:a", "128k", str(mp3)], check=True)
    return mp3.read_bytes()


def database(url: str | None, folder: Path) -> str:
    if url is None:
        target = f"sqlite:///{folder / 'zamio.db'}"
    else:
        import psycopg2

        name = f"zamio_unknown_bench_{int(time.time())}"
        admin = parse_database_url(url, "--database-url")
        conn = psycopg2.connect(admin.libpq_dsn)
        conn.autocommit = True
        conn.cursor().execute(f'CREATE DATABASE "{name}"')
        conn.close()
        target = admin.with_database(name).text
    subprocess.run([sys.executable, str(ROOT / "bin" / "migrate"), "-q"], check=True,
                   env={**os.environ, "DATABASE_URL": target}, stdout=subprocess.DEVNULL)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="a PostgreSQL admin URL (a scratch database is created)")
    parser.add_argument("--catalog", type=int, default=30, help="songs in the catalog")
    parser.add_argument("--songs", type=int, default=12, help="songs on air the catalog lacks")
    parser.add_argument("--airings", type=int, default=3, help="captures of each such song")
    parser.add_argument("--once", type=int, default=6, help="more songs the catalog lacks, heard once")
    parser.add_argument("-v", "--verbose", action="store_true", help="list each recording's captures and songs")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="zamio-unknown-bench-"))
    url = database(args.database_url, folder)
    engine = open_engine(url)
    with engine.begin() as conn:
        station_id = upsert_station(conn, {"station_ref": "bench", "name": "Bench FM", "station_class": "class_b"})
        for seed in range(1000, 1000 + args.catalog):
            samples = audio.resample(synth.song(seed, SONG_SECONDS), synth.SYNTH_RATE)
            track = upsert_track(conn, {"track_ref": f"c{seed}", "title": f"Song {seed}", "artist": "Bench"}, folder)
            store_fingerprints(conn, track, fingerprint.fingerprint(samples), str(seed), SONG_SECONDS)
    rng = np.random.default_rng(5)
    captures: list[tuple[int, bytes]] = []  # (song seed, mp3 of one capture)
    plan = [(seed, args.airings) for seed in range(2000, 2000 + args.songs)]
    plan += [(seed, 1) for seed in range(3000, 3000 + args.once)]
    for seed, airings in plan:
        song = synth.song(seed, SONG_SECONDS)
        for n in range(airings):
            start = float(rng.uniform(0, SONG_SECONDS - CAPTURE_SECONDS))
            part = song[int(start * synth.SYNTH_RATE):int((start + CAPTURE_SECONDS) * synth.SYNTH_RATE)]
            captures.append((seed, mp3_of(part, folder, f"s{seed}-{n}")))
    recogniser = Recogniser(engine, None, cpu_slots=1)
    at = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    costs: dict[str, list[float]] = {"before": [], "now": []}
    seed_of: dict[int, int] = {}  # capture id -> song seed
    skipped: dict[int, str] = {}  # song seed -> what one of its captures was heard as, when not unknown music
    for index, (seed, mp3) in enumerate(captures):
        # The two hearings differ in two steps only: the prints of a no-match judged music, and
        # storing them with the capture.  Hear once (as now), time the prints on the same samples,
        # and record the capture both ways (the "before" copy keyed a second later, without prints).
        began = time.perf_counter()
        heard = recogniser.hear(mp3, "mp3", f"capture {index}", CAPTURE_SECONDS + 5)
        hearing = time.perf_counter() - began
        if heard.outcome != "no_match" or heard.content != "music":  # the catalog's matcher erred, or the judge
            skipped[seed] = f"{heard.outcome}/{heard.content}"
            continue
        samples = audio.decode_bytes(mp3, format_hint="mp3", name="again", max_seconds=CAPTURE_SECONDS + 5)
        began = time.perf_counter()
        unknown.prints(samples)
        printing = time.perf_counter() - began
        recording = {}
        for mode, kept in (("now", heard), ("before", replace(heard, prints=None))):
            moment = at + timedelta(minutes=4 * index, seconds=0 if mode == "now" else 1)
            facts = CaptureFacts(station_id, "stream", moment, mp3, codec="mp3", stream_link_id=None)
            began = time.perf_counter()
            with engine.begin() as conn:
                capture_id, _ = record_capture(conn, facts, kept)
            recording[mode] = time.perf_counter() - began
            seed_of[capture_id] = seed
        costs["now"].append(hearing + recording["now"])
        costs["before"].append(hearing - printing + recording["before"])
    began = time.perf_counter()
    while True:
        with engine.begin() as conn:
            processed, _ = file_unknown(conn)
        if not processed:
            break
    filing = time.perf_counter() - began
    with engine.connect() as conn:
        made = conn.execute(select(func.count()).select_from(unknown_recordings)).scalar_one()
        groups = conn.execute(select(unknown_captures.c.unknown_id, unknown_captures.c.capture_id,
                                     unknown_captures.c.aligned)
                              .where(unknown_captures.c.unknown_id.is_not(None))).all()
    engine.dispose()
    before, now = float(np.median(costs["before"])), float(np.median(costs["now"]))
    songs_of: dict[int, set[int]] = {}
    recordings_of: dict[int, set[int]] = {}
    for recording_id, capture_id, _ in groups:
        songs_of.setdefault(recording_id, set()).add(seed_of[capture_id])
        recordings_of.setdefault(seed_of[capture_id], set()).add(recording_id)
    pure = sum(len(songs) == 1 for songs in songs_of.values())
    if args.verbose:
        for recording_id, capture_id, aligned in sorted(groups):
            print(recording_id, capture_id, seed_of[capture_id], aligned, file=sys.stderr)
    whole = sum(len(ids) == 1 for seed, ids in recordings_of.items() if seed < 3000)
    print(json.dumps({
        "database": "postgresql" if args.database_url else "sqlite", "captures": len(captures),
        "median_capture_seconds_before": round(before, 4), "median_capture_seconds_now": round(now, 4),
        "added_per_capture_seconds": round(now - before, 4), "ratio": round(now / before, 3),
        "filing_seconds_per_capture": round(filing / len(captures), 4),
        "songs_aired_more_than_once": args.songs, "unknown_recordings_made": made,
        "captures_in_unknown_recordings": len(groups),
        "recordings_of_one_song": pure,  # precision: the others mix songs
        "songs_in_exactly_one_recording": whole,  # recall: of the songs aired more than once
        "songs_heard_once_made_recordings": sum(seed >= 3000 for seed in recordings_of),
        "captures_not_heard_as_unknown_music": skipped,
    }))


if __name__ == "__main__":
    main()
