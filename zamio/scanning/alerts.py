"""The "stream down" e-mail: one per link per outage, to the station and the operator.

A link that failed ``STREAM_FAILURE_ALERT_AFTER`` scans in a row and has not been
announced yet (``stream_links.alerted_at`` is empty) gets one ``stream_down`` e-mail
queued in the outbox for the station's contact and for ``ZAMIO_OPERATOR_EMAIL``.  The
outbox de-duplication key names the link and the outage (the last success before it),
so a retried or concurrent run cannot queue it twice; a success clears ``alerted_at``
and a later outage is announced again.  ``bin/send-emails`` delivers the outbox.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, TypedDict

from sqlalchemy import Connection

from zamio.runtime.errors import ItemError
from zamio.scanning.links import Link, mark_alerted
from zamio.streams import redact_url

if TYPE_CHECKING:
    from zamio.mail.templates import MailTemplates

log = logging.getLogger(__name__)

TEMPLATE = "stream_down"


class StreamDown(TypedDict):
    """The ``stream_down`` template context."""

    station: str
    since: str  # the last success, or words saying it never had one
    failures: int
    last_reason: str
    url: str  # without credentials
    station_ref: str
    stream_link_id: int
    priority: int


def should_alert(link: Link, failures: int, alert_after: int) -> bool:
    """True when this failure is the one to announce: ``alert_after`` failures in a row
    and the outage not announced yet."""
    return failures >= alert_after and link.alerted_at is None


def outage_key(link: Link) -> str:
    """The de-duplication key of the current outage of ``link``."""
    since = link.last_success_at.strftime("%Y%m%dT%H%M%S.%fZ") if link.last_success_at else "never"
    return f"{TEMPLATE}:link:{link.id}:{since}"


def queue_stream_down(conn: Connection, link: Link, *, failures: int, reason: str, message: str,
                      operator_email: str | None, now: datetime, mail_templates: MailTemplates | None = None) -> int:
    """Queue the ``stream_down`` e-mail of ``link`` to its station's contact and the
    operator, and mark the link alerted; return how many e-mails were queued.

    Returns 0 without marking the link when no recipient is known or the outbox
    (``zamio.mail``) is not installed, so the alert is retried by later runs.
    """
    recipients = sorted({r for r in (link.contact_email, operator_email) if r})
    if not recipients:
        log.warning("station %s: link %s is down but no e-mail address is known (station contact_email, "
                    "ZAMIO_OPERATOR_EMAIL)", link.station_ref, link.id)
        return 0
    try:
        from zamio.mail import queue_email
    except ImportError:
        log.warning("station %s: link %s is down, but the e-mail outbox (zamio.mail) is not installed",
                    link.station_ref, link.id)
        return 0
    context = alert_context(link, failures=failures, reason=reason, message=message)
    queued, unrendered = 0, False
    for recipient in recipients:
        try:
            queued += queue_email(conn, dedupe_key=f"{outage_key(link)}:{recipient}", recipient=recipient,
                                  template=TEMPLATE, context=context, mail_templates=mail_templates)
        except ItemError as bad:  # a mistyped station address must not hide the operator's copy
            unrendered = unrendered or bad.reason == "template_failed"
            log.warning("station %s: cannot e-mail %s about link %s: %s", link.station_ref, recipient, link.id, bad)
    if not unrendered:  # a template of TEMPLATES_DIR that failed: the next failed scan tries again
        mark_alerted(conn, link, now)
    return queued


def alert_context(link: Link, *, failures: int, reason: str, message: str) -> StreamDown:
    """The template context of a ``stream_down`` e-mail (no credentials in the URL)."""
    since = (f"{link.last_success_at:%Y-%m-%d %H:%M} UTC" if link.last_success_at
             else "it was added (it has never worked)")
    return {
        "station": f"{link.station_name} ({link.station_ref})",
        "since": since,
        "failures": failures,
        "last_reason": f"{reason}: {message}",
        "url": redact_url(link.url),
        "station_ref": link.station_ref,
        "stream_link_id": link.id,
        "priority": link.priority,
    }
