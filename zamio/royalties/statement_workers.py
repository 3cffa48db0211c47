"""Per-recipient statements written by several processes at once (one per core).

Formatting and creating tens of thousands of files is Python work that one
interpreter does on one core; threads share its lock.  So the recipients are cut
into contiguous ranges of about equal lines: the calling process writes the
first range on its own connection, and each other range goes to a child
interpreter (``python -m zamio.royalties.statement_workers``) given, on its
standard input, the database URL, the cycle and its range.  The child opens its
own connection, reads that range's lines with its own ordered query and writes
their files (temporary name, then rename), so nothing but a few bytes of JSON
passes between the processes.  Each file depends on its
recipient's lines only, hence the bytes are those one process would write.

Children, not ``multiprocessing``: a spawned ``multiprocessing`` child
re-runs the calling script (``bin/process-royalty-cycle`` has no main guard),
and a forked one would share the parent's database connections.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

from sqlalchemy import Connection, func, select

from zamio.db import open_engine, sqlite_path, transaction
from zamio.errors import ZamioError
from zamio.royalties.statements import (RecipientRange, StatementCycle, recipient_ranges,
                                        write_recipient_statements)
from zamio.tables import cycle_line_items

WORKERS = 2  # one per core: the worker is Python-bound, the database sort runs beside it
MIN_RECIPIENTS = 2000  # below this, starting an interpreter and its imports costs more than it saves
PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent


class StatementWorkerFailed(ZamioError):
    """A statement worker exited with an error: its files may be missing (rerun --regenerate)."""


def write_statements(conn: Connection, cycle: object, folder: Path, workers: int = WORKERS,
                     min_recipients: int = MIN_RECIPIENTS) -> int:
    """Given a locked cycle, write its per-recipient statements with up to ``workers`` processes; return how many.

    One process (``conn``'s) where the cycle is small, the database is in memory, or ``workers`` is 1.
    """
    statement_cycle = StatementCycle.of(cycle)
    url = conn.engine.url.render_as_string(hide_password=False)
    in_memory = url.startswith("sqlite") and sqlite_path(url) is None
    ranges = [] if workers < 2 or in_memory else recipient_ranges(conn, statement_cycle.id, workers)
    if len(ranges) < 2 or _recipients(conn, statement_cycle.id) < min_recipients:
        return write_recipient_statements(conn, statement_cycle, folder)
    (folder / "statements").mkdir(parents=True, exist_ok=True)
    return _write_ranges(conn, url, statement_cycle, folder.resolve(), ranges)


def _recipients(conn: Connection, cycle_id: int) -> int:
    return int(conn.execute(select(func.count()).where(cycle_line_items.c.cycle_id == cycle_id)).scalar() or 0)


def _write_ranges(conn: Connection, url: str, cycle: StatementCycle, folder: Path,
                  ranges: list[RecipientRange]) -> int:
    """Write the first range here, on ``conn``, while one child per other range writes that range."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(PROJECT_ROOT),
                                                                    os.environ.get("PYTHONPATH")])))
    children: list[tuple[subprocess.Popen, object]] = []
    try:
        for low, high in ranges[1:]:
            errors = tempfile.TemporaryFile(mode="w+")  # a file, not a pipe: a chatty child never blocks
            child = subprocess.Popen([sys.executable, "-m", "zamio.royalties.statement_workers"], env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors, text=True)
            children.append((child, errors))
            request = {"url": url, "cycle": [cycle.id, cycle.name, cycle.method, str(cycle.period_from),
                                             str(cycle.period_to)], "folder": str(folder), "low": low, "high": high}
            child.stdin.write(json.dumps(request))
            child.stdin.close()
        written = write_recipient_statements(conn, cycle, folder, ranges[0])
        return written + sum(_result(child, errors) for child, errors in children)
    finally:
        for child, errors in children:  # on an error (or an interrupt) leave no writer behind
            if child.poll() is None:
                child.kill()
                child.wait()
            child.stdout.close()
            errors.close()


def _result(child: subprocess.Popen, errors: object) -> int:
    out = child.stdout.read()
    if child.wait() != 0:
        errors.seek(0)
        message = errors.read().strip()
        raise StatementWorkerFailed(f"statement worker exited {child.returncode}: "
                                    f"{message.splitlines()[-1] if message else 'no message'}")
    return int(out)


def _serve(request: dict) -> int:
    cid, name, method, period_from, period_to = request["cycle"]
    cycle = StatementCycle(cid, name, method, date.fromisoformat(period_from), date.fromisoformat(period_to))
    recipients = tuple(tuple(bound) if bound is not None else None for bound in (request["low"], request["high"]))
    engine = open_engine(request["url"], application_name="zamio statements")
    try:
        with transaction(engine, read_only=True) as conn:
            return write_recipient_statements(conn, cycle, Path(request["folder"]), recipients)
    finally:
        engine.dispose()


if __name__ == "__main__":
    print(_serve(json.loads(sys.stdin.read())))
