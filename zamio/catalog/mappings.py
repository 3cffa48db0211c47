"""ISRC → partner society mappings: ``isrc_mappings``, one row per normalised ISRC; this module is its only writer.

An ISRC is mapped by its **exact normalised form** against ``partner_repertoire``
(never by the ISRC's country prefix, which names the registrant's agency, not
the work's origin).  The outcome is always explicit in ``isrc_mappings.status``:

* ``mapped``: exactly one partner society claims the ISRC (``society_id`` set);
* ``ambiguous``: several do (left for a person; its plays stay in suspense);
* ``unknown``: no society claims it yet; re-checked every run, never defaulted
  to the local society;
* ``invalid_isrc``: the ISRC is malformed.

The ISRCs looked at are those of detections and current plays without a society of
their own (a catalog track registered to a society gives a row one when it is
recorded, imported or converted).  Those already ``mapped``, ``ambiguous`` or
``invalid_isrc`` are left alone, so a second run changes nothing but the
``checked_at`` of the unknown ones.  An ISRC that normalises to nothing is skipped:
no play can be found by it.  Detections and plays are only read (a final play is
never edited, ``zamio.db.tables.plays``); pricing reads a play's mapping through
``mapped_societies``.

Work is set-based: the distinct ISRCs by chunks, one transaction per chunk with one
query for its mappings, one for its claims and one write per ISRC, in ISRC order.  Two
runs at once leave one row per ISRC: the ISRC is a unique key, an insert that meets a
row another run added leaves it, and an unknown row is changed only while still unknown.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from sqlalchemy import Connection, Select, Table, select, union, update

from zamio.catalog.identifiers import is_valid_isrc, normalise_isrc
from zamio.db.engine import insert_ignore, utcnow
from zamio.db.tables import detections, isrc_mappings, partner_repertoire, play_logs
from zamio.runtime.progress import Transactions

SETTLED_STATUSES = ("mapped", "ambiguous", "invalid_isrc")
RECHECKED_STATUS = "unknown"
CHUNK_ISRCS = 1000


def _seen(table: Table) -> Select[str | None]:
    """The raw ISRCs of ``table``'s rows without a society of their own, less those stored settled as they are."""
    settled = (select(isrc_mappings.c.id)
               .where(isrc_mappings.c.isrc == table.c.isrc, isrc_mappings.c.status.in_(SETTLED_STATUSES)).exists())
    query = select(table.c.isrc).where(table.c.isrc.is_not(None), table.c.society_id.is_(None), ~settled)
    return query.where(play_logs.c.status != "superseded") if table is play_logs else query


def pending_isrcs(conn: Connection) -> list[str]:
    """Return the distinct normalised ISRCs of detections and current plays without a society of their own
    and without a settled mapping, sorted."""
    raws = conn.execute(union(_seen(detections), _seen(play_logs))).scalars()
    keys = {key for raw in raws if (key := normalise_isrc(raw)) is not None}
    return sorted(keys - set(statuses(conn, keys, SETTLED_STATUSES)))


def statuses(conn: Connection, isrcs: Iterable[str], among: Sequence[str] | None = None) -> dict[str, str]:
    """Given normalised ISRCs (and optionally the statuses wanted), return the status of those with a row."""
    wanted = sorted(isrcs)
    found: dict[str, str] = {}
    for start in range(0, len(wanted), CHUNK_ISRCS):
        query = (select(isrc_mappings.c.isrc, isrc_mappings.c.status)
                 .where(isrc_mappings.c.isrc.in_(wanted[start:start + CHUNK_ISRCS])))
        if among is not None:
            query = query.where(isrc_mappings.c.status.in_(list(among)))
        found.update((isrc, status) for isrc, status in conn.execute(query))
    return found


def claims(conn: Connection, isrcs: Sequence[str]) -> dict[str, list[int]]:
    """Given normalised ISRCs, return the ids of the societies claiming each (sorted), by ISRC."""
    found: dict[str, list[int]] = {}
    if isrcs:
        rows = conn.execute(select(partner_repertoire.c.isrc, partner_repertoire.c.society_id)
                            .where(partner_repertoire.c.isrc.in_(list(isrcs)))
                            .order_by(partner_repertoire.c.isrc, partner_repertoire.c.society_id))
        for isrc, society_id in rows:
            found.setdefault(isrc, []).append(society_id)
    return found


def decide(raw: str, claimed: dict[str, list[int]]) -> tuple[int | None, str]:
    """Given a raw ISRC and the claims on normalised ISRCs, return (society id or None, status)."""
    isrc = normalise_isrc(raw)
    if not is_valid_isrc(isrc):
        return None, "invalid_isrc"
    societies = claimed.get(isrc or "", [])
    if len(societies) == 1:
        return societies[0], "mapped"
    return None, "ambiguous" if societies else "unknown"


def _added(conn: Connection, isrc: str, society: int | None, status: str, now: datetime) -> bool:
    row = dict(isrc=isrc, status=status, society_id=society, decided_at=now, checked_at=now)
    return insert_ignore(conn, isrc_mappings, [row], ["isrc"]) == 1


def _rechecked(conn: Connection, isrc: str, society: int | None, status: str, now: datetime) -> bool:
    values = dict(status=status, society_id=society, checked_at=now)
    if status != RECHECKED_STATUS:
        values["decided_at"] = now
    result = conn.execute(update(isrc_mappings).values(**values)
                          .where(isrc_mappings.c.isrc == isrc, isrc_mappings.c.status == RECHECKED_STATUS))
    return result.rowcount == 1


def map_isrcs(conn: Connection, isrcs: Sequence[str], now: datetime) -> Counter[str]:
    """Given normalised ISRCs, decide those not settled yet and write their rows; return the ISRCs newly
    decided per status (an ISRC found or still unknown is re-checked every run and not counted)."""
    known = statuses(conn, isrcs)
    todo = sorted(isrc for isrc in set(isrcs) if known.get(isrc, RECHECKED_STATUS) == RECHECKED_STATUS)
    claimed = claims(conn, [isrc for isrc in todo if is_valid_isrc(isrc)])
    counts: Counter[str] = Counter()
    for isrc in todo:
        society, status = decide(isrc, claimed)
        write = _rechecked if isrc in known else _added
        if write(conn, isrc, society, status, now) and status != RECHECKED_STATUS:
            counts[status] += 1
    return counts


def update_mappings(transaction: Transactions, *, should_stop: Callable[[], bool] = lambda: False) -> Counter[str]:
    """Given a transaction factory, map every pending ISRC, a chunk per transaction, until done or
    ``should_stop()``; return the ISRCs newly decided per status."""
    with transaction(read_only=True) as conn:
        isrcs = pending_isrcs(conn)
    totals: Counter[str] = Counter()
    for start in range(0, len(isrcs), CHUNK_ISRCS):
        if should_stop():
            break
        with transaction() as conn:
            totals.update(map_isrcs(conn, isrcs[start:start + CHUNK_ISRCS], utcnow()))
    return totals


def mapped_societies(conn: Connection, isrcs: Iterable[str]) -> dict[str, int]:
    """Given normalised ISRCs, return the society each one that is mapped is mapped to."""
    wanted = sorted(set(isrcs))
    found: dict[str, int] = {}
    for start in range(0, len(wanted), CHUNK_ISRCS):
        rows = conn.execute(select(isrc_mappings.c.isrc, isrc_mappings.c.society_id).where(
            isrc_mappings.c.isrc.in_(wanted[start:start + CHUNK_ISRCS]), isrc_mappings.c.status == "mapped"))
        found.update((isrc, society_id) for isrc, society_id in rows)
    return found
