"""Level updates/s of our order book against the alternatives, side by side in one run.

    .venv/bin/python -m tests.benchmarks.bench_book [--updates N] [--repeat N] [--quick] [--stress N]
        [--snapshot-load]

Every implementation applies the same seeded stream of diffs (1-40 levels each, clustered near
the touch, ~3k levels per side, about a quarter deletes), measured two ways: pure updates, and
update + read of the best bid and ask after every diff (what a strategy does on each book event).

- ours, raw diff: OrderBook.apply_diff_raw on the frames' [[price, qty]] strings - the feed's
  real path, conversion to ticks/lots and the atomic crossing check included;
- ours, ticks: OrderBook.apply on (ticks, lots) already converted;
- SortedDict: a plain sortedcontainers.SortedDict per side, one __setitem__/pop per level;
- dict, scan on read: plain dicts, max()/min() over the keys to read the best;
- python-binance DepthCache: add_bid/add_ask on the raw strings, get_bids()/get_asks() to read;
- order-book (PyPI C extension): bids/asks item assignment, index(0) to read;
- numpy dense: one array per side indexed by tick offset, best kept by pointer and rescanned.

``--snapshot-load`` instead times converting one side of a symbol's first REST snapshot (5,000
levels of unseen strings): the bulk path against level by level, and a resync's (cached) load.

``--stress N`` also runs the synchroniser + book against the naive reference for N updates (the
unit test runs 1M).
"""
from __future__ import annotations

import argparse
import gc
import time

import numpy as np
import orjson
from sortedcontainers import SortedDict

from orderbook.book import OrderBook
from orderbook.instrument import Instrument
from tests.orderbook.synthetic_depth import SyntheticDepth, run_stress

INSTRUMENT = Instrument("BENCHUSDT", "BENCH", "USDT", tick_units=1_000_000, step_units=1_000)


def workload(updates: int, seed: int = 11):
    """(snapshot raw, snapshot ticks, diffs raw, diffs ticks, level updates)."""
    market = SyntheticDepth(np.random.default_rng(seed), INSTRUMENT, levels=3000, mid_ticks=2_000_000)
    snapshot = orjson.loads(market.snapshot_text())
    rng = np.random.default_rng(seed + 1)
    raw_diffs, tick_diffs = [], []
    count = 0
    while count < updates:
        data = orjson.loads(market.next_diff(int(rng.integers(1, 41)))[0])["data"]
        raw_diffs.append((data["b"], data["a"]))
        tick_diffs.append((_ticks(data["b"]), _ticks(data["a"])))
        count += len(data["b"]) + len(data["a"])
    return snapshot, raw_diffs, tick_diffs, count


def _ticks(levels):
    return [(INSTRUMENT.price_to_ticks(p), INSTRUMENT.qty_to_lots(q)) for p, q in levels]


# -- implementations: setup(snapshot) -> state; update(state, diff); best(state) ----------------
class Ours:
    name = "ours, raw diff (apply_diff_raw)"
    raw = True

    def setup(self, snapshot):
        book = OrderBook(INSTRUMENT)
        book.load_raw(snapshot["lastUpdateId"], snapshot["bids"], snapshot["asks"])
        return book

    def update(self, book, diff):
        book.apply_diff_raw(diff[0], diff[1])

    def best(self, book):
        return book.best_bid(), book.best_ask()


class OursTicks(Ours):
    name = "ours, ticks (OrderBook.apply)"
    raw = False

    def update(self, book, diff):
        book.apply(diff[0], diff[1])


class PlainSortedDict:
    name = "SortedDict, one setitem per level"
    raw = False

    def setup(self, snapshot):
        return (SortedDict(_ticks(snapshot["bids"])), SortedDict(_ticks(snapshot["asks"])))

    def update(self, state, diff):
        for side, levels in zip(state, diff):
            for price, lots in levels:
                if lots:
                    side[price] = lots
                else:
                    side.pop(price, None)

    def best(self, state):
        return state[0].peekitem(-1), state[1].peekitem(0)


class DictScan(PlainSortedDict):
    name = "dict, max/min scan on read"

    def setup(self, snapshot):
        return (dict(_ticks(snapshot["bids"])), dict(_ticks(snapshot["asks"])))

    def best(self, state):
        return max(state[0]), min(state[1])


class BinanceDepthCache:
    name = "python-binance DepthCache"
    raw = True

    def setup(self, snapshot):
        from binance.ws.depthcache import DepthCache

        cache = DepthCache("BENCHUSDT")
        for level in snapshot["bids"]:
            cache.add_bid(level)
        for level in snapshot["asks"]:
            cache.add_ask(level)
        return cache

    def update(self, cache, diff):
        for level in diff[0]:
            cache.add_bid(level)
        for level in diff[1]:
            cache.add_ask(level)

    def best(self, cache):
        return cache.get_bids()[0], cache.get_asks()[0]


class COrderBook:
    name = "order-book (PyPI, C extension)"
    raw = False

    def setup(self, snapshot):
        import order_book

        book = order_book.OrderBook()
        for price, lots in _ticks(snapshot["bids"]):
            book.bids[price] = lots
        for price, lots in _ticks(snapshot["asks"]):
            book.asks[price] = lots
        return book

    def update(self, book, diff):
        bids, asks = book.bids, book.asks
        for price, lots in diff[0]:
            if lots:
                bids[price] = lots
            elif price in bids:
                del bids[price]
        for price, lots in diff[1]:
            if lots:
                asks[price] = lots
            elif price in asks:
                del asks[price]

    def best(self, book):
        return book.bids.index(0), book.asks.index(0)


class DenseNumpy:
    """Arrays over the stream's whole price range; the best is a pointer, rescanned when it goes."""

    name = "numpy dense array by tick"
    raw = False

    def __init__(self, low: int, high: int) -> None:
        self.base = low
        self.span = high - low + 1

    def setup(self, snapshot):
        base = self.base
        bids = np.zeros(self.span, dtype=np.int64)
        asks = np.zeros(self.span, dtype=np.int64)
        for price, lots in _ticks(snapshot["bids"]):
            bids[price - base] = lots
        for price, lots in _ticks(snapshot["asks"]):
            asks[price - base] = lots
        return [bids, asks, int(np.flatnonzero(bids)[-1]), int(np.flatnonzero(asks)[0])]

    def update(self, state, diff):
        bids, asks, best_bid, best_ask = state
        base = self.base
        for price, lots in diff[0]:
            i = price - base
            bids[i] = lots
            if lots:
                if i > best_bid:
                    best_bid = i
            elif i == best_bid:
                below = np.flatnonzero(bids[:i])
                best_bid = int(below[-1]) if below.size else 0
        for price, lots in diff[1]:
            i = price - base
            asks[i] = lots
            if lots:
                if i < best_ask:
                    best_ask = i
            elif i == best_ask:
                above = np.flatnonzero(asks[i:])
                best_ask = i + int(above[0]) if above.size else self.span - 1
        state[2], state[3] = best_bid, best_ask

    def best(self, state):
        bids, asks, best_bid, best_ask = state
        return (self.base + best_bid, int(bids[best_bid])), (self.base + best_ask, int(asks[best_ask]))


def price_range(snapshot, tick_diffs) -> tuple[int, int]:
    prices = [p for p, _ in _ticks(snapshot["bids"]) + _ticks(snapshot["asks"])]
    prices += [p for bids, asks in tick_diffs for p, _ in bids + asks]
    return min(prices), max(prices)


IMPLEMENTATIONS = [Ours(), OursTicks(), PlainSortedDict(), DictScan(), BinanceDepthCache(), COrderBook()]


def measure(impl, snapshot, raw_diffs, tick_diffs, read: bool, budget_s: float) -> tuple[float, int]:
    """(level updates/s, diffs done); stops after ``budget_s`` for the slow ones."""
    diffs = raw_diffs if impl.raw else tick_diffs
    state = impl.setup(snapshot)
    update, best = impl.update, impl.best
    gc.collect()
    levels = done = 0
    start = time.perf_counter()
    deadline = start + budget_s
    for diff in diffs:
        update(state, diff)
        if read:
            best(state)
        levels += len(diff[0]) + len(diff[1])
        done += 1
        if done % 256 == 0 and time.perf_counter() > deadline:
            break
    return levels / (time.perf_counter() - start), done


def snapshot_load(levels: int = 5_000, seed: int = 1, rounds: int = 50) -> None:
    """µs per level to convert a snapshot side: fresh (bulk vs level by level) and cached (a resync)."""
    from orderbook.book import _convert_side, _convert_side_slowly
    from orderbook.instrument import CONVERSION_CACHE_ENTRIES, Instrument, units_to_decimal
    from tests.benchmarks.bench_backtest import time_it  # CPU time per round, best of three blocks

    def fresh() -> Instrument:
        return Instrument("TESTUSDT", "TEST", "USDT", tick_units=1_000_000, step_units=100_000)

    rng = np.random.default_rng(seed)
    side = [[units_to_decimal(int(p) * 1_000_000), units_to_decimal(int(q) * 100_000)]
            for p, q in zip(rng.integers(10**6, 10**7, levels), rng.integers(1, 10**6, levels))]
    cached = fresh()
    resync = side[:CONVERSION_CACHE_ENTRIES]  # what a cache holds of a side
    _convert_side(cached, resync)
    runs = {
        "first snapshot, bulk (_convert_side)": (lambda: _convert_side(fresh(), side), len(side)),
        "first snapshot, level by level": (lambda: _convert_side_slowly(fresh(), side), len(side)),
        f"resync, {len(resync):,} strings cached": (lambda: _convert_side(cached, resync), len(resync)),
    }
    print(f"one snapshot side of {levels:,} unseen levels, CPU time, best of 3 x {rounds} rounds")
    for label, (body, count) in runs.items():
        print(f"{label:40} {time_it(rounds, body) / count * 1e6:6.2f} µs/level")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=1_000_000, help="level updates in the stream")
    parser.add_argument("--quick", action="store_true", help="200k updates, shorter budgets")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved runs per implementation (best kept)")
    parser.add_argument("--stress", type=int, default=0, metavar="N",
                        help="also run the synchroniser stress check for N level updates")
    parser.add_argument("--snapshot-load", action="store_true",
                        help="only time the conversion of a fresh 5,000-level snapshot side")
    args = parser.parse_args(argv)
    if args.snapshot_load:
        snapshot_load()
        return 0
    updates = 200_000 if args.quick else args.updates
    budget = 2.0 if args.quick else 8.0
    repeat = 2 if args.quick else args.repeat
    snapshot, raw_diffs, tick_diffs, count = workload(updates)
    print(f"{count:,} level updates in {len(raw_diffs):,} diffs, "
          f"{len(snapshot['bids'])}+{len(snapshot['asks'])} levels at start; best of {repeat} interleaved runs")
    implementations = [*IMPLEMENTATIONS, DenseNumpy(*price_range(snapshot, tick_diffs))]
    best = {impl.name: [0.0, 0.0, len(raw_diffs)] for impl in implementations}
    # Round-robin, best kept: a busy machine slows every implementation alike.
    for _ in range(repeat):
        for impl in implementations:
            row = best[impl.name]
            pure, _ = measure(impl, snapshot, raw_diffs, tick_diffs, read=False, budget_s=budget)
            with_read, done = measure(impl, snapshot, raw_diffs, tick_diffs, read=True, budget_s=budget)
            row[0], row[1], row[2] = max(row[0], pure), max(row[1], with_read), min(row[2], done)
    print(f"{'implementation':36} {'updates/s':>12} {'update+read best/s':>19}")
    for impl in implementations:
        pure, with_read, done = best[impl.name]
        partial = "" if done == len(raw_diffs) else f"  (read runs stopped after {done:,} diffs)"
        print(f"{impl.name:36} {pure:12,.0f} {with_read:19,.0f}{partial}")
    if args.stress:
        start = time.perf_counter()
        result = run_stress(seed=99, updates=args.stress)
        print(f"stress: {result.updates:,} updates, {result.frames:,} frames, {result.dropped} gaps resynced, "
              f"{result.top_checks:,} top-of-book checks, {result.full_checks:,} full checks: all equal "
              f"({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
