"""Declaring money held in suspense non-distributable: append-only, booked as a new pricing version.

A play whose money is past the limit (``zamio.royalties.suspense.report.Policy``) gets
version *n+1*, with status ``non_distributable``: its suspense line is reversed
and the same amount is booked to the ``non_distributable`` account under the
same account name (``<reason>:<recording>``), keeping the key it was held under.
The version's lines sum to zero, as its gross equals the previous one's, so the
next cycle, which pays it like any adjustment, shows suspense −X and
non-distributable +X and reconciles exactly (payees + suspense + admin fees +
non-distributable = gross priced).  Nothing is updated or deleted.

A play is declared only when

* its latest pricing is in suspense and the play is current (``final``);
* its station-local play date is on or before the last day of use the policy
  makes non-distributable on the given day;
* a locked per-second cycle has paid that pricing: a statement has shown the
  money held (pool cycles spread fees and keep their own lines);
* it is not held by a dispute (reason ``disputed``): a person is deciding whom it is owed.

Each batch records one audit log entry (``zamio.db.audit``, action ``suspense.declare``)
in its own transaction: who declared, why (``--reason``, by default the limit and the day),
the money held per play before and the account it went to after.

A declared play is no longer re-examined, not even by ``--recalculate``: money
declared non-distributable is used as the society decides, and paying a late
claim is a decision for a person.  A play superseded later is still reversed
like any other.  Batches are one transaction each, keyed like every pricing,
so a run can be killed and rerun, and races with pricing runs book nothing twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Connection, and_, bindparam, or_, select

from zamio.db import audit
from zamio.db.audit import UNATTRIBUTED, Who
from zamio.db.engine import StoredRow, utcnow
from zamio.db.tables import cycle_pricings, play_logs, royalty_cycles, royalty_pricings
from zamio.royalties.cycles.closing import NON_DISTRIBUTABLE  # the account
from zamio.royalties.pricing.holds import DISPUTED
from zamio.royalties.pricing.ledger import Issue, Previous, book, standing_lines
from zamio.royalties.pricing.price import PlayPricing
from zamio.royalties.pricing.rates import exact_seconds
from zamio.royalties.pricing.run import DECLARED_STATUS
from zamio.royalties.pricing.split import PERCENT_WHOLE, Line
from zamio.royalties.suspense.report import SUSPENSE, Policy
from zamio.runtime.progress import Transactions
from zamio.values.money import from_units

BATCH_PLAYS = 5000

_p = royalty_pricings
_newer = royalty_pricings.alias("newer")
DECLARABLE_QUERY = (
    select(_p.c.play_id, _p.c.version, _p.c.status, _p.c.gross, _p.c.outcome_hash, _p.c.play_date, _p.c.seconds,
           _p.c.station_id, _p.c.reason, _p.c.multiplier, _p.c.currency, _p.c.rate_card_id)
    .join(play_logs, play_logs.c.id == _p.c.play_id)
    .join(cycle_pricings, and_(cycle_pricings.c.play_id == _p.c.play_id, cycle_pricings.c.version == _p.c.version))
    .join(royalty_cycles, and_(royalty_cycles.c.id == cycle_pricings.c.cycle_id,
                               royalty_cycles.c.method == "per_second", royalty_cycles.c.status == "locked"))
    .where(_p.c.status == SUSPENSE, or_(_p.c.reason.is_(None), _p.c.reason != DISPUTED),
           play_logs.c.status == "final", _p.c.play_date <= bindparam("last_day"),
           _p.c.play_id > bindparam("after"),
           ~select(_newer.c.id).where(_newer.c.play_id == _p.c.play_id, _newer.c.version > _p.c.version).exists())
    .order_by(_p.c.play_id)
    .limit(bindparam("size"))
)


@dataclass
class Declared:
    """What a declaration run booked: plays and units per currency."""

    plays: int = 0
    units: dict[str, int] = field(default_factory=dict)

    def line(self, dry_run: bool = False) -> str:
        """The run's result as printed."""
        money = ", ".join(f"{c} {from_units(u)}" for c, u in sorted(self.units.items())) or "nothing"
        verb = "would declare" if dry_run else "declared"
        plays = f"{self.plays} play{'' if self.plays == 1 else 's'}"
        return f"{verb} non-distributable: {plays}, {money} (the next cycle shows it: suspense −, non-distributable +)"


def declaration(row: StoredRow, held: list[StoredRow], as_of: date, policy: Policy) -> Issue | None:
    """Given a pricing in suspense (a ``DECLARABLE_QUERY`` row) and its standing lines, return the version
    that moves its money to the non-distributable account, or None if it holds none."""
    accounts: dict[str, int] = {}
    for line in held:
        if line.recipient_type == SUSPENSE:
            accounts[line.recipient_ref] = accounts.get(line.recipient_ref, 0) + line.amount
    if not accounts:
        return None
    lines = tuple(Line(NON_DISTRIBUTABLE, NON_DISTRIBUTABLE, account, None, amount, reason=row.reason,
                       share=PERCENT_WHOLE) for account, amount in sorted(accounts.items()))
    details = json.dumps({"declared_on": as_of.isoformat(), "limit_years": policy.years}, sort_keys=True,
                         separators=(",", ":"))
    outcome = PlayPricing(row.play_id, row.station_id, DECLARED_STATUS, row.reason, row.play_date,
                          exact_seconds(row.seconds), row.multiplier, row.gross, row.currency, row.rate_card_id,
                          lines, details)
    previous = Previous(row.play_id, row.version, row.status, row.gross, row.outcome_hash, row.play_date,
                        row.seconds)
    return Issue(outcome, row.version + 1, previous, NON_DISTRIBUTABLE)


def default_reason(as_of: date, policy: Policy) -> str:
    """Why money is declared when the person gives no reason of their own: the limit and the day."""
    return (f"held in suspense past the {policy.years}-year non-distributable limit on {as_of} "
            f"(last day of use {policy.last_day_of_use(as_of)})")


def declare_batch(conn: Connection, rows: Sequence[StoredRow], as_of: date, policy: Policy, run_id: str,
                  done: Declared, who: Who | None = None) -> None:
    """Given declarable pricings, book their declarations and their audit entry (by ``who``, else unattributed);
    add what was booked to ``done``."""
    previous = [Previous(r.play_id, r.version, r.status, r.gross, r.outcome_hash, r.play_date, r.seconds)
                for r in rows]
    standing = standing_lines(conn, previous)
    issues = [i for i in (declaration(r, standing.get(r.play_id, []), as_of, policy) for r in rows) if i]
    booked = book(conn, issues, standing, run_id, utcnow())
    for issue in booked:
        done.plays += 1
        moved = sum(line.amount for line in issue.pricing.lines)
        done.units[issue.pricing.currency] = done.units.get(issue.pricing.currency, 0) + moved
    if booked:
        who = who or Who(UNATTRIBUTED, default_reason(as_of, policy), run_id)
        held = [{"play_id": i.pricing.play_id, "version": i.version - 1, "currency": i.pricing.currency,
                 "accounts": {line.recipient_ref: line.amount for line in i.pricing.lines}} for i in booked]
        first, last = booked[0].pricing.play_id, booked[-1].pricing.play_id
        audit.record(conn, who, audit.Change(
            "suspense.declare", "royalty_pricings", f"plays {first} to {last}",
            before={"status": SUSPENSE, "plays": held},
            after={"status": NON_DISTRIBUTABLE, "as_of": as_of, "limit_years": policy.years,
                   "versions": {i.pricing.play_id: i.version for i in booked}}),
            event_key=f"suspense.declare:{run_id}:{first}")


def declare_past_limit(transaction: Transactions, run_id: str, as_of: date, policy: Policy, *,
                       batch_size: int = BATCH_PLAYS, should_stop: Callable[[], bool] = lambda: False,
                       who: Who | None = None) -> Declared:
    """Given a transaction factory, a day and the policy, declare every play past the limit on that day
    non-distributable, a batch per transaction with its audit entry (by ``who``: the person and their reason;
    without one the entry says ``unattributed`` and gives the limit as the reason); return what was booked."""
    done = Declared()
    after = 0
    while not should_stop():
        with transaction() as conn:
            rows = conn.execute(DECLARABLE_QUERY, {"last_day": policy.last_day_of_use(as_of), "after": after,
                                                   "size": batch_size}).all()
            if not rows:
                break
            after = rows[-1].play_id
            declare_batch(conn, rows, as_of, policy, run_id, done, who)
    return done
