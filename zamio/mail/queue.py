"""The outbox: e-mails are rendered and stored in ``email_outbox`` in the caller's transaction.

A message is queued in the same transaction as the change it announces (a
cycle locked, a stream found down), so either both happen or neither does;
``bin/send-emails`` delivers it later.  The ``dedupe_key`` names the event
(``statement_ready:2026-Q3:artist:A12``), so queueing the same event twice is a
no-op, and it fixes the message's ``Message-ID`` before any delivery attempt.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

from sqlalchemy import Connection

from zamio.db.engine import insert_ignore, utcnow
from zamio.db.tables import email_outbox
from zamio.mail.attachments import Attachment, encode
from zamio.mail.templates import MailTemplates, render
from zamio.runtime.errors import ItemError

#: Domain part of every Message-ID zamio generates.
MESSAGE_ID_DOMAIN = "zamio"


class InvalidRecipient(ItemError):
    reason = "invalid_recipient"


def message_id_for(dedupe_key: str) -> str:
    """Given a dedupe key, return the Message-ID every delivery attempt of that message carries."""
    digest = hashlib.sha256(dedupe_key.encode("utf-8")).hexdigest()[:40]
    return f"<{digest}@{MESSAGE_ID_DOMAIN}>"


def check_recipient(recipient: str) -> str:
    """Given an address, return it stripped; raise InvalidRecipient if it is not one plain address."""
    address = recipient.strip()
    local, _, domain = address.rpartition("@")
    if not local or "." not in domain or any(ch in address for ch in " \t\r\n,;<>\"'"):
        raise InvalidRecipient(f"{recipient!r} is not an e-mail address; fix the contact's e-mail and queue again")
    return address


def queue_email(conn: Connection, *, dedupe_key: str, recipient: str, template: str,
                context: Mapping[str, object], attachments: Sequence[Attachment] = (),
                mail_templates: MailTemplates | None = None) -> bool:
    """Render ``template`` with ``context`` (by ``mail_templates``, loaded from TEMPLATES_DIR at the job's start;
    None: the shipped ones) and queue it for ``recipient`` under ``dedupe_key``, with the files in
    ``attachments`` (recorded by ``zamio.mail.attachments.record``; the sender reads them when it sends).

    Return True if the message was queued, False if a message with that dedupe
    key already exists (whatever its state).  Raise TemplateError (a DataError)
    for an unknown template or a missing context key, InvalidRecipient (an
    ItemError) for an address that is not one plain e-mail address, TemplateFailed
    (an ItemError) for a template of TEMPLATES_DIR that fails on these values.
    """
    if not dedupe_key or len(dedupe_key) > 500:
        raise ValueError("dedupe_key must be a non-empty string of at most 500 characters")
    address = check_recipient(recipient)
    message = render(template, context, mail_templates)
    row = {
        "dedupe_key": dedupe_key,
        "recipient": address,
        "subject": message.subject,
        "body_text": message.text,
        "body_html": message.html,
        "template": template,
        "status": "queued",
        "message_id": message_id_for(dedupe_key),
        "created_at": utcnow(),
        "attachments": encode(list(attachments)),
    }
    return insert_ignore(conn, email_outbox, [row], ["dedupe_key"]) == 1
