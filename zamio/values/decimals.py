"""Decimal numbers written by people, and the digits each kind of exact decimal keeps.

**Reading.**  :func:`parse_decimal` is the one reader of every decimal a person or
a partner writes: the CSV cells of rate cards, multipliers, licence fees,
exchange rates, shares and admin fees, and the durations and confidences of
imported plays.  The decimal separator is a point or a comma, so ``12.5`` and
``12,5`` are both 12.5 and ``0,015`` is 0.015.  A thousands separator is never
guessed, so these are refused with a message saying what to write instead:

* more than one separator (``1,234.5``, ``1.234,5``, ``1,234,567``, ``1.234.567``),
  or a space, a non-breaking space, an apostrophe or an underscore between digits
  (``1 234``, ``1'234``);
* a comma before exactly three digits after a whole part of one to three digits
  other than 0 (``1,234``, ``12,500``): it is 1.234 where the comma separates
  decimals and 1234 where it separates thousands, which is how these files wrote
  thousands before commas were read as decimal separators.  ``1234``, ``1.234`` and
  ``1,2340`` each say which is meant.  A point stays the decimal separator it
  always was here: ``1.234`` is 1.234;
* an exponent (``1e-3``), ``NaN`` or ``Infinity``, digits other than ASCII 0-9.

An optional leading ``+`` or ``-`` is allowed (range checks refuse what must not
be negative).

**Keeping.**  A :class:`DecimalKind` says how many digits a kind of value keeps,
the same on both databases: PostgreSQL stores it as ``NUMERIC(precision, places)``
and SQLite as decimal text, and ``zamio.db.types.ExactDecimal`` refuses on both a
value with more decimal places or whole digits than its kind keeps, so neither
database rounds (PostgreSQL would, silently) and both hold the same value.  Input
with more decimal places than its kind keeps is refused, never rounded.

===================  ======  ============  =====================================
kind                 places  whole digits  why
===================  ======  ============  =====================================
rate per second      10      14            tariffs a fraction of a pesewa a second
exchange rate        10      14            rates between weak and strong currencies
multiplier           6       6             time-of-day weights such as 1.5 or 0.875
percentage           6       3             shares and admin fees: 33.333334
confidence           6       1             thresholds on the 0..1 scale
duration in seconds  3       5             plays are priced to the millisecond
money amount         4       14            ten-thousandths of a unit (zamio.values.money)
===================  ======  ============  =====================================
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from zamio.values.money import AMOUNT_SCALE


class NumberFormatError(ValueError):
    """A decimal written in a form zamio does not read; the message says what to write instead."""


class PrecisionError(ValueError):
    """A decimal with more places or whole digits than its kind keeps; the message names the limit."""


_PLAIN = re.compile(r"[+-]?(?:[0-9]+|[0-9]*[.,][0-9]+)")
# One comma before exactly three digits, after a whole part of 1 to 3 digits that is not 0: a thousands group?
_THOUSANDS_SHAPED = re.compile(r"[+-]?[1-9][0-9]{0,2},[0-9]{3}")
_GROUPING = re.compile(r"[0-9][ \u00a0\u202f\u2009'’_][0-9]")
_SEPARATORS = re.compile(r"[.,]")
_DIGITS_AND_SEPARATORS = re.compile(r"[+-]?[0-9]+(?:[.,][0-9]+)+")


def parse_decimal(text: str) -> Decimal:
    """Given a number as a person wrote it, return its exact Decimal value.

    Raise NumberFormatError saying what to write instead for anything but an optional sign,
    ASCII digits and at most one point or comma before the decimals (see the module docstring).
    """
    raw = text.strip()
    if _PLAIN.fullmatch(raw) is None:
        raise NumberFormatError(_why_not(raw))
    if _THOUSANDS_SHAPED.fullmatch(raw):
        whole, decimals = raw.split(",")
        raise NumberFormatError(
            f"is ambiguous: a comma before three digits may separate thousands; write {whole}{decimals} "
            f"for the whole number or {whole}.{decimals} for the decimal")
    return Decimal(raw.replace(",", "."))


def _why_not(raw: str) -> str:
    if not raw:
        return "is empty; write a number such as 12.5 or 12,5"
    if re.fullmatch(r"[+-]?(nan|s?nan|inf|infinity)", raw, re.IGNORECASE):
        return "is not a number; write digits such as 12.5 or 12,5"
    if re.fullmatch(r"[+-]?[0-9]*[.,]?[0-9]+[eE][+-]?[0-9]+", raw):
        return "has an exponent; write the number out in full, such as 0.000015 for 1.5e-5"
    if _GROUPING.search(raw) or len(_SEPARATORS.findall(raw)) > 1:
        return ("has a thousands separator or more than one decimal separator, and zamio never guesses which "
                f"is which; write it without thousands separators and with one point or comma before the "
                f"decimals{_suggestion(raw)}")
    return "is not a number; write digits with at most one point or comma before the decimals, such as 12.5 or 12,5"


def _suggestion(raw: str) -> str:
    """For a number written with grouped thousands, the plain form it probably stands for, as advice."""
    compact = re.sub(r"[ \u00a0\u202f\u2009'’_]", "", raw)
    if re.fullmatch(r"[+-]?[0-9]+", compact):  # 1 234: only spaces or apostrophes grouped it
        return f" ({compact} if that is the number meant)"
    if _DIGITS_AND_SEPARATORS.fullmatch(compact) is None:
        return ""
    separators = _SEPARATORS.findall(compact)
    last = separators[-1]
    if len(separators) > 1 and set(separators[:-1]) == {last}:  # 1,234,567: every separator groups thousands
        return f" ({compact.replace(last, '')} if that is the number meant)"
    if len(separators) > 1 and last not in separators[:-1]:  # 1,234.5 or 1.234,5: the last one is the decimal
        head, _, tail = compact.rpartition(last)
        return f" ({_SEPARATORS.sub('', head)}.{tail} if that is the number meant)"
    if len(separators) == 1:  # 1 234,5: spaces or apostrophes grouped the whole part
        return f" ({compact} if that is the number meant)"
    return ""


def decimal_places(value: Decimal) -> int:
    """Given a finite Decimal, return its decimal places without trailing zeros (1.2500 → 2, 100 → 0)."""
    _sign, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int) or exponent >= 0:
        return 0
    zeros = 0
    for digit in reversed(digits):
        if digit or zeros == -exponent:
            break
        zeros += 1
    return -exponent - zeros


def whole_digits(value: Decimal) -> int:
    """Given a finite Decimal, return the digits of its whole part (0.5 → 0, 120.5 → 3, 1E+3 → 4)."""
    _sign, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int) or digits == (0,):
        return 0
    return max(len(digits) + exponent, 0)


@dataclass(frozen=True)
class DecimalKind:
    """How many digits one kind of exact decimal keeps: ``places`` decimal places, ``whole`` digits before them."""

    name: str
    places: int
    whole: int

    @property
    def precision(self) -> int:
        """All the digits kept: PostgreSQL's ``NUMERIC(precision, places)``."""
        return self.places + self.whole

    @property
    def quantum(self) -> Decimal:
        """The smallest step this kind keeps (Decimal('0.000001') for six places)."""
        return Decimal(1).scaleb(-self.places)

    def problem(self, value: Decimal) -> str | None:
        """Given a Decimal, return None if this kind keeps it exactly, else what is wrong and what to write."""
        if not value.is_finite():
            return f"is not a finite number; a {self.name} is written with digits"
        places = decimal_places(value)
        if places > self.places:
            return (f"has {places} decimal places; a {self.name} keeps {self.places} and zamio never rounds "
                    f"one: write it with at most {self.places} decimal places")
        digits = whole_digits(value)
        if digits > self.whole:
            return (f"has {digits} digits before the decimal separator; a {self.name} keeps at most "
                    f"{self.whole}")
        return None

    def check(self, value: Decimal) -> Decimal:
        """Given a Decimal, return it if this kind keeps it exactly; raise PrecisionError otherwise."""
        problem = self.problem(value)
        if problem is not None:
            raise PrecisionError(f"{value} {problem}")
        return value


RATE = DecimalKind("rate per second", places=10, whole=14)
EXCHANGE_RATE = DecimalKind("exchange rate", places=10, whole=14)
MULTIPLIER = DecimalKind("multiplier", places=6, whole=6)
PERCENT = DecimalKind("percentage", places=6, whole=3)
CONFIDENCE = DecimalKind("confidence", places=6, whole=1)
#: A confidence above 1 is a 0..100 score (ACRCloud's), read as the score / 100.
CONFIDENCE_SCORE_ABOVE = Decimal(1)
SECONDS = DecimalKind("duration in seconds", places=3, whole=5)
AMOUNT = DecimalKind("money amount", places=AMOUNT_SCALE, whole=14)
