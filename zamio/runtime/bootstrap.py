"""Run ``bin/`` scripts under the project's virtual environment, whatever started them.

cron starts jobs with ``PATH=/usr/bin:/bin``, so ``#!/usr/bin/env python3``
finds the system interpreter.  When the installation has a ``.venv`` (made by
``make install``) and this process is not already running in it, re-execute
the same script with the venv's interpreter.  Only the standard library is
used before that point, so the detour costs one ``exec``.
"""

from __future__ import annotations

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
VENV = os.environ.get("ZAMIO_VENV") or os.path.join(ROOT, ".venv")


def reexec_in_venv() -> None:
    python = os.path.join(VENV, "bin", "python")
    if os.environ.get("ZAMIO_NO_REEXEC") or not os.path.exists(python):
        return
    if os.path.realpath(sys.prefix) == os.path.realpath(VENV):
        return
    os.environ["ZAMIO_NO_REEXEC"] = "1"  # never loop, whatever the venv holds
    os.execv(python, [python, *sys.argv])


reexec_in_venv()
