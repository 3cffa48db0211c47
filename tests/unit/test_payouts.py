"""A payee's money of a cycle is split exactly: domestic commission + withholding tax + net payable + carried
forward = gross share + brought forward, to the unit, whatever the amounts, rates and minimum."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zamio.royalties.payouts.balances import settle, whole_minor_units
from zamio.royalties.payouts.deductions import Rate, deductions
from zamio.runtime.config import load_config
from zamio.runtime.errors import ConfigError

UNITS = st.integers(min_value=-(10**12), max_value=10**12)
PERCENTS = st.decimals(min_value=0, max_value=100, places=6, allow_nan=False, allow_infinity=False)
CURRENCIES = st.sampled_from(["GHS", "USD", "JPY", "KWD"])


@given(gross=UNITS, brought=UNITS, commission=PERCENTS, tax=PERCENTS, minimum=st.integers(0, 10**8),
       currency=CURRENCIES, resident=st.booleans())
def test_commission_tax_net_and_carried_sum_to_the_gross_share(gross: int, brought: int, commission: Decimal,
                                                               tax: Decimal, minimum: int, currency: str,
                                                               resident: bool) -> None:
    residency = "resident" if resident else "non_resident"
    (d,) = deductions({("artist", "ama", currency): ("Ama", gross)}, Rate(1, commission),
                      {("artist", residency): Rate(2, tax, "GRA")}, {("artist", "ama"): residency})
    net, carried = settle(d.payable + brought, currency, minimum)
    assert d.commission + d.withholding_tax + net + carried == gross + brought
    assert net == 0 or (net >= minimum and net == whole_minor_units(net, currency))
    # Each deduction is its rate of its base, rounded once, so within half a unit of the exact value.
    assert abs(d.commission - Decimal(gross) * commission / 100) <= Decimal("0.5")
    assert abs(d.withholding_tax - Decimal(gross - d.commission) * tax / 100) <= Decimal("0.5")


def test_by_hand() -> None:
    # 18,450 units: 10 % commission 1,845; 10 % tax of 16,605 = 1,660.5 → 1,660 (half-even); 14,945 payable,
    # GHS 1.4945: below a GHS 2.00 minimum, carried whole; with no minimum, GHS 1.49 paid and 45 units carried.
    (d,) = deductions({("publisher", "sika", "GHS"): (None, 18_450)}, Rate(1, Decimal(10)),
                      {("publisher", "resident"): Rate(2, Decimal(10))}, {})
    assert (d.commission, d.withholding_tax, d.payable, d.residency) == (1_845, 1_660, 14_945, "resident")
    assert settle(14_945, "GHS", 20_000) == (0, 14_945)
    assert settle(14_945, "GHS", 0) == (14_900, 45)
    assert settle(-3_000, "GHS", 0) == (0, -3_000)  # a clawback is carried, never paid


def test_the_minimum_payout_is_read_per_currency_and_refused_by_name() -> None:
    config = load_config({"MIN_PAYOUT": "GHS=20.00, usd=10"})
    assert config.min_payout == (("GHS", 200_000), ("USD", 100_000))
    for wrong in ("GHS20", "GHS=20,00", "XYZ=1", "GHS=1,GHS=2", "GHS=-1", "GHS=0.00001"):
        with pytest.raises(ConfigError, match="MIN_PAYOUT"):
            load_config({"MIN_PAYOUT": wrong})
