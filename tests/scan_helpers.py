"""Set-up shared by the scanning tests: catalog songs encoded as radio stations serve
them, a fingerprinted catalog in the test database, stations and their stream links."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import insert, select, update

from tests.streamserver import encode, hls_ts_segments, streaming_wav_header
from tests.support import Project
from zamio.catalog.imports import upsert_station, upsert_track
from zamio.db.engine import utcnow
from zamio.db.tables import (
    captures,
    coverage_gaps,
    stations,
    stream_links,
)
from zamio.demo import synth
from zamio.recognition import audio, fingerprint
from zamio.recognition.index import store_fingerprints
from zamio.scanning.snippets import SETTLE_SECONDS

CATALOG_SEEDS = (31, 32, 33)  # songs in the catalog
UNKNOWN_SEEDS = (41, 42, 43)  # songs on air that the catalog does not hold
SONG_SECONDS = 20.0
CAPTURE_SECONDS = "6"


@dataclass(frozen=True)
class Song:
    seed: int
    samples: object  # float32 at synth.SYNTH_RATE
    mp3: bytes
    wav: bytes


@dataclass(frozen=True)
class ScanAudio:
    """Encoded songs: every song as MP3 128k and WAV; the first catalog song also as
    AAC, Ogg Vorbis and HLS MPEG-TS segments; plus an MP3 of digital silence."""

    songs: dict[int, Song]
    aac: bytes
    ogg: bytes
    hls_segments: tuple[bytes, ...]
    hls_durations: tuple[float, ...]
    silence_mp3: bytes
    folder: Path

    def mp3(self, seed: int) -> bytes:
        return self.songs[seed].mp3

    def wav_stream(self, seed: int) -> tuple[bytes, bytes]:
        """(header, body) of an endless WAV stream of the song."""
        wav = self.songs[seed].wav
        return streaming_wav_header(wav[:44]), wav[44:]


@pytest.fixture(scope="session")
def scan_audio(tmp_path_factory: pytest.TempPathFactory) -> ScanAudio:
    folder = tmp_path_factory.mktemp("scan-audio")
    songs = {}
    for seed in CATALOG_SEEDS + UNKNOWN_SEEDS:
        samples = synth.song(seed, seconds=SONG_SECONDS)
        wav = folder / f"song{seed}.wav"
        synth.write_wav(wav, samples)
        mp3 = encode(wav, folder / f"song{seed}.mp3", "-c:a", "libmp3lame", "-b:a", "128k")
        songs[seed] = Song(seed, samples, mp3, wav.read_bytes())
    first = folder / f"song{CATALOG_SEEDS[0]}.wav"
    segments, durations = hls_ts_segments(first, folder / "hls")
    silence = folder / "silence.wav"
    synth.write_wav(silence, synth.song(1, seconds=8.0) * 0.0)
    return ScanAudio(
        songs=songs,
        aac=encode(first, folder / "first.aac", "-c:a", "aac", "-b:a", "64k", "-f", "adts"),
        ogg=encode(first, folder / "first.ogg", "-c:a", "libvorbis", "-q:a", "3"),
        hls_segments=segments, hls_durations=durations,
        silence_mp3=encode(silence, folder / "silence.mp3", "-c:a", "libmp3lame", "-b:a", "128k"),
        folder=folder,
    )


@pytest.fixture(scope="session")
def catalog_prints(scan_audio: ScanAudio) -> dict[int, fingerprint.Fingerprint]:
    """The index fingerprint of each catalog song, computed once."""
    return {seed: fingerprint.fingerprint(audio.resample(scan_audio.songs[seed].samples, synth.SYNTH_RATE))
            for seed in CATALOG_SEEDS}


def seed_catalog(project: Project, prints: dict[int, fingerprint.Fingerprint]) -> dict[int, int]:
    """Store a track per catalog song, by Test Artist, as ``bin/import-catalog`` stores one (its own row
    writer), with the song's fingerprints as the fingerprinting job stores them; return seed -> track id.

    Written in this process: the prints are computed once per session, and the scan tests need the
    rows before their first scan, not the cost of two more scripts each."""
    track_ids = {}
    with project.engine.begin() as conn:
        for seed, fp in prints.items():
            track_id = upsert_track(conn, {"track_ref": f"song-{seed}", "title": f"Song {seed}",
                                           "artist": "Test Artist", "isrc": f"GHA12600{seed:04d}"}, project.tmp_path)
            store_fingerprints(conn, track_id, fp, hashlib.sha256(str(seed).encode()).hexdigest(), SONG_SECONDS)
            track_ids[seed] = track_id
    return track_ids


def add_station(project: Project, ref: str, *urls: str, contact_email: str | None = None) -> list[int]:
    """Store a class B station with its stream links (first = primary, second = backup) as
    ``bin/import-catalog --stations`` stores one (its own row writer); return the link ids."""
    assert len(urls) <= 2, "a station has a primary stream and at most one backup"
    row = {"station_ref": ref, "name": f"Radio {ref}", "station_class": "class_b", "contact_email": contact_email,
           "stream_url": urls[0] if urls else None, "backup_stream_url": urls[1] if len(urls) > 1 else None}
    with project.engine.begin() as conn:
        station_id = upsert_station(conn, row)
        return list(conn.execute(select(stream_links.c.id).where(stream_links.c.station_id == station_id,
                                                                 stream_links.c.active)
                                 .order_by(stream_links.c.priority)).scalars())


def add_station_with_unchecked_link(project: Project, ref: str, url: str) -> int:
    """Store a station as ``add_station`` does, with a stream link the import refuses today (a host name with
    no IDNA form), as a link stored before the import checked host names was left; return the link id.
    The link is written directly: no script writes one any more, and the scan must still refuse it."""
    add_station(project, ref)
    with project.engine.begin() as conn:
        station_id = conn.execute(select(stations.c.id).where(stations.c.station_ref == ref)).scalar_one()
        return conn.execute(insert(stream_links).values(station_id=station_id, url=url, priority=0, created_at=utcnow())
                            .returning(stream_links.c.id)).scalar_one()


def scan(project: Project, *args: str, timeout: float = 90, **env: str) -> subprocess.CompletedProcess[str]:
    """Run one scan tick with short captures on loopback streams."""
    settings = {"SCAN_ALLOW_PRIVATE_ADDRESSES": "true", "SCAN_CAPTURE_SECONDS": CAPTURE_SECONDS, **env}
    return project.script("scan-station-streams", *args, env=project.env(**settings), timeout=timeout)


def captures_by_station(project: Project) -> dict[str, list]:
    """Every capture, grouped by station_ref, oldest first."""
    found = rows(project, select(stations.c.station_ref, captures)
                 .join(stations, stations.c.id == captures.c.station_id).order_by(captures.c.id))
    grouped: dict[str, list] = {}
    for row in found:
        grouped.setdefault(row.station_ref, []).append(row)
    return grouped


def rows(project: Project, statement) -> list:
    """Run a SQLAlchemy Core statement; typed rows (aware datetimes on both databases)."""
    with project.engine.begin() as conn:
        return list(conn.execute(statement))


def link_row(project: Project, ref: str, priority: int = 0):
    """The stream link of station ``ref`` with ``priority``."""
    return rows(project, select(stream_links).join(stations, stations.c.id == stream_links.c.station_id)
                .where(stations.c.station_ref == ref, stream_links.c.priority == priority))[0]


def gap_rows(project: Project) -> list:
    return rows(project, select(coverage_gaps).order_by(coverage_gaps.c.id))


def set_links(project: Project, where=None, **values) -> None:
    """Update stream links (typed values)."""
    statement = update(stream_links).values(**values)
    if where is not None:
        statement = statement.where(where)
    with project.engine.begin() as conn:
        conn.execute(statement)


def make_all_due(project: Project) -> None:
    """What the passing of time does between ticks: every back-off and schedule has run out."""
    set_links(project, next_attempt_at=None, next_due_at=None)


def drop(inbox: Path, name: str, audio: bytes, sidecar: dict | str, sidecar_name: str | None = None,
         settled: bool = True) -> None:
    """Write a snippet as a device does: audio first, then its side-car."""
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / name).write_bytes(audio)
    text = sidecar if isinstance(sidecar, str) else json.dumps(sidecar)
    (inbox / (sidecar_name or name + ".json")).write_text(text)
    # A file still being written is stamped a minute ahead rather than now, so that it
    # stays unsettled however long the scan takes to start on a busy machine.
    stamp = time.time() - SETTLE_SECONDS - 5 if settled else time.time() + 60
    for path in (inbox / name, inbox / (sidecar_name or name + ".json")):
        os.utime(path, (stamp, stamp))
