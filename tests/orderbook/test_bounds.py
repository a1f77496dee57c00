"""Every store in orderbook/ that a feed can grow is driven past its bound and stays at it."""
from __future__ import annotations

from orderbook.book import LEVELS_KEPT, OrderBook
from orderbook.instrument import CONVERSION_CACHE_ENTRIES, Instrument, units_to_decimal

INST = Instrument("TESTUSDT", "TEST", "USDT", tick_units=1_000_000, step_units=100_000)


def px(ticks: int) -> str:
    return units_to_decimal(ticks * INST.tick_units)


def qty(lots: int) -> str:
    return units_to_decimal(lots * INST.step_units)


def test_conversion_caches_never_hold_more_than_their_bound():
    inst = Instrument("TESTUSDT", "TEST", "USDT", tick_units=1_000_000, step_units=100_000)
    largest = 0
    for n in range(1, 2 * CONVERSION_CACHE_ENTRIES + 100):
        assert inst.price_to_ticks(px(n)) == n  # still exact, cached or not
        assert inst.qty_to_lots(qty(n)) == n
        largest = max(largest, len(inst._price_cache), len(inst._qty_cache))
    assert largest == CONVERSION_CACHE_ENTRIES
    assert inst.price_to_ticks(px(7)) == 7 and px(7) in inst._price_cache  # refilled with what is current


def test_bulk_conversions_that_would_overflow_start_a_fresh_cache():
    inst = Instrument("TESTUSDT", "TEST", "USDT", tick_units=1_000_000, step_units=100_000)
    for n in range(1, CONVERSION_CACHE_ENTRIES - 10):
        inst.price_to_ticks(px(n))
    size = CONVERSION_CACHE_ENTRIES // 2
    snapshot = list(range(10**6, 10**6 + size))
    inst.remember_conversions([px(p) for p in snapshot], snapshot, [qty(q) for q in snapshot], snapshot)
    assert len(inst._price_cache) == len(inst._qty_cache) == size  # the snapshot's own
    assert inst._price_cache[px(10**6 + size - 1)] == 10**6 + size - 1
    too_many = list(range(1, CONVERSION_CACHE_ENTRIES + 2))
    inst.remember_conversions([px(p) for p in too_many], too_many, [], [])
    assert len(inst._price_cache) == size  # more than a cache holds is not remembered at all


def test_a_side_keeps_the_levels_nearest_the_touch():
    book = OrderBook(INST)
    deep = LEVELS_KEPT + 500
    book.load_raw(1, [[px(100_000 - i), "1.000"] for i in range(deep)],
                  [[px(100_001 + i), "1.000"] for i in range(deep)])
    assert len(book.bids) == len(book.asks) == LEVELS_KEPT
    assert book.best_bid()[0] == 100_000 and book.bids.peekitem(0)[0] == 100_000 - LEVELS_KEPT + 1
    assert book.best_ask()[0] == 100_001 and book.asks.peekitem(-1)[0] == 100_000 + LEVELS_KEPT
    # diffs that keep adding levels further out (and nearer in) leave the book at its bound
    for k in range(10):
        far = 100_000 - deep - 100 * k
        book.apply_diff_raw([[px(far - i), "2.000"] for i in range(100)] + [[px(100_000 + 0), "3.000"]],
                            [[px(200_000 + 100 * k + i), "2.000"] for i in range(100)])
        assert len(book.bids) == len(book.asks) == LEVELS_KEPT
    assert book.best_bid() == (100_000, 3000) and book.best_ask()[0] == 100_001
