"""bin/disputes: money held while a dispute is open, released by its resolution, its evidence and its audit trail.

The world is built with ``tests.world`` through the real scripts: ``import-catalog`` (two
``class_a`` stations in Accra, UTC+0, two works) → ``import-playlogs`` →
``calculate-royalty-distributions`` → ``process-royalty-cycle``.  Joy FM and Peace FM: GHS 0.015
a second, × 1.0 in regular hours (10-16 h); amounts are units of GHS 0.0001.

Works: Odo (Ama Ghana; contributors Ama 60 %, Kojo Beats 40 % through Sika Music: the recipients
``contributor ama-ghana`` and ``publisher sika-music``), Kente (Efua Mensah, no contributors:
100 % to ``artist efua-mensah``).

The plays, all at 12:00 UTC (regular):

1. JOY 03-02, 200 s Odo: 0.015 × 200 = 3.00 → 30,000: Ama 18,000, Sika 12,000;
2. JOY 03-04, 150 s Odo: 22,500: Ama 13,500, Sika 9,000;
3. JOY 03-05, 100 s Kente: 15,000 to Efua;
4. PEACE 03-04, 100 s Odo: 15,000: Ama 9,000, Sika 6,000.

Gross 82,500 = Ama 40,500 + Sika 27,000 + Efua 15,000.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update

from tests.scan_helpers import (  # noqa: F401
    CATALOG_SEEDS,
    add_station,
    catalog_prints,
    drop,
    scan,
    scan_audio,
    seed_catalog,
)
from tests.support import Project
from tests.world import World
from zamio.db.tables import captures, detections, play_detections, royalty_cycles

AMA, SIKA, EFUA = ("contributor", "ama-ghana"), ("publisher", "sika-music"), ("artist", "efua-mensah")
HELD = ("suspense", "dispute:D-000001")


def build(project: Project) -> World:
    world = World(project)
    joy = world.station("JOY", name="Joy FM")
    peace = world.station("PEACE", name="Peace FM")
    odo = world.track("T-ODO", "Odo", "Ama Ghana")
    world.track("T-KEN", "Kente", "Efua Mensah")
    world.contributor(odo, "Ama Ghana", "60")
    world.contributor(odo, "Kojo Beats", "40", role="producer", publisher="Sika Music")
    world.play(joy, "2026-03-02 12:00", 200, track=odo)
    world.play(joy, "2026-03-04 12:00", 150, track=odo)
    world.play(joy, "2026-03-05 12:00", 100, track="T-KEN")
    world.play(peace, "2026-03-04 12:00", 100, track=odo)
    world.price()
    assert owed(project) == {AMA: 40_500, SIKA: 27_000, EFUA: 15_000}
    return world


def disputes(project: Project, *args: str, code: int = 0) -> str:
    result = project.script("disputes", *args)
    assert result.returncode == code, f"disputes {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n" \
                                      f"{result.stderr}"
    return result.stdout + result.stderr


def owed(project: Project) -> dict[tuple[str, str], int]:
    """What the ledger owes each recipient now (units), reversals included; recipients at zero left out."""
    return {(kind, ref): int(units) for kind, ref, units in project.query(
        "SELECT recipient_type, recipient_ref, sum(amount) FROM royalty_ledger GROUP BY recipient_type, recipient_ref")
        if units}


def gross(project: Project) -> int:
    """Σ gross − previous gross of every pricing: what the plays are worth now."""
    return int(project.scalar("SELECT coalesce(sum(gross - previous_gross), 0) FROM royalty_pricings"))


def statement(world: World, name: str) -> dict[tuple[str, str], int]:
    """A closed cycle's statements.csv: net per recipient, in units."""
    rows = csv.DictReader(io.StringIO((world.cycle_folder(name) / "statements.csv").read_text()))
    return {(r["recipient_type"], r["recipient"]): round(float(r["net"]) * 10_000) for r in rows}


def close(world: World, name: str, method: str | None = None) -> dict[tuple[str, str], int]:
    """Close month ``name`` (by ``method``, else per second); check the reconciliation the job printed (payees +
    suspense + fees = gross) and that the statements' nets sum to that gross; return the statements."""
    printed = world.close_cycle(name, method=method).stdout
    found = dict(re.findall(r"^\s*GHS (gross priced|payees|suspense|admin fees)\s+(-?[\d,]+\.\d{4})$", printed,
                            re.MULTILINE))
    units = {k: round(float(v.replace(",", "")) * 10_000) for k, v in found.items()}
    assert units["payees"] + units["suspense"] + units.get("admin fees", 0) == units["gross priced"], printed
    paid = statement(world, name)
    assert sum(paid.values()) == units["gross priced"], (paid, printed)
    return paid


def reconciles(project: Project) -> None:
    """The ledger as a whole: every line sums to the plays' gross (payees + suspense + fees = gross)."""
    assert sum(owed(project).values()) == gross(project)


def test_a_dispute_holds_its_plays_money_and_an_upheld_reassignment_releases_it_to_the_new_parties(
        project: Project) -> None:
    """Efua disputes JOY's plays of 03-04 (play 2: Odo, 22,500).  Opened, then priced: play 2's lines are reversed
    (Ama −13,500, Sika −9,000) and 22,500 is held in dispute:D-000001.  A play of JOY on 03-04 reported later
    (15:00, 60 s of Odo: 0.015 × 60 = 9,000) is held as it is priced: 31,500 held.  March closed while open pays
    Ama 18,000 + 9,000 = 27,000, Sika 12,000 + 6,000 = 18,000, Efua 15,000 and holds 31,500: gross 91,500.
    Resolved upheld, reassigning both plays to Kente: the next pricing reverses the 31,500 held and books it
    to Efua (150 s and 60 s of Kente: 22,500 + 9,000); April pays Efua +31,500 and suspense −31,500."""
    world = build(project)
    opened = disputes(project, "open", "--claimant-type", "artist", "--claimant", "efua-mensah", "--station", "JOY",
                      "--from", "2026-03-04", "--to", "2026-03-04", "--reason", "JOY's log has Kente at 12:00",
                      "--by", "ama.owusu")
    assert "opened D-000001" in opened and "1 current play covered" in opened
    again = disputes(project, "open", "--claimant-type", "artist", "--claimant", "efua-mensah", "--station", "JOY",
                     "--from", "2026-03-04", "--to", "2026-03-04", "--reason", "JOY's log has Kente at 12:00",
                     "--by", "ama.owusu")
    assert "D-000001 was opened already" in again
    assert project.scalar("SELECT count(*) FROM disputes") == 1
    world.price()
    assert owed(project) == {AMA: 40_500 - 13_500, SIKA: 27_000 - 9_000, EFUA: 15_000, HELD: 22_500}
    world.play("JOY", "2026-03-04 15:00", 60, track="T-ODO")
    world.play("JOY", "2026-03-05 15:00", 60, track="T-ODO")  # the next day: not disputed, 9,000: Ama 5,400, Sika 3,600
    world.price()
    assert owed(project) == {AMA: 27_000 + 5_400, SIKA: 18_000 + 3_600, EFUA: 15_000, HELD: 31_500}
    reconciles(project)
    shown = disputes(project, "show", "D-000001")
    assert "held now in suspense account dispute:D-000001: GHS 3.1500" in shown
    assert "current plays covered: 2" in shown

    march = close(world, "2026-03")
    assert march == {AMA: 32_400, SIKA: 21_600, EFUA: 15_000, HELD: 31_500}

    resolved = disputes(project, "resolve", "D-000001", "--decision", "upheld", "--reassign-to", "T-KEN",
                        "--reason", "JOY's playout log confirms Kente", "--by", "kofi.mensah")
    assert "resolved D-000001: upheld" in resolved and "held now in dispute:D-000001: GHS 3.1500" in resolved
    assert resolved.count("reassign play") == 2
    world.price()
    assert owed(project) == {AMA: 32_400, SIKA: 21_600, EFUA: 15_000 + 31_500}
    reconciles(project)
    april = close(world, "2026-04")
    assert april == {EFUA: 31_500, HELD: -31_500}
    lines = list(csv.DictReader(io.StringIO(
        (world.cycle_folder("2026-04") / "statements" / "artist-efua-mensah.GHS.csv").read_text())))
    # The new versions' lines: plays of March paid in April, with the resolution's reason.
    because = "correction: JOY's playout log confirms Kente"
    assert [(line["amount"], line["reason"]) for line in lines] == [("2.25", because), ("0.90", because)]
    assert all(line["adjustment"] for line in lines), lines
    # The audit trail: the opening, the two reassignments, the resolution, each by whom and why.
    entries = project.query("SELECT actor, action, entity, entity_id, reason FROM audit_log ORDER BY id")
    two, five = (str(world_play_id(project, n)) for n in (2, 5))
    assert [(e.actor, e.action, e.entity_id) for e in entries if e.action.startswith(("dispute.", "play."))] == [
        ("ama.owusu", "dispute.open", "D-000001"), ("kofi.mensah", "play.reassign", two),
        ("kofi.mensah", "play.reassign", five), ("kofi.mensah", "dispute.resolve", "D-000001")]
    shown = disputes(project, "show", "D-000001", "--json")
    data = json.loads(shown[:shown.rindex("}") + 1])
    assert data["status"] == "resolved" and data["decision"] == "upheld" and data["held_units"] == {}
    assert [e["action"] for e in data["history"]] == ["dispute.open", "play.reassign", "play.reassign",
                                                      "dispute.resolve"]


def world_play_id(project: Project, n: int) -> int:
    """The n-th play imported (its first version): ids follow the file order."""
    return int(project.scalar("SELECT id FROM play_logs WHERE import_ref = :ref AND version = 1",
                              ref=f"imported:p{n}"))


def test_a_dispute_of_a_play_paid_by_a_locked_cycle_is_an_adjustment_and_a_rejection_pays_it_back(
        project: Project) -> None:
    """March is closed and paid (play 2: Ama 13,500, Sika 9,000).  Efua then disputes play 2: April, closed
    while it is open, takes it back as adjustments (Ama −13,500, Sika −9,000) and holds 22,500.  Rejected: May
    pays it back to the original parties (Ama +13,500, Sika +9,000, suspense −22,500)."""
    world = build(project)
    assert close(world, "2026-03") == {AMA: 40_500, SIKA: 27_000, EFUA: 15_000}
    play = world_play_id(project, 2)
    disputes(project, "open", "--claimant-type", "artist", "--claimant", "efua-mensah", "--plays", str(play),
             "--reason", "that was Kente", "--by", "ama.owusu")
    world.price()
    reconciles(project)
    assert close(world, "2026-04") == {AMA: -13_500, SIKA: -9_000, HELD: 22_500}
    [held_file] = (world.cycle_folder("2026-04") / "statements").glob("suspense-dispute*D-000001*.GHS.csv")
    suspense_lines = list(csv.DictReader(io.StringIO(held_file.read_text())))
    assert [(line["play_id"], line["amount"], line["reason"]) for line in suspense_lines] == [
        (str(play), "2.25", "disputed")]
    assert suspense_lines[0]["adjustment"]
    disputes(project, "resolve", "D-000001", "--decision", "rejected", "--reason", "the station's log says Odo",
             "--by", "kofi.mensah")
    twice = disputes(project, "resolve", "D-000001", "--decision", "upheld", "--reason", "again", "--by", "kofi",
                     code=1)
    assert "D-000001 was resolved already (rejected" in twice and "nothing was changed" in twice
    world.price()
    reconciles(project)
    assert close(world, "2026-05") == {AMA: 13_500, SIKA: 9_000, HELD: -22_500}
    assert owed(project) == {AMA: 40_500, SIKA: 27_000, EFUA: 15_000}


def test_a_recording_s_shares_dispute_holds_every_play_of_it_and_corrections_from_a_file_apply(
        project: Project, tmp_path: Path) -> None:
    """Sika disputes Odo's shares: plays 1, 2 and 4 are held (30,000 + 22,500 + 15,000 = 67,500), Kente (play 3)
    is not.  Resolved partly with a correction file that voids play 4 (an advert): 15,000 is gone, and 52,500
    goes back to Ama (18,000 + 13,500) and Sika (12,000 + 9,000)."""
    world = build(project)
    disputes(project, "open", "--claimant-type", "publisher", "--claimant", "sika-music", "--recording", "T-ODO",
             "--shares", "--reason", "Kojo's share is 50 %")
    world.price()
    assert owed(project) == {EFUA: 15_000, HELD: 67_500}
    reconciles(project)
    four = world_play_id(project, 4)
    outside = tmp_path / "outside.csv"
    outside.write_text(f"action,play_ids,reason\nvoid,{world_play_id(project, 3)},not covered\n")
    refused = disputes(project, "resolve", "D-000001", "--decision", "partly", "--corrections", str(outside),
                       "--reason", "x", code=1)
    assert f"outside.csv line 2: play {world_play_id(project, 3)} is not covered by D-000001" in refused
    assert project.scalar("SELECT status FROM disputes") == "open"
    file = tmp_path / "decision.csv"
    file.write_text(f'action,play_ids,reason\nvoid,{four},"an advert for Odo Ltd, not the song"\n')
    printed = disputes(project, "resolve", "D-000001", "--decision", "partly", "--corrections", str(file),
                       "--reason", "shares stand; PEACE's play was an advert", "--by", "kofi.mensah")
    assert f"void play {four}" in printed
    world.price()
    assert owed(project) == {AMA: 31_500, SIKA: 21_000, EFUA: 15_000}
    reconciles(project)
    reason = project.scalar("SELECT reason FROM audit_log WHERE action = 'play.void'")
    assert reason == "an advert for Odo Ltd, not the song"


def test_a_recording_s_identity_dispute_holds_its_track_s_plays_and_those_naming_its_isrc_until_resolved(
        project: Project) -> None:
    """Odo carries the ISRC GHA012600001.  JOY reports 03-02 12:00, 200 s of Odo by its track (30,000: Ama 18,000,
    Sika 12,000); PEACE reports 03-04 12:00, 100 s by the ISRC alone (no track: 15,000 held for the ISRC, in
    ``unidentified:isrc:GHA012600001``); JOY 03-05 12:00, 100 s of Kente (15,000 to Efua).  Efua says what was
    heard as that recording was her Kente: the identity dispute over the ISRC covers both Odo plays and holds
    45,000.  March, closed while it is open, pays Efua her 15,000 and the account holds 45,000.  Upheld, both
    plays reassigned to Kente: the next pricing books 300 s of Kente, 45,000, to Efua, and April pays it to her
    out of the account."""
    world = World(project)
    joy, peace = world.station("JOY", name="Joy FM"), world.station("PEACE", name="Peace FM")
    odo = world.track("T-ODO", "Odo", "Ama Ghana", isrc="GHA012600001")
    world.track("T-KEN", "Kente", "Efua Mensah")
    world.contributor(odo, "Ama Ghana", "60")
    world.contributor(odo, "Kojo Beats", "40", role="producer", publisher="Sika Music")
    world.play(joy, "2026-03-02 12:00", 200, track=odo)
    world.play(peace, "2026-03-04 12:00", 100, isrc="GHA012600001")
    world.play(joy, "2026-03-05 12:00", 100, track="T-KEN")
    world.price()
    unidentified = ("suspense", "unidentified:isrc:GHA012600001")
    assert owed(project) == {AMA: 18_000, SIKA: 12_000, unidentified: 15_000, EFUA: 15_000}
    opened = disputes(project, "open", "--claimant-type", "artist", "--claimant", "efua-mensah", "--recording",
                      "GHA012600001", "--identity", "--reason", "the stations played Kente", "--by", "ama.owusu")
    assert "2 current plays covered" in opened
    world.price()
    assert owed(project) == {EFUA: 15_000, HELD: 45_000}
    reconciles(project)
    assert {k: v for k, v in close(world, "2026-03").items() if v} == {EFUA: 15_000, HELD: 45_000}
    resolved = disputes(project, "resolve", "D-000001", "--decision", "upheld", "--reassign-to", "T-KEN",
                        "--reason", "both stations' logs have Kente", "--by", "kofi.mensah")
    assert resolved.count("reassign play") == 2
    world.price()
    assert owed(project) == {EFUA: 60_000}
    reconciles(project)
    assert close(world, "2026-04") == {EFUA: 45_000, HELD: -45_000}
    current = project.query("SELECT s.station_ref, t.track_ref, p.duration_seconds FROM play_logs p "
                            "JOIN stations s ON s.id = p.station_id JOIN tracks t ON t.id = p.track_id "
                            "WHERE p.status = 'final' ORDER BY p.started_at")
    assert [tuple(r) for r in current] == [("JOY", "T-KEN", 200.0), ("PEACE", "T-KEN", 100.0), ("JOY", "T-KEN", 100.0)]


def pool_lines(project: Project, cycle: str) -> dict[tuple[str, str], int]:
    """The lines a pool cycle wrote, per recipient (units), recipients at zero left out."""
    return {(kind, ref): int(units) for kind, ref, units in project.query(
        "SELECT l.recipient_type, l.recipient_ref, sum(l.amount) FROM royalty_ledger l JOIN royalty_cycles c "
        "ON c.id = l.cycle_id WHERE c.name = :c GROUP BY l.recipient_type, l.recipient_ref", c=cycle) if units}


def pool_world(project: Project) -> World:
    """The plays of ``build``, and JOY's licence fee for March: GHS 45.00 = 450,000 units over its 450 weighted
    seconds (200 + 150 + 100, all regular: × 1.0), 1,000 units a second: play 1 200,000 (Ama 120,000, Sika
    80,000), play 2 150,000 (Ama 90,000, Sika 60,000), play 3 100,000 (Efua).  PEACE has no fee."""
    world = build(project)
    world.licence_fee("JOY", "2026-03-01", "2026-03-31", "45.00")
    return world


def test_a_pool_cycle_holds_a_disputed_play_s_part_and_the_next_pool_cycle_releases_it_to_the_new_parties(
        project: Project) -> None:
    """Efua disputes JOY's 03-04 (play 2).  March, pooled while it is open, pays Ama 120,000, Sika 80,000 and Efua
    100,000 and holds play 2's part, 150,000, in dispute:D-000001 (gross 450,000: the fee).  Upheld as Kente:
    April (no fee of its own) releases it as adjustments, Efua +150,000 and the account −150,000; gross 0."""
    world = pool_world(project)
    disputes(project, "open", "--claimant-type", "artist", "--claimant", "efua-mensah", "--station", "JOY",
             "--from", "2026-03-04", "--to", "2026-03-04", "--reason", "JOY's log has Kente at 12:00")
    world.price()
    march = close(world, "2026-03", "pool")
    assert march == {AMA: 120_000, SIKA: 80_000, EFUA: 100_000, HELD: 150_000}
    assert pool_lines(project, "2026-03") == march
    held = project.query("SELECT l.play_id, l.amount, l.reason FROM royalty_ledger l "
                         "WHERE l.cycle_id IS NOT NULL AND l.recipient_ref = 'dispute:D-000001'")
    assert [tuple(r) for r in held] == [(world_play_id(project, 2), 150_000, "disputed")]
    assert "held now in suspense account dispute:D-000001: GHS 15.0000" in disputes(project, "show", "D-000001")
    disputes(project, "resolve", "D-000001", "--decision", "upheld", "--reassign-to", "T-KEN",
             "--reason", "JOY's playout log confirms Kente", "--by", "kofi.mensah")
    world.price()
    april = close(world, "2026-04", "pool")
    assert april == {EFUA: 150_000, HELD: -150_000}
    lines = list(csv.DictReader(io.StringIO(
        (world.cycle_folder("2026-04") / "statements" / "artist-efua-mensah.GHS.csv").read_text())))
    assert [(line["amount"], bool(line["adjustment"])) for line in lines] == [("15.00", True)]
    [suspense_file] = (world.cycle_folder("2026-04") / "statements").glob("suspense-dispute*D-000001*.GHS.csv")
    taken = list(csv.DictReader(io.StringIO(suspense_file.read_text())))
    assert [(line["amount"], line["reason"]) for line in taken] == [("-15.00", "dispute_released")]
    assert "GHS 15.0000" not in disputes(project, "show", "D-000001")
    # Released once: a later pool cycle finds nothing left to release, and the fee was paid whole, once.
    world.close_cycle("2026-05", method="pool")
    assert pool_lines(project, "2026-05") == {}
    assert sum(sum(pool_lines(project, c).values()) for c in ("2026-03", "2026-04", "2026-05")) == 450_000


def test_a_voided_disputed_play_s_pool_part_is_spread_again_over_the_station_s_other_plays_of_its_days(
        project: Project) -> None:
    """Sika disputes Odo's shares: JOY's plays 1 and 2 (200,000 + 150,000 = 350,000) are held by March's pool,
    Kente (play 3, 100,000 to Efua) is paid.  Resolved partly, voiding play 2: April releases play 1's 200,000
    to Ama 120,000 and Sika 80,000, and spreads play 2's 150,000 again over March's eligible JOY plays left,
    1 and 3 (300 weighted seconds, 500 units a second): play 1 100,000 (Ama 60,000, Sika 40,000), play 3 50,000
    (Efua).  Ama 180,000, Sika 120,000, Efua 50,000, the account −350,000."""
    world = pool_world(project)
    disputes(project, "open", "--claimant-type", "publisher", "--claimant", "sika-music", "--recording", "T-ODO",
             "--shares", "--reason", "Kojo's share is 50 %")
    world.price()
    assert close(world, "2026-03", "pool") == {EFUA: 100_000, HELD: 350_000}
    file = project.tmp_path / "decision.csv"
    file.write_text(f"action,play_ids,reason\nvoid,{world_play_id(project, 2)},a trailer, not the song\n")
    disputes(project, "resolve", "D-000001", "--decision", "partly", "--corrections", str(file),
             "--reason", "shares stand; one play was a trailer")
    world.price()
    assert close(world, "2026-04", "pool") == {AMA: 180_000, SIKA: 120_000, EFUA: 50_000, HELD: -350_000}
    # Over both cycles the fee, 450,000, went to the plays that stand: play 1 300,000, play 3 150,000.
    total: dict[tuple[str, str], int] = {}
    for cycle in ("2026-03", "2026-04"):
        for key, units in pool_lines(project, cycle).items():
            total[key] = total.get(key, 0) + units
    assert {k: v for k, v in total.items() if v} == {AMA: 180_000, SIKA: 120_000, EFUA: 150_000}


def test_bad_input_is_refused_naming_what_to_do_and_changes_nothing(project: Project) -> None:
    build(project)
    before = project.query("SELECT count(*) FROM audit_log")[0][0]
    assert "there is no dispute D-000007" in disputes(project, "show", "D-000007", code=1)
    assert "there is no dispute D-000007" in disputes(project, "resolve", "D-7", "--decision", "upheld",
                                                      "--reason", "r", code=1)
    assert "is not a dispute id" in disputes(project, "show", "X-12", code=2)
    assert "open needs one scope, given no scope" in disputes(
        project, "open", "--claimant-type", "artist", "--claimant", "efua-mensah", "--reason", "r", code=2)
    assert "cover no current play" in disputes(
        project, "open", "--claimant-type", "artist", "--claimant", "efua-mensah", "--station", "JOY",
        "--from", "2026-06-01", "--to", "2026-06-30", "--reason", "r", code=1)
    assert "artist 'nobody' is not known" in disputes(
        project, "open", "--claimant-type", "artist", "--claimant", "nobody", "--plays", "1", "--reason", "r", code=1)
    assert "play 999 does not exist" in disputes(
        project, "open", "--claimant-type", "artist", "--claimant", "efua-mensah", "--plays", "999", "--reason", "r",
        code=1)
    assert "--reason is required" in disputes(
        project, "open", "--claimant-type", "artist", "--claimant", "efua-mensah", "--plays", "1", code=2)
    assert "--to 2026-03-01 is before --from 2026-03-02" in disputes(
        project, "open", "--claimant-type", "artist", "--claimant", "efua-mensah", "--station", "JOY", "--from",
        "2026-03-02", "--to", "2026-03-01", "--reason", "r", code=2)
    assert "list takes no --decision" in disputes(project, "list", "--decision", "upheld", code=2)
    dry = disputes(project, "open", "--claimant-type", "artist", "--claimant", "efua-mensah", "--plays", "1",
                   "--reason", "r", "--dry-run")
    assert "opened D-" in dry and "dry run: nothing was changed" in dry
    assert project.query("SELECT count(*) FROM audit_log")[0][0] == before
    assert project.scalar("SELECT count(*) FROM disputes") == 0
    assert "no dispute" in disputes(project, "list")
    opened = disputes(project, "open", "--claimant-type", "artist", "--claimant", "efua-mensah", "--plays", "1",
                      "--reason", "r")
    label = re.search(r"opened (D-\d{6})", opened)[1]  # refused openings may have used ids of PostgreSQL's sequence
    assert "neither a catalog track (track_ref) nor a valid ISRC" in disputes(
        project, "resolve", label, "--decision", "upheld", "--reassign-to", "T-NONE", "--reason", "r", code=1)
    assert f"{label}  open" in disputes(project, "list", "--status", "open")


def test_two_resolutions_at_once_apply_one(project: Project) -> None:
    """Two resolve commands started together: one resolves (one reassignment), the other is refused or finds the
    job's lock held; the ledger moves once."""
    world = build(project)
    disputes(project, "open", "--claimant-type", "artist", "--claimant", "efua-mensah", "--plays",
             str(world_play_id(project, 2)), "--reason", "Kente", "--by", "ama")
    world.price()
    runs = [project.popen("disputes", "resolve", "D-000001", "--decision", "upheld", "--reassign-to", "T-KEN",
                          "--by", "kofi", "--reason", f"confirmed ({n})") for n in (1, 2)]
    outcomes = [(r.wait(timeout=120), r.communicate()) for r in runs]
    codes = sorted(code for code, _ in outcomes)
    assert codes[0] == 0 and codes[1] in (1, 75), outcomes
    assert project.scalar("SELECT count(*) FROM audit_log WHERE action = 'play.reassign'") == 1
    assert project.scalar("SELECT count(*) FROM audit_log WHERE action = 'dispute.resolve'") == 1
    world.price()
    assert owed(project) == {AMA: 27_000, SIKA: 18_000, EFUA: 15_000 + 22_500}
    reconciles(project)


# --- evidence: the audio a disputed play rests on ------------------------------------------------

A, B, _C = CATALOG_SEEDS


def heard_world(project: Project, scan_audio, catalog_prints) -> dict[str, dict]:  # noqa: F811
    """Two airings on joy (class_b) in January 2024, a 20-second MP3 snippet each, heard by the real scan and
    turned into plays, priced, and paid by cycle 2024-01, whose lock is then moved 400 days back (past the
    365-day window in which paid evidence is kept)."""
    seed_catalog(project, catalog_prints)
    add_station(project, "joy", "http://127.0.0.1:9/unused")
    inbox = project.var_dir / "inbox"
    for chunk, song, at in (("a", A, "2024-01-10T12:00:00Z"), ("b", B, "2024-01-11T12:00:00Z")):
        drop(inbox, f"{chunk}.mp3", scan_audio.mp3(song), {"station_ref": "joy", "chunk_id": chunk, "started_at": at})
    assert scan(project, "--only", "snippets").returncode == 0
    for name, args in (("convert-matches", ()), ("calculate-royalty-distributions", ()),
                       ("process-royalty-cycle", ("--name", "2024-01", "--from", "2024-01-01", "--to", "2024-01-31",
                                                  "--out", str(project.tmp_path / "cycles" / "2024-01")))):
        result = project.script(name, *args)
        assert result.returncode == 0, result.stderr
    with project.engine.begin() as conn:
        conn.execute(update(royalty_cycles).values(locked_at=datetime.now(UTC) - timedelta(days=400)))
        found = conn.execute(
            select(captures.c.chunk_id, captures.c.audio_path, captures.c.audio_sha256, play_detections.c.play_id,
                   detections.c.id.label("detection_id"), detections.c.offset_seconds, detections.c.confidence)
            .join(detections, detections.c.capture_id == captures.c.id)
            .join(play_detections, play_detections.c.detection_id == detections.c.id)).all()
    return {row.chunk_id: row._asdict() for row in found}


def test_the_evidence_pack_and_cleanup_keep_what_an_open_dispute_rests_on(
        project: Project, scan_audio, catalog_prints) -> None:  # noqa: F811
    heard = heard_world(project, scan_audio, catalog_prints)
    play = heard["a"]["play_id"]
    disputes(project, "open", "--claimant-type", "station", "--claimant", "joy", "--plays", str(play),
             "--reason", "our log has another song at 12:00", "--by", "ama")
    pack = project.tmp_path / "pack"
    printed = disputes(project, "show", "D-000001", "--evidence", str(pack))
    assert "evidence pack written to" in printed and "1 audio file copied" in printed
    copied = sorted((pack / "audio").iterdir())
    assert [p.read_bytes() for p in copied] == [scan_audio.mp3(A)]
    page = (pack / "index.html").read_text()
    assert "D-000001" in page and "our log has another song at 12:00" in page
    assert str(project.var_dir) not in page and str(project.tmp_path) not in page
    assert "2024-01-10 12:00:00 UTC" in page and "Africa/Accra" in page
    rows = list(csv.DictReader(io.StringIO((pack / "plays.csv").read_text())))
    assert len(rows) == 1 and rows[0]["play_id"] == str(play) and rows[0]["station"] == "joy"
    assert rows[0]["audio_file"] == f"audio/{copied[0].name}" and rows[0]["audio_sha256"] == heard["a"]["audio_sha256"]
    assert float(rows[0]["confidence"]) == heard["a"]["confidence"]
    assert float(rows[0]["offset_seconds"]) == heard["a"]["offset_seconds"]
    assert rows[0]["started_at_utc"] == "2024-01-10T12:00:00+00:00"
    assert rows[0]["started_at_local"] == "2024-01-10T12:00:00+00:00"  # Accra is UTC+0
    trace = json.loads((pack / "trace" / f"play-{play}.json").read_text())
    assert trace["play_id"] == play and trace["ledger"]
    assert trace["ledger"][0]["detections"][0]["audio_sha256"] == heard["a"]["audio_sha256"]
    assert str(project.var_dir) not in (pack / "trace" / f"play-{play}.json").read_text()
    assert json.loads((pack / "dispute.json").read_text())["history"][0]["action"] == "dispute.open"

    # Both airings were paid more than the window ago: only the disputed one's audio stays.
    result = project.script("cleanup-old-data")
    assert result.returncode == 0, result.stderr
    assert Path(heard["a"]["audio_path"]).read_bytes() == scan_audio.mp3(A)
    assert not Path(heard["b"]["audio_path"]).exists()
    assert project.scalar("SELECT audio_path FROM captures WHERE chunk_id = 'b'") is None
    # Resolved: nothing holds it any more, and the next cleanup lets it go.
    disputes(project, "resolve", "D-000001", "--decision", "rejected", "--reason", "the fingerprint is right")
    assert project.script("cleanup-old-data").returncode == 0
    assert not Path(heard["a"]["audio_path"]).exists()
