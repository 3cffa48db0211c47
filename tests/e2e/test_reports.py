"""bin/generate-analytics-report on real SQLite and PostgreSQL: files, figures, escaping, spreadsheet safety."""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests import money_world
from tests.e2e.test_cache import count_plays, reading
from tests.money_world import AMA, APRIL, EFUA, MARCH, SIKA, figures
from tests.support import Project
from tests.world import STATION_NAMES, fixed_world
from zamio.db.tables import play_logs
from zamio.files.csvwrite import safe_value as safe_cell

NOT_YET = "not yet in a cycle"

VOID = {"meta", "br", "img", "hr", "input", "link", "rect", "line", "path", "circle"}


class StrictTree(HTMLParser):
    """Fails on a closing tag that does not match the open one; records every tag seen."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.tags: set[str] = set()
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs) -> None:
        self.tags.add(tag)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs) -> None:
        self.tags.add(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1] if self.stack else None}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse_html(path: Path) -> StrictTree:
    tree = StrictTree()
    tree.feed(path.read_text(encoding="utf-8"))
    tree.close()
    assert tree.stack == [], f"unclosed: {tree.stack}"
    return tree


def rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


@pytest.fixture
def world(project: Project) -> Project:
    fixed_world(project, datetime.now(UTC) - timedelta(days=1))
    return project


def report(project: Project, *args: str) -> tuple[dict, Path]:
    out = project.tmp_path / "reports"
    result = project.script("generate-analytics-report", *args, "--out", str(out))
    assert result.returncode == 0, result.stderr
    json_path = next(Path(line) for line in result.stdout.splitlines() if line.endswith(".json"))
    return json.loads(json_path.read_text()), json_path


def test_station_report_in_local_time_with_escaped_names(world: Project) -> None:
    first, last = date.today() - timedelta(days=20), date.today() - timedelta(days=1)
    doc, json_path = report(world, "--type", "station", "--ref", "SCR", "--from", str(first), "--to", str(last))
    assert len(list(json_path.parent.glob("station-SCR-*"))) == 9  # 7 CSV sections, JSON, HTML
    zone = ZoneInfo("Africa/Lagos")
    since = datetime.combine(first, datetime.min.time(), zone)
    until = datetime.combine(last + timedelta(days=1), datetime.min.time(), zone)
    with reading(world) as conn:
        expected = count_plays(conn, since, until, play_logs.c.station_id == 2)
        for day in doc["plays_by_day"][:5]:
            start = datetime.combine(date.fromisoformat(day["date"]), datetime.min.time(), zone)
            assert day["plays"] == count_plays(conn, start, start + timedelta(days=1), play_logs.c.station_id == 2)
    assert doc["totals"]["plays"] == expected == sum(h["plays"] for h in doc["plays_by_hour"]) > 0
    assert doc["report"]["timezone"] == "Africa/Lagos" and doc["report"]["name"] == STATION_NAMES[2]
    assert sum(b["detections"] for b in doc["confidence"]["bins"]) > 0
    tree = parse_html(json_path.with_suffix(".html"))
    assert "script" not in tree.tags and "svg" in tree.tags
    assert STATION_NAMES[2] in "".join(tree.text)  # shown as text, not run


def test_platform_csv_is_safe_in_a_spreadsheet(world: Project) -> None:
    doc, json_path = report(world, "--type", "platform", "--from", str(date.today() - timedelta(days=40)),
                            "--to", str(date.today()))
    base = str(json_path)[: -len(".json")]
    stations = {r[2]: r for r in rows(Path(base + ".top-stations.csv"))[1:]}
    assert "'" + STATION_NAMES[3] in stations and STATION_NAMES[3] not in stations
    artists = {r[2] for r in rows(Path(base + ".top-tracks.csv"))[1:]}
    assert "'-Kofi" in artists
    titles = {r[1] for r in rows(Path(base + ".top-tracks.csv"))[1:]}
    assert "'+Coast" in titles
    by_day = rows(Path(base + ".plays-by-day.csv"))
    assert by_day[0] == ["date", "plays", "seconds"] and all(r[1].isdigit() for r in by_day[1:])  # numbers stay numbers
    assert rows(Path(base + ".earnings.csv")) == [["cycle", "recipient_type", "recipient", "kind", "currency", "amount",
                                                   "amount_units", "plays"]]  # nothing was priced: no money
    assert safe_cell("@SUM(A1)") == "'@SUM(A1)" and safe_cell(-3) == -3 and safe_cell("Ama") == "Ama"
    parse_html(Path(base + ".html"))


def test_artist_and_publisher_earnings_are_what_the_cycles_pay(project: Project) -> None:
    money_world.build(project)
    spring = ("--from", "2026-03-01", "--to", "2026-05-31", "--format", "json,csv")
    ama, json_path = report(project, "--type", "artist", "--ref", "ama-ghana", *spring)
    # As contributor on Odo (March 18,000; April's pool 300,000) and through Sika Music for her alone in March
    # (Harmattan 22,500 + her Sunrise half 9,225): the arithmetic is in tests/money_world.py.
    assert figures(ama["earnings"], NOT_YET) == AMA
    assert ama["totals"]["earnings"] == [{"currency": "GHS", "amount_units": 18_000 + 31_725 + 300_000,
                                          "amount": "34.97"}]
    assert rows(Path(str(json_path)[: -len(".json")] + ".earnings.csv"))[1:] == [
        [MARCH, "contributor", "ama-ghana", "", "GHS", "1.80", "18000", "1"],
        [MARCH, "publisher", "sika-music", "", "GHS", "3.17", "31725", "2"],
        [APRIL, "contributor", "ama-ghana", "", "GHS", "30.00", "300000", "1"]]
    efua, _ = report(project, "--type", "artist", "--ref", "efua-mensah", *spring)
    assert figures(efua["earnings"], NOT_YET) == EFUA  # April's per-second 22,500 was a weight: not shown
    sika, _ = report(project, "--type", "publisher", "--ref", "sika-music", *spring)
    assert figures(sika["earnings"], NOT_YET) == SIKA
    march, _ = report(project, "--type", "artist", "--ref", "efua-mensah", "--from", "2026-03-01", "--to", "2026-03-31",
                      "--format", "json")
    assert figures(march["earnings"], NOT_YET) == {(MARCH, "artist", "efua-mensah"): 15_750}  # plays aired in March


def test_station_earnings_per_cycle_and_kind_count_a_pool_cycle_once(project: Project) -> None:
    money_world.build(project)
    doc, _ = report(project, "--type", "station", "--ref", "JOY", "--from", "2026-03-01", "--to", "2026-05-31",
                    "--format", "json")
    found = {(r["cycle"], r["kind"]): (r["amount_units"], r["plays"]) for r in doc["earnings"]}
    assert found == {
        (MARCH, "share"): (30_000 + 22_500 + 15_750 + 18_450, 4),  # Odo, Harmattan, Kente, Sunrise
        (MARCH, "suspense"): (12_000, 1),
        (APRIL, "share"): (500_000 + 375_000, 2),  # the fee's parts, not the weights' 30,000 + 22,500
        (APRIL, "suspense"): (125_000, 1),
        (NOT_YET, "share"): (15_000, 1),
    }
    assert doc["totals"]["earnings"][0]["amount"] == "111.37"  # 98,700 + 1,000,000 + 15,000 units


def test_last_30_days_report_matches_the_warm_cache(world: Project) -> None:
    assert world.script("warm-cache", "--only", "artist").returncode == 0
    with reading(world) as conn:
        cached = json.loads(conn.exec_driver_sql("SELECT value FROM cache_entries WHERE key = 'artist:1'").scalar())
    window = cached["window"]
    doc, _ = report(world, "--type", "artist", "--ref", "1", "--from", window["from"], "--to", window["to"],
                    "--format", "json")
    assert doc["report"]["sources"]["plays_by_day"].startswith("cache artist:1")
    assert doc["plays_by_day"] == cached["plays_by_day"]


def test_dry_run_writes_nothing_and_unknown_refs_are_usage_errors(world: Project) -> None:
    out = world.tmp_path / "nothing"
    dry = world.script("generate-analytics-report", "--type", "publisher", "--ref", "pub-one-co", "--dry-run",
                       "--out", str(out))
    assert dry.returncode == 0 and "would write" in dry.stderr and not out.exists()
    missing = world.script("generate-analytics-report", "--type", "station", "--ref", "NOPE")
    assert missing.returncode == 2 and "no station with ref or id 'NOPE'" in missing.stderr
    assert world.script("generate-analytics-report", "--type", "artist").returncode == 2
    pdf = world.script("generate-analytics-report", "--type", "platform", "--format", "json,pdf", "--out", str(out))
    assert pdf.returncode == 2 and "--format takes a list of csv, json, html; got 'json,pdf'" in pdf.stderr
    assert not out.exists()
