"""The split rules and the rate lookups, without a database (pure functions)."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zamio.money import allocate, percent_of, round_units
from zamio.royalties.rates import EligibilityRule, RateBook, RateCard, exact_confidence, ineligibility
from zamio.royalties.split import (Agreement, Contributor, Party, Payee, SharePlan, Society, Work,
                                   agreement_in_force, catalog_parties, split, split_parties, split_society)

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


def work(*contributors: Contributor, artist_publisher: Payee | None = None) -> Work:
    return Work(1, ARTIST, artist_publisher, None, None, tuple(contributors))


def test_equal_remainders_go_to_the_smallest_recipient_reference():
    # 5 units over two equal halves: 2.5 each; the leftover unit goes to "a" (sorted first), not "b".
    lines = split_parties(5, [Party(Payee("contributor", "b"), Decimal(50)), Party(Payee("contributor", "a"), Decimal(50))])
    assert {line.recipient_ref: line.amount for line in lines} == {"a": 3, "b": 2}


def test_shares_that_do_not_sum_to_100_go_to_suspense_whole():
    owed = catalog_parties(work(Contributor("c1", "One", Decimal("60")), Contributor("c2", "Two", Decimal("30"))))
    assert owed.suspense_reason == "bad_shares"
    (line,) = split(1234, owed, GHAMRO, "track:1")
    assert (line.kind, line.amount, line.recipient_ref) == ("suspense", 1234, "bad_shares:track:1")


def test_contributors_of_one_publisher_are_paid_once_through_it():
    pub = Payee("publisher", "pub-x", "Pub X")
    owed = catalog_parties(work(Contributor("c1", "One", Decimal("25"), pub), Contributor("c2", "Two", Decimal("25"), pub),
                                Contributor("c3", "Three", Decimal("50"))))
    assert {(p.payee.ref, p.weight) for p in owed.parties} == {("pub-x", Decimal(50)), ("c3", Decimal(50))}


def test_a_track_without_contributors_pays_its_artist_or_the_artists_publisher():
    assert catalog_parties(work()).parties[0].payee == ARTIST
    pub = Payee("publisher", "pub-a", "A Pub")
    assert catalog_parties(work(artist_publisher=pub)).parties[0].payee == pub


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
    at = datetime(2026, 3, 2, 5, 30, tzinfo=timezone.utc)  # 05:30 UTC
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
    from zamio.royalties.rates import normalise_station_class
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
