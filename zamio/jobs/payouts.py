"""Pay a locked royalty cycle: payment files for the bank and the mobile-money operators, then their answers.

--cycle NAME prepares one payment per recipient the cycle owes a net payable
(domestic payees after the domestic commission and withholding tax, partner
societies their remittance; below MIN_PAYOUT it was carried forward at the lock),
with the payment details loaded by bin/import-catalog --payees, and writes into
--out (default var/payouts/NAME) bank-transfers.csv, mobile-money-<NETWORK>.csv
(msisdn, amount, currency, reference, name) with the payments not yet sent, and
held.csv: the recipients without payment details, with the reason.  Running it
again prepares nothing twice and writes the same files (plus any payment whose
details arrived since); it prints, per currency, the cycle's net payable and where
it is: in the files, sent, settled, failed or held.

--mark-sent FILE records as sent the payments whose references FILE lists (a
"reference" column: the payment file handed over).  --mark-settled FILE records
the bank's or operator's answer: columns reference, status (settled or failed)
and reason (required for a failure).  A bad row is refused with its line and
reason (exit 1) while the others are recorded; a row recorded before changes
nothing.  A failed payment's amount is brought forward by the next cycle locked.
Who records the answers (--by, default the OS user) and why (--reason) is kept in
the audit log.

Examples:
    bin/payouts --cycle 2026-03 --dry-run
    bin/payouts --cycle 2026-03
    bin/payouts --mark-sent var/payouts/2026-03/bank-transfers.csv
    bin/payouts --mark-settled bank-answer-2026-04-07.csv --reason "GCB statement of 7 April"
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from zamio.jobs.audit_options import add_by, who
from zamio.runtime.errors import UsageError
from zamio.runtime.runner import Job, JobContext

if TYPE_CHECKING:
    from zamio.db.audit import Who


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cycle", metavar="NAME", help="prepare the payments of this locked cycle and write its files")
    parser.add_argument("--out", type=Path, metavar="DIR", help="where the payment files go "
                                                                "(default var/payouts/NAME)")
    parser.add_argument("--mark-sent", type=Path, metavar="FILE",
                        help="record as sent the payments whose references this CSV lists (column reference)")
    parser.add_argument("--mark-settled", type=Path, metavar="FILE",
                        help="record the bank's or operator's answer: CSV columns reference, status "
                             "(settled or failed), reason (required for a failure)")
    add_by(parser, "with --mark-sent or --mark-settled: why, kept in the audit log (default: the file's name)")


@dataclass(frozen=True)
class Settings:
    cycle: str | None
    folder: Path | None  # where the payment files go
    step: str | None  # sent | settled: the confirmations of ``confirmations``
    confirmations: Path | None
    who: Who | None  # with a confirmation file: who records it, and why


def settings(args: argparse.Namespace, var_dir: Path, run_id: str = "") -> Settings:
    from zamio.royalties.payouts.payments import SENT, SETTLED

    chosen = [name for name in ("cycle", "mark_sent", "mark_settled") if getattr(args, name)]
    if len(chosen) != 1:
        raise UsageError("give one of --cycle NAME, --mark-sent FILE or --mark-settled FILE (see --help)")
    if args.cycle:
        if args.by is not None or args.reason is not None:
            raise UsageError("--by and --reason go with --mark-sent and --mark-settled")
        return Settings(args.cycle, args.out or var_dir / "payouts" / args.cycle, None, None, None)
    if args.out is not None:
        raise UsageError("--out goes with --cycle")
    path = args.mark_sent or args.mark_settled
    return Settings(None, None, SENT if args.mark_sent else SETTLED, path,
                    who(args, run_id, f"payment confirmations from {path.name}"))


def main(ctx: JobContext) -> int | None:
    """Prepare a cycle's payments and write its files, or record a confirmation file."""
    given = settings(ctx.args, Path(ctx.config.var_dir), ctx.run_id)
    if given.cycle is None:
        return record_confirmations(ctx, given)
    pay(ctx, given)
    return None


def pay(ctx: JobContext, given: Settings) -> None:
    from zamio.royalties.payouts.balances import balances
    from zamio.royalties.payouts.payments import cycle_payments, locked_cycle, payment_files, prepare, reconciliation
    from zamio.royalties.statements.formatting import decimal_text
    from zamio.royalties.statements.write import write_text

    assert given.cycle is not None and given.folder is not None
    with ctx.transaction() as conn:
        cycle = locked_cycle(conn, given.cycle)
        done = prepare(conn, cycle, ctx.run_id)
        found, owed = cycle_payments(conn, cycle.id), balances(conn, cycle.id)
    files = payment_files(found, done.held)
    for balance, reason in done.held:
        print(f"held: {balance.recipient_type} {balance.recipient_ref} {balance.currency} "
              f"{decimal_text(balance.net_payable, balance.currency)}: {reason}")
    print("\n".join(reconciliation(cycle, owed, found, done.held)))
    if ctx.dry_run:
        print(f"dry run: {done.new} payment(s) would be prepared; no payment recorded, no file written")
        return
    for name, text in files.items():
        write_text(given.folder / name, text)
    print(f"{done.new} payment(s) prepared now, {done.earlier} before, {len(done.held)} held; files in {given.folder}")
    ctx.ok(done.new)
    ctx.skipped(len(done.held))
    ctx.note(f"cycle {cycle.name}: {done.new} payments prepared, {len(done.held)} held")


def record_confirmations(ctx: JobContext, given: Settings) -> int | None:
    from zamio.db import audit
    from zamio.files.csvread import ImportReport
    from zamio.royalties.payouts.payments import confirm

    assert given.step is not None and given.confirmations is not None and given.who is not None
    report = ImportReport(name=given.confirmations.name)
    with ctx.transaction() as conn:
        counts = confirm(conn, given.confirmations, given.step, report, ctx.run_id)
        if counts:
            audit.record(conn, given.who, audit.Change("payment.confirmed", "payments", given.confirmations.name,
                                                       after={"events": counts, "refused": len(report.errors)}))
    for line, reason in report.errors:
        ctx.failed(f"{given.confirmations} line {line}", reason)
        print(f"{given.confirmations} line {line}: refused: {reason}")
    recorded = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "nothing new"
    print(f"{given.confirmations}: {recorded} recorded, {len(report.errors)} row(s) refused")
    ctx.ok(sum(counts.values()))
    ctx.note(f"{recorded} recorded")
    return None


JOB = Job("payouts", __doc__, main, add_arguments=add_arguments)
