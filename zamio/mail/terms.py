"""The sender's defaults that ``bin/send-emails`` offers, in a module that imports nothing, so that its
``--help`` and usage errors show them without loading the sender (``sender`` uses them from here)."""

from __future__ import annotations

LEASE_SECONDS = 300  # longer than one SMTP conversation (SMTP_TIMEOUT_SECONDS, default 30 s) by far
MAX_ATTEMPTS = 8  # with back-off 1, 2, 4 ... minutes: about four hours of retries
