"""The shape of a statement: amounts shown that add up to the ledger's total, and every reason code in words."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from tests.support import ROOT
from zamio.royalties.cycles.closing import NON_DISTRIBUTABLE
from zamio.royalties.cycles.pool import NO_PLAYS, RELEASED
from zamio.royalties.pricing import paid
from zamio.royalties.pricing.holds import DISPUTED
from zamio.royalties.pricing.price import UNPRICED_REASONS
from zamio.royalties.statements import summary
from zamio.royalties.statements.shape import (
    REASONS,
    Figures,
    Recipient,
    StatementLine,
    reason_text,
    rounded_parts,
    shape,
)
from zamio.royalties.statements.summary import Carried, Payout
from zamio.values.money import round_half_even

AMA = Recipient("contributor", "00014107338", "Ama Ghana", "GHS", (("IPI name number", "00014107338"),))
PRS = Recipient("society", "052", "PRS", "GHS")


def line(amount: int, seconds: float = 101.0, *, station: str = "Joy FM", title: str = "Odo", kind: str = "share",
         adjustment: bool = False, reason: str = "", reverses: str = "", entry: int = 1,
         recipient: Recipient = AMA) -> StatementLine:
    return StatementLine(recipient.type, recipient.ref, recipient.currency, recipient.name, amount, seconds, entry,
                         entry, station, "2026-03-02 12:00:00", "2026-03-02 12:00:00", title, "Ama Ghana", "",
                         kind, "50.000000" if kind != "reversal" else "", adjustment, reason, reverses)


def test_lines_that_would_each_round_down_still_add_up_to_the_total() -> None:
    # Three lines of 6,060 units (GHS 0.6060, 60.6 pesewas): each rounded alone is 0.61, three make 1.83, but
    # the total, 18,180 units = 181.8 pesewas, is 1.82.  Floors 60 + 60 + 60 = 180; the 2 pesewas left go to
    # the largest remainders (all 60 units: the earlier lines first): 0.61, 0.61, 0.60.
    lines = [line(6060, entry=n) for n in (1, 2, 3)]
    statement = shape(AMA, Figures(0, 18_180), lines)
    assert statement.minor == [61, 61, 60]
    assert statement.total.minor == 182 and statement.total.label == "Net payable"
    assert [(s.label, s.minor) for s in statement.summary] == [("Royalties for plays of the period", 182)]
    (work,) = statement.works
    # 303 s: 303,000 ms / 6,000 = 50.5 tenths of a minute → 50, half to even: 5.0 minutes.
    assert (work.plays, work.minor, work.tenths) == (3, 182, 50) and statement.all_works.tenths == 50


def test_a_society_shows_its_gross_the_fee_and_each_adjustment_in_words() -> None:
    # PRS: this period's line 24,480 (its gross 28,800 less the fee of 4,320, the line item's admin_fee), a
    # late play of an earlier period 2,550, and a play replaced by a corrected report: -2,550.
    # Net 24,480 + 2,550 - 2,550 = 24,480 = 244.8 pesewas → 2.45.  Summary parts: gross 24,480 + 4,320 = 28,800,
    # fee -4,320, reversal -2,550, late 2,550: floors 288, -44 (rem 80), -26 (rem 50), 25 (rem 50) = 243; two
    # pesewas to the largest remainders: the fee (80), then the reversal (50, before the late play): -43, -25.
    lines = [line(24_480, recipient=PRS, entry=1),
             line(-2_550, kind="reversal", reverses="share", adjustment=True, reason="superseded; correction: typo",
                  recipient=PRS, entry=2),
             line(2_550, adjustment=True, recipient=PRS, entry=3, station="Kiss FM")]
    statement = shape(PRS, Figures(4_320, 24_480), lines)
    assert [(s.label, s.minor) for s in statement.summary] == [
        ("Royalties for plays of the period", 288),
        ("Administration fee kept by the society", -43),
        ("Adjustment for earlier periods \u2014 taken back: a corrected report of the play replaced it. "
         "Corrected by the society: typo", -25),
        ("Adjustment for earlier periods \u2014 plays reported or priced after their period was closed", 25)]
    assert sum(s.minor for s in statement.summary) == statement.total.minor == 245
    assert statement.notes[1] == ("Adjustment: a play of an earlier period. Taken back: a corrected report of the "
                                  "play replaced it. Corrected by the society: typo")
    (work,) = statement.works  # one work on two stations: Joy 24,480 - 2,550 = 21,930, Kiss 2,550
    assert [(s.station, s.plays, s.minor) for s in work.stations.values()] == [("Joy FM", 0, 219), ("Kiss FM", 1, 26)]
    assert work.plays == 1 and sum(statement.minor) == 245


def test_lines_that_do_not_add_up_to_the_line_item_are_refused() -> None:
    try:
        shape(AMA, Figures(0, 100), [line(99)])
    except ValueError as error:
        assert "sum to 99 units, its line item to 100" in str(error)
    else:
        raise AssertionError("a statement that is not the ledger's was shaped")


@given(st.lists(st.integers(-10**9, 10**9), max_size=40), st.sampled_from([1, 100, 1000, 10_000]))
def test_shown_parts_add_up_and_each_is_within_one_of_its_exact_amount(parts: list[int], per_shown: int) -> None:
    total = round_half_even(sum(parts), per_shown)
    shown = rounded_parts(parts, per_shown, total)
    assert sum(shown) == total
    assert all(abs(s * per_shown - p) < per_shown for s, p in zip(shown, parts))
    # a level down: each shown part shared again among its own parts still adds up
    halves = [[p // 2, p - p // 2] for p in parts]
    assert all(sum(rounded_parts(h, per_shown, s)) == s for h, s in zip(halves, shown))


@given(st.lists(st.tuples(st.integers(-50_000, 50_000), st.sampled_from(["Joy FM", "Kiss FM", "Y FM"]),
                          st.sampled_from(["Odo", "Kente"]), st.booleans()), min_size=1, max_size=30))
def test_every_table_of_a_statement_adds_up_to_the_ledgers_net(drawn: list[tuple[int, str, str, bool]]) -> None:
    lines = [line(amount, station=station, title=title, adjustment=late, entry=n)
             for n, (amount, station, title, late) in enumerate(drawn)]
    net = sum(amount for amount, _, _, _ in drawn)
    statement = shape(AMA, Figures(0, net), lines)
    total = round_half_even(net, 100)
    assert statement.total.minor == total
    assert sum(s.minor for s in statement.summary) == total
    assert sum(w.minor for w in statement.works) == total == sum(statement.minor)
    for work in statement.works:
        assert sum(s.minor for s in work.stations.values()) == work.minor
        assert sum(s.tenths for s in work.stations.values()) == work.tenths
    assert sum(w.tenths for w in statement.works) == statement.all_works.tenths


def reason_codes_written() -> set[str]:
    """Every reason code the code base writes on a ledger line, found in its source."""
    source = {path: path.read_text() for path in (ROOT / "zamio" / "royalties").rglob("*.py")}
    found = set(UNPRICED_REASONS) | {NO_PLAYS, NON_DISTRIBUTABLE, DISPUTED, RELEASED}
    patterns = [r'suspense_reason="([a-z_]+)"',  # suspense (split, price)
                r'Issue\([^()]*\([^()]*\)[^()]*,\s*"([a-z_]+)"\)',  # reversals of a new version (run)
                r'Issue\([^()]*,\s*"([a-z_]+)"\)',
                r'reversal_reason or "([a-z_]+)"',
                r'_unpriced\([^()]*,\s*"([a-z_]+)"\)']
    for text in source.values():
        for pattern in patterns:
            found |= set(re.findall(pattern, text))
    # a cycle's deductions: a line written with ``"reason": kind`` has the kind it is booked as for its reason
    constants: dict[str, str] = {}  # NAME = "code" and NAME, OTHER = "code", "other" at a module's top level
    every = "\n".join(source.values())
    for names, values in re.findall(r'^([A-Z_]+(?:, [A-Z_]+)*) = ("[a-z_]+"(?:, "[a-z_]+")*)\s', every, re.M):
        constants.update(zip(names.split(", "), re.findall(r'"([a-z_]+)"', values)))
    for text in source.values():
        if '"reason": kind' in text:
            found |= {constants[name] for name in re.findall(r'_line\(cycle_id, ([A-Z_]+),', text)}
    rates = source[ROOT / "zamio" / "royalties" / "pricing" / "rates.py"]
    body = rates[rates.index("def ineligibility("):]
    found |= set(re.findall(r'return "([a-z_]+)"', body[:body.index("\ndef ", 1) if "\ndef " in body else None]))
    return found


def test_every_reason_code_written_on_a_ledger_line_has_a_sentence() -> None:
    codes = reason_codes_written()
    expected = {"below_min_seconds", "low_confidence", "category_not_paid", "no_rate_card", "no_day_period",
                "bad_timezone", "local_time_out_of_range", "pricing_error", "unidentified", "no_agreement",
                "bad_shares", "not_in_catalog", "no_eligible_plays", "recalculated", "superseded", "non_distributable",
                "domestic_commission", "withholding_tax"}
    assert expected <= codes, f"the search for reason codes misses {expected - codes}"
    missing = codes - set(REASONS)
    assert not missing, f"reason codes without a sentence for statements (shape.REASONS): {sorted(missing)}"
    for code in codes:
        words = reason_text(code)
        assert words != code and words.endswith(".") and "_" not in words, code


def test_the_summary_reads_the_deductions_under_the_kinds_they_are_booked_as() -> None:
    assert (summary.COMMISSION, summary.WITHHOLDING) == (paid.COMMISSION, paid.WITHHOLDING)


def test_a_correction_by_hand_is_told_after_what_the_line_is() -> None:
    assert reason_text("correction: wrong station") == "Corrected by the society: wrong station"
    assert reason_text("superseded; correction: wrong station") == (
        "Taken back: a corrected report of the play replaced it. Corrected by the society: wrong station")
    assert reason_text("") == ""


@given(st.lists(st.integers(-50_000, 80_000), min_size=1, max_size=12), st.integers(0, 9_999),
       st.integers(0, 9_999), st.integers(-30_000, 60_000), st.sampled_from([0, 20_000]))
def test_a_payees_subtotals_are_the_ledgers_and_its_lines_add_up_to_its_net_payable(
        plays: list[int], commission: int, tax: int, brought: int, minimum: int) -> None:
    # A payee's play lines, its commission and tax lines (no play), and what earlier cycles brought forward; the
    # balance settles as payouts.balances does: whole pesewas paid when at least the minimum, else all carried.
    lines = [line(amount, entry=n, title=f"W{n % 3}") for n, amount in enumerate(plays)]
    lines += [line(-commission, 0.0, kind="domestic_commission", reason="domestic_commission", entry=90),
              line(-tax, 0.0, kind="withholding_tax", reason="withholding_tax", entry=91)]
    lines[-2:] = [x._replace(play=None, station="", title="", share="") for x in lines[-2:]]
    gross, net = sum(plays), sum(plays) - commission - tax
    payable = net + brought
    paid = payable - payable % 100 if payable - payable % 100 > 0 and payable - payable % 100 >= minimum else 0
    payout = Payout(brought, Carried(payable, paid, minimum), "non_resident", "10", "20",
                    Carried(brought, 0, minimum) if brought else None)
    statement = shape(AMA, Figures(0, net), lines, payout)
    subtotals = {s.label: s.minor for s in statement.summary if s.subtotal}
    assert subtotals["Gross royalties of the cycle"] == round_half_even(gross, 100)
    assert statement.all_works.minor == round_half_even(gross, 100) == sum(w.minor for w in statement.works)
    assert sum(statement.minor) == round_half_even(net, 100)  # the detail: the net of statements.csv
    if brought or payable != paid:
        assert subtotals["Net royalties of the cycle"] == round_half_even(net, 100)
    assert statement.total.minor * 100 == paid
    assert sum(s.minor for s in statement.summary if not s.subtotal) == statement.total.minor
    shown = [s for s in statement.summary if not s.subtotal]
    assert all(abs(s.minor * 100 - s.units) < 100 for s in shown)
    assert statement.all_works.plays == len(plays)  # the deductions are no plays
