"""The ``job_runs`` record: one row per run, for every outcome, read by ``zamio-status``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Engine, insert, update

from zamio.db.engine import transaction, utcnow
from zamio.db.tables import job_runs
from zamio.runtime import errors
from zamio.runtime.schedule import STARTED_BY_VARIABLE

#: How the runner's recorded error of a run stopped by SIGTERM or SIGINT begins.
STOPPED_BY_SIGNAL = "stopped by SIG"

STATUS_BY_EXIT = {
    errors.EXIT_OK: "ok",
    errors.EXIT_ITEMS_FAILED: "items_failed",
    errors.EXIT_TEMPFAIL: "skipped",
}


def started_by(environ: Mapping[str, str]) -> str:
    """``schedule`` when the schedule started this run (it sets ``ZAMIO_STARTED_BY=schedule``), else ``manual``."""
    return "schedule" if environ.get(STARTED_BY_VARIABLE) == "schedule" else "manual"


def status_for(exit_code: int, error: str | None = None) -> str:
    if error and error.startswith(STOPPED_BY_SIGNAL):
        return "interrupted"
    return STATUS_BY_EXIT.get(exit_code, "failed")


@dataclass
class RunRecord:
    engine: Engine
    run_id: str

    @classmethod
    def start(cls, engine: Engine, job: str, run_id: str, host: str) -> RunRecord:
        """Insert the row of a run that has just taken its lock."""
        with transaction(engine) as conn:
            conn.execute(
                insert(job_runs).values(
                    run_id=run_id, job=job, host=host, pid=os.getpid(), started_at=utcnow(), status="running",
                    started_by=started_by(os.environ),
                )
            )
        return cls(engine, run_id)

    @classmethod
    def locked(cls, engine: Engine, job: str, run_id: str, host: str, message: str) -> None:
        """Record a run that found the lock held (exit 75) and did nothing."""
        now = utcnow()
        with transaction(engine) as conn:
            conn.execute(
                insert(job_runs).values(
                    run_id=run_id, job=job, host=host, pid=os.getpid(), started_at=now, finished_at=now,
                    status="locked", exit_code=errors.EXIT_TEMPFAIL, error=message[:2000],
                    started_by=started_by(os.environ),
                )
            )

    def finish(self, exit_code: int, ok: int, failed: int, skipped: int, error: str | None) -> None:
        """Complete the row with the outcome."""
        with transaction(self.engine) as conn:
            conn.execute(
                update(job_runs)
                .where(job_runs.c.run_id == self.run_id)
                .values(
                    finished_at=utcnow(), status=status_for(exit_code, error), exit_code=exit_code,
                    items_ok=ok, items_failed=failed, items_skipped=skipped,
                    error=error[:2000] if error else None,
                )
            )
