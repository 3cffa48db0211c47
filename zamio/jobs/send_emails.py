"""Deliver queued e-mails over SMTP, each at most once, and queue operator alerts.

Claims due messages from the outbox, sends them (SMTP_HOST, SMTP_PORT,
SMTP_SECURITY, SMTP_USER, SMTP_PASSWORD), retries temporary failures with
back-off and marks permanent ones failed.  A message interrupted after it was
handed to the server becomes "unknown" instead of being sent twice; requeue it
after checking.  Also queues one job_failing e-mail per day to
ZAMIO_OPERATOR_EMAIL for each job zamio-status --check flags.

Examples:
    bin/send-emails
    bin/send-emails --dry-run -v
    bin/send-emails --requeue 42
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from zamio.mail.terms import LEASE_SECONDS, MAX_ATTEMPTS
from zamio.runtime.errors import UsageError
from zamio.runtime.runner import Job, JobContext

RUN_LIMIT = 1000  # messages per run


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--limit", type=int, default=RUN_LIMIT, metavar="N",
                        help=f"send at most N messages (default {RUN_LIMIT})")
    parser.add_argument("--max-attempts", type=int, default=MAX_ATTEMPTS, metavar="N",
                        help=f"mark a message failed after N temporary failures (default {MAX_ATTEMPTS})")
    parser.add_argument("--lease-seconds", type=float, default=LEASE_SECONDS, metavar="S",
                        help=f"how long a claimed message is reserved for this run (default {LEASE_SECONDS})")
    parser.add_argument("--requeue", metavar="ID|unknown|failed",
                        help="put one message (by id), or every unknown or failed one, back in the queue, and exit")
    parser.add_argument("--no-alerts", action="store_true", help="do not queue job_failing alerts for the operator")


@dataclass(frozen=True)
class Settings:
    limit: int
    max_attempts: int
    lease_seconds: float
    requeue: str | None  # a message id, "unknown" or "failed"
    alerts: bool


def settings(args: argparse.Namespace) -> Settings:
    from zamio.mail.sender import REQUEUE_STATES

    if args.requeue and not (args.requeue in REQUEUE_STATES or args.requeue.isdigit()):
        raise UsageError("--requeue takes a message id, 'unknown' or 'failed'")
    return Settings(args.limit, args.max_attempts, args.lease_seconds, args.requeue or None, not args.no_alerts)


def main(ctx: JobContext) -> None:
    """Queue operator alerts, settle interrupted deliveries, then deliver due messages over SMTP."""
    from zamio.mail import smtp
    from zamio.mail import templates as mail_templates
    from zamio.mail.alerts import queue_job_alerts
    from zamio.mail.sender import Delivery, count_due, deliver, requeue, settle_interrupted

    given = settings(ctx.args)
    if given.requeue:
        count = requeue(ctx.transaction, given.requeue)
        ctx.ok(count)
        ctx.note(f"{count} e-mail(s) requeued")
        return
    if given.alerts:
        operator = ctx.config.operator_email  # the alert's templates are checked only when there is one to alert
        checked = mail_templates.load(ctx.config.templates_dir) if operator else None
        queue_job_alerts(ctx.transaction, ctx, operator, checked)
    with ctx.transaction() as conn:
        settled = settle_interrupted(conn)
        waiting = count_due(conn)
    if settled:
        ctx.failed("e-mail outbox",
                   f"{settled} message(s) interrupted during delivery marked unknown; see zamio-status")
    if waiting == 0:
        ctx.note("no e-mail to send")
        return
    smtp_settings = smtp.settings_from(ctx.config, waiting)
    if ctx.dry_run:
        ctx.note(f"{waiting} e-mail(s) would be sent via {smtp_settings.label}")
        return
    delivery = Delivery(ctx.transaction, ctx, ctx.owner, given.lease_seconds, given.max_attempts)
    sent = deliver(delivery, smtp_settings, given.limit)
    ctx.note(f"{sent} e-mail(s) sent")


JOB = Job("send-emails", __doc__, main, period_seconds=300, add_arguments=add_arguments, lock_scope="host")
