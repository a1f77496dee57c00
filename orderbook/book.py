"""The L2 order book: price levels in integer ticks, sizes in integer lots, on SortedDict.

SortedDict keeps the best level an O(1) peek away (performance.md: ~0.7M update+read/s, top-20
snapshot ~9 µs), where a dict sorted on read costs 150-460 µs per read.
"""
from __future__ import annotations

from typing import Iterable

from sortedcontainers import SortedDict

from orderbook.instrument import Instrument

BID = 1
ASK = -1


class CrossedBookError(AssertionError):
    """The book's invariant broke: best bid >= best ask, or a level that is not positive."""


class OrderBook:
    """One symbol's L2 book. ``update_id`` is the exchange's id of the last change applied.

    bids/asks map price ticks -> size lots; a size of 0 removes the level.
    """

    __slots__ = ("instrument", "symbol", "bids", "asks", "update_id", "ts_event", "ts_recv")

    def __init__(self, instrument: Instrument) -> None:
        self.instrument = instrument
        self.symbol = instrument.symbol
        self.bids: SortedDict = SortedDict()
        self.asks: SortedDict = SortedDict()
        self.update_id = 0
        self.ts_event = 0  # ns, exchange time of the last applied change
        self.ts_recv = 0  # ns, local receive time of the last applied change

    # -- writing ---------------------------------------------------------------------------
    def clear(self) -> None:
        self.bids.clear()
        self.asks.clear()
        self.update_id = 0

    def load(self, update_id: int, bids: Iterable[tuple[int, int]], asks: Iterable[tuple[int, int]]) -> None:
        """Replace the whole book (a REST snapshot, already in ticks/lots)."""
        self.bids = SortedDict((p, q) for p, q in bids if q > 0)
        self.asks = SortedDict((p, q) for p, q in asks if q > 0)
        self.update_id = update_id

    def load_raw(self, update_id: int, bids: list, asks: list) -> None:
        """Replace the whole book from Binance's [[price, qty], ...] strings."""
        to_ticks = self.instrument.price_to_ticks
        to_lots = self.instrument.qty_to_lots
        self.load(
            update_id,
            ((to_ticks(p), to_lots(q)) for p, q in bids),
            ((to_ticks(p), to_lots(q)) for p, q in asks),
        )

    def apply_raw(self, bids: list, asks: list) -> None:
        """Apply a diff's absolute levels ([[price, qty], ...] strings; qty 0 deletes).

        Converts every level before touching the book, so an inexact value (raised as
        InexactValueError/ValueError) leaves the book unchanged.
        """
        to_ticks = self.instrument.price_to_ticks
        to_lots = self.instrument.qty_to_lots
        bid_levels = [(to_ticks(p), to_lots(q)) for p, q in bids]
        ask_levels = [(to_ticks(p), to_lots(q)) for p, q in asks]
        self.apply(bid_levels, ask_levels)

    def apply(self, bids: Iterable[tuple[int, int]], asks: Iterable[tuple[int, int]]) -> None:
        """Apply absolute levels already in ticks/lots (0 lots deletes; deleting an absent level is normal)."""
        side = self.bids
        for price, size in bids:
            if size:
                side[price] = size
            else:
                side.pop(price, None)
        side = self.asks
        for price, size in asks:
            if size:
                side[price] = size
            else:
                side.pop(price, None)

    def set_level(self, side: int, price: int, size: int) -> None:
        levels = self.bids if side == BID else self.asks
        if size:
            levels[price] = size
        else:
            levels.pop(price, None)

    # -- reading ---------------------------------------------------------------------------
    def best_bid(self) -> tuple[int, int] | None:
        """(ticks, lots) of the highest bid, or None."""
        return self.bids.peekitem(-1) if self.bids else None

    def best_ask(self) -> tuple[int, int] | None:
        """(ticks, lots) of the lowest ask, or None."""
        return self.asks.peekitem(0) if self.asks else None

    def size_at(self, side: int, price: int) -> int:
        """Displayed lots at a price (0 when no level)."""
        return (self.bids if side == BID else self.asks).get(price, 0)

    def top_bids(self, n: int) -> list[tuple[int, int]]:
        """Best n bids, best first."""
        bids = self.bids
        count = len(bids)
        keys = bids.keys()
        return [(keys[i], bids[keys[i]]) for i in range(count - 1, max(count - n, 0) - 1, -1)]

    def top_asks(self, n: int) -> list[tuple[int, int]]:
        """Best n asks, best first."""
        asks = self.asks
        keys = asks.keys()
        return [(keys[i], asks[keys[i]]) for i in range(min(n, len(asks)))]

    def is_empty(self) -> bool:
        return not self.bids and not self.asks

    def is_crossed(self) -> bool:
        return bool(self.bids and self.asks and self.bids.peekitem(-1)[0] >= self.asks.peekitem(0)[0])

    def _check(self) -> None:
        """Invariant: not crossed, every level positive. Raises CrossedBookError."""
        if self.is_crossed():
            raise CrossedBookError(
                f"{self.symbol} crossed at update {self.update_id}: "
                f"bid {self.bids.peekitem(-1)} >= ask {self.asks.peekitem(0)}"
            )
        for levels in (self.bids, self.asks):
            for price, size in levels.items():
                if size <= 0 or price <= 0:
                    raise CrossedBookError(f"{self.symbol}: level {price} has size {size}")

    def copy(self) -> "OrderBook":
        other = OrderBook(self.instrument)
        other.bids = self.bids.copy()
        other.asks = self.asks.copy()
        other.update_id = self.update_id
        other.ts_event = self.ts_event
        other.ts_recv = self.ts_recv
        return other
