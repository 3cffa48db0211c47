"""Dead-man's-switch pings in the healthchecks.io convention.

``ZAMIO_PING_URL`` is a URL template containing ``{job}``, for example
``https://hc-ping.com/<ping-key>/{job}``.  A run sends ``<url>/start?rid=<run>``
before its work and ``<url>/<exit code>?rid=<run>`` after it.  A ping has a
short timeout and one retry; a failed ping is logged as a warning and never
changes the job's outcome (the monitoring system failing must not block the
work it monitors).
"""

from __future__ import annotations

import logging
import urllib.error
import urllib.request

log = logging.getLogger(__name__)

PING_TRIES = 2


def ping_url(template: str, job: str, suffix: str, run_id: str) -> str:
    base = template.replace("{job}", job).rstrip("/")
    return f"{base}/{suffix}?rid={run_id}"


def send_ping(template: str | None, job: str, suffix: str, run_id: str, timeout: float, body: str = "") -> bool:
    """POST one ping; return True if it was accepted.  Never raises."""
    if not template:
        return False
    url = ping_url(template, job, suffix, run_id)
    for attempt in range(1, PING_TRIES + 1):
        try:
            request = urllib.request.Request(url, data=body.encode()[:10_000], method="POST")
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (http/https checked in config)
                if 200 <= response.status < 300:
                    return True
        except (urllib.error.URLError, OSError, ValueError) as error:
            if attempt == PING_TRIES:
                log.warning("monitoring ping %s failed: %s (the job's own result is unaffected)", suffix, error)
    return False
