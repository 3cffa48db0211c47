"""``pip install .`` gives a working system from any folder: console scripts, migrations and schedule as package data.

The wheel is built from a copy of the checkout's files, installed into a fresh virtual
environment (its dependencies come from the test environment through a ``.pth`` file, so
nothing is downloaded but the build tools), and its commands are run from a folder outside
the checkout, with no ``bin/`` on the PATH.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.support import BIN, ROOT

SHIPPED = ("setup.cfg", "pyproject.toml", "README.md", "crontab.txt", "zamio", "sql", "systemd")


def _run(command: list[str], **kwargs) -> subprocess.CompletedProcess[str]:  # noqa: ANN003
    return subprocess.run(command, capture_output=True, text=True, timeout=600, **kwargs)


def build_wheel(root: Path) -> Path:
    """The wheel of a copy of the checkout's shipped files, built in ``root``."""
    source = root / "source"
    source.mkdir(parents=True)
    for name in SHIPPED:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / name, source / name)
    built = _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(root / "dist"), str(source)])
    assert built.returncode == 0, built.stderr
    return next((root / "dist").glob("zamio-*.whl"))


def install_wheel(wheel: Path, venv: Path, inside: tuple[str, ...] = (), dependencies: Path | None = None) -> Path:
    """``wheel`` installed into a fresh virtual environment at ``venv``, its dependencies the test environment's
    (found at ``dependencies``, by default where this process finds them); its ``bin/`` folder.  ``inside``: the
    command that runs each step where ``venv`` is (a namespace)."""
    assert _run([*inside, sys.executable, "-m", "venv", "--without-pip", str(venv)]).returncode == 0
    linked = _run([*inside, str(venv / "bin" / "python"), "-c",
                   "import sys, sysconfig; open(sysconfig.get_path('purelib') + '/zamio-test-dependencies.pth', 'w')"
                   ".write(sys.argv[1] + '\\n')", str(dependencies or sysconfig.get_path("purelib"))])
    assert linked.returncode == 0, linked.stderr
    done = _run([*inside, sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q",
                 "--no-deps", "--no-index", str(wheel)])
    assert done.returncode == 0, done.stderr
    return venv / "bin"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin/ folder of a fresh virtual environment with zamio installed from a wheel."""
    root = tmp_path_factory.mktemp("package")
    return install_wheel(build_wheel(root), root / "venv")


def _env(home: Path) -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "HOME": str(home), "ZAMIO_HOME": str(home), "LANG": "C.UTF-8"}


def test_every_job_is_a_command_with_a_version(installed: Path) -> None:
    scripts = sorted(p.name for p in BIN.iterdir() if p.is_file())
    for name in scripts:
        shown = _run([str(installed / name), "--version"], env=_env(Path("/tmp")))
        assert shown.returncode == 0 and shown.stdout.strip() == f"{name} (zamio 0.2.0)", (name, shown.stderr)


def test_an_installed_package_migrates_imports_and_reports_from_any_folder(installed: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / ".env").write_text("ZAMIO_HOST_NAME=packaged-host  # read from ZAMIO_HOME/.env\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = _env(home)
    migrated = _run([str(installed / "migrate")], env=env, cwd=elsewhere)
    assert migrated.returncode == 0, migrated.stderr
    applied = [line for line in migrated.stdout.splitlines() if line.startswith("applied ")]
    assert len(applied) == len(list((ROOT / "sql").glob("*.sql")))
    assert (home / "var" / "zamio.db").is_file()

    stations = elsewhere / "stations.csv"
    stations.write_text("station_ref,name,city,region,station_class,stream_url\n"
                        "joy,Joy FM,Accra,Greater Accra,class_a,\n")
    loaded = _run([str(installed / "import-catalog"), "--stations", str(stations)], env=env, cwd=elsewhere)
    assert loaded.returncode == 0, loaded.stderr

    status = _run([str(installed / "zamio-status"), "--json"], env=env, cwd=elsewhere)
    assert status.returncode == 0, status.stderr
    jobs = {row["job"]: row for row in json.loads(status.stdout)["jobs"]}
    assert jobs["scan-station-streams"]["schedule"] == "*/2 * * * *"  # the schedule came with the package
    assert jobs["import-catalog"]["started_by"] == "manual" and jobs["import-catalog"]["last_status"] == "ok"
    with sqlite3.connect(home / "var" / "zamio.db") as db:
        assert db.execute("SELECT host FROM job_runs WHERE job = 'import-catalog'").fetchone() == ("packaged-host",)
        assert db.execute("SELECT count(*) FROM stations").fetchone() == (1,)


def test_the_package_never_reads_the_checkout(installed: Path) -> None:
    located = _run([str(installed / "python"), "-c",
                    "import zamio.runtime.install as i; print(i.is_checkout(), i.data_path('sql'))"],
                   env=_env(Path("/tmp")), cwd="/")
    assert located.returncode == 0, located.stderr
    is_checkout, sql = located.stdout.split()
    assert is_checkout == "False" and str(installed.parent) in sql and not sql.startswith(str(ROOT))
    assert os.path.isfile(Path(sql) / "0001_initial.sql")


def test_the_statement_template_comes_with_the_package(installed: Path) -> None:
    found = _run([str(installed / "python"), "-c",
                  "from zamio.royalties.statements.formatting import SHIPPED; print(SHIPPED.page_template().filename)"],
                 env=_env(Path("/tmp")), cwd="/")
    assert found.returncode == 0, found.stderr
    template = found.stdout.strip()
    assert template.endswith("statement.html.j2") and str(installed.parent) in template, template
    assert not template.startswith(str(ROOT)) and os.path.isfile(template)


def test_the_e_mail_templates_come_with_the_package(installed: Path) -> None:
    found = _run([str(installed / "python"), "-c",
                  "from zamio.mail.templates import shipped\n"
                  "for parts in shipped().compiled.values(): print(*(t.filename for t in parts), sep='\\n')\n"
                  "print(shipped().render('statement_ready', {'cycle': 'c', 'amount_units': 1, 'currency': 'GHS'})"
                  ".html.count('</p>'))"],
                 env=_env(Path("/tmp")), cwd="/")
    assert found.returncode == 0, found.stderr
    *files, paragraphs = found.stdout.split()
    assert len(files) == 15 and paragraphs == "5", found.stdout  # subject, text and HTML of 5 e-mails; a footer
    for template in files:
        assert str(installed.parent) in template and not template.startswith(str(ROOT)), template
        assert os.path.isfile(template)


def _service_lines(text: str) -> dict[str, list[str]]:
    lines: dict[str, list[str]] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.startswith("#"):
            lines.setdefault(key, []).append(value)
    return lines


@pytest.fixture(scope="module")
def package_units(installed: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The home of an installed package and the systemd units it wrote for itself, as the README says."""
    home = tmp_path_factory.mktemp("package-home")
    written = _run([str(installed / "python"), "-m", "zamio.runtime.schedule", "--write", "units"], env=_env(home),
                   cwd=home)
    assert written.returncode == 0, written.stderr
    return home, home / "units"


def test_the_units_an_installed_package_writes_start_its_commands(installed: Path,
                                                                  package_units: tuple[Path, Path]) -> None:
    home, units = package_units
    jobs = re.findall(r"\$ZAMIO_HOME/bin/([a-z-]+)", (ROOT / "crontab.txt").read_text())  # each scheduled job
    assert jobs and sorted(p.name for p in units.iterdir()) == sorted(
        f"zamio-{job}.{kind}" for job in jobs for kind in ("service", "timer"))
    for job in jobs:
        service = _service_lines((units / f"zamio-{job}.service").read_text())
        program = Path(service["ExecStart"][0].split()[0])
        assert program == installed / job and os.access(program, os.X_OK), service["ExecStart"]
        assert service["WorkingDirectory"] == [str(home)]
        assert service["Environment"] == [f"ZAMIO_HOME={home}", "ZAMIO_STARTED_BY=schedule"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                    reason="systemd-analyze is not installed: the units are checked without systemd only")
def test_systemd_accepts_the_units_an_installed_package_writes(package_units: tuple[Path, Path]) -> None:
    _, units = package_units
    checked = _run(["systemd-analyze", "verify", *map(str, sorted(units.iterdir()))])
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_unit_of_an_installed_package_runs_its_job_as_the_schedule(installed: Path,
                                                                      package_units: tuple[Path, Path]) -> None:
    home, units = package_units
    assert _run([str(installed / "migrate"), "-q"], env=_env(home), cwd=home).returncode == 0
    service = _service_lines((units / "zamio-cleanup-old-data.service").read_text())
    environment = dict(pair.split("=", 1) for pair in service["Environment"])
    # As systemd starts it: the unit's folder and variables, no PATH to speak of, no ZAMIO_HOME inherited.
    started = _run(service["ExecStart"][0].split(), env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", **environment},
                   cwd=service["WorkingDirectory"][0])
    assert started.returncode == 0, started.stderr
    with sqlite3.connect(home / "var" / "zamio.db") as db:
        assert db.execute("SELECT started_by, status FROM job_runs WHERE job = 'cleanup-old-data'").fetchall() == [
            ("schedule", "ok")]
