"""The exchange's own order book: individual orders (L3) in FIFO queues per price level.

Prices are integer ticks, sizes integer lots. Every change of a level's total is recorded in
``touched`` as ``(side, price, previous_total)`` so the market can number the change, batch it
into depth diffs and keep an undo journal; the caller clears ``touched`` after each event.
Takers match price-time priority; the book never rests a crossing order.
"""
from __future__ import annotations

from sortedcontainers import SortedList

BID = 1
ASK = -1


class Level:
    """One price level: total lots and the resting orders, oldest first (dicts keep insertion order)."""

    __slots__ = ("total", "orders")

    def __init__(self) -> None:
        self.total = 0
        self.orders: dict[int, int] = {}


class Fill:
    """One maker order (partly) filled by a taker: maker order id, price ticks, lots."""

    __slots__ = ("maker_id", "price", "lots")

    def __init__(self, maker_id: int, price: int, lots: int) -> None:
        self.maker_id = maker_id
        self.price = price
        self.lots = lots


class L3Book:
    """Resting orders by side and price, plus an index of live order ids for uniform sampling.

    ``bids``/``asks`` map price -> Level; ``bid_prices``/``ask_prices`` keep the prices sorted
    (a SortedList's ends are O(1), unlike indexing a SortedDict's key view).
    """

    def __init__(self) -> None:
        self.bids: dict[int, Level] = {}
        self.asks: dict[int, Level] = {}
        self.bid_prices = SortedList()
        self.ask_prices = SortedList()
        self.touched: list[tuple[int, int, int]] = []
        self._where: dict[int, tuple[int, int]] = {}  # order id -> (side, price)
        self._live: list[int] = []  # live order ids; O(1) random pick and swap-remove
        self._slot: dict[int, int] = {}  # order id -> index in _live

    # -- reading ---------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._live)

    def best_bid(self) -> int | None:
        return self.bid_prices[-1] if self.bids else None

    def best_ask(self) -> int | None:
        return self.ask_prices[0] if self.asks else None

    def best(self, side: int) -> int | None:
        return self.best_bid() if side == BID else self.best_ask()

    def level_total(self, side: int, price: int) -> int:
        level = (self.bids if side == BID else self.asks).get(price)
        return level.total if level is not None else 0

    def top(self) -> tuple[int, int, int, int]:
        """(bid ticks, bid lots, ask ticks, ask lots); 0s for an empty side."""
        bids, asks = self.bids, self.asks
        if bids:
            bid_price = self.bid_prices[-1]
            bid_lots = bids[bid_price].total
        else:
            bid_price = bid_lots = 0
        if asks:
            ask_price = self.ask_prices[0]
            ask_lots = asks[ask_price].total
        else:
            ask_price = ask_lots = 0
        return bid_price, bid_lots, ask_price, ask_lots

    def levels(self, side: int, depth: int | None = None) -> list[tuple[int, int]]:
        """(ticks, lots) best first, all levels or the best ``depth``."""
        if side == BID:
            book, prices = self.bids, self.bid_prices
            size = len(prices)
            start = 0 if depth is None else max(0, size - depth)
            return [(p, book[p].total) for p in prices.islice(start, size, reverse=True)]
        book, prices = self.asks, self.ask_prices
        return [(p, book[p].total) for p in prices.islice(0, depth)]

    def order_count(self, side: int) -> int:
        return sum(len(level.orders) for level in (self.bids if side == BID else self.asks).values())

    def random_order(self, fraction: float) -> int | None:
        """The live order at ``fraction`` (0..1) of the live index: uniform sampling."""
        live = self._live
        if not live:
            return None
        return live[min(int(fraction * len(live)), len(live) - 1)]

    # -- writing ---------------------------------------------------------------------------
    def add(self, order_id: int, side: int, price: int, lots: int) -> None:
        """Rest a non-crossing order at the back of its level's queue."""
        book = self.bids if side == BID else self.asks
        level = book.get(price)
        if level is None:
            level = book[price] = Level()
            (self.bid_prices if side == BID else self.ask_prices).add(price)
        self.touched.append((side, price, level.total))
        level.orders[order_id] = lots
        level.total += lots
        self._where[order_id] = (side, price)
        self._slot[order_id] = len(self._live)
        self._live.append(order_id)

    def cancel(self, order_id: int) -> bool:
        """Remove a resting order; False when it no longer rests."""
        where = self._where.pop(order_id, None)
        if where is None:
            return False
        side, price = where
        book = self.bids if side == BID else self.asks
        level = book[price]
        self.touched.append((side, price, level.total))
        level.total -= level.orders.pop(order_id)
        if not level.orders:
            del book[price]
            (self.bid_prices if side == BID else self.ask_prices).remove(price)
        self._unindex(order_id)
        return True

    def take(self, taker_side: int, lots: int, limit_price: int, keep_levels: int = 1) -> list[Fill]:
        """Match a taker of ``lots`` against the opposite side up to ``limit_price`` (inclusive).

        Leaves at least ``keep_levels`` levels on the opposite side so the book never empties.
        Returns the fills in matching order; the unfilled rest is the caller's business.
        """
        fills: list[Fill] = []
        book = self.asks if taker_side == BID else self.bids
        prices = self.ask_prices if taker_side == BID else self.bid_prices
        remaining = lots
        while remaining > 0 and len(book) > keep_levels:
            price = prices[0] if taker_side == BID else prices[-1]
            if (taker_side == BID and price > limit_price) or (taker_side == ASK and price < limit_price):
                break
            level = book[price]
            self.touched.append((-taker_side, price, level.total))
            orders = level.orders
            while remaining > 0 and orders:
                maker_id = next(iter(orders))
                available = orders[maker_id]
                traded = available if available <= remaining else remaining
                fills.append(Fill(maker_id, price, traded))
                remaining -= traded
                level.total -= traded
                if traded == available:
                    del orders[maker_id]
                    del self._where[maker_id]
                    self._unindex(maker_id)
                else:
                    orders[maker_id] = available - traded
            if not orders:
                del book[price]
                prices.remove(price)
        return fills

    def _unindex(self, order_id: int) -> None:
        slot = self._slot.pop(order_id)
        last = self._live.pop()
        if last != order_id:
            self._live[slot] = last
            self._slot[last] = slot

    def check(self) -> None:
        """Invariant: not crossed, totals equal the sum of their orders, every level non-empty."""
        if self.bids and self.asks and self.best_bid() >= self.best_ask():
            raise AssertionError(f"crossed: bid {self.best_bid()} >= ask {self.best_ask()}")
        for side, book in ((BID, self.bids), (ASK, self.asks)):
            for price, level in book.items():
                if not level.orders or level.total != sum(level.orders.values()) or level.total <= 0:
                    raise AssertionError(f"bad level {side} {price}: {level.total} {level.orders}")
                for order_id in level.orders:
                    if self._where.get(order_id) != (side, price):
                        raise AssertionError(f"order {order_id} misplaced")
        if len(self._live) != len(self._where):
            raise AssertionError("live index out of step")
        if list(self.bid_prices) != sorted(self.bids) or list(self.ask_prices) != sorted(self.asks):
            raise AssertionError("price index out of step")
