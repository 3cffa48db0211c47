"""A close that locked its cycle but did not write its files is finished by running it again.

The statement e-mails are queued once the files exist, exactly once however often the close is run.
The close is really killed (SIGKILL) between the lock and the files: a named pipe stands where its first
file is written, so the job blocks there, after the lock has committed, until the test kills it.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import Project, create_postgres_database, drop_postgres_database, migrated_sqlite_url
from tests.world import World

CYCLE = ("--name", "2026-03", "--from", "2026-03-01", "--to", "2026-03-31")
# The recipients with an address: contributor ama and the society PRS (052), each once.
MAILS = [("ama@example.com", "statement_ready:2026-03:contributor:ama:GHS"),
         ("prs@example.org", "statement_ready:2026-03:society:052:GHS")]


@pytest.fixture
def twin(project: Project, tmp_path: Path) -> Iterator[Project]:
    """A second fresh database of the same kind as ``project``'s, where the same month closes uninterrupted."""
    folder = tmp_path / "twin"
    folder.mkdir()
    if project.is_sqlite:
        yield Project(migrated_sqlite_url(folder / "zamio.db"), folder)
        return
    name, url = create_postgres_database()
    other = Project(url, folder)
    try:
        yield other
    finally:
        other.engine.dispose()
        drop_postgres_database(name)


def month(project: Project) -> None:
    """Class B station: a PRS work of 240 s, a local work of 125 s shared by Ama (with an e-mail) and Yaw."""
    world = World(project)
    station = world.station(station_class="class_b")
    world.society("052", "Performing Right Society (PRS for Music)", "PRS", "GBP", email="prs@example.org")
    world.agreement("052", "15", "2025-01-01")
    prs = world.track("t-prs", "London", "UK Artist", society="052")
    local = world.track("t1", "Odo", "Ama")
    world.contributor(local, "Ama", "50", email="ama@example.com")
    world.contributor(local, "Yaw", "50")
    world.play(station, "2026-03-02 12:00", 240, track=prs)
    world.play(station, "2026-03-03 12:00", 125, track=local)
    world.load()


def files(folder: Path) -> dict[Path, bytes]:
    return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def outbox(project: Project) -> list[tuple[str, str]]:
    return [tuple(r) for r in project.query("SELECT recipient, dedupe_key FROM email_outbox ORDER BY dedupe_key")]


def state(project: Project) -> tuple[str, object]:
    row = project.query("SELECT status, files_written_at FROM royalty_cycles WHERE name = '2026-03'")[0]
    return row.status, row.files_written_at


def test_a_close_killed_between_its_lock_and_its_files_is_finished_by_running_it_again(project: Project,
                                                                                     twin: Project) -> None:
    month(project)
    out = project.tmp_path / "cycles" / "2026-03"
    out.mkdir(parents=True)
    os.mkfifo(out / "statements.csv.tmp")  # the close's first file: opening it blocks until someone reads
    victim = project.popen("process-royalty-cycle", *CYCLE, "--out", str(out))
    try:
        deadline = time.monotonic() + 90
        while project.scalar("SELECT count(*) FROM royalty_cycles WHERE status = 'locked'") == 0:
            assert victim.poll() is None, victim.communicate()
            assert time.monotonic() < deadline, "the close did not lock its cycle"
            time.sleep(0.1)
    finally:
        victim.send_signal(signal.SIGKILL)
        victim.communicate()
    assert victim.returncode == -signal.SIGKILL
    assert state(project)[0] == "locked" and state(project)[1] is None
    assert files(out) == {} and outbox(project) == []  # no e-mail announces files that are not there
    (out / "statements.csv.tmp").unlink()

    again = project.script("process-royalty-cycle", *CYCLE, "--out", str(out))
    assert again.returncode == 0, again.stderr
    assert "but its close did not finish (files, statement e-mails): finishing it" in again.stdout
    assert "inputs of cycle 2026-03: unchanged since the lock" in again.stdout
    assert "2 statement e-mail(s) queued" in again.stdout
    assert state(project)[1] is not None and outbox(project) == MAILS

    month(twin)  # the same month closed without interruption
    reference = twin.tmp_path / "cycles" / "2026-03"
    uninterrupted = twin.script("process-royalty-cycle", *CYCLE, "--out", str(reference))
    assert uninterrupted.returncode == 0, uninterrupted.stderr
    # statements.csv, remittances.csv, balances.csv, summary.txt, PRS's usage report and its invalid rows, and a
    # page, a lines CSV and a summary CSV for each of Ama, Yaw, GHAMRO and PRS: byte for byte the uninterrupted
    # close's.
    assert files(out) == files(reference) and len(files(out)) == 18
    assert outbox(twin) == MAILS

    third = project.script("process-royalty-cycle", *CYCLE, "--out", str(out))
    assert third.returncode == 0 and "not recomputed" in third.stdout, third.stderr
    assert outbox(project) == MAILS  # still one each


def test_an_unwritable_output_folder_stops_the_close_clearly_and_a_rerun_finishes_it(project: Project) -> None:
    month(project)
    out = project.tmp_path / "cycles" / "2026-03"
    out.parent.mkdir(parents=True)
    out.write_text("a file where the cycle's folder should be")
    blocked = project.script("process-royalty-cycle", *CYCLE, "--out", str(out))
    assert blocked.returncode == 78, (blocked.stdout, blocked.stderr)
    assert f"cannot write the files of cycle 2026-03 in {out}" in blocked.stderr
    assert "make the folder writable (or choose another with --out DIR) and run the same command again" \
        in blocked.stderr
    assert "Traceback" not in blocked.stderr
    assert state(project)[0] == "locked" and state(project)[1] is None and outbox(project) == []
    out.unlink()
    again = project.script("process-royalty-cycle", *CYCLE, "--out", str(out))
    assert again.returncode == 0, again.stderr
    assert "finishing it" in again.stdout and outbox(project) == MAILS
    assert (out / "statements.csv").read_text().splitlines()[1:] == [
        # Class B regular, GHS 0.012/s: PRS 240 s = 28,800 units (fee 15 % = 4,320, PRS 24,480);
        # the local work 125 s = 15,000 units, Ama and Yaw 7,500 each.
        "contributor,ama,Ama,GHS,1,125.000,0.75,0.00,0.75",
        "contributor,yaw,Yaw,GHS,1,125.000,0.75,0.00,0.75",
        "local_society,285,GHAMRO,GHS,0,0.000,0.43,0.00,0.43",
        "society,052,PRS,GHS,1,240.000,2.88,0.43,2.45"]
    assert (out / "statements" / "contributor-ama.GHS.html").is_file()
    assert project.script("process-royalty-cycle", *CYCLE, "--out", str(out)).returncode == 0
    assert outbox(project) == MAILS
