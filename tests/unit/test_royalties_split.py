"""The split rules, the rate lookups and the ledger's row text, without a database (pure functions)."""

from __future__ import annotations

import json
from collections import namedtuple
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zamio.royalties.pricing.ledger import Issue, Previous, _copy_text, _issue_texts, _ledger_values, _pricing_values
from zamio.royalties.pricing.price import PlayPricing, priced_details
from zamio.royalties.pricing.rates import (
    EligibilityRule,
    RateBook,
    RateCard,
    Tariff,
    exact_confidence,
    exact_seconds,
    ineligibility,
)
from zamio.royalties.pricing.split import (
    Agreement,
    Contributor,
    Line,
    Owed,
    Party,
    Payee,
    SharePlan,
    Society,
    Work,
    agreement_in_force,
    catalog_parties,
    split,
    split_parties,
    split_society,
)
from zamio.values.money import allocate, percent_of, round_units

GHAMRO = Society(1, "285", "GHAMRO", "Ghana Music Rights Organisation", "GHS", Decimal(15), True)
PRS = Society(2, "052", "PRS", "PRS for Music", "GBP", Decimal(15), False)
ARTIST = Payee("artist", "art-1", "Artist")

shares = st.lists(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100"), places=2), min_size=1,
                  max_size=8)


@settings(max_examples=300, deadline=None)
@given(total=st.integers(min_value=-10**12, max_value=10**12), weights=shares)
def test_parts_sum_to_the_whole_and_stay_within_one_unit_of_the_exact_share(total, weights):
    parties = [Party(Payee("contributor", f"c{i}"), w) for i, w in enumerate(weights)]
    lines = split_parties(total, parties)
    assert sum(line.amount for line in lines) == total
    whole = sum(Fraction(w) for w in weights)
    for line, weight in zip(lines, weights):
        assert abs(Fraction(line.amount) - Fraction(total) * Fraction(weight) / whole) < 1


@settings(max_examples=200, deadline=None)
@given(total=st.integers(min_value=0, max_value=10**12),
       fee=st.decimals(min_value=Decimal(0), max_value=Decimal(100), places=2))
def test_a_society_split_keeps_the_fee_and_pays_the_rest_exactly(total, fee):
    admin, share = split_society(total, PRS, fee, GHAMRO)
    assert admin.amount + share.amount == total
    assert abs(Fraction(admin.amount) - Fraction(total) * Fraction(fee) / 100) <= Fraction(1, 2)
    assert (admin.recipient_type, admin.kind, share.recipient_type) == ("local_society", "admin_fee", "society")


def work(*contributors: Contributor, artist_publisher: Payee | None = None,
         track_publisher: Payee | None = None) -> Work:
    return Work(1, ARTIST, artist_publisher, track_publisher, None, tuple(contributors))


def test_equal_remainders_go_to_the_smallest_recipient_reference():
    # 5 units over two equal halves: 2.5 each; the leftover unit goes to "a" (sorted first), not "b".
    lines = split_parties(5, [Party(Payee("contributor", "b"), Decimal(50)),
                              Party(Payee("contributor", "a"), Decimal(50))])
    assert {line.recipient_ref: line.amount for line in lines} == {"a": 3, "b": 2}


def test_shares_that_do_not_sum_to_100_go_to_suspense_whole():
    owed = catalog_parties(work(Contributor("c1", "One", Decimal("60")), Contributor("c2", "Two", Decimal("30"))))
    assert owed.suspense_reason == "bad_shares"
    (line,) = split(1234, owed, GHAMRO, "track:1")
    assert (line.kind, line.amount, line.recipient_ref) == ("suspense", 1234, "bad_shares:track:1")


def test_contributors_of_one_publisher_are_paid_once_through_it():
    pub = Payee("publisher", "pub-x", "Pub X")
    owed = catalog_parties(work(Contributor("c1", "One", Decimal("25"), pub),
                                Contributor("c2", "Two", Decimal("25"), pub),
                                Contributor("c3", "Three", Decimal("50"))))
    assert {(p.payee.ref, p.weight) for p in owed.parties} == {("pub-x", Decimal(50)), ("c3", Decimal(50))}


def test_a_track_without_contributors_pays_its_artist_or_the_artists_publisher():
    assert catalog_parties(work()).parties[0].payee == ARTIST
    pub = Payee("publisher", "pub-a", "A Pub")
    assert catalog_parties(work(artist_publisher=pub)).parties[0].payee == pub


def test_the_tracks_own_publisher_comes_before_the_artists_default_publisher():
    default, own = Payee("publisher", "pub-a", "A Pub"), Payee("publisher", "pub-t", "T Pub")
    assert catalog_parties(work(artist_publisher=default, track_publisher=own)).parties == (
        Party(own, Decimal(100)),)
    assert catalog_parties(work(track_publisher=own)).parties[0].payee == own


def test_an_agreement_is_in_force_from_its_start_until_the_day_before_expiry():
    deal = Agreement(1, PRS.id, "GH", Decimal(15), date(2026, 1, 1), date(2026, 7, 1), "Active")
    assert agreement_in_force([deal], "GH", date(2026, 1, 1)) == deal
    assert agreement_in_force([deal], "GH", date(2026, 6, 30)) == deal
    assert agreement_in_force([deal], "GH", date(2026, 7, 1)) is None
    assert agreement_in_force([deal], "NG", date(2026, 3, 1)) is None
    draft = Agreement(2, PRS.id, "GH", None, date(2025, 1, 1), None, "draft")
    assert agreement_in_force([draft], "GH", date(2026, 3, 1)) is None


def book(territory: str = "GH") -> RateBook:
    card = RateCard(1, territory, "class_a", "prime", Decimal("0.015"), Decimal("1.5"), "GHS", date(2024, 1, 1), None)
    periods = [(territory, "off_peak", 0, 360, date(2024, 1, 1)), (territory, "prime", 360, 600, date(2024, 1, 1)),
               (territory, "regular", 600, 1440, date(2024, 1, 1))]
    return RateBook([card], periods, [])


def test_the_period_is_read_in_the_stations_own_time_zone():
    rates = book()
    at = datetime(2026, 3, 2, 5, 30, tzinfo=UTC)  # 05:30 UTC
    assert rates.period("GH", at.astimezone(rates.zone("Africa/Accra"))) == "off_peak"  # UTC+0: 05:30
    assert rates.period("GH", at.astimezone(rates.zone("Africa/Lagos"))) == "prime"  # UTC+1: 06:30
    assert rates.zone("Mars/Olympus") is None


def test_eligibility_reasons_and_confidence_scales():
    rule = EligibilityRule(1, "GH", Decimal(10), Decimal("0.5"), frozenset({"music"}), date(2024, 1, 1))
    assert ineligibility(rule, Decimal("9.999"), Decimal("0.9"), "music") == "below_min_seconds"
    assert ineligibility(rule, Decimal(30), Decimal("0.49"), "music") == "low_confidence"
    assert ineligibility(rule, Decimal(30), Decimal("0.9"), "jingle") == "category_not_paid"
    assert ineligibility(rule, Decimal(30), None, "music") is None
    assert exact_confidence(0.7) == Decimal("0.7") and exact_confidence(85.0) == Decimal("0.85")


@pytest.mark.parametrize("raw", ["class_a", "Class A", "A", "class-a"])
def test_station_classes_are_read_in_their_usual_spellings(raw):
    from zamio.royalties.pricing.rates import normalise_station_class
    assert normalise_station_class(raw) == "class_a"


@settings(max_examples=300, deadline=None)
@given(total=st.integers(min_value=-10**12, max_value=10**12), weights=shares)
def test_a_share_plan_built_once_splits_every_total_as_allocate_would(total, weights):
    parties = [Party(Payee("contributor" if i % 2 else "publisher", f"r{i % 3}-{i}"), w)
               for i, w in enumerate(weights)]
    plan = SharePlan.of(parties)
    keys = [(p.payee.recipient_type, p.payee.ref) for p in parties]
    lines = plan.lines(total)
    assert [line.amount for line in lines] == allocate(total, weights, tie_break=keys)
    assert [line.share for line in lines] == [w * 100 / sum(weights) for w in weights]
    assert plan.lines(total) == lines  # the plan is not consumed by use


@settings(max_examples=500, deadline=None)
@given(amount=st.decimals(min_value=-10**9, max_value=10**9, places=9, allow_nan=False, allow_infinity=False),
       percent=st.decimals(min_value=0, max_value=100, places=4))
def test_integer_rounding_agrees_with_exact_decimal_rounding(amount, percent):
    with localcontext() as ctx:
        ctx.prec = 60  # room for every digit: Decimal rounds the exact value once
        assert round_units(amount) == int(amount.scaleb(4).to_integral_value(ROUND_HALF_EVEN))
        units = int(amount.scaleb(4).to_integral_value(ROUND_HALF_EVEN))
    fee, rest = percent_of(units, percent)
    assert fee == round(Fraction(units) * Fraction(percent) / 100)  # Fraction rounds halves to even
    assert fee + rest == units


finite_floats = st.floats(min_value=0, max_value=1e16, allow_nan=False, allow_infinity=False)
halfway = st.builds(lambda whole, unit, places: (whole * 10**places + unit + 0.5) / 10**places,
                    st.integers(0, 10**6), st.integers(0, 999), st.sampled_from([3, 6]))  # n.xxx5: ties


@settings(max_examples=2000, deadline=None)
@given(value=finite_floats | halfway | st.sampled_from([-0.0, -1.5, 9.9995, 187.3, 85.0, 1.0000005]))
def test_seconds_and_confidences_quantize_as_their_exact_decimal_expansion(value):
    with localcontext() as ctx:
        ctx.prec = 60
        seconds = max(Decimal(value).quantize(Decimal("0.001"), ROUND_HALF_EVEN), Decimal(0))
        confidence = Decimal(value).quantize(Decimal("0.000001"), ROUND_HALF_EVEN)
    confidence = confidence / 100 if confidence > 1 else confidence
    assert str(exact_seconds(value)) == str(seconds)  # the same digits and exponent: "187.300" is recorded
    assert str(exact_confidence(value)) == str(confidence)


periods = st.lists(st.tuples(st.sampled_from(["prime", "regular", "night"]), st.integers(-60, 1500),
                             st.integers(-60, 1500), st.sampled_from([date(2024, 1, 1), date(2026, 3, 10)])),
                   max_size=6, unique_by=lambda p: (p[1], p[3]))


@settings(max_examples=200, deadline=None)
@given(rows=periods, day=st.dates(min_value=date(2026, 3, 1), max_value=date(2026, 3, 31)))
def test_a_day_schedule_gives_every_minute_the_period_and_card_of_the_lookups(rows, day):
    cards = [RateCard(1, "GH", "class_a", "prime", Decimal("0.015"), Decimal("1.5"), "GHS", date(2024, 1, 1), None),
             RateCard(2, "GH", "class_a", "night", Decimal("0.01"), Decimal("0.7"), "GHS", date(2026, 3, 12), None)]
    rates = RateBook(cards, [("GH", name, start, end, since) for name, start, end, since in rows], [])
    schedule = rates.schedule("GH", "Class A", day)
    for minute in range(24 * 60):
        local = datetime(day.year, day.month, day.day, minute // 60, minute % 60)
        tariff, period = schedule.at(local), rates.period("GH", local)
        assert (tariff.period if tariff else None) == period
        assert tariff is None or tariff.card is rates.rate_card("GH", "class_a", period, day)


@settings(max_examples=300, deadline=None)
@given(seconds=st.decimals(min_value=0, max_value=10**6, places=3),
       rate=st.decimals(min_value=Decimal("0.0000000001"), max_value=100, places=10),
       multiplier=st.decimals(min_value=Decimal("0.0000000001"), max_value=10, places=10))
def test_a_tariff_prices_a_play_as_the_rate_card_formula(seconds, rate, multiplier):
    card = RateCard(1, "GH", "class_a", "prime", rate, multiplier, "GHS", date(2024, 1, 1), None)
    assert Tariff("prime", card).gross(seconds) == round_units(rate * multiplier * seconds)


@settings(max_examples=200, deadline=None)
@given(period=st.text(min_size=1, max_size=12), agreement=st.none() | st.integers(1, 10**6),
       fee=st.decimals(min_value=0, max_value=100, places=2),
       at=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),
       seconds=st.decimals(min_value=0, max_value=10**6, places=3))
def test_details_are_the_compact_json_of_how_a_play_was_priced(period, agreement, fee, at, seconds):
    card = RateCard(1, "GH", "class_a", period, Decimal("0.015"), Decimal("1.5"), "GHS", date(2024, 1, 1), None)
    owed = Owed(society=PRS, agreement=Agreement(agreement, PRS.id, "GH", fee, date(2024, 1, 1), None, "active"),
                fee_percent=fee) if agreement is not None else Owed()
    local = at.astimezone(ZoneInfo("Asia/Kathmandu"))  # +05:45
    expected = {"local_time": local.isoformat(), "period": period, "rate_per_second": "0.015", "multiplier": "1.5",
                "seconds": str(seconds)}
    if agreement is not None:
        expected.update(agreement_id=agreement, fee_percent=str(fee))
    assert priced_details(Tariff(period, card), local, seconds, owed) == json.dumps(
        expected, separators=(",", ":"), sort_keys=True)


names = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)) | st.sampled_from("\t\n\r\\"),
                max_size=8)
lines = st.builds(Line, kind=st.sampled_from(["share", "admin_fee", "suspense", "ineligible"]),
                  recipient_type=st.sampled_from(["contributor", "society", "suspense"]), recipient_ref=names,
                  recipient_name=st.none() | names, amount=st.integers(-10**9, 10**9),
                  society_id=st.none() | st.integers(1, 99), reason=st.none() | names,
                  share=st.none() | st.decimals(min_value=0, max_value=100, places=9))
StoredLine = namedtuple("StoredLine", "id play_id version kind recipient_type recipient_ref recipient_name "
                                      "society_id amount currency seconds rate_card_id")


@settings(max_examples=200, deadline=None)
@given(play_lines=st.lists(lines, max_size=3), status=names, reason=st.none() | names, details=st.none() | names,
       multiplier=st.none() | st.decimals(min_value=0, max_value=10, places=10), card=st.none() | st.integers(1, 9),
       seconds=st.decimals(min_value=0, max_value=10**5, places=3), previous=st.booleans(), run_id=names)
def test_pricing_rows_and_lines_are_written_as_the_generic_copy_text(play_lines, status, reason, details, multiplier,
                                                                     card, seconds, previous, run_id):
    pricing = PlayPricing(7, 3, status, reason, date(2026, 3, 2), seconds, multiplier, 1234, "GHS", card,
                          tuple(play_lines), details)
    before = Previous(7, 1, "priced", 1000, "x" * 32, date(2026, 3, 2), 100.0) if previous else None
    standing = {7: [StoredLine(41, 7, 1, "share", "artist", "a\\1", "Ama\tB", None, 1000, "GHS", 100.0, 13)]}
    issue = Issue(pricing, 2 if previous else 1, before, "recalculated")
    now = datetime(2026, 3, 3, 12, 0, 1, 5, tzinfo=UTC)
    pricing_rows, line_rows = _issue_texts([issue], standing, run_id, now)
    assert pricing_rows == [_copy_text([_pricing_values(issue, run_id, now)])]
    assert line_rows == [_copy_text(_ledger_values(issue, standing, run_id, now))]
