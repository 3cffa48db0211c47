"""Disputes: open one, list them, show one (with its evidence pack), resolve it.

A claimant (--claimant-type artist, publisher, society or station; --claimant REF) disputes
plays (of a station over station-local days, --station S --from DAY --to DAY, or by id,
--plays 1,2,3), a recording's shares (--recording REF --shares) or its identity
(--recording REF --identity); REF is a track_ref or an ISRC.  Each dispute gets an id,
D-000001.  While it is open, the money of every play it covers, plays added to its scope later
included, is held in the suspense account dispute:D-000001 from the next
calculate-royalty-distributions run on: a cycle closed meanwhile pays none of it (a play a locked
cycle paid before is taken back by the next cycle, as an adjustment).

resolve records the decision (upheld, rejected, partly) and makes the corrections it implies in
the same transaction, as bin/correct-plays makes them (new versions of plays, each with its
audit entry): --corrections FILE (correct-plays' CSV format, each row's reason its own),
--void (every play the dispute covers) or --reassign-to REF (every play to that track or ISRC).
A rejection corrects nothing.  The next pricing run then releases the money held to whoever the
plays belong to, paid by the next cycle as adjustments.  Opening and resolving are recorded in
the audit log with --by and --reason (required); --dry-run shows all of it and changes nothing.

Commands:
  open --claimant-type T --claimant REF SCOPE --reason TEXT   open a dispute
  list [--status open|resolved] [--claimant-type T] [--claimant REF] [--station S] [--json]
  show D-000001 [--evidence DIR] [--json]      what it covers, its plays, the money held, its history;
                                              --evidence writes the claimant's pack (index.html, plays.csv,
                                              audio excerpts, ledger traces) into DIR
  resolve D-000001 --decision upheld|rejected|partly --reason TEXT
          [--corrections FILE | --void | --reassign-to REF]

Examples:
    bin/disputes open --claimant-type artist --claimant efua-mensah --station JOY \\
        --from 2026-03-01 --to 2026-03-31 --reason "JOY's log shows Kente, not Odo, on 03-04" --by ama
    bin/disputes open --claimant-type publisher --claimant sika-music --recording T-ODO --shares \\
        --reason "Kojo Beats' share is 50 %, not 40 %"
    bin/disputes list --status open
    bin/disputes show D-000001 --evidence /srv/disputes/D-000001
    bin/disputes resolve D-000001 --decision upheld --reassign-to T-KEN --reason "log confirms Kente" --by ama
    bin/disputes resolve D-000002 --decision rejected --reason "shares as registered"
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from zamio.jobs.audit_options import add_by, who
from zamio.playlogs.terms import CLAIMANT_TYPES, DECISIONS, STATUSES
from zamio.runtime.errors import UsageError
from zamio.runtime.runner import Job, JobContext
from zamio.values.money import from_units

if TYPE_CHECKING:
    from zamio.db.audit import Entry, Who
    from zamio.playlogs import disputes
    from zamio.playlogs.correction_requests import Request
    from zamio.playlogs.disputes import Claim
    from zamio.royalties.pricing.holds import CoveredPlay

COMMANDS = ("open", "list", "show", "resolve")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("command", choices=COMMANDS, help="what to do (see above)")
    parser.add_argument("dispute", nargs="?", metavar="D-000001", help="show, resolve: the dispute")
    parser.add_argument("--claimant-type", choices=CLAIMANT_TYPES, help="open: who claims (list: filter)")
    parser.add_argument("--claimant", metavar="REF", help="open: the claimant's reference: artist or publisher "
                                                          "reference, society code, station_ref (list: filter)")
    parser.add_argument("--station", metavar="REF", help="open: the station whose plays are disputed (list: filter)")
    parser.add_argument("--from", dest="day_from", metavar="YYYY-MM-DD", help="open: first station-local day")
    parser.add_argument("--to", dest="day_to", metavar="YYYY-MM-DD", help="open: last station-local day (included)")
    parser.add_argument("--plays", metavar="ID,ID", help="open: the disputed plays (play_id of bin/export-playlogs)")
    parser.add_argument("--recording", metavar="REF", help="open: the recording (track_ref or ISRC), with --shares or "
                                                           "--identity")
    parser.add_argument("--shares", action="store_true", help="open: its share table is disputed")
    parser.add_argument("--identity", action="store_true", help="open: what was heard is disputed")
    parser.add_argument("--status", choices=STATUSES, help="list: only open or only resolved disputes")
    parser.add_argument("--decision", choices=DECISIONS, help="resolve: the decision")
    parser.add_argument("--corrections", type=Path, metavar="CSV", help="resolve: the corrections the decision makes, "
                                                                        "in bin/correct-plays' file format")
    parser.add_argument("--void", action="store_true", help="resolve: void every play the dispute covers")
    parser.add_argument("--reassign-to", metavar="REF", help="resolve: reassign every play the dispute covers to this "
                                                             "track_ref or ISRC")
    parser.add_argument("--evidence", type=Path, metavar="DIR", help="show: write the evidence pack into DIR")
    parser.add_argument("--json", action="store_true", help="list, show: print JSON")
    add_by(parser, "open, resolve: why, kept in the audit log (required)")


#: The options each command takes (the others are refused, so a mistyped command changes nothing).
TAKES = {
    "open": {"claimant_type", "claimant", "station", "day_from", "day_to", "plays", "recording", "shares",
             "identity", "by", "reason"},
    "list": {"status", "claimant_type", "claimant", "station", "json"},
    "show": {"dispute", "evidence", "json"},
    "resolve": {"dispute", "decision", "corrections", "void", "reassign_to", "by", "reason"},
}
OPTION = {"day_from": "--from", "day_to": "--to", "dispute": "D-000001", "reassign_to": "--reassign-to",
          "claimant_type": "--claimant-type"}


@dataclass(frozen=True)
class Settings:
    command: str
    dispute_id: int | None = None
    claim: Claim | None = None
    who: Who | None = None


def _day(value: str | None, option: str) -> date:
    if not value:
        raise UsageError(f"{option} is required with --station: the station-local day (YYYY-MM-DD)")
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise UsageError(f"{option} {value!r} is not a day: write YYYY-MM-DD") from None


def _claim(args: argparse.Namespace) -> Claim:
    from zamio.playlogs.disputes import Claim, Scope

    if not args.claimant_type or not (args.claimant or "").strip():
        raise UsageError("open needs the claimant: --claimant-type artist|publisher|society|station --claimant REF")
    scopes = [name for name, given in (("--station", args.station), ("--plays", args.plays),
                                       ("--recording", args.recording)) if given]
    if len(scopes) != 1:
        shown = f"{' and '.join(scopes)} together" if scopes else "no scope"
        raise UsageError(f"open needs one scope, given {shown}: --station S --from DAY --to DAY, --plays ID,ID, "
                         "or --recording REF --shares|--identity")
    if args.station:
        first, last = _day(args.day_from, "--from"), _day(args.day_to, "--to")
        if last < first:
            raise UsageError(f"--to {last} is before --from {first}")
        scope = Scope("plays", station_ref=args.station.strip(), day_from=first, day_to=last)
    elif args.plays:
        words = args.plays.replace(",", " ").split()
        if not words or not all(w.isdigit() for w in words):
            raise UsageError(f"--plays {args.plays!r}: give play ids, whole numbers separated by commas (the play_id "
                             "column of bin/export-playlogs)")
        ids = tuple(dict.fromkeys(int(w) for w in words))
        scope = Scope("plays", play_ids=ids)
    else:
        if args.shares == args.identity:
            raise UsageError("--recording needs one of --shares (its share table is disputed) or --identity (what "
                             "was heard is disputed)")
        scope = Scope("shares" if args.shares else "identity", recording=args.recording.strip())
    if (args.day_from or args.day_to) and not args.station:
        raise UsageError("--from and --to go with --station")
    if (args.shares or args.identity) and not args.recording:
        raise UsageError("--shares and --identity go with --recording REF")
    return Claim(args.claimant_type, args.claimant.strip(), scope)


def settings(args: argparse.Namespace, run_id: str) -> Settings:
    """The command asked for; raise UsageError naming what is missing or does not belong to it."""
    from zamio.playlogs import disputes
    from zamio.playlogs.disputes import DisputeRefused

    given = {name for name in ("dispute", "claimant_type", "claimant", "station", "day_from", "day_to", "plays",
                               "recording", "shares", "identity", "status", "decision", "corrections", "void",
                               "reassign_to", "evidence", "json", "by", "reason") if getattr(args, name)}
    extra = sorted(given - TAKES[args.command])
    if extra:
        names = ", ".join(OPTION.get(n, f"--{n.replace('_', '-')}") for n in extra)
        raise UsageError(f"{args.command} takes no {names}; see --help")
    dispute_id = None
    if args.command in ("show", "resolve"):
        if not args.dispute:
            raise UsageError(f"{args.command} needs the dispute: bin/disputes {args.command} D-000001 "
                             "(bin/disputes list shows them)")
        try:
            dispute_id = disputes.parse_label(args.dispute)
        except DisputeRefused as error:
            raise UsageError(str(error)) from None
    if args.command == "open":
        return Settings("open", claim=_claim(args), who=who(args, run_id))
    if args.command == "resolve":
        if not args.decision:
            raise UsageError(f"resolve needs --decision ({', '.join(DECISIONS)})")
        if sum(bool(x) for x in (args.corrections, args.void, args.reassign_to)) > 1:
            raise UsageError("give one of --corrections FILE, --void, --reassign-to REF")
        return Settings("resolve", dispute_id, who=who(args, run_id))
    return Settings(args.command, dispute_id)


def _money(units: dict[str, int]) -> str:
    return ", ".join(f"{currency} {from_units(u)}" for currency, u in sorted(units.items())) or "nothing"


def _file_requests(path: Path, maker: Who) -> list[tuple[Request, Who, str]]:
    """The corrections of a file, each with who makes it and its line; raise DisputeRefused naming a bad row."""
    from zamio.db.engine import utcnow
    from zamio.files import csvread
    from zamio.playlogs.correction_requests import COLUMN_NAMES, FILE_COLUMNS, BadCorrection, parse_request
    from zamio.playlogs.disputes import DisputeRefused

    found = []
    now = utcnow()
    for line, row in csvread.read_rows(path, ("action", "reason"), FILE_COLUMNS):
        where = f"{path} line {line}"
        try:
            if any(value is not None and "\x00" in value for value in row.values()):
                raise BadCorrection("a field contains a NUL character, which no text field can hold; remove it")
            request = parse_request(row, now, COLUMN_NAMES)
        except BadCorrection as error:
            raise DisputeRefused(f"{where}: {error}; nothing was changed") from None
        reason = (row.get("reason") or "").strip()
        if not reason:
            raise DisputeRefused(f"{where}: the reason column is empty; every correction needs its reason")
        found.append((request, maker.because(reason), where))
    return found


def _open(ctx: JobContext, given: Settings) -> None:
    from zamio.db.engine import utcnow
    from zamio.playlogs import disputes

    assert given.claim is not None and given.who is not None
    with ctx.transaction() as conn:
        opened = disputes.open_dispute(conn, given.claim, given.who, utcnow())
    print("\n".join(opened.lines()), flush=True)
    if opened.already:
        ctx.skipped()
    else:
        ctx.ok()


def _resolve(ctx: JobContext, given: Settings) -> None:
    from zamio.db.engine import utcnow
    from zamio.playlogs import disputes
    from zamio.royalties.pricing.holds import held
    from zamio.royalties.pricing.preview import money_moved

    assert given.dispute_id is not None and given.who is not None
    args = ctx.args
    asked = _file_requests(args.corrections, given.who) if args.corrections else []
    verb = "would move" if ctx.dry_run else "moves"
    with ctx.transaction() as conn:
        dispute = disputes.find(conn, given.dispute_id)
        holding = held(conn, [dispute.id]).get(dispute.id, {})
        option = "--void" if args.void else f"--reassign-to {args.reassign_to}"
        asked += [(request, given.who, option) for request in
                  disputes.corrections_for(conn, dispute, args.void, args.reassign_to)]
        resolved = disputes.resolve(conn, dispute.id, args.decision, given.who, utcnow(), asked)
        out = resolved.lines()
        out.append(f"  held now in {dispute.account}: {_money(holding)}")
        for outcome in resolved.made:
            out += outcome.lines()
            out.append(f"  money it {verb}, booked by the next calculate-royalty-distributions run:")
            out += money_moved(conn, outcome.retired, outcome.billed).lines("    ")
    print("\n".join(out), flush=True)
    ctx.ok()


def _listed(ctx: JobContext) -> None:
    from zamio.playlogs import disputes
    from zamio.royalties.pricing.holds import held

    args = ctx.args
    with ctx.transaction(read_only=True) as conn:
        found = disputes.listed(conn, args.status, args.claimant_type, args.claimant, args.station)
        money = held(conn, [d.id for d in found])
    if args.json:
        print(json.dumps({"disputes": [d.as_json() | {"held_units": money.get(d.id, {})} for d in found]},
                         indent=2, default=str), flush=True)
        return
    if not found:
        print("no dispute" + (f" {args.status}" if args.status else ""), flush=True)
        return
    for d in found:
        decided = f" ({d.decision})" if d.decision else ""
        print(f"{d.label}  {d.status}{decided}  {d.opened_at:%Y-%m-%d}  {d.claimant_type} {d.claimant_ref}: "
              f"{d.covers()}; held {_money(money.get(d.id, {}))}", flush=True)


def _show(ctx: JobContext, given: Settings) -> None:
    from zamio.db.engine import utcnow
    from zamio.playlogs import disputes
    from zamio.reports.evidence_pack import write_pack
    from zamio.royalties.pricing.holds import covered_money, held

    assert given.dispute_id is not None
    args = ctx.args
    with ctx.transaction(read_only=True) as conn:
        dispute = disputes.find(conn, given.dispute_id)
        plays = covered_money(conn, dispute.id)
        money = held(conn, [dispute.id]).get(dispute.id, {})
        entries = disputes.history(conn, dispute)
        pack = write_pack(conn, dispute, args.evidence, ctx.config.host_name, utcnow()) if args.evidence else None
    if args.json:
        shown: dict[str, object] = dispute.as_json() | {"held_units": money}
        shown["plays"] = [{"play_id": p.id, "station": p.station, "started_at": p.started_at, "seconds": p.seconds,
                           "recording": p.recording, "pricing": p.status, "held_units": p.held,
                           "currency": p.currency} for p in plays]
        shown["history"] = [e.as_json() for e in entries]
        print(json.dumps(shown, indent=2, default=str), flush=True)
    else:
        print("\n".join(_show_lines(dispute, plays, money, entries)), flush=True)
    if pack is not None:
        print(pack.line(), flush=True)


def _show_lines(dispute: disputes.Dispute, plays: list[CoveredPlay], money: dict[str, int], entries: list[Entry]
                ) -> list[str]:
    d = dispute
    out = [f"{d.label}  {d.status}{f' ({d.decision})' if d.decision else ''}: {d.claimant_type} {d.claimant_ref} "
           f"disputes {d.covers()}",
           f"  opened {d.opened_at:%Y-%m-%d %H:%M:%S} UTC by {d.opened_by}: {d.reason}"]
    if d.decision:
        out.append(f"  resolved {d.resolved_at:%Y-%m-%d %H:%M:%S} UTC by {d.resolved_by}: {d.decision}, {d.resolution}")
    out.append(f"  held now in suspense account {d.account}: {_money(money)}")
    out.append(f"  current plays covered: {len(plays)}")
    for p in plays:
        held_text = f"{p.currency} {from_units(p.held)}" if p.currency else "-"
        out.append(f"    play {p.id:<8} {p.station:<10} {p.started_at:%Y-%m-%d %H:%M:%S} UTC  {p.seconds:9.3f} s  "
                   f"{p.recording:<16} {p.status:<20} held {held_text}")
    out.append("  history:")
    out += [f"    {e.at:%Y-%m-%d %H:%M:%S} UTC  {e.action:<16} by {e.actor}: {e.reason}"
            + (f" (audit entry {e.id}, {e.entity} {e.entity_id})" if e.entity != "dispute" else "")
            for e in entries]
    return out


HANDLERS: dict[str, Callable[[JobContext, Settings], None]] = {
    "open": _open, "resolve": _resolve, "show": _show, "list": lambda ctx, _given: _listed(ctx)}


def main(ctx: JobContext) -> None:
    """Run the command asked for; a dispute that cannot be opened or resolved as asked is refused, naming why."""
    from zamio.db.audit import MissingReason
    from zamio.playlogs.disputes import DisputeRefused

    given = settings(ctx.args, ctx.run_id)
    try:
        HANDLERS[given.command](ctx, given)
    except (DisputeRefused, MissingReason) as error:
        ctx.failed(f"{given.command} {ctx.args.dispute or ''}".strip(), error)
    if ctx.dry_run and given.command in ("open", "resolve"):
        print("dry run: nothing was changed", flush=True)


JOB = Job("disputes", __doc__, main, add_arguments=add_arguments)
