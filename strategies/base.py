"""The strategy interface: one instance per symbol, reacting to events with order intents.

A strategy does no I/O and reads no clock: time arrives in ``StrategyContext.now`` (ns) and
randomness through the ``numpy.random.Generator`` it is built with, so a run is reproducible.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Mapping

import numpy as np

from orderbook.book import OrderBook
from orderbook.instrument import Instrument
from orderbook.trades import TradeTick
from strategies.orders import Fill, Intent, Order
from strategies.parameters import Parameters


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
