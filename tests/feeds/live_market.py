"""Test support (not collected): the embedded exchange, a BinanceFeed on it, and the MarketData
pipeline consuming the feed's queue on the test's thread — the engine's role.

``LiveMarket.until(predicate)`` pumps the queue into the pipeline until the predicate holds
(deadline poll, no fixed sleeps); ``exact(symbol)`` compares the pipeline's book with the
exchange's own book at the *same* update id (admin endpoint ``/admin/book?update_id=``); faults go
through the exchange's admin endpoint ``POST /admin/faults``.
"""
from __future__ import annotations

import json
import queue
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Callable

from feeds.backoff import BackoffPolicy
from feeds.binance_stream import BinanceFeed, BinanceFeedConfig
from feeds.exchange.config import ExchangeConfig
from feeds.exchange.runner import ExchangeThread
from feeds.messages import ConnectionEvent, FeedMessage
from feeds.pipeline import BookStatus, MarketData
from feeds.snapshots import SnapshotConfig
from feeds.stream_connection import ConnectionPolicy

SYMBOLS = ("BTCUSDT", "ETHUSDT")
DEADLINE_S = 60.0
COMPARE_LEVELS = 1000  # = the snapshot limit: the whole book while the exchange has fewer levels

FEED_CONFIG = BinanceFeedConfig(
    connection=ConnectionPolicy(reconnect=BackoffPolicy(initial_s=0.1, cap_s=1.0), stable_after_s=0.5,
                                connect_timeout_s=10.0, silence_timeout_s=1.5),
    snapshots=SnapshotConfig(limit=1000, retry=BackoffPolicy(initial_s=0.1, cap_s=0.5)),
    seed=3,
)


@dataclass
class Mark:
    """Where a fault began: monotonic time and how many items/events had been seen."""

    t0: float
    items: int
    connection_events: int
    synced_events: int


@dataclass
class LiveMarket:
    exchange: ExchangeThread
    feed: BinanceFeed
    market: MarketData
    out: "queue.Queue"
    connection_events: list[ConnectionEvent] = field(default_factory=list)
    synced_at: list[tuple[float, str]] = field(default_factory=list)  # (monotonic s, symbol) book synced
    items: int = 0

    @classmethod
    def start(cls, seed: int = 5, symbols: tuple[str, ...] = SYMBOLS,
              feed_config: BinanceFeedConfig = FEED_CONFIG) -> "LiveMarket":
        exchange = ExchangeThread(ExchangeConfig(symbols=symbols, seed=seed)).start()
        out: queue.Queue = queue.Queue()
        feed = BinanceFeed(symbols, exchange.base_api_url, exchange.stream_url, out, threading.Thread,
                           feed_config)
        market = MarketData(exchange.instruments, request_snapshot=feed.request_snapshot)
        live = cls(exchange, feed, market, out)
        feed.start()
        return live

    def stop(self) -> None:
        try:
            self.feed.stop()
        finally:
            self.exchange.stop()

    # -- the engine's loop ---------------------------------------------------------------------
    def _handle(self, item: object) -> None:
        self.items += 1
        if type(item) is FeedMessage:
            events = self.market.on_message(item.recv_ns, item.text, item.symbol)
        elif isinstance(item, ConnectionEvent):
            self.connection_events.append(item)
            if item.kind == "reconnecting":
                return
            events = self.market.on_connection(item.kind, item.recv_ns, item.detail)
        else:
            raise AssertionError(f"unexpected item on the feed queue: {item!r}")
        for event in events:
            if type(event) is BookStatus and event.synced:
                self.synced_at.append((time.monotonic(), event.symbol))

    def until(self, predicate: Callable[[], bool], deadline_s: float = DEADLINE_S, what: str = "") -> float:
        """Pump the queue until ``predicate()``; returns the monotonic time it became true."""
        end = time.monotonic() + deadline_s
        while not predicate():
            remaining = end - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"not reached within {deadline_s} s: {what or predicate}; "
                                     f"last connection events: {self.connection_events[-4:]}")
            try:
                self._handle(self.out.get(timeout=min(0.2, remaining)))
            except queue.Empty:
                continue
            while True:  # drain what is already there before checking again
                try:
                    self._handle(self.out.get_nowait())
                except queue.Empty:
                    break
        return time.monotonic()

    # -- observations ----------------------------------------------------------------------------
    def all_synced(self) -> bool:
        return all(self.market.synced(s) for s in self.market.symbols)

    def mark(self) -> Mark:
        return Mark(time.monotonic(), self.items, len(self.connection_events), len(self.synced_at))

    def events_since(self, mark: Mark, kind: str) -> list[ConnectionEvent]:
        return [e for e in self.connection_events[mark.connection_events:] if e.kind == kind]

    def synced_since(self, mark: Mark, symbol: str) -> bool:
        return any(s == symbol for _, s in self.synced_at[mark.synced_events:]) and self.market.synced(symbol)

    def counter(self, name: str, symbol: str | None = None) -> int:
        symbols = [symbol] if symbol else list(self.market.symbols)
        return sum(getattr(self.market.stats(s), name) for s in symbols)

    def malformed_total(self) -> int:
        return self.market.malformed + self.counter("malformed")

    # -- the exchange's admin endpoint ---------------------------------------------------------------
    def fault(self, *faults: dict) -> Mark:
        """POST the faults; returns the mark taken just before."""
        mark = self.mark()
        body = json.dumps(list(faults)).encode()
        request = urllib.request.Request(f"{self.exchange.base_url}/admin/faults", data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            reply = json.load(response)
        assert len(reply["applied"]) == len(faults), reply
        return mark

    def exchange_book(self, symbol: str, update_id: int) -> dict:
        url = f"{self.exchange.base_url}/admin/book?symbol={symbol}&update_id={update_id}"
        with urllib.request.urlopen(url, timeout=30) as response:
            return json.load(response)

    def exact(self, symbol: str) -> tuple[bool, str]:
        """The pipeline's book vs the exchange's book at the same update id (top COMPARE_LEVELS)."""
        book = self.market.book(symbol)
        theirs = self.exchange_book(symbol, book.update_id)
        instrument = self.market.instrument(symbol)

        def levels(rows):
            return [(instrument.price_to_ticks(p), instrument.qty_to_lots(q)) for p, q in rows][:COMPARE_LEVELS]

        ours_bids = list(reversed(book.bids.items()))[:COMPARE_LEVELS]
        ours_asks = list(book.asks.items())[:COMPARE_LEVELS]
        if theirs["update_id"] != book.update_id:
            return False, f"update ids differ: {theirs['update_id']} vs {book.update_id}"
        if ours_bids != levels(theirs["bids"]):
            return False, f"bids differ at update {book.update_id}"
        if ours_asks != levels(theirs["asks"]):
            return False, f"asks differ at update {book.update_id}"
        return True, f"exact at update {book.update_id} ({len(ours_bids)}/{len(ours_asks)} levels)"

    def assert_exact(self) -> None:
        for symbol in self.market.symbols:
            ok, detail = self.exact(symbol)
            assert ok, f"{symbol}: {detail}"
