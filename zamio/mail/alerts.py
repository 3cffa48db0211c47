"""Operator alerts: one ``job_failing`` e-mail per flagged job per day, to ``ZAMIO_OPERATOR_EMAIL``.

A job is flagged exactly when ``zamio-status --check`` would flag it (failing:
its last finished run failed; overdue: no success within twice its period),
because both read :func:`zamio.runtime.status.collect`.  The dedupe key
``job_failing:<job>:<UTC date>`` makes every run after the first of the day a
no-op for that job.
"""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict

from sqlalchemy import Connection

from zamio.db.engine import utcnow
from zamio.mail.queue import queue_email
from zamio.mail.templates import MailTemplates, TemplateFailed
from zamio.runtime.progress import Progress, Transactions
from zamio.runtime.schedule import read_crontab
from zamio.runtime.status import JobStatus, collect


def flagged_jobs(conn: Connection) -> list[JobStatus]:
    """Return the scheduled and manual jobs that ``zamio-status --check`` would report, in crontab order."""
    return [s for s in collect(conn, read_crontab()) if s.failing or s.overdue]


class JobAlert(TypedDict):
    """The ``job_failing`` template context."""

    job: str
    state: str  # failing or overdue
    since: datetime | str  # its last success, or words saying it never had one
    last_error: str


def alert_context(status: JobStatus) -> JobAlert:
    """Given a flagged job's status, return the ``job_failing`` template context."""
    return {
        "job": status.job,
        "state": "failing" if status.failing else "overdue",
        "since": status.last_success_at or "it was first scheduled (it never succeeded)",
        "last_error": (status.last_error or "none recorded (the job did not run)").splitlines()[0][:500],
    }


def queue_job_alerts(transactions: Transactions, progress: Progress, recipient: str | None,
                     mail_templates: MailTemplates | None = None) -> int:
    """Queue today's alerts for flagged jobs to the operator; return how many were new (0 when no operator is set).
    An alert whose template fails is counted failed, naming the template, and the others are queued."""
    if not recipient:
        return 0
    today = utcnow().date().isoformat()
    queued = 0
    with transactions() as conn:
        for status in flagged_jobs(conn):
            try:  # a message is rendered before anything of it is written
                queued += queue_email(conn, dedupe_key=f"job_failing:{status.job}:{today}", recipient=recipient,
                                      template="job_failing", context=alert_context(status),
                                      mail_templates=mail_templates)
            except TemplateFailed as error:
                progress.failed(f"job_failing alert of {status.job}", error)
    if queued:
        progress.note(f"{queued} job alert(s) queued")
    return queued
