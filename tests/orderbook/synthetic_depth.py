"""A seeded synthetic Binance diff-depth stream with a naive reference book, for stress tests and
benchmarks.

The market keeps ``levels`` price levels per side around a drifting touch. Each diff touches
``levels_per_diff`` prices drawn near a pivot between the best bid and ask (bids at or below it,
asks above it, so the book is never crossed): a known level is resized or deleted, an unknown one
is inserted, and now and then an absent level is deleted (Binance does that). The reference book
is two plain dicts {ticks: lots}, updated as each frame is generated.
"""
from __future__ import annotations

import numpy as np
import orjson

from orderbook.instrument import Instrument, units_to_decimal


class SyntheticDepth:
    """Generates REST snapshot text and combined-stream depthUpdate frames for one symbol."""

    def __init__(
        self,
        rng: np.random.Generator,
        instrument: Instrument,
        levels: int = 1000,
        mid_ticks: int = 2_000_000,
        first_update_id: int = 1_000,
    ) -> None:
        self.rng = rng
        self.instrument = instrument
        self.symbol = instrument.symbol
        self.stream = f"{instrument.symbol.lower()}@depth@100ms"
        self.update_id = first_update_id
        self.event_ms = 1_700_000_000_000
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}
        self._price_text: dict[int, str] = {}
        self._qty_text: dict[int, str] = {}
        spacing = rng.integers(1, 3, size=(2, levels))
        bid_prices = mid_ticks - 1 - np.cumsum(spacing[0])
        ask_prices = mid_ticks + 1 + np.cumsum(spacing[1])
        sizes = self._sizes(2 * levels)
        self.bids = {int(p): int(q) for p, q in zip(bid_prices, sizes[:levels])}
        self.asks = {int(p): int(q) for p, q in zip(ask_prices, sizes[levels:])}

    # -- text --------------------------------------------------------------------------------
    def price_text(self, ticks: int) -> str:
        text = self._price_text.get(ticks)
        if text is None:
            text = self._price_text[ticks] = units_to_decimal(ticks * self.instrument.tick_units)
        return text

    def qty_text(self, lots: int) -> str:
        text = self._qty_text.get(lots)
        if text is None:
            text = self._qty_text[lots] = units_to_decimal(lots * self.instrument.step_units)
        return text

    def _sizes(self, count: int) -> np.ndarray:
        # Heavy-tailed sizes, as on a real book: many small levels, a few large ones.
        return (self.rng.pareto(1.5, size=count) * 50).astype(np.int64) + 1

    # -- frames ------------------------------------------------------------------------------
    def snapshot_text(self, depth: int | None = None) -> str:
        """The REST snapshot body of the current state (best ``depth`` levels per side)."""
        bids = sorted(self.bids.items(), reverse=True)[:depth]
        asks = sorted(self.asks.items())[:depth]
        return orjson.dumps({
            "lastUpdateId": self.update_id,
            "bids": [[self.price_text(p), self.qty_text(q)] for p, q in bids],
            "asks": [[self.price_text(p), self.qty_text(q)] for p, q in asks],
        }).decode()

    def best(self) -> tuple[tuple[int, int] | None, tuple[int, int] | None]:
        bid = max(self.bids) if self.bids else None
        ask = min(self.asks) if self.asks else None
        return (
            None if bid is None else (bid, self.bids[bid]),
            None if ask is None else (ask, self.asks[ask]),
        )

    def next_diff(self, levels_per_diff: int, ids_per_diff: int = 3) -> tuple[str, int]:
        """One combined-stream depthUpdate frame; returns (text, level updates in it)."""
        rng = self.rng
        best_bid = max(self.bids) if self.bids else 0
        best_ask = min(self.asks) if self.asks else best_bid + 2
        pivot = (best_bid + best_ask) // 2
        count = levels_per_diff
        distance = rng.geometric(0.08, size=count) - 1
        side_is_bid = rng.random(count) < 0.5
        action = rng.random(count)
        sizes = self._sizes(count)
        bid_levels: list[list[str]] = []
        ask_levels: list[list[str]] = []
        for k in range(count):
            if side_is_bid[k]:
                book, price, out = self.bids, pivot - int(distance[k]), bid_levels
            else:
                book, price, out = self.asks, pivot + 1 + int(distance[k]), ask_levels
            if price <= 0:
                continue
            if price in book:
                # Keep the book from draining: delete only a third of the time.
                lots = 0 if action[k] < 0.33 else int(sizes[k])
            else:
                lots = 0 if action[k] < 0.05 else int(sizes[k])  # a delete of an absent level
            if lots:
                book[price] = lots
            else:
                book.pop(price, None)
            out.append([self.price_text(price), self.qty_text(lots)])
        first = self.update_id + 1
        self.update_id += ids_per_diff
        self.event_ms += 100
        text = orjson.dumps({
            "stream": self.stream,
            "data": {
                "e": "depthUpdate", "E": self.event_ms, "s": self.symbol,
                "U": first, "u": self.update_id, "b": bid_levels, "a": ask_levels,
            },
        }).decode()
        return text, len(bid_levels) + len(ask_levels)

    def book_ticker_text(self) -> str:
        """A bookTicker frame for the current best bid/ask."""
        (bid, bid_lots), (ask, ask_lots) = self.best()
        return orjson.dumps({
            "stream": f"{self.symbol.lower()}@bookTicker",
            "data": {
                "u": self.update_id, "s": self.symbol,
                "b": self.price_text(bid), "B": self.qty_text(bid_lots),
                "a": self.price_text(ask), "A": self.qty_text(ask_lots),
            },
        }).decode()


class StressResult:
    """What a stress run did: level updates sent, frames, frames dropped (gaps), checks made."""

    def __init__(self) -> None:
        self.updates = 0
        self.frames = 0
        self.dropped = 0
        self.replayed = 0
        self.top_checks = 0
        self.full_checks = 0


def run_stress(seed: int, updates: int, full_check_every: int = 500, drop_every: int = 2_000) -> StressResult:
    """Drive MarketData with a synthetic stream and check its book against the naive reference.

    Every frame: best bid/ask equal the reference's while synced. Every ``full_check_every``
    frames: all levels equal, and the invariants hold (``OrderBook._check`` and SortedList's own
    ``_check``). About one frame in ``drop_every`` is dropped (a gap: the book must resync from the
    snapshot it asks for) and as often an old frame is sent again (it must be ignored).
    Raises AssertionError on the first disagreement.
    """
    from feeds.pipeline import BookStatus, MarketData

    rng = np.random.default_rng(seed)
    instrument = Instrument("STRESSUSDT", "STRESS", "USDT", tick_units=1_000_000, step_units=1_000)
    market = SyntheticDepth(rng, instrument, levels=500)
    requests: list[str] = []
    data = MarketData({instrument.symbol: instrument}, request_snapshot=requests.append)
    result = StressResult()
    data.on_message(1, market.next_diff(5)[0])
    data.on_message(2, market.snapshot_text(), instrument.symbol)
    assert data.synced(instrument.symbol), "the first snapshot did not sync the book"
    book = data.book(instrument.symbol)
    previous = None
    recv_ns = 2
    while result.updates < updates:
        recv_ns += 1
        text, count = market.next_diff(int(rng.integers(1, 41)))
        result.updates += count
        result.frames += 1
        roll = rng.random()
        if roll < 1 / drop_every:
            result.dropped += 1
            previous = None
            continue  # lost on the wire: the next frame shows a gap
        events = data.on_message(recv_ns, text)
        if any(type(e) is BookStatus and not e.synced for e in events):
            assert requests, "a resync asked for no snapshot"
            requests.clear()
            data.on_message(recv_ns, market.snapshot_text(), instrument.symbol)
        assert data.synced(instrument.symbol), f"not synced after frame {result.frames}"
        if previous is not None and roll > 1 - 1 / drop_every:
            result.replayed += 1
            assert data.on_message(recv_ns, previous) == [], "an old frame changed the book"
        previous = text
        reference_bid, reference_ask = market.best()
        assert book.best_bid() == reference_bid and book.best_ask() == reference_ask, (
            f"frame {result.frames}: book {book.best_bid()}/{book.best_ask()} "
            f"!= reference {reference_bid}/{reference_ask}"
        )
        result.top_checks += 1
        if result.frames % full_check_every == 0:
            assert dict(book.bids.items()) == market.bids and dict(book.asks.items()) == market.asks
            book._check()
            book.bids._list._check()
            book.asks._list._check()
            result.full_checks += 1
    stats = data.stats(instrument.symbol)
    assert stats.gaps == result.dropped == stats.resyncs, (stats.gaps, result.dropped, stats.resyncs)
    assert stats.malformed == 0 and stats.crossed == 0 and data.internal_errors == 0
    return result
