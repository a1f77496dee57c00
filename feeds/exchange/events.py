"""What the market model emits, in virtual-time order: the raw material of every stream.

Prices are ticks, sizes lots, times ns of virtual time (epoch-based, like ``ts_event``). The wire
module turns these into Binance payloads; the hub decides which streams want them.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class TradePrint:
    """One maker order (partly) filled: Binance's ``@trade``."""

    symbol: str
    ts_event: int
    trade_id: int
    price: int
    lots: int
    buyer_is_maker: bool


@dataclass(slots=True)
class AggTradePrint:
    """Fills of one taker order at one price: Binance's ``@aggTrade``."""

    symbol: str
    ts_event: int
    agg_id: int
    price: int
    lots: int
    first_trade_id: int
    last_trade_id: int
    buyer_is_maker: bool


@dataclass(slots=True)
class TopOfBook:
    """Best bid/ask after the change numbered ``update_id``: Binance's ``@bookTicker``.

    A price of 0 means that side is empty (the model never lets that happen).
    """

    symbol: str
    ts_event: int
    update_id: int
    bid: int
    bid_lots: int
    ask: int
    ask_lots: int


@dataclass(slots=True)
class DepthDiff:
    """Levels changed in one virtual bucket of ``interval_ms`` (100 or 1000), absolute lots
    (0 = removed), bids best first then asks best first; ids ``first_id..last_id``."""

    symbol: str
    ts_event: int
    interval_ms: int
    first_id: int
    last_id: int
    bids: list[tuple[int, int]]
    asks: list[tuple[int, int]]


@dataclass(slots=True)
class DepthTop:
    """The best 20 levels per side at a bucket boundary: partial-depth streams."""

    symbol: str
    ts_event: int
    interval_ms: int
    update_id: int
    bids: list[tuple[int, int]]
    asks: list[tuple[int, int]]


@dataclass(slots=True)
class TickerWindow:
    """24 h rolling statistics (ticks, lots, quote 1e-8 units, ms) at ``close_ms``."""

    symbol: str
    open_ms: int
    close_ms: int
    open_price: int
    high: int
    low: int
    last_price: int
    last_lots: int
    prev_close: int
    volume_lots: int
    quote_units: int
    first_id: int
    last_id: int
    count: int
    bid: int
    bid_lots: int
    ask: int
    ask_lots: int


@dataclass(slots=True)
class TickerEvent:
    """A 24 h ticker published every virtual second: ``@ticker`` and ``@miniTicker``."""

    symbol: str
    ts_event: int
    window: TickerWindow


MarketEvent = TradePrint | AggTradePrint | TopOfBook | DepthDiff | DepthTop | TickerEvent
