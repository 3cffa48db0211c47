"""bin/backup and bin/restore: a restored installation reports and regenerates exactly what the original does."""

from __future__ import annotations

import json
from pathlib import Path

from tests import money_world
from tests.support import Project, create_postgres_database, drop_postgres_database

#: The restored installation's var folder (the test harness keeps its own settings file in Project.var_dir).
RESTORED_VAR = "data"


def _restored(project: Project, tmp_path: Path) -> tuple[Project, str | None]:
    """An empty database of the same kind, and a project whose var folder is new."""
    if project.is_sqlite:
        return Project(f"sqlite:///{tmp_path / 'restored' / RESTORED_VAR / 'zamio.db'}", tmp_path / "restored"), None
    name, url = create_postgres_database(empty=True)
    return Project(url, tmp_path / "restored"), name


def _regenerated(project: Project, cycle: str, out: Path) -> dict[str, bytes]:
    result = project.script("process-royalty-cycle", "--name", cycle, "--regenerate", "--out", str(out))
    assert result.returncode == 0, result.stderr
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def _status(project: Project) -> list[dict]:
    shown = project.script("zamio-status", "--json")
    assert shown.returncode == 0, shown.stderr
    return json.loads(shown.stdout)["jobs"]


def test_a_restore_reports_and_regenerates_byte_identical(project: Project, tmp_path: Path) -> None:
    money_world.build(project)
    evidence = project.var_dir / "snippets" / "JOY" / "capture.wav"
    evidence.parent.mkdir(parents=True)
    evidence.write_bytes(b"RIFF evidence of an airing")
    made = project.script("backup", "--out", str(tmp_path / "backups"))
    assert made.returncode == 0, made.stderr
    folder = Path(made.stdout.strip())
    assert folder.parent == tmp_path / "backups" and folder.name.startswith("zamio-backup-")
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["manifest.json", "files.tar", "database.sqlite" if project.is_sqlite else "database.pgdump"])

    restored, pg_name = _restored(project, tmp_path)
    try:
        var = restored.tmp_path / RESTORED_VAR
        done = restored.script("restore", str(folder), env=restored.env(ZAMIO_VAR_DIR=str(var)))
        assert done.returncode == 0, done.stderr
        assert (var / "snippets" / "JOY" / "capture.wav").read_bytes() == b"RIFF evidence of an airing"
        assert _status(restored) == _status(project)
        for cycle in (money_world.MARCH, money_world.APRIL):
            original = _regenerated(project, cycle, tmp_path / "again" / "original" / cycle)
            assert original, f"{cycle} wrote no file"
            assert _regenerated(restored, cycle, tmp_path / "again" / "restored" / cycle) == original
        again = restored.script("restore", str(folder), env=restored.env(ZAMIO_VAR_DIR=str(var)))
        assert again.returncode == 65, again.stderr  # never over what is there
    finally:
        restored.engine.dispose()
        if pg_name:
            drop_postgres_database(pg_name)


def test_a_damaged_backup_is_refused_and_nothing_is_written(project: Project, tmp_path: Path) -> None:
    money_world.load(project)
    made = project.script("backup", "--out", str(tmp_path / "backups"))
    assert made.returncode == 0, made.stderr
    folder = Path(made.stdout.strip())
    archive = folder / "files.tar"
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0xFF
    archive.write_bytes(bytes(data))
    target = tmp_path / "restored"
    restored = Project(f"sqlite:///{target / RESTORED_VAR / 'zamio.db'}", target)
    refused = restored.script("restore", str(folder), env=restored.env(ZAMIO_VAR_DIR=str(target / RESTORED_VAR)))
    assert refused.returncode == 65
    assert "files.tar is missing or differs from the backup's manifest" in refused.stderr
    written = [p for p in (target / RESTORED_VAR).rglob("*") if p.is_file() and p.parent.suffix != ".locks"]
    assert not written  # no database, no file (the restore's own lock aside)
