"""``bin/send-emails``: deliver the outbox over SMTP, never sending a message twice.

A message moves through these states (``email_outbox.status``)::

    queued ──claim──▶ sending ──CAS, committed before DATA──▶ transmitting ──250──▶ sent
       ▲                 │                                         │
       └── 4xx, refused, ┘ (back-off; after --max-attempts: failed)├── 5xx ──▶ failed
                                                                   └── no reply / lease expired ──▶ unknown

* ``sending``: claimed with a lease; nothing of the message has reached the
  server yet.  A sender that dies here leaves a row that another run claims
  again once the lease has expired: resending it cannot duplicate anything.
* ``transmitting``: committed, by a compare-and-set on the lease owner, just
  before the SMTP ``DATA`` command.  Only one sender can win that step, and no
  run ever claims a ``transmitting`` row.  If the sender is killed after the
  server accepted the message but before ``sent`` was committed, the row stays
  ``transmitting`` until its lease expires and then becomes ``unknown``: the
  server may or may not hold the message, so it is **not** resent
  automatically.  ``zamio-status`` lists it; a person checks the mailbox and
  runs ``bin/send-emails --requeue ID`` to send it again, with the same
  ``Message-ID`` (derived from the dedupe key), so a receiving system that
  de-duplicates by ``Message-ID`` still shows it once.
* A 5xx reply marks the message ``failed`` at once with the server's words; a
  4xx reply, a refused connection or a timeout retries with exponential
  back-off, and after ``--max-attempts`` attempts the message is ``failed``.

Before delivering, the run queues the operator alerts: one ``job_failing``
message per scheduled job that ``zamio-status --check`` would flag, per day.
"""

from __future__ import annotations

import argparse
import logging
import smtplib
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, func, select, update

from zamio.db.engine import utcnow
from zamio.runtime.errors import ConfigError, ServiceUnavailable, UsageError
from zamio.runtime.leases import backoff_seconds, claim
from zamio.mail import smtp
from zamio.mail.alerts import queue_job_alerts
from zamio.db.tables import email_outbox

log = logging.getLogger(__name__)

LEASE_SECONDS = 300  # longer than one SMTP conversation (SMTP_TIMEOUT_SECONDS, default 30 s) by far
BATCH_SIZE = 20  # messages claimed, and sent over one connection, at a time
MAX_ATTEMPTS = 8  # with back-off 1, 2, 4 ... minutes: about four hours of retries
RUN_LIMIT = 1000  # messages per run
CLAIMABLE = ("queued", "sending")
OUTBOX = email_outbox.c


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


def send_emails(ctx: Any) -> int | None:
    """The job: queue operator alerts, settle interrupted deliveries, then deliver due messages over SMTP."""
    if ctx.args.requeue:
        return requeue(ctx, ctx.args.requeue)
    if not ctx.args.no_alerts:
        queue_job_alerts(ctx)
    with ctx.transaction() as conn:
        settled = settle_interrupted(conn)
        waiting = count_due(conn)
    if settled:
        ctx.failed("e-mail outbox", f"{settled} message(s) interrupted during delivery marked unknown; see zamio-status")
    if waiting == 0:
        ctx.note("no e-mail to send")
        return None
    settings = smtp.settings_from(ctx.config, waiting)
    if ctx.dry_run:
        ctx.note(f"{waiting} e-mail(s) would be sent via {settings.label}")
        return None
    sent = deliver(ctx, settings)
    ctx.note(f"{sent} e-mail(s) sent")
    return None


def count_due(conn: Connection) -> int:
    now = utcnow()
    due = (OUTBOX.next_attempt_at.is_(None)) | (OUTBOX.next_attempt_at <= now)
    free = (OUTBOX.lease_expires_at.is_(None)) | (OUTBOX.lease_expires_at < now)
    return int(conn.execute(select(func.count()).where(OUTBOX.status.in_(CLAIMABLE), due, free)).scalar() or 0)


def settle_interrupted(conn: Connection) -> int:
    """Mark ``transmitting`` messages whose lease expired as ``unknown``; return how many."""
    result = conn.execute(
        update(email_outbox)
        .where(OUTBOX.status == "transmitting", OUTBOX.lease_expires_at < utcnow())
        .values(status="unknown", lease_owner=None, lease_expires_at=None,
                last_error="interrupted after the message was handed to the SMTP server; it may have been delivered. "
                           "Check the mailbox, then bin/send-emails --requeue ID to send it again")
    )
    return result.rowcount


def requeue(ctx: Any, which: str) -> int | None:
    """Put messages back in the queue (same Message-ID), by id or by state ``unknown``/``failed``."""
    if which in ("unknown", "failed"):
        condition = OUTBOX.status == which
    elif which.isdigit():
        condition = (OUTBOX.id == int(which)) & OUTBOX.status.in_(("unknown", "failed", "queued"))
    else:
        raise UsageError("--requeue takes a message id, 'unknown' or 'failed'")
    with ctx.transaction() as conn:
        count = conn.execute(
            update(email_outbox).where(condition).values(status="queued", attempts=0, next_attempt_at=None,
                                                         lease_owner=None, lease_expires_at=None)
        ).rowcount
    ctx.ok(count)
    ctx.note(f"{count} e-mail(s) requeued")
    return None


def deliver(ctx: Any, settings: smtp.SmtpSettings) -> int:
    """Claim and send batches until the queue is empty, the limit is reached or the run must stop; return sent."""
    sent = 0
    budget = ctx.args.limit
    while budget > 0 and not ctx.should_stop():
        with ctx.transaction() as conn:
            rows = claim(conn, email_outbox, owner=ctx.owner, limit=min(BATCH_SIZE, budget),
                         lease_seconds=ctx.args.lease_seconds, where=OUTBOX.status.in_(CLAIMABLE),
                         order_by=[OUTBOX.created_at])
            if rows:
                conn.execute(update(email_outbox).where(OUTBOX.id.in_([r.id for r in rows])).values(status="sending"))
        if not rows:
            break
        budget -= len(rows)
        sent += send_batch(ctx, settings, rows)
    return sent


def send_batch(ctx: Any, settings: smtp.SmtpSettings, rows: list[Any]) -> int:
    """Send claimed ``rows`` over one SMTP session; return how many the server accepted."""
    try:
        client = smtp.connect(settings)
    except smtplib.SMTPAuthenticationError as error:
        unclaim(ctx, rows)
        raise ConfigError(f"the SMTP server {settings.label} refused SMTP_USER/SMTP_PASSWORD: {error.smtp_code}") from None
    except (OSError, smtplib.SMTPException) as error:
        refusal = smtp.refusal_of(error)
        for row in rows:
            retry_or_fail(ctx, row, refusal)
        raise ServiceUnavailable(f"cannot reach the SMTP server {settings.label} (SMTP_HOST): {refusal.text}") from None
    sent = 0
    try:
        for index, row in enumerate(rows):
            if ctx.should_stop():
                unclaim(ctx, rows[index:])
                break
            sent += send_one(ctx, client, settings, row)
    finally:
        _quit(client)
    return sent


def send_one(ctx: Any, client: smtplib.SMTP, settings: smtp.SmtpSettings, row: Any) -> int:
    """Send one claimed message; record its outcome; return 1 if the server accepted it, else 0."""
    message = smtp.message_bytes(row, settings.mail_from)
    try:
        smtp.check_reply(client.mail(smtp.envelope_sender(settings.mail_from)), (250,), "MAIL FROM refused")
        smtp.check_reply(client.rcpt(row.recipient), (250, 251), "RCPT TO refused")
    except (OSError, smtplib.SMTPException) as error:
        _reset(client)
        retry_or_fail(ctx, row, smtp.refusal_of(error))
        return 0
    if not mark_transmitting(ctx, row):
        _reset(client)
        log.warning("e-mail %s: the claim was lost to another sender; not sent by this run", row.id)
        return 0
    try:
        smtp.check_reply(client.data(message), (250,), "message refused after DATA")
    except (OSError, smtplib.SMTPException) as error:
        return _after_data_failure(ctx, client, row, smtp.refusal_of(error))
    mark_sent(ctx, row)
    ctx.ok()
    return 1


def _after_data_failure(ctx: Any, client: smtplib.SMTP, row: Any, refusal: smtp.Refusal) -> int:
    if refusal.code is None:
        # No reply: the server may have taken the message.  Leave it for a person rather than risk a duplicate.
        mark_unknown(ctx, row, refusal.text)
        ctx.failed(f"e-mail {row.id} to {row.recipient}", f"delivery outcome unknown: {refusal.text}")
        return 0
    _reset(client)
    retry_or_fail(ctx, row, refusal)
    return 0


def mark_transmitting(ctx: Any, row: Any) -> bool:
    """Compare-and-set ``sending`` → ``transmitting`` for this owner, committed; False if the claim was lost."""
    with ctx.transaction() as conn:
        return conn.execute(
            update(email_outbox)
            .where(OUTBOX.id == row.id, OUTBOX.lease_owner == ctx.owner, OUTBOX.status == "sending")
            .values(status="transmitting", lease_expires_at=utcnow() + timedelta(seconds=ctx.args.lease_seconds))
        ).rowcount == 1


def mark_sent(ctx: Any, row: Any) -> None:
    with ctx.transaction() as conn:
        conn.execute(
            update(email_outbox)
            .where(OUTBOX.id == row.id, OUTBOX.status.in_(("transmitting", "unknown")))
            .values(status="sent", sent_at=utcnow(), last_error=None, lease_owner=None, lease_expires_at=None)
        )


def mark_unknown(ctx: Any, row: Any, reason: str) -> None:
    with ctx.transaction() as conn:
        conn.execute(
            update(email_outbox).where(OUTBOX.id == row.id)
            .values(status="unknown", last_error=f"no reply after DATA ({reason}); it may have been delivered"[:2000],
                    lease_owner=None, lease_expires_at=None)
        )


def retry_or_fail(ctx: Any, row: Any, refusal: smtp.Refusal) -> None:
    """Record a refusal: failed at once if permanent or out of attempts, else queued again after back-off."""
    reason = f"{refusal.code} {refusal.text}" if refusal.code else refusal.text
    final = refusal.permanent or row.attempts >= ctx.args.max_attempts
    values: dict[str, Any] = {"status": "failed"} if final else {
        "status": "queued", "next_attempt_at": utcnow() + timedelta(seconds=backoff_seconds(row.attempts))}
    with ctx.transaction() as conn:
        conn.execute(
            update(email_outbox).where(OUTBOX.id == row.id, OUTBOX.lease_owner == ctx.owner)
            .values(last_error=reason[:2000], lease_owner=None, lease_expires_at=None, **values)
        )
    if final:
        ctx.failed(f"e-mail {row.id} to {row.recipient}", f"undeliverable after {row.attempts} attempt(s): {reason}")
    else:
        ctx.skipped()
        log.info("e-mail %s to %s: will retry: %s", row.id, row.recipient, reason)


def unclaim(ctx: Any, rows: list[Any]) -> None:
    """Give claimed but untried messages back to the queue without counting an attempt."""
    with ctx.transaction() as conn:
        conn.execute(
            update(email_outbox)
            .where(OUTBOX.id.in_([r.id for r in rows]), OUTBOX.lease_owner == ctx.owner, OUTBOX.status == "sending")
            .values(status="queued", attempts=OUTBOX.attempts - 1, lease_owner=None, lease_expires_at=None)
        )


def _reset(client: smtplib.SMTP) -> None:
    try:
        client.rset()
    except (OSError, smtplib.SMTPException):
        pass  # the next command on a dead connection fails and is classified there


def _quit(client: smtplib.SMTP) -> None:
    try:
        client.quit()
    except (OSError, smtplib.SMTPException):
        client.close()
