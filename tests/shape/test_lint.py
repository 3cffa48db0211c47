"""ruff and mypy pass on the project, with the settings in ruff.toml and setup.cfg."""

from __future__ import annotations

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
