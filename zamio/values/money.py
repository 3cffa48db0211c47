"""Exact money: Decimal in Python, integer units in the database, allocation that sums.

An amount is stored as a count of **units**, ten-thousandths of the currency's
major unit (``AMOUNT_SCALE = 4``): GHS 1.2345 is ``12345``.  Four places keep
per-play values (often a fraction of a pesewa) exact enough to sum a cycle
without drift, while still fitting a BIGINT on both SQLite and PostgreSQL.

Rules this module enforces:

* No binary floating point anywhere (a test scans this file for it).  Weights
  and rates are ``Decimal`` or ``int``; shares are computed exactly, in integers.
* Converting a ``Decimal`` to units never rounds silently: ``to_units`` refuses
  amounts with more than four places, ``round_units`` rounds with a named mode.
* A total split between recipients is allocated by largest remainder
  (Hamilton), so the parts sum exactly to the total and each part is within one
  unit of its exact share.  Reversals (negative totals) mirror the positive case.
* Currency minor units (ISO 4217 exponents) matter only for display and export:
  ``minor_units`` and ``format_amount`` round once, at the edge.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Decimal, Inexact, localcontext
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed import SupportsRichComparison  # tie-break keys are sorted, so they compare

AMOUNT_SCALE = 4  # decimal places held by one stored unit
UNITS_PER_MAJOR = 10**AMOUNT_SCALE  # units in one cedi, dollar, euro, ...
PERCENT_WHOLE = 100

# ISO 4217 minor-unit exponents of the currencies a statement may show.
CURRENCY_EXPONENTS: dict[str, int] = {
    "GHS": 2,  # pesewas
    "NGN": 2,
    "KES": 2,
    "ZAR": 2,
    "XOF": 0,
    "XAF": 0,
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "CHF": 2,
    "CAD": 2,
    "AUD": 2,
    "CNY": 2,
    "JPY": 0,
    "KRW": 0,
    "BHD": 3,
    "KWD": 3,
    "TND": 3,
}


def _check_decimal(amount: Decimal | int, what: str) -> Decimal:
    """Given an amount, return it as a finite Decimal; raise TypeError for floats."""
    if isinstance(amount, bool) or not isinstance(amount, (Decimal, int)):
        raise TypeError(f"{what} must be a Decimal or int, not {type(amount).__name__} ({amount!r})")
    value = Decimal(amount)
    if not value.is_finite():
        raise ValueError(f"{what} {amount!r} is not a finite number")
    return value


def _exact_scale(amount: Decimal, places: int) -> Decimal:
    """Given a finite Decimal, return amount × 10**places computed without rounding."""
    digits = len(amount.as_tuple().digits)
    with localcontext() as ctx:
        ctx.prec = digits + abs(places) + 2  # room for every digit: the scaling is exact
        ctx.traps[Inexact] = True
        return amount.scaleb(places)


def to_units(amount: Decimal | int) -> int:
    """Given an amount in major units (GHS 1.2345), return the exact count of units (12345).

    Raise ValueError naming the amount if it has more than AMOUNT_SCALE significant
    decimal places (round it first with ``round_units``); TypeError for floats.
    """
    value = _check_decimal(amount, "amount")
    scaled = _exact_scale(value, AMOUNT_SCALE)
    if scaled != scaled.to_integral_value():
        raise ValueError(
            f"amount {value} has more than {AMOUNT_SCALE} decimal places; "
            f"round it explicitly with round_units()"
        )
    return int(scaled)


def from_units(units: int) -> Decimal:
    """Given a count of units (12345), return the amount in major units as Decimal('1.2345')."""
    if isinstance(units, bool) or not isinstance(units, int):
        raise TypeError(f"units must be an int, not {type(units).__name__} ({units!r})")
    return _exact_scale(Decimal(units), -AMOUNT_SCALE)


def round_half_even(numerator: int, denominator: int) -> int:
    """Given an exact fraction of integers (denominator > 0), return it rounded half-even to an integer."""
    whole, rest = divmod(numerator, denominator)  # floor division: 0 <= rest < denominator
    twice = 2 * rest
    if twice > denominator or (twice == denominator and whole % 2):
        whole += 1
    return whole


def round_units(amount: Decimal | int, rounding: str = ROUND_HALF_EVEN) -> int:
    """Given an amount in major units, return it in units rounded with ``rounding``.

    ``rounding`` is a ``decimal`` rounding constant; the default is banker's rounding
    (ROUND_HALF_EVEN), which a royalty cycle records.  Raise TypeError for floats.
    """
    value = _check_decimal(amount, "amount")
    if rounding == ROUND_HALF_EVEN:  # the common case, in integers: the same exact value, rounded once
        numerator, denominator = value.as_integer_ratio()
        return round_half_even(numerator * UNITS_PER_MAJOR, denominator)
    scaled = _exact_scale(value, AMOUNT_SCALE)
    return int(scaled.to_integral_value(rounding=rounding))


def currency_exponent(currency: str) -> int:
    """Given an ISO 4217 code, return its number of minor-unit digits (GHS 2, JPY 0).

    Raise ValueError naming the code if it is not in CURRENCY_EXPONENTS.
    """
    try:
        return CURRENCY_EXPONENTS[currency.upper()]
    except KeyError:
        known = ", ".join(sorted(CURRENCY_EXPONENTS))
        raise ValueError(
            f"unknown currency {currency!r}; add it to CURRENCY_EXPONENTS (known: {known})"
        ) from None


def minor_units(units: int, currency: str, rounding: str = ROUND_HALF_EVEN) -> int:
    """Given units and a currency, return the amount in the currency's minor units.

    GHS 12345 units (1.2345) → 123 pesewas; JPY 12345 units → 1 yen.  Rounded once with
    ``rounding``.  Raise ValueError for an unknown currency.
    """
    exponent = currency_exponent(currency)
    if rounding == ROUND_HALF_EVEN and exponent <= AMOUNT_SCALE:  # in integers: units / 10**(4 - exponent)
        if isinstance(units, bool) or not isinstance(units, int):
            raise TypeError(f"units must be an int, not {type(units).__name__} ({units!r})")
        return round_half_even(units, 10 ** (AMOUNT_SCALE - exponent))
    amount = from_units(units)
    return int(_exact_scale(amount, exponent).to_integral_value(rounding=rounding))


def format_amount(units: int, currency: str, rounding: str = ROUND_HALF_EVEN) -> str:
    """Given units and a currency, return the amount for a statement: ``GHS 1,234.57``.

    Shown with the currency's ISO 4217 minor units, thousands separated by commas,
    a leading minus for reversals.  Raise ValueError for an unknown currency.
    """
    exponent = currency_exponent(currency)
    minor = minor_units(units, currency, rounding)
    shown = _exact_scale(Decimal(minor), -exponent)
    return f"{currency.upper()} {shown:,.{exponent}f}"


def integer_weights(weights: Sequence[Decimal | int]) -> list[int]:
    """Given share weights, return integers in the same exact proportions; raise ValueError if unusable.

    Scaling every weight by 10**places of the most precise one keeps the ratios exact
    and lets the allocation run on integers alone.
    """
    if not weights:
        raise ValueError("cannot allocate over an empty list of weights")
    exact = [_check_decimal(w, f"weight #{i}") for i, w in enumerate(weights)]
    places = max(0, *(-int(w.as_tuple().exponent) for w in exact))
    scale = 10**places
    # w = n / d with d dividing 10**places, so n * 10**places // d is w * 10**places exactly
    scaled = [n * scale // d for n, d in (w.as_integer_ratio() for w in exact)]
    negative = [i for i, w in enumerate(scaled) if w < 0]
    if negative:
        raise ValueError(f"weights must not be negative (positions {negative})")
    if sum(scaled) == 0:
        raise ValueError("all weights are zero: there is nobody to allocate to")
    return scaled


def _allocate_positive(total: int, weights: Sequence[int], keys: Sequence[SupportsRichComparison]) -> list[int]:
    """Largest remainder for total ≥ 0: floor each share, hand leftovers to the largest remainders."""
    whole = sum(weights)
    floors_and_remainders = [divmod(total * w, whole) for w in weights]  # share = floor + rem / whole
    parts = [floor for floor, _ in floors_and_remainders]
    leftover = total - sum(parts)
    # Largest remainder first; equal remainders go to the smallest key, then the lowest index.
    order = sorted(range(len(parts)), key=lambda i: (-floors_and_remainders[i][1], keys[i], i))
    for i in order[:leftover]:
        parts[i] += 1
    return parts


def allocate_integers(total: int, weights: Sequence[int], keys: Sequence[SupportsRichComparison]) -> list[int]:
    """``allocate`` over weights already made integers by ``integer_weights`` and one key per weight.

    For a split computed many times over the same party table (one per work, many plays).
    """
    if total < 0:
        return [-part for part in _allocate_positive(-total, weights, keys)]
    return _allocate_positive(total, weights, keys)


def allocate(
    total: int,
    weights: Sequence[Decimal | int],
    tie_break: Sequence[SupportsRichComparison] | None = None,
) -> list[int]:
    """Given a total in units and share weights, return the parts in units, summing to total.

    Largest remainder (Hamilton): each part is its exact share ``total × w / Σw`` rounded
    down, then the leftover units go one at a time to the largest fractional remainders.
    Equal remainders are broken by ``tie_break`` keys ascending (for example party IPI name
    numbers), then by position.  A zero weight gets zero.  A negative total (a reversal)
    gives exactly the negated allocation of its absolute value, so reversing an
    allocation cancels it line by line.

    Guarantees: ``sum(parts) == total`` and ``|part − exact share| < 1`` for every part.
    Raise ValueError if the weights are empty, negative or all zero, or if ``tie_break`` has
    a different length; TypeError for float weights or a non-int total.
    """
    if isinstance(total, bool) or not isinstance(total, int):
        raise TypeError(f"total must be an int count of units, not {type(total).__name__} ({total!r})")
    exact = integer_weights(weights)
    if tie_break is not None and len(tie_break) != len(exact):
        raise ValueError(f"tie_break has {len(tie_break)} keys for {len(exact)} weights")
    keys = list(tie_break) if tie_break is not None else [0] * len(exact)
    return allocate_integers(total, exact, keys)


def percent_of(units: int, percent: Decimal | int) -> tuple[int, int]:
    """Given an amount in units and a percentage (Decimal('15') for 15 %), return (fee, rest).

    ``fee`` is ``units × percent / 100`` rounded half-even to a unit and ``rest`` is
    ``units − fee``, so the two sum exactly to ``units`` (an admin fee and the pool it
    leaves).  Raise ValueError if percent is outside 0..100; TypeError for floats.
    """
    if isinstance(units, bool) or not isinstance(units, int):
        raise TypeError(f"units must be an int, not {type(units).__name__} ({units!r})")
    rate = _check_decimal(percent, "percent")
    if not 0 <= rate <= PERCENT_WHOLE:
        raise ValueError(f"percent {rate} is outside 0..100")
    numerator, denominator = rate.as_integer_ratio()
    fee = round_half_even(units * numerator, denominator * PERCENT_WHOLE)  # exact, halves to the even neighbour
    return fee, units - fee
