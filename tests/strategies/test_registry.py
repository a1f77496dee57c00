"""The strategy registry: the names the CLI and the control panel use, and their validated construction."""
from __future__ import annotations

import numpy as np
import pytest

from orderbook.instrument import Instrument
from strategies.avellaneda_stoikov import AvellanedaStoikovParams, AvellanedaStoikovQuoter
from strategies.parameters import ParameterError
from strategies.liquidity_taker import LiquidityTaker
from strategies.market_maker import MarketMaker, MarketMakerParams
from strategies.registry import STRATEGIES, build_params, create_strategy, register, strategy_class, strategy_names

INST = Instrument(symbol="BTCUSDT", base_asset="BTC", quote_asset="USDT", tick_units=1_000_000, step_units=1_000)


def test_the_three_product_names_are_registered():
    assert strategy_names() == ["market_maker", "avellaneda_stoikov", "liquidity_taker"]
    assert strategy_class("market_maker") is MarketMaker
    assert strategy_class("avellaneda_stoikov") is AvellanedaStoikovQuoter
    assert strategy_class("liquidity_taker") is LiquidityTaker
    for name, cls in STRATEGIES.items():
        assert cls.name == name


@pytest.mark.parametrize("name", ["market_maker", "avellaneda_stoikov", "liquidity_taker"])
def test_every_strategy_builds_with_defaults_and_reports_json_safe_state(name):
    import json

    strategy = create_strategy(name, INST, seed=3)
    assert strategy.instrument is INST and isinstance(strategy.rng, np.random.Generator)
    json.dumps(strategy.state())
    json.dumps(strategy.params.as_dict())


def test_parameters_from_cli_strings():
    strategy = create_strategy("avellaneda_stoikov", INST, {"gamma": "0.05", "horizon": "finite"})
    assert strategy.params.gamma == 0.05 and strategy.params.horizon == "finite"
    params = build_params("market_maker", {"levels": "3"})
    assert isinstance(params, MarketMakerParams) and params.levels == 3
    strategy = create_strategy("market_maker", INST, params)
    assert strategy.params is params


def test_unknown_names_and_bad_parameters_are_clear_errors():
    with pytest.raises(ParameterError, match=r"unknown strategy 'grid'; known: market_maker, avellaneda_stoikov, liquidity_taker"):
        create_strategy("grid", INST)
    with pytest.raises(ParameterError, match=r"MarketMakerParams: unknown parameter\(s\) gamma"):
        create_strategy("market_maker", INST, {"gamma": "1"})
    with pytest.raises(ParameterError, match=r"levels must be an integer in \[1, 50\]"):
        build_params("market_maker", {"levels": 0})
    with pytest.raises(ParameterError, match="expected MarketMakerParams, got AvellanedaStoikovParams"):
        create_strategy("market_maker", INST, AvellanedaStoikovParams())


def test_register_adds_a_strategy_and_refuses_clashes_and_non_strategies(monkeypatch):
    from tests.benchmarks.bench_backtest import Idle  # the benchmark's floor: a strategy that never quotes

    monkeypatch.setattr("strategies.registry.STRATEGIES", dict(STRATEGIES))
    assert register(Idle) is Idle
    assert strategy_class(Idle.name) is Idle
    assert isinstance(create_strategy(Idle.name, INST, seed=1), Idle)
    with pytest.raises(ValueError, match="'idle \\(floor\\)' is already registered"):
        register(Idle)
    with pytest.raises(TypeError, match="Strategy subclass"):
        register(dict)
    Nameless = type("Nameless", (Idle,), {"name": ""})
    with pytest.raises(TypeError, match="non-empty str `name`"):
        register(Nameless)
