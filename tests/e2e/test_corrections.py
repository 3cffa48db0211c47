"""bin/correct-plays: plays corrected by hand, the money each correction moves, and what stops it.

The world is built through the real scripts: ``import-catalog`` (two class_a stations in Accra,
UTC+0, three works) → ``import-playlogs`` (seven plays) → ``calculate-royalty-distributions``.
Joy FM and Peace FM are ``class_a``: GHS 0.015 a second, × 1.5 in prime time (06-10 h),
× 1.0 regular (10-16 h); amounts are units of GHS 0.0001.  A play is priced by the period of
its start.

Works: Odo (Ama Ghana; contributors Ama 60 %, Kojo Beats 40 % through Sika Music: the
recipients ``contributor ama-ghana`` and ``publisher sika-music``), Harmattan (Ama Ghana,
published by Sika Music, no contributors: 100 % to ``publisher sika-music``), Kente (Efua
Mensah: 100 % to ``artist efua-mensah``).

The plays (their ids are the order of the file):

1. JOY 03-02 12:00, 200 s Odo, regular: 0.015 × 200 = 3.00 → 30,000: Ama 18,000, Sika 12,000;
2. JOY 03-03 12:00, 100 s Harmattan, regular: 15,000 to Sika;
3. JOY 03-04 12:00, 150 s Kente, regular: 22,500 to Efua;
4. JOY 03-05 09:58:20, 100 s Kente, prime: 0.015 × 1.5 × 100 = 2.25 → 22,500 to Efua;
5. JOY 03-05 10:00:00, 100 s Kente, regular: 15,000 to Efua (4 and 5: one airing cut by a dead stream);
6. PEACE 03-05 09:58:20, 100 s Kente, prime: 22,500 to Efua;
7. JOY 03-06 09:58:20, 200 s Odo, prime: 0.015 × 1.5 × 200 = 4.50 → 45,000: Ama 27,000, Sika 18,000.
"""

from __future__ import annotations

import csv
import io
import re

import pytest

from tests.support import Project

STATIONS = """\
station_ref,name,city,region,station_class,stream_url,timezone
JOY,Joy FM,Accra,Greater Accra,class_a,,Africa/Accra
PEACE,Peace FM,Accra,Greater Accra,class_a,,Africa/Accra
"""
TRACKS = """\
track_ref,title,artist,audio_path,publisher
T-ODO,Odo,Ama Ghana,,
T-HAR,Harmattan,Ama Ghana,,Sika Music
T-KEN,Kente,Efua Mensah,,
"""
CONTRIBUTORS = """\
track_ref,name,role,share_percent,publisher
T-ODO,Ama Ghana,composer,60,
T-ODO,Kojo Beats,producer,40,Sika Music
"""
PLAYS = """\
station_ref,started_at,duration_seconds,track_ref
JOY,2026-03-02T12:00:00Z,200,T-ODO
JOY,2026-03-03T12:00:00Z,100,T-HAR
JOY,2026-03-04T12:00:00Z,150,T-KEN
JOY,2026-03-05T09:58:20Z,100,T-KEN
JOY,2026-03-05T10:00:00Z,100,T-KEN
PEACE,2026-03-05T09:58:20Z,100,T-KEN
JOY,2026-03-06T09:58:20Z,200,T-ODO
"""
AMA, SIKA, EFUA = ("contributor", "ama-ghana"), ("publisher", "sika-music"), ("artist", "efua-mensah")
#: What the seven plays are owed once priced (units), from the arithmetic above.
PRICED = {AMA: 18_000 + 27_000, SIKA: 12_000 + 15_000 + 18_000, EFUA: 22_500 + 22_500 + 15_000 + 22_500}
MONEY_TABLES = ("play_logs", "play_detections", "audit_log", "royalty_pricings", "royalty_ledger")


def write(project: Project, name: str, text: str) -> str:
    path = project.tmp_path / "input" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return str(path)


def run(project: Project, name: str, *args: str, code: int = 0) -> str:
    """Run ``bin/<name>``; check its exit code; return standard output and error together."""
    result = project.script(name, *args)
    assert result.returncode == code, f"{name} {' '.join(args)} exited {result.returncode}:\n{result.stderr}"
    return result.stdout + result.stderr


def build(project: Project) -> None:
    run(project, "import-catalog", "--stations", write(project, "stations.csv", STATIONS),
        "--tracks", write(project, "tracks.csv", TRACKS),
        "--contributors", write(project, "contributors.csv", CONTRIBUTORS))
    run(project, "import-playlogs", write(project, "plays.csv", PLAYS))
    price(project)


def price(project: Project) -> str:
    return run(project, "calculate-royalty-distributions")


def owed(project: Project) -> dict[tuple[str, str], int]:
    """What the ledger owes each recipient now (units), reversals included."""
    return {(kind, ref): int(units) for kind, ref, units in project.query(
        "SELECT recipient_type, recipient_ref, sum(amount) FROM royalty_ledger GROUP BY recipient_type, recipient_ref")
        if units}


def moved(before: dict[tuple[str, str], int], after: dict[tuple[str, str], int]) -> dict[tuple[str, str], int]:
    return {key: after.get(key, 0) - before.get(key, 0) for key in sorted(set(before) | set(after))
            if after.get(key, 0) != before.get(key, 0)}


def correct(project: Project, *args: str, code: int = 0) -> str:
    return run(project, "correct-plays", *args, "--by", "ama.owusu", code=code)


def total_line(output: str) -> int:
    """The total the job printed for the money a correction moves, in units."""
    found = re.findall(r"^\s+total\s+GHS\s+(-?\d+\.\d{4})$", output, re.MULTILINE)
    assert len(found) == 1, output
    return int(found[0].replace(".", ""))


def state(project: Project) -> dict[str, list]:
    return {table: [tuple(r) for r in project.query(f"SELECT * FROM {table} ORDER BY 1")] for table in MONEY_TABLES}


def test_each_correction_moves_exactly_the_money_computed_by_hand(project: Project) -> None:
    """Each correction, then a pricing run: the ledger moves by what the correction printed.

    * retime 1 to 100 s: 0.015 × 100 = 15,000 (Ama 9,000, Sika 6,000) for 30,000: −15,000
      (Ama −9,000, Sika −6,000);
    * reassign 2 to Kente: the same 15,000 goes from Sika to Efua: total 0;
    * void 3: −22,500 from Efua;
    * merge 4 and 5: one 200 s airing from 09:58:20, prime: 45,000 for 22,500 + 15,000: +7,500 to Efua;
    * split 7 at 10:00:00: 100 s prime (22,500: Ama 13,500, Sika 9,000) and 100 s regular (15,000: Ama
      9,000, Sika 6,000) for 45,000 (Ama 27,000, Sika 18,000): −7,500 (Ama −4,500, Sika −3,000);
    * add 60 s of Kente on 03-07 12:00: 0.015 × 60 = 9,000 to Efua.
    """
    build(project)
    assert owed(project) == PRICED
    cases = [
        (("retime", "1", "--seconds", "100", "--reason", "station log: faded out at 1:40"),
         {AMA: -9_000, SIKA: -6_000}),
        (("reassign", "2", "--track", "T-KEN", "--reason", "Kente, misheard as Harmattan"), {SIKA: -15_000,
                                                                                           EFUA: 15_000}),
        (("void", "3", "--reason", "an advert, not music"), {EFUA: -22_500}),
        (("merge", "5", "4", "--reason", "one airing, cut by a dead stream"), {EFUA: 7_500}),
        (("split", "7", "--at", "2026-03-06T10:00:00Z", "--reason", "two airings back to back"),
         {AMA: -4_500, SIKA: -3_000}),
        (("add", "--station", "JOY", "--track", "T-KEN", "--start", "2026-03-07T12:00:00Z", "--seconds", "60",
          "--evidence", "JOY playout log 2026-03-07 line 41", "--reason", "missed: stream down"), {EFUA: 9_000}),
    ]
    for args, expected in cases:
        before = owed(project)
        printed = correct(project, *args)
        assert total_line(printed) == sum(expected.values()), printed
        for (kind, ref), units in expected.items():
            assert re.search(rf"^\s+{kind} {ref}\s+GHS\s+{units / 10_000:.4f}$", printed, re.MULTILINE), printed
        price(project)
        assert moved(before, owed(project)) == expected, args
    # Every play as it stands: 1 (100 s), 2 as Kente, 4+5 merged, 6, 7 in two, the added play; 3 voided.
    current = [tuple(r) for r in project.query(
        "SELECT s.station_ref, p.started_at, p.duration_seconds, t.track_ref, p.source, p.version "
        "FROM play_logs p JOIN stations s ON s.id = p.station_id JOIN tracks t ON t.id = p.track_id "
        "WHERE p.status = 'final' ORDER BY s.station_ref, p.started_at")]
    times = [(station, str(at)[:19].replace("T", " "), seconds, track, source, version)
             for station, at, seconds, track, source, version in current]
    assert times == [
        ("JOY", "2026-03-02 12:00:00", 100.0, "T-ODO", "imported", 2),
        ("JOY", "2026-03-03 12:00:00", 100.0, "T-KEN", "imported", 2),
        ("JOY", "2026-03-05 09:58:20", 200.0, "T-KEN", "imported", 2),
        ("JOY", "2026-03-06 09:58:20", 100.0, "T-ODO", "imported", 2),
        ("JOY", "2026-03-06 10:00:00", 100.0, "T-ODO", "imported", 1),
        ("JOY", "2026-03-07 12:00:00", 60.0, "T-KEN", "manual", 1),
        ("PEACE", "2026-03-05 09:58:20", 100.0, "T-KEN", "imported", 1),
    ]
    # 172,500 priced at first; 144,000 stands now: 15,000 + 15,000 + 45,000 + 37,500 + 9,000 + 22,500.
    assert sum(owed(project).values()) == 144_000
    entries = project.query("SELECT actor, action, entity, entity_id, reason, before_json, after_json FROM audit_log "
                            "WHERE action LIKE 'play.%' ORDER BY id")
    assert [(e.actor, e.action, e.entity_id) for e in entries] == [
        ("ama.owusu", "play.retime", "1"), ("ama.owusu", "play.reassign", "2"), ("ama.owusu", "play.void", "3"),
        ("ama.owusu", "play.merge", "4 5"), ("ama.owusu", "play.split", "7"),
        ("ama.owusu", "play.add", entries[5].entity_id)]
    assert entries[0].reason == "station log: faded out at 1:40"
    assert '"duration_seconds":200.0' in entries[0].before_json and '"duration_seconds":100.0' in entries[0].after_json
    assert "JOY playout log 2026-03-07 line 41" in entries[5].after_json


def test_a_correction_after_the_lock_is_an_adjustment_of_the_next_cycle_with_its_reason(project: Project) -> None:
    """March is closed and paid; then play 1 is retimed to 100 s.  April pays the change as adjustments:
    Ama −18,000 (the reversal of her March line) + 9,000 (60 % of 15,000) = −9,000, Sika −12,000 + 6,000
    = −6,000; each of those statement lines says why."""
    build(project)
    folder = project.tmp_path / "cycles"
    run(project, "process-royalty-cycle", "--name", "2026-03", "--from", "2026-03-01", "--to", "2026-03-31",
        "--out", str(folder / "2026-03"))
    reason = "station log: faded out at 1:40"
    printed = correct(project, "retime", "1", "--seconds", "100", "--reason", reason)
    assert "paid by locked cycle 2026-03: the next cycle pays the change as an adjustment" in printed
    price(project)
    run(project, "process-royalty-cycle", "--name", "2026-04", "--from", "2026-04-01", "--to", "2026-04-30",
        "--out", str(folder / "2026-04"))
    items = {(r["recipient_type"], r["recipient"]): r["net"] for r in
             csv.DictReader(io.StringIO((folder / "2026-04" / "statements.csv").read_text()))}
    assert items == {AMA: "-0.90", SIKA: "-0.60"}
    lines = list(csv.DictReader(io.StringIO(
        (folder / "2026-04" / "statements" / "contributor-ama-ghana.GHS.csv").read_text())))
    assert [(ln["kind"], ln["amount"], ln["adjustment"], ln["reason"]) for ln in lines] == [
        ("reversal", "-1.80", "adjustment", f"superseded; correction: {reason}"),
        ("share", "0.90", "adjustment", f"correction: {reason}"),
    ]
    assert lines[0]["seconds"] == "-200.000" and lines[1]["seconds"] == "100.000"
    # March's files are as they were: regenerating them gives the same bytes, and says its inputs are unchanged.
    march = folder / "2026-03" / "statements" / "contributor-ama-ghana.GHS.csv"
    written = march.read_bytes()
    regenerated = run(project, "process-royalty-cycle", "--name", "2026-03", "--regenerate", "--out",
                      str(folder / "2026-03"))
    assert "unchanged since the lock" in regenerated and march.read_bytes() == written


def test_a_dry_run_shows_the_change_and_its_money_and_changes_nothing(project: Project) -> None:
    build(project)
    before = state(project)
    file = write(project, "corrections.csv", (
        "action,play_ids,track_ref,start,seconds,station_ref,evidence,at,reason\n"
        "retime,1,,,100,,,,station log\n"
        "void,3,,,,,,,an advert\n"
        "merge,4 5,,,,,,,one airing\n"
        "split,7,,,,,,2026-03-06T10:00:00Z,two airings\n"
        "add,,T-KEN,2026-03-07T12:00:00Z,60,JOY,playout log,,missed\n"))
    printed = run(project, "correct-plays", "--file", file, "--dry-run")
    totals = [int(t.replace(".", "")) for t in re.findall(r"^\s+total\s+GHS\s+(-?\d+\.\d{4})$", printed, re.M)]
    assert totals == [-15_000, -22_500, 7_500, -7_500, 9_000]
    assert "money it would move" in printed and "dry run: nothing was changed" in printed
    single = correct(project, "reassign", "2", "--track", "T-KEN", "--reason", "misheard", "--dry-run")
    assert total_line(single) == 0
    assert re.search(r"^\s+publisher sika-music\s+GHS\s+-1\.5000$", single, re.MULTILINE), single
    assert state(project) == before


def test_bad_corrections_are_refused_naming_the_play_and_what_to_do(project: Project) -> None:
    build(project)
    before = state(project)
    unknown = correct(project, "void", "999", "--reason", "x", code=1)
    assert "play 999 does not exist; play ids are in the play_id column of bin/export-playlogs" in unknown
    no_reason = run(project, "correct-plays", "void", "1", code=2)
    assert "--reason is required" in no_reason
    across = correct(project, "merge", "4", "6", "--reason", "one airing", code=1)
    assert "merge joins reports of one airing on one station, but play 4 on JOY, play 6 on PEACE" in across
    unexpected = correct(project, "void", "1", "--seconds", "10", "--reason", "x", code=2)
    assert "void takes no --seconds" in unexpected
    outside = correct(project, "split", "7", "--at", "2026-03-06T12:00:00Z", "--reason", "x", code=1)
    assert "is not inside play 7" in outside
    no_offset = correct(project, "retime", "1", "--start", "2026-03-02T12:00:00", "--reason", "x", code=2)
    assert "--start '2026-03-02T12:00:00' has no UTC offset" in no_offset
    unknown_track = correct(project, "reassign", "1", "--track", "T-NOPE", "--reason", "x", code=1)
    assert "track 'T-NOPE' is not in the catalog" in unknown_track
    assert state(project) == before  # nothing refused left a trace
    correct(project, "retime", "1", "--seconds", "100", "--reason", "station log")
    superseded = correct(project, "void", "1", "--reason", "x", code=1)
    current = project.scalar("SELECT id FROM play_logs WHERE status = 'final' AND supersedes_id = 1")
    assert "play 1 is superseded since" in superseded
    assert f"its current version is play {current} (version 2); correct play {current} instead" in superseded
    correct(project, "void", "3", "--reason", "an advert")
    voided = correct(project, "retime", "3", "--seconds", "10", "--reason", "x", code=1)
    assert "play 3 is superseded" in voided and "by a correction (play.void" in voided


def test_a_file_of_corrections_refuses_bad_rows_by_line_and_makes_the_others_once(project: Project) -> None:
    """Each row is a transaction of its own: lines 3, 5 and 6 are refused, 2 and 4 made; run again, the
    two made are skipped (applied already) and nothing is booked twice."""
    build(project)
    file = write(project, "corrections.csv", (
        "action,play_ids,track_ref,isrc,seconds,reason\n"
        "retime,1,,,100,station log: faded out at 1:40\n"
        "void,999,,,,no such play\n"
        "void,3,,,,an advert\n"
        "void,2,,,,\n"
        "reassign,2,,NOT-AN-ISRC,,x\n"))
    first = run(project, "correct-plays", "--file", file, code=1)
    assert f"{file} line 3: play 999 does not exist" in first
    assert f"{file} line 5: a manual change needs a reason" in first
    assert f"{file} line 6: --isrc" not in first and f"{file} line 6: isrc 'NOT-AN-ISRC'" in first
    assert "2 ok, 3 failed, 0 skipped" in first
    assert project.scalar("SELECT count(*) FROM audit_log WHERE action LIKE 'play.%'") == 2
    again = run(project, "correct-plays", "--file", file, code=1)
    assert "0 ok, 3 failed, 2 skipped" in again and "applied already" in again
    assert project.scalar("SELECT count(*) FROM audit_log WHERE action LIKE 'play.%'") == 2
    price(project)
    # retime 1: −15,000 (Ama −9,000, Sika −6,000); void 3: −22,500 from Efua.
    assert moved(PRICED, owed(project)) == {AMA: -9_000, SIKA: -6_000, EFUA: -22_500}


def test_the_audit_log_cannot_be_changed_or_deleted(project: Project) -> None:
    build(project)
    correct(project, "void", "3", "--reason", "an advert")
    entries = project.query("SELECT * FROM audit_log ORDER BY id")
    assert entries and entries[-1].action == "play.void" and entries[-1].reason == "an advert"
    statements = ["UPDATE audit_log SET reason = 'nothing happened'", "DELETE FROM audit_log"]
    if not project.is_sqlite:
        statements.append("TRUNCATE audit_log CASCADE")  # plays refer to it: plain TRUNCATE is refused anyway
    for statement in statements:
        with pytest.raises(Exception, match="audit_log is append-only"):
            project.execute(statement)
    run(project, "cleanup-old-data", "--captures-days", "1", "--detections-days", "1", "--job-runs-days", "1",
        "--emails-days", "1")
    assert project.query("SELECT * FROM audit_log ORDER BY id") == entries


def test_a_partner_sending_a_corrected_play_again_does_not_undo_the_correction(project: Project) -> None:
    """A partner's row with its own reference, corrected by hand (100 s), then sent again unchanged (200 s):
    the correction stands, and its money with it (15,000)."""
    build(project)
    partner = write(project, "partner.csv", "station_ref,started_at,duration_seconds,track_ref,import_ref\n"
                                            "JOY,2026-03-09T12:00:00Z,200,T-KEN,R-1\n")
    run(project, "import-playlogs", partner, "--source", "radiomonitor")
    play = project.scalar("SELECT id FROM play_logs WHERE import_ref = 'radiomonitor:R-1'")
    correct(project, "retime", str(play), "--seconds", "100", "--reason", "station log")
    again = run(project, "import-playlogs", partner, "--source", "radiomonitor")
    assert "1 kept as corrected by hand" in again
    price(project)
    assert project.query("SELECT duration_seconds, version FROM play_logs WHERE import_ref = 'radiomonitor:R-1' "
                         "AND status = 'final'") == [(100.0, 2)]
    assert owed(project)[EFUA] == PRICED[EFUA] + 15_000
