"""Is every scheduled job succeeding, and is anything waiting for a person?

For each job of ``crontab.txt``: its schedule, last run, last success, last
error and the items of the last run, from ``job_runs``.  A job is **overdue**
when it has not succeeded within twice its period (counted from its last
success, or from the first run ever recorded on this database when it never
succeeded), and **failing** when its last finished run failed.  Only the
schedule's runs are judged (``job_runs.started_by``): a run a person started by
hand is listed on a row of its own, marked manual, and neither makes its job
failing nor hides a failed scheduled run.  ``bin/zamio-status --check`` exits 1
naming each failing or overdue job (:func:`problems`), for a monitoring system
to call.

Below the jobs come the items parked for review (tracks that cannot be
fingerprinted, detections that cannot become plays, plays that cannot be
priced, dead stream links, undeliverable e-mails, snippets whose chunk_id a device reused for other
audio): the batch goes on without them, so they are listed here rather than lost.

``bin/zamio-status --audit`` lists the audit log of a period instead (``audit_text``):
every manual change to money or plays, who made it, why, and the state before and after.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Connection, func, select, text

from zamio.db.audit import Entry
from zamio.db.engine import utcnow
from zamio.db.tables import job_runs
from zamio.runtime.schedule import ScheduledJob

FINISHED_STATES = ("ok", "items_failed", "failed")
#: The schedule shown for a job that a schedule ran although crontab.txt does not list it.
OFF_CRONTAB = "not in crontab"

#: Items waiting for a person: label → SQL returning one count.
ATTENTION_QUERIES = {
    "tracks failing fingerprinting": "SELECT count(*) FROM fingerprint_work WHERE status = 'failed'",
    "detections parked (cannot become plays)": "SELECT count(*) FROM detections WHERE convert_status = 'parked'",
    # A play's latest pricing only: an older unpriced version that a later run priced is done.
    "plays that cannot be priced (bin/suspense-report lists them)": (
        "SELECT count(*) FROM royalty_pricings p WHERE p.status = 'unpriced' AND NOT EXISTS "
        "(SELECT 1 FROM royalty_pricings n WHERE n.play_id = p.play_id AND n.version > p.version)"
    ),
    "stream links failing": "SELECT count(*) FROM stream_links WHERE active AND consecutive_failures > 0",
    "e-mails undeliverable": "SELECT count(*) FROM email_outbox WHERE status = 'failed'",
    "e-mails with unknown delivery (check, then send-emails --requeue ID)": (
        "SELECT count(*) FROM email_outbox WHERE status = 'unknown'"
    ),
}

#: The reason (first line of ``<name>.reason.txt``) of a snippet set aside in the inbox's
#: ``rejected/`` folder because its chunk_id was recorded with other audio.
SNIPPET_CONFLICT_REASON = "chunk_conflict"
SNIPPET_CONFLICTS = "snippets whose chunk_id was recorded with other audio (in the inbox's rejected/)"


@dataclass
class JobStatus:
    job: str
    schedule: str
    period_seconds: int | None
    last_run_at: datetime | None = None
    last_status: str | None = None
    last_success_at: datetime | None = None
    last_error_at: datetime | None = None
    last_error: str | None = None
    items_ok: int = 0
    items_failed: int = 0
    items_skipped: int = 0
    overdue: bool = False
    failing: bool = False
    started_by: str = "schedule"  # the runs this row judges: the schedule's, or those started by hand

    def as_json(self) -> dict[str, object]:
        data: dict[str, object] = asdict(self)
        for key, value in data.items():
            if isinstance(value, datetime):
                data[key] = value.isoformat()
        return data


def job_status(conn: Connection, name: str, schedule: str, period: int | None, since: datetime | None,
               started_by: str = "schedule") -> JobStatus:
    """The status of one job from its rows in ``job_runs`` started by ``started_by`` (schedule or manual).

    Only the schedule's runs can make a job failing or overdue."""
    status = JobStatus(name, schedule, period, started_by=started_by)
    runs = job_runs.c
    mine = (runs.job == name) & (runs.started_by == started_by)
    last = conn.execute(
        select(runs.started_at, runs.status, runs.items_ok, runs.items_failed, runs.items_skipped)
        .where(mine, runs.status != "locked")
        .order_by(runs.started_at.desc())
        .limit(1)
    ).first()
    if last is not None:
        status.last_run_at, status.last_status = last.started_at, last.status
        status.items_ok, status.items_failed, status.items_skipped = (
            last.items_ok, last.items_failed, last.items_skipped)
    status.last_success_at = conn.execute(
        select(func.max(runs.started_at)).where(mine, runs.status == "ok")
    ).scalar()
    error = conn.execute(
        select(runs.started_at, runs.error)
        .where(mine, runs.status.in_(("failed", "items_failed")))
        .order_by(runs.started_at.desc())
        .limit(1)
    ).first()
    if error is not None:
        status.last_error_at, status.last_error = error.started_at, error.error
    if started_by != "schedule":
        return status
    finished = conn.execute(
        select(runs.status)
        .where(mine, runs.status.in_(FINISHED_STATES))
        .order_by(runs.started_at.desc())
        .limit(1)
    ).scalar()
    status.failing = finished in ("failed", "items_failed")
    if period is not None:
        reference = status.last_success_at or since
        status.overdue = reference is None or utcnow() - reference > timedelta(seconds=2 * period)
    return status


def collect(conn: Connection, schedule: list[ScheduledJob]) -> list[JobStatus]:
    """Statuses of the jobs of ``schedule`` (their scheduled runs), of jobs a schedule started without being in it
    (an operator's own crontab line: judged failing, never overdue), then of every job's runs started by hand."""
    since = conn.execute(select(func.min(job_runs.c.started_at))).scalar()
    statuses = [job_status(conn, j.script, j.expression, j.period_seconds, since) for j in schedule]
    listed = {j.script for j in schedule}
    elsewhere = conn.execute(select(job_runs.c.job).where(job_runs.c.started_by == "schedule").distinct()
                             .order_by(job_runs.c.job)).scalars()
    statuses += [job_status(conn, name, OFF_CRONTAB, None, since) for name in elsewhere if name not in listed]
    by_hand = conn.execute(select(job_runs.c.job).where(job_runs.c.started_by == "manual").distinct()
                           .order_by(job_runs.c.job)).scalars()
    statuses += [job_status(conn, name, "manual", None, since, "manual") for name in by_hand]
    return statuses


def attention(conn: Connection) -> dict[str, int]:
    """Counts of items parked for review, by kind (only the non-zero ones)."""
    counts = {label: int(conn.execute(text(sql)).scalar() or 0) for label, sql in ATTENTION_QUERIES.items()}
    return {label: count for label, count in counts.items() if count}


def attention_files(inbox_dir: Path) -> dict[str, int]:
    """Counts of files set aside for review in the snippet inbox, by kind (only the non-zero ones)."""
    folder = inbox_dir / "rejected"
    conflicts = sum(1 for note in folder.glob("*.reason.txt") if _first_line(note) == SNIPPET_CONFLICT_REASON) \
        if folder.is_dir() else 0
    return {SNIPPET_CONFLICTS: conflicts} if conflicts else {}


def _first_line(path: Path) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as note:
            return note.readline().strip()
    except OSError:  # removed meanwhile (cleanup-old-data), or unreadable: not counted
        return ""


def render(statuses: list[JobStatus], waiting: dict[str, int]) -> str:
    """A plain-text table for people."""
    lines = [f"{'job':32} {'schedule':14} {'last run':20} {'last success':20} {'items ok/failed':16} state"]
    for s in statuses:
        state = "FAILING" if s.failing else ("OVERDUE" if s.overdue else (s.last_status or "never ran"))
        items = f"{s.items_ok}/{s.items_failed}"
        lines.append(f"{s.job:32} {s.schedule:14} {_when(s.last_run_at):20} {_when(s.last_success_at):20} "
                     f"{items:16} {state}")
        if (s.failing or (s.started_by == "manual" and s.last_status == "failed")) and s.last_error:
            lines.append(f"{'':32} last error: {s.last_error.splitlines()[0][:100]}")
    if waiting:
        lines.append("")
        lines.append("waiting for review:")
        lines += [f"  {count:6d}  {label}" for label, count in waiting.items()]
    return "\n".join(lines)


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else "-"


def problems(statuses: list[JobStatus]) -> list[str]:
    """One phrase per job that is failing or overdue: ``"<job> failing"`` or ``"<job> overdue"``.

    Rows of runs started by hand are never failing nor overdue, so never a problem."""
    return [f"{s.job} {'failing' if s.failing else 'overdue'}" for s in statuses if s.failing or s.overdue]


def audit_text(entries: list[Entry], since: datetime | None, until: datetime | None) -> str:
    """The audit log entries of a period as plain text for people: when, who, what, why, before and after."""
    period = f"from {_when(since)} to {_when(until)} UTC" if since or until else "since the first entry"
    lines = [f"audit log {period}: {len(entries)} entr{'y' if len(entries) == 1 else 'ies'}"]
    for entry in entries:
        about = f"{entry.entity} {entry.entity_id}" if entry.entity_id else entry.entity
        lines.append(f"{_when(entry.at)}  #{entry.id}  {entry.actor}  {entry.action}  {about}")
        lines.append(f"    reason: {entry.reason or '-'}")
        lines += [f"    {label}: {value}" for label, value in (("before", entry.before), ("after", entry.after))
                  if value]
    return "\n".join(lines)
