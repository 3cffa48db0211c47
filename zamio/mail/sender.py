"""Delivering the outbox over SMTP, never sending a message twice.

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
* A message whose attached file is missing or no longer the bytes recorded when
  it was queued (``zamio.mail.attachments``) is ``failed`` before any of it is
  sent, naming the file: a re-send carries the same bytes or nothing.

Before delivering, the run queues the operator alerts: one ``job_failing``
message per scheduled job that ``zamio-status --check`` would flag, per day.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Connection, func, select, update

from zamio.db.engine import StoredRow, utcnow
from zamio.db.tables import email_outbox
from zamio.mail import smtp
from zamio.mail.attachments import AttachmentChanged
from zamio.mail.terms import LEASE_SECONDS, MAX_ATTEMPTS
from zamio.runtime.errors import ConfigError, ServiceUnavailable
from zamio.runtime.leases import backoff_seconds, claim
from zamio.runtime.progress import Progress, Transactions

log = logging.getLogger(__name__)

BATCH_SIZE = 20  # messages claimed, and sent over one connection, at a time
CLAIMABLE = ("queued", "sending")
REQUEUE_STATES = ("unknown", "failed")  # requeued all at once by state; any other message by its id
OUTBOX = email_outbox.c


@dataclass(frozen=True)
class Delivery:
    """One run's delivery: how it opens transactions and counts messages, and the claims it holds.

    ``owner`` names this run on the leases it takes; a claim is reserved for
    ``lease_seconds``; a message is failed after ``max_attempts`` temporary failures.
    """

    transactions: Transactions
    progress: Progress
    owner: str
    lease_seconds: float = LEASE_SECONDS
    max_attempts: int = MAX_ATTEMPTS


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


def requeue(transactions: Transactions, which: str) -> int:
    """Put messages back in the queue (same Message-ID), by id or by state ``unknown``/``failed``; return how many."""
    if which in REQUEUE_STATES:
        condition = OUTBOX.status == which
    else:
        condition = (OUTBOX.id == int(which)) & OUTBOX.status.in_(("unknown", "failed", "queued"))
    with transactions() as conn:
        return conn.execute(
            update(email_outbox).where(condition).values(status="queued", attempts=0, next_attempt_at=None,
                                                         lease_owner=None, lease_expires_at=None)
        ).rowcount


def deliver(delivery: Delivery, settings: smtp.SmtpSettings, limit: int) -> int:
    """Claim and send batches until the queue is empty, ``limit`` is reached or the run must stop; return sent."""
    sent = 0
    budget = limit
    while budget > 0 and not delivery.progress.should_stop():
        with delivery.transactions() as conn:
            rows = claim(conn, email_outbox, owner=delivery.owner, limit=min(BATCH_SIZE, budget),
                         lease_seconds=delivery.lease_seconds, where=OUTBOX.status.in_(CLAIMABLE),
                         order_by=[OUTBOX.created_at])
            if rows:
                conn.execute(update(email_outbox).where(OUTBOX.id.in_([r.id for r in rows])).values(status="sending"))
        if not rows:
            break
        budget -= len(rows)
        sent += send_batch(delivery, settings, rows)
    return sent


def send_batch(delivery: Delivery, settings: smtp.SmtpSettings, rows: Sequence[StoredRow]) -> int:
    """Send claimed ``rows`` over one SMTP session; return how many the server accepted."""
    try:
        client = smtp.connect(settings)
    except smtplib.SMTPAuthenticationError as error:
        unclaim(delivery, rows)
        raise ConfigError(f"the SMTP server {settings.label} refused SMTP_USER/SMTP_PASSWORD: "
                          f"{error.smtp_code}") from None
    except (OSError, smtplib.SMTPException) as error:
        refusal = smtp.refusal_of(error)
        for row in rows:
            retry_or_fail(delivery, row, refusal)
        raise ServiceUnavailable(f"cannot reach the SMTP server {settings.label} (SMTP_HOST): {refusal.text}") from None
    sent = 0
    try:
        for index, row in enumerate(rows):
            if delivery.progress.should_stop():
                unclaim(delivery, rows[index:])
                break
            sent += send_one(delivery, client, settings, row)
    finally:
        _quit(client)
    return sent


def send_one(delivery: Delivery, client: smtplib.SMTP, settings: smtp.SmtpSettings, row: StoredRow) -> int:
    """Send one claimed message; record its outcome; return 1 if the server accepted it, else 0."""
    try:
        message = smtp.message_bytes(row, settings.mail_from)
    except AttachmentChanged as error:
        fail_unsent(delivery, row, str(error))
        return 0
    try:
        smtp.check_reply(client.mail(smtp.envelope_sender(settings.mail_from)), (250,), "MAIL FROM refused")
        smtp.check_reply(client.rcpt(row.recipient), (250, 251), "RCPT TO refused")
    except (OSError, smtplib.SMTPException) as error:
        _reset(client)
        retry_or_fail(delivery, row, smtp.refusal_of(error))
        return 0
    if not mark_transmitting(delivery, row):
        _reset(client)
        log.warning("e-mail %s: the claim was lost to another sender; not sent by this run", row.id)
        return 0
    try:
        smtp.check_reply(client.data(message), (250,), "message refused after DATA")
    except (OSError, smtplib.SMTPException) as error:
        return _after_data_failure(delivery, client, row, smtp.refusal_of(error))
    mark_sent(delivery, row)
    delivery.progress.ok()
    return 1


def _after_data_failure(delivery: Delivery, client: smtplib.SMTP, row: StoredRow, refusal: smtp.Refusal) -> int:
    if refusal.code is None:
        # No reply: the server may have taken the message.  Leave it for a person rather than risk a duplicate.
        mark_unknown(delivery, row, refusal.text)
        delivery.progress.failed(f"e-mail {row.id} to {row.recipient}", f"delivery outcome unknown: {refusal.text}")
        return 0
    _reset(client)
    retry_or_fail(delivery, row, refusal)
    return 0


def mark_transmitting(delivery: Delivery, row: StoredRow) -> bool:
    """Compare-and-set ``sending`` → ``transmitting`` for this owner, committed; False if the claim was lost."""
    with delivery.transactions() as conn:
        return conn.execute(
            update(email_outbox)
            .where(OUTBOX.id == row.id, OUTBOX.lease_owner == delivery.owner, OUTBOX.status == "sending")
            .values(status="transmitting", lease_expires_at=utcnow() + timedelta(seconds=delivery.lease_seconds))
        ).rowcount == 1


def mark_sent(delivery: Delivery, row: StoredRow) -> None:
    with delivery.transactions() as conn:
        conn.execute(
            update(email_outbox)
            .where(OUTBOX.id == row.id, OUTBOX.status.in_(("transmitting", "unknown")))
            .values(status="sent", sent_at=utcnow(), last_error=None, lease_owner=None, lease_expires_at=None)
        )


def mark_unknown(delivery: Delivery, row: StoredRow, reason: str) -> None:
    with delivery.transactions() as conn:
        conn.execute(
            update(email_outbox).where(OUTBOX.id == row.id)
            .values(status="unknown", last_error=f"no reply after DATA ({reason}); it may have been delivered"[:2000],
                    lease_owner=None, lease_expires_at=None)
        )


def retry_or_fail(delivery: Delivery, row: StoredRow, refusal: smtp.Refusal) -> None:
    """Record a refusal: failed at once if permanent or out of attempts, else queued again after back-off."""
    reason = f"{refusal.code} {refusal.text}" if refusal.code else refusal.text
    final = refusal.permanent or row.attempts >= delivery.max_attempts
    values: dict[str, object] = {"status": "failed"} if final else {
        "status": "queued", "next_attempt_at": utcnow() + timedelta(seconds=backoff_seconds(row.attempts))}
    with delivery.transactions() as conn:
        conn.execute(
            update(email_outbox).where(OUTBOX.id == row.id, OUTBOX.lease_owner == delivery.owner)
            .values(last_error=reason[:2000], lease_owner=None, lease_expires_at=None, **values)
        )
    if final:
        delivery.progress.failed(f"e-mail {row.id} to {row.recipient}",
                                 f"undeliverable after {row.attempts} attempt(s): {reason}")
    else:
        delivery.progress.skipped()
        log.info("e-mail %s to %s: will retry: %s", row.id, row.recipient, reason)


def fail_unsent(delivery: Delivery, row: StoredRow, reason: str) -> None:
    """Mark a claimed message failed before any of it reached the server (its attachment changed)."""
    with delivery.transactions() as conn:
        conn.execute(
            update(email_outbox).where(OUTBOX.id == row.id, OUTBOX.lease_owner == delivery.owner)
            .values(status="failed", last_error=reason[:2000], lease_owner=None, lease_expires_at=None)
        )
    delivery.progress.failed(f"e-mail {row.id} to {row.recipient}", reason)


def unclaim(delivery: Delivery, rows: Sequence[StoredRow]) -> None:
    """Give claimed but untried messages back to the queue without counting an attempt."""
    with delivery.transactions() as conn:
        conn.execute(
            update(email_outbox)
            .where(OUTBOX.id.in_([r.id for r in rows]), OUTBOX.lease_owner == delivery.owner,
                   OUTBOX.status == "sending")
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
