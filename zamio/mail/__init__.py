"""E-mail: templates, the outbox (``queue_email``) and its SMTP sender (``bin/send-emails``).

Callers queue messages inside their own transaction with :func:`queue_email`;
only ``zamio.mail.sender`` talks to an SMTP server.
"""

from zamio.mail.queue import InvalidRecipient, message_id_for, queue_email
from zamio.mail.templates import TEMPLATES, Rendered, TemplateError, render

__all__ = ["TEMPLATES", "InvalidRecipient", "Rendered", "TemplateError", "message_id_for", "queue_email", "render"]
