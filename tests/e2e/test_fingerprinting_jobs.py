"""auto-fingerprint-new-tracks, batch-fingerprint-tracks and cleanup-old-fingerprints, run as cron runs them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.audio_fixtures import add_tracks, read_song, song_files  # noqa: F401
from tests.support import Project
from zamio.db.engine import transaction
from zamio.recognition import fingerprint
from zamio.recognition import index as recognition


def add_catalog(project: Project, tmp_path: Path, song_files: dict[str, Path], broken: bool = False) -> None:
    files = dict(song_files)
    if broken:  # an MPEG frame header followed by garbage: ffmpeg cannot decode it
        files["broken"] = tmp_path / "broken.mp3"
        files["broken"].write_bytes(b"\xff\xfb\x90\x00" + bytes(range(256)) * 8)
    with transaction(project.engine) as conn:
        add_tracks(conn, files)


def test_new_tracks_are_fingerprinted_once_and_a_broken_file_backs_off_then_parks(
        project: Project, tmp_path: Path, song_files) -> None:
    add_catalog(project, tmp_path, song_files, broken=True)
    first = project.script("auto-fingerprint-new-tracks", "--limit", "10")
    assert first.returncode == 1, first.stderr  # one track failed
    assert "3 ok, 1 failed" in first.stderr and "4 tracks queued" in first.stderr
    done = project.query("SELECT t.track_ref, s.hash_count, t.duration_seconds FROM fingerprint_sets s "
                         "JOIN tracks t ON t.id = s.track_id ORDER BY t.track_ref")
    assert [r[0] for r in done] == sorted(song_files)
    assert all(r[1] > 100 and abs(r[2] - 20.0) < 0.05 for r in done)  # duration measured from the audio
    work = project.query("SELECT w.status, w.attempts, w.last_error, w.next_attempt_at FROM fingerprint_work w "
                         "JOIN tracks t ON t.id = w.track_id WHERE t.track_ref = 'broken'")[0]
    assert work.status == "pending" and work.attempts == 1 and work.next_attempt_at is not None
    assert work.last_error.startswith("corrupt_audio:") and "broken.mp3" in work.last_error

    rows_before = project.scalar("SELECT count(*) FROM fingerprints")
    second = project.script("auto-fingerprint-new-tracks")
    assert second.returncode == 0, second.stderr  # nothing due: the broken track waits for its back-off
    assert "0 ok, 0 failed" in second.stderr
    assert project.scalar("SELECT count(*) FROM fingerprints") == rows_before

    # Its fifth attempt parks it for a person; later runs leave it alone.
    project.execute("UPDATE fingerprint_work SET attempts = 4, next_attempt_at = NULL WHERE status = 'pending'")
    fifth = project.script("auto-fingerprint-new-tracks")
    assert fifth.returncode == 1 and "parked after 5 attempts" in fifth.stderr
    assert project.scalar("SELECT status FROM fingerprint_work WHERE attempts = 5") == "failed"
    after = project.script("auto-fingerprint-new-tracks")
    assert after.returncode == 0 and "0 ok, 0 failed" in after.stderr


def test_dry_run_counts_and_writes_nothing(project: Project, tmp_path: Path, song_files) -> None:
    add_catalog(project, tmp_path, song_files)
    result = project.script("auto-fingerprint-new-tracks", "--dry-run")
    assert result.returncode == 0 and f"3 tracks lack fingerprint v{fingerprint.FINGERPRINT_VERSION}" in result.stderr
    assert project.scalar("SELECT count(*) FROM fingerprint_work") == 0
    assert project.scalar("SELECT count(*) FROM fingerprints") == 0


def test_batch_skips_done_tracks_unless_forced(project: Project, tmp_path: Path, song_files) -> None:
    add_catalog(project, tmp_path, song_files)
    assert project.script("batch-fingerprint-tracks", "--track", "song-21").returncode == 0
    assert project.scalar("SELECT count(*) FROM fingerprint_sets") == 1
    first_at = project.scalar("SELECT created_at FROM fingerprint_sets")
    again = project.script("batch-fingerprint-tracks", "--track", "song-21", "song-22")
    assert again.returncode == 0 and "1 ok, 0 failed, 1 skipped" in again.stderr
    forced = project.script("batch-fingerprint-tracks", "--track", "song-21", "--force")
    assert forced.returncode == 0 and "1 ok" in forced.stderr
    assert project.scalar("SELECT created_at FROM fingerprint_sets WHERE track_id = "
                          "(SELECT id FROM tracks WHERE track_ref = 'song-21')") != first_at
    everything = project.script("batch-fingerprint-tracks", "--all")
    assert everything.returncode == 0 and "1 ok, 0 failed, 2 skipped" in everything.stderr
    unknown = project.script("batch-fingerprint-tracks", "--track", "nope")
    assert unknown.returncode == 2 and "nope" in unknown.stderr


def test_cleanup_keeps_the_two_newest_versions_and_never_empties_a_track(project: Project, song_files) -> None:
    files = {ref: song_files[ref] for ref in ("song-21", "song-22")}
    with transaction(project.engine) as conn:
        ids = add_tracks(conn, files)
        fp = fingerprint.fingerprint(read_song(files["song-21"]))
        v2 = fingerprint.fingerprint(read_song(files["song-21"]), version=2)  # hashes that fit an int4
        for version in (1, 2, 3, 4):  # versions as successive releases would have written them
            made = v2 if version < 3 else fp
            recognition.store_fingerprints(conn, ids["song-21"], fingerprint.Fingerprint(
                made.hashes, made.offsets, version, fp.duration_seconds), "a" * 64, 20.0)
        oldest = fingerprint.Fingerprint(v2.hashes, v2.offsets, 1, fp.duration_seconds)
        recognition.store_fingerprints(conn, ids["song-22"], oldest, "b" * 64, 20.0)  # only an old version
    dry = project.script("cleanup-old-fingerprints", "--dry-run")
    assert dry.returncode == 0 and "2 old fingerprint sets would be deleted" in dry.stderr
    result = project.script("cleanup-old-fingerprints")
    assert result.returncode == 0, result.stderr
    left = project.query("SELECT track_id, version, count(*) FROM fingerprints GROUP BY track_id, version "
                         "ORDER BY track_id, version")
    n = fp.hashes.size
    # PostgreSQL keeps the triplets of held notes (both differences 0) of version 2 on in the packed sets alone
    held = int(np.count_nonzero((fp.hashes >> 11) % 4096 == 2015)) if project.engine.dialect.name == "postgresql" else 0
    # no row of version 2 is left (PostgreSQL finds them through the hash index, by the packed set's hashes)
    assert [tuple(r) for r in left] == [(ids["song-21"], 3, n - held), (ids["song-21"], 4, n - held),
                                        (ids["song-22"], 1, n)]
    sets = project.query("SELECT track_id, version FROM fingerprint_sets ORDER BY track_id, version")
    assert [tuple(r) for r in sets] == [tuple(r[:2]) for r in left]
    assert project.script("cleanup-old-fingerprints", "--keep", "0").returncode == 2
    if project.engine.dialect.name == "postgresql":  # the nightly run gives the hash index the form asked for
        compact = project.script("cleanup-old-fingerprints", env=project.env(FINGERPRINT_INDEX_COVERING="false"))
        assert compact.returncode == 0 and "made compact" in compact.stderr, compact.stderr
        assert project.scalar("SELECT i.indnatts FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                              "WHERE c.relname = 'ix_fingerprints_hash'") == 2  # (hash, frame)
        covering = project.script("cleanup-old-fingerprints")  # the covering form is the default
        assert covering.returncode == 0 and "made covering" in covering.stderr, covering.stderr
        assert project.scalar("SELECT i.indnatts FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                              "WHERE c.relname = 'ix_fingerprints_hash'") == 4


def test_a_host_that_fingerprints_the_reference_differently_writes_nothing(
        project: Project, tmp_path: Path, song_files) -> None:
    add_catalog(project, tmp_path, song_files)
    other_host = str(Path(__file__).parent.parent / "jobs" / "fingerprint-on-another-host")
    for job, args in (("auto-fingerprint-new-tracks", ["--limit", "10"]), ("batch-fingerprint-tracks", ["--all"])):
        refused = project.script(other_host, job, *args)
        assert refused.returncode == 78, refused.stderr
        assert "numpy 2." in refused.stderr and "scipy 1." in refused.stderr
        assert "install the versions setup.cfg allows" in refused.stderr
        assert project.scalar("SELECT count(*) FROM fingerprints") == 0
        assert project.scalar("SELECT count(*) FROM fingerprint_sets") == 0
        assert project.scalar("SELECT count(*) FROM fingerprint_work") == 0  # not even queued
    passed = project.script("batch-fingerprint-tracks", "--all")  # this host is a verified one
    assert passed.returncode == 0 and "3 ok, 0 failed" in passed.stderr, passed.stderr
    assert project.scalar("SELECT count(*) FROM fingerprint_sets") == 3
