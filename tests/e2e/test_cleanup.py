"""bin/cleanup-old-data on real SQLite and PostgreSQL: retention applied, money and its evidence never touched."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, inspect, select

from tests import money_world
from tests.scan_helpers import UNKNOWN_SEEDS, add_station, drop, scan, scan_audio  # noqa: F401
from tests.support import Project
from tests.world import fixed_world
from zamio.db.tables import audit_log, cache_entries, captures, detections, email_outbox, job_runs, play_detections
from zamio.runtime.cleanup import PROTECTED_TABLES, STEPS

YEARS_AGO = datetime.now(UTC) - timedelta(days=3650)


def table_digest(project: Project, table: str) -> tuple[int, str]:
    rows = project.query(f"SELECT * FROM {table}")
    text_rows = sorted(repr(tuple(str(v) for v in row)) for row in rows)
    return len(rows), hashlib.sha256("\n".join(text_rows).encode()).hexdigest()


def protected_state(project: Project) -> dict[str, tuple[int, str]]:
    present = set(inspect(project.engine).get_table_names())
    return {t: table_digest(project, t) for t in sorted(PROTECTED_TABLES & present)}


def old_world(project: Project) -> None:
    """The seed world ten years back, plus audio files, old operations rows, and money of every kind made by the
    royalty jobs (tests.money_world: a per-second and a pool cycle; the old plays, before any tariff, unpriced)."""
    fixed_world(project, YEARS_AGO, plays=60, days=20)
    money_world.build(project, codes=(0, 1))
    now = datetime.now(UTC)
    with project.engine.begin() as conn:
        conn.execute(insert(audit_log), [{"event_key": f"cycle:old:{n}", "at": YEARS_AGO, "actor": "finance",
                                          "action": "locked", "entity": "cycle", "entity_id": "1"} for n in range(3)])
        conn.execute(insert(cache_entries), [
            {"key": "station:1", "value": "{}", "schema_version": 1, "computed_at": YEARS_AGO, "expires_at": YEARS_AGO},
            {"key": "charts:week", "value": "{}", "schema_version": 1, "computed_at": now,
             "expires_at": now + timedelta(hours=1)}])
        conn.execute(insert(email_outbox), [
            {"dedupe_key": key, "recipient": "a@example.org", "subject": "s", "body_text": "t",
             "template": "job_failing", "status": status, "created_at": at, "sent_at": at if status == "sent" else None}
            for key, status, at in [("old-sent", "sent", YEARS_AGO), ("new-sent", "sent", now),
                                    ("old-failed", "failed", YEARS_AGO)]])
        conn.execute(insert(job_runs), [
            {"run_id": f"r{n}", "job": job, "host": "h", "pid": 1, "started_at": YEARS_AGO + timedelta(minutes=n),
             "status": status}
            for n, (job, status) in enumerate([("warm-cache", "ok"), ("warm-cache", "failed"), ("warm-cache", "ok"),
                                               ("warm-cache", "failed"), ("migrate", "ok")])])
        conn.execute(insert(captures).values(  # recent and unmatched: within retention
            id=9999, capture_key="link:1:recent", station_id=1, source="stream", started_at=now, outcome="no_match",
            audio_path="snippets/recent.ogg", created_at=now))
    snippets = project.var_dir / "snippets"
    snippets.mkdir(parents=True, exist_ok=True)
    for (path,) in project.query("SELECT audio_path FROM captures WHERE audio_path IS NOT NULL"):
        (project.var_dir / path).write_bytes(b"OggS")
    for name, age_days in (("old.mp3", 400), ("new.mp3", 0)):
        rejected = project.var_dir / "inbox" / "rejected" / name
        rejected.parent.mkdir(parents=True, exist_ok=True)
        rejected.write_bytes(b"ID3")
        stamp = (now - timedelta(days=age_days)).timestamp()
        os.utime(rejected, (stamp, stamp))


def files_under(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def test_no_step_can_touch_a_protected_table() -> None:
    assert not {step.table for step in STEPS} & PROTECTED_TABLES
    assert {"play_logs", "play_detections", "royalty_ledger", "royalty_cycles", "audit_log"} <= PROTECTED_TABLES


def test_retention_keeps_money_and_the_trace_from_play_to_audio_hash(project: Project) -> None:
    old_world(project)
    before = protected_state(project)
    linked_captures = project.scalar(
        "SELECT count(DISTINCT d.capture_id) FROM play_detections pd JOIN detections d ON d.id = pd.detection_id")
    args = ["--captures-days", "1", "--detections-days", "1", "--audio-days", "1", "--job-runs-days", "1",
            "--emails-days", "1", "--snippets-days", "1", "--batch-size", "7"]
    result = project.script("cleanup-old-data", *args)
    assert result.returncode == 0, result.stderr
    assert protected_state(project) == before and before["play_logs"][0] == 60 + 9  # seeded and imported
    assert before["cycle_line_items"][0] > 0 and before["station_licence_fees"][0] == 1
    with project.engine.connect() as conn:
        trace = conn.execute(
            select(play_detections.c.play_id, detections.c.id, captures.c.audio_sha256, captures.c.audio_path)
            .select_from(play_detections.join(detections, detections.c.id == play_detections.c.detection_id)
                         .join(captures, captures.c.id == detections.c.capture_id))).all()
    # The cycle that paid the seeded plays (or holds them unpriced) was locked just now: inside the dispute
    # window, so their audio stays with the rows; so does a duplicate report's.  Superseded versions never
    # priced (every 17th seeded play) carry no money: theirs goes.
    superseded = {n for n in range(1, 61) if n % 17 == 0}
    duplicates = {n for n in range(1, 61) if n % 19 == 0}
    assert len(trace) == 60 and all(sha for _, _, sha, _ in trace)
    assert {play for play, _, _, path in trace if path is None} == superseded
    assert f"capture audio files kept for unsettled money: {60 - len(superseded)}" in result.stderr
    assert project.scalar("SELECT count(*) FROM captures") == linked_captures + 1  # unmatched old ones went
    kept_files = {f"{n}.ogg" for n in range(1, 61)} - {f"{n}.ogg" for n in superseded}
    assert files_under(project.var_dir / "snippets") == kept_files | {"recent.ogg"}
    # With no dispute window the plays the locked cycle paid are settled: their audio goes.  The seeded
    # duplicates name no billed play, so nothing settles them and they stay.
    settled = project.script("cleanup-old-data", *args, env=project.env(EVIDENCE_DISPUTE_WINDOW_DAYS="0"))
    assert settled.returncode == 0, settled.stderr
    assert f"capture audio files: {60 - len(superseded) - len(duplicates)}," in settled.stderr
    with project.engine.connect() as conn:
        trace = conn.execute(
            select(play_detections.c.play_id, detections.c.id, captures.c.audio_sha256, captures.c.audio_path)
            .select_from(play_detections.join(detections, detections.c.id == play_detections.c.detection_id)
                         .join(captures, captures.c.id == detections.c.capture_id))).all()
    assert len(trace) == 60 and all(sha for _, _, sha, _ in trace)
    assert {play for play, _, _, path in trace if path is not None} == duplicates
    assert files_under(project.var_dir / "snippets") == {f"{n}.ogg" for n in duplicates} | {"recent.ogg"}
    assert files_under(project.var_dir / "inbox" / "rejected") == {"new.mp3"}
    assert [r[0] for r in project.query("SELECT key FROM cache_entries")] == ["charts:week"]
    assert sorted(r[0] for r in project.query("SELECT dedupe_key FROM email_outbox")) == ["new-sent", "old-failed"]
    kept_runs = sorted(r[0] for r in project.query("SELECT run_id FROM job_runs WHERE run_id LIKE 'r%'"))
    assert kept_runs == ["r2", "r3", "r4"]  # newest success and newest run of warm-cache; migrate's only run
    again = project.script("cleanup-old-data", *args)
    assert again.returncode == 0 and protected_state(project) == before


def test_dry_run_deletes_nothing(project: Project) -> None:
    old_world(project)
    tables = sorted(inspect(project.engine).get_table_names())
    before = {t: table_digest(project, t) for t in tables if t != "job_runs"}
    files = files_under(project.var_dir)
    result = project.script("cleanup-old-data", "--dry-run", "--audio-days", "1", "--captures-days", "1")
    assert result.returncode == 0, result.stderr
    assert "captures without detections: 30 would go" in result.stderr
    assert "rejected snippets: 1 would go" in result.stderr
    assert {t: table_digest(project, t) for t in tables if t != "job_runs"} == before
    assert files_under(project.var_dir) == files


def test_retention_below_one_day_is_refused(project: Project) -> None:
    result = project.script("cleanup-old-data", "--captures-days", "0")
    assert result.returncode == 2 and "at least 1 day" in result.stderr


def test_each_host_deletes_the_capture_audio_it_keeps(postgres_url: str, tmp_path: Path, scan_audio) -> None:
    """Two hosts on one PostgreSQL database, each with its own var/: the snippets each recorded are kept in
    its own var/snippets, so each host's cleanup deletes its own old files and their rows, the database
    part is done once, and recent files stay on both."""
    hosts = {name: Project(postgres_url, tmp_path / name) for name in ("alpha", "beta")}
    add_station(hosts["alpha"], "joy")
    recent = datetime.now(UTC).isoformat()
    # Each old snippet is music heard once (two songs): the same song twice would be an unknown recording.
    old_songs = {"alpha": UNKNOWN_SEEDS[0], "beta": UNKNOWN_SEEDS[2]}
    for name, host in hosts.items():
        inbox = host.var_dir / "inbox"
        drop(inbox, "old.mp3", scan_audio.mp3(old_songs[name]), {"station_ref": "joy", "chunk_id": f"{name}-old",
                                                    "started_at": "2020-01-06T12:00:00Z"})
        drop(inbox, "new.mp3", scan_audio.mp3(UNKNOWN_SEEDS[1]), {"station_ref": "joy", "chunk_id": f"{name}-new",
                                                        "started_at": recent})
        result = scan(host, "--only", "snippets", ZAMIO_HOST_NAME=name)
        assert result.returncode == 0, result.stderr
        assert len(files_under(host.var_dir / "snippets")) == 2
    stored = {r.chunk_id: (r.audio_host, Path(r.audio_path)) for r in hosts["alpha"].query(
        "SELECT chunk_id, audio_host, audio_path FROM captures")}
    assert {chunk: host for chunk, (host, _) in stored.items()} == {
        "alpha-old": "alpha", "alpha-new": "alpha", "beta-old": "beta", "beta-new": "beta"}

    for name, host in hosts.items():  # alpha first: it does the database part too
        result = host.script("cleanup-old-data", "--captures-days", "30", "--audio-days", "30",
                             env=host.env(ZAMIO_HOST_NAME=name))
        assert result.returncode == 0, result.stderr
        assert "another host is doing it" not in result.stderr  # one after the other: each did it
        assert files_under(host.var_dir / "snippets") == {str(stored[f"{name}-new"][1].relative_to(
            host.var_dir / "snippets"))}, name
    kept = sorted(r.chunk_id for r in hosts["alpha"].query("SELECT chunk_id FROM captures"))
    assert kept == ["alpha-new", "beta-new"]
    # The old snippets, music heard once, left the unknown index; the new ones (one song at one moment on
    # one station: one hearing recorded twice, no unknown recording) wait in it as candidates.
    indexed = hosts["alpha"].query("SELECT c.chunk_id, u.status FROM unknown_captures u "
                                   "JOIN captures c ON c.id = u.capture_id ORDER BY c.chunk_id")
    assert [tuple(r) for r in indexed] == [("alpha-new", "single"), ("beta-new", "single")]
    assert all(path.is_file() for chunk, (_, path) in stored.items() if chunk.endswith("-new"))
    assert not any(path.exists() for chunk, (_, path) in stored.items() if chunk.endswith("-old"))
    for host in hosts.values():
        host.engine.dispose()
