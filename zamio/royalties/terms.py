"""The fixed words and defaults of the royalty stages that the command line offers.

They sit in a module that imports nothing, so that a job's ``--help`` and its usage errors
show them without loading the stages (the modules named below use them from here).
"""

from __future__ import annotations

#: Pricing plays into the ledger (``pricing.run``).
BATCH_PLAYS = 5000
WORKERS = 2  # batches priced at once by the job on PostgreSQL: one in Python while one is written

#: How a cycle's money is distributed, and the audit reason of a cycle locked despite changed inputs
#: (``cycles.process``).
DISTRIBUTION_METHODS = ("per_second", "pool")
DESPITE_CHANGES_REASON = "files written as locked although inputs changed since the lock"

#: The age past which money held in suspense may be declared non-distributable (``suspense.report``).
DEFAULT_LIMIT_YEARS = 3
