"""The fixed words and defaults of the play-log stage that the command line offers.

They sit in a module that imports nothing, so that a job's ``--help`` and its usage errors
show them without loading the stage (the modules named below use them from here).
"""

from __future__ import annotations

#: What a correction does to a play (``correction_requests``).
ACTIONS = ("void", "reassign", "retime", "add", "merge", "split")

#: Who may dispute plays, how a dispute is decided, and where it stands (``disputes``).
CLAIMANT_TYPES = ("artist", "publisher", "society", "station")
DECISIONS = ("upheld", "rejected", "partly")
OPEN, RESOLVED = "open", "resolved"
STATUSES = (OPEN, RESOLVED)

#: The files plays are written to (``export``).
EXPORT_FORMATS = ("csv", "json", "jsonl")

#: Converting detections into plays (``convert``).
DEFAULT_BATCH_ROWS = 5000  # capture rows read per station transaction (about a week of one station)
DEFAULT_MAX_ATTEMPTS = 6
