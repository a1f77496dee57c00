"""Every parameter set's fields: declared type, unit and range, enforced wherever a value enters."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, fields

import pytest

from strategies.avellaneda_stoikov import AvellanedaStoikovParams
from strategies.experiments.avellaneda_stoikov import SimulationSetup
from strategies.liquidity_taker import LiquidityTakerParams
from strategies.market_maker import MarketMakerParams
from strategies.parameters import JSON_SAFE_INT, SHOWN_CHARS, ParameterError, Parameters, integer, number, spec_of
from strategies.registry import STRATEGIES
from strategies.risk import RiskLimits

ALL = [cls.Params for cls in STRATEGIES.values()] + [RiskLimits, SimulationSetup]


def _fields(kind):
    return [(cls, f.name, f.metadata["spec"]) for cls in ALL for f in fields(cls) if f.metadata["spec"].kind is kind]


NUMBERS = _fields(float)
INTEGERS = _fields(int)
_ids = lambda item: f"{item[0].__name__}.{item[1]}" if isinstance(item, tuple) else None  # noqa: E731


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_every_field_declares_a_range_that_json_and_the_page_carry_exactly(cls):
    for f in fields(cls):
        spec = f.metadata["spec"]
        assert spec.admits(f.default), f.name
        if spec.kind in (int, float):
            assert spec.lo is not None and spec.hi is not None and math.isfinite(spec.hi), f.name
            assert -JSON_SAFE_INT <= spec.lo <= spec.hi <= (JSON_SAFE_INT if spec.kind is int else 1e15), f.name
    json.dumps(cls.describe(), allow_nan=False)  # the description itself is JSON-safe


def test_a_field_without_a_declared_range_is_a_programming_error():
    @dataclass(frozen=True)
    class Loose(Parameters):
        size: int = 10

    with pytest.raises(TypeError, match="size has no declared type, unit and range"):
        Loose()
    with pytest.raises(TypeError, match="must lie within"):
        integer(0, 0, 2**64)
    with pytest.raises(TypeError, match="default 5 is not an integer in \\[0, 3\\]"):
        integer(5, 0, 3)


@pytest.mark.parametrize("cls, name, spec", NUMBERS, ids=_ids)
@pytest.mark.parametrize("raw", ["inf", "-inf", "nan", float("inf"), float("nan"), 1e308, "1e309", 10**400, True])
def test_numbers_must_be_finite_in_range_and_never_bools(cls, name, spec, raw):
    with pytest.raises(ParameterError, match=rf"{cls.__name__}: {name} must be (0 \(.+\) or )?a number in "):
        cls.from_mapping({name: raw})


@pytest.mark.parametrize("cls, name, spec", INTEGERS, ids=_ids)
@pytest.mark.parametrize("raw", [2**64, 10**20, -(2**63) - 1, True, False, 1.5, "1e400", float("inf"), "3 apples"])
def test_integers_must_fit_the_range_and_never_be_bools_or_fractions(cls, name, spec, raw):
    with pytest.raises(ParameterError, match=f"{cls.__name__}: {name} must be an integer in "):
        cls.from_mapping({name: raw})


def test_the_payloads_that_stopped_the_engine_are_refused_naming_field_and_range():
    cases = [
        (MarketMakerParams, {"spread_bps": "inf"}, "spread_bps must be a number in [0, 10000] bps, got 'inf'"),
        (MarketMakerParams, {"spread_bps": 1e308}, "spread_bps must be a number in [0, 10000] bps, got 1e+308"),
        (MarketMakerParams, {"refresh_tolerance_bps": "inf"}, "refresh_tolerance_bps must be a number in [0, 10000]"),
        (AvellanedaStoikovParams, {"gamma": 1e308}, "gamma must be a number in [1e-06, 1000]"),
        (AvellanedaStoikovParams, {"sigma": 1e308},
         "sigma must be 0 (estimate online) or a number in [1e-06, 1000] bps/sqrt(s), got 1e+308"),
        (AvellanedaStoikovParams, {"arrival_halflife_s": "inf"}, "arrival_halflife_s must be a number in [1, 604800] s"),
        (RiskLimits, {"max_open_orders": 10**20}, "max_open_orders must be an integer in [0, 10000] orders"),
        (RiskLimits, {"max_position": 2**64}, "max_position must be an integer in [0, 1000000000000] lots"),
        (MarketMakerParams, {"order_lots": 2**64}, "order_lots must be an integer in [0, 1000000000000] lots"),
        (MarketMakerParams, {"levels": True}, "levels must be an integer in [1, 50] levels, got True"),
    ]
    for cls, values, message in cases:
        with pytest.raises(ParameterError) as excinfo:
            cls.from_mapping(values)
        assert message in str(excinfo.value)


def test_exact_and_textual_values_are_read_as_their_kind():
    p = MarketMakerParams.from_mapping({"levels": 5.0, "spread_bps": 12, "post_only": "off", "order_lots": " 7 "})
    assert (p.levels, p.spread_bps, p.post_only, p.order_lots) == (5, 12.0, False, 7)
    assert type(p.levels) is int and type(p.spread_bps) is float
    assert MarketMakerParams.from_mapping({"levels": "3", "spread_bps": "2.5", "post_only": True}).levels == 3
    assert LiquidityTakerParams.from_mapping({"order_type": "market"}).order_type == "market"
    for bad in ({"post_only": 1}, {"post_only": "maybe"}, {"order_type": 1}):
        with pytest.raises(ParameterError):
            (LiquidityTakerParams if "order_type" in bad else MarketMakerParams).from_mapping(bad)


def test_oversized_and_nested_values_are_refused_with_a_short_message():
    for raw in ["9" * 5000, "x" * 100_000, {"a": {"b": [1, 2, 3]}}, [1, 2], None]:
        with pytest.raises(ParameterError) as excinfo:
            MarketMakerParams.from_mapping({"spread_bps": raw})
        assert len(str(excinfo.value)) < 120 + SHOWN_CHARS
    with pytest.raises(ParameterError) as excinfo:
        MarketMakerParams.from_mapping({("k" * 1000): 1, "x y": 2})
    text = str(excinfo.value)
    assert "'kkkk" in text and "..." in text and "'x y'" in text and "k" * 100 not in text


def test_direct_construction_and_replace_check_the_same_ranges():
    with pytest.raises(ParameterError, match="levels must be an integer in"):
        MarketMakerParams(levels=0)
    with pytest.raises(ParameterError, match="spread_bps must be a number in"):
        MarketMakerParams(spread_bps=float("inf"))
    base = MarketMakerParams()
    with pytest.raises(ParameterError, match="levels must be an integer"):
        base.replace(levels=True)
    assert base.replace(levels="4").levels == 4


def test_stored_values_that_no_longer_validate_are_left_out_and_reported():
    base = MarketMakerParams(spread_bps=20.0)
    params, problems = MarketMakerParams.from_stored(
        {"spread_bps": "inf", "levels": 3, "max_open_orders": 1, "order_lots": 2**64}, base)
    assert params.spread_bps == 20.0 and params.levels == 3 and params.order_lots == 0
    assert len(problems) == 3
    assert any("spread_bps must be a number" in p for p in problems)
    assert any("unknown parameter(s) max_open_orders" in p for p in problems)
    # values valid one by one but contradicting each other: nothing stored is applied
    params, problems = MarketMakerParams.from_stored({"spread_bps": 0, "spread_ticks": 0}, base)
    assert params is base and "stored values left out" in problems[-1]
    assert MarketMakerParams.from_stored("garbage")[1] == [
        "MarketMakerParams: stored parameters are not an object, got 'garbage'"]


def test_number_ranges_may_exclude_their_lower_end_or_admit_a_meaningful_zero():
    open_low = number(1.0, 0, 2, lo_open=True).metadata["spec"]
    assert open_low.describe() == "a number in (0, 2]"
    assert not open_low.admits(0.0) and open_low.admits(5e-324)
    k = spec_of(AvellanedaStoikovParams, "k")
    assert k.admits(0.0) and k.admits(1e-6) and not k.admits(5e-324) and not k.admits(-1.0)
    assert k.describe() == "0 (estimate online) or a number in [1e-06, 1000] 1/bp"
