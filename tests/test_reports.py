"""bin/generate-analytics-report on real SQLite and PostgreSQL: files, figures, escaping, spreadsheet safety."""

from __future__ import annotations

import csv
import json
from datetime import date, datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from tests.support import Project
from tests.test_cache import STATION_NAMES, count_plays, reading, seed
from zamio.csvwrite import safe_value as safe_cell
from zamio.tables import play_logs, royalty_cycles, royalty_ledger

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
    seed(project.engine, datetime.now(timezone.utc) - timedelta(days=1))
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
    earnings = {r[0]: r for r in rows(Path(base + ".earnings.csv"))[1:]}
    assert earnings["reversal"][2] == "-0.5055"  # numbers stay numbers
    assert safe_cell("@SUM(A1)") == "'@SUM(A1)" and safe_cell(-3) == -3 and safe_cell("Ama") == "Ama"
    parse_html(Path(base + ".html"))


def test_artist_earnings_equal_the_ledger(world: Project) -> None:
    doc, _ = report(world, "--type", "artist", "--ref", "A1", "--from", str(date.today() - timedelta(days=60)),
                    "--to", str(date.today()), "--format", "json")
    with reading(world) as conn:
        expected = dict(conn.execute(
            select(func.coalesce(royalty_cycles.c.name, "not yet in a cycle"), func.sum(royalty_ledger.c.amount))
            .select_from(royalty_ledger.outerjoin(royalty_cycles, royalty_cycles.c.id == royalty_ledger.c.cycle_id))
            .where(royalty_ledger.c.recipient_ref == "A1", royalty_ledger.c.kind != "ineligible")
            .group_by(royalty_cycles.c.name)).all())
    assert {r["group"]: r["amount_units"] for r in doc["earnings"]} == expected == {"2026-Q1": 125_000,
                                                                                   "not yet in a cycle": 7_000}


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
    dry = world.script("generate-analytics-report", "--type", "publisher", "--ref", "P1", "--dry-run", "--out", str(out))
    assert dry.returncode == 0 and "would write" in dry.stderr and not out.exists()
    missing = world.script("generate-analytics-report", "--type", "station", "--ref", "NOPE")
    assert missing.returncode == 2 and "no station with ref or id 'NOPE'" in missing.stderr
    assert world.script("generate-analytics-report", "--type", "artist").returncode == 2
