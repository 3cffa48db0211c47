"""Music industry identifiers: ISRC, ISWC, IPI name and base numbers, CISAC society codes.

Each identifier has three kinds of function:

* ``normalise_*(raw)``: the canonical stored form, or None for an empty value.  It only
  removes what is formatting (case, spaces, hyphens, dots, a legacy prefix); it never
  "repairs" a wrong value.
* ``validate_*(value)``: None when valid, else the reason in words, because usage reports
  list invalid rows with why instead of dropping them.
* ``is_valid_*(value)``: the same as a bool.

``require_identifier(kind, raw)`` combines them for import code and raises
``InvalidIdentifier`` (an item error) naming the value and the reason.

Sources: ISRC syntax from the IFPI ISRC bulletin 2015/01 (no check digit); ISWC and IPI
check digits as implemented by django-music-publisher ``validators.py``; society codes
from its ``societies.csv``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from zamio.runtime.errors import ItemError

ISRC_LENGTH = 12
ISRC_PATTERN = re.compile(r"^[A-Z]{2}[A-Z0-9]{3}[0-9]{7}$")
ISWC_PATTERN = re.compile(r"^T[0-9]{10}$")
IPI_NAME_LENGTH = 11
IPI_BASE_PATTERN = re.compile(r"^I-[0-9]{9}-[0-9]$")
SOCIETY_CODE_LENGTH = 3

_SEPARATORS = re.compile(r"[\s\-.]+")
_ISRC_PREFIX = "ISRC"
_IPI_NAME_MODULUS = 101  # name numbers use a mod-101 check over two digits
_IPI_NAME_WEIGHTS = range(10, 1, -1)  # 10, 9, ..., 2 for the first nine digits
_ISWC_START = 1  # the ISWC check sum starts at 1 ...
_IPI_BASE_START = 2  # ... the IPI base number one at 2; otherwise the same rule


class InvalidIdentifier(ItemError):
    """An identifier in an input row is malformed; fix it in the source data and re-import."""

    reason = "invalid_identifier"


class IsrcValue(NamedTuple):
    """One ISRC as received: the raw text, its normalised form and whether that is valid."""

    raw: str
    normalised: str
    valid: bool


def _ascii_digits(text: str) -> bool:
    """Whether ``text`` is made of the digits 0-9 only: ``str.isdigit`` also takes other scripts' digits
    (``١٢٣``) and superscripts (``¹²³``), which no registry writes and ``int`` may not read."""
    return text.isascii() and text.isdigit()


def _strip(raw: str | None) -> str:
    """Given raw text, return it upper-cased without spaces, hyphens and dots."""
    return _SEPARATORS.sub("", raw or "").upper()


# --- ISRC (ISO 3901): identifies a recording -------------------------------------------


def normalise_isrc(raw: str | None) -> str | None:
    """Given an ISRC as typed (``isrc gh-a12-24-00001``), return ``GHA122400001``; None if empty.

    Upper-cases and removes spaces, hyphens, dots and a leading legacy ``ISRC`` (or
    ``ISRC:``) label.
    The result is not necessarily valid: check it with ``validate_isrc``.
    """
    text = _strip(raw)
    if text.startswith(_ISRC_PREFIX) and len(text) > ISRC_LENGTH:
        text = text[len(_ISRC_PREFIX):].lstrip(":")  # "ISRC: ..." labels too
    return text or None


def validate_isrc(value: str | None) -> str | None:
    """Given a normalised ISRC, return None if valid, else the reason it is not."""
    if not value:
        return "ISRC is empty"
    if len(value) != ISRC_LENGTH:
        return f"ISRC {value!r} has {len(value)} characters; an ISRC has 12 (CC XXX YY NNNNN)"
    if not ISRC_PATTERN.match(value):
        return (
            f"ISRC {value!r} is malformed: expected 2 letters (country), 3 letters or digits "
            f"(registrant), then 7 digits (year and designation)"
        )
    return None


def is_valid_isrc(value: str | None) -> bool:
    """Given a normalised ISRC, return whether it matches ``^[A-Z]{2}[A-Z0-9]{3}[0-9]{7}$``."""
    return validate_isrc(value) is None


def parse_isrc_field(value: str | Sequence[str] | None) -> list[IsrcValue]:
    """Given an ISRC field as a string or a list of strings (ACRCloud sends both), return its ISRCs.

    Every non-empty value is kept, valid or not (an invalid one is stored raw with
    ``valid=False``, never coerced); repeats of the same normalised ISRC are dropped,
    keeping the first.  None or an empty list gives [].
    """
    raws = [value] if isinstance(value, str) else list(value or [])
    found: list[IsrcValue] = []
    seen: set[str] = set()
    for raw in raws:
        normalised = normalise_isrc(str(raw))
        if normalised is None or normalised in seen:
            continue
        seen.add(normalised)
        found.append(IsrcValue(str(raw), normalised, is_valid_isrc(normalised)))
    return found


# --- ISWC (ISO 15707): identifies a musical work -----------------------------------------


def _weighted_check(nine_digits: str, start: int) -> int:
    """The ISWC / IPI base rule: S = start + Σ i·dᵢ (i = 1..9), check = (10 − S mod 10) mod 10."""
    if len(nine_digits) != 9 or not _ascii_digits(nine_digits):
        raise ValueError(f"expected exactly 9 digits, got {nine_digits!r}")
    total = start + sum(i * int(d) for i, d in enumerate(nine_digits, start=1))
    return (10 - total % 10) % 10


def iswc_check_digit(nine_digits: str) -> int:
    """Given the 9 digits after ``T`` (``034524680``), return the ISWC check digit (1).

    Raise ValueError unless given exactly nine digits.
    """
    return _weighted_check(nine_digits, _ISWC_START)


def normalise_iswc(raw: str | None) -> str | None:
    """Given an ISWC as typed (``T-034.524.680-1``), return the CWR form ``T0345246801``; None if empty."""
    return _strip(raw) or None


def validate_iswc(value: str | None) -> str | None:
    """Given a normalised ISWC, return None if valid, else the reason it is not."""
    if not value:
        return "ISWC is empty"
    if not ISWC_PATTERN.match(value):
        return f"ISWC {value!r} is malformed: expected T followed by 10 digits (T-DDD.DDD.DDD-C)"
    expected = iswc_check_digit(value[1:10])
    if int(value[10]) != expected:
        return f"ISWC {value!r} fails its check digit: the last digit should be {expected}"
    return None


def is_valid_iswc(value: str | None) -> bool:
    """Given a normalised ISWC, return whether its syntax and check digit are right."""
    return validate_iswc(value) is None


def format_iswc(value: str) -> str:
    """Given a valid ISWC in any accepted form, return the display form ``T-034.524.680-1``.

    Raise ValueError with the reason if it is not valid.
    """
    iswc = normalise_iswc(value)
    reason = validate_iswc(iswc)
    if reason or iswc is None:
        raise ValueError(reason)
    return f"T-{iswc[1:4]}.{iswc[4:7]}.{iswc[7:10]}-{iswc[10]}"


# --- IPI: identifies interested parties (writers, publishers) ----------------------------


def ipi_name_check_digits(nine_digits: str) -> int:
    """Given the first 9 digits of an IPI name number, return its two check digits (0..99).

    Rule: weight the digits 10, 9, ..., 2 from the left and sum; s = sum mod 101;
    check = 0 if s == 0 else (101 − s) mod 100.  ``000141073`` → 38, so ``00014107338``
    is valid.  Raise ValueError unless given exactly nine digits.
    """
    if len(nine_digits) != 9 or not _ascii_digits(nine_digits):
        raise ValueError(f"expected exactly 9 digits, got {nine_digits!r}")
    total = sum(w * int(d) for w, d in zip(_IPI_NAME_WEIGHTS, nine_digits)) % _IPI_NAME_MODULUS
    return 0 if total == 0 else (_IPI_NAME_MODULUS - total) % 100


def normalise_ipi_name(raw: str | int | None) -> str | None:
    """Given an IPI name number as typed, return its 11 digits; None if empty.

    Spreadsheets drop leading zeros (``14107338``), so a shorter all-digit value is
    left-padded with zeros to 11; anything else is returned stripped, for the validator
    to reject.
    """
    text = _strip(str(raw) if raw is not None else None)
    if _ascii_digits(text) and len(text) < IPI_NAME_LENGTH:
        text = text.rjust(IPI_NAME_LENGTH, "0")
    return text or None


def validate_ipi_name(value: str | None) -> str | None:
    """Given a normalised IPI name number, return None if valid, else the reason it is not."""
    if not value:
        return "IPI name number is empty"
    if len(value) != IPI_NAME_LENGTH or not _ascii_digits(value):
        return f"IPI name number {value!r} is malformed: expected 11 digits"
    expected = ipi_name_check_digits(value[:9])
    if int(value[9:]) != expected:
        return f"IPI name number {value!r} fails its check digits: the last two should be {expected:02d}"
    return None


def is_valid_ipi_name(value: str | None) -> bool:
    """Given a normalised IPI name number, return whether its length and check digits are right."""
    return validate_ipi_name(value) is None


def ipi_base_check_digit(nine_digits: str) -> int:
    """Given the 9 digits of an IPI base number (``000000229``), return its check digit (7).

    The ISWC rule with the sum starting at 2.  Raise ValueError unless given nine digits.
    """
    return _weighted_check(nine_digits, _IPI_BASE_START)


def normalise_ipi_base(raw: str | None) -> str | None:
    """Given an IPI base number as typed (``i0000002297``), return ``I-000000229-7``; None if empty."""
    text = _strip(raw)
    if re.fullmatch(r"I[0-9]{10}", text):
        return f"I-{text[1:10]}-{text[10]}"
    return text or None


def validate_ipi_base(value: str | None) -> str | None:
    """Given a normalised IPI base number, return None if valid, else the reason it is not."""
    if not value:
        return "IPI base number is empty"
    if not IPI_BASE_PATTERN.match(value):
        return f"IPI base number {value!r} is malformed: expected I-DDDDDDDDD-C"
    expected = ipi_base_check_digit(value[2:11])
    if int(value[12]) != expected:
        return f"IPI base number {value!r} fails its check digit: the last digit should be {expected}"
    return None


def is_valid_ipi_base(value: str | None) -> bool:
    """Given a normalised IPI base number, return whether its syntax and check digit are right."""
    return validate_ipi_base(value) is None


# --- CISAC society codes ------------------------------------------------------------------


@dataclass(frozen=True)
class Society:
    """A collective management organisation known by its CISAC code."""

    code: str  # 3 digits, zero-padded, as in CWR
    acronym: str
    name: str
    country: str  # ISO 3166-1 alpha-2


SOCIETIES: dict[str, Society] = {
    s.code: s
    for s in (
        Society("008", "APRA", "Australasian Performing Right Association", "AU"),
        Society("010", "ASCAP", "American Society of Composers, Authors and Publishers", "US"),
        Society("021", "BMI", "Broadcast Music, Inc.", "US"),
        Society("022", "MCSN", "Musical Copyright Society Nigeria", "NG"),
        Society("035", "GEMA", "Gesellschaft für musikalische Aufführungs- und mechanische "
                               "Vervielfältigungsrechte", "DE"),
        Society("038", "JASRAC", "Japanese Society for Rights of Authors, Composers and Publishers", "JP"),
        Society("043", "MCSK", "Music Copyright Society of Kenya", "KE"),
        Society("044", "MCPS", "Mechanical-Copyright Protection Society", "GB"),
        Society("052", "PRS", "Performing Right Society (PRS for Music)", "GB"),
        Society("058", "SACEM", "Société des auteurs, compositeurs et éditeurs de musique", "FR"),
        Society("063", "SAMRO", "Southern African Music Rights Organisation", "ZA"),
        Society("071", "SESAC", "SESAC Inc.", "US"),
        Society("080", "SUISA", "SUISA, Swiss cooperative society for music authors and publishers", "CH"),
        Society("101", "SOCAN", "Society of Composers, Authors and Music Publishers of Canada", "CA"),
        Society("268", "COSON", "Copyright Society of Nigeria", "NG"),
        Society("283", "CAPASSO", "Composers, Authors and Publishers Association", "ZA"),
        Society("285", "GHAMRO", "Ghana Music Rights Organisation", "GH"),
    )
}


def normalise_society_code(raw: str | int | None) -> str | None:
    """Given a society code as typed (``52``, ``" 052 "``, 285), return 3 zero-padded digits; None if empty.

    A non-digit or over-long value is returned stripped, for the validator to reject.
    """
    text = _strip(str(raw) if raw is not None else None)
    if _ascii_digits(text) and len(text) < SOCIETY_CODE_LENGTH:
        text = text.rjust(SOCIETY_CODE_LENGTH, "0")
    return text or None


def validate_society_code(value: str | None) -> str | None:
    """Given a normalised society code, return None if it is 3 digits, else the reason.

    A well-formed code not in SOCIETIES is valid (CISAC has some 230 societies); use
    ``society(code)`` when the society must be known.
    """
    if not value:
        return "society code is empty"
    if len(value) != SOCIETY_CODE_LENGTH or not _ascii_digits(value):
        return f"society code {value!r} is malformed: expected a CISAC code of 1 to 3 digits"
    return None


def is_valid_society_code(value: str | None) -> bool:
    """Given a normalised society code, return whether it is three digits."""
    return validate_society_code(value) is None


def society(code: str | int) -> Society | None:
    """Given a society code in any accepted form, return the known Society, or None."""
    normalised = normalise_society_code(code)
    return SOCIETIES.get(normalised) if normalised else None


def society_rows() -> list[tuple[str, str, str, str]]:
    """Return (code, acronym, name, country) for every known society, ordered by code, to seed a table."""
    return [(s.code, s.acronym, s.name, s.country) for s in sorted(SOCIETIES.values(), key=lambda s: s.code)]


# --- one entry point for import code -------------------------------------------------------

_KINDS: dict[str, tuple[Callable[[str | None], str | None], Callable[[str | None], str | None]]] = {
    "isrc": (normalise_isrc, validate_isrc),
    "iswc": (normalise_iswc, validate_iswc),
    "ipi_name": (normalise_ipi_name, validate_ipi_name),
    "ipi_base": (normalise_ipi_base, validate_ipi_base),
    "society_code": (normalise_society_code, validate_society_code),
}


def require_identifier(kind: str, raw: str | None) -> str:
    """Given an identifier kind (isrc, iswc, ipi_name, ipi_base, society_code) and a raw value,
    return its normalised form.

    Raise InvalidIdentifier (reason ``invalid_identifier``) with the reason in words if it
    is empty or invalid; ValueError for an unknown kind.
    """
    if kind not in _KINDS:
        raise ValueError(f"unknown identifier kind {kind!r}; expected one of {', '.join(_KINDS)}")
    normalise, validate = _KINDS[kind]
    value = normalise(raw)
    reason = validate(value)
    if reason is not None or value is None:
        raise InvalidIdentifier(f"{reason} (from input {raw!r}); correct it in the source data")
    return value
