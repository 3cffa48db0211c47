"""The fixed words of the analytics reports that the command line offers.

They sit in a module that imports nothing, so that ``bin/generate-analytics-report --help`` and
its usage errors show them without loading the reports (``data`` and ``writing`` use them from here).
"""

from __future__ import annotations

REPORT_TYPES = ("station", "artist", "publisher", "platform")
FORMATS = ("csv", "json", "html")
