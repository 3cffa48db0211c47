"""Close a royalty cycle: line items, partner remittances, statements and usage reports.

Prices any pending plays, then locks the period in one transaction and writes
statements.csv, one CSV and HTML statement per recipient, remittances.csv and a
usage report per partner society into --out (default STATEMENTS_DIR/NAME, a folder
every host sees, else var/cycles/NAME), and
prints the reconciliation (payees + suspense + admin fees = gross priced, with
the domestic commission and withholding tax when the cycle deducts any); each
recipient's balance (net payable, carried forward below MIN_PAYOUT) is recorded
for bin/payouts; the statement e-mails are queued once the files exist.  A close interrupted after
the lock is finished by running it again.  A locked cycle is never recomputed;
--regenerate rewrites its files identically; --despite-changed-inputs writes them
even though inputs changed since the lock, recorded in the audit log (--by, --reason).
--trace ENTRY_ID prints the evidence behind one ledger line.

Examples:
    bin/process-royalty-cycle --name 2026-03 --from 2026-03-01 --to 2026-03-31 --dry-run
    bin/process-royalty-cycle --name 2026-03 --from 2026-03-01 --to 2026-03-31
    bin/process-royalty-cycle --name 2026-Q2 --from 2026-04-01 --to 2026-06-30 --method pool
    bin/process-royalty-cycle --name 2026-03 --regenerate
    bin/process-royalty-cycle --trace 123456
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from zamio.jobs.audit_options import add_by, who
from zamio.royalties.terms import DESPITE_CHANGES_REASON, DISTRIBUTION_METHODS
from zamio.runtime.config import Config, image_type
from zamio.runtime.errors import ConfigError, UsageError
from zamio.runtime.runner import Job, JobContext

if TYPE_CHECKING:
    from zamio.db.audit import Who
    from zamio.royalties.cycles.notices import StatementMail
    from zamio.royalties.cycles.process import CycleSpec
    from zamio.royalties.statements.formatting import Presentation


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", metavar="NAME", help="the cycle's name, e.g. 2026-03 or 2026-H1")
    parser.add_argument("--from", dest="date_from", type=date.fromisoformat, metavar="YYYY-MM-DD",
                        help="first day of the period (station-local dates)")
    parser.add_argument("--to", dest="date_to", type=date.fromisoformat, metavar="YYYY-MM-DD",
                        help="last day of the period, inclusive")
    parser.add_argument("--method", choices=DISTRIBUTION_METHODS, default="per_second",
                        help="per_second: pay the priced plays; pool: spread each station's licence fee over "
                             "its weighted seconds (default per_second)")
    parser.add_argument("--territory", default="GH", help="the territory closed (default GH)")
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="where the files go (default $STATEMENTS_DIR/NAME, else var/cycles/NAME)")
    parser.add_argument("--regenerate", action="store_true",
                        help="rewrite the files of a locked cycle from the ledger (byte-identical), once its inputs "
                             "are checked against those recorded at the lock")
    parser.add_argument("--despite-changed-inputs", action="store_true",
                        help="with --regenerate: write the files even though inputs changed since the lock "
                             "(the changes are listed; later cycles pay corrections as adjustments)")
    add_by(parser, "with --despite-changed-inputs: why the files are written anyway, kept in the audit log "
                   f"with the changes (default: {DESPITE_CHANGES_REASON!r})")
    parser.add_argument("--trace", type=int, metavar="ENTRY_ID",
                        help="print, as JSON, the chain behind one ledger entry (play, detections, captures, "
                             "rate) and exit")


@dataclass(frozen=True)
class Settings:
    trace: int | None
    name: str  # empty with --trace
    date_from: date | None
    date_to: date | None
    method: str
    territory: str
    out: Path | None
    cycles_dir: Path | None  # where a cycle's folder goes without --out (None with --out or --trace)
    regenerate: bool
    despite_changed_inputs: bool
    who: Who | None  # with --despite-changed-inputs: who writes the files anyway, and why
    mail: StatementMail  # how the statement e-mails reach their recipients
    presentation: Presentation  # the statements' letterhead and the society's templates
    minimums: tuple[tuple[str, int], ...] = ()  # the minimum payout per currency, in units (MIN_PAYOUT)

    def folder(self, name: str) -> Path:
        """The folder of cycle ``name``'s files."""
        if self.out is not None:
            return self.out
        assert self.cycles_dir is not None  # settings() gives one whenever --out is not given
        return self.cycles_dir / name


def settings(args: argparse.Namespace, config: Config, run_id: str = "") -> Settings:
    if args.trace is None and not args.name:
        raise UsageError("--name is required (or --trace ENTRY_ID)")
    if not args.despite_changed_inputs and (args.by is not None or args.reason is not None):
        raise UsageError("--by and --reason go with --despite-changed-inputs: nothing else here is a manual change "
                         "of what was paid")
    overridden_by = who(args, run_id, DESPITE_CHANGES_REASON) if args.despite_changed_inputs else None
    cycles_dir = None if args.out or args.trace is not None else config.cycles_dir()
    return Settings(args.trace, args.name or "", args.date_from, args.date_to, args.method, args.territory,
                    args.out, cycles_dir, args.regenerate, args.despite_changed_inputs, overridden_by,
                    statement_mail(config), statement_presentation(config), config.min_payout)


def statement_mail(config: Config) -> StatementMail:
    """How statements reach their recipients: a link, else attached up to a size, else from the contact; and the
    e-mail's templates of TEMPLATES_DIR, checked now (a broken one exits 78 before a cycle is locked)."""
    from zamio.mail import templates as mail_templates
    from zamio.royalties.cycles.notices import StatementMail

    return StatementMail(config.statements_public_base_url, config.statement_attachment_max_bytes,
                         config.statements_contact or config.operator_email, mail_templates.load(config.templates_dir))


def statement_presentation(config: Config) -> Presentation:
    """How statements look: the letterhead of SOCIETY_NAME, SOCIETY_ADDRESS and SOCIETY_LOGO_FILE (embedded),
    and the templates of TEMPLATES_DIR, checked now (a broken template exits 78 before a cycle is locked)."""
    from zamio.royalties.statements.formatting import Presentation, logo_uri

    logo = None
    if config.society_logo_file is not None:
        image = config.society_logo_file.read_bytes()
        media_type = image_type(image)
        if media_type is None:
            raise ConfigError("SOCIETY_LOGO_FILE must be a PNG, JPEG, GIF or SVG image")
        logo = logo_uri(image, media_type)
    presentation = Presentation(config.society_name, config.society_address, logo, config.templates_dir)
    presentation.page_template()
    return presentation


def new_cycle(given: Settings) -> CycleSpec:
    """The cycle to close, once ``--name`` names no locked cycle."""
    from zamio.royalties.cycles.process import CycleSpec

    if given.regenerate or given.despite_changed_inputs:
        raise UsageError(f"cycle {given.name} is not locked: there is nothing to regenerate")
    if given.date_from is None or given.date_to is None:
        raise UsageError("a new cycle needs --from and --to")
    if given.date_from > given.date_to:
        raise UsageError(f"--from {given.date_from} is after --to {given.date_to}")
    return CycleSpec(given.name, given.date_from, given.date_to, given.method, given.territory, given.minimums)


def main(ctx: JobContext) -> int | None:
    """Trace an entry, report a locked cycle, or close a new one and write its files."""
    from zamio.royalties.cycles.process import find_cycle, rerun_locked
    from zamio.royalties.pricing.trace import trace_entry

    given = settings(ctx.args, ctx.config, ctx.run_id)
    if given.trace is not None:
        with ctx.transaction(read_only=True) as conn:
            print(json.dumps(trace_entry(conn, given.trace), indent=2, sort_keys=True))
        return 0
    with ctx.transaction(read_only=True) as conn:
        existing = find_cycle(conn, given.name)
    if existing is not None and existing.status == "locked":
        rerun_locked(ctx.transaction, existing, given.folder(existing.name), ctx, regenerate=given.regenerate,
                     despite_changes=given.despite_changed_inputs, dry_run=ctx.dry_run, who=given.who,
                     mail=given.mail, presentation=given.presentation)
        return 0
    close(ctx, new_cycle(given), given)
    return None


def close(ctx: JobContext, spec: CycleSpec, given: Settings) -> None:
    """Price, lock and print the new cycle; then, unless in a dry run, write its files and queue its e-mails."""
    from zamio.royalties.cycles import snapshot
    from zamio.royalties.cycles.process import price_and_close, report_lines, write_and_finish

    cycle, found = price_and_close(ctx.transaction, spec, ctx.run_id, dry_run=ctx.dry_run,
                                   should_stop=ctx.should_stop)
    recorded = snapshot.stored(cycle)
    assert recorded is not None  # the lock records the cycle's input snapshot
    print("\n".join(report_lines(cycle, found) + snapshot.lines(recorded)))
    if ctx.dry_run:
        print("dry run: nothing was locked and no file was written")
        return
    folder = given.folder(cycle.name)
    queued = write_and_finish(ctx.transaction, cycle, folder, given.mail, given.presentation)
    print(f"files written to {folder}; {queued} statement e-mail(s) queued")
    ctx.ok()
    ctx.note(f"cycle {cycle.name} locked")


JOB = Job("process-royalty-cycle", __doc__, main, add_arguments=add_arguments)
