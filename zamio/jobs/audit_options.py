"""``--by`` and ``--reason``: who makes a manual change to money or plays, and why (the audit log's actor and
reason, ``zamio.db.audit``).  Shared by the adapters of the jobs that make such changes."""

from __future__ import annotations

import argparse
import getpass
import os
from typing import TYPE_CHECKING

from zamio.runtime.errors import UsageError

if TYPE_CHECKING:
    from zamio.db.audit import Who


def operating_system_user() -> str:
    """The name of the user running the job, from the environment (LOGNAME, USER, LNAME, USERNAME), else the
    account's; "unknown" when neither says."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name in the environment and no account entry for the uid
        return os.environ.get("USER") or "unknown"


def add_by(parser: argparse.ArgumentParser, reason: str) -> None:
    """Add ``--by NAME`` and ``--reason TEXT`` to a job's options; ``reason`` says when the reason is needed and what
    it is by default."""
    parser.add_argument("--by", metavar="NAME",
                        help="who makes the change, kept in the audit log (default: the OS user name from the "
                             f"environment, here {operating_system_user()!r})")
    parser.add_argument("--reason", metavar="TEXT", help=reason)


def who(args: argparse.Namespace, run_id: str, default_reason: str | None = None) -> Who:
    """Given the parsed options, the run's id and the reason to record when ``--reason`` is not given (None: it is
    required), return who makes the change and why; raise UsageError for an empty name or a missing reason."""
    from zamio.db.audit import Who

    actor = operating_system_user() if args.by is None else args.by.strip()
    if not actor:
        raise UsageError("--by is empty: give the name of the person making the change")
    reason = (args.reason or "").strip() or default_reason
    if not reason:
        raise UsageError("--reason is required: say why the change is made (it is kept in the audit log, "
                         "bin/zamio-status --audit lists it)")
    return Who(actor, reason, run_id)
