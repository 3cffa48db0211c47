"""The demo's song the catalog lacks: which unknown recording it became, and its money from held to paid.

The simulated day airs ``programme.UNKNOWN_SONG`` at a few hours.  Heard twice, it becomes an
unknown recording (``U-000001`` or later: other music may have been filed before it) whose plays
are held in suspense; the demo then registers the song, whose fingerprinting names the recording
from the catalog (``bin/identify-unknown`` then finds it named).  Here: finding the recording
among those filed (the one whose captures were heard while the song was on air), and reading
back heard / held / named / paid from the ledger for the summary.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, text

from zamio.demo.programme import UNKNOWN_SONG, Slot
from zamio.values.money import format_amount

PAYEES = "('contributor', 'artist', 'publisher')"
#: What the ledger books to each party for every play of a track (``:t``, its reference).
PAID_QUERY = (
    "SELECT l.recipient_type, coalesce(l.recipient_name, l.recipient_ref), sum(l.amount) FROM royalty_ledger l "
    "JOIN play_logs p ON p.id = l.play_id JOIN tracks t ON t.id = p.track_id "
    f"WHERE t.track_ref = :t AND l.recipient_type IN {PAYEES} GROUP BY 1, 2"
)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def heard_as(conn: Connection, slots: list[Slot]) -> str | None:
    """The unknown recording most of whose captures were heard while the unknown song was on air, or None."""
    votes: dict[str, int] = {}
    for slot in slots:
        if slot.track != UNKNOWN_SONG:
            continue
        end = slot.start + timedelta(seconds=slot.seconds)
        for (ref,) in conn.execute(
            text(
                "SELECT r.unknown_ref FROM unknown_captures c JOIN unknown_recordings r ON r.id = c.unknown_id "
                "WHERE c.started_at >= :a AND c.started_at < :b"
            ),
            {"a": _stamp(slot.start), "b": _stamp(end)},
        ):
            votes[ref] = votes.get(ref, 0) + 1
    return max(votes, key=lambda ref: (votes[ref], ref)) if votes else None


@dataclass(frozen=True)
class UnknownMoney:
    """The unknown song's story in figures (units of GHS 0.0001)."""

    ref: str | None  # the U- recording it became
    airings: int  # in the schedule
    heard: int  # plays of the U- recording as first written
    held: int  # booked to its suspense account
    named_as: str | None  # the track it was named as
    released: int  # booked to the track's parties for the plays moved from the U- recording
    still_held: int  # left in its suspense account
    found_again: int  # plays of the track from kept captures heard again
    paid: dict[str, int]  # per party, for every play of the track
    named_by: str | None = None  # who named it: catalog-naming (the fingerprinting job) or a person

    @property
    def ok(self) -> bool:
        """Heard, held, named and the held money released whole: nothing left in suspense."""
        return (
            self.ref is not None
            and self.heard >= 2
            and self.held > 0
            and self.named_as == UNKNOWN_SONG.ref
            and self.released == self.held
            and self.still_held == 0
        )

    def lines(self) -> list[str]:
        if self.ref is None:
            return [f"  {UNKNOWN_SONG.title!r} ({self.airings} airings) was never filed as an unknown recording"]
        return [
            f"  heard: {UNKNOWN_SONG.title!r}, not in the catalog, aired {self.airings} times; {self.heard} plays "
            f"of unknown recording {self.ref}",
            f"  held:  {format_amount(self.held, 'GHS')} in suspense unidentified:{self.ref}",
            f"  named: {self.ref} as {self.named_as} by {self.named_by}; {self.found_again} missed airing(s) "
            "found again in the kept snippets",
            f"  paid:  {format_amount(self.released, 'GHS')} released to its parties "
            f"({'equal to the held amount' if self.released == self.held else 'NOT the held amount'}), "
            f"{format_amount(self.still_held, 'GHS')} left in suspense; its parties' royalties for all its plays "
            "(before the commission and tax the cycle deducts):",
            *(f"         {party:30} {format_amount(units, 'GHS'):>16}" for party, units in sorted(self.paid.items())),
        ]


def unknown_money(conn: Connection, slots: list[Slot]) -> UnknownMoney:
    """Read the unknown song's figures back from the database (see ``UnknownMoney``)."""
    airings = sum(1 for slot in slots if slot.track == UNKNOWN_SONG)
    named = conn.execute(
        text(
            "SELECT r.unknown_ref, r.resolved_by FROM unknown_recordings r JOIN tracks t ON t.id = r.track_id "
            "WHERE t.track_ref = :t ORDER BY r.id"
        ),
        {"t": UNKNOWN_SONG.ref},
    ).first()
    found, named_by = (named.unknown_ref, named.resolved_by) if named is not None else (None, None)
    ref = found or heard_as(conn, slots)
    if ref is None:
        return UnknownMoney(None, airings, 0, 0, None, 0, 0, 0, {})

    def units(sql: str, **params: object) -> int:
        return int(conn.execute(text(sql), {"ref": ref, "account": f"unidentified:{ref}", **params}).scalar() or 0)

    heard = units("SELECT count(*) FROM play_logs WHERE recording_key = :ref AND version = 1")
    held = units("SELECT sum(amount) FROM royalty_ledger WHERE recipient_ref = :account AND amount > 0")
    still = units("SELECT sum(amount) FROM royalty_ledger WHERE recipient_ref = :account")
    released = units(
        "SELECT sum(l.amount) FROM royalty_ledger l JOIN play_logs p ON p.id = l.play_id "
        f"JOIN play_logs o ON o.id = p.supersedes_id WHERE o.recording_key = :ref AND l.recipient_type IN {PAYEES}"
    )
    again = units(
        "SELECT count(*) FROM play_logs p JOIN tracks t ON t.id = p.track_id WHERE t.track_ref = :t "
        "AND p.source = 'local' AND p.status = 'final'",
        t=UNKNOWN_SONG.ref,
    )
    paid = {
        f"{kind} {name}": int(amount)
        for kind, name, amount in conn.execute(
            text(PAID_QUERY),
            {"t": UNKNOWN_SONG.ref},
        )
    }
    return UnknownMoney(ref, airings, heard, held, UNKNOWN_SONG.ref if found else None, released, still, again, paid,
                        named_by)
