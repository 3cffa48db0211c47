"""Dead-man's-switch pings in the healthchecks.io convention.

``ZAMIO_PING_URL`` is a URL template containing ``{job}``, for example
``https://hc-ping.com/<ping-key>/{job}``.  A run sends ``<url>/start?rid=<run>``
before its work and ``<url>/<exit code>?rid=<run>`` after it.  A ping has a
short timeout (for connecting and for the answer each) and one retry, with no
wait, after a network failure or an answer that is not 2xx; a failed ping is
logged as a warning and never changes the job's outcome (the monitoring system
failing must not block the work it monitors).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from urllib3.util.retry import Retry

log = logging.getLogger(__name__)

PING_TRIES = 2
MAX_BODY_BYTES = 10_000


def ping_url(template: str, job: str, suffix: str, run_id: str) -> str:
    base = template.replace("{job}", job).rstrip("/")
    return f"{base}/{suffix}?rid={run_id}"


def ping_retry() -> Retry:
    """One retry of any failure (connection, answer, HTTP 4xx/5xx), at once."""
    from urllib3.util.retry import Retry

    return Retry(total=PING_TRIES - 1, allowed_methods=None, status_forcelist=range(400, 600),
                 raise_on_status=False, respect_retry_after_header=False, backoff_factor=0)


def send_ping(template: str | None, job: str, suffix: str, run_id: str, timeout: float, body: str = "") -> bool:
    """POST one ping; return True if it was accepted.  Never raises."""
    if not template:
        return False
    # Imported past the check: requests takes 0.07-0.09 s to load, which a run without pings,
    # and --help, need not pay.
    import requests
    from requests.adapters import HTTPAdapter

    url = ping_url(template, job, suffix, run_id)
    try:
        with requests.Session() as session:
            adapter = HTTPAdapter(max_retries=ping_retry())
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            response = session.post(url, data=body.encode()[:MAX_BODY_BYTES], timeout=(timeout, timeout))
            response.close()
    except (requests.RequestException, ValueError) as error:
        log.warning("monitoring ping %s failed: %s (the job's own result is unaffected)", suffix, error)
        return False
    if 200 <= response.status_code < 300:
        return True
    log.warning("monitoring ping %s failed: HTTP %d (the job's own result is unaffected)", suffix, response.status_code)
    return False
