"""Fan-out: market events -> the streams that carry them -> the connections subscribed.

A payload is formatted once per event and stream, wrapped once for combined connections, and
appended to each subscriber's pending batch; each connection gets one batch per publish. Events
nobody listens to cost a dictionary lookup. Faults act here: silence drops everything, a gap
drops depth diffs (consumed whether or not anybody listens, like frames lost at the source).
"""
from __future__ import annotations

from typing import Protocol

from feeds.exchange.events import (
    AggTradePrint, DepthDiff, DepthTop, MarketEvent, TickerEvent, TopOfBook, TradePrint,
)
from feeds.exchange.faults import FaultController
from feeds.exchange.streams import StreamName
from feeds.exchange.wire import WireFormat, combined
from orderbook.instrument import Instrument


class Subscriber(Protocol):
    combined: bool
    pending: list[str]

    def flush(self) -> None: ...


class _Names:
    """Every stream name of one symbol, built once."""

    def __init__(self, symbol: str) -> None:
        s = symbol.lower()
        self.trade = f"{s}@trade"
        self.agg_trade = f"{s}@aggTrade"
        self.book_ticker = f"{s}@bookTicker"
        self.depth = {100: f"{s}@depth@100ms", 1000: f"{s}@depth"}
        self.partial = {
            100: [(n, f"{s}@depth{n}@100ms") for n in (5, 10, 20)],
            1000: [(n, f"{s}@depth{n}") for n in (5, 10, 20)],
        }
        self.ticker = f"{s}@ticker"
        self.mini_ticker = f"{s}@miniTicker"


class StreamHub:
    def __init__(self, instruments: dict[str, Instrument], faults: FaultController) -> None:
        self._wire = {symbol: WireFormat(inst) for symbol, inst in instruments.items()}
        self._names = {symbol: _Names(symbol) for symbol in instruments}
        self._faults = faults
        self._subscribers: dict[str, dict[Subscriber, None]] = {}
        self.connections: dict[Subscriber, None] = {}
        self.frames_out = 0
        self.dropped_silent = 0

    # -- subscriptions ---------------------------------------------------------------------
    def attach(self, conn: Subscriber) -> None:
        self.connections[conn] = None

    def subscribe(self, conn: Subscriber, stream: StreamName) -> None:
        self._subscribers.setdefault(stream.name, {})[conn] = None

    def unsubscribe(self, conn: Subscriber, name: str) -> None:
        subs = self._subscribers.get(name)
        if subs is not None:
            subs.pop(conn, None)
            if not subs:
                del self._subscribers[name]

    def detach(self, conn: Subscriber) -> None:
        self.connections.pop(conn, None)
        for name in [n for n, subs in self._subscribers.items() if conn in subs]:
            self.unsubscribe(conn, name)

    def subscriber_count(self, name: str) -> int:
        return len(self._subscribers.get(name, ()))

    # -- publishing ------------------------------------------------------------------------
    def publish(self, events: list[MarketEvent]) -> None:
        if not events:
            return
        faults = self._faults
        if faults.silent():
            for event in events:
                if type(event) is DepthDiff:
                    faults.take_gap(event.symbol, event.interval_ms)
            self.dropped_silent += len(events)
            return
        subscribers = self._subscribers
        dirty: dict[Subscriber, None] = {}
        for event in events:
            kind = type(event)
            symbol = event.symbol
            if kind is DepthDiff:
                if faults.take_gap(symbol, event.interval_ms):
                    continue
                name = self._names[symbol].depth[event.interval_ms]
                subs = subscribers.get(name)
                if subs:
                    self._deliver(name, self._wire[symbol].depth_update(event), subs, dirty)
                continue
            names = self._names[symbol]
            if kind is TradePrint:
                subs = subscribers.get(names.trade)
                if subs:
                    self._deliver(names.trade, self._wire[symbol].trade(event), subs, dirty)
            elif kind is TopOfBook:
                subs = subscribers.get(names.book_ticker)
                if subs:
                    self._deliver(names.book_ticker, self._wire[symbol].book_ticker(event), subs, dirty)
            elif kind is AggTradePrint:
                subs = subscribers.get(names.agg_trade)
                if subs:
                    self._deliver(names.agg_trade, self._wire[symbol].agg_trade(event), subs, dirty)
            elif kind is DepthTop:
                for levels, name in names.partial[event.interval_ms]:
                    subs = subscribers.get(name)
                    if subs:
                        self._deliver(name, self._wire[symbol].partial_depth(event, levels), subs, dirty)
            elif kind is TickerEvent:
                subs = subscribers.get(names.ticker)
                if subs:
                    self._deliver(names.ticker, self._wire[symbol].ticker(event.ts_event, event.window),
                                  subs, dirty)
                subs = subscribers.get(names.mini_ticker)
                if subs:
                    self._deliver(names.mini_ticker,
                                  self._wire[symbol].mini_ticker(event.ts_event, event.window), subs, dirty)
        for conn in dirty:
            conn.flush()

    def _deliver(self, name: str, payload: str, subs: dict[Subscriber, None],
                 dirty: dict[Subscriber, None]) -> None:
        wrapped = None
        for conn in subs:
            if conn.combined:
                if wrapped is None:
                    wrapped = combined(name, payload)
                conn.pending.append(wrapped)
            else:
                conn.pending.append(payload)
            dirty[conn] = None
        self.frames_out += len(subs)
