"""E-mail: templates, the outbox (``queue_email``) and its SMTP sender (``bin/send-emails``).

Callers queue messages inside their own transaction with :func:`queue_email`;
only ``zamio.mail.sender`` talks to an SMTP server.
"""

from zamio.mail.queue import InvalidRecipient, message_id_for, queue_email
from zamio.mail.templates import TEMPLATES, MailTemplates, Rendered, TemplateError, TemplateFailed, load, render

__all__ = ["TEMPLATES", "InvalidRecipient", "MailTemplates", "Rendered", "TemplateError", "TemplateFailed", "load",
           "message_id_for", "queue_email", "render"]
