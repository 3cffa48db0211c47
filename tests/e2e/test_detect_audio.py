"""bin/detect-audio on encoded clips against a catalog stored in the database."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.audio_fixtures import ENCODINGS, excerpt_file, song_files, store_catalog  # noqa: F401
from tests.scan_helpers import rows, scan
from tests.support import Project
from zamio.catalog.imports import upsert_station
from zamio.db.engine import transaction
from zamio.db.tables import captures, detections
from zamio.demo import synth
from zamio.scanning.snippets import SETTLE_SECONDS


@pytest.fixture(scope="module")
def clips(song_files, tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("clips")
    unknown = folder / "unknown.wav"
    synth.write_wav(unknown, synth.song(77, 8.0))
    broken = folder / "broken.aac"
    broken.write_bytes(b"\xff\xf1\x50\x80" + b"\x00\x17" * 300)
    return {
        "mp3": excerpt_file(song_files["song-22"], folder / "clip.mp3", 5.0, 8.0, ENCODINGS["mp3"][1]),
        "aac": excerpt_file(song_files["song-23"], folder / "clip.aac", 9.0, 8.0, ENCODINGS["aac"][1]),
        "unknown": unknown,
        "broken": broken,
    }


def test_json_lines_name_the_track_or_the_error(project: Project, song_files, clips) -> None:
    with transaction(project.engine) as conn:
        store_catalog(conn, song_files)
    files = [str(clips[k]) for k in ("mp3", "aac", "unknown", "broken")] + [str(clips["mp3"]) + ".missing"]
    result = project.script("detect-audio", "--json", *files)
    assert result.returncode == 1, result.stderr  # two files failed; the others were still processed
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["file"] for line in lines] == files
    mp3, aac, unknown, broken, missing = lines
    assert (mp3["match"], mp3["track_ref"], mp3["title"], mp3["artist"], mp3["source"]) == (
        True, "song-22", "Title song-22", "Test Artist", "local")
    assert abs(mp3["offset_seconds"] - 5.0) < 0.2 and abs(mp3["speed"] - 1.0) < 0.01 and mp3["confidence"] > 0.99
    assert aac["match"] and aac["track_ref"] == "song-23" and abs(aac["offset_seconds"] - 9.0) < 0.2
    assert unknown["match"] is False and unknown["error"] is None and unknown["track_ref"] is None
    assert unknown["content"] == "music" and mp3["content"] is None  # only a file that matched nothing is judged
    assert broken["match"] is False and broken["error"] in ("corrupt_audio", "not_audio")
    assert missing["error"] == "audio_missing"
    text = project.script("detect-audio", str(clips["mp3"]), str(clips["unknown"]))
    assert text.returncode == 0
    assert text.stdout.splitlines() == [
        f"{clips['mp3']}: song-22 'Title song-22' by Test Artist at 5.0 s, speed {mp3['speed']:.3f}, "
        f"confidence {mp3['confidence']:.3f}",
        f"{clips['unknown']}: no match (music)",
    ]


def test_record_stores_captures_and_detections_once(project: Project, song_files, clips) -> None:
    with transaction(project.engine) as conn:
        ids = store_catalog(conn, song_files)
        upsert_station(conn, {"station_ref": "peace-fm", "name": "Peace FM", "station_class": "class_a",
                              "stream_url": "http://stream.example/peace"})
    args = ["--record", "--station", "peace-fm", "--at", "2026-03-01T10:00:00+01:00",
            str(clips["mp3"]), str(clips["unknown"]), str(clips["broken"])]
    for _ in range(2):  # recording again changes nothing
        assert project.script("detect-audio", *args).returncode == 1
    captures = project.query("SELECT capture_key, source, outcome, error_reason, started_at, bytes, content "
                             "FROM captures ORDER BY id")
    assert [(c.source, c.outcome, c.content) for c in captures] == [
        ("file", "match", None), ("file", "no_match", "music"), ("file", "error", None)]
    assert captures[0].capture_key.startswith("file:") and captures[0].capture_key.endswith(
        ":peace-fm:2026-03-01T09:00:00+00:00")
    assert captures[2].error_reason in ("corrupt_audio", "not_audio")
    detection = project.query("SELECT track_id, source, offset_seconds, confidence, title FROM detections")
    assert len(detection) == 1
    assert (detection[0].track_id, detection[0].source, detection[0].title) == (
        ids["song-22"], "local", "Title song-22")
    assert abs(detection[0].offset_seconds - 5.0) < 0.2
    naive = project.script("detect-audio", "--record", "--station", "peace-fm", "--at", "2026-03-01T10:00:00",
                           str(clips["mp3"]))
    assert naive.returncode == 2 and "time zone" in naive.stderr
    unknown_station = project.script("detect-audio", "--record", "--station", "nope", "--at", "2026-03-01T10:00Z",
                                     str(clips["mp3"]))
    assert unknown_station.returncode == 65 and "nope" in unknown_station.stderr



def test_recording_again_after_the_catalog_changed_leaves_the_capture_as_it_was(project: Project, song_files,
                                                                                clips) -> None:
    with transaction(project.engine) as conn:
        upsert_station(conn, {"station_ref": "peace-fm", "name": "Peace FM", "station_class": "class_a",
                              "stream_url": "http://stream.example/peace"})
    args = ["--record", "--station", "peace-fm", "--at", "2026-03-01T10:00:00Z", str(clips["mp3"])]
    first = project.script("detect-audio", *args)  # nothing in the catalog yet
    assert first.returncode == 0 and first.stdout.strip().endswith("no match (music)"), first.stderr
    with transaction(project.engine) as conn:
        store_catalog(conn, song_files)
    again = project.script("detect-audio", *args)
    assert again.returncode == 0 and " song-22 " in again.stdout, again.stderr  # recognised now, and printed
    assert [tuple(row) for row in project.query("SELECT outcome FROM captures")] == [("no_match",)]
    assert project.scalar("SELECT count(*) FROM detections") == 0  # no detection under a capture without one


#: A recorded file stays where its owner keeps it (no host deletes it); a snippet's copy is kept by the host
#: that filed it (``audio_host``), which alone may delete it.
WHERE_EACH_CAPTURE_CAME_FROM = ("id", "capture_key", "source", "chunk_id", "audio_path", "audio_host", "created_at")


def test_a_recorded_file_and_the_same_audio_as_a_snippet_fill_the_same_columns(project: Project, song_files,
                                                                                clips, tmp_path: Path) -> None:
    """detect-audio --record and the scanner's snippet inbox write captures and detections with
    one writer: for the same audio heard on the same station at the same time, their rows differ
    only in ids, creation times and where each came from.

    The clips are WAV, which both decode to the same samples.  (An MP3 read from its file has
    its encoder delay trimmed, which the scanner, decoding bytes as they arrive, cannot do: its
    length and offset then differ by those 25 ms, a difference of decoding, not of recording.)"""
    catalog = project.tmp_path / "tracks.csv"
    catalog.write_text("track_ref,title,artist,audio_path,isrc,iswc,album,duration_seconds,society_code\n"
                       f"song-21,Title song-21,Test Artist,{song_files['song-21']},,,,,\n"
                       f"song-22,Title song-22,Test Artist,{song_files['song-22']},GB-AYE-06-01498,T-034.524.680-1,"
                       "First Album,20,052\n")
    stations_csv = project.tmp_path / "stations.csv"
    stations_csv.write_text("station_ref,name,city,region,station_class,stream_url\njoy,Joy FM,Accra,,class_a,\n")
    for script in (("import-catalog", "--tracks", str(catalog), "--stations", str(stations_csv)),
                   ("batch-fingerprint-tracks", "--all")):
        result = project.script(*script)
        assert result.returncode == 0, result.stderr
    heard_at = "2026-03-01T10:00:00Z"
    files = [excerpt_file(song_files["song-22"], tmp_path / "clip.wav", 5.0, 8.0, ["-c:a", "pcm_s16le"]),
             clips["unknown"]]
    recorded = project.script("detect-audio", "--record", "--station", "joy", "--at", heard_at, *map(str, files))
    assert recorded.returncode == 0, recorded.stderr
    inbox = project.var_dir / "inbox"
    inbox.mkdir(parents=True)
    settled = time.time() - SETTLE_SECONDS - 5
    for n, path in enumerate(files):
        copy = inbox / path.name
        copy.write_bytes(path.read_bytes())
        copy.with_name(copy.name + ".json").write_text(json.dumps(
            {"station_ref": "joy", "chunk_id": f"dev1-{n}", "started_at": heard_at}))
        for written in (copy, copy.with_name(copy.name + ".json")):
            os.utime(written, (settled, settled))
    scanned = scan(project, "--only", "snippets")
    assert scanned.returncode == 0, scanned.stderr

    written = rows(project, select(captures).order_by(captures.c.id))  # snippets are heard in parallel
    by_file = {c.audio_sha256: c for c in written if c.source == "file"}
    by_scanner = {c.audio_sha256: c for c in written if c.source == "snippet"}
    digests = [hashlib.sha256(path.read_bytes()).hexdigest() for path in files]
    assert list(by_file) == digests and sorted(by_scanner) == sorted(digests) and len(written) == 4
    assert [by_file[d].outcome for d in digests] == [by_scanner[d].outcome for d in digests] == ["match", "no_match"]
    for digest, path in zip(digests, files, strict=True):
        file_row, snippet_row = by_file[digest], by_scanner[digest]
        assert same_columns(file_row, WHERE_EACH_CAPTURE_CAME_FROM) == same_columns(snippet_row,
                                                                                   WHERE_EACH_CAPTURE_CAME_FROM)
        assert (file_row.chunk_id, file_row.audio_path, file_row.audio_host) == (None, str(path.resolve()), None)
        assert snippet_row.audio_host == project.scalar("SELECT host FROM job_runs WHERE job = 'scan-station-streams'")
        assert file_row.capture_key == f"file:{digest}:joy:2026-03-01T10:00:00+00:00"
        named_apart = hashlib.sha256(snippet_row.chunk_id.encode()).hexdigest()[:16]  # dev1-0 and dev1_0 differ
        assert Path(snippet_row.audio_path) == (project.var_dir / "snippets" / "joy"
                                                / f"{snippet_row.chunk_id}.{named_apart}.wav")
    song_file, song_snippet = by_file[digests[0]], by_scanner[digests[0]]
    assert (song_file.bytes, song_file.codec, song_file.seconds) == (files[0].stat().st_size, "wav", 8.0)

    found = {d.capture_id: d for d in rows(project, select(detections))}
    assert sorted(found) == sorted([song_file.id, song_snippet.id])
    from_file, from_scanner = (same_columns(found[c.id], ("id", "capture_id", "created_at"))
                               for c in (song_file, song_snippet))
    assert from_file == from_scanner
    song = found[song_file.id]
    society = project.scalar("SELECT id FROM partner_societies WHERE code = '052'")
    assert (song.source, song.title, song.artist, song.album, song.duration_seconds) == (
        "local", "Title song-22", "Test Artist", "First Album", 20.0)
    assert (song.isrc, song.isrc_valid, song.iswc) == ("GBAYE0601498", True, "T0345246801")
    assert (song.society_id, song.society_status) == (society, "mapped")  # nothing left for update-pro-mappings
    assert abs(song.offset_seconds - 5.0) < 0.2 and abs(song.speed - 1.0) < 0.01 and song.confidence > 0.99


def same_columns(row, left_out: tuple[str, ...]) -> dict:
    """A row's columns and values, without those named."""
    return {name: value for name, value in row._mapping.items() if name not in left_out}
