"""Which ledger lines are money and which cycle pays each: the one source of every money figure.

Line items and statements (``closing``, ``statements``), dashboards (``zamio.cache``) and
analytics reports (``zamio.reports``) read money through this module only, so what people
read is what they are paid, to the unit.

A ledger line is one of:

* a **pricing line** (``royalty_ledger.cycle_id`` empty), booked by the pricing of one play
  version.  The cycle that pays it is the one its pricing is assigned to in ``cycle_pricings``
  (one row per pricing, written when that cycle is locked; ``sql/0009``):

  - a ``per_second`` cycle pays the line: it is that cycle's money;
  - a ``pool`` cycle used the pricing as a weight to spread its licence fees and never pays
    the line: it is no money at all, and no figure counts it;
  - no cycle yet: the money is **not yet in a cycle** (what a per-second close would pay;
    a pool close would pay its licence fees instead);

* a **pool line** (``cycle_id`` = the pool cycle that wrote it, in the transaction that
  locked it; ``sql/0012``): that cycle's money;

* a **deduction** (``cycle_id`` = the cycle, any method, no play; ``sql/0025``): the domestic
  commission and the withholding tax taken from a payee's money of the cycle when it was
  locked, each a pair of lines (the payee's minus, the account's plus) that sums to zero
  (``zamio.royalties.payouts.deductions``): that cycle's money.

Both queries below return the ledger's columns plus ``paid_by``: the id of the cycle that
pays the line, NULL while none does.
"""

from __future__ import annotations

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Select,
    SQLColumnExpression,
    Subquery,
    and_,
    case,
    func,
    or_,
    select,
    union_all,
)

from zamio.db.tables import cycle_pricings, royalty_cycles, royalty_ledger

POOL = "pool"
#: The kinds of a cycle's deductions from a payee's money (``zamio.royalties.payouts.deductions``).
COMMISSION, WITHHOLDING = "domestic_commission", "withholding_tax"
DEDUCTION_KINDS = (COMMISSION, WITHHOLDING)


def cycle_lines(cycle_id: int, method: str) -> Subquery:
    """Given a cycle id and its method, return the ledger lines it pays, with ``paid_by``, as a subquery."""
    line = royalty_ledger
    if method == POOL:
        return select(line, line.c.cycle_id.label("paid_by")).where(line.c.cycle_id == cycle_id).subquery("entries")
    assigned = cycle_pricings
    of_pricings = (select(line, assigned.c.cycle_id.label("paid_by"))
                   .join(assigned, and_(assigned.c.play_id == line.c.play_id, assigned.c.version == line.c.version))
                   .where(assigned.c.cycle_id == cycle_id, line.c.cycle_id.is_(None)))
    deductions = select(line, line.c.cycle_id.label("paid_by")).where(line.c.cycle_id == cycle_id)
    return union_all(of_pricings, deductions).subquery("entries")


def paid_lines() -> Subquery:
    """Return every ledger line that is money, paid by a locked cycle or not yet in one, with ``paid_by``.

    The union of ``cycle_lines`` over every locked cycle, plus the pricing lines no cycle has
    taken yet; the pricing lines a pool cycle took as weights are left out.
    """
    line, assigned, cycle = royalty_ledger, cycle_pricings, royalty_cycles
    of_pricing = and_(line.c.cycle_id.is_(None), assigned.c.play_id == line.c.play_id,
                      assigned.c.version == line.c.version)
    return (select(line, func.coalesce(line.c.cycle_id, assigned.c.cycle_id).label("paid_by"))
            .select_from(line.outerjoin(assigned, of_pricing).outerjoin(cycle, cycle.c.id == assigned.c.cycle_id))
            .where(or_(line.c.cycle_id.is_not(None), assigned.c.cycle_id.is_(None), cycle.c.method != POOL))
            .subquery("paid"))


def plays_of(lines: Subquery) -> ColumnElement[int]:
    """Given lines, the SQL sum of the plays they pay: a reversal takes one back, the local society's
    admin fee (taken from a society's line of the same play) and a cycle's deductions pay none."""
    return func.sum(case((lines.c.recipient_type == "local_society", 0), (lines.c.kind.in_(DEDUCTION_KINDS), 0),
                         (lines.c.kind == "reversal", -1), else_=1))


def recipient_sums(lines: Subquery, *extra: SQLColumnExpression[object], source: FromClause | None = None
                   ) -> Select[*tuple[object, ...]]:
    """Given lines (``cycle_lines`` or ``paid_lines``), return a SELECT of their sums per paying cycle,
    recipient, currency and society (and ``extra`` columns): ``name``, ``plays``, ``seconds``, ``net``.

    ``source`` is the FROM clause when the lines are joined to more tables (the play, for a period
    or a work); add conditions with ``.where``.  ``net`` is in units; a line item's net is its sum.
    """
    keys = [lines.c.paid_by, lines.c.recipient_type, lines.c.recipient_ref, lines.c.currency, lines.c.society_id,
            *extra]
    return (select(*keys, func.max(lines.c.recipient_name).label("name"), plays_of(lines).label("plays"),
                   func.sum(lines.c.seconds).label("seconds"), func.sum(lines.c.amount).label("net"))
            .select_from(source if source is not None else lines)
            .group_by(*keys))
