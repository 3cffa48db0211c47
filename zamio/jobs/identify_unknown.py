"""Name an unknown recording (U-000123) as a catalog track, or merge it into another unknown recording.

Music the catalog lacks, heard twice, becomes an unknown recording whose plays are held in
suspense unidentified:U-000123 (bin/suspense-report lists them).  Once the song is known and
imported (bin/import-catalog --tracks with its audio_path, --contributors with its shares;
fingerprinted), naming it:

  * first splits off the captures that lie outside the track where the recording's audio
    places them in it (another song aired next to it on every airing, heard as one): a new
    unknown recording holds them, their part of each play and its money (an unknown.split
    audit entry);
  * moves each of its plays to the track as a new version (a reassign correction, with its
    audit entry), in one transaction with the recording's naming (who, when, the track);
    the next calculate-royalty-distributions run reverses the suspense lines and pays the
    track's parties (a play of a locked cycle is paid by the next cycle as an adjustment);
  * recognises again the kept captures (snippets and recorded files this host still has)
    that matched nothing since the recording was first heard: those now recognised as the
    track become its detections, and convert-matches makes their plays (the airings the
    unknown index missed: talk over the song, a single hearing);
  * from then on a capture of the song is the track's: the catalog recognises it, and one
    that still matches the recording's prints in the unknown index is filed as the track.

--merge-into U-000045 says the two are one song: the plays of U-000123 move to U-000045 (still
held), and its captures and prints with them.  A recording is named or merged once; naming
it again as the same track finishes what a killed run left (the captures heard again) and
changes nothing else.  --dry-run shows the plays that move and the money released, and
changes nothing.

Examples:
    bin/identify-unknown U-000123 --track GH-101 --reason "Kofi Kinaata, Confession: registered 2026-03-02" --dry-run
    bin/identify-unknown U-000123 --track GH-101 --reason "Kofi Kinaata, Confession: registered 2026-03-02" --by ama
    bin/identify-unknown U-000045 --merge-into U-000123 --reason "the same song: chorus and verse heard apart"
"""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import TYPE_CHECKING

from zamio.jobs.audit_options import add_by, who
from zamio.runtime.errors import ItemError, UsageError
from zamio.runtime.runner import Job, JobContext

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from zamio.db.audit import Who
    from zamio.playlogs import identify


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "recording", metavar="U-ID", help="the unknown recording (U-000123, as bin/suspense-report shows it)"
    )
    target = parser.add_mutually_exclusive_group()
    target.add_argument(
        "--track", metavar="REF", help="the catalog track it is (track_ref; imported and fingerprinted)"
    )
    target.add_argument("--merge-into", metavar="U-ID", help="the unknown recording of the same song that stays")
    add_by(parser, "why, kept in the audit log and shown on the statement lines the plays move to (required)")


def main(ctx: JobContext) -> None:
    """Name or merge the recording asked for; print the plays moved, the money and the captures heard again."""
    from zamio.playlogs import identify

    args = ctx.args
    if not (args.track or args.merge_into):
        raise UsageError("say what the recording is: --track REF (a catalog track) or --merge-into U-ID")
    person = who(args, ctx.run_id)
    if args.merge_into:
        with ctx.transaction() as conn:
            outcome = identify.merge(conn, args.recording, args.merge_into, person)
            _show(conn, outcome, ctx.dry_run)
        ctx.ok()
    else:
        target, since = _name(ctx, args.recording, args.track, person)
        _hear_again(ctx, target, since)
    if ctx.dry_run:
        print("dry run: nothing was changed")


def _name(ctx: JobContext, ref: str, track_ref: str, person: Who) -> tuple[identify.Track, datetime]:
    """Name the recording as the track (or find it named as that track before); return the track and since when
    its kept captures are heard again."""
    from zamio.playlogs import identify
    from zamio.recognition import naming
    from zamio.recognition.audio import decode_file
    from zamio.recognition.naming import NamingRefused
    from zamio.recognition.unknown import prints

    with ctx.transaction(read_only=True) as conn:
        recording = naming.find(conn, ref)
        before = identify.done_before(conn, ref)
        target = identify.track(conn, track_ref)
    if before is not None and recording.track_id == target.id:
        print(
            f"{recording.ref} was named as track {target.ref} already (audit entry {before.id}, "
            f"{before.at:%Y-%m-%d %H:%M:%S} UTC, by {before.actor}): its plays moved then; hearing its kept "
            "captures again"
        )
        ctx.skipped()
        return target, recording.first_heard_at
    try:
        track_prints = prints(decode_file(target.audio_path, should_stop=ctx.should_stop))
    except (ItemError, OSError) as error:
        raise NamingRefused(
            f"the audio of track {target.ref} ({target.audio_path}) cannot be read: {error}; fix its audio_path "
            "(bin/import-catalog --tracks), then name the recording"
        ) from None
    with ctx.transaction() as conn:
        outcome = identify.name(conn, ref, target, track_prints, person)
        _show(conn, outcome, ctx.dry_run)
    ctx.ok()
    return target, outcome.recording.first_heard_at


def _show(conn: Connection, outcome: identify.Outcome, dry_run: bool) -> None:
    """Print what naming or merging did, and the money it moves, in its own transaction."""
    from zamio.royalties.pricing.preview import money_moved

    verb = "merged into" if outcome.merged else "named as track"
    lines = [
        f"{outcome.recording.ref} {verb} {outcome.target} (audit entry {outcome.audit_id}): "
        f"{sum(o.request.action == 'reassign' for o in outcome.moved)} plays move"
    ]
    found = outcome.alignment
    if found is not None:
        lines.append(
            f"  its time 0 lies at {found.offset_seconds:.3f} s in {outcome.target} ({found.aligned} of "
            f"{found.captures} captures in the unknown index align)"
        )
    elif not outcome.merged:
        lines.append(
            f"  none of its captures' prints align with {outcome.target}'s audio (another speed or mix?): "
            f"its prints leave the unknown index ({outcome.prints_forgotten} rows); the catalog hears it now"
        )
    split = outcome.split
    if split is not None:
        parts = sum(o.request.action == "reassign" for o in split.moved)
        lines.append(
            f"  {len(split.captures)} of its captures lie outside {outcome.target} where its audio places them "
            f"(another song heard next to it on every airing): split off as {split.ref} "
            f"(audit entry {split.audit_id}), its money still held; {parts} plays or parts of plays and "
            f"{split.pending} detections not yet in plays move to it"
        )
        for correction in split.moved:
            lines += correction.lines()[1:]
    for correction in outcome.moved:
        done = correction.lines()
        if correction.request.action == "merge":
            lines.append(f"  {done[0]} two parts of one airing, paid as one play")
        lines += done[1:]
    if outcome.captures_moved:
        lines.append(f"  {outcome.captures_moved} captures (and their prints) move to {outcome.target}")
    if outcome.pending:
        lines.append(f"  {outcome.pending} detections not yet in plays now name {outcome.target}")
    money = money_moved(conn, outcome.retired, outcome.billed)
    lines.append(
        f"  money it {'would move' if dry_run else 'moves'}, booked by the next calculate-royalty-distributions run:"
    )
    lines += money.lines("    ")
    print("\n".join(lines), flush=True)


def _hear_again(ctx: JobContext, target: identify.Track, since: datetime) -> None:
    from zamio.scanning.rehearing import hear_again

    heard = hear_again(ctx.transaction, ctx, target.id, since, ctx.config.host_name)
    found = ", ".join(map(str, heard.found)) or "none"
    print(
        f"kept captures of no match since {since:%Y-%m-%d %H:%M:%S} UTC heard again: {heard.checked}, "
        f"recognised as {target.ref}: {len(heard.found)} (captures {found}); bin/convert-matches makes their plays"
        + (f"; {heard.unreadable} audio files could not be read" if heard.unreadable else ""),
        flush=True,
    )
    ctx.note(f"{len(heard.found)} missed airings found in {heard.checked} kept captures")


JOB = Job("identify-unknown", __doc__, main, add_arguments=add_arguments)
