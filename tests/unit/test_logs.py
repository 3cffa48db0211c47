"""Log lines: one logfmt line per event, the run named, the journal's priority when stderr is the journal."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

from tests.support import ROOT, parse_logfmt
from zamio.runtime.logs import SUMMARY, LogfmtFormatter, logfmt_value


def record(message: str, level: int = logging.WARNING) -> logging.LogRecord:
    return logging.LogRecord("zamio.x", level, __file__, 1, message, None, None)


def test_every_event_is_one_line_that_reads_back_to_what_was_logged() -> None:
    formatter = LogfmtFormatter("scan-station-streams")
    formatter.run_id = "6f1c2a9e-0000-4000-8000-000000000000"
    message = 'JOY: stream "down"\nsecond line\twith a tab and a \\ backslash = sign'
    line = formatter.format(record(message))
    assert "\n" not in line
    fields = parse_logfmt(line)
    assert fields["event"] == message
    assert fields["level"] == "warning" and fields["job"] == "scan-station-streams" and fields["run"] == "6f1c2a9e"
    assert list(fields) == ["ts", "level", "job", "run", "pid", "event"]


def test_plain_values_are_bare_and_others_quoted() -> None:
    assert logfmt_value("ok") == "ok"
    assert logfmt_value("a b") == '"a b"'
    assert logfmt_value("") == '""'
    assert logfmt_value("x=1") == '"x=1"'


def test_the_journal_gets_each_line_with_its_syslog_priority() -> None:
    formatter = LogfmtFormatter("warm-cache", journal=True)
    assert formatter.format(record("boom", logging.ERROR)).startswith("<3>ts=")
    assert formatter.format(record("careful", logging.WARNING)).startswith("<4>ts=")
    assert formatter.format(record("exit 0", SUMMARY)).startswith("<5>ts=")


def test_a_script_whose_stderr_is_the_journal_prefixes_priorities(tmp_path: Path) -> None:
    """systemd sets JOURNAL_STREAM to the device and inode of the stream it gave as stderr."""
    stderr_file = tmp_path / "journal"
    with open(stderr_file, "w") as stream:
        stat = os.fstat(stream.fileno())
        env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "ZAMIO_VAR_DIR": str(tmp_path),
               "JOURNAL_STREAM": f"{stat.st_dev}:{stat.st_ino}",
               "DATABASE_URL": f"sqlite:///{tmp_path / 'missing.db'}"}
        done = subprocess.run([sys.executable, str(ROOT / "bin" / "warm-cache")], stderr=stream, env=env, timeout=60)
    assert done.returncode == 78
    lines = stderr_file.read_text().splitlines()
    assert lines and all(line.startswith("<3>ts=") for line in lines), lines
    assert "run bin/migrate" in parse_logfmt(lines[0][3:])["event"]
