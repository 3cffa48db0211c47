"""Logging to stderr: one logfmt line per event, UTC timestamps, quiet under cron.

A line reads ``ts=2026-03-02T07:00:00Z level=warning job=scan-station-streams
run=6f1c2a9e pid=4242 event="JOY: stream down"``: every event of one run carries the
run's id (the first eight characters of ``job_runs.run_id``), so ``grep run=6f1c2a9e``
finds all of it, and a value with spaces, quotes or newlines is quoted and escaped, so
an event is always one line (a traceback too: its lines are joined with ``\\n``).

Under cron the lines go to the mail cron sends (``MAILTO``) and, with ``-q``, only errors
do.  Under systemd they go to the journal: when standard error is the journal's stream
(``JOURNAL_STREAM``), each line starts with its syslog priority (``<3>`` error,
``<4>`` warning, ``<5>`` the run's summary, ``<6>`` info, ``<7>`` debug), so
``journalctl -p warning`` shows what matters.

Levels by flag: ``-q`` errors only; default warnings plus the run's one-line
summary; ``-v`` progress per batch (INFO); ``-vv`` every item (DEBUG); ``-vvv``
also the SQL statements, without their values: SQLAlchemy logs at INFO, never at
DEBUG (which dumps every row read, stream-link passwords included), and the engine
hides bound parameters (``zamio.db.engine``).
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
from collections.abc import Mapping

#: Between INFO and WARNING: the one line a run prints by default.
SUMMARY = 25
logging.addLevelName(SUMMARY, "SUMMARY")

#: Syslog priorities by level, for the journal.
PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, SUMMARY: 5, logging.WARNING: 4, logging.ERROR: 3, logging.CRITICAL: 2}
_PLAIN_VALUE = re.compile(r"[^\s=\"\\]+")


def logfmt_value(value: object) -> str:
    """A value as logfmt writes it: bare when it can be, else quoted with ``\\``, ``"`` and newlines escaped."""
    text = str(value)
    if _PLAIN_VALUE.fullmatch(text):
        return text
    escaped = (text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
               .replace("\t", "\\t"))
    return f'"{escaped}"'


class LogfmtFormatter(logging.Formatter):
    """``ts= level= job= run= pid= event=``: one line per record, the run named once it has its id."""

    def __init__(self, job_name: str, *, journal: bool = False) -> None:
        super().__init__()
        self.job_name = job_name
        self.run_id: str | None = None
        self.journal = journal

    def format(self, record: logging.LogRecord) -> str:
        event = record.getMessage()
        if record.exc_info:
            event = f"{event}\n{self.formatException(record.exc_info)}"
        fields = {"ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record.created)),
                  "level": record.levelname.lower(), "job": self.job_name}
        if self.run_id:
            fields["run"] = self.run_id[:8]
        fields["pid"] = str(record.process)
        fields["event"] = event
        line = " ".join(f"{key}={logfmt_value(value)}" for key, value in fields.items())
        if self.journal:
            return f"<{PRIORITY.get(record.levelno, 6)}>{line}"
        return line


def stderr_is_the_journal(environ: Mapping[str, str] = os.environ) -> bool:
    """True when systemd connected standard error to the journal (``JOURNAL_STREAM`` names its device and inode)."""
    stream = environ.get("JOURNAL_STREAM", "")
    try:
        device, inode = (int(part) for part in stream.split(":"))
        stat = os.fstat(sys.stderr.fileno())
    except (ValueError, OSError, AttributeError):
        return False
    return (stat.st_dev, stat.st_ino) == (device, inode)


_formatter: LogfmtFormatter | None = None


def setup_logging(job_name: str, *, verbose: int = 0, quiet: bool = False) -> None:
    """Send zamio's log records to stderr, one logfmt line each, at the level the flags ask for."""
    global _formatter
    if quiet:
        level = logging.ERROR
    elif verbose >= 2:
        level = logging.DEBUG
    elif verbose == 1:
        level = logging.INFO
    else:
        level = SUMMARY
    handler = logging.StreamHandler(sys.stderr)
    _formatter = LogfmtFormatter(job_name, journal=stderr_is_the_journal())
    handler.setFormatter(_formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # Third-party chatter stays at warnings unless every item is asked for.
    logging.getLogger("sqlalchemy").setLevel(logging.WARNING if verbose < 3 else logging.INFO)
    # urllib3 warns of each retry it makes itself; zamio logs every retry and failure in its own words, so below
    # -vvv only urllib3's errors show.
    logging.getLogger("urllib3").setLevel(logging.ERROR if verbose < 3 else logging.DEBUG)
    logging.getLogger("requests").setLevel(logging.WARNING if verbose < 3 else logging.DEBUG)


def set_run_id(run_id: str) -> None:
    """Name the run in every later line (the runner calls this once the run has its id)."""
    if _formatter is not None:
        _formatter.run_id = run_id
