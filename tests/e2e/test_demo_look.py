"""The demo's look at a statement (``zamio.demo.look``): headless Chromium reads the page a payee receives, its
first screen is photographed, and every figure is compared with the ledger, read apart from the statement's code.

The world is README's "Paying a cycle" example, March and April closed (tests/e2e/test_statement_payouts.py):
GHS 0.015 a second; the society keeps 10 %; tax 10 % (resident) or 20 % (non-resident); MIN_PAYOUT GHS 2.00.
Amounts are units of GHS 0.0001.
"""

from __future__ import annotations

import shutil
import struct
from dataclasses import replace
from pathlib import Path

import pytest

from tests.e2e.test_payouts import APRIL, MARCH
from tests.e2e.test_report_layout import chromium
from tests.e2e.test_statement_payouts import AMA, SIKA, march_and_april
from tests.support import Project, migrated_sqlite_url
from zamio.demo.look import MINUTE_OF_READING, SCREEN_HEIGHT, SCREEN_WIDTH, Ledger, ledger_figures, look

# Sika Music's April (pool): the fee GHS 10.00 over two plays of 100 s, 50,000 each; Harmattan (Kojo) is its work.
# 50,000 − 5,000 − 4,500 = 40,500, and March's 14,945 brought forward: 55,445, paid 55,400.
SIKA_APRIL = Ledger(50_000, 40_500, 55_400, {("Harmattan", "Kojo"): (1, 50_000)})


@pytest.fixture
def paid(tmp_path: Path) -> Project:
    chromium()  # skipped or failed before building anything
    project = Project(migrated_sqlite_url(tmp_path / "zamio.db"), tmp_path)
    project.var_dir.mkdir(parents=True, exist_ok=True)
    march_and_april(project)
    return project


def copy(project: Project, to: str, change: tuple[str, str] | None = None) -> Path:
    """Sika Music's April page copied into ``to``, with one piece of its text changed."""
    page = project.tmp_path / to / f"{SIKA}.html"
    page.parent.mkdir()
    shutil.copyfile(project.tmp_path / "cycles" / APRIL / "statements" / f"{SIKA}.html", page)
    if change is not None:
        before = page.read_text(encoding="utf-8")
        assert change[0] in before
        page.write_text(before.replace(change[0], change[1], 1), encoding="utf-8")
    return page


def test_the_ledger_figures_of_a_per_second_and_a_pool_cycle(paid: Project) -> None:
    with paid.engine.connect() as conn:
        # March, per second: Ama 200 s × 0.015 = 30,000; commission 3,000; tax 20 % of 27,000 = 5,400: 21,600,
        # all of it payable.  Sika 123 s = 18,450; 1,845 and 10 % of 16,605 = 1,660 (half-even): 14,945, below
        # GHS 2.00: nothing payable.
        assert ledger_figures(conn, MARCH, "artist", "ama-ghana", "GHS") == Ledger(
            30_000, 21_600, 21_600, {("Odo", "Ama Ghana"): (1, 30_000)})
        assert ledger_figures(conn, MARCH, "publisher", "sika-music", "GHS") == Ledger(
            18_450, 14_945, 0, {("Harmattan", "Kojo"): (1, 18_450)})
        # April, pool: SIKA_APRIL.  Efua has nothing in April.
        assert ledger_figures(conn, APRIL, "publisher", "sika-music", "GHS") == SIKA_APRIL
        assert ledger_figures(conn, APRIL, "artist", "efua-mensah", "GHS") == Ledger(0, 0, None, {})


def test_a_statement_read_in_a_minute_and_equal_to_the_ledger(paid: Project) -> None:
    page = copy(paid, "look")
    seen = look(page, SIKA_APRIL, "GHS", page.parent)
    assert seen.problems == [] and seen.ok, seen.problems
    assert 30 < seen.words <= MINUTE_OF_READING, seen.words
    assert seen.screenshot is not None
    data = seen.screenshot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", data[16:24]) == (SCREEN_WIDTH, SCREEN_HEIGHT)
    assert len(data) > 20_000, f"{seen.screenshot} is only {len(data)} bytes: nothing drawn?"


def test_a_figure_off_by_a_pesewa_or_a_summary_pushed_down_is_told(paid: Project) -> None:
    forged = copy(paid, "forged", ('id="net">5.54<', 'id="net">5.55<'))
    seen = look(forged, SIKA_APRIL, "GHS", forged.parent, screenshot=False)
    assert seen.problems == ["the net payable shows 5.55, the ledger 5.54",
                             "the summary's lines add up to 5.54, not to its 'Net payable' 5.55"]

    # The same page against a ledger whose gross and net differ by a unit more than a pesewa's half: 50,050 is
    # 5.005, 5.00 half-even; 50,051 is 5.01.
    seen = look(copy(paid, "exact"), replace(SIKA_APRIL, gross=50_051), "GHS", paid.tmp_path / "exact",
                screenshot=False)
    assert seen.problems == ["the works total shows 5.00, the ledger 5.01"]
    # A work is within a pesewa of its lines, and shows as many plays: 5.00 against 5.0100 or two plays is told.
    for works in ({("Harmattan", "Kojo"): (1, 50_100)}, {("Harmattan", "Kojo"): (2, 50_000)}):
        plays, units = works["Harmattan", "Kojo"]
        seen = look(copy(paid, f"works-{plays}-{units}"), replace(SIKA_APRIL, works=works), "GHS",
                    paid.tmp_path / f"works-{plays}-{units}", screenshot=False)
        assert seen.problems == [f"the work 'Harmattan' shows 1 plays and 5.00, the ledger {plays} plays and "
                                 f"{units / 10_000:.4f}"]
    seen = look(copy(paid, "other"), replace(SIKA_APRIL, works={("Odo", "Ama Ghana"): (1, 50_000)}), "GHS",
                paid.tmp_path / "other", screenshot=False)
    assert seen.problems == ["the work 'Harmattan' (Kojo) is paid by no line of the ledger",
                             "the work 'Odo' (Ama Ghana) of the ledger is not on the page"]

    # A banner a screen high above the letterhead: the figures are right, but nobody finds them at a glance.
    pushed = copy(paid, "pushed", ("<body>", f'<body><div style="height:{SCREEN_HEIGHT}px"></div>'))
    seen = look(pushed, SIKA_APRIL, "GHS", pushed.parent, screenshot=False)
    assert [p.split(" (")[0] for p in seen.problems] == [
        f"the {part} is below the first screen" for part in ("letterhead", "recipient", "period", "summary",
                                                             "net payable")]


def test_a_statement_of_a_balance_alone_has_no_works_and_equals_the_ledger(tmp_path: Path) -> None:
    chromium()
    project = Project(migrated_sqlite_url(tmp_path / "zamio.db"), tmp_path)
    project.var_dir.mkdir(parents=True, exist_ok=True)
    march_and_april(project, april=("T-KEN",))  # Ama earns nothing in April; her failed 21,600 is paid then
    with project.engine.connect() as conn:
        figures = ledger_figures(conn, APRIL, "artist", "ama-ghana", "GHS")
    assert figures == Ledger(0, 0, 21_600, {})
    page = tmp_path / "cycles" / APRIL / "statements" / f"{AMA}.html"
    seen = look(page, figures, "GHS", tmp_path / "alone", screenshot=False)
    assert seen.problems == [] and seen.ok, seen.problems
    seen = look(page, replace(figures, net_payable=21_700), "GHS", tmp_path / "alone", screenshot=False)
    assert seen.problems == ["the net payable shows 2.16, the ledger 2.17"]
