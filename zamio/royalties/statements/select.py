"""What a cycle's files are made of, read from the ledger: the first step of writing them.

A cycle's files are written in four steps, one module each:

1. **select** (this module): the line items, the remittances, the recipients' identifiers, the
   domestic payees' balances (``payouts``), and every statement line with its play, ordered by
   recipient (the id of its line item) and play time;
2. **shape** (``zamio.royalties.statements.shape``): one recipient's lines become the statement a
   person reads: the summary, earnings by work and station, the detail, amounts that add up;
3. **format** (``zamio.royalties.statements.formatting``): the statement as an HTML page (a
   template) and CSV files;
4. **write** (``zamio.royalties.statements.write``): cut into one statement per recipient and
   currency as the ordered lines stream by, written whole; ``zamio.royalties.statements.files`` runs
   the steps for a cycle's folder, and ``zamio.royalties.statements.workers`` shares the recipients
   between processes.

On PostgreSQL the statement lines come as plain fields through a server-side cursor
(``statement_fields``); on SQLite as rows (``statement_lines``): shaped into the same lines.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Float,
    FromClause,
    Integer,
    Join,
    and_,
    case,
    cast,
    func,
    literal,
    select,
    union_all,
)

from zamio.db.engine import StoredRow
from zamio.db.tables import (
    artists,
    audit_log,
    contributors,
    cycle_line_items,
    cycle_pricings,
    partner_remittances,
    partner_societies,
    payment_events,
    payments,
    payout_balances,
    play_logs,
    publishers,
    royalty_cycles,
    royalty_ledger,
    royalty_pricings,
    stations,
    tracks,
)
from zamio.db.types import DateText
from zamio.royalties.pricing.paid import cycle_lines
from zamio.royalties.statements.summary import COMMISSION, DEDUCTION_KINDS, WITHHOLDING, Carried, FailedPayment, Payout

if TYPE_CHECKING:
    from zamio.royalties.statements.shape import StatementFields

STREAM_ROWS = 5000
ItemRange = tuple["int | None", "int | None"]  # line item ids [low, high), None for no bound


@dataclass(frozen=True)
class StatementCycle:
    """What a statement page shows of its cycle (passed to the statement workers as plain JSON)."""

    id: int
    name: str
    method: str
    period_from: date
    period_to: date

    @classmethod
    def of(cls, cycle: StoredRow) -> StatementCycle:
        return cls(cycle.id, cycle.name, cycle.method, cycle.period_from, cycle.period_to)


def statement_rows(conn: Connection, cycle_id: int) -> list[StoredRow]:
    """Given a cycle, return a row per statement, in file order: its line items (one per recipient and currency),
    and a row of zeros for each domestic payee with a balance but no line item (``balance_only``)."""
    item, b = cycle_line_items, payout_balances
    zero = cast(literal(0), BigInteger)
    rows = union_all(
        select(item.c.recipient_type, item.c.recipient_ref, item.c.recipient_name, item.c.currency, item.c.plays,
               item.c.seconds, item.c.gross, item.c.admin_fee, item.c.net).where(item.c.cycle_id == cycle_id),
        select(b.c.recipient_type, b.c.recipient_ref, _known_name(), b.c.currency, cast(literal(0), Integer),
               cast(literal(0), Float), zero, zero, zero)
        .where(*_without_line_item(cycle_id))).subquery("statements")
    return list(conn.execute(select(rows).order_by(rows.c.recipient_type, rows.c.recipient_ref, rows.c.currency)))


def line_item_rows(conn: Connection, cycle_id: int, items: ItemRange = (None, None)) -> list[StoredRow]:
    """Given a cycle and a range of its line item ids, return those line items."""
    low, high = items
    query = select(cycle_line_items).where(cycle_line_items.c.cycle_id == cycle_id)
    if low is not None:
        query = query.where(cycle_line_items.c.id >= low)
    if high is not None:
        query = query.where(cycle_line_items.c.id < high)
    return list(conn.execute(query))


IPI = "IPI name number"


def identifiers(conn: Connection) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """Return the identifiers the catalog holds of each recipient, (type, reference) → [(label, value)]: the IPI
    name numbers of contributor parties, artists and publishers, and partner societies' CISAC codes."""
    found: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for kind, ref_column, ipi_column in (("contributor", contributors.c.party_ref, contributors.c.ipi),
                                         ("artist", artists.c.artist_ref, artists.c.ipi),
                                         ("publisher", publishers.c.publisher_ref, publishers.c.ipi)):
        rows = conn.execute(select(ref_column, ipi_column).where(ipi_column.is_not(None)).distinct()
                            .order_by(ref_column, ipi_column))
        for ref, ipi in rows:
            found.setdefault((kind, ref), []).append((IPI, ipi))
    for code, in conn.execute(select(partner_societies.c.code).order_by(partner_societies.c.code)):
        for kind in ("society", "local_society"):
            found.setdefault((kind, code), []).append(("CISAC society code", code))
    return found


def local_society_name(conn: Connection) -> str | None:
    """Return the local society's name as the catalog holds it (None if it holds none)."""
    return conn.execute(select(partner_societies.c.name).where(partner_societies.c.is_local.is_(True))
                        .order_by(partner_societies.c.id).limit(1)).scalar()


def remittance_rows(conn: Connection, cycle_id: int) -> list[StoredRow]:
    """Given a cycle, return its remittances with their society and the currency of its ledger lines."""
    return list(conn.execute(
        select(partner_remittances, partner_societies.c.code, partner_societies.c.short_name,
               cycle_line_items.c.currency.label("ledger_currency"))
        .join(partner_societies, partner_societies.c.id == partner_remittances.c.society_id)
        .join(cycle_line_items, and_(cycle_line_items.c.cycle_id == partner_remittances.c.cycle_id,
                                     cycle_line_items.c.recipient_type == "society",
                                     cycle_line_items.c.recipient_ref == partner_societies.c.code))
        .where(partner_remittances.c.cycle_id == cycle_id).order_by(partner_societies.c.code)))


def balance_rows(conn: Connection, cycle_id: int) -> list[StoredRow]:
    """Given a cycle, return every recipient's balance of it (``payout_balances``, written at its lock): domestic
    payees and partner societies (a society's is its remittance, in its own currency), in recipient order.  None
    for a cycle locked before balances were kept."""
    b = payout_balances
    return list(conn.execute(select(b).where(b.c.cycle_id == cycle_id)
                             .order_by(b.c.recipient_type, b.c.recipient_ref, b.c.currency)))


PARTNER = "society"  # a partner society's balance is its remittance, in its own currency: not on its statement
Key = tuple[str, str, str]  # (recipient type, reference, currency)


def _carried(row: StoredRow) -> Carried:
    return Carried(row.net_payable + row.carried_forward, row.net_payable, row.minimum)


def payouts(conn: Connection, cycle_id: int) -> dict[Key, Payout]:
    """Given a cycle, return each domestic payee's balance of it (``payout_balances``, written at its lock) with
    what explains it: the rates its deduction lines were booked at, the payee's balance before (what it carried
    forward) and the failed payments recorded between the two locks, by (recipient type, reference, currency)."""
    b = payout_balances
    mine = {(r.recipient_type, r.recipient_ref, r.currency): r for r in conn.execute(
        select(b).where(b.c.cycle_id == cycle_id, b.c.recipient_type != PARTNER))}
    if not mine:
        return {}
    rates: dict[Key, dict[str, str]] = {}
    e = royalty_ledger
    for kind, recipient_type, ref, currency, details in conn.execute(
            select(e.c.kind, e.c.recipient_type, e.c.recipient_ref, e.c.currency, e.c.details)
            .where(e.c.cycle_id == cycle_id, e.c.kind.in_(DEDUCTION_KINDS))):  # the accounts' lines: no balance
        told = json.loads(details or "{}")
        rates.setdefault((recipient_type, ref, currency), {})[kind] = str(told.get("percent", ""))
    earlier: dict[Key, StoredRow] = {}
    failed: dict[Key, list[tuple[Any, FailedPayment]]] = {}
    if any(r.brought_forward for r in mine.values()):
        before = b.alias("before")
        brought = select(b.c.id, b.c.recipient_type, b.c.recipient_ref, b.c.currency).where(
            b.c.cycle_id == cycle_id, b.c.recipient_type != PARTNER, b.c.brought_forward != 0).subquery("brought")
        last = (select(func.max(before.c.id).label("id"))
                .join(brought, and_(before.c.recipient_type == brought.c.recipient_type,
                                    before.c.recipient_ref == brought.c.recipient_ref,
                                    before.c.currency == brought.c.currency, before.c.id < brought.c.id))
                .group_by(brought.c.id).subquery("last"))
        for r in conn.execute(select(b).join(last, last.c.id == b.c.id)):
            earlier[r.recipient_type, r.recipient_ref, r.currency] = r
        p = payments
        for r in conn.execute(
                select(p.c.reference, p.c.recipient_type, p.c.recipient_ref, p.c.currency, p.c.amount,
                       royalty_cycles.c.name, payment_events.c.reason, payment_events.c.created_at)
                .join(payment_events, and_(payment_events.c.payment_id == p.c.id, payment_events.c.status == "failed"))
                .join(royalty_cycles, royalty_cycles.c.id == p.c.cycle_id)
                .where(p.c.recipient_type != PARTNER).order_by(payment_events.c.id)):
            failed.setdefault((r.recipient_type, r.recipient_ref, r.currency), []).append(
                (r.created_at, FailedPayment(r.reference, r.name, r.amount, r.reason or "")))
    found = {}
    for key, row in mine.items():
        before_row = earlier.get(key)
        since = before_row.created_at if before_row is not None else None
        # a failure brought forward by this lock was recorded after the payee's balance before and before it
        told = tuple(f for at, f in failed.get(key, []) if (since is None or at > since) and at <= row.created_at)
        rate = rates.get(key, {})
        found[key] = Payout(row.brought_forward, _carried(row), row.residency, rate.get(COMMISSION) or None,
                            rate.get(WITHHOLDING) or None, _carried(before_row) if before_row is not None else None,
                            told)
    return found


def balance_only(conn: Connection, cycle_id: int) -> list[StoredRow]:
    """Given a cycle, return the domestic payees it has a balance for but no line item: no line of the cycle
    pays them, and what earlier cycles left them is brought forward (and paid or carried forward again).  Each
    row: recipient type, reference, name and currency, in file order."""
    b = payout_balances
    return list(conn.execute(
        select(b.c.recipient_type, b.c.recipient_ref, _known_name(), b.c.currency)
        .where(*_without_line_item(cycle_id)).order_by(b.c.recipient_type, b.c.recipient_ref, b.c.currency)))


def _known_name() -> ColumnElement[Any]:
    """A balance's recipient name, else the one its latest earlier balance gave (a payee paid before without
    payment details loaded is named as its lines named it)."""
    b, earlier = payout_balances, payout_balances.alias("earlier")
    latest = (select(earlier.c.recipient_name)
              .where(earlier.c.recipient_type == b.c.recipient_type, earlier.c.recipient_ref == b.c.recipient_ref,
                     earlier.c.currency == b.c.currency, earlier.c.id < b.c.id, earlier.c.recipient_name.is_not(None))
              .order_by(earlier.c.id.desc()).limit(1).scalar_subquery())
    return func.coalesce(b.c.recipient_name, latest).label("recipient_name")


def _without_line_item(cycle_id: int) -> list[ColumnElement[bool]]:
    """The conditions on ``payout_balances`` of a domestic payee's balance of the cycle without a line item."""
    b, item = payout_balances, cycle_line_items
    paid = select(item.c.id).where(item.c.cycle_id == cycle_id, item.c.recipient_type == b.c.recipient_type,
                                   item.c.recipient_ref == b.c.recipient_ref, item.c.currency == b.c.currency)
    return [b.c.cycle_id == cycle_id, b.c.recipient_type != PARTNER, ~paid.exists()]


def _has_deductions(conn: Connection, cycle_id: int) -> bool:
    """Whether a per-second cycle has lines of its own (its deductions, ``zamio.royalties.pricing.paid``)."""
    return conn.execute(select(royalty_ledger.c.id).where(royalty_ledger.c.cycle_id == cycle_id).limit(1)).first() \
        is not None


def _line_source(cycle_id: int, method: str, items: ItemRange, deductions: bool = False
                 ) -> tuple[Join, FromClause, FromClause, list[ColumnElement[bool]]]:
    """Given a cycle and a range of its line items, return (FROM clause, ledger lines, dated table, conditions)
    of its statement lines; each line is joined to its recipient's line item, which orders the files.

    ``deductions``: a per-second cycle that booked lines of its own (no play) when it was locked."""
    e: FromClause
    dated: FromClause
    lines: FromClause
    if method == "pool":
        e = cycle_lines(cycle_id, method)
        pricing = and_(royalty_pricings.c.play_id == e.c.play_id, royalty_pricings.c.version == e.c.version)
        lines, dated = e.outerjoin(royalty_pricings, pricing), royalty_pricings
    elif deductions:  # the pricings' lines with their play date, and the cycle's own lines, undated
        of_pricings = (select(royalty_ledger, cycle_pricings.c.play_date)
                       .join(cycle_pricings, and_(cycle_pricings.c.play_id == royalty_ledger.c.play_id,
                                                  cycle_pricings.c.version == royalty_ledger.c.version,
                                                  cycle_pricings.c.cycle_id == cycle_id,
                                                  royalty_ledger.c.cycle_id.is_(None))))
        own = select(royalty_ledger, literal(None, DateText).label("play_date")).where(
            royalty_ledger.c.cycle_id == cycle_id)
        e = union_all(of_pricings, own).subquery("entries")
        lines, dated = e, e
    else:  # paid.cycle_lines, inlined: the assignments that select the lines also give their play date
        e = royalty_ledger
        lines = e.join(cycle_pricings, and_(cycle_pricings.c.play_id == e.c.play_id,
                                            cycle_pricings.c.version == e.c.version,
                                            cycle_pricings.c.cycle_id == cycle_id, e.c.cycle_id.is_(None)))
        dated = cycle_pricings
    item = cycle_line_items
    joined = (lines.join(item, and_(item.c.cycle_id == cycle_id, item.c.recipient_type == e.c.recipient_type,
                                   item.c.recipient_ref == e.c.recipient_ref, item.c.currency == e.c.currency))
             .outerjoin(play_logs, play_logs.c.id == e.c.play_id)
             .outerjoin(stations, stations.c.id == play_logs.c.station_id)
             .outerjoin(tracks, tracks.c.id == play_logs.c.track_id)
             .outerjoin(artists, artists.c.id == tracks.c.artist_id))
    joined = _with_corrections(joined)
    low, high = items
    conditions = ([item.c.id >= low] if low is not None else []) + ([item.c.id < high] if high is not None else [])
    return joined, e, dated, conditions


_WROTE = audit_log.alias("wrote")  # the correction by hand that wrote the line's play version
_REPLACED = audit_log.alias("replaced")  # the correction that superseded or voided it


def _with_corrections(joined: Join) -> Join:
    """The lines joined to the corrections by hand behind their play (``_reason`` reads them): two outer joins on
    the audit log's key, hash joins of a small table, whose cost ``bench/statement_joins_bench.py`` measures."""
    return (joined.outerjoin(_WROTE, _WROTE.c.id == play_logs.c.correction_id)
            .outerjoin(_REPLACED, _REPLACED.c.id == play_logs.c.corrected_by_id))


def _reason(e: FromClause) -> ColumnElement[Any]:
    """A line's reason, with the reason of the correction by hand behind it (``zamio.playlogs.corrections``).

    The reversal a play superseded by a correction gets (ledger reason ``superseded``) shows that
    correction's reason; every other line of a version a correction wrote shows its reason.  Both
    are fixed when the line is booked, so a locked cycle's files regenerate to the same bytes.
    """
    by_correction = case((and_(e.c.kind == "reversal", e.c.reason == "superseded"), _REPLACED.c.reason),
                         else_=_WROTE.c.reason)
    told = func.coalesce(e.c.reason + literal("; "), literal("")) + literal("correction: ") + by_correction
    return case((by_correction.is_(None), e.c.reason), else_=told)


def _file_order(e: FromClause) -> list[ColumnElement[Any]]:
    """Lines in file order: by recipient (its line item: sorting one integer, not three texts), then play time."""
    return [cycle_line_items.c.id, play_logs.c.started_at, e.c.id]


SECONDS_SPAN = 10_000_000_000  # more seconds than from 1970 to 2286: a play's second fits below one line item


def _sort_key() -> ColumnElement[int]:
    """PostgreSQL: line item id and play second in one integer ahead of ``_file_order``, the same order, sorted
    faster: lines of one recipient then rarely tie on the first key, which the sort compares without the row."""
    second = func.floor(func.date_part("epoch", play_logs.c.started_at)).cast(BigInteger)  # float: no numeric
    last = SECONDS_SPAN - 1  # no play time: after the others, as NULLS LAST (greatest and least skip NULLs)
    clamped = func.greatest(func.least(func.coalesce(second, last), last), 0)
    return cycle_line_items.c.id * SECONDS_SPAN + clamped


def statement_lines(conn: Connection, cycle_id: int, method: str, items: ItemRange = (None, None)
                    ) -> Iterator[StoredRow]:
    """Given a cycle, yield its ledger lines with their play, ordered by recipient then play time.

    ``items`` = [low, high) limits them to the recipients of a range of the cycle's line item ids.
    """
    lines, e, dated, conditions = _line_source(cycle_id, method, items,
                                               method != "pool" and _has_deductions(conn, cycle_id))
    query = (
        select(e.c.id, e.c.play_id, e.c.kind, e.c.recipient_type, e.c.recipient_ref, e.c.recipient_name,
               e.c.amount, e.c.currency, e.c.seconds, _reason(e).label("reason"), e.c.details, play_logs.c.started_at,
               stations.c.name.label("station"), stations.c.timezone, dated.c.play_date,
               func.coalesce(tracks.c.title, play_logs.c.title).label("title"),
               func.coalesce(artists.c.name, play_logs.c.artist).label("artist"),
               func.coalesce(tracks.c.isrc, play_logs.c.isrc).label("isrc"))
        .select_from(lines).where(*conditions).order_by(*_file_order(e)))
    yield from conn.execute(query, execution_options={"stream_results": True, "yield_per": STREAM_ROWS})


def statement_fields(conn: Connection, cycle: StatementCycle, items: ItemRange = (None, None)
                     ) -> Iterator[StatementFields]:
    """PostgreSQL: the statement lines as plain fields for ``formatted_lines``, the time formatted here,
    read through a server-side cursor (a million rows, without building a Row object for each)."""
    lines, e, dated, conditions = _line_source(cycle.id, cycle.method, items,
                                               cycle.method != "pool" and _has_deductions(conn, cycle.id))
    played_at = func.to_char(play_logs.c.started_at.op("AT TIME ZONE")(literal("UTC")), "FMYYYY-MM-DD HH24:MI:SS")
    query = (
        select(e.c.recipient_type, e.c.recipient_ref, e.c.currency, e.c.recipient_name, e.c.amount, e.c.seconds,
               e.c.id, e.c.play_id, stations.c.name, func.coalesce(played_at, ""),
               func.coalesce(tracks.c.title, play_logs.c.title), func.coalesce(artists.c.name, play_logs.c.artist),
               func.coalesce(tracks.c.isrc, play_logs.c.isrc), e.c.kind, e.c.details,
               case((dated.c.play_date < cycle.period_from, True), else_=False), _reason(e), stations.c.timezone)
        .select_from(lines).where(*conditions).order_by(_sort_key(), *_file_order(e)))
    compiled = query.compile(dialect=conn.dialect)
    _read_whole_cycles(conn)
    driver = conn.connection.dbapi_connection
    assert driver is not None  # the connection of an open transaction
    cursor: Any = driver.cursor(name="statement_lines")  # psycopg2's server-side cursor: the driver has no types
    try:
        cursor.itersize = STREAM_ROWS
        cursor.execute(str(compiled), compiled.params)
        yield from cursor
    finally:
        cursor.close()


def _read_whole_cycles(conn: Connection) -> None:
    """Plan this transaction's queries (PostgreSQL) for reading every line of a cycle: sorts in memory, not on
    disk; a cursor planned for all its rows, not its first tenth; and hash joins, not index probes: a few
    recipients (the ineligible plays, a large publisher) hold most lines, which the planner cannot foresee."""
    conn.exec_driver_sql("SET LOCAL work_mem = '256MB'")
    conn.exec_driver_sql("SET LOCAL cursor_tuple_fraction = 1.0")
    conn.exec_driver_sql("SET LOCAL enable_nestloop = off")


def recipient_ranges(conn: Connection, cycle_id: int, parts: int) -> list[ItemRange]:
    """Given a cycle, cut its line items into at most ``parts`` ranges of ids with about equal lines.

    A line item weighs its plays (the local society: the society lines its fees were taken
    from), so that each range has about as many statement lines to write.
    """
    rows = conn.execute(select(cycle_line_items.c.id, cycle_line_items.c.recipient_type, cycle_line_items.c.plays)
                        .where(cycle_line_items.c.cycle_id == cycle_id).order_by(cycle_line_items.c.id)).all()
    society_plays = sum(max(plays, 0) for _, kind, plays in rows if kind == "society")
    weights = [1 + (society_plays if kind == "local_society" else max(plays, 0)) for _, kind, plays in rows]
    share = sum(weights) / max(parts, 1)
    cuts: list[int] = []
    running = 0
    for (item_id, _, _), weight in zip(rows, weights):
        if running >= share * (len(cuts) + 1) and len(cuts) < parts - 1:
            cuts.append(item_id)
        running += weight
    bounds: list[int | None] = [None, *cuts, None]
    return list(zip(bounds[:-1], bounds[1:]))
