"""Map the ISRCs of detections and plays without a society to a partner society.

Matches the exact normalised ISRC against partner_repertoire (loaded with
bin/import-catalog --repertoire) and keeps the outcome in isrc_mappings, one row
per ISRC; detections and plays are never edited.  ISRCs nobody claims are marked
unknown and re-checked on the next run, never assigned to the local society;
malformed ISRCs are marked invalid_isrc.  Plays left in suspense as unidentified
are re-priced by the next bin/calculate-royalty-distributions once mapped.

Examples:
    bin/update-pro-mappings
    bin/update-pro-mappings --dry-run -v
"""

from __future__ import annotations

from zamio.runtime.runner import Job, JobContext


def main(ctx: JobContext) -> None:
    """Map every pending ISRC; count the ISRCs newly mapped, note those newly decided per status."""
    from zamio.catalog.mappings import update_mappings

    decided = update_mappings(ctx.transaction, should_stop=ctx.should_stop)
    ctx.ok(decided["mapped"])
    for status, n in sorted(decided.items()):
        ctx.note(f"{n} {'ISRC' if n == 1 else 'ISRCs'} {status}")
    if not decided:
        ctx.note("nothing newly mapped")


JOB = Job("update-pro-mappings", __doc__, main, period_seconds=86400)
