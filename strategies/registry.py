"""Strategy names (as used by the CLI, the config and the control panel) -> Strategy classes."""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from orderbook.instrument import Instrument
from strategies.avellaneda_stoikov import AvellanedaStoikovQuoter
from strategies.base import Strategy
from strategies.parameters import Parameters, ParameterError
from strategies.liquidity_taker import LiquidityTaker
from strategies.market_maker import MarketMaker

STRATEGIES: dict[str, type[Strategy]] = {
    cls.name: cls for cls in (MarketMaker, AvellanedaStoikovQuoter, LiquidityTaker)
}


def register(cls: type[Strategy]) -> type[Strategy]:
    """Add a Strategy subclass under its ``name`` (the backtest benchmark's no-op floor uses it);
    a name already taken is refused so a built-in cannot be shadowed by accident."""
    if not (isinstance(cls, type) and issubclass(cls, Strategy)):
        raise TypeError(f"register() takes a Strategy subclass, got {cls!r}")
    name = getattr(cls, "name", None)
    params = getattr(cls, "Params", None)
    if not isinstance(name, str) or not name or not (isinstance(params, type) and issubclass(params, Parameters)):
        raise TypeError(f"{cls.__name__} needs a non-empty str `name` and a Parameters subclass `Params`")
    if name in STRATEGIES:
        raise ValueError(f"a strategy named {name!r} is already registered ({STRATEGIES[name].__name__})")
    STRATEGIES[name] = cls
    return cls


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
