"""Book analytics: pure functions over an OrderBook, in ticks and lots.

Prices come back in ticks (a float where the value can fall between ticks: mid, microprice,
VWAP) and sizes in lots; notionals are exact integers in quote 1e-8 units (what
``Instrument.notional_units`` returns). Every function returns None (or zeros) for a book side
that is empty rather than raising: an empty or one-sided book is a normal market state.
Convert to display floats at the JSON edge with ``Instrument.ticks_to_price`` / ``lots_to_qty``.
"""
from __future__ import annotations

from itertools import islice
from math import ceil, floor
from typing import NamedTuple

from orderbook.book import ASK, BID, OrderBook
from orderbook.instrument import UNITS_PER_ONE

BPS = 10_000.0  # basis points per unit


class TopOfBook(NamedTuple):
    """Best bid and ask: prices in ticks, sizes in lots."""

    bid: int
    bid_lots: int
    ask: int
    ask_lots: int


class DepthWithin(NamedTuple):
    """Resting size within ``bps`` of the mid, per side: lots and exact quote notional.

    *_notional_units are quote 1e-8 units; bid_qty/ask_qty (base) and bid_notional/ask_notional
    (quote) are the same numbers as display floats.
    """

    bps: float
    bid_lots: int
    ask_lots: int
    bid_notional_units: int
    ask_notional_units: int
    bid_qty: float
    ask_qty: float
    bid_notional: float
    ask_notional: float


class FillEstimate(NamedTuple):
    """What sweeping one side of the book for ``requested_lots`` would give.

    book_side: BID (selling into the bids) or ASK (buying from the asks). vwap_ticks: average fill
    price in ticks (None when nothing fills); worst_ticks: the last level touched; impact_bps: VWAP
    distance from that side's best price, always >= 0; unfilled_lots: what the visible book
    cannot absorb.
    """

    book_side: int
    requested_lots: int
    filled_lots: int
    unfilled_lots: int
    notional_units: int
    vwap_ticks: float | None
    worst_ticks: int | None
    levels: int
    impact_bps: float | None


def top_of_book(book: OrderBook) -> TopOfBook | None:
    """Best bid and ask, or None unless both sides have a level."""
    if not book.bids or not book.asks:
        return None
    bid, bid_lots = book.bids.peekitem(-1)
    ask, ask_lots = book.asks.peekitem(0)
    return TopOfBook(bid, bid_lots, ask, ask_lots)


def best_bid(book: OrderBook) -> tuple[int, int] | None:
    """(ticks, lots) of the highest bid."""
    return book.best_bid()


def best_ask(book: OrderBook) -> tuple[int, int] | None:
    """(ticks, lots) of the lowest ask."""
    return book.best_ask()


def mid_ticks(book: OrderBook) -> float | None:
    """(best bid + best ask) / 2, in ticks."""
    top = top_of_book(book)
    return None if top is None else (top.bid + top.ask) / 2.0


def mid_price(book: OrderBook) -> float | None:
    """Mid as a display price."""
    mid = mid_ticks(book)
    return None if mid is None else mid * book.instrument.tick_units / UNITS_PER_ONE


def spread_ticks(book: OrderBook) -> int | None:
    """Best ask - best bid, in ticks (>= 1 on a book that is not crossed)."""
    top = top_of_book(book)
    return None if top is None else top.ask - top.bid


def spread_bps(book: OrderBook) -> float | None:
    """Spread relative to the mid, in basis points."""
    top = top_of_book(book)
    if top is None:
        return None
    return (top.ask - top.bid) / ((top.bid + top.ask) / 2.0) * BPS


def microprice_ticks(book: OrderBook) -> float | None:
    """Size-weighted mid (bid * ask_lots + ask * bid_lots) / (bid_lots + ask_lots), in ticks.

    Leans towards the side with less size: the price the next trade is more likely to move to.
    """
    top = top_of_book(book)
    if top is None:
        return None
    total = top.bid_lots + top.ask_lots
    return (top.bid * top.ask_lots + top.ask * top.bid_lots) / total


def imbalance(book: OrderBook, levels: int = 1) -> float | None:
    """(bid lots - ask lots) / (bid lots + ask lots) over the best ``levels`` of each side.

    In [-1, 1]: +1 all size on the bid, -1 all on the ask. None when both sides are empty.
    """
    if levels < 1:
        raise ValueError(f"levels must be >= 1, got {levels}")
    bid_lots = sum(lots for _, lots in book.top_bids(levels))
    ask_lots = sum(lots for _, lots in book.top_asks(levels))
    total = bid_lots + ask_lots
    return None if total == 0 else (bid_lots - ask_lots) / total


def depth_within_bps(book: OrderBook, bps: float) -> DepthWithin:
    """Size resting within ``bps`` basis points of the mid on each side (bound included).

    A one-sided book has no mid; its depth is reported as zero.
    """
    if bps < 0:
        raise ValueError(f"bps must not be negative, got {bps}")
    instrument = book.instrument
    mid = mid_ticks(book)
    bid_lots = ask_lots = bid_notional = ask_notional = 0
    if mid is not None:
        # A tiny tolerance keeps a level sitting exactly on the bound inside despite float rounding.
        low = ceil(mid * (1.0 - bps / BPS) - 1e-9)
        high = floor(mid * (1.0 + bps / BPS) + 1e-9)
        bids, asks = book.bids, book.asks
        for ticks in bids.irange(minimum=low):
            lots = bids[ticks]
            bid_lots += lots
            bid_notional += ticks * lots
        for ticks in asks.irange(maximum=high):
            lots = asks[ticks]
            ask_lots += lots
            ask_notional += ticks * lots
    scale = instrument.tick_units * instrument.step_units
    bid_units = bid_notional * scale // UNITS_PER_ONE
    ask_units = ask_notional * scale // UNITS_PER_ONE
    return DepthWithin(
        bps=float(bps),
        bid_lots=bid_lots,
        ask_lots=ask_lots,
        bid_notional_units=bid_units,
        ask_notional_units=ask_units,
        bid_qty=instrument.lots_to_qty(bid_lots),
        ask_qty=instrument.lots_to_qty(ask_lots),
        bid_notional=bid_units / UNITS_PER_ONE,
        ask_notional=ask_units / UNITS_PER_ONE,
    )


def _levels_best_first(book: OrderBook, book_side: int):
    if book_side == BID:
        bids = book.bids
        return ((ticks, bids[ticks]) for ticks in reversed(bids))
    if book_side == ASK:
        asks = book.asks
        return ((ticks, asks[ticks]) for ticks in asks)
    raise ValueError(f"book_side must be BID (1) or ASK (-1), got {book_side!r}")


def vwap_to_fill(book: OrderBook, book_side: int, lots: int) -> FillEstimate:
    """Sweep ``book_side`` (BID = sell into the bids, ASK = buy from the asks) for ``lots``.

    Reports the average price, the worst level reached and the part the book cannot fill.
    """
    if lots < 0:
        raise ValueError(f"lots must not be negative, got {lots}")
    remaining = lots
    weighted = 0  # sum of ticks * lots
    worst = None
    best = None
    used = 0
    for ticks, size in _levels_best_first(book, book_side):
        if remaining == 0:
            break
        if best is None:
            best = ticks
        take = size if size < remaining else remaining
        weighted += ticks * take
        remaining -= take
        worst = ticks
        used += 1
    filled = lots - remaining
    instrument = book.instrument
    notional = weighted * instrument.tick_units * instrument.step_units // UNITS_PER_ONE
    if filled == 0:
        return FillEstimate(book_side, lots, 0, remaining, 0, None, None, 0, None)
    vwap = weighted / filled
    impact = abs(vwap - best) / best * BPS
    return FillEstimate(book_side, lots, filled, remaining, notional, vwap, worst, used, impact)


def cumulative_depth(book: OrderBook, book_side: int, levels: int | None = None) -> list[tuple[int, int]]:
    """[(ticks, cumulative lots), ...] from the best level outwards; all levels when ``levels`` is None."""
    source = _levels_best_first(book, book_side)
    if levels is not None:
        if levels < 0:
            raise ValueError(f"levels must not be negative, got {levels}")
        source = islice(source, levels)
    total = 0
    out = []
    for ticks, size in source:
        total += size
        out.append((ticks, total))
    return out
