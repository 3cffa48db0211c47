"""The cache's family names and how long a warmed value stays fresh, in a module that imports nothing, so that
``bin/warm-cache --help`` and its usage errors show them without loading the cache (``families`` and ``store``
use them from here)."""

from __future__ import annotations

from datetime import timedelta

FAMILY_NAMES = ("station", "artist", "publisher", "platform", "charts")  # the part of a key before the colon
DEFAULT_TTL = timedelta(hours=2)  # warmed hourly: one missed run still leaves the values fresh
