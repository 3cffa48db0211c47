"""Correct plays by hand: void, reassign, retime, add, merge or split, with a reason in the audit log.

Each correction stores a new version of the play (the old one is superseded, never edited)
and one audit log entry: who (--by), why (--reason, required), the plays before and after.
It prints the money it moves: what the superseded plays were priced at (reversed), what the
new versions would be priced at under the rate data stored now, per recipient, and the
total; the next calculate-royalty-distributions run books it (a play of a locked cycle is
paid by the next cycle as an adjustment, its statement line showing the reason).
--dry-run shows all of it and changes nothing.  Corrected plays are never rebuilt by
convert-matches, nor replaced by a partner's row imported again.

Actions (times are ISO 8601 with a UTC offset; seconds at most 3 decimal places):
  void PLAY_ID                                  a false detection: no version of it stands
  reassign PLAY_ID --track REF | --isrc ISRC    another recording
  retime PLAY_ID [--start TIME] [--seconds N]   another start and/or length
  add --station REF --track REF | --isrc ISRC --start TIME --seconds N --evidence TEXT
                                                an airing the detections missed (source manual)
  merge PLAY_ID PLAY_ID...                      one airing (same station and recording)
  split PLAY_ID --at TIME                       two airings: [start, TIME) and [TIME, end)

--file FILE.csv makes one correction per row, columns action, reason (required) and
play_ids (several for merge, separated by spaces), track_ref, isrc, start, seconds,
station_ref, evidence, at.  Each row is made in a transaction of its own, in file order: a
bad row is refused with its line number and reason (exit 1) and the others are made; a file
run again (after a kill) skips the rows made already.  A dry run shows each row against the
plays as they stand, not as the rows before it would leave them.

Examples:
    bin/correct-plays retime 1234 --seconds 100 --reason "station log: faded out at 1:40" --dry-run
    bin/correct-plays void 1240 --reason "advert misheard as Odo" --by ama
    bin/correct-plays reassign 1250 --track T-SUN --reason "remix, not the original"
    bin/correct-plays add --station JOY --track T-ODO --start 2026-03-02T14:05:00Z --seconds 200 \\
        --evidence "JOY playout log 2026-03-02 line 58" --reason "stream dropped during the airing"
    bin/correct-plays merge 1301 1302 --reason "one airing, split by a dead stream"
    bin/correct-plays split 1310 --at 2026-03-02T15:03:20Z --reason "played twice back to back"
    bin/correct-plays --file corrections.csv --by ama
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from zamio.jobs.audit_options import add_by, who
from zamio.playlogs.terms import ACTIONS
from zamio.runtime.errors import UsageError
from zamio.runtime.runner import Job, JobContext

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from zamio.db.audit import Who
    from zamio.playlogs.correction_requests import Request
    from zamio.playlogs.corrections import Outcome


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", nargs="?", choices=ACTIONS, help="the correction (see above); omit with --file")
    parser.add_argument("play_ids", nargs="*", metavar="PLAY_ID", help="the play(s) corrected (play_id of "
                                                                      "bin/export-playlogs)")
    parser.add_argument("--track", metavar="REF", help="reassign, add: the catalog track (track_ref)")
    parser.add_argument("--isrc", metavar="ISRC", help="reassign, add: the recording's ISRC (its catalog track if "
                                                       "one carries it)")
    parser.add_argument("--start", metavar="TIME", help="retime, add: when the airing started (ISO 8601, offset)")
    parser.add_argument("--seconds", metavar="N", help="retime, add: how long it was on air")
    parser.add_argument("--station", metavar="REF", help="add: the station (station_ref)")
    parser.add_argument("--evidence", metavar="TEXT", help="add: what proves the airing (the station's log)")
    parser.add_argument("--at", metavar="TIME", help="split: where the second airing starts (ISO 8601, offset)")
    parser.add_argument("--file", type=Path, metavar="CSV", help="one correction per row (columns above)")
    add_by(parser, "why the play is corrected, kept in the audit log and shown on the statement lines the "
                   "correction moves (required; with --file, each row's reason column)")


@dataclass(frozen=True)
class Settings:
    request: Request | None  # one correction from the command line
    file: Path | None  # or a file of them
    who: Who  # with --file, the reason comes from each row


def settings(args: argparse.Namespace, run_id: str) -> Settings:
    """The correction asked for; raise UsageError naming what is missing, unexpected or unreadable."""
    from zamio.db.engine import utcnow
    from zamio.playlogs.correction_requests import BadCorrection, parse_request

    if args.file is not None:
        given = [name for name in ("action", "track", "isrc", "start", "seconds", "station", "evidence", "at",
                                   "reason") if getattr(args, name)] + (["PLAY_ID"] if args.play_ids else [])
        if given:
            raise UsageError(f"--file takes every correction from the file; drop {', '.join(given)} (a row's "
                             "reason is its reason column)")
        return Settings(None, args.file, who(args, run_id, default_reason="the reason column of each row"))
    if args.action is None:
        raise UsageError(f"name a correction ({', '.join(ACTIONS)}) or give --file CSV; see --help")
    fields = {"action": args.action, "play_ids": " ".join(args.play_ids), "track_ref": args.track,
              "isrc": args.isrc, "start": args.start, "seconds": args.seconds, "station_ref": args.station,
              "evidence": args.evidence, "at": args.at}
    try:
        request = parse_request(fields, utcnow())
    except BadCorrection as error:
        raise UsageError(str(error)) from None
    return Settings(request, None, who(args, run_id))


def show(dry_run: bool) -> Callable[[Connection, Outcome], None]:
    """What runs in each correction's transaction once it is made: print it and the money it moves."""
    from zamio.royalties.pricing.preview import money_moved

    def inspect(conn: Connection, outcome: Outcome) -> None:
        lines = outcome.lines()
        if outcome.already is None:
            moved = money_moved(conn, outcome.retired, outcome.billed)
            verb = "would move" if dry_run else "moves"
            lines.append(f"  money it {verb}, booked by the next calculate-royalty-distributions run:")
            lines += moved.lines("    ")
        print("\n".join(lines), flush=True)

    return inspect


def main(ctx: JobContext) -> None:
    """Make the correction asked for, or those of the file; print each and the money it moves."""
    from zamio.db.audit import MissingReason
    from zamio.db.engine import utcnow
    from zamio.playlogs.corrections import CorrectionRefused, correct_file, correct_one

    given = settings(ctx.args, ctx.run_id)
    inspect = show(ctx.dry_run)
    if given.file is not None:
        done = correct_file(ctx.transaction, given.file, given.who, utcnow(), ctx, inspect)
        ctx.note(f"{sum(1 for d in done if d.already is None)} corrections, {ctx.items_failed} refused")
    else:
        assert given.request is not None  # settings gives a request or a file
        try:
            outcome = correct_one(ctx.transaction, given.request, given.who, inspect)
        except (CorrectionRefused, MissingReason) as error:
            ctx.failed(given.request.phrase(), error)
            return
        if outcome.already is not None:
            ctx.skipped()
        else:
            ctx.ok()
    if ctx.dry_run:
        print("dry run: nothing was changed")


JOB = Job("correct-plays", __doc__, main, add_arguments=add_arguments)
