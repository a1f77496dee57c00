"""The exact decimal fast path and the conversion caches the book trusts."""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orderbook.instrument import InexactValueError, Instrument, decimal_to_units, units_to_decimal

INST = Instrument("TESTUSDT", "TEST", "USDT", tick_units=1_000_000, step_units=100_000)


@settings(max_examples=500, deadline=None)
@given(st.integers(min_value=0, max_value=10**18))
def test_canonical_strings_round_trip(units):
    assert decimal_to_units(units_to_decimal(units)) == units


@settings(max_examples=500, deadline=None)
@given(st.decimals(min_value=-10**9, max_value=10**9, places=8, allow_nan=False, allow_infinity=False))
def test_fast_path_agrees_with_decimal(value):
    text = f"{value:.8f}"
    assert decimal_to_units(text) == int((Decimal(text) * 10**8).to_integral_exact())


@pytest.mark.parametrize("text", ["1.2.00000000", "1_0.00000000", " 1.00000000", "+1.00000000", "1e.00000000",
                                  "١.00000000", "abc", "1.000000001"])
def test_garbage_and_finer_values_are_refused(text):
    with pytest.raises(ValueError):
        decimal_to_units(text)


def test_caches_hold_only_values_the_book_may_trust():
    inst = Instrument("CACHEUSDT", "C", "USDT", tick_units=1_000_000, step_units=100_000)
    assert inst.price_to_ticks("0.00000000") == 0
    assert inst.qty_to_lots("-1.00000000") == -1000
    assert "0.00000000" not in inst._price_cache
    assert "-1.00000000" not in inst._qty_cache
    assert inst.price_to_ticks("1.00000000") == 100 and inst._price_cache["1.00000000"] == 100
    assert inst.qty_to_lots("0.00000000") == 0 and inst._qty_cache["0.00000000"] == 0
    with pytest.raises(InexactValueError):
        inst.price_to_ticks("1.00500000")
    assert "1.00500000" not in inst._price_cache
