"""E-mail: templates, the outbox (``queue_email``) and its SMTP sender (``bin/send-emails``).

Callers queue messages inside their own transaction with :func:`queue_email`;
only ``zamio.mail.sender`` talks to an SMTP server.

The names below load their module on first use (PEP 562), so that ``zamio.mail.terms``, the
sender's defaults that ``bin/send-emails --help`` shows, loads neither Jinja2 nor SQLAlchemy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from zamio.mail.queue import InvalidRecipient, message_id_for, queue_email
    from zamio.mail.templates import TEMPLATES, MailTemplates, Rendered, TemplateError, TemplateFailed, load, render

__all__ = ["TEMPLATES", "InvalidRecipient", "MailTemplates", "Rendered", "TemplateError", "TemplateFailed", "load",
           "message_id_for", "queue_email", "render"]

#: The module each name of ``__all__`` comes from.
_HOMES = {"InvalidRecipient": "queue", "message_id_for": "queue", "queue_email": "queue"}


def __getattr__(name: str) -> object:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES.get(name, 'templates')}"), name)
