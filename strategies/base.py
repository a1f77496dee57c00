"""The strategy interface: one instance per symbol, reacting to events with order intents.

A strategy does no I/O and reads no clock: time arrives in ``StrategyContext.now`` (ns) and
randomness through the ``numpy.random.Generator`` it is built with, so a run is reproducible.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, fields
from typing import Any, ClassVar, Mapping

import numpy as np

from orderbook.book import OrderBook
from orderbook.instrument import Instrument
from orderbook.trades import TradeTick
from strategies.orders import Fill, Intent, Order


class ParameterError(ValueError):
    """A strategy or risk parameter that is unknown, of the wrong type, or out of range."""


@dataclass(frozen=True)
class Parameters:
    """Base for frozen parameter sets. Subclasses add fields and override ``validate``."""

    def validate(self) -> None:
        """Raise ParameterError with a clear message when a value is out of range."""

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> "Parameters":
        """Build from strings or numbers (CLI ``k=v`` pairs, control-panel JSON), then validate."""
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ParameterError(
                f"{cls.__name__}: unknown parameter(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(known))}"
            )
        defaults = cls()
        converted = {}
        for name, raw in values.items():
            current = getattr(defaults, name)
            converted[name] = _coerce(cls.__name__, name, raw, current)
        params = cls(**converted)
        params.validate()
        return params

    def replace(self, **changes: Any) -> "Parameters":
        merged = {f.name: getattr(self, f.name) for f in fields(self)}
        merged.update(changes)
        return type(self).from_mapping(merged)

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _coerce(owner: str, name: str, raw: Any, current: Any) -> Any:
    kind = type(current)
    try:
        if kind is bool:
            if isinstance(raw, str):
                lowered = raw.strip().lower()
                if lowered in ("1", "true", "yes", "on"):
                    return True
                if lowered in ("0", "false", "no", "off"):
                    return False
                raise ValueError(raw)
            return bool(raw)
        if kind is int:
            if isinstance(raw, float) and not raw.is_integer():
                raise ValueError(raw)
            return int(raw)
        if kind is float:
            return float(raw)
        if current is None:
            return None if raw in (None, "", "none", "None") else float(raw)
        return kind(raw)
    except (TypeError, ValueError):
        raise ParameterError(f"{owner}: {name}={raw!r} is not a valid {kind.__name__}") from None


def require(condition: bool, message: str) -> None:
    """Parameter check helper: raise ParameterError(message) unless condition holds."""
    if not condition:
        raise ParameterError(message)


@dataclass(slots=True)
class StrategyContext:
    """What a strategy sees at each event. position: signed lots; open_orders by client_id."""

    now: int
    instrument: Instrument
    book: OrderBook
    position: int
    avg_entry_price: float
    open_orders: Mapping[str, Order]
    book_ok: bool  # synced and fresh; False while the book resyncs or is stale
    risk_state: str


class Strategy(ABC):
    """Base class. Subclasses set ``name`` and ``Params`` and implement the handlers they need."""

    name: ClassVar[str]
    Params: ClassVar[type[Parameters]]

    def __init__(self, instrument: Instrument, params: Parameters, rng: np.random.Generator) -> None:
        self.instrument = instrument
        self.params = params
        self.rng = rng
        self._next_id = 0

    def new_client_id(self, prefix: str = "") -> str:
        """Deterministic ids: '<strategy>-<symbol>-<prefix><n>'."""
        self._next_id += 1
        return f"{self.name}-{self.instrument.symbol}-{prefix}{self._next_id}"

    def update_params(self, params: Parameters) -> None:
        self.params = params

    @abstractmethod
    def on_book(self, ctx: StrategyContext) -> list[Intent]:
        """The book changed (after a diff was applied)."""

    def on_trade(self, ctx: StrategyContext, trade: TradeTick) -> list[Intent]:
        return []

    def on_fill(self, ctx: StrategyContext, fill: Fill) -> list[Intent]:
        return []

    def on_timer(self, ctx: StrategyContext) -> list[Intent]:
        return []

    def state(self) -> dict[str, Any]:
        """Live estimates and internal state for display (JSON-safe)."""
        return {}
