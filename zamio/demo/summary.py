"""The demo's closing summary: plays detected against plays scheduled, and money that reconciles.

Prints ``RESULT: OK`` when recall and precision of the simulated day's plays
reach the bar, every ledger amount adds up to the gross priced, the payment
files of ``bin/payouts`` account for the statements' net exactly, and the money
held for the song the catalog lacked was released whole to its parties once it
was named; CI reads that line.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Connection, text

from zamio.db.engine import open_engine
from zamio.demo.programme import UNKNOWN_SONG, Slot
from zamio.demo.unknown import unknown_money
from zamio.royalties.statements.write import file_stem
from zamio.values.money import format_amount, from_units, to_units

START_TOLERANCE_SECONDS = 5.0
SNIPPET_EVERY_SECONDS = 120
SNIPPET_SECONDS = 12
MIN_RECALL = 0.95
MIN_PRECISION = 0.95
PAYEES = ("contributor", "artist", "publisher")


def detectable(slot: Slot, day: datetime) -> bool:
    """True when at least one snippet lies wholly inside the slot (the recording was on air for a whole capture)."""
    begin = (slot.start - day).total_seconds()
    end = begin + slot.seconds
    first = -(-begin // SNIPPET_EVERY_SECONDS) * SNIPPET_EVERY_SECONDS
    return first + SNIPPET_SECONDS <= end


def match_plays(slots: list[Slot], plays: list[tuple[str, datetime]],
                day: datetime) -> tuple[int, int, int, list[float]]:
    """(detectable scheduled, matched, false detections, start errors in seconds)."""
    expected = [s for s in slots if s.track is not None and detectable(s, day)]
    unmatched = list(plays)
    errors: list[float] = []
    for slot in expected:
        assert slot.track is not None  # expected holds the slots that play a track
        ref = slot.track.ref
        started = slot.start - timedelta(seconds=slot.offset * 100 / (100 + slot.speed_percent))
        best = min(
            (p for p in unmatched if p[0] == ref),
            key=lambda p: abs((p[1] - started).total_seconds()),
            default=None,
        )
        if best is not None and abs((best[1] - started).total_seconds()) <= START_TOLERANCE_SECONDS:
            unmatched.remove(best)
            errors.append(abs((best[1] - started).total_seconds()))
    return len(expected), len(errors), len(unmatched), errors


def summarise(folder: Path, slots: list[Slot], day: datetime, station: str, cycle_dir: Path, reports: Path,
              payouts: Path) -> int:
    engine = open_engine(f"sqlite:///{folder / 'zamio.db'}")
    with engine.connect() as conn:
        plays = [
            (ref, started)
            for ref, started in conn.execute(text(
                "SELECT t.track_ref, p.started_at FROM play_logs p JOIN tracks t ON t.id = p.track_id "
                "JOIN stations s ON s.id = p.station_id WHERE s.station_ref = :s AND p.status = 'final' "
                "AND p.started_at >= :a AND p.started_at < :b"
            ), {"s": station, "a": _stamp(day), "b": _stamp(day + timedelta(days=1))})
        ]
        plays = [(ref, datetime.fromisoformat(str(at)).replace(tzinfo=day.tzinfo)) for ref, at in plays]
        money = money_by_recipient(conn)
        owed = owed_by_cycle(conn)
        song = unknown_money(conn, slots)
    # The song the catalog lacked is told apart below: its plays start where it was first heard, not at its start.
    known = [slot for slot in slots if slot.track != UNKNOWN_SONG]
    plays = [play for play in plays if play[0] != UNKNOWN_SONG.ref]
    scheduled, matched, false, errors = match_plays(known, plays, day)
    recall = matched / scheduled if scheduled else 0.0
    precision = matched / (matched + false) if matched + false else 0.0
    errors.sort()
    print("\n" + "=" * 72)
    print(f"Simulated day {day:%Y-%m-%d} on {station}:")
    print(f"  plays scheduled (on air for a whole capture): {scheduled}")
    print(f"  plays detected: {len(plays)}; matching the schedule: {matched} "
          f"(recall {recall:.1%}, precision {precision:.1%}); median start error {_median(errors):.1f} s")
    gross, parts, reconciled = money
    print("Money per recipient (GHS):")
    for (kind, name), units in sorted(parts.items(), key=lambda kv: -kv[1]):
        print(f"  {kind:19} {name[:38]:38} {format_amount(units, 'GHS'):>16}")
    print(f"  {'gross priced':58} {format_amount(gross, 'GHS'):>16}  "
          f"{'reconciles' if reconciled else 'DOES NOT RECONCILE'}")
    print("A song the catalog lacked (heard, held, named, paid):")
    print("\n".join(song.lines()))
    print(f"Statements: {cycle_dir}")
    statement = largest_statement(cycle_dir)
    if statement is not None:
        print(f"Statement to read (open it in a browser, print it on A4): {statement}")
    paid, files_ok = payout_lines(owed, payment_files(payouts))
    print(f"Payments (bin/payouts): {payouts}")
    print("\n".join(paid))
    for html in sorted(reports.glob("*.html")):
        print(f"Report: {html}")
    ok = recall >= MIN_RECALL and precision >= MIN_PRECISION and reconciled and gross > 0 and files_ok and song.ok
    print("RESULT: OK" if ok else "RESULT: MISMATCH")
    return 0 if ok else 1


def largest_statement(cycle_dir: Path) -> Path | None:
    """The page of the statement that pays the most to a person or publisher in the cycle, or None."""
    with open(cycle_dir / "statements.csv", encoding="utf-8", newline="") as listed:
        payees = [row for row in csv.DictReader(listed) if row["recipient_type"] in PAYEES]
    if not payees:
        return None
    top = max(payees, key=lambda row: (Decimal(row["net"]), row["recipient"]))
    return cycle_dir / "statements" / f"{file_stem(top['recipient_type'], top['recipient'])}.{top['currency']}.html"


def money_by_recipient(conn: Connection) -> tuple[int, dict[tuple[str, str], int], bool]:
    """(gross priced, amount per recipient, whether the parts add up to the gross) from the ledger."""
    rows = conn.execute(text(
        "SELECT recipient_type, coalesce(recipient_name, recipient_ref), sum(amount) FROM royalty_ledger "
        "GROUP BY recipient_type, coalesce(recipient_name, recipient_ref)"
    ))
    parts: dict[tuple[str, str], int] = defaultdict(int)
    for kind, name, amount in rows:
        parts[(kind, name)] += int(amount)
    # each pricing version books its gross and reverses the previous version's
    gross = int(conn.execute(text("SELECT coalesce(sum(gross - previous_gross), 0) "
                                  "FROM royalty_pricings")).scalar() or 0)
    return gross, dict(parts), sum(parts.values()) == gross


PAYEE_TYPES = "'contributor', 'artist', 'publisher'"


def owed_by_cycle(conn: Connection) -> dict[str, dict[str, int]]:
    """Per currency, in units: the statements' net to payees (domestic line items, and the partner societies'
    remittances in their currency), and the net payable, carried forward and brought forward at the lock."""
    found: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for currency, net in conn.execute(text(
            f"SELECT currency, sum(net) FROM cycle_line_items WHERE recipient_type IN ({PAYEE_TYPES}) "
            "GROUP BY currency UNION ALL SELECT currency, sum(net_in_currency) FROM partner_remittances "
            "GROUP BY currency")):
        found[currency]["statements"] += int(net)
    for currency, payable, carried, brought in conn.execute(text(
            "SELECT currency, sum(net_payable), sum(carried_forward), sum(brought_forward) FROM payout_balances "
            "GROUP BY currency")):
        found[currency].update(payable=int(payable), carried=int(carried), brought=int(brought))
    return found


def payment_files(folder: Path) -> dict[str, dict[str, int]]:
    """Per currency, the units in the payment files bin/payouts wrote: bank transfers, mobile money, held."""
    found: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for path in sorted(folder.glob("*.csv")):
        part = "bank" if path.name == "bank-transfers.csv" else "held" if path.name == "held.csv" else "mobile"
        with path.open(newline="") as f:
            for row in csv.DictReader(f):
                found[row["currency"]][part] += to_units(Decimal(row["amount"]))
    return found


def payout_lines(owed: dict[str, dict[str, int]], files: dict[str, dict[str, int]]) -> tuple[list[str], bool]:
    """The payment files' totals against the statements' net, per currency, and whether every one is exact:
    statements' net + brought forward = net payable + carried forward, and the files hold the net payable."""
    lines, ok = [], True
    for currency in sorted(set(owed) | set(files)):
        due, paid = owed.get(currency, {}), files.get(currency, {})
        in_files = paid.get("bank", 0) + paid.get("mobile", 0) + paid.get("held", 0)
        exact = (due.get("statements", 0) + due.get("brought", 0) == due.get("payable", 0) + due.get("carried", 0)
                 and in_files == due.get("payable", 0))
        ok = ok and exact
        lines.append(f"  {currency} statements' net {from_units(due.get('statements', 0))} = bank transfers "
                     f"{from_units(paid.get('bank', 0))} + mobile money {from_units(paid.get('mobile', 0))} + held "
                     f"{from_units(paid.get('held', 0))} + carried forward {from_units(due.get('carried', 0))}: "
                     f"{'exact' if exact else 'MISMATCH'}")
    return lines, ok


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def _median(values: list[float]) -> float:
    return values[len(values) // 2] if values else 0.0
