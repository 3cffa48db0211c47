"""The audio kept for a snippet is the audio its capture was heard and hashed from, one file
per capture; snippets that cannot be recorded are set aside with a reason, or left for a
later run when ACRCloud could not be asked."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import pytest
from sqlalchemy import select, update

from tests.e2e.test_acrcloud_fallback import acr_env
from tests.fake_acrcloud import FakeAcrCloud
from tests.scan_helpers import (  # noqa: F401
    CATALOG_SEEDS,
    UNKNOWN_SEEDS,
    add_station,
    captures_by_station,
    catalog_prints,
    drop,
    rows,
    scan,
    scan_audio,
    seed_catalog,
)
from zamio.db.tables import acrcloud_usage, detections, job_runs
from zamio.scanning.snippets import SETTLE_SECONDS

A, B = CATALOG_SEEDS[:2]
SIDECAR = {"station_ref": "joy", "started_at": "2026-05-18T14:59:20+00:00"}
CONFLICTS_LABEL = "snippets whose chunk_id was recorded with other audio (in the inbox's rejected/)"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def last_run(project):
    """The latest scan-station-streams run in job_runs."""
    return rows(project, select(job_runs).where(job_runs.c.job == "scan-station-streams")
                .order_by(job_runs.c.id.desc()).limit(1))[0]


def reasons(inbox: Path) -> dict[str, str]:
    """name of each reason file in rejected/ → its reason code (first line)."""
    return {p.name: p.read_text().splitlines()[0] for p in (inbox / "rejected").glob("*.reason.txt")}


def inbox_files(inbox: Path) -> list[str]:
    return sorted(p.name for p in inbox.iterdir() if p.is_file() or p.is_symlink())


def settle(*paths: Path) -> None:
    past = time.time() - SETTLE_SECONDS - 5
    for path in paths:
        os.utime(path, (past, past), follow_symlinks=False)


def test_chunk_ids_that_read_alike_keep_their_own_files(project, scan_audio, catalog_prints):
    seed_catalog(project, catalog_prints)
    add_station(project, "joy", "http://127.0.0.1:9/unused")
    inbox = project.var_dir / "inbox"
    drop(inbox, "slash.mp3", scan_audio.mp3(A), {**SIDECAR, "chunk_id": "dev/9"})
    drop(inbox, "underscore.mp3", scan_audio.mp3(B), {**SIDECAR, "chunk_id": "dev_9"})

    result = scan(project, "--only", "snippets")
    assert result.returncode == 0, result.stderr
    found = {c.chunk_id: c for c in captures_by_station(project)["joy"]}
    assert set(found) == {"dev/9", "dev_9"}
    assert found["dev/9"].audio_path != found["dev_9"].audio_path
    for chunk_id, seed in (("dev/9", A), ("dev_9", B)):
        capture = found[chunk_id]
        assert capture.audio_sha256 == sha256(scan_audio.mp3(seed))
        assert Path(capture.audio_path).read_bytes() == scan_audio.mp3(seed)
    assert inbox_files(inbox) == []


def test_two_files_of_one_chunk_in_one_run(project, scan_audio, catalog_prints):
    seed_catalog(project, catalog_prints)
    add_station(project, "joy", "http://127.0.0.1:9/unused")
    inbox = project.var_dir / "inbox"
    drop(inbox, "first.mp3", scan_audio.mp3(A), {**SIDECAR, "chunk_id": "c1"})
    drop(inbox, "second.mp3", scan_audio.mp3(B), {**SIDECAR, "chunk_id": "c1"})  # a counter reset
    drop(inbox, "copy-a.mp3", scan_audio.mp3(A), {**SIDECAR, "chunk_id": "c2"})
    drop(inbox, "copy-b.mp3", scan_audio.mp3(A), {**SIDECAR, "chunk_id": "c2"})  # the same upload twice

    result = scan(project, "--only", "snippets")
    assert result.returncode == 1, result.stderr  # the conflict is a failed item
    found = {c.chunk_id: c for c in captures_by_station(project)["joy"]}
    assert set(found) == {"c1", "c2"}
    # Which file of c1 is heard first is not fixed: the other one is the conflict.
    kept = A if found["c1"].audio_sha256 == sha256(scan_audio.mp3(A)) else B
    other = B if kept == A else A
    assert found["c1"].audio_sha256 == sha256(scan_audio.mp3(kept))
    for capture in found.values():
        assert sha256(Path(capture.audio_path).read_bytes()) == capture.audio_sha256
    assert len(rows(project, select(detections))) == 2
    set_aside = reasons(inbox)
    conflict = {"first.mp3": "first.mp3.reason.txt", "second.mp3": "second.mp3.reason.txt"}[
        "second.mp3" if kept == A else "first.mp3"]
    duplicate = [name for name in set_aside if name.startswith("copy-")]
    assert set_aside == {conflict: "chunk_conflict", duplicate[0]: "duplicate_chunk"}
    conflict_audio = inbox / "rejected" / conflict.removesuffix(".reason.txt")
    assert conflict_audio.read_bytes() == scan_audio.mp3(other)
    run = last_run(project)
    assert (run.items_ok, run.items_failed, run.items_skipped) == (2, 1, 1)
    assert inbox_files(inbox) == []


def test_a_reused_chunk_id_with_other_audio_waits_for_a_person(project, scan_audio, catalog_prints):
    seed_catalog(project, catalog_prints)
    add_station(project, "joy", "http://127.0.0.1:9/unused")
    inbox = project.var_dir / "inbox"
    drop(inbox, "before.mp3", scan_audio.mp3(A), {**SIDECAR, "chunk_id": "dev7-000001"})
    assert scan(project, "--only", "snippets").returncode == 0
    drop(inbox, "after-reset.mp3", scan_audio.mp3(B), {**SIDECAR, "chunk_id": "dev7-000001"})

    result = scan(project, "--only", "snippets")
    assert result.returncode == 1, result.stderr
    (capture,) = captures_by_station(project)["joy"]
    assert capture.audio_sha256 == sha256(scan_audio.mp3(A))
    assert Path(capture.audio_path).read_bytes() == scan_audio.mp3(A)
    assert reasons(inbox) == {"after-reset.mp3.reason.txt": "chunk_conflict"}
    note = (inbox / "rejected" / "after-reset.mp3.reason.txt").read_text()
    assert f"capture {capture.id}" in note and sha256(scan_audio.mp3(B)) in note
    run = last_run(project)
    assert (run.items_ok, run.items_failed) == (0, 1)

    shown = project.script("zamio-status", "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["waiting"] == {CONFLICTS_LABEL: 1}
    table = project.script("zamio-status")
    assert f"     1  {CONFLICTS_LABEL}" in table.stdout


def test_an_ambiguous_snippet_is_set_aside_whole(project, scan_audio, catalog_prints):
    seed_catalog(project, catalog_prints)
    add_station(project, "joy", "http://127.0.0.1:9/unused")
    inbox = project.var_dir / "inbox"
    drop(inbox, "x.wav", scan_audio.songs[A].wav, {**SIDECAR, "chunk_id": "x1"}, sidecar_name="x.json")
    (inbox / "x.mp3").write_bytes(scan_audio.mp3(A))
    settle(inbox / "x.mp3")

    result = scan(project, "--only", "snippets")
    assert result.returncode == 1, result.stderr
    assert captures_by_station(project) == {}
    assert inbox_files(inbox) == []
    assert reasons(inbox) == {"x.reason.txt": "ambiguous_audio"}
    assert sorted(p.name for p in (inbox / "rejected").iterdir()) == ["x.json", "x.mp3", "x.reason.txt", "x.wav"]
    assert "x.mp3, x.wav" in (inbox / "rejected" / "x.reason.txt").read_text()


def test_audio_given_as_a_symlink_is_stored_as_bytes(project, scan_audio, catalog_prints, tmp_path):
    seed_catalog(project, catalog_prints)
    add_station(project, "joy", "http://127.0.0.1:9/unused")
    inbox = project.var_dir / "inbox"
    outside = tmp_path / "device" / "take.mp3"
    outside.parent.mkdir()
    outside.write_bytes(scan_audio.mp3(A))
    drop(inbox, "take.mp3", b"", {**SIDECAR, "chunk_id": "linked"})
    (inbox / "take.mp3").unlink()
    (inbox / "take.mp3").symlink_to(outside)
    settle(outside, inbox / "take.mp3")

    result = scan(project, "--only", "snippets")
    assert result.returncode == 0, result.stderr
    (capture,) = captures_by_station(project)["joy"]
    stored = Path(capture.audio_path)
    assert not stored.is_symlink() and stored.read_bytes() == scan_audio.mp3(A)
    outside.write_bytes(scan_audio.mp3(B))  # the device's file changes later
    assert sha256(stored.read_bytes()) == capture.audio_sha256 == sha256(scan_audio.mp3(A))
    assert inbox_files(inbox) == []


def unknown_snippet(project, scan_audio, name: str, chunk_id: str, seed: int) -> None:
    drop(project.var_dir / "inbox", name, scan_audio.mp3(seed), {**SIDECAR, "chunk_id": chunk_id})


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_snippets_met_with_refused_credentials_are_identified_later(project, scan_audio, catalog_prints):
    seed_catalog(project, catalog_prints)
    add_station(project, "joy", "http://127.0.0.1:9/unused")
    inbox = project.var_dir / "inbox"
    unknown_snippet(project, scan_audio, "u.mp3", "u1", UNKNOWN_SEEDS[0])
    with FakeAcrCloud() as fake:
        fake.respond("invalid_key")
        refused = scan(project, "--only", "snippets", **acr_env(fake))
        assert refused.returncode == 78, refused.stderr
        assert captures_by_station(project) == {}
        assert inbox_files(inbox) == ["u.mp3", "u.mp3.json"]  # left for the next run

        fixed = scan(project, "--only", "snippets", **acr_env(fake))  # the credentials are right again
    assert fixed.returncode == 0, fixed.stderr
    assert len(fake.requests) == 2
    (capture,) = captures_by_station(project)["joy"]
    assert (capture.chunk_id, capture.outcome) == ("u1", "match")
    (detection,) = rows(project, select(detections))
    assert detection.source == "acrcloud" and detection.title == "Mpempem"
    assert Path(capture.audio_path).read_bytes() == scan_audio.mp3(UNKNOWN_SEEDS[0])
    assert inbox_files(inbox) == []


def test_snippets_met_with_an_outage_are_retried_and_answered_ones_stay_done(project, scan_audio, catalog_prints):
    seed_catalog(project, catalog_prints)
    add_station(project, "joy", "http://127.0.0.1:9/unused")
    inbox = project.var_dir / "inbox"
    unknown_snippet(project, scan_audio, "u0.mp3", "u0", UNKNOWN_SEEDS[0])
    unknown_snippet(project, scan_audio, "u1.mp3", "u1", UNKNOWN_SEEDS[1])
    with FakeAcrCloud(default="http_500") as down:
        outage = scan(project, "--only", "snippets", **acr_env(down))
    assert outage.returncode == 0, outage.stderr
    assert captures_by_station(project) == {}
    assert inbox_files(inbox) == ["u0.mp3", "u0.mp3.json", "u1.mp3", "u1.mp3.json"]
    with project.engine.begin() as conn:  # what the passing of time does: the pause after the outage ends
        conn.execute(update(acrcloud_usage).values(blocked_until=None))

    with FakeAcrCloud(default="no_match") as answering:
        answered = scan(project, "--only", "snippets", **acr_env(answering))
    assert answered.returncode == 0, answered.stderr
    assert len(answering.requests) == 2
    found = sorted((c.chunk_id, c.outcome, c.error_reason) for c in captures_by_station(project)["joy"])
    assert found == [("u0", "no_match", "acrcloud_no_result"), ("u1", "no_match", "acrcloud_no_result")]
    assert inbox_files(inbox) == []

    unknown_snippet(project, scan_audio, "again.mp3", "u0", UNKNOWN_SEEDS[0])  # the device sends u0 again
    with FakeAcrCloud(default="match") as later:
        again = scan(project, "--only", "snippets", **acr_env(later))
    assert again.returncode == 0, again.stderr
    assert later.requests == []  # an answered snippet is done
    assert reasons(inbox) == {"again.mp3.reason.txt": "duplicate_chunk"}
