"""The L2 order book: price levels in integer ticks, sizes in integer lots, on SortedDict.

SortedDict keeps the best level an O(1) peek away (performance.md: ~0.7M update+read/s, top-20
snapshot ~9 µs), where a dict sorted on read costs 150-460 µs per read.

A side holds at most ``LEVELS_KEPT`` levels: what a feed sends beyond that pushes the farthest
levels out of the book (snapshots and diffs alike), so a feed cannot grow a book without end.
"""
from __future__ import annotations

import re
from bisect import bisect_left, bisect_right, insort
from operator import itemgetter
from typing import Iterable

import numpy as np
from sortedcontainers import SortedDict

from orderbook.instrument import InexactValueError, Instrument

BID = 1
ASK = -1
# Levels a side keeps. Binance's deepest REST snapshot has 5000 a side and diffs may add levels
# beyond it; the page, the analytics and the strategies read the best few hundred at most, so
# levels past 20,000 from the touch are never looked at (~3 MB a side when full).
LEVELS_KEPT = 20_000

_dict_set = dict.__setitem__
_dict_del = dict.__delitem__
_first = itemgetter(0)
_second = itemgetter(1)


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

    def load_raw(self, update_id: int, bids: list, asks: list) -> int:
        """Replace the whole book from Binance's [[price, qty], ...] strings.

        Returns the number of off-grid levels left out: a real book can hold orders placed before
        the symbol's tickSize/stepSize last changed (e.g. BUSDTRY at 6.893 with tickSize 0.01).
        Such a level cannot be held in whole ticks and lots, so it is not kept, and a level whose
        size is off the step grid is treated as gone. Every level is converted before the book
        changes, so a malformed level (ValueError: not a decimal, a price not positive, a negative
        size) leaves the book as it was.
        """
        instrument = self.instrument
        bid_levels, bid_skipped = _convert_side(instrument, bids)
        ask_levels, ask_skipped = _convert_side(instrument, asks)
        self.bids = SortedDict(bid_levels)
        self.asks = SortedDict(ask_levels)
        self.update_id = update_id
        self._keep_near_levels()
        return bid_skipped + ask_skipped

    def apply_diff_raw(self, bids: list, asks: list) -> int:
        """Apply one diff's absolute levels ([[price, qty], ...] strings; qty 0 deletes), all or nothing.

        Returns the number of off-grid levels (see ``load_raw``) left out. Raises ValueError on a
        malformed level (not a decimal, a price not positive, a negative size) and
        CrossedBookError when the result would be crossed; either way the book is left exactly as
        it was (every change is logged and undone).

        This is the feed's hot path: conversions go through the instrument's caches (hits are
        valid by construction: Instrument caches only positive prices and non-negative sizes);
        a size change on a known level is one dict store; a level that appears or goes is added
        to or removed from SortedDict's SortedList with SortedList.add/_delete's own steps
        inlined on its internals (sortedcontainers 2.x: ``_lists``, ``_maxes``, ``_index``,
        ``_len``, ``_load``; the positional index is cleared rather than patched, and SortedList
        rebuilds it when next needed). That saves three Python calls per such level.
        """
        instrument = self.instrument
        price_get = instrument._price_cache.get
        qty_get = instrument._qty_cache.get
        undo: list = []
        log = undo.append
        inserted = False
        skipped = 0
        try:
            for levels, raw in ((self.bids, bids), (self.asks, asks)):
                if not raw:
                    continue
                level_get = levels.get
                keys = levels._list
                maxes = keys._maxes
                sublists = keys._lists
                index = keys._index
                split_above = keys._load << 1
                merge_below = (keys._load >> 1) + 1
                for price, qty in raw:
                    ticks = price_get(price)
                    if ticks is None:
                        try:
                            ticks = _checked_ticks(instrument, price)
                        except InexactValueError:
                            skipped += 1  # a legacy price between ticks: cannot be held, not kept
                            continue
                    lots = qty_get(qty)
                    if lots is None:
                        try:
                            lots = _checked_lots(instrument, qty)
                        except InexactValueError:
                            skipped += 1  # a legacy size between lots: its size is unknown, drop it
                            lots = 0
                    old = level_get(ticks)
                    if lots:
                        if old is None:
                            if maxes:  # SortedList.add
                                pos = bisect_right(maxes, ticks)
                                if pos == len(maxes):
                                    pos -= 1
                                    sublist = sublists[pos]
                                    sublist.append(ticks)
                                    maxes[pos] = ticks
                                else:
                                    sublist = sublists[pos]
                                    insort(sublist, ticks)
                                if len(sublist) > split_above:
                                    keys._expand(pos)  # splits the sublist
                                elif index:
                                    del index[:]
                                keys._len += 1
                            else:
                                keys.add(ticks)
                            inserted = True
                        elif old == lots:
                            continue
                        _dict_set(levels, ticks, lots)
                    elif old is None:
                        continue  # deleting an absent level is normal on Binance
                    else:
                        _dict_del(levels, ticks)
                        pos = bisect_left(maxes, ticks)  # SortedList.remove
                        sublist = sublists[pos]
                        if len(sublist) > merge_below:
                            del sublist[bisect_left(sublist, ticks)]
                            maxes[pos] = sublist[-1]
                            keys._len -= 1
                            if index:
                                del index[:]
                        else:
                            keys._delete(pos, bisect_left(sublist, ticks))  # may merge sublists
                    log((levels, ticks, old))
        except Exception as exc:
            _rollback(undo)
            if isinstance(exc, ValueError):
                raise
            raise ValueError(f"{self.symbol}: malformed level ({type(exc).__name__}: {exc})") from exc
        if inserted:
            # Only a new price level can cross the book: changed sizes and deletions cannot. The
            # best prices are read straight off the sorted lists' end sublists (peekitem: 5x more).
            bid_lists = self.bids._list._lists
            ask_lists = self.asks._list._lists
            if bid_lists and ask_lists and bid_lists[-1][-1] >= ask_lists[0][0]:
                best_bid, best_ask = self.bids.peekitem(-1), self.asks.peekitem(0)
                _rollback(undo)
                raise CrossedBookError(
                    f"{self.symbol}: diff after update {self.update_id} would cross the book "
                    f"(bid {best_bid} >= ask {best_ask})"
                )
            if len(self.bids) > LEVELS_KEPT or len(self.asks) > LEVELS_KEPT:
                self._keep_near_levels()
        return skipped

    def _keep_near_levels(self) -> None:
        """Drop the levels farthest from the touch beyond LEVELS_KEPT a side."""
        for levels, farthest in ((self.bids, 0), (self.asks, -1)):
            excess = len(levels) - LEVELS_KEPT
            for _ in range(excess):
                levels.popitem(farthest)

    def replace_with(self, other: "OrderBook") -> None:
        """Take over ``other``'s levels, update id and times in one step (a book built aside).

        The object keeps its identity, so holders of this book see the new state at once.
        """
        self.bids = other.bids
        self.asks = other.asks
        self.update_id = other.update_id
        self.ts_event = other.ts_event
        self.ts_recv = other.ts_recv

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


def _checked_ticks(instrument: Instrument, text: str) -> int:
    """A price cache miss: convert, and refuse a price that is not positive."""
    ticks = instrument.price_to_ticks(text)
    if ticks <= 0:
        raise ValueError(f"{instrument.symbol}: price {text!r} is not positive")
    return ticks


def _checked_lots(instrument: Instrument, text: str) -> int:
    """A quantity cache miss: convert, and refuse a negative quantity."""
    lots = instrument.qty_to_lots(text)
    if lots < 0:
        raise ValueError(f"{instrument.symbol}: quantity {text!r} is negative")
    return lots


def _convert_side(instrument: Instrument, levels: list) -> tuple[dict[int, int], int]:
    """One snapshot side [[price, qty], ...] -> ({ticks: lots} without empty levels, off-grid count).

    A resync's snapshot is thousands of levels of mostly known strings: one pass of C-level maps
    over the instrument's caches does that case. A symbol's first snapshot (its first level not
    cached) goes to the bulk conversion; anything empty, off the grid or malformed level by level.
    A repeated price keeps its last size.
    """
    try:
        if levels and instrument._price_cache.get(levels[0][0]) is None:
            return _convert_side_in_bulk(instrument, levels)
        converted = dict(zip(
            map(instrument._price_cache.get, map(_first, levels)),
            map(instrument._qty_cache.get, map(_second, levels)),
        ))
    except (TypeError, IndexError, KeyError):
        return _convert_side_slowly(instrument, levels)
    sizes = converted.values()
    if None in converted or None in sizes or 0 in sizes:
        return _convert_side_in_bulk(instrument, levels)
    return converted, 0


# Binance's canonical decimals, one per line: ASCII digits, a point, exactly 8 decimals. At most 10
# digits before the point keeps every value below 1e18 units, inside int64 (numpy saturates silently).
_CANONICAL_LINES = re.compile(r"(?:[0-9]{1,10}\.[0-9]{8}\n)*[0-9]{1,10}\.[0-9]{8}")


def _units_of_lines(texts: list[str]) -> np.ndarray | None:
    """Canonical decimal strings -> int64 1e-8 units, parsed in C; None if any is not canonical."""
    try:
        joined = "\n".join(texts)
    except TypeError:
        return None
    if _CANONICAL_LINES.fullmatch(joined) is None:
        return None
    units = np.fromstring(joined.replace(".", ""), dtype=np.int64, sep="\n")
    return units if len(units) == len(texts) else None  # a text holding a newline is not one decimal


def _convert_side_in_bulk(instrument: Instrument, levels: list) -> tuple[dict[int, int], int]:
    """A side of mostly unseen strings (a fresh symbol's snapshot): when every price and size is
    canonical, positive and on the grid, convert them all in numpy (about 3x faster than level by
    level: ``bench_book --snapshot-load``) and remember them for the diffs to come; otherwise level
    by level."""
    try:
        prices = list(map(_first, levels))
        sizes = list(map(_second, levels))
    except (TypeError, IndexError, KeyError):
        return _convert_side_slowly(instrument, levels)
    if not prices:
        return {}, 0
    price_units = _units_of_lines(prices)
    size_units = _units_of_lines(sizes) if price_units is not None else None
    if price_units is None or size_units is None:
        return _convert_side_slowly(instrument, levels)
    ticks, tick_rest = np.divmod(price_units, instrument.tick_units)
    lots, lot_rest = np.divmod(size_units, instrument.step_units)
    if tick_rest.any() or lot_rest.any() or not ticks.all():  # off the grid, or a zero price: the careful way
        return _convert_side_slowly(instrument, levels)
    tick_list = ticks.tolist()
    lot_list = lots.tolist()
    instrument.remember_conversions(prices, tick_list, sizes, lot_list)
    converted = dict(zip(tick_list, lot_list))
    if not lots.all():
        converted = {price: size for price, size in converted.items() if size}
    return converted, 0


def _convert_side_slowly(instrument: Instrument, levels: list) -> tuple[dict[int, int], int]:
    converted: dict[int, int] = {}
    skipped = 0
    price_get = instrument._price_cache.get
    qty_get = instrument._qty_cache.get
    try:
        for price, qty in levels:
            ticks = price_get(price)
            if ticks is None:
                try:
                    ticks = _checked_ticks(instrument, price)
                except InexactValueError:
                    skipped += 1  # a legacy price between ticks: cannot be held, not kept
                    continue
            lots = qty_get(qty)
            if lots is None:
                try:
                    lots = _checked_lots(instrument, qty)
                except InexactValueError:
                    skipped += 1  # a legacy size between lots: its size is unknown, drop the level
                    lots = 0
            converted[ticks] = lots
    except (TypeError, AttributeError) as exc:
        raise ValueError(f"{instrument.symbol}: malformed level ({type(exc).__name__}: {exc})") from exc
    return {ticks: lots for ticks, lots in converted.items() if lots}, skipped


def _rollback(undo: list) -> None:
    """Undo the changes ``apply_diff_raw`` logged as (levels, ticks, previous lots), newest first."""
    for levels, ticks, before in reversed(undo):
        if before is None:
            levels.pop(ticks, None)
        else:
            levels[ticks] = before
