"""``bin/update-pro-mappings``: map detections and plays with an ISRC but no society to a partner society.

A row is mapped by the **exact normalised ISRC** against ``partner_repertoire``
(never by the ISRC's country prefix, which names the registrant's agency, not
the work's origin).  The outcome is always explicit in ``society_status``:

* ``mapped``: exactly one partner society claims the ISRC (``society_id`` set);
* ``ambiguous``: several do (left for a person; the play stays in suspense);
* ``unknown``: no society claims it yet; re-checked every run, never defaulted
  to the local society;
* ``invalid_isrc``: the ISRC is malformed (the raw text is kept).

Rows already ``mapped``, ``ambiguous`` or ``invalid_isrc`` are left alone, so
running twice changes nothing the second time.  Work is set-based: one query
per chunk of distinct ISRCs and one UPDATE per distinct ISRC and table.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table, bindparam, select, update

from zamio.catalog.identifiers import is_valid_isrc, normalise_isrc
from zamio.db.tables import detections, partner_repertoire, play_logs

PENDING_STATUSES = ("unmapped", "unknown")
CHUNK_ISRCS = 1000


def _pending(table: Table) -> list[Any]:
    conditions = [table.c.isrc.is_not(None), table.c.society_id.is_(None),
                  table.c.society_status.in_(PENDING_STATUSES)]
    if table is play_logs:
        conditions.append(play_logs.c.status != "superseded")
    return conditions


def pending_isrcs(conn: Connection, table: Table) -> list[str]:
    """Given detections or play_logs, return the distinct raw ISRCs of rows still to map, sorted."""
    return list(conn.execute(select(table.c.isrc).where(*_pending(table)).distinct().order_by(table.c.isrc))
                .scalars())


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


def map_chunk(conn: Connection, table: Table, raws: Sequence[str]) -> Counter:
    """Given raw ISRCs of ``table``, map their pending rows; return rows changed per status."""
    claimed = claims(conn, sorted({normalise_isrc(r) or "" for r in raws}))
    stmt = (update(table).where(table.c.isrc == bindparam("m_raw"), *_pending(table))
            .values(society_id=bindparam("m_society"), society_status=bindparam("m_status")))
    counts: Counter = Counter()
    for raw in raws:
        society, status = decide(raw, claimed)
        result = conn.execute(stmt, {"m_raw": raw, "m_society": society, "m_status": status})
        if status == "unknown":
            continue  # unknown rows are re-checked every run; only a change of state is counted
        counts[status] += max(result.rowcount, 0)
    return counts


def update_pro_mappings(ctx: Any) -> None:
    """Job entry point: map pending detections, then pending plays, by chunks of distinct ISRCs."""
    totals: Counter = Counter()
    for table in (detections, play_logs):
        with ctx.transaction(read_only=True) as conn:
            raws = pending_isrcs(conn, table)
        for start in range(0, len(raws), CHUNK_ISRCS):
            if ctx.should_stop():
                break
            with ctx.transaction() as conn:
                counts = map_chunk(conn, table, raws[start:start + CHUNK_ISRCS])
            for status, n in counts.items():
                totals[f"{table.name} {status}"] += n
    ctx.ok(sum(n for key, n in totals.items() if key.endswith("mapped")))
    for key, n in sorted(totals.items()):
        ctx.note(f"{n} {key}")
    if not totals:
        ctx.note("nothing newly mapped")
