"""Play logs: one play per airing, from detections (``convert``), from other services
(``imports``), and out to files (``export``).

* ``evidence`` reads one station's captures and detections as ``zamio.playlogs.airings``
  observations and says why a detection cannot be used;
* ``convert`` turns them into plays every couple of minutes (``bin/convert-matches``);
* ``store`` writes plays: new versions, superseded rows, links to detections;
* ``imports`` loads plays reported by other monitoring services (``bin/import-playlogs``);
* ``export`` writes plays to CSV or JSON (``bin/export-playlogs``).

The rules a play obeys (status, versions, duplicates) are in docs/playlogs.md.
"""
