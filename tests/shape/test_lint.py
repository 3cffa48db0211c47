"""ruff and mypy pass on the project, with the settings in ruff.toml and setup.cfg."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support import ROOT


def tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent))
    assert found, f"{name} is missing: make install-test installs it"
    return found


def test_ruff_passes() -> None:
    result = subprocess.run([tool("ruff"), "check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


def test_mypy_passes() -> None:
    result = subprocess.run([tool("mypy"), "--no-incremental", "--cache-dir", "/dev/null", "zamio"], cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


#: Where an ``Any`` stays in a public signature, and why (signature → reason).
ANY_KEPT: dict[str, str] = {}


def packages(root: Path) -> tuple[str, ...]:
    """Every package of the library, so a new one is checked from its first module."""
    return tuple(sorted(path.name for path in (root / "zamio").iterdir() if (path / "__init__.py").is_file()))


def any_in_signatures(root: Path, packages: tuple[str, ...]) -> list[str]:
    """Parameters and returns of the public functions of ``packages`` whose annotation names ``Any`` anywhere
    (``Any``, ``Row[Any]``, ``dict[str, Any]``)."""
    found = []
    for package in packages:
        for path in sorted((root / "zamio" / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) or node.name.startswith("_"):
                    continue
                arguments = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
                arguments += [a for a in (node.args.vararg, node.args.kwarg) if a is not None]
                annotations = [(a.arg, a.annotation) for a in arguments] + [("return", node.returns)]
                found += [f"{path.relative_to(root)} {node.name}({name})" for name, annotation in annotations
                          if annotation is not None and re.search(r"\bAny\b", ast.unparse(annotation))]
    return found


def test_the_public_signatures_of_the_library_name_their_types() -> None:
    """No public function takes or returns ``Any``: a row a query returns is a ``StoredRow``
    (``zamio.db.engine``) or a typed row, a JSON document a ``TypedDict`` or ``dict[str, object]``."""
    found = any_in_signatures(ROOT, packages(ROOT))
    assert sorted(set(found) - set(ANY_KEPT)) == []
    assert set(ANY_KEPT) <= set(found), "a kept Any is gone: drop it from ANY_KEPT"


def test_every_package_is_checked() -> None:
    assert {"runtime", "jobs", "db", "catalog", "recognition", "streams", "scanning", "playlogs", "royalties",
            "cache", "reports", "mail", "values", "files", "demo"} <= set(packages(ROOT))


def test_an_any_nested_in_a_signature_is_found(tmp_path: Path) -> None:
    (tmp_path / "zamio" / "db").mkdir(parents=True)
    (tmp_path / "zamio" / "db" / "x.py").write_text(
        "from typing import Any\n\ndef rows(conn: object, **values: Any) -> list[Row[Any]]: ...\n\n"
        "def _own(row: Any) -> Any: ...\n")
    assert any_in_signatures(tmp_path, ("db",)) == ["zamio/db/x.py rows(values)", "zamio/db/x.py rows(return)"]
