"""The demo's closing summary: plays detected against plays scheduled, and money that reconciles.

Prints ``RESULT: OK`` when recall and precision of the simulated day's plays
reach the bar, every ledger amount adds up to the gross priced, the payment
files of ``bin/payouts`` account for the statements' net exactly, the money
held for the song the catalog lacked was released whole to its parties once it
was named, the statement of the cycle's largest payee is read in a minute in
headless Chromium, and every payee's statement shows figures equal to the ledger (``zamio.demo.look``;
skipped without Chromium unless ``ZAMIO_REQUIRE_CHROMIUM=1``), and every weekly
summary queued reached the local mail sink; CI reads that line.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from email import policy
from email.parser import BytesParser
from pathlib import Path

from sqlalchemy import Connection, text

from zamio.db.engine import open_engine
from zamio.demo.look import ledger_figures, look
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
    """(detectable scheduled, matched, false detections, start errors in seconds).  A play of a
    scheduled airing that no capture lay wholly inside (a jingle, a song cut short, heard in a
    capture across a change of song) is neither expected nor false."""
    expected = [s for s in slots if s.track is not None and detectable(s, day)]
    unmatched = list(plays)
    errors = [error for slot in expected if (error := _take_play(slot, unmatched)) is not None]
    for slot in slots:
        if slot.track is not None and not detectable(slot, day):
            _take_play(slot, unmatched)
    return len(expected), len(errors), len(unmatched), errors


def _take_play(slot: Slot, unmatched: list[tuple[str, datetime]]) -> float | None:
    """Remove from ``unmatched`` the play of ``slot``'s recording that started nearest to it,
    within ``START_TOLERANCE_SECONDS``, and return its start error in seconds; None if there is none."""
    assert slot.track is not None  # only slots that play a track are looked for
    ref = slot.track.ref
    started = slot.start - timedelta(seconds=slot.offset * 100 / (100 + slot.speed_percent))
    best = min((p for p in unmatched if p[0] == ref), key=lambda p: abs((p[1] - started).total_seconds()),
               default=None)
    if best is None or abs((best[1] - started).total_seconds()) > START_TOLERANCE_SECONDS:
        return None
    unmatched.remove(best)
    return abs((best[1] - started).total_seconds())


def summarise(folder: Path, slots: list[Slot], day: datetime, station: str, cycle: Cycle, reports: Path,
              payouts: Path, week: str) -> int:
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
        statements = payee_statements(cycle.folder)
        seen = [look(s.page, ledger_figures(conn, cycle.name, s.recipient_type, s.recipient_ref, s.currency),
                     s.currency, folder / "look", screenshot=n == 0) for n, s in enumerate(statements)]
        weekly, weekly_ok = weekly_lines(conn, week, folder / "mail")
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
    print(f"Statements: {cycle.folder}")
    if statements:
        print(f"Statement to read (open it in a browser, print it on A4): {statements[0].page}")
        print("\n".join(seen[0].lines()))
        for other in seen[1:]:
            for problem in other.problems:
                print(f"  {other.page.name}: MISMATCH: {problem}")
        if len(seen) > 1 and seen[0].skipped is None:
            wrong = sum(not other.ok for other in seen[1:])
            print(f"  the {len(seen) - 1} other payees' statements: "
                  f"{f'{wrong} with a MISMATCH' if wrong else 'every figure equals the ledger'}")
    looked = bool(seen) and all(s.ok or s.skipped is not None for s in seen)
    paid, files_ok = payout_lines(owed, payment_files(payouts))
    print(f"Payments (bin/payouts): {payouts}")
    print("\n".join(paid))
    for html in sorted(reports.glob("*.html")):
        print(f"Report: {html}")
    print(weekly)
    ok = (recall >= MIN_RECALL and precision >= MIN_PRECISION and reconciled and gross > 0 and files_ok and song.ok
          and looked and weekly_ok)
    print("RESULT: OK" if ok else "RESULT: MISMATCH")
    return 0 if ok else 1


@dataclass(frozen=True)
class Cycle:
    """The demo's cycle: its name and the folder bin/process-royalty-cycle wrote it into."""

    name: str
    folder: Path


@dataclass(frozen=True)
class Statement:
    """A recipient's statement page of the cycle."""

    recipient_type: str
    recipient_ref: str
    currency: str
    page: Path


def payee_statements(cycle_dir: Path) -> list[Statement]:
    """The statements of the cycle's people and publishers, the one that pays the most first."""
    with open(cycle_dir / "statements.csv", encoding="utf-8", newline="") as listed:
        payees = [row for row in csv.DictReader(listed) if row["recipient_type"] in PAYEES]
    payees.sort(key=lambda row: (-Decimal(row["net"]), row["recipient"]))
    return [Statement(row["recipient_type"], row["recipient"], row["currency"], cycle_dir / "statements" /
                      f"{file_stem(row['recipient_type'], row['recipient'])}.{row['currency']}.html")
            for row in payees]


WEEKLY_SUBJECTS = ("Weekly summary for ", "Your week on air: ")


def weekly_summaries(folder: Path) -> int:
    """How many of the e-mails filed in ``folder`` are weekly summaries, told by their subjects."""
    subjects = (BytesParser(policy=policy.default).parsebytes(path.read_bytes(), headersonly=True)["Subject"] or ""
                for path in folder.glob("*.eml"))
    return sum(subject.startswith(WEEKLY_SUBJECTS) for subject in subjects)


def weekly_lines(conn: Connection, week: str, sink: Path) -> tuple[str, bool]:
    """The weekly summaries of ``week`` queued against those the mail sink received, and whether every one
    queued (at least one) arrived once."""
    queued = int(conn.execute(text("SELECT count(*) FROM weekly_summaries WHERE week = :week"),
                              {"week": week}).scalar_one())
    arrived = weekly_summaries(sink)
    ok = queued > 0 and arrived == queued
    return (f"Weekly summaries of {week}: {queued} queued, {arrived} received by the local mail sink ({sink}): "
            f"{'all arrived' if ok else 'MISMATCH'}"), ok


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
