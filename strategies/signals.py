"""Short-term signals for the liquidity taker: book imbalance, trade flow and mid momentum.

Windows are in event time (ns from the events themselves); every signal is pure bookkeeping.
A window also holds at most ``WINDOW_SAMPLES`` samples, whatever its length: beyond that the
oldest leave early, so a long window in a burst of prints costs bounded memory.
"""
from __future__ import annotations

from collections import deque

from orderbook.book import OrderBook

# Samples a window holds at most: Binance's busiest symbols print a few hundred trades a second,
# so this covers minutes of the busiest tape (~10 MB of tuples when full).
WINDOW_SAMPLES = 100_000


def book_imbalance(book: OrderBook, levels: int) -> float | None:
    """(bid lots - ask lots) / (bid lots + ask lots) over the best ``levels`` of each side, in [-1, 1].

    None when the book has nothing on either side.
    """
    bid_lots = sum(size for _, size in book.top_bids(levels))
    ask_lots = sum(size for _, size in book.top_asks(levels))
    total = bid_lots + ask_lots
    if total == 0:
        return None
    return (bid_lots - ask_lots) / total


class TradeFlow:
    """Signed aggressor volume over a sliding window: (buy lots - sell lots) / (buy + sell), in [-1, 1]."""

    __slots__ = ("window_ns", "_trades", "_buy", "_sell")

    def __init__(self, window_ns: int) -> None:
        self.window_ns = window_ns
        self._trades: deque[tuple[int, int, bool]] = deque()
        self._buy = 0
        self._sell = 0

    def add(self, ts: int, qty: int, aggressor_is_buy: bool) -> None:
        trades = self._trades
        if len(trades) >= WINDOW_SAMPLES:
            self._drop_oldest()
        trades.append((ts, qty, aggressor_is_buy))
        if aggressor_is_buy:
            self._buy += qty
        else:
            self._sell += qty
        self._expire(ts)

    def __len__(self) -> int:
        return len(self._trades)

    def _expire(self, now: int) -> None:
        horizon = now - self.window_ns
        trades = self._trades
        while trades and trades[0][0] <= horizon:
            self._drop_oldest()

    def _drop_oldest(self) -> None:
        _, qty, is_buy = self._trades.popleft()
        if is_buy:
            self._buy -= qty
        else:
            self._sell -= qty

    def value(self, now: int) -> float | None:
        """None when no trade is in the window."""
        self._expire(now)
        total = self._buy + self._sell
        if total == 0:
            return None
        return (self._buy - self._sell) / total

    @property
    def volume(self) -> int:
        """Lots traded inside the window as of the last update."""
        return self._buy + self._sell


class Momentum:
    """Mid change over a window, in bps: (mid now / mid at least window ago - 1) * 1e4."""

    __slots__ = ("window_ns", "_mids")

    def __init__(self, window_ns: int) -> None:
        self.window_ns = window_ns
        self._mids: deque[tuple[int, float]] = deque()

    def add(self, ts: int, mid: float) -> None:
        mids = self._mids
        if mids and mids[-1][1] == mid:
            return  # unchanged mids add nothing but memory
        if len(mids) >= WINDOW_SAMPLES:
            mids.popleft()  # the reference goes too: no value until the history reaches back again
        mids.append((ts, mid))
        horizon = ts - self.window_ns
        # keep exactly one sample at or before the horizon: the reference price
        while len(mids) >= 2 and mids[1][0] <= horizon:
            mids.popleft()

    def __len__(self) -> int:
        return len(self._mids)

    def value(self, now: int, mid: float) -> float | None:
        """None until the history reaches back a full window."""
        mids = self._mids
        horizon = now - self.window_ns
        while len(mids) >= 2 and mids[1][0] <= horizon:
            mids.popleft()
        if not mids or mids[0][0] > horizon or mids[0][1] <= 0:
            return None
        return (mid / mids[0][1] - 1.0) * 10_000.0
