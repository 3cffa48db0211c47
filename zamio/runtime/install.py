"""Where an installation keeps its files: a checkout, or a package installed with pip.

A **checkout** (``git clone`` then ``make install``) holds ``sql/``, ``crontab.txt``
and ``systemd/`` beside ``zamio/``, and is its own home: ``.env`` and ``var/`` are
there.  A **package** (``pip install .``) carries the migrations and the schedule as
data installed under the environment's ``share/zamio/``, found through the package's
own record of its files (its systemd units are written for it by
``zamio.runtime.schedule``, naming its own commands), and its home is
``$ZAMIO_HOME`` (which ``crontab.txt`` and the units set) or else the folder the
job starts in (the service user's home under cron).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cache
from pathlib import Path

from zamio.runtime.errors import ConfigError

CHECKOUT_ROOT = Path(__file__).resolve().parents[2]
DISTRIBUTION = "zamio"
DATA_PREFIX = "share/zamio/"


def is_checkout() -> bool:
    """True when this code runs from a checkout (its ``sql/`` and ``crontab.txt`` beside the package)."""
    return (CHECKOUT_ROOT / "sql").is_dir() and (CHECKOUT_ROOT / "crontab.txt").is_file()


def home(environ: Mapping[str, str] = os.environ) -> Path:
    """The folder holding this installation's ``.env`` and, by default, its ``var/``."""
    if is_checkout():
        return CHECKOUT_ROOT
    return Path(environ.get("ZAMIO_HOME") or os.getcwd())


def data_path(relative: str) -> Path:
    """A file or folder shipped with zamio (``sql``, ``crontab.txt``), wherever it is installed."""
    if is_checkout():
        return CHECKOUT_ROOT / relative
    return _installed_data().get(relative) or _missing(relative)


@cache
def _installed_data() -> dict[str, Path]:
    """Each data file of the installed package, and each folder holding some, by its path under ``share/zamio``."""
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        files = distribution(DISTRIBUTION).files or []
    except PackageNotFoundError:
        return {}
    found: dict[str, Path] = {}
    for file in files:
        posix = file.as_posix()
        if DATA_PREFIX not in posix:
            continue
        relative = posix.split(DATA_PREFIX, 1)[1]
        located = Path(str(file.locate())).resolve()
        found[relative] = located
        if "/" in relative:
            found.setdefault(relative.rsplit("/", 1)[0], located.parent)
    return found


def _missing(relative: str) -> Path:
    raise ConfigError(f"zamio's {relative} is not installed with the package: reinstall it with "
                      f"'pip install .' from a checkout, or run the scripts of a checkout")


def version() -> str:
    """The installed version of zamio (``unknown`` when run from a checkout never installed)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed_version

    try:
        return installed_version(DISTRIBUTION)
    except PackageNotFoundError:
        return "unknown"
