"""Station stream scanning, the work of ``bin/scan-station-streams`` (``zamio/jobs/scan_station_streams.py``).

Every two minutes each active station's preferred stream link that is due is captured
(a window of ``SCAN_CAPTURE_SECONDS``), decoded, fingerprinted and matched against the
catalog; uploaded snippets waiting in the inbox are handled the same way.  Each capture
is a ``captures`` row, each recognition a ``detections`` row (``local``, or ``acrcloud``
when the fallback is configured and the local match failed).  Link health, back-off,
the backup link, the stream-down e-mail and coverage gaps keep failures visible.

Modules: ``settings`` (run settings), ``links`` (claims and health),
``hearing`` (decode, match, fallback), ``fallback`` (ACRCloud budgets and breaker),
``records`` (captures and detections), ``snippets`` (the inbox), ``alerts``
(stream-down e-mail), ``gaps`` (coverage gaps), ``job`` (the run loop).
"""

from zamio.scanning.job import scan_station_streams
from zamio.scanning.settings import ScanSettings

__all__ = ["ScanSettings", "scan_station_streams"]
