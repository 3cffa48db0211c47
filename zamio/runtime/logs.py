"""Logging to stderr: one line per event, UTC timestamps, quiet under cron.

Levels by flag: ``-q`` errors only; default warnings plus the run's one-line
summary; ``-v`` progress per batch (INFO); ``-vv`` every item (DEBUG); ``-vvv``
also the SQL statements, without their values: SQLAlchemy logs at INFO, never at
DEBUG (which dumps every row read, stream-link passwords included), and the engine
hides bound parameters (``zamio.db.engine``).
"""

from __future__ import annotations

import logging
import sys
import time

#: Between INFO and WARNING: the one line a run prints by default.
SUMMARY = 25
logging.addLevelName(SUMMARY, "SUMMARY")


class _UTCFormatter(logging.Formatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record.created))


def setup_logging(job_name: str, *, verbose: int = 0, quiet: bool = False) -> None:
    """Send zamio's log records to stderr at the level the flags ask for."""
    if quiet:
        level = logging.ERROR
    elif verbose >= 2:
        level = logging.DEBUG
    elif verbose == 1:
        level = logging.INFO
    else:
        level = SUMMARY
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_UTCFormatter(f"%(asctime)s {job_name}[%(process)d] %(levelname)s %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # Third-party chatter stays at warnings unless every item is asked for.
    logging.getLogger("sqlalchemy").setLevel(logging.WARNING if verbose < 3 else logging.INFO)
    for noisy in ("urllib3", "requests"):
        logging.getLogger(noisy).setLevel(logging.WARNING if verbose < 3 else logging.DEBUG)
