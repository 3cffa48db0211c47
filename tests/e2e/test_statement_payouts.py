"""A domestic payee's statement shows its payout: gross, commission, withholding tax, what was brought and carried
forward, net payable; every figure the ledger's and the balance's, on the page, in its summary CSV and in a browser.

The world is README's "Paying a cycle" example (tests/e2e/test_payouts.py builds it): Joy FM pays GHS 0.015 a
second at regular hours; the society keeps 10 %; tax is withheld from artists at 10 % (resident) and 20 %
(non-resident), from publishers at 10 %; MIN_PAYOUT is GHS 2.00.  Amounts are units of GHS 0.0001; a page shows
pesewas, subtotals rounded once (half-even) and the lines between them sharing the difference by largest remainder.

March: Odo (Ama Ghana, non-resident) 200 s, Kente (Efua Mensah, resident) 200 s, Harmattan (Sika Music) 123 s.
Ama's March payment fails ("wallet blocked").  April is a pool cycle: Joy FM's fee GHS 10.00 over Harmattan and
Odo, 100 s each: 50,000 units each.
"""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pytest

from tests.e2e.test_payouts import APRIL, MARCH, answer, pay, rows, world
from tests.e2e.test_report_layout import chromium
from tests.e2e.test_royalties_statements import files
from tests.e2e.test_statement_page import browse, texts
from tests.support import Project, migrated_sqlite_url
from tests.world import World
from zamio.db.engine import transaction
from zamio.royalties.cycles.process import find_cycle
from zamio.royalties.statements.workers import write_statements

AMA, EFUA, SIKA = "artist-ama-ghana.GHS", "artist-efua-mensah.GHS", "publisher-sika-music.GHS"
GROSS, NET, PAYABLE = "Gross royalties of the cycle", "Net royalties of the cycle", "Net payable"
PERIOD = "Royalties for plays of the period"
COMMISSION = "Domestic commission kept by the society, 10 % of the gross"
NON_RESIDENT = "Withholding tax, 20 % of the gross less the commission, the rate for a non-resident payee"
RESIDENT = "Withholding tax, 10 % of the gross less the commission, the rate for a resident payee"
BELOW = "Carried forward to the next cycle \u2014 below the minimum payout of GHS 2.00"


def summary(folder: Path, stem: str) -> list[tuple[str, str, str]]:
    """The summary CSV's summary, subtotals and total: (section, label, amount)."""
    found = list(csv.DictReader(io.StringIO((folder / "statements" / f"{stem}.summary.csv").read_text())))
    return [(r["section"], r["label"], r["amount"]) for r in found if r["section"] in ("summary", "subtotal", "total")]


def page_summary(page: str) -> list[tuple[str, str, str]]:
    """The page's summary table: (row class, label, amount as shown)."""
    return [(kind, label, amount) for kind, label, amount in zip(
        texts(page, r'<tr class="(line|subtotal|total)"><th scope="row">'),
        texts(page, r'<tr class="(?:line|subtotal|total)"><th scope="row">(.*?)</th>'),
        texts(page, r'<tr class="(?:line|subtotal|total)"><th scope="row">.*?</th><td class="n"[^>]*>(.*?)</td>'))]


def statements_row(folder: Path, ref: str) -> dict[str, str]:
    (row,) = [r for r in rows(folder / "statements.csv") if r["recipient"] == ref]
    return row


def march_and_april(project: Project, april: tuple[str, ...] = ("T-HAR", "T-ODO"),
                    emails: dict[str, str] | None = None) -> World:
    """March closed and paid, Ama's payment failed, April (Joy FM playing ``april``) closed."""
    money = world(project, april, emails)
    money.close_cycle(MARCH)
    pay(project, "--cycle", MARCH)
    folder = project.var_dir / "payouts" / MARCH
    pay(project, "--mark-sent", str(folder / "mobile-money-MTN.csv"))
    (ama,) = rows(folder / "mobile-money-MTN.csv")
    pay(project, "--mark-settled", str(answer(project, "answer.csv",
                                               f"reference,status,reason\n{ama['reference']},failed,wallet blocked\n")))
    money.close_cycle(APRIL, method="pool")
    return money


def test_each_payees_summary_is_its_gross_deductions_and_net_payable_and_the_next_cycle_brings_forward(
        project: Project) -> None:
    money = march_and_april(project)
    march, april = money.cycle_folder(MARCH), money.cycle_folder(APRIL)
    reference = project.scalar("SELECT reference FROM payments WHERE recipient_ref = 'ama-ghana'")

    # Ama: gross 200 s × 0.015 = 3.0000 (30,000); commission 10 % = 0.3000; tax 20 % of 2.7000 = 0.5400;
    # net payable 3.0000 - 0.3000 - 0.5400 = 2.1600: all whole pesewas, nothing carried.
    assert summary(march, AMA) == [("summary", PERIOD, "3.00"), ("subtotal", GROSS, "3.00"),
                                   ("summary", COMMISSION, "-0.30"), ("summary", NON_RESIDENT, "-0.54"),
                                   ("total", PAYABLE, "2.16")]
    # Efua: 3.0000; 0.3000; tax 10 % of 2.7000 = 0.2700; 2.4300.
    assert summary(march, EFUA) == [("summary", PERIOD, "3.00"), ("subtotal", GROSS, "3.00"),
                                    ("summary", COMMISSION, "-0.30"), ("summary", RESIDENT, "-0.27"),
                                    ("total", PAYABLE, "2.43")]
    # Sika: 123 s × 0.015 = 1.8450 (18,450 units = 184.5 pesewas → 1.84, half-even); commission 0.1845; tax 10 %
    # of 1.6605 = 0.16605 → 0.1660 (half-even); net 1.4945 (149.45 → 1.49), below GHS 2.00: carried forward whole,
    # net payable 0.00.  Between the gross (184) and the net (149): -18.45 and -16.60 have floors -19 (remainder
    # 55) and -17 (40), -36; the 1 pesewa left goes to the commission: -0.18, -0.17.  Between the net and the
    # total 0: -149.45 has floor -150, one pesewa left: -1.49.
    assert summary(march, SIKA) == [("summary", PERIOD, "1.84"), ("subtotal", GROSS, "1.84"),
                                    ("summary", COMMISSION, "-0.18"), ("summary", RESIDENT, "-0.17"),
                                    ("subtotal", NET, "1.49"), ("summary", BELOW, "-1.49"),
                                    ("total", PAYABLE, "0.00")]
    # The page shows the summary CSV's figures, and its gross and net are statements.csv's.
    for stem, ref in ((AMA, "ama-ghana"), (EFUA, "efua-mensah"), (SIKA, "sika-music")):
        page = (march / "statements" / f"{stem}.html").read_text()
        shown = [(kind if kind != "line" else "summary", label, amount.replace("\u2212", "-"))
                 for kind, label, amount in page_summary(page)]
        assert shown == summary(march, stem), stem
        row = statements_row(march, ref)
        figures = {label: amount for _, label, amount in summary(march, stem)}
        assert figures[GROSS] == row["gross"] and figures.get(NET, figures[PAYABLE]) == row["net"], stem
        assert texts(page, r'id="works-total">(.*?)<') == [row["gross"]]  # the works add up to the gross
        assert texts(page, r'id="detail-total">(.*?)<') == [row["net"]]  # every line to the net
    # The detail explains the deductions in words.
    detail = rows(march / "statements" / f"{AMA}.csv")
    assert sorted((r["kind"], r["amount"], r["note"]) for r in detail if not r["play_id"]) == [
        ("domestic_commission", "-0.30", "Domestic commission: the part of the cycle's gross royalties the "
                                         "society keeps for its work."),
        ("withholding_tax", "-0.54", "Withholding tax: taken from the cycle's royalties after the commission and "
                                     "paid to the tax authority.")]

    # April, Ama: gross 5.0000; commission 0.5000; tax 20 % of 4.5000 = 0.9000; net 3.6000; her failed March
    # payment 2.1600 brought forward: net payable 5.7600.
    assert summary(april, AMA) == [
        ("summary", PERIOD, "5.00"), ("subtotal", GROSS, "5.00"), ("summary", COMMISSION, "-0.50"),
        ("summary", NON_RESIDENT, "-0.90"), ("subtotal", NET, "3.60"),
        ("summary", f"Brought forward from earlier cycles \u2014 payment {reference} of cycle 2026-03 failed: "
                    "wallet blocked", "2.16"),
        ("total", PAYABLE, "5.76")]
    # Sika: gross 5.0000; commission 0.5000; tax 10 % of 4.5000 = 0.4500; net 4.0500; March's 1.4945 brought
    # forward: 5.5445, paid 5.54 and 0.0045 carried.  Between the net (405) and the total (554): 149.45 and
    # -0.45, floors 149 (remainder 45) and -1 (55): 148; the pesewa goes to the carry: 1.49, 0.00.
    assert summary(april, SIKA) == [
        ("summary", PERIOD, "5.00"), ("subtotal", GROSS, "5.00"), ("summary", COMMISSION, "-0.50"),
        ("summary", RESIDENT, "-0.45"), ("subtotal", NET, "4.05"),
        ("summary", "Brought forward from earlier cycles \u2014 carried forward, below the minimum payout of "
                    "GHS 2.00", "1.49"),
        ("summary", "Carried forward to the next cycle \u2014 the part below GHS 0.01, paid once it makes a whole "
                    "GHS 0.01", "0.00"),
        ("total", PAYABLE, "5.54")]
    assert statements_row(april, "sika-music")["net"] == "4.05"  # the net of the cycle, as the page's subtotal
    # PRS, a partner society: its statement stays its GHS lines less its admin fee (its remittance is in GBP,
    # remittances.csv): 100 s × 0.015 = 1.5000, fee 15 % = 0.2250 (→ -0.22 by largest remainder), net 1.2750 → 1.28.
    assert summary(march, "society-052.GHS") == [("summary", PERIOD, "1.50"),
                                                 ("summary", "Administration fee kept by the society", "-0.22"),
                                                 ("total", PAYABLE, "1.28")]
    assert [r["net_in_currency"] for r in rows(march / "remittances.csv")] == ["0.17"]  # 1,658 GBP units
    # balances.csv says, exact to the unit, what each is owed, paid now and carried forward; PRS's remittance of
    # 1,658 GBP units (0.17 in remittances.csv, rounded) is paid £0.16, the 58 units below a penny carried forward.
    # Columns: gross, commission, withholding tax, brought forward, net payable, carried forward, minimum payout.
    def balances(folder: Path) -> list[tuple[str, ...]]:
        return [(r["recipient"], r["currency"], r["gross"], r["commission"], r["withholding_tax"],
                 r["brought_forward"], r["net_payable"], r["carried_forward"], r["minimum_payout"])
                for r in rows(folder / "balances.csv")]

    assert balances(march) == [
        ("ama-ghana", "GHS", "3.0000", "0.3000", "0.5400", "0.0000", "2.1600", "0.0000", "2.0000"),
        ("efua-mensah", "GHS", "3.0000", "0.3000", "0.2700", "0.0000", "2.4300", "0.0000", "2.0000"),
        ("sika-music", "GHS", "1.8450", "0.1845", "0.1660", "0.0000", "0.0000", "1.4945", "2.0000"),
        ("052", "GBP", "0.1658", "0.0000", "0.0000", "0.0000", "0.1600", "0.0058", "0.0000")]
    # April (pool): Ama's failed 2.16 and Sika's 1.4945 are brought forward; PRS earns nothing and carries its
    # 58 units again; Efua has no balance.
    assert balances(april) == [
        ("ama-ghana", "GHS", "5.0000", "0.5000", "0.9000", "2.1600", "5.7600", "0.0000", "2.0000"),
        ("sika-music", "GHS", "5.0000", "0.5000", "0.4500", "1.4945", "5.5400", "0.0045", "2.0000"),
        ("052", "GBP", "0.0000", "0.0000", "0.0000", "0.0058", "0.0000", "0.0058", "0.0000")]


def test_a_payee_with_no_plays_gets_a_statement_of_what_it_brings_and_carries_forward(project: Project) -> None:
    # April plays Kente alone: Sika (carried from March) and Ama (her March payment failed) earn nothing in April.
    money = march_and_april(project, april=("T-KEN",), emails={"Ama Ghana": "ama@example.com"})
    april = money.cycle_folder(APRIL)
    reference = project.scalar("SELECT reference FROM payments WHERE recipient_ref = 'ama-ghana'")

    # Sika: no line in April; March's 1.4945 brought forward is still below GHS 2.00: carried again whole, net
    # payable 0.00.  Between the net (0) and the total (0): 149.45 and -149.45, floors 149 (remainder 45) and
    # -150 (55); the pesewa goes to the carry: 1.49, -1.49.
    assert summary(april, SIKA) == [
        ("subtotal", NET, "0.00"),
        ("summary", "Brought forward from earlier cycles \u2014 carried forward, below the minimum payout of "
                    "GHS 2.00", "1.49"),
        ("summary", BELOW, "-1.49"),
        ("total", PAYABLE, "0.00")]
    # Ama: no line in April; her failed March payment 2.1600 brought forward is paid: net payable 2.16.
    assert summary(april, AMA) == [
        ("subtotal", NET, "0.00"),
        ("summary", f"Brought forward from earlier cycles \u2014 payment {reference} of cycle 2026-03 failed: "
                    "wallet blocked", "2.16"),
        ("total", PAYABLE, "2.16")]
    # Efua, April's only play: the fee 10.0000 is hers; commission 1.0000; tax 10 % of 9.0000 = 0.9000; 8.1000.
    assert summary(april, EFUA) == [("summary", PERIOD, "10.00"), ("subtotal", GROSS, "10.00"),
                                    ("summary", COMMISSION, "-1.00"), ("summary", RESIDENT, "-0.90"),
                                    ("total", PAYABLE, "8.10")]
    # statements.csv lists both with nothing earned in the cycle, named as March's lines named them.
    assert statements_row(april, "sika-music") == {
        "recipient_type": "publisher", "recipient": "sika-music", "recipient_name": "Sika Music", "currency": "GHS",
        "plays": "0", "seconds": "0.000", "gross": "0.00", "admin_fee": "0.00", "net": "0.00"}
    assert statements_row(april, "ama-ghana") == {
        "recipient_type": "artist", "recipient": "ama-ghana", "recipient_name": "Ama Ghana", "currency": "GHS",
        "plays": "0", "seconds": "0.000", "gross": "0.00", "admin_fee": "0.00", "net": "0.00"}
    # Their pages: the summary CSV's figures, no works nor detail, and a line saying there were no plays.
    for stem in (SIKA, AMA):
        page = (april / "statements" / f"{stem}.html").read_text()
        assert [(kind if kind != "line" else "summary", label, amount.replace("\u2212", "-"))
                for kind, label, amount in page_summary(page)] == summary(april, stem), stem
        assert 'id="works"' not in page and 'id="detail"' not in page, stem
        assert "No plays this period: no play of 1 to 30 April 2026 earned you royalties" in page, stem
        assert texts(page, r'<dt>Plays</dt><dd>(.*?)</dd>') == ["0, 0.0 minutes"], stem
        assert rows(april / "statements" / f"{stem}.csv") == [], stem  # the detail CSV: its header alone
        works = list(csv.DictReader(io.StringIO((april / "statements" / f"{stem}.summary.csv").read_text())))
        assert [(r["section"], r["plays"], r["amount"]) for r in works if r["section"] not in (
            "summary", "subtotal", "total")] == [("works_total", "0", "0.00")], stem

    # Every statement of both cycles is listed in statements.csv, and every row has its page and CSV files.
    for folder in (money.cycle_folder(MARCH), april):
        listed = {f"{r['recipient_type']}-{r['recipient']}.{r['currency']}" for r in rows(folder / "statements.csv")}
        written = {p.name for p in (folder / "statements").iterdir()}
        assert written == {stem + tail for stem in listed for tail in (".html", ".csv", ".summary.csv")}, folder
    # PRS earns nothing in April either: its GBP 58 units carried again are its balance, not a statement in GHS.
    assert not (april / "statements" / "society-052.GBP.html").exists()
    # Ama has an address: April's e-mail tells her that her statement shows her failed payment brought forward, and
    # carries that statement; nobody else of April has one.
    queued = project.query("SELECT recipient, body_text, attachments FROM email_outbox "
                           "WHERE dedupe_key LIKE 'statement_ready:2026-04:%'")
    assert [(recipient, AMA in attachments) for recipient, _, attachments in queued] == [("ama@example.com", True)]
    assert ("You had no plays in it; your statement shows the balance earlier cycles left you: GHS 2.16 payable "
            "now.") in " ".join(queued[0][1].split())
    # Written by two or three processes, each statement of a balance alone is written once, the same bytes.
    single = files(april / "statements")
    with transaction(project.engine, read_only=True) as conn:
        cycle = find_cycle(conn, APRIL)
        for workers in (2, 3):
            folder = project.tmp_path / f"workers-{workers}"
            assert write_statements(conn, cycle, folder, workers=workers, min_recipients=0) == len(single) // 3
            assert files(folder / "statements") == single, workers


@pytest.fixture
def april_page(tmp_path: Path) -> Path:
    chromium()  # skipped or failed before building anything
    project = Project(migrated_sqlite_url(tmp_path / "zamio.db"), tmp_path)
    project.var_dir.mkdir(parents=True, exist_ok=True)
    money = march_and_april(project)
    page = tmp_path / "look" / f"{AMA}.html"
    page.parent.mkdir()
    shutil.copyfile(money.cycle_folder(APRIL) / "statements" / f"{AMA}.html", page)
    return page


def test_a_browser_shows_amas_april_down_to_her_net_payable(april_page: Path) -> None:
    dom = browse(april_page, "--dump-dom").stdout
    shown = page_summary(dom)
    # Hand-computed above: 5.00 gross, -0.50, -0.90, net 3.60, her failed 2.16 brought forward: 5.76.
    assert [(kind, amount) for kind, _, amount in shown] == [
        ("line", "5.00"), ("subtotal", "5.00"), ("line", "\u22120.50"), ("line", "\u22120.90"), ("subtotal", "3.60"),
        ("line", "2.16"), ("total", "5.76")]
    assert "failed: wallet blocked" in shown[-2][1] and shown[-1][1] == PAYABLE
    assert texts(dom, r'id="net">(.*?)<') == ["5.76"]
    assert texts(dom, r'id="works-total">(.*?)<') == ["5.00"] and texts(dom, r'id="detail-total">(.*?)<') == ["3.60"]
