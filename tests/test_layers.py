"""Data flows one way: a module imports only the core and what is upstream of it.

The stages follow DESIGN.md's data flow.  The numeric core and the network
edges import no database code; the runner imports no domain module.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support import ROOT

#: Rank of each top-level module of zamio: a module may import modules of a lower or equal rank only.
RANKS = {
    # shared services any stage may use
    **dict.fromkeys(("errors", "config", "dburl", "dbtypes", "decimals", "instants", "money", "identifiers", "logs",
                     "pings", "bootstrap"), 0),
    **dict.fromkeys(("db", "tables", "leases", "locks", "runs", "jobs", "migrate", "schedule", "status", "csvimport",
                     "csvwrite"), 1),
    # pure audio and network edges
    **dict.fromkeys(("audio", "fingerprint", "match", "synth", "streams", "acrcloud", "airings"), 2),
    "mail": 2,  # the outbox: any stage may queue an e-mail
    # the stages
    **dict.fromkeys(("catalog", "reference", "recognition", "fingerprinting"), 3),
    "scanning": 4,
    "detect": 4,  # detect-audio --record writes captures with the scanner's writer
    "playlogs": 5,
    "royalties": 6,
    **dict.fromkeys(("cache", "reports", "cleanup"), 7),
    "demo": 9,
}

#: Modules that must not touch a database or the network (pure transforms and protocol edges).
NO_DATABASE = ("audio", "fingerprint", "match", "synth", "streams", "acrcloud", "airings", "money", "decimals",
               "identifiers", "csvwrite")
NO_NUMPY = ("streams", "acrcloud", "jobs", "db", "dburl", "config", "errors", "status", "schedule", "runs", "locks")


def modules() -> list[Path]:
    return sorted(p for p in (ROOT / "zamio").rglob("*.py") if "__pycache__" not in p.parts)


def top_name(path: Path) -> str:
    return path.relative_to(ROOT / "zamio").parts[0].removesuffix(".py")


def imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_follow_the_data_flow(path: Path) -> None:
    own = top_name(path)
    if own == "__init__":
        return
    assert own in RANKS, f"zamio/{own} has no place in the data flow: add it to RANKS in {__file__}"
    for name in imported(path):
        parts = name.split(".")
        if parts[0] != "zamio" or len(parts) < 2 or parts[1] not in RANKS:
            continue
        assert RANKS[parts[1]] <= RANKS[own], f"{path.relative_to(ROOT)} imports {name}, which is downstream of it"
    if own in NO_DATABASE:
        assert not any(n.split(".")[0] in ("sqlalchemy", "psycopg2") for n in imported(path)), path
        assert not any(n.startswith(("zamio.db", "zamio.tables", "zamio.jobs")) for n in imported(path)), path
    if own in NO_NUMPY:
        assert not any(n.split(".")[0] in ("numpy", "scipy") for n in imported(path)), path
