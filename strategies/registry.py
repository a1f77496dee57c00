"""Strategy names (as used by the CLI, the config and the control panel) -> Strategy classes."""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from orderbook.instrument import Instrument
from strategies.avellaneda_stoikov import AvellanedaStoikovQuoter
from strategies.base import Parameters, ParameterError, Strategy
from strategies.liquidity_taker import LiquidityTaker
from strategies.market_maker import MarketMaker

STRATEGIES: dict[str, type[Strategy]] = {
    cls.name: cls for cls in (MarketMaker, AvellanedaStoikovQuoter, LiquidityTaker)
}


def strategy_names() -> list[str]:
    return list(STRATEGIES)


def strategy_class(name: str) -> type[Strategy]:
    """The class registered under ``name``; ParameterError naming the known ones otherwise."""
    try:
        return STRATEGIES[name]
    except KeyError:
        raise ParameterError(f"unknown strategy {name!r}; known: {', '.join(STRATEGIES)}") from None


def build_params(name: str, values: Mapping[str, Any] | None = None) -> Parameters:
    """Validated parameters for ``name`` from strings or numbers (defaults for the rest)."""
    return strategy_class(name).Params.from_mapping(values or {})


def create_strategy(
    name: str,
    instrument: Instrument,
    params: Mapping[str, Any] | Parameters | None = None,
    rng: np.random.Generator | None = None,
    seed: int = 0,
) -> Strategy:
    """One instance for one symbol. ``params``: a Parameters object or a k=v mapping; ``rng``
    defaults to a generator seeded with ``seed`` so runs stay reproducible."""
    cls = strategy_class(name)
    if not isinstance(params, Parameters):
        params = cls.Params.from_mapping(params or {})
    elif not isinstance(params, cls.Params):
        raise ParameterError(f"{name}: expected {cls.Params.__name__}, got {type(params).__name__}")
    return cls(instrument, params, rng if rng is not None else np.random.default_rng(seed))
