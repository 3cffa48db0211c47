"""What domain work needs from the run that drives it, as typed protocols: no job machinery.

A job's adapter (``zamio.jobs``) hands its :class:`~zamio.runtime.runner.JobContext`
to the domain as these two protocols, so domain code opens transactions, counts its
items and honours a stop request without importing the runner or reading arguments:

* :class:`Transactions` opens one database transaction (rolled back in a dry run); :func:`within`
  runs them all inside one transaction already open;
* :class:`Progress` counts items done, failed and skipped, adds phrases to the run's
  summary line, and says when to take no new item (SIGTERM, or ``--max-seconds`` used up).

A test can pass its own small implementation of either.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Protocol

from sqlalchemy import Connection


class Transactions(Protocol):
    """Opens one database transaction: ``with transactions() as conn: ...``."""

    def __call__(self, *, read_only: bool = False) -> AbstractContextManager[Connection]: ...


def within(conn: Connection) -> Transactions:
    """Transactions that all run inside ``conn``'s open transaction: work that must see, and share the fate of,
    what was written before it (a dry run, rolled back as a whole)."""
    return _Within(conn)


class _Within:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def __call__(self, *, read_only: bool = False) -> AbstractContextManager[Connection]:
        return nullcontext(self.conn)


class Progress(Protocol):
    """Where domain work reports its items and learns that it should stop."""

    def ok(self, n: int = 1) -> None: ...

    def failed(self, what: str, error: BaseException | str, n: int = 1) -> None: ...

    def skipped(self, n: int = 1) -> None: ...

    def note(self, text: str) -> None: ...

    def should_stop(self) -> bool: ...
