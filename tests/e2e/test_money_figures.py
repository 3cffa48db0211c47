"""One closed per-second cycle and one closed pool cycle: statements.csv, cycle_line_items, the warm-cache
dashboards and the analytics reports show every recipient the same money, to the minor unit.

The world is made by the real jobs and its money computed by hand in ``tests.money_world``.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from tests import money_world
from tests.e2e.test_cache import read_value
from tests.money_world import APRIL, MARCH, PAID, SUSPENSE_ACCOUNT, entity_id
from tests.support import Project

#: statements.csv's net column, by hand: units ÷ 100 rounded half-even to pesewas (43,725 → 437.25 → 4.37;
#: 15,750 → 157.5 → 158 → 1.58; 9,225 → 92.25 → 0.92).  Yaw Tetteh is paid 0.92 of his 9,225 units in March and
#: the 25 below a pesewa are carried forward; no line pays him in April, where they are brought forward and carried
#: again: his April statement is that balance alone, a row of zeros.
NET_TEXT = {
    MARCH: {("contributor", "ama-ghana"): "1.80", ("publisher", "sika-music"): "4.37",
            ("artist", "efua-mensah"): "1.58", ("contributor", "yaw-tetteh"): "0.92",
            ("suspense", SUSPENSE_ACCOUNT): "1.20"},
    APRIL: {("contributor", "ama-ghana"): "30.00", ("publisher", "sika-music"): "20.00",
            ("artist", "efua-mensah"): "37.50", ("contributor", "yaw-tetteh"): "0.00",
            ("suspense", SUSPENSE_ACCOUNT): "12.50"},
}
#: Whose page shows a recipient's statement: an artist's and a publisher's own, and the artist whose
#: contributor party it is (Ama Ghana, paid as contributor on her own song Odo).
PAGES = {("artist", "efua-mensah"): ("artist", "efua-mensah"), ("publisher", "sika-music"): ("publisher", "sika-music"),
         ("contributor", "ama-ghana"): ("artist", "ama-ghana")}


def statement_nets(project: Project, cycle: str) -> dict[tuple[str, str], str]:
    text = (money_world.cycle_folder(project, cycle) / "statements.csv").read_text()
    return {(r["recipient_type"], r["recipient"]): r["net"] for r in csv.DictReader(io.StringIO(text))}


def line_item_nets(project: Project, cycle: str) -> dict[tuple[str, str], int]:
    rows = project.query("SELECT i.recipient_type, i.recipient_ref, i.net FROM cycle_line_items i "
                         "JOIN royalty_cycles c ON c.id = i.cycle_id WHERE c.name = :name", name=cycle)
    return {(kind, ref): int(net) for kind, ref, net in rows}


def report_earnings(project: Project, kind: str, ref: str) -> list[dict]:
    out = project.tmp_path / "reports"
    result = project.script("generate-analytics-report", "--type", kind, "--ref", ref, "--from", "2026-03-01",
                            "--to", "2026-05-31", "--format", "json", "--out", str(out))
    assert result.returncode == 0, result.stderr
    return json.loads(Path(result.stdout.strip()).read_text())["earnings"]


def shown(rows: list[dict], cycle: str, recipient: tuple[str, str]) -> tuple[int, str] | None:
    found = [(r["amount_units"], r["amount"]) for r in rows
             if r["cycle"] == cycle and (r["recipient_type"], r["recipient"]) == recipient]
    assert len(found) <= 1, found
    return found[0] if found else None


def test_statements_line_items_dashboards_and_reports_agree_to_the_minor_unit(project: Project) -> None:
    money_world.build(project)
    assert project.script("warm-cache").returncode == 0
    pages = {page: (read_value(project, f"{page[0]}:{entity_id(project, *page)}")["earnings_by_cycle"],
                    report_earnings(project, *page)) for page in set(PAGES.values())}
    for cycle in (MARCH, APRIL):
        items, statements = line_item_nets(project, cycle), statement_nets(project, cycle)
        assert items == PAID[cycle] and statements == NET_TEXT[cycle], cycle
        for recipient, page in PAGES.items():
            dashboard, report = pages[page]
            paid = (items[recipient], statements[recipient])
            assert shown(dashboard, cycle, recipient) == paid, (cycle, recipient, "dashboard")
            assert shown(report, cycle, recipient) == paid, (cycle, recipient, "report")
    held = read_value(project, "platform:overview")["suspense"]
    suspense = ("suspense", SUSPENSE_ACCOUNT)
    assert held == [{"currency": "GHS", "amount_units": PAID[MARCH][suspense] + PAID[APRIL][suspense],
                     "amount": "13.70", "entries": 2}]  # 1.20 + 12.50
