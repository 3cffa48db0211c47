"""How long ``bin/cleanup-old-data`` keeps each kind of row by default, and how many it deletes at a time.

In a module that loads nothing, so that the job's ``--help`` shows them without loading
``zamio.runtime.cleanup`` (which uses them from here).
"""

from __future__ import annotations

DEFAULT_DAYS = {"captures": 90, "detections": 90, "audio": 30, "job_runs": 90, "emails": 30, "snippets": 30,
                "unknown": 90}
BATCH_SIZE = 5000
