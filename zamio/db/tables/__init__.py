"""Every table of zamio, defined once (SQLAlchemy Core), one module per stage of the data flow.

The migrations in ``sql/`` create these tables; a test applies ``sql/`` to fresh
SQLite and PostgreSQL databases and compares the result with this module.

Conventions:

* times are :class:`~zamio.db.types.UTCDateTime` (aware UTC);
* money is ``BigInteger`` counting ten-thousandths of the row's currency
  (``zamio.values.money``), never a float or a SQLite "numeric";
* rates and percentages are :class:`~zamio.db.types.ExactDecimal` of their kind
  (``zamio.values.decimals``: the digits kept, the same on both databases);
* every table a job writes has a unique key on its natural identity, so a
  retried or repeated write cannot duplicate a row;
* queue-like tables carry the lease columns ``lease_owner``,
  ``lease_expires_at``, ``attempts``, ``next_attempt_at``, ``last_error`` read
  by ``zamio.runtime.leases``.
"""

from __future__ import annotations

from zamio.db.tables.base import metadata
from zamio.db.tables.catalog import *  # noqa: F403
from zamio.db.tables.fingerprints import *  # noqa: F403
from zamio.db.tables.money import *  # noqa: F403
from zamio.db.tables.operations import *  # noqa: F403
from zamio.db.tables.plays import *  # noqa: F403
from zamio.db.tables.recognition import *  # noqa: F403

__all__ = ["metadata", *sorted(metadata.tables)]
