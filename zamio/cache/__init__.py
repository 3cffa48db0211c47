"""The dashboard cache: aggregates warmed hourly into ``cache_entries``, read with :func:`get`.

``get(bind, "station:12")`` returns the fresh value of a key, or recomputes that
key alone (not its whole family) when it is missing, expired or of an older
schema version, stores it and returns it.  ``warm`` recomputes every key.

The names below load their module on first use (PEP 562), so that ``zamio.cache.terms``, the family
names and lifetime that ``bin/warm-cache --help`` shows, loads no database code.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from zamio.cache.families import FAMILIES, SCHEMA_VERSION
    from zamio.cache.lookup import compute, get, parse_key, warm_family

__all__ = ["FAMILIES", "SCHEMA_VERSION", "get", "parse_key", "compute", "warm_family"]


def __getattr__(name: str) -> object:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    home = "families" if name in ("FAMILIES", "SCHEMA_VERSION") else "lookup"
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
