"""Close a period into line items, remittances and statements.

A close has two steps.  **Lock**, in one transaction: pending plays are priced
first (in their own batches), then the cycle row, the assignment of pricings,
the pool lines (``--method pool``), line items, remittances, the reconciliation
check, the input snapshot and the lock are written together.  **Finish**: its
files are written from the database alone, and only then, in one transaction,
its ``statement_ready`` e-mails are queued and ``files_written_at`` is set, so an
e-mail never announces a file that is not there.

A close killed (or failing: an unwritable folder) between the two leaves a locked
cycle without ``files_written_at``; running the same command again finishes it:
the inputs are checked against the snapshot, as ``--regenerate`` does, the files
are written (byte for byte those of an uninterrupted close: they come from the
ledger) and the e-mails queued, each once (their dedupe keys name the cycle and
recipient).  A finished cycle is never recomputed: running it again prints its
stored totals and exits 0; ``--regenerate`` rewrites its files, byte for byte,
once it has checked that the database still holds the inputs recorded when the
cycle was locked (``zamio.royalties.cycles.snapshot``): if not, it names each change and
writes nothing, unless told to write them despite the changes, which the audit log
records (who, why, the changes).  ``--dry-run`` prices, closes and prints inside a transaction that
is rolled back, and writes no file.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import Connection, insert, select, update

from zamio.db import audit
from zamio.db.audit import UNATTRIBUTED, Who
from zamio.db.engine import StoredRow, utcnow
from zamio.db.tables import royalty_cycles
from zamio.royalties.cycles import closing, pool, snapshot
from zamio.royalties.cycles.notices import StatementMail, queue_statement_emails
from zamio.royalties.payouts import balances, deductions
from zamio.royalties.pricing.run import price_pending
from zamio.royalties.statements.files import write_cycle_files
from zamio.royalties.statements.formatting import Presentation
from zamio.royalties.terms import DESPITE_CHANGES_REASON, WORKERS
from zamio.runtime.errors import ConfigError, DataError, ZamioError
from zamio.runtime.progress import Progress, Transactions, within
from zamio.values.money import from_units

log = logging.getLogger(__name__)
ROUNDING = "ROUND_HALF_EVEN"


class UnreconciledCycle(ZamioError):
    """The cycle's lines do not add up to what was priced: a defect; nothing was locked."""


class ChangedInputs(DataError):
    """A locked cycle's inputs are no longer what it was computed from: its files are not regenerated."""


class FilesNotWritten(ConfigError):
    """A cycle's output folder cannot be written (permissions, a file where a folder should be, a full disk).

    The cycle stays locked and its e-mails wait; once the folder is fixed, the same command finishes the close.
    """


@dataclass(frozen=True)
class CycleSpec:
    """What a cycle closes: its name, period (station-local dates, inclusive), method, territory."""

    name: str
    period_from: date
    period_to: date
    method: str = "per_second"
    territory: str = "GH"
    minimums: tuple[tuple[str, int], ...] = ()  # the minimum payout per currency, in units (MIN_PAYOUT)


def find_cycle(conn: Connection, name: str) -> StoredRow | None:
    """Given a cycle name, return its row, or None."""
    return conn.execute(select(royalty_cycles).where(royalty_cycles.c.name == name)).first()


def _check_overlap(conn: Connection, spec: CycleSpec) -> None:
    clash = conn.execute(select(royalty_cycles.c.name).where(
        royalty_cycles.c.status == "locked", royalty_cycles.c.territory == spec.territory,
        royalty_cycles.c.period_from <= spec.period_to, royalty_cycles.c.period_to >= spec.period_from)).first()
    if clash:
        raise DataError(f"cycle {spec.name} overlaps locked cycle {clash.name}; a period is closed once "
                        "(late plays of a locked period are paid by the next cycle as adjustments)")


def _new_cycle(conn: Connection, spec: CycleSpec, now: datetime) -> int:
    """Insert the open cycle of ``spec``; return its id."""
    key = conn.execute(insert(royalty_cycles).values(
        name=spec.name, territory=spec.territory, period_from=spec.period_from, period_to=spec.period_to,
        method=spec.method, status="open", rounding=ROUNDING, created_at=now)).inserted_primary_key
    assert key is not None  # a single-row INSERT returns its key
    return key[0]


def close_cycle(conn: Connection, spec: CycleSpec, run_id: str) -> tuple[StoredRow, list[closing.Totals]]:
    """Given an open period, lock it in ``conn``'s transaction; return the locked row and its totals.

    Its files and e-mails come after the commit (``finish``).

    Raise DataError if it overlaps a locked cycle or a remittance lacks an exchange rate;
    UnreconciledCycle if payees + suspense + admin fees + domestic commission + withholding tax ≠ gross
    priced (nothing is locked then).  The deductions and each recipient's balance are written with the lock
    (``zamio.royalties.payouts``).
    """
    closing.exclude_pricing(conn)  # one close at a time, and no pricing written while it runs
    closing.use_memory(conn)
    _check_overlap(conn, spec)
    now = utcnow()
    existing = find_cycle(conn, spec.name)
    cycle_id = existing.id if existing is not None else _new_cycle(conn, spec, now)
    closing.assign_pricings(conn, cycle_id, spec.period_to)
    paid = snapshot.play_set(conn, cycle_id)
    pending: dict[str, int] = {}
    if spec.method == "pool":
        spread = pool.distribute(conn, cycle_id, spec.territory, spec.period_from, spec.period_to, run_id, now)
        gross, pending = spread.spread, spread.pending
    else:
        gross = paid.priced
    deducted = deductions.book(conn, cycle_id, spec.method, spec.territory, spec.period_to, run_id, now)
    closing.write_line_items(conn, cycle_id, spec.method, deducted)
    closing.write_remittances(conn, cycle_id, spec.period_to, now)
    balances.record(conn, cycle_id, deducted, dict(spec.minimums), now)
    found = closing.totals(conn, cycle_id, spec.method, gross, pending)
    broken = [t for t in found if not t.reconciled]
    if broken:
        raise UnreconciledCycle(f"cycle {spec.name} does not reconcile: {broken}; nothing was locked")
    inputs = snapshot.take(conn, snapshot.CycleInputs(cycle_id, spec.territory, spec.period_from, spec.period_to,
                                                      spec.method), paid)
    closing.lock(conn, cycle_id, snapshot.columns_of(inputs), found, now)
    locked = find_cycle(conn, spec.name)
    assert locked is not None  # written in this transaction
    return locked, found


def report_lines(cycle: StoredRow, found: list[closing.Totals]) -> list[str]:
    """Given a cycle and its totals, return the reconciliation as printed (exact, four decimals).

    Suspense declared non-distributable, the domestic commission and the withholding tax are shown only in
    the cycles that have some.
    """
    lines = [f"cycle {cycle.name} ({cycle.method}, {cycle.period_from} to {cycle.period_to}): {cycle.status}"]
    for t in found:
        amounts = [("gross priced", t.gross), ("payees", t.payees), ("suspense", t.suspense),
                   ("admin fees", t.admin_fees)]
        parts, width = "payees + suspense + admin fees", 13
        if t.commission or t.withholding_tax:
            amounts += [("domestic commission", t.commission), ("withholding tax", t.withholding_tax)]
            parts, width = parts + " + domestic commission + withholding tax", 20
        if t.non_distributable:
            amounts.append(("non-distributable", t.non_distributable))
            parts, width = parts + " + non-distributable", max(width, 18)
        lines += [f"  {t.currency} {label:<{width}}{from_units(units):>18}" for label, units in amounts]
        verdict = "exact" if t.reconciled else "MISMATCH"
        lines.append(f"  {t.currency} {parts} = gross priced: {verdict}")
        lines.append(f"  {t.currency} plays {t.plays} ({t.ineligible_plays} ineligible, unpaid)")
        if t.fees_pending:
            lines.append(f"  {t.currency} licence fees for days after {cycle.period_to}: "
                         f"{from_units(t.fees_pending)}, spread by the pool cycles that cover them")
    return lines


def summary_lines(cycle: StoredRow) -> list[str]:
    """Given a locked cycle, return its stored reconciliation, then its input snapshot if one was recorded."""
    recorded = snapshot.stored(cycle)
    return report_lines(cycle, stored_totals(cycle)) + (snapshot.lines(recorded) if recorded else [])


def stored_totals(cycle: StoredRow) -> list[closing.Totals]:
    """Given a locked cycle row, return the totals recorded when it was locked."""
    return [closing.Totals(**t) for t in json.loads(cycle.totals or "[]")]


def write_files(conn: Connection, cycle: StoredRow, folder: Path, presentation: Presentation) -> None:
    """Given a locked cycle, (re)write its files in ``folder`` from the database (the statements with
    ``presentation``'s letterhead and templates).

    Raise FilesNotWritten, naming the folder and the error, if the folder cannot be written.
    """
    try:
        write_cycle_files(conn, cycle, folder, summary_lines(cycle), presentation)
    except OSError as error:
        where = f" ({error.filename})" if error.filename else ""
        raise FilesNotWritten(
            f"cannot write the files of cycle {cycle.name} in {folder}: {error.strerror or error}{where}; the cycle "
            "is locked and its statement e-mails wait for its files: make the folder writable (or choose another "
            "with --out DIR) and run the same command again to finish the close") from None


def price_and_close(transaction: Transactions, spec: CycleSpec, run_id: str, *, dry_run: bool,
                    should_stop: Callable[[], bool]) -> tuple[StoredRow, list[closing.Totals]]:
    """Price the pending plays, then lock the period in one transaction (``close_cycle``); return the locked
    row and its totals.

    The pricing runs in its own batches, up to ``should_stop()``; in a dry run it runs inside the close's
    one transaction instead, which is rolled back.
    """
    if not dry_run:
        price_pending(transaction, run_id, should_stop=should_stop, workers=WORKERS)
    with transaction() as conn:
        if dry_run:  # the pricing must be visible to the close, inside the one rolled-back transaction
            price_pending(within(conn), run_id)
        return close_cycle(conn, spec, run_id)


def write_and_finish(transaction: Transactions, cycle: StoredRow, folder: Path, mail: StatementMail,
                     presentation: Presentation) -> int:
    """Given a cycle just locked, write its files in ``folder``, then queue its e-mails (as ``mail`` says) and
    mark it finished; return how many e-mails were queued.  Raise FilesNotWritten as ``write_files`` does."""
    with transaction(read_only=True) as conn:
        write_files(conn, cycle, folder, presentation)
    return finish(transaction, cycle, folder, mail)


def finish(transaction: Transactions, cycle: StoredRow, folder: Path, mail: StatementMail) -> int:
    """Given a locked cycle whose files are written in ``folder``, queue its e-mails (as ``mail`` says) and mark
    it finished, in one transaction; return how many e-mails were queued now."""
    with transaction() as conn:
        queued = queue_statement_emails(conn, cycle, folder, mail)
        conn.execute(update(royalty_cycles).where(royalty_cycles.c.id == cycle.id,
                                                  royalty_cycles.c.files_written_at.is_(None))
                     .values(files_written_at=utcnow()))
    return queued


def rerun_locked(transaction: Transactions, cycle: StoredRow, folder: Path, progress: Progress, *, regenerate: bool,
                 despite_changes: bool, dry_run: bool, mail: StatementMail, presentation: Presentation,
                 who: Who | None = None) -> None:
    """A locked cycle: finish its close if it was interrupted, else regenerate its files in ``folder`` or just
    report it.  Files written although the inputs changed are recorded in the audit log, by ``who``."""
    if cycle.files_written_at is None:
        print(f"cycle {cycle.name} was locked at {cycle.locked_at:%Y-%m-%d %H:%M:%S} UTC but its close did not "
              "finish (files, statement e-mails): finishing it")
        if checked_files(transaction, cycle, folder, presentation, despite_changes=despite_changes, dry_run=dry_run,
                         who=who):
            queued = finish(transaction, cycle, folder, mail)
            print(f"files of cycle {cycle.name} written to {folder}; {queued} statement e-mail(s) queued")
            progress.note(f"cycle {cycle.name} finished")
    elif regenerate:
        if checked_files(transaction, cycle, folder, presentation, despite_changes=despite_changes, dry_run=dry_run,
                         who=who):
            print(f"files of locked cycle {cycle.name} regenerated in {folder}")
        progress.note(f"cycle {cycle.name} already locked")
    else:
        print(f"cycle {cycle.name} was locked at {cycle.locked_at:%Y-%m-%d %H:%M:%S} UTC: not recomputed "
              f"(--regenerate rewrites its files)")
        progress.note(f"cycle {cycle.name} already locked")
    print("\n".join(summary_lines(cycle)))


def checked_files(transaction: Transactions, cycle: StoredRow, folder: Path, presentation: Presentation, *,
                  despite_changes: bool, dry_run: bool, who: Who | None = None) -> bool:
    """Check a locked cycle's inputs against its snapshot, then write its files; return whether they were written
    (not in a dry run).  Files written despite changed inputs get an audit entry (by ``who``: the person and
    their reason, else unattributed).  Raise ChangedInputs as ``check_inputs`` does, FilesNotWritten as
    ``write_files``."""
    with transaction(read_only=True) as conn:
        changes = check_inputs(conn, cycle, despite_changes)
        if not dry_run:
            write_files(conn, cycle, folder, presentation)
    if dry_run:
        print(f"dry run: the files of locked cycle {cycle.name} were not written")
    elif changes:
        with transaction() as conn:
            audit.record(conn, who or Who(UNATTRIBUTED, DESPITE_CHANGES_REASON), audit.Change(
                "cycle.files_despite_changed_inputs", "cycle", cycle.name,
                before={"input_hash": cycle.input_hash, "locked_at": cycle.locked_at},
                after={"changes": changes, "folder": str(folder)}))
    return not dry_run


def check_inputs(conn: Connection, cycle: StoredRow, despite_changes: bool = False) -> list[str]:
    """Given a locked cycle, compare its inputs now with those recorded at the lock; print the verdict and
    return the changes.

    Raise ChangedInputs naming every change, unless ``despite_changes``.  A cycle locked before
    snapshots were recorded is not checked (said so).
    """
    if snapshot.stored(cycle) is None:
        print(f"cycle {cycle.name} was locked before input snapshots were recorded: its inputs are not checked")
        return []
    closing.use_memory(conn)
    changes = list(snapshot.check(conn, cycle))
    if not changes:
        print(f"inputs of cycle {cycle.name}: unchanged since the lock (input snapshot {cycle.input_hash})")
        return []
    listed = "\n".join(f"  {change}" for change in changes)
    if not despite_changes:
        raise ChangedInputs(f"the inputs of cycle {cycle.name} changed since it was locked; no file was written:\n"
                            f"{listed}\nlater cycles pay corrections as adjustments; to write this cycle's files "
                            "as locked anyway, add --despite-changed-inputs")
    print(f"inputs of cycle {cycle.name} changed since the lock (files written as locked, from the ledger):\n"
          f"{listed}")
    return changes
