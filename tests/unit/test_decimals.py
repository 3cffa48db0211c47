"""Reading decimals people write (a point or a comma, never a guessed thousands separator) and the
digits each kind of exact decimal keeps."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zamio.values.decimals import (
    AMOUNT,
    CONFIDENCE,
    EXCHANGE_RATE,
    MULTIPLIER,
    PERCENT,
    RATE,
    SECONDS,
    DecimalKind,
    NumberFormatError,
    PrecisionError,
    decimal_places,
    parse_decimal,
    whole_digits,
)

KINDS = (RATE, EXCHANGE_RATE, MULTIPLIER, PERCENT, CONFIDENCE, SECONDS, AMOUNT)
FINITE = st.decimals(allow_nan=False, allow_infinity=False)
# A comma before exactly three digits after a short whole part other than 0 may be a thousands group.
THOUSANDS_SHAPED = re.compile(r"[+-]?[1-9][0-9]{0,2},[0-9]{3}")


@pytest.mark.parametrize("written, value", [
    ("0,015", "0.015"), ("0.015", "0.015"), ("12,5", "12.5"), ("12.5", "12.5"), ("1.234", "1.234"),
    ("1,2340", "1.2340"), ("1234,567", "1234.567"), ("0,500", "0.500"), ("-0,5", "-0.5"), ("+3", "3"),
    (",5", "0.5"), (".5", "0.5"), (" 7 ", "7"), ("100", "100"), ("0.0150000001", "0.0150000001"),
])
def test_a_point_or_a_comma_separates_the_decimals(written: str, value: str) -> None:
    assert parse_decimal(written) == Decimal(value)
    assert str(parse_decimal(written)) == value  # the digits as written, not a float's


@pytest.mark.parametrize("written, words", [
    ("1,234.5", "(1234.5 if that is the number meant)"),
    ("1.234,5", "(1234.5 if that is the number meant)"),
    ("1 234", "(1234 if that is the number meant)"),
    ("1\u00a0234,5", "(1234,5 if that is the number meant)"),
    ("1,234,567", "(1234567 if that is the number meant)"),
    ("1.234.567", "(1234567 if that is the number meant)"),
    ("1'234", "has a thousands separator"),
    ("12.5.1", "more than one decimal separator"),
    ("1,234", "is ambiguous: a comma before three digits may separate thousands; write 1234 for the whole "
              "number or 1.234 for the decimal"),
    ("-12,500", "write -12500 for the whole number or -12.500 for the decimal"),
    ("1e-3", "has an exponent"),
    ("NaN", "is not a number"), ("Infinity", "is not a number"), ("abc", "is not a number"),
    ("5.", "is not a number"), ("\u0661\u0662", "is not a number"), ("", "is empty"),
])
def test_a_thousands_separator_or_anything_else_is_refused_with_what_to_write(written: str, words: str) -> None:
    with pytest.raises(NumberFormatError) as refused:
        parse_decimal(written)
    assert words in str(refused.value)


def plain(value: Decimal) -> str:
    """A Decimal as a person writes it: every digit, no exponent, a point before the decimals."""
    return format(value, "f")


@given(FINITE)
def test_every_number_written_with_a_point_reads_back_exactly(value: Decimal) -> None:
    written = plain(value)
    assert parse_decimal(written) == value
    assert plain(parse_decimal(written)) == written


@given(FINITE)
def test_every_number_written_with_a_comma_reads_back_exactly_unless_it_looks_like_thousands(value: Decimal) -> None:
    written = plain(value).replace(".", ",")
    if THOUSANDS_SHAPED.fullmatch(written):  # 1,234: refused; with a fourth decimal place it is unambiguous
        with pytest.raises(NumberFormatError, match="ambiguous"):
            parse_decimal(written)
        written += "0"
    assert parse_decimal(written) == value
    assert plain(parse_decimal(written)) == written.replace(",", ".")


def grouped(whole: int, separator: str) -> str:
    """An integer written with its thousands grouped: 1234567 → 1,234,567."""
    return f"{whole:,}".replace(",", separator)


@given(whole=st.integers(min_value=1_000, max_value=10**15), sign=st.sampled_from(["", "-", "+"]),
       separator=st.sampled_from([" ", "\u00a0", "\u202f", "'", "_"]),
       decimals=st.one_of(st.just(""), st.from_regex(r"[.,][0-9]{1,6}", fullmatch=True)))
def test_every_number_grouped_with_spaces_or_apostrophes_is_refused(whole: int, sign: str, separator: str,
                                                                     decimals: str) -> None:
    with pytest.raises(NumberFormatError, match="thousands separator"):
        parse_decimal(sign + grouped(whole, separator) + decimals)


@given(whole=st.integers(min_value=1_000, max_value=10**15), sign=st.sampled_from(["", "-", "+"]),
       separators=st.sampled_from([(",", "."), (".", ",")]), places=st.integers(min_value=1, max_value=6),
       data=st.data())
def test_every_number_grouped_with_points_or_commas_and_decimals_is_refused(whole: int, sign: str, separators,
                                                                           places: int, data) -> None:
    group, point = separators
    decimals = data.draw(st.from_regex(rf"[0-9]{{{places}}}", fullmatch=True))
    with pytest.raises(NumberFormatError, match="thousands separator"):
        parse_decimal(f"{sign}{grouped(whole, group)}{point}{decimals}")


@given(whole=st.integers(min_value=1_000_000, max_value=10**15), sign=st.sampled_from(["", "-", "+"]),
       separator=st.sampled_from([",", "."]))
def test_every_whole_number_grouped_more_than_once_is_refused(whole: int, sign: str, separator: str) -> None:
    with pytest.raises(NumberFormatError, match="thousands separator"):
        parse_decimal(sign + grouped(whole, separator))


@given(whole=st.integers(min_value=1_000, max_value=999_999), sign=st.sampled_from(["", "-", "+"]))
def test_one_comma_grouping_thousands_is_never_read_as_either(whole: int, sign: str) -> None:
    with pytest.raises(NumberFormatError, match="ambiguous"):
        parse_decimal(sign + grouped(whole, ","))


@pytest.mark.parametrize("value, places, whole", [
    ("1.2500", 2, 1), ("100", 0, 3), ("1E+3", 0, 4), ("0.015", 3, 0), ("0", 0, 0), ("-120.5", 1, 3),
    ("0.0150000000000000000000000000001", 31, 0),  # more digits than a default Decimal context holds
])
def test_places_and_whole_digits_are_counted_without_trailing_zeros(value: str, places: int, whole: int) -> None:
    assert (decimal_places(Decimal(value)), whole_digits(Decimal(value))) == (places, whole)


@given(kind=st.sampled_from(KINDS), data=st.data())
def test_a_kind_keeps_every_value_within_its_digits_and_refuses_one_more_place(kind: DecimalKind, data) -> None:
    value = data.draw(st.decimals(min_value=-(10**kind.whole) + 1, max_value=10**kind.whole - 1,
                                  places=kind.places, allow_nan=False, allow_infinity=False))
    assert kind.check(value) == value
    finer = value + kind.quantum / 10  # one more place, never rounded away
    with pytest.raises(PrecisionError, match=f"a {kind.name} keeps {kind.places} and zamio never rounds"):
        kind.check(finer)
    with pytest.raises(PrecisionError, match=f"a {kind.name} keeps at most {kind.whole}"):
        kind.check(Decimal(10**kind.whole) + value.copy_abs())


def test_kinds_are_what_the_columns_and_pricing_keep() -> None:
    assert [(k.name, k.precision, k.places) for k in (RATE, EXCHANGE_RATE, MULTIPLIER, PERCENT, CONFIDENCE)] == [
        ("rate per second", 24, 10), ("exchange rate", 24, 10), ("multiplier", 12, 6), ("percentage", 9, 6),
        ("confidence", 7, 6)]
    assert SECONDS.quantum == Decimal("0.001") and AMOUNT.places == 4
