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


def public_bare_any(root: Path) -> list[str]:
    """Parameters and returns typed plain ``Any`` in the public functions of the domain (not the job
    adapters, the runtime or the demo).  A database row (``Row[Any]``) or a JSON document
    (``dict[str, Any]``) says what it is; a plain ``Any`` says nothing."""
    found = []
    for path in sorted((root / "zamio").rglob("*.py")):
        if path.relative_to(root).parts[1] in ("jobs", "runtime", "demo"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) or node.name.startswith("_"):
                continue
            arguments = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
            annotations = [(a.arg, a.annotation) for a in arguments] + [("return", node.returns)]
            found += [f"{path.relative_to(root)}:{node.lineno} {node.name}({name})" for name, annotation in annotations
                      if annotation is not None and ast.unparse(annotation) in ("Any", "Any | None", "Optional[Any]")]
    return found


def test_the_public_signatures_of_the_domain_name_their_types() -> None:
    assert not public_bare_any(ROOT)


def test_a_plain_any_in_a_public_signature_is_found(tmp_path: Path) -> None:
    (tmp_path / "zamio" / "catalog").mkdir(parents=True)
    (tmp_path / "zamio" / "catalog" / "x.py").write_text(
        "from typing import Any\n\ndef load(row: Any) -> int: ...\n\ndef _own(row: Any) -> Any: ...\n")
    assert public_bare_any(tmp_path) == ["zamio/catalog/x.py:3 load(row)"]


#: The packages whose public signatures name no ``Any`` at all: rows are ``StoredRow`` (``zamio.db.engine``) or
#: typed rows (``zamio.playlogs.billing.PlayRow``), JSON documents ``TypedDict`` shapes or ``dict[str, object]``;
#: mypy also refuses their bare generics.
TYPED_PACKAGES = ("runtime", "jobs", "db", "cache", "reports", "catalog", "values", "files", "mail", "playlogs",
                  "royalties/pricing", "royalties/suspense")
#: Where one stays, and why (signature → reason).
ANY_KEPT: dict[str, str] = {}


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


def test_the_runtime_database_and_stages_below_money_name_their_types() -> None:
    assert sorted(set(any_in_signatures(ROOT, TYPED_PACKAGES)) - set(ANY_KEPT)) == []
    assert set(ANY_KEPT) <= set(any_in_signatures(ROOT, TYPED_PACKAGES)), "a kept Any is gone: drop it from ANY_KEPT"


def test_an_any_nested_in_a_signature_is_found(tmp_path: Path) -> None:
    (tmp_path / "zamio" / "db").mkdir(parents=True)
    (tmp_path / "zamio" / "db" / "x.py").write_text(
        "from typing import Any\n\ndef rows(conn: object, **values: Any) -> list[Row[Any]]: ...\n\n"
        "def _own(row: Any) -> Any: ...\n")
    assert any_in_signatures(tmp_path, ("db",)) == ["zamio/db/x.py rows(values)", "zamio/db/x.py rows(return)"]
