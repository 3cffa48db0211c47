"""The layout's contracts hold: data flows one way through the stages.

The contracts live in ``setup.cfg`` (``[importlinter:contract:…]``): the stages in
pipeline order, the royalties rooms in the order money flows, the database layer,
the shared values and the runtime importing no stage, the pure transforms and
protocol edges touching no database, the edges loading no numerical library.
This test runs ``lint-imports`` on them, so a wrong import fails the suite.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support import ROOT


def lint_imports() -> str:
    found = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert found, "lint-imports is missing: make install-test installs import-linter"
    return found


def run_contracts(root: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(root))
    return subprocess.run([lint_imports(), "--config", str(root / "setup.cfg"), "--no-cache"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300)


def test_the_layout_keeps_its_contracts() -> None:
    result = run_contracts(ROOT)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_a_wrong_import_breaks_a_contract(tmp_path: Path) -> None:
    """The contracts catch what the old rank test missed: imports below the top level,
    from a lower room of royalties to a higher one, and from the database layer up."""
    shutil.copytree(ROOT / "zamio", tmp_path / "zamio", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "setup.cfg", tmp_path / "setup.cfg")
    wrong = {
        "zamio/royalties/pricing/split.py": "import zamio.royalties.cycles.closing\n",
        "zamio/db/types.py": "import zamio.playlogs.billing\n",
        "zamio/recognition/match.py": "import zamio.db.tables\n",
        "zamio/scanning/gaps.py": "import zamio.royalties.pricing.run\n",
    }
    for path, line in wrong.items():
        target = tmp_path / path
        target.write_text(target.read_text() + "\n" + line)
    result = run_contracts(tmp_path)
    assert result.returncode != 0
    for module in ("zamio.royalties.pricing.split", "zamio.db.types", "zamio.recognition.match", "zamio.scanning.gaps"):
        assert module in result.stdout, (module, result.stdout[-4000:])


def test_the_domain_takes_no_job_context() -> None:
    """Domain functions take connections, settings and the runtime's protocols: ``ctx`` stays in the adapters."""
    found = []
    for path in sorted((ROOT / "zamio").rglob("*.py")):
        relative = path.relative_to(ROOT)
        if relative.parts[1] == "jobs" or relative == Path("zamio/runtime/runner.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                names = [a.arg for a in node.args.posonlyargs + node.args.args + node.args.kwonlyargs]
                found += [f"{relative}:{node.lineno} {node.name}" for name in names if name == "ctx"]
    assert not found, f"functions of the domain taking a job context: {found}"
