"""Recognition served by read replicas, each match confirmed against the primary.

``identify`` (``zamio.recognition.index``) reads three things: the rows of the excerpt's
triplet hashes, the candidates' ``fingerprint_sets`` stamps and the candidates' rows.
With ``FINGERPRINT_DATABASE_URL`` all three come from one replica in one REPEATABLE READ
transaction (``zamio.db.replicas``), so they agree with each other: the replica answers
exactly as the primary did at the moment its replay has reached, as a single-database scan
of the same audio would have answered then.

Lag changes the answer only where the catalog changed within it, and never into a wrong match:

* a track fingerprinted again (its audio replaced) or whose set was removed: the match is
  kept only if the primary still holds the set it was made with (the same stamp: created
  at, hash count, audio digest).  Otherwise the excerpt is recognised again on the primary,
  which names what the catalog holds now.  This costs the primary one read of a
  ``fingerprint_sets`` row per match, by its key;
* a track fingerprinted for the first time and not replayed yet: the excerpt is not
  matched, as it would not have been a few seconds earlier on the primary; enrolment already
  runs every ten minutes, so the lag of a healthy replica (well under a second) adds
  nothing one can tell.  A replica far behind is for monitoring to report
  (``pg_stat_replication``, docs/operations.md).
"""

from __future__ import annotations

import logging

import numpy as np
from sqlalchemy import Connection

from zamio.db.engine import transaction
from zamio.db.replicas import LookupDatabases
from zamio.recognition.index import PairCache, SetStamp, identify, set_stamps
from zamio.recognition.match import MatchResult

log = logging.getLogger(__name__)


def identify_on(databases: LookupDatabases, samples: np.ndarray, cache: PairCache | None = None) -> MatchResult | None:
    """Given where lookups go and an excerpt's samples (as ``identify`` takes them), return
    what ``identify`` finds on a replica, confirmed against the primary (see the module
    docstring), or on the primary when there is none or none can serve."""
    if not databases.replicated:  # one database, as without FINGERPRINT_DATABASE_URL
        with transaction(databases.primary, read_only=True) as conn:
            return identify(conn, samples, cache)

    def on_replica(conn: Connection) -> tuple[MatchResult | None, SetStamp | None]:
        found = identify(conn, samples, cache)
        return found, (set_stamps(conn, [found.track_id]).get(found.track_id) if found is not None else None)

    (found, stamp), replica = databases.read(on_replica)
    if found is None or not replica:
        return found
    with transaction(databases.primary, read_only=True) as conn:
        current = set_stamps(conn, [found.track_id]).get(found.track_id)
    if current is not None and current == stamp:
        return found
    log.warning(
        "track %d was fingerprinted again (or its fingerprints removed) since the replica's copy: "
        "the capture is recognised again on the primary",
        found.track_id,
    )
    with transaction(databases.primary, read_only=True) as conn:
        return identify(conn, samples, cache)
