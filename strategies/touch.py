"""The best bid and ask of an OrderBook in ticks, read the cheap way: the hot paths ask on every event.

``OrderBook.best_bid()`` goes through SortedDict.peekitem (~0.4 µs, and a tuple with the size);
the best prices sit at the ends of the sorted key lists, which orderbook.book's own hot path reads
directly (sortedcontainers 2.x: ``SortedDict._list._lists``, the key sublists, never empty ones).
"""
from __future__ import annotations

from orderbook.book import OrderBook


def best_prices(book: OrderBook) -> tuple[int | None, int | None]:
    """(best bid, best ask) in ticks; None for an empty side."""
    bids = book.bids._list._lists
    asks = book.asks._list._lists
    return (bids[-1][-1] if bids else None), (asks[0][0] if asks else None)


def best_bid_price(book: OrderBook) -> int | None:
    bids = book.bids._list._lists
    return bids[-1][-1] if bids else None


def best_ask_price(book: OrderBook) -> int | None:
    asks = book.asks._list._lists
    return asks[0][0] if asks else None
