"""Read-only work served by PostgreSQL hot standbys (``FINGERPRINT_DATABASE_URL``), the primary behind them.

A deployment whose scan hosts spend most of the database's time on fingerprint lookups
may give those lookups to streaming replicas of the primary: ``FINGERPRINT_DATABASE_URL``
names one or several of them (comma-separated).  Everything else, and every write, stays
on ``DATABASE_URL``.

Spreading: each piece of work goes to the next replica in turn (round robin per piece,
the first one picked by the host name, so hosts that start together do not all begin on
the same replica).  Per piece rather than per host: any number of hosts then load every
replica evenly, two hosts on three replicas included, and a host's lookups cost the same
whichever replica answers (each holds the whole catalog).

Failover: a replica that cannot be reached (or drops the connection) is given up for
``REPLICA_RETRY_SECONDS`` with a warning, and the piece of work goes to the next one, then
to the primary: a replica down never loses a capture, it only moves its load.  A query a
replica cancels because of a conflict with recovery (WAL replay had to remove rows it was
reading) is run again on the next one, without giving the replica up.

Each piece runs in one read-only REPEATABLE READ transaction, so it sees one consistent
moment of the primary's past: whatever the replica's lag, every row it reads was
committed together on the primary.  What lag means for the work is the caller's to decide
(``zamio.recognition.replicated`` for fingerprints).
"""

from __future__ import annotations

import logging
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import Connection, Engine, exc

from zamio.db.engine import open_engine, transaction, translated_errors
from zamio.db.url import DatabaseUrl
from zamio.runtime.errors import ServiceUnavailable, TemporaryFailure

log = logging.getLogger(__name__)

T = TypeVar("T")

#: How long a replica that could not be reached is left alone before it is tried again.
REPLICA_RETRY_SECONDS = 30.0
#: Seconds to wait for a replica's connection: a replica that does not answer costs one
#: capture this long, once per ``REPLICA_RETRY_SECONDS``, before the next one serves it.
REPLICA_CONNECT_TIMEOUT_SECONDS = 3
#: SQLSTATE of a query cancelled by the standby because WAL replay conflicts with it.
RECOVERY_CONFLICT = "40001"
#: Execution option naming the catalog a connection reads, whichever server serves it:
#: caches of fingerprint rows are keyed by it, so that all replicas and the primary share one.
CATALOG_OPTION = "zamio_catalog"
PRIMARY = "primary"


@dataclass
class _Replica:
    engine: Engine
    name: str  # for people: the URL without its password
    down_until: float = 0.0


class LookupDatabases:
    """Where one process's read-only lookups go: ``replicas`` (engines, each with its name for
    people) in turn, ``primary`` behind them.

    Without replicas every piece of work runs on the primary, as a read-only transaction
    there.  Thread-safe: the scan's hearing threads share one.  ``served`` counts the
    pieces each server answered (its name, or ``"primary"``).
    """

    def __init__(
        self,
        primary: Engine,
        replicas: Sequence[tuple[Engine, str]] = (),
        *,
        first: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.primary = primary
        self._replicas = [_Replica(engine, name) for engine, name in replicas]
        self._next = first % len(self._replicas) if self._replicas else 0
        self._clock = clock
        self._lock = threading.Lock()
        self.served: Counter[str] = Counter()

    @classmethod
    def open(
        cls, primary: Engine, urls: Sequence[DatabaseUrl], *, host_name: str, application_name: str
    ) -> LookupDatabases:
        """Given the primary's engine and the replicas' URLs, open an engine per replica
        (nothing is connected yet) and return the router; the host name picks the first."""
        catalog = primary.url.render_as_string(hide_password=True)
        engines = [
            (
                open_engine(
                    url,
                    application_name=f"{application_name} {host_name}",
                    connect_timeout_seconds=REPLICA_CONNECT_TIMEOUT_SECONDS,
                ).execution_options(
                    isolation_level="REPEATABLE READ", postgresql_readonly=True, **{CATALOG_OPTION: catalog}
                ),
                url.display,
            )
            for url in urls
        ]
        return cls(primary, engines, first=zlib.crc32(host_name.encode()))

    @property
    def replicated(self) -> bool:
        return bool(self._replicas)

    def read(self, work: Callable[[Connection], T]) -> tuple[T, bool]:
        """Run ``work`` in a read-only transaction on the next replica able to serve it,
        else on the primary; return its value and whether a replica served it.  Errors of
        ``work`` itself (anything but a replica unreachable or a recovery conflict) are raised."""
        for replica in self._turn():
            try:
                with translated_errors(), replica.engine.connect() as conn, conn.begin():
                    value = work(conn)
            except Exception as error:
                if not _replica_fault(error):
                    raise
                self._give_up(replica, error)
                continue
            self._count(replica.name)
            return value, True
        with transaction(self.primary, read_only=True) as conn:
            value = work(conn)
        self._count(PRIMARY)
        return value, False

    def close(self) -> None:
        """Close the replicas' pooled connections (the primary's engine is its owner's)."""
        for replica in self._replicas:
            replica.engine.dispose()

    def _turn(self) -> Iterator[_Replica]:
        """The replicas to try for one piece of work: each in turn from the next, those given up left out."""
        with self._lock:
            start = self._next
            self._next = (self._next + 1) % max(1, len(self._replicas))
        now = self._clock()
        for step in range(len(self._replicas)):
            replica = self._replicas[(start + step) % len(self._replicas)]
            if replica.down_until <= now:
                yield replica

    def _give_up(self, replica: _Replica, error: BaseException) -> None:
        reason = _first_line(error)
        if _recovery_conflict(error):
            log.warning(
                "fingerprint lookup cancelled by the replica %s (%s): asking the next server", replica.name, reason
            )
            return
        with self._lock:
            replica.down_until = self._clock() + REPLICA_RETRY_SECONDS
            up = sum(1 for r in self._replicas if r.down_until <= self._clock())
        where = "the other replicas" if up else "the primary"
        log.warning(
            "the replica %s cannot serve fingerprint lookups (%s): they go to %s, and it is tried again in %.0f s",
            replica.name,
            reason,
            where,
            REPLICA_RETRY_SECONDS,
        )

    def _count(self, name: str) -> None:
        with self._lock:
            self.served[name] += 1

    def summary(self) -> str:
        """Who served how many lookups, for the run's log: ``replica A 12, primary 1``."""
        with self._lock:
            return ", ".join(f"{name} {count}" for name, count in sorted(self.served.items()))


def _replica_fault(error: BaseException) -> bool:
    """True for what a replica's trouble raises (unreachable, connection dropped, query
    cancelled by recovery), as SQLAlchemy or the driver itself (binary COPY) reports it."""
    if isinstance(error, ServiceUnavailable | TemporaryFailure | exc.OperationalError | exc.InterfaceError):
        return True
    try:
        import psycopg2  # type: ignore[import-untyped]  # no type hints, no stubs installed
    except ImportError:
        return False
    return isinstance(error, psycopg2.OperationalError | psycopg2.InterfaceError)


def _recovery_conflict(error: BaseException) -> bool:
    seen: BaseException | None = error
    while seen is not None:
        orig = getattr(seen, "orig", None) or seen
        if getattr(orig, "pgcode", None) == RECOVERY_CONFLICT:
            return True
        seen = seen.__cause__
    return False


def _first_line(error: BaseException) -> str:
    orig = getattr(error, "orig", None) or error
    text = str(orig).strip()
    return text.splitlines()[0] if text else type(orig).__name__
