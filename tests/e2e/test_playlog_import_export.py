"""bin/import-playlogs and bin/export-playlogs on real databases: idempotent, never double-billed, safe CSV."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.support import Project
from tests.world import T0, CaptureWorld
from zamio.files.csvwrite import safe_value as spreadsheet_safe

HEADER = "station_ref,started_at,duration_seconds,track_ref,isrc,title,artist,source,confidence,import_ref\n"


@pytest.fixture
def world(project: Project) -> CaptureWorld:
    w = CaptureWorld(project)
    w.track("A", isrc="GHA012600001")
    w.track("B")
    w.station("joy")
    w.station("peace")
    return w


def write(project: Project, name: str, text: str) -> str:
    path = project.tmp_path / name
    path.write_text(text)
    return str(path)


def test_import_loads_good_rows_reports_bad_ones_and_is_idempotent(world: CaptureWorld):
    path = write(world.project, "reported.csv", HEADER + "\n".join([
        "joy,2026-03-02T10:00:00Z,180,A,,,,radiomonitor,0.9,r1",
        "joy,2026-03-02T10:05:00+01:00,200,,GH-A01-26-00009,Other,Band,,,",
        "peace,2026-03-02T10:00:00,180,A,,,,,,",  # no UTC offset
        "nowhere,2026-03-02T10:00:00Z,180,A,,,,,,",
        "joy,2026-03-02T11:00:00Z,abc,A,,,,,,",
        "joy,2026-03-02T11:00:00Z,180,,,,,,,",  # no recording
        "peace,2026-03-02T12:00:00Z,90,B,,=HYPERLINK(\"x\"),,,,",
    ]) + "\n")
    first = world.project.script("import-playlogs", path)
    assert first.returncode == 1
    for line, words in ((4, "no UTC offset"), (5, "not a known station"), (6, "duration_seconds"),
                        (7, "names no recording")):
        assert f"line {line}" in first.stderr and words in first.stderr
    assert "3 plays added" in first.stderr
    plays = world.plays()
    assert {(p.station_ref, p.isrc, p.source, p.status) for p in plays} == {
        ("joy", "GHA012600001", "imported", "final"), ("joy", "GHA012600009", "imported", "final"),
        ("peace", None, "imported", "final")}
    assert {p.import_ref for p in plays} == {"radiomonitor:r1", "imported"}
    again = world.project.script("import-playlogs", path)
    assert "0 plays added" in again.stderr and "3 already imported" in again.stderr
    assert len(world.plays()) == 3
    missing = world.project.script("import-playlogs", str(world.project.tmp_path / "absent.csv"))
    assert missing.returncode == 65
    bad = write(world.project, "bad.csv", "station_ref,started_at\njoy,2026-03-02T10:00:00Z\n")
    result = world.project.script("import-playlogs", bad)
    assert result.returncode == 65 and "duration_seconds" in result.stderr


def test_numbers_and_times_beyond_their_bounds_are_refused_by_line_and_the_rest_loads(world: CaptureWorld):
    now = datetime.now(UTC)
    soon, too_late = (f"{now + timedelta(hours=h):%Y-%m-%dT%H:%M:%SZ}" for h in (23, 49))
    path = write(world.project, "bounds.csv", HEADER + "\n".join([
        'joy,2026-03-02T10:00:00Z,"180,5",A,,,,,"87,5",r1',  # a decimal comma, a 0..100 score
        "joy,9999-12-31T23:59:00Z,180,A,,,,,,r2",  # ended beyond the calendar: it stopped the whole file
        "joy,0001-01-01T00:30:00+01:00,180,A,,,,,,r3",  # before the calendar in UTC: the same
        "joy,1969-12-31T23:59:59Z,180,A,,,,,,r4",
        f"joy,{too_late},180,A,,,,,,r5",
        f"joy,{soon},180,A,,,,,,r6",  # a device clock ahead by less than a day: kept
        "joy,2026-03-02T11:00:00Z,-5,A,,,,,,r7",
        "joy,2026-03-02T11:05:00Z,21601,A,,,,,,r8",
        "joy,2026-03-02T11:10:00Z,180.0004,A,,,,,,r9",
        "joy,2026-03-02T11:15:00Z,180,A,,,,,150,r10",
        'joy,2026-03-02T11:20:00Z,"1,234.5",A,,,,,,r11',
        "joy,2026-03-02T11:25:00Z,180,A,,,,,0.1234567,r12",
        "peace,2026-03-02T11:30:00Z,200,B,,,,,0.9,r13",
    ]) + "\n")
    result = world.project.script("import-playlogs", path)
    assert result.returncode == 1, result.stderr
    times = "is outside the accepted range 1970-01-01T00:00:00Z to "
    expected = {3: f"started_at '9999-12-31T23:59:00Z' {times}", 4: f"started_at '0001-01-01T00:30:00+01:00' {times}",
                5: f"started_at '1969-12-31T23:59:59Z' {times}", 6: f"started_at '{too_late}' {times}",
                8: "duration_seconds -5 is below the minimum 0; the accepted range is 0 to 21600",
                9: "duration_seconds 21601 is above the maximum 21600; the accepted range is 0 to 21600",
                10: "duration_seconds '180.0004' has 4 decimal places; a duration in seconds keeps 3",
                11: "confidence 150 is above the maximum 100; the accepted range is 0 to 100",
                12: "duration_seconds '1,234.5' has a thousands separator",
                13: "confidence '0.1234567' has more decimal places than pricing keeps: at most 6 on the 0..1 scale"}
    lines = result.stderr.splitlines()
    for line, words in expected.items():
        assert any(f"bounds.csv line {line}: {words}" in row for row in lines), (line, words)
    assert "3 plays added" in result.stderr and "10 rows rejected" in result.stderr
    stored = {p.import_ref: p for p in world.plays()}
    assert sorted(stored) == ["imported:r1", "imported:r13", "imported:r6"]
    assert (stored["imported:r1"].duration_seconds, stored["imported:r1"].confidence_avg) == (180.5, 87.5)


def test_play_times_given_on_the_command_line_are_bounded(tmp_path):
    project = Project(f"sqlite:///{tmp_path / 'zamio.db'}", tmp_path)
    project.migrate()
    convert = project.script("convert-matches", "--as-of", "9999-12-31T00:00:00Z")
    assert convert.returncode == 2 and "--as-of: '9999-12-31T00:00:00Z' is outside the accepted range" in convert.stderr
    detect = project.script("detect-audio", "--record", "--station", "joy", "--at", "1969-07-20T20:17:00Z",
                            str(tmp_path / "clip.mp3"))
    assert detect.returncode == 2 and "--at '1969-07-20T20:17:00Z' is outside the accepted range" in detect.stderr


def test_option_values_a_job_cannot_use_are_usage_errors(tmp_path):
    project = Project(f"sqlite:///{tmp_path / 'zamio.db'}", tmp_path)
    project.migrate()
    export = project.script("export-playlogs", "--from", "2026-03-02", "--to", "2026-03-01")
    assert export.returncode == 2 and "--to 2026-03-01 is before --from 2026-03-02" in export.stderr
    few_rows = project.script("convert-matches", "--batch-rows", "9")
    assert few_rows.returncode == 2 and "--batch-rows >= 10" in few_rows.stderr
    no_attempt = project.script("convert-matches", "--max-attempts", "0")
    assert no_attempt.returncode == 2 and "--max-attempts >= 1" in no_attempt.stderr
    unknown = project.script("convert-matches", "--station", "nowhere-fm")
    assert unknown.returncode == 2 and "unknown station(s): nowhere-fm" in unknown.stderr


def test_an_imported_play_of_a_detected_airing_is_never_billed_twice(world: CaptureWorld):
    # Detected first: A on joy from 11:59:30.
    world.programme("joy", [("A", -30, 240)], T0, 3)
    assert world.convert().returncode == 0
    (detected,) = world.plays()
    path = write(world.project, "station-log.csv", HEADER + "joy,2026-03-02T12:00:00Z,240,A,,,,station,,\n")
    assert world.project.script("import-playlogs", path).returncode == 0
    (duplicate,) = world.plays("duplicate")
    assert duplicate.duplicate_of == detected.id and len(world.plays()) == 1
    # Imported first: B on peace, then its detections arrive and are converted.  Whoever
    # reports an airing first bills it: the detected play is kept as the duplicate.
    path = write(world.project, "partner.csv", HEADER + "peace,2026-03-02T12:00:20Z,240,B,,,,partner,,\n")
    assert world.project.script("import-playlogs", path).returncode == 0
    world.programme("peace", [("B", 0, 240)], T0 + timedelta(seconds=5), 3)
    result = world.convert()
    assert result.returncode == 0 and "1 already billed from another report" in result.stderr
    (imported,) = [p for p in world.plays() if p.station_ref == "peace"]
    (detected_copy,) = [p for p in world.plays("duplicate") if p.station_ref == "peace"]
    assert imported.source == "imported" and detected_copy.source == "local"
    assert detected_copy.duplicate_of == imported.id and detected_copy.detection_count == 2
    assert world.plays("superseded") == []
    # The converter knows its duplicate play: running again stores nothing more.
    again = world.convert()
    assert again.returncode == 0 and len(world.plays("duplicate")) == 2 and world.plays("superseded") == []


def test_export_csv_json_and_jsonl(world: CaptureWorld):
    world.programme("joy", [("A", -30, 240)], T0, 3)
    assert world.convert().returncode == 0
    path = write(world.project, "reported.csv", HEADER + "\n".join([
        "peace,2026-03-02T12:00:00Z,90,,GHA012600077,=cmd|' /C calc'!A0,-Band,,,",
        "peace,2026-03-03T00:00:00Z,90,B,,,,,,",  # the next day: outside the range
    ]) + "\n")
    assert world.project.script("import-playlogs", path).returncode == 0
    out = world.project.tmp_path / "plays.csv"
    result = world.project.script("export-playlogs", "--from", "2026-03-02", "--to", "2026-03-02", "--out", str(out))
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [(r["station_ref"], r["track_ref"]) for r in rows] == [("joy", "A"), ("peace", "")]
    joy, peace = rows
    assert joy["started_at"] == "2026-03-02T11:59:30Z" and joy["ended_at"] == "2026-03-02T12:03:30Z"
    assert (joy["duration_seconds"], joy["source"], joy["detections"], joy["end_estimated"]) == (
        "240.0", "local", "2", "true")
    assert peace["title"] == "'=cmd|' /C calc'!A0" and peace["artist"] == "'-Band"
    lines = world.project.script("export-playlogs", "--from", "2026-03-02", "--to", "2026-03-03", "--station",
                                 "peace", "--format", "jsonl").stdout.splitlines()
    assert [json.loads(line)["started_at"] for line in lines] == ["2026-03-02T12:00:00Z", "2026-03-03T00:00:00Z"]
    array = json.loads(world.project.script("export-playlogs", "--from", "2026-03-02", "--to", "2026-03-02",
                                            "--format", "json").stdout)
    assert [r["title"] for r in array] == ["Song A", "=cmd|' /C calc'!A0"]  # JSON is data, not a spreadsheet
    backwards = world.project.script("export-playlogs", "--from", "2026-03-03", "--to", "2026-03-02")
    assert backwards.returncode == 2


def test_spreadsheet_safe_cells():
    assert spreadsheet_safe("=1+1") == "'=1+1" and spreadsheet_safe("@SUM(A1)") == "'@SUM(A1)"
    assert spreadsheet_safe("+233") == "'+233" and spreadsheet_safe("\tx") == "'\tx"
    assert spreadsheet_safe("Kente Dreams") == "Kente Dreams" and spreadsheet_safe(-1.5) == -1.5
    assert spreadsheet_safe(None) == "" and spreadsheet_safe(True) == "true"


def test_as_of_must_carry_an_offset(tmp_path):
    result = Project(f"sqlite:///{tmp_path / 'unused.db'}", tmp_path).script(
        "convert-matches", "--as-of", "2026-03-02T12:00:00")
    assert result.returncode == 2 and "--as-of" in result.stderr
