"""Several hosts on one database, as the README's *Several hosts on one PostgreSQL* sets them up.

* A shared folder (``REPORTS_DIR``, ``STATEMENTS_DIR``) holds the reports and statements whichever
  host wrote them, and ``send-emails`` on another host attaches the statements from it; a folder
  set but missing (a mount not mounted) stops the job before anything is written.
* Two hosts' ``cleanup-old-data`` started together: each deletes the capture audio it keeps and
  never the other's, each row once, and no file is left without its row nor a row naming a
  deleted file.
* A retired host's captures: ``cleanup-old-data --retired-host`` releases their audio references,
  audited, except those whose money still holds evidence.

Each host is a ``Project`` of its own (its own var/) on the one database, named by
``ZAMIO_HOST_NAME``; captures are recorded by the real scan of each host's snippet inbox.
"""

from __future__ import annotations

import json
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import text

from tests import money_world
from tests.smtpserver import SmtpServer
from tests.support import Project
from tests.world import World
from zamio.demo import synth

EMAILS = {"Ama Ghana": "ama@example.com", "Yaw Tetteh": "yaw@example.com"}
AMA = "contributor-ama-ghana.GHS"


def waiting_on_captures(project: Project) -> int:
    """How many sessions of this database wait for a lock on the captures table."""
    return project.scalar("SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                          "WHERE c.relname = 'captures' AND NOT l.granted "
                          "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())")


def files_under(folder: Path) -> set[Path]:
    return {path for path in folder.rglob("*") if path.is_file()} if folder.is_dir() else set()


@pytest.fixture
def smtp_server():
    with SmtpServer() as server:
        yield server


@pytest.mark.postgres
def test_a_shared_folder_holds_reports_and_statements_whichever_host_wrote_them(
        postgres_url: str, tmp_path: Path, smtp_server: SmtpServer) -> None:
    shared = tmp_path / "mount"  # what every host mounts at the same path
    settings = {"REPORTS_DIR": str(shared / "reports"), "STATEMENTS_DIR": str(shared / "statements")}
    for folder in settings.values():
        Path(folder).mkdir(parents=True)
    alpha, beta = Project(postgres_url, tmp_path / "alpha"), Project(postgres_url, tmp_path / "beta")
    money_world.world(alpha, emails=EMAILS).price()

    closed = alpha.script("process-royalty-cycle", "--name", money_world.MARCH, "--from", "2026-03-01",
                          "--to", "2026-03-31", env=alpha.env(ZAMIO_HOST_NAME="alpha", **settings))
    assert closed.returncode == 0, closed.stderr
    cycle = shared / "statements" / money_world.MARCH
    assert (cycle / "statements.csv").is_file() and (cycle / "statements" / f"{AMA}.html").is_file()

    report = beta.script("generate-analytics-report", "--type", "platform", "--from", "2026-03-01",
                         "--to", "2026-03-31", env=beta.env(ZAMIO_HOST_NAME="beta", **settings))
    assert report.returncode == 0, report.stderr
    written = [Path(line) for line in report.stdout.splitlines()]
    assert written and all(path.parent == shared / "reports" and path.is_file() for path in written)

    # The e-mails alpha queued are sent by beta, which reads the statements from the shared folder.
    sent = beta.script("send-emails", "--no-alerts",
                       env=beta.env(ZAMIO_HOST_NAME="beta", **settings, **smtp_server.env()))
    assert sent.returncode == 0, sent.stderr
    mails = {m.recipients[0]: m.message for m in smtp_server.messages}
    assert sorted(mails) == ["ama@example.com", "yaw@example.com"]
    attached = {part.get_filename(): part.get_payload(decode=True)
                for part in mails["ama@example.com"].iter_attachments()}
    assert attached == {f"2026-03-{AMA}.html": (cycle / "statements" / f"{AMA}.html").read_bytes(),
                        f"2026-03-{AMA}.csv": (cycle / "statements" / f"{AMA}.csv").read_bytes()}
    assert alpha.scalar("SELECT count(*) FROM job_runs WHERE job = 'send-emails' AND host = 'beta'") == 1
    for host in (alpha, beta):  # nothing went to either host's own disk
        assert not (host.var_dir / "reports").exists() and not (host.var_dir / "cycles").exists()


def test_a_shared_folder_that_is_missing_stops_the_job_before_it_writes(project: Project) -> None:
    money_world.world(project).price()
    mount = project.tmp_path / "mount"  # the mount point is there, nothing is mounted on it
    mount.mkdir()
    settings = {"REPORTS_DIR": str(mount / "reports"), "STATEMENTS_DIR": str(mount / "statements")}
    report = project.script("generate-analytics-report", "--type", "platform", env=project.env(**settings))
    assert report.returncode == 78 and "REPORTS_DIR names a folder that does not exist" in report.stderr
    closed = project.script("process-royalty-cycle", "--name", money_world.MARCH, "--from", "2026-03-01",
                            "--to", "2026-03-31", env=project.env(**settings))
    assert closed.returncode == 78 and "STATEMENTS_DIR names a folder that does not exist" in closed.stderr
    assert project.scalar("SELECT count(*) FROM royalty_cycles") == 0
    assert files_under(mount) == set() and not (project.var_dir / "reports").exists()
    assert not (project.var_dir / "cycles").exists()
    relative = project.script("generate-analytics-report", "--type", "platform",
                              env=project.env(REPORTS_DIR="shared/reports"))
    assert relative.returncode == 78 and "REPORTS_DIR must be an absolute path" in relative.stderr


@pytest.mark.postgres
def test_two_hosts_cleaning_at_once_each_delete_only_their_own_files(postgres_url: str, tmp_path: Path,
                                                                       hiss: Path) -> None:
    hosts = {name: Project(postgres_url, tmp_path / name) for name in ("alpha", "beta")}
    catalog = World(hosts["alpha"])
    catalog.station("joy")
    catalog.load()
    now = datetime.now(UTC)
    for name, host in hosts.items():
        world = World(host)
        for day in range(1, 6):  # five snippets of 2020, past any retention, and one of now
            world.snippet("joy", f"2020-01-0{day} 12:00", hiss)
        world.snippet("joy", now - timedelta(minutes=5), hiss)
        world.scan_snippets(host=name)
    kept_by = {name: {Path(r.audio_path): r.started_at for r in hosts["alpha"].query(
        "SELECT audio_path, started_at FROM captures WHERE audio_host = :host", host=name)} for name in hosts}
    for name, host in hosts.items():
        assert set(kept_by[name]) == files_under(host.var_dir / "snippets") and len(kept_by[name]) == 6

    # Both runs are made to meet: a lock on captures holds each at its first delete until both wait there.
    with hosts["alpha"].engine.connect() as blocker:
        held = blocker.begin()
        blocker.execute(text("LOCK TABLE captures IN EXCLUSIVE MODE"))  # reads go on, writes wait
        runs = {name: host.popen("cleanup-old-data", "--captures-days", "30", "--audio-days", "30",
                                 "--batch-size", "1", env=host.env(ZAMIO_HOST_NAME=name))
                for name, host in hosts.items()}
        deadline = time.monotonic() + 60
        while waiting_on_captures(hosts["beta"]) < 2:
            assert time.monotonic() < deadline and all(run.poll() is None for run in runs.values()), \
                "the two cleanups never waited together"
            time.sleep(0.05)
        held.rollback()
    outputs = {name: run.communicate(timeout=120) for name, run in runs.items()}
    for name, run in runs.items():
        assert run.returncode == 0, outputs[name][1]
    # Only one did the database part: the other found its lock held while both were at work.
    assert sum("database part: another host is doing it" in err for _, err in outputs.values()) == 1
    (first_from, first_to), (second_from, second_to) = sorted(
        (row.started_at, row.finished_at) for row in hosts["alpha"].query(
            "SELECT started_at, finished_at FROM job_runs WHERE job = 'cleanup-old-data'"))
    assert second_from < first_to, "the two runs did not overlap"

    for name, host in hosts.items():
        # Each host deleted its five old files and their rows: 5 counted by it, none by the other.
        assert "this host's captures without detections: 5," in outputs[name][1], outputs[name][1]
        recent = {path for path, at in kept_by[name].items() if at.year > 2020}
        assert len(recent) == 1 and files_under(host.var_dir / "snippets") == recent
    rows = hosts["alpha"].query("SELECT audio_host, audio_path FROM captures")
    # No orphan either way: every row's file is on its host, every file on a host has its row.
    assert sorted(row.audio_host for row in rows) == ["alpha", "beta"]
    on_disk = set().union(*(files_under(host.var_dir / "snippets") for host in hosts.values()))
    assert {Path(row.audio_path) for row in rows} == on_disk
    for host in hosts.values():
        host.engine.dispose()


@pytest.fixture(scope="module")
def hiss(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Eight seconds of radio hiss, as a WAV file: a capture of it is noise, kept with no detection (music heard
    again would become an unknown recording, with detections)."""
    path = tmp_path_factory.mktemp("hiss") / "hiss.wav"
    synth.write_wav(path, np.random.default_rng(5).standard_normal(8 * synth.SYNTH_RATE).astype(np.float32) * 0.2)
    return path


@pytest.fixture(scope="module")
def songs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Twenty seconds of each of two catalog songs and of two the catalog does not hold, as WAV files (two, so
    that neither is heard twice: a song heard again becomes an unknown recording, with detections)."""
    folder = tmp_path_factory.mktemp("songs")
    found = {}
    for name, seed in (("odo", 61), ("kente", 62), ("unknown", 63), ("another", 64)):
        found[name] = folder / f"{name}.wav"
        synth.write_wav(found[name], synth.song(seed, seconds=20.0))
    return found


def test_a_retired_hosts_audio_references_are_released_except_where_money_holds(
        project: Project, songs: dict[str, Path]) -> None:
    """Joy (class_a) in 2024; host ``monitor-2`` recorded three snippets, host ``alpha`` one:

    * ``paid``: Odo 01-10 12:00, priced, paid by cycle 2024-01 (settled with no dispute window);
    * ``pending``: Kente 02-10 12:00, priced, in no cycle yet: its money holds its evidence;
    * ``nothing``: an unknown song 01-11 12:00, no detection, no play;
    * ``alpha``: another unknown song 01-12 12:00 on alpha, which keeps running.
    """
    retired = Project(project.database_url, project.tmp_path / "monitor-2")
    world = World(project)
    joy = world.station("joy")
    world.track("t-odo", "Odo", "Ama", audio_path=songs["odo"])
    world.track("t-ken", "Kente", "Efua", audio_path=songs["kente"])
    world.rate_card("class_a", "regular", "0.015", "1.0", "2024-01-01")
    world.fingerprint()
    away = World(retired)
    for at, song in (("2024-01-10 12:00", "odo"), ("2024-02-10 12:00", "kente"), ("2024-01-11 12:00", "unknown")):
        away.snippet(joy, at, songs[song])
    away.scan_snippets(host="monitor-2")
    world.snippet(joy, "2024-01-12 12:00", songs["another"])
    world.scan_snippets(host="alpha")
    world.convert("2024-03-01 00:00")
    world.price()
    world.close_cycle("2024-01")
    captures = {row.title or "nothing": row for row in project.query(
        "SELECT c.id, c.audio_host, c.audio_path, c.audio_sha256, t.title FROM captures c "
        "LEFT JOIN detections d ON d.capture_id = c.id LEFT JOIN tracks t ON t.id = d.track_id "
        "WHERE c.audio_host = 'monitor-2'")}
    assert sorted(captures) == ["Kente", "Odo", "nothing"]
    paid, pending, nothing = captures["Odo"], captures["Kente"], captures["nothing"]
    alpha_file = files_under(project.var_dir / "snippets")
    assert len(alpha_file) == 1
    # The host is taken out of service: its var/ goes with it.
    assert len(files_under(retired.var_dir / "snippets")) == 3
    shutil.rmtree(retired.var_dir)
    settled = {"EVIDENCE_DISPUTE_WINDOW_DAYS": "0", "ZAMIO_HOST_NAME": "alpha"}

    def cleanup(*args: str):  # noqa: ANN202
        return project.script("cleanup-old-data", *args, env=project.env(**settled))

    early = cleanup("--retired-host", "monitor-2", "--by", "ama")
    assert early.returncode == 2 and "host monitor-2 ran scan-station-streams at" in early.stderr
    assert "it is not retired" in early.stderr
    # A day on: its last run is more than a day old.
    project.execute("UPDATE job_runs SET started_at = :at WHERE host = 'monitor-2'",
                    at=datetime.now(UTC) - timedelta(days=2))
    itself = cleanup("--retired-host", "alpha", "--by", "ama")
    assert itself.returncode == 2 and "--retired-host alpha is this host" in itself.stderr
    stray = cleanup("--by", "ama")
    assert stray.returncode == 2 and "--by and --reason go with --retired-host" in stray.stderr

    def state() -> dict[int, tuple]:
        return {row.id: (row.audio_host, row.audio_path, row.audio_sha256)
                for row in project.query("SELECT id, audio_host, audio_path, audio_sha256 FROM captures")}

    before = state()
    dry = cleanup("--retired-host", "monitor-2", "--by", "ama", "--dry-run")
    # paid (settled) and nothing (no play) would go; pending's money holds it.
    assert dry.returncode == 0 and "2 capture audio reference(s) would be released, 1 kept for unsettled money" \
        in dry.stderr, dry.stderr
    assert state() == before and project.scalar("SELECT count(*) FROM audit_log WHERE action LIKE 'capture.%'") == 0

    done = cleanup("--retired-host", "monitor-2", "--by", "ama")
    assert done.returncode == 0 and "2 capture audio reference(s) released, 1 kept for unsettled money" in done.stderr
    after = state()
    assert after == {**before, paid.id: ("monitor-2", None, paid.audio_sha256),
                     nothing.id: ("monitor-2", None, nothing.audio_sha256)}
    assert after[pending.id] == before[pending.id]
    assert files_under(project.var_dir / "snippets") == alpha_file  # alpha's own file is not another host's
    entries = project.query("SELECT actor, action, entity, entity_id, reason, before_json, after_json FROM audit_log "
                            "WHERE action = 'capture.audio_released'")
    assert len(entries) == 1
    entry = entries[0]
    assert (entry.actor, entry.entity, entry.entity_id) == ("ama", "host", "monitor-2")
    assert entry.reason == "the host is out of service and its capture audio files are gone with it"
    released = sorted([(paid.id, paid.audio_path), (nothing.id, nothing.audio_path)])
    assert json.loads(entry.before_json) == {"captures": [{"id": i, "audio_path": p} for i, p in released]}
    assert json.loads(entry.after_json) == {"captures": [{"id": i, "audio_path": None} for i, _ in released]}

    again = cleanup("--retired-host", "monitor-2", "--by", "ama")
    assert again.returncode == 0 and "0 capture audio reference(s) released, 1 kept for unsettled money" \
        in again.stderr
    assert project.scalar("SELECT count(*) FROM audit_log WHERE action = 'capture.audio_released'") == 1
    # The nightly retention now deletes the released capture that no detection needs, as any without a file;
    # alpha's old unknown capture goes with its file; the captures behind plays stay.
    nightly = cleanup("--captures-days", "30", "--audio-days", "30")
    assert nightly.returncode == 0, nightly.stderr
    assert set(state()) == {paid.id, pending.id}
    assert files_under(project.var_dir / "snippets") == set()
