"""Per-recipient statements written by several processes at once (one per core).

Formatting and creating tens of thousands of files is work that one interpreter
does on one core; threads share its lock.  So the recipients (the cycle's line
items) are cut into ranges of ids with about equal lines: the calling process
writes the first range on its own connection, and each other range goes to a
child interpreter (``python -m zamio.royalties.statements.workers``) given, on
its standard input, the database URL, the cycle, its range and the folder to
write in.  The child opens its own connection, reads that range's lines with its
own ordered query and writes their files (with the letterhead and templates it is
given), so nothing but a few bytes of JSON passes between the processes.  Each file
depends on its recipient's lines only, hence the bytes are those one process would write.

The files are written straight into a hidden folder beside ``statements/``
(``.statements.partial``), which then takes its place by renaming: a reader sees
the former set of files or the new one, never half a file, and a file costs one
creation instead of a temporary file and a rename.  A run killed before the rename
leaves the hidden folder, which the next run clears.

Children, not ``multiprocessing``: a spawned ``multiprocessing`` child
re-runs the calling script (``bin/process-royalty-cycle`` has no main guard),
and a forked one would share the parent's database connections.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, func, select

from zamio.db.engine import StoredRow, open_engine, transaction
from zamio.db.tables import cycle_line_items
from zamio.db.url import parse_database_url
from zamio.royalties.statements.formatting import SHIPPED, Presentation
from zamio.royalties.statements.select import ItemRange, StatementCycle, recipient_ranges
from zamio.royalties.statements.write import write_recipient_statements
from zamio.runtime.errors import ZamioError

WORKERS = 2  # one per core: the worker is Python-bound, the database sort runs beside it
STAGING = ".statements.partial"  # beside statements/: the same file system, so a rename moves it
REPLACED = ".statements.replaced"
MIN_RECIPIENTS = 2000  # below this, starting an interpreter and its imports costs more than it saves
PROJECT_ROOT = Path(__file__).resolve().parents[3]


class StatementWorkerFailed(ZamioError):
    """A statement worker exited with an error: no file was put in place (running the close again finishes it)."""


def write_statements(conn: Connection, cycle: StoredRow, folder: Path, workers: int = WORKERS,
                     min_recipients: int = MIN_RECIPIENTS, presentation: Presentation = SHIPPED) -> int:
    """Given a locked cycle, write its per-recipient statements into ``folder/statements`` with up to
    ``workers`` processes, replacing the files there; return how many statements.  ``presentation``: the
    letterhead and the society's templates.

    One process (``conn``'s) where the cycle is small, the database is in memory, or ``workers`` is 1.
    """
    statement_cycle = StatementCycle.of(cycle)
    url = conn.engine.url.render_as_string(hide_password=False)
    in_memory = parse_database_url(url).in_memory
    ranges = [] if workers < 2 or in_memory else recipient_ranges(conn, statement_cycle.id, workers)
    presentation.page_template()  # a broken template of the society's stops here, before any file is written
    staging = _fresh(folder / STAGING)
    try:
        if len(ranges) < 2 or _recipients(conn, statement_cycle.id) < min_recipients:
            written = write_recipient_statements(conn, statement_cycle, staging, presentation=presentation)
        else:
            written = _write_ranges(conn, url, statement_cycle, staging.resolve(), ranges, presentation)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _put_in_place(staging, folder / "statements")
    return written


def _fresh(directory: Path) -> Path:
    """Return ``directory`` created empty (the leftover of a killed run removed)."""
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    return directory


def _put_in_place(staging: Path, final: Path) -> None:
    """Rename the written folder to ``final``; the files it replaces are removed afterwards."""
    replaced = final.with_name(REPLACED)
    shutil.rmtree(replaced, ignore_errors=True)
    if final.exists():
        os.rename(final, replaced)
    os.rename(staging, final)
    shutil.rmtree(replaced, ignore_errors=True)


def _recipients(conn: Connection, cycle_id: int) -> int:
    return int(conn.execute(select(func.count()).where(cycle_line_items.c.cycle_id == cycle_id)).scalar() or 0)


def _write_ranges(conn: Connection, url: str, cycle: StatementCycle, directory: Path,
                  ranges: list[ItemRange], presentation: Presentation) -> int:
    """Write the first range here, on ``conn``, while one child per other range writes that range."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(PROJECT_ROOT),
                                                                    os.environ.get("PYTHONPATH")])))
    children: list[tuple[subprocess.Popen[str], IO[str]]] = []
    try:
        for low, high in ranges[1:]:
            errors: IO[str] = tempfile.TemporaryFile(mode="w+")  # a file, not a pipe: a chatty child never blocks
            child = subprocess.Popen([sys.executable, "-m", "zamio.royalties.statements.workers"], env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors, text=True)
            children.append((child, errors))
            request = {"url": url, "cycle": [cycle.id, cycle.name, cycle.method, str(cycle.period_from),
                                             str(cycle.period_to)],
                       "directory": str(directory), "low": low, "high": high,
                       "presentation": presentation.as_json()}
            assert child.stdin is not None  # opened with stdin=PIPE
            child.stdin.write(json.dumps(request))
            child.stdin.close()
        written = write_recipient_statements(conn, cycle, directory, ranges[0], presentation)
        return written + sum(_result(child, errors) for child, errors in children)
    finally:
        for child, errors in children:  # on an error (or an interrupt) leave no writer behind
            if child.poll() is None:
                child.kill()
                child.wait()
            assert child.stdout is not None  # opened with stdout=PIPE
            child.stdout.close()
            errors.close()


def _result(child: subprocess.Popen[str], errors: IO[str]) -> int:
    assert child.stdout is not None  # opened with stdout=PIPE
    out = child.stdout.read()
    if child.wait() != 0:
        errors.seek(0)
        message = errors.read().strip()
        raise StatementWorkerFailed(f"statement worker exited {child.returncode}: "
                                    f"{message.splitlines()[-1] if message else 'no message'}")
    return int(out)


def _serve(request: dict[str, Any]) -> int:
    cid, name, method, period_from, period_to = request["cycle"]
    cycle = StatementCycle(cid, name, method, date.fromisoformat(period_from), date.fromisoformat(period_to))
    items = (request["low"], request["high"])
    engine = open_engine(request["url"], application_name="zamio statements")
    try:
        with transaction(engine, read_only=True) as conn:
            return write_recipient_statements(conn, cycle, Path(request["directory"]), items,
                                              Presentation.of_json(request["presentation"]))
    finally:
        engine.dispose()


if __name__ == "__main__":
    print(_serve(json.loads(sys.stdin.read())))
