"""The SMTP edge: settings, connection, message building, and what a server's answer means.

Only this module imports ``smtplib``.  A server reply is classified once, here:
a 5xx reply is permanent (the message is marked failed with the server's words),
a 4xx reply, a refused connection or a timeout is temporary (retried with
back-off).
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

from zamio.db.engine import StoredRow
from zamio.mail import attachments
from zamio.runtime.config import Config
from zamio.runtime.errors import ConfigError

log = logging.getLogger(__name__)

PERMANENT_CODE_MIN = 500  # SMTP reply codes 5yz: do not retry


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str  # none | starttls | ssl
    user: str | None
    password: str | None
    timeout_seconds: float
    mail_from: str

    @property
    def label(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Refusal:
    """Why a server did not take a message: its reply code (None without a reply) and text."""

    code: int | None
    text: str

    @property
    def permanent(self) -> bool:
        return self.code is not None and self.code >= PERMANENT_CODE_MIN


def settings_from(config: Config, waiting: int) -> SmtpSettings:
    """Given the configuration and the count of waiting messages, return SMTP settings; raise ConfigError if unset.

    Read once per run, so the warning about a login sent in clear is logged once per run."""
    if not config.smtp_host:
        raise ConfigError(f"SMTP_HOST is not set and {waiting} e-mail(s) are waiting; set SMTP_HOST (and SMTP_PORT, "
                          "SMTP_SECURITY, SMTP_USER, SMTP_PASSWORD) in .env")
    if bool(config.smtp_user) != bool(config.smtp_password):
        raise ConfigError("SMTP_USER and SMTP_PASSWORD must be set together")
    if config.smtp_user and config.smtp_security == "none":
        # Still sent: some relays on a private network take logins this way, but it must not go unnoticed.
        log.warning("SMTP_SECURITY is none, so the SMTP login (SMTP_USER and SMTP_PASSWORD) is sent in clear to %s; "
                    "set SMTP_SECURITY to starttls or ssl, whichever the server offers", config.smtp_host)
    return SmtpSettings(config.smtp_host, config.smtp_port, config.smtp_security, config.smtp_user,
                        config.smtp_password, config.smtp_timeout_seconds, config.mail_from)


def connect(settings: SmtpSettings) -> smtplib.SMTP:
    """Open an SMTP session (TLS as configured, logged in if a user is set); raise OSError/SMTPException on failure."""
    context = ssl.create_default_context()
    if settings.security == "ssl":
        client: smtplib.SMTP = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout_seconds,
                                                context=context)
    else:
        client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_seconds)
    try:
        client.ehlo_or_helo_if_needed()
        if settings.security == "starttls":
            client.starttls(context=context)
            client.ehlo()
        if settings.user:
            client.login(settings.user, settings.password or "")
    except BaseException:
        client.close()
        raise
    return client


def build_message(row: StoredRow, mail_from: str) -> EmailMessage:
    """Given an ``email_outbox`` row, return the MIME message: text, plus HTML as an alternative when present, then
    its attachments, read now; raise AttachmentChanged if one is missing or no longer the bytes it was queued with."""
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = row.recipient
    message["Subject"] = row.subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = row.message_id
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
    message["X-Zamio-Template"] = row.template
    message.set_content(row.body_text)
    if row.body_html:
        message.add_alternative(row.body_html, subtype="html")
    for item in attachments.load(row.attachments):
        message.add_attachment(item.content, maintype=item.maintype, subtype=item.subtype, filename=item.filename)
    return message


def message_bytes(row: StoredRow, mail_from: str) -> bytes:
    """The message as sent on the wire: CRLF line ends (smtplib sends bytes as given), long lines encoded."""
    return build_message(row, mail_from).as_bytes(policy=policy.SMTP)


def envelope_sender(mail_from: str) -> str:
    return parseaddr(mail_from)[1] or mail_from


def refusal_of(error: BaseException) -> Refusal:
    """Given an exception from smtplib or the socket layer, return the refusal it means."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(error.recipients.values()), (None, b"recipient refused"))
        return Refusal(code, _text(text))
    if isinstance(error, smtplib.SMTPResponseException):
        return Refusal(error.smtp_code, _text(error.smtp_error))
    return Refusal(None, f"{type(error).__name__}: {error}".strip())


def _text(value: object) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def check_reply(reply: tuple[int, bytes], accepted: tuple[int, ...], what: str) -> None:
    """Raise SMTPResponseException unless the server's reply code is one of ``accepted``."""
    code, text = reply
    if code not in accepted:
        raise smtplib.SMTPResponseException(code, text or what.encode())
