"""ISRC, ISWC, IPI and CISAC society codes: normalising, validating, explaining."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zamio.catalog.identifiers import (
    SOCIETIES,
    InvalidIdentifier,
    IsrcValue,
    format_iswc,
    ipi_base_check_digit,
    ipi_name_check_digits,
    is_valid_ipi_base,
    is_valid_ipi_name,
    is_valid_isrc,
    is_valid_iswc,
    is_valid_society_code,
    iswc_check_digit,
    normalise_ipi_base,
    normalise_ipi_name,
    normalise_isrc,
    normalise_iswc,
    normalise_society_code,
    parse_isrc_field,
    require_identifier,
    society,
    society_rows,
    validate_ipi_base,
    validate_ipi_name,
    validate_isrc,
    validate_iswc,
    validate_society_code,
)
from zamio.runtime.errors import ItemError

NINE_DIGITS = st.text(alphabet="0123456789", min_size=9, max_size=9)


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("GHA122400001", "GHA122400001"),
        ("gh-a12-24-00001", "GHA122400001"),
        ("GH A12 24 00001", "GHA122400001"),
        ("GH.A12.24.00001", "GHA122400001"),
        ("ISRC USRC17607839", "USRC17607839"),
        ("isrc: usrc17607839", "USRC17607839"),
        ("GH/A12/24/00001", "GH/A12/24/00001"),  # slashes are not formatting: left for the validator
        ("ISRC12345678", "ISRC12345678"),  # an Icelandic (IS) code, not a prefix
        ("  ", None),
        ("", None),
        (None, None),
    ],
)
def test_normalise_isrc(raw, normalised):
    assert normalise_isrc(raw) == normalised


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("GHA12240001", "11 characters"),
        ("1HA122400001", "malformed"),
        ("GHA12240000X", "malformed"),
        ("GHA!22400001", "malformed"),
        (None, "empty"),
    ],
)
def test_validate_isrc_says_why(value, fragment):
    reason = validate_isrc(value)
    assert reason is not None and fragment in reason
    assert not is_valid_isrc(value)


def test_valid_isrcs():
    for isrc in ("GHA122400001", "USRC17607839", "ZZ0002400001", "QM6P42000001"):
        assert validate_isrc(isrc) is None and is_valid_isrc(isrc)


def test_parse_isrc_field_accepts_a_string_or_a_list_and_keeps_invalid_values():
    assert parse_isrc_field("gh-a12-24-00001") == [IsrcValue("gh-a12-24-00001", "GHA122400001", True)]
    assert parse_isrc_field(["GHA122400001", "GH-A12-24-00001", "not an isrc", ""]) == [
        IsrcValue("GHA122400001", "GHA122400001", True),
        IsrcValue("not an isrc", "NOTANISRC", False),
    ]
    assert parse_isrc_field(None) == []
    assert parse_isrc_field([]) == []


def test_iswc_check_digit_worked_examples():
    assert iswc_check_digit("034524680") == 1  # S = 179
    assert iswc_check_digit("000000001") == 0  # the first ISWC, T-000.000.001-0
    with pytest.raises(ValueError):
        iswc_check_digit("03452468")


@pytest.mark.parametrize("raw", ["T-034.524.680-1", "t0345246801", "T 034 524 680 1", "T-000.000.001-0"])
def test_valid_iswcs(raw):
    assert is_valid_iswc(normalise_iswc(raw))


def test_iswc_format_round_trip():
    assert normalise_iswc("T-034.524.680-1") == "T0345246801"
    assert format_iswc("T0345246801") == "T-034.524.680-1"
    with pytest.raises(ValueError, match="check digit"):
        format_iswc("T0345246802")


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("T0345246802", "should be 1"),
        ("T034524680", "malformed"),
        ("X0345246801", "malformed"),
        (None, "empty"),
    ],
)
def test_validate_iswc_says_why(value, fragment):
    reason = validate_iswc(value)
    assert reason is not None and fragment in reason


@given(NINE_DIGITS, st.integers(0, 9))
def test_iswc_detects_every_single_digit_error(digits, replacement):
    iswc = f"T{digits}{iswc_check_digit(digits)}"
    assert is_valid_iswc(iswc)
    changed = str(replacement) + digits[1:]
    if changed != digits:
        # Weight 1 on the first digit: any change of it moves S mod 10, so the check fails.
        assert not is_valid_iswc(f"T{changed}{iswc_check_digit(digits)}")


def test_ipi_name_rule_matches_the_published_example():
    # weights 10..2 over 000141073: 7 + 24 + 5 + 21 + 6 = 63; (101 − 63) mod 100 = 38
    assert ipi_name_check_digits("000141073") == 38
    assert is_valid_ipi_name("00014107338")
    assert validate_ipi_name("00014107339") == (
        "IPI name number '00014107339' fails its check digits: the last two should be 38"
    )


def test_ipi_name_check_is_zero_when_the_sum_is_a_multiple_of_101():
    assert ipi_name_check_digits("000000000") == 0
    assert is_valid_ipi_name("00000000000")


@pytest.mark.parametrize(
    ("raw", "normalised"), [("14107338", "00014107338"), ("000-141-073-38", "00014107338")]
)
def test_normalise_ipi_name_restores_dropped_zeros(raw, normalised):
    assert normalise_ipi_name(raw) == normalised
    assert is_valid_ipi_name(normalised)


@pytest.mark.parametrize("value", ["0001410733", "000141073380", "0001410733A", None])
def test_malformed_ipi_names(value):
    assert validate_ipi_name(value) is not None


@given(NINE_DIGITS)
def test_ipi_name_check_digits_always_valid(digits):
    assert is_valid_ipi_name(f"{digits}{ipi_name_check_digits(digits):02d}")


def test_ipi_base_rule_starts_at_two():
    assert ipi_base_check_digit("000000229") == 7  # S = 2 + 14 + 16 + 81 = 113
    assert iswc_check_digit("000000229") == 8  # the ISWC rule would differ
    assert is_valid_ipi_base("I-000000229-7")
    assert normalise_ipi_base("i0000002297") == "I-000000229-7"
    assert normalise_ipi_base(" I-000000229-7 ") == "I-000000229-7"
    assert "should be 7" in (validate_ipi_base("I-000000229-8") or "")
    assert "malformed" in (validate_ipi_base("I-00000229-7") or "")


@pytest.mark.parametrize(
    ("raw", "code"), [("52", "052"), (52, "052"), (" 285 ", "285"), ("8", "008"), ("", None)]
)
def test_normalise_society_code(raw, code):
    assert normalise_society_code(raw) == code


@pytest.mark.parametrize("value", ["0520", "PRS", "05A", None])
def test_malformed_society_codes(value):
    assert validate_society_code(value) is not None
    assert not is_valid_society_code(value)


def test_known_societies():
    expected = {
        "ASCAP": "010", "BMI": "021", "SESAC": "071", "PRS": "052", "MCPS": "044", "SOCAN": "101",
        "GEMA": "035", "SACEM": "058", "SUISA": "080", "APRA": "008", "JASRAC": "038", "SAMRO": "063",
        "CAPASSO": "283", "MCSN": "022", "COSON": "268", "MCSK": "043", "GHAMRO": "285",
    }  # fmt: skip
    assert {s.acronym: s.code for s in SOCIETIES.values()} == expected
    ghamro = society(285)
    assert ghamro is not None and ghamro.country == "GH" and ghamro.name == "Ghana Music Rights Organisation"
    assert society("999") is None
    rows = society_rows()
    assert [r[0] for r in rows] == sorted(expected.values())
    assert all(is_valid_society_code(code) and name for code, _, name, _ in rows)


def test_require_identifier_normalises_or_raises_an_item_error():
    assert require_identifier("isrc", "gh-a12-24-00001") == "GHA122400001"
    assert require_identifier("iswc", "T-034.524.680-1") == "T0345246801"
    assert require_identifier("ipi_name", "14107338") == "00014107338"
    assert require_identifier("ipi_base", "I-000000229-7") == "I-000000229-7"
    assert require_identifier("society_code", "52") == "052"
    with pytest.raises(InvalidIdentifier) as caught:
        require_identifier("iswc", "T-034.524.680-2")
    assert isinstance(caught.value, ItemError)
    assert caught.value.reason == "invalid_identifier"
    assert "T-034.524.680-2" in str(caught.value) and "should be 1" in str(caught.value)
    with pytest.raises(InvalidIdentifier, match="empty"):
        require_identifier("isrc", "  ")
    with pytest.raises(ValueError, match="unknown identifier kind"):
        require_identifier("upc", "123")
