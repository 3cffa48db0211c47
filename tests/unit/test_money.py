"""Exact money: unit conversion, explicit rounding, allocation that sums, admin fees."""

from __future__ import annotations

import ast
import inspect
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zamio.values import money
from zamio.values.money import (
    allocate,
    currency_exponent,
    format_amount,
    from_units,
    minor_units,
    percent_of,
    round_units,
    to_units,
)

TOTALS = st.integers(min_value=-(10**15), max_value=10**15)
DECIMAL_WEIGHTS = st.decimals(min_value=0, max_value=10**6, places=6, allow_nan=False, allow_infinity=False)
WEIGHT_LISTS = st.lists(st.one_of(st.integers(0, 10**6), DECIMAL_WEIGHTS), min_size=1, max_size=12).filter(
    lambda ws: sum(ws) > 0
)


def test_module_never_uses_binary_floating_point():
    tree = ast.parse(inspect.getsource(money))
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    constants = [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant)]
    floats = [value for value in constants if isinstance(value, float)]
    assert "float" not in names
    assert floats == []
    assert "float(" not in inspect.getsource(money)


@pytest.mark.parametrize(
    ("amount", "units"),
    [
        (Decimal("1.2345"), 12345),
        (Decimal("1.23450000"), 12345),
        (Decimal("-0.0001"), -1),
        (Decimal("0"), 0),
        (7, 70000),
        (Decimal("123456789012345678901234.5678"), 1234567890123456789012345678),
        (Decimal("1E+3"), 10_000_000),
    ],
)
def test_to_units_is_exact(amount, units):
    assert to_units(amount) == units


def test_to_units_refuses_hidden_rounding_and_names_the_amount():
    with pytest.raises(ValueError, match=r"1\.23456"):
        to_units(Decimal("1.23456"))


@pytest.mark.parametrize("bad", [1.5, "1.5", None, True])
def test_to_units_refuses_non_decimals(bad):
    with pytest.raises(TypeError):
        to_units(bad)


@pytest.mark.parametrize("bad", [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity")])
def test_to_units_refuses_non_finite(bad):
    with pytest.raises(ValueError):
        to_units(bad)


def test_from_units_keeps_four_places():
    assert from_units(12345) == Decimal("1.2345")
    assert str(from_units(100)) == "0.0100"
    assert from_units(-1) == Decimal("-0.0001")


@given(st.integers(min_value=-(10**30), max_value=10**30))
def test_units_round_trip(units):
    assert to_units(from_units(units)) == units


def test_round_units_is_explicit_and_half_even_by_default():
    assert round_units(Decimal("1.23455")) == 12346  # 12345.5 → even neighbour 12346
    assert round_units(Decimal("1.23465")) == 12346  # 12346.5 → even neighbour 12346
    assert round_units(Decimal("1.23465"), ROUND_HALF_UP) == 12347
    assert round_units(Decimal("-1.23459"), ROUND_DOWN) == -12345
    assert round_units(Decimal("2.675")) == 26750


def test_currency_exponents():
    codes = ("GHS", "usd", "EUR", "GBP", "JPY", "KRW", "KWD")
    assert [currency_exponent(c) for c in codes] == [2, 2, 2, 2, 0, 0, 3]
    with pytest.raises(ValueError, match="XYZ"):
        currency_exponent("XYZ")


def test_minor_units_round_once_half_even():
    assert minor_units(12345, "GHS") == 123
    assert minor_units(12350, "GHS") == 124  # 123.5 pesewas → 124
    assert minor_units(12250, "GHS") == 122  # 122.5 pesewas → 122
    assert minor_units(12250, "GHS", ROUND_HALF_UP) == 123
    assert minor_units(15000, "JPY") == 2


@pytest.mark.parametrize(
    ("units", "currency", "shown"),
    [
        (12345678, "GHS", "GHS 1,234.57"),
        (-12345, "GHS", "GHS -1.23"),
        (5000, "USD", "USD 0.50"),
        (0, "EUR", "EUR 0.00"),
        (12345678, "JPY", "JPY 1,235"),
        (12345, "KWD", "KWD 1.234"),
    ],
)
def test_format_amount_shows_minor_units(units, currency, shown):
    assert format_amount(units, currency) == shown


@pytest.mark.parametrize(
    ("total", "weights", "parts"),
    [
        (100, [1, 1, 1], [34, 33, 33]),
        (5, [30, 70], [2, 3]),
        (102759, [20, 70, 5, 5], [20552, 71931, 5138, 5138]),
        (10, [Decimal("0.5"), Decimal("0.25"), Decimal("0.25")], [5, 3, 2]),
        (7, [0, 1, 0], [0, 7, 0]),
        (0, [3, 4], [0, 0]),
        (-100, [1, 1, 1], [-34, -33, -33]),
    ],
)
def test_allocate_worked_examples(total, weights, parts):
    assert allocate(total, weights) == parts


def test_allocate_tie_break_by_key_not_position():
    # Three equal remainders of 1/3; one leftover unit goes to the smallest key.
    assert allocate(100, [1, 1, 1], tie_break=["00014107338", "00000000000", "00099999999"]) == [33, 34, 33]
    assert allocate(101, [1, 1, 1], tie_break=[3, 1, 2]) == [33, 34, 34]


def test_allocate_larger_remainder_beats_tie_break():
    # Exact shares 1.6 and 0.4: the unit goes to the larger remainder whatever the keys say.
    assert allocate(2, [4, 1], tie_break=["z", "a"]) == [2, 0]


@pytest.mark.parametrize(
    ("weights", "tie_break", "error"),
    [
        ([], None, ValueError),
        ([0, 0], None, ValueError),
        ([1, -1, 2], None, ValueError),
        ([1, 2], [1], ValueError),
        ([0.5, 0.5], None, TypeError),
    ],
)
def test_allocate_refuses_bad_weights(weights, tie_break, error):
    with pytest.raises(error):
        allocate(100, weights, tie_break)


def test_allocate_refuses_a_non_integer_total():
    with pytest.raises(TypeError):
        allocate(Decimal("1.5"), [1, 1])


def _exact_shares(total, weights):
    whole = sum(Fraction(w) for w in weights)
    return [Fraction(total) * Fraction(w) / whole for w in weights]


@given(TOTALS, WEIGHT_LISTS)
def test_allocate_sums_exactly_and_stays_within_one_unit(total, weights):
    parts = allocate(total, weights)
    assert sum(parts) == total
    for part, share in zip(parts, _exact_shares(total, weights)):
        assert abs(part - share) < 1
    assert all(part == 0 for part, w in zip(parts, weights) if w == 0)


@given(st.integers(0, 10**15), WEIGHT_LISTS)
def test_allocate_gives_leftovers_to_the_largest_remainders(total, weights):
    parts = allocate(total, weights)
    shares = _exact_shares(total, weights)
    remainders = [share - int(share) for share in shares]
    rounded_up = [r for part, share, r in zip(parts, shares, remainders) if part > share]
    left_down = [r for part, share, r in zip(parts, shares, remainders) if part <= share]
    if rounded_up and left_down:
        assert min(rounded_up) >= max(left_down)


@given(TOTALS, WEIGHT_LISTS)
def test_allocate_reversal_cancels_line_by_line(total, weights):
    assert allocate(-total, weights) == [-p for p in allocate(total, weights)]


@given(TOTALS, WEIGHT_LISTS, st.randoms(use_true_random=False))
def test_allocate_is_deterministic_under_reordering_with_keys(total, weights, rnd):
    keys = list(range(len(weights)))
    parts = dict(zip(keys, allocate(total, weights, tie_break=keys)))
    order = keys[:]
    rnd.shuffle(order)
    shuffled = allocate(total, [weights[k] for k in order], tie_break=order)
    assert dict(zip(order, shuffled)) == parts


@given(st.integers(-(10**15), 10**15), st.decimals(min_value=0, max_value=100, places=4))
def test_percent_of_sums_exactly(units, percent):
    fee, rest = percent_of(units, percent)
    assert fee + rest == units
    exact = Fraction(units) * Fraction(percent) / 100
    assert abs(fee - exact) <= Fraction(1, 2)


def test_percent_of_rounds_half_even():
    assert percent_of(12345, Decimal("15")) == (1852, 10493)  # 1851.75 → 1852
    assert percent_of(50, Decimal("1")) == (0, 50)  # 0.5 → 0
    assert percent_of(150, Decimal("1")) == (2, 148)  # 1.5 → 2
    assert percent_of(-150, Decimal("1")) == (-2, -148)


@pytest.mark.parametrize("percent", [Decimal("-1"), Decimal("100.01")])
def test_percent_of_refuses_out_of_range(percent):
    with pytest.raises(ValueError):
        percent_of(100, percent)
