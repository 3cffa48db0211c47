"""Upgrading from the previous release: its scripts fill a database, the current code migrates it, no money moves.

The previous release is taken from the commit CHANGELOG.md names for it (``git archive``), and
its own ``bin/`` scripts run with this interpreter (they put their own tree first on the path).
"""

from __future__ import annotations

import csv
import io
import re
import subprocess
import sys
import tarfile
from pathlib import Path

from tests import money_world
from tests.support import ROOT, Project

RELEASE = re.compile(r"^## (\d+\.\d+\.\d+) \(\d{4}-\d{2}-\d{2}, commit ([0-9a-f]{7,40})\)", re.M)


def previous_release() -> tuple[str, str]:
    """The newest released version in CHANGELOG.md and its commit."""
    found = RELEASE.findall((ROOT / "CHANGELOG.md").read_text())
    assert found, "CHANGELOG.md names no released version with its commit"
    return found[0]


class Release(Project):
    """The same database and folders, with the scripts of another release's tree."""

    root: Path = ROOT

    def script(self, name: str, *args: str, timeout: float = 300, env: dict[str, str] | None = None,
               cwd: str | Path | None = None, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, str(self.root / "bin" / name), *args], env=env or self.env(),
                              cwd=cwd or self.tmp_path, capture_output=True, text=True, timeout=timeout, input=input)


def unpack(commit: str, folder: Path) -> Path:
    archive = folder / "release.tar"
    with open(archive, "wb") as out:
        done = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", commit], stdout=out,
                              stderr=subprocess.PIPE, text=True)
    assert done.returncode == 0, f"cannot read commit {commit} (a clone with its history is needed): {done.stderr}"
    with tarfile.open(archive) as tar:
        tar.extractall(folder / "release", filter="data")
    return folder / "release"


def same_statements(then: dict[str, bytes], now: dict[str, bytes]) -> bool:
    """Whether the recipients' statements regenerated now hold the lines and amounts of those written then.

    0.2.0 writes each statement as a page a person reads, adds a summary CSV beside it and two columns
    (the station-local time and what the line means) after the former ones of the lines CSV, whose
    amounts are shared out so that they add up to the net (here they are those rounded one by one)."""
    pages = {k for k in then if k.startswith("statements/") and k.endswith(".html")}
    assert {k for k in now if k.startswith("statements/") and k.endswith(".html")} == pages
    for page in pages:
        stem = page.removesuffix(".html")
        assert f"{stem}.summary.csv" in now, stem
        old = list(csv.reader(io.StringIO(then[f"{stem}.csv"].decode())))
        new = list(csv.reader(io.StringIO(now[f"{stem}.csv"].decode())))
        assert [row[:13] for row in new] == old, stem
    return True


def ledger(project: Project) -> list[tuple]:
    return [tuple(row) for row in project.query(
        "SELECT recipient_type, recipient_ref, sum(amount) FROM royalty_ledger "
        "GROUP BY recipient_type, recipient_ref ORDER BY recipient_type, recipient_ref")]


def test_a_database_of_the_previous_release_upgrades_without_moving_money(empty_project: Project,
                                                                          tmp_path: Path) -> None:
    version, commit = previous_release()
    old = Release(empty_project.database_url, empty_project.tmp_path)
    old.root = unpack(commit, tmp_path)
    migrated = old.script("migrate")
    assert migrated.returncode == 0, migrated.stderr
    old_migrations = sorted(p.name for p in (old.root / "sql").glob("*.sql"))
    assert migrated.stdout.split() == [word for name in old_migrations for word in ("applied", name)]
    assert old.script("zamio-status", "--version").stdout.strip() == f"zamio-status (zamio {version})" \
        or version == "0.1.0"  # 0.1.0 had no --version
    money_world.load(old)
    assert "GHS gross priced             9.8700" in money_world.close_march(old)
    march = money_world.cycle_folder(empty_project, money_world.MARCH)
    files_then = {str(p.relative_to(march)): p.read_bytes() for p in sorted(march.rglob("*")) if p.is_file()}
    money_then = ledger(empty_project)

    upgraded = empty_project.script("migrate")
    assert upgraded.returncode == 0, upgraded.stderr
    new_migrations = sorted(p.name for p in (ROOT / "sql").glob("*.sql") if p.name not in old_migrations)
    assert upgraded.stdout.split() == [word for name in new_migrations for word in ("applied", name)]
    priced = empty_project.script("calculate-royalty-distributions")
    assert priced.returncode == 0, priced.stderr
    assert ledger(empty_project) == money_then  # the upgrade moved no money
    again = tmp_path / "regenerated"
    result = empty_project.script("process-royalty-cycle", "--name", money_world.MARCH, "--regenerate",
                                  "--out", str(again))
    assert result.returncode == 0, result.stderr
    files_now = {str(p.relative_to(again)): p.read_bytes() for p in sorted(again.rglob("*")) if p.is_file()}
    assert same_statements(files_then, files_now)
    assert {k: v for k, v in files_now.items() if not k.startswith("statements/")} == \
        {k: v for k, v in files_then.items() if not k.startswith("statements/")}
    assert "GHS gross priced           100.0000" in money_world.close_april(empty_project)
    status = empty_project.script("zamio-status")
    assert status.returncode == 0, status.stderr
