"""Book analytics against hand-computed values."""
from __future__ import annotations

import pytest

from orderbook import analytics as an
from orderbook.book import ASK, BID, OrderBook
from orderbook.instrument import Instrument

# tick 0.01 quote, step 0.001 base
INST = Instrument("TESTUSDT", "TEST", "USDT", tick_units=1_000_000, step_units=100_000)


def book_with(bids: dict[int, int], asks: dict[int, int]) -> OrderBook:
    book = OrderBook(INST)
    book.load(1, bids.items(), asks.items())
    return book


@pytest.fixture
def book() -> OrderBook:
    # bids 100.00 x 2.000, 99.99 x 1.000, 99.90 x 5.000 ; asks 100.02 x 1.000, 100.03 x 3.000, 101.00 x 10.000
    return book_with({10000: 2000, 9999: 1000, 9990: 5000}, {10002: 1000, 10003: 3000, 10100: 10000})


def test_top_mid_spread(book):
    assert an.top_of_book(book) == an.TopOfBook(10000, 2000, 10002, 1000)
    assert an.best_bid(book) == (10000, 2000) and an.best_ask(book) == (10002, 1000)
    assert an.mid_ticks(book) == 10001.0
    assert an.mid_price(book) == pytest.approx(100.01)
    assert an.spread_ticks(book) == 2
    assert an.spread_bps(book) == pytest.approx(2 / 10001 * 10_000)


def test_microprice_leans_to_the_thin_side(book):
    # (bid * ask_lots + ask * bid_lots) / (bid_lots + ask_lots) = (10000*1000 + 10002*2000) / 3000
    assert an.microprice_ticks(book) == pytest.approx((10000 * 1000 + 10002 * 2000) / 3000)
    assert an.microprice_ticks(book) > an.mid_ticks(book)  # more size on the bid: price leans up


def test_imbalance(book):
    assert an.imbalance(book, 1) == pytest.approx((2000 - 1000) / 3000)
    assert an.imbalance(book, 2) == pytest.approx((3000 - 4000) / 7000)
    assert an.imbalance(book, 10) == pytest.approx((8000 - 14000) / 22000)
    with pytest.raises(ValueError):
        an.imbalance(book, 0)


def test_depth_within_bps(book):
    # mid 100.01; 2 bps = 0.020002 -> bids >= 99.989998 (ticks >= 9999), asks <= 100.030002 (<= 10003)
    depth = an.depth_within_bps(book, 2)
    assert (depth.bid_lots, depth.ask_lots) == (3000, 4000)
    # notional: 100.00*2 + 99.99*1 = 299.99 ; 100.02*1 + 100.03*3 = 400.11
    assert depth.bid_notional_units == 29_999_000_000
    assert depth.ask_notional_units == 40_011_000_000
    assert depth.bid_qty == pytest.approx(3.0) and depth.ask_qty == pytest.approx(4.0)
    assert depth.bid_notional == pytest.approx(299.99) and depth.ask_notional == pytest.approx(400.11)
    assert an.depth_within_bps(book, 0).bid_lots == 0
    assert an.depth_within_bps(book, 10_000).bid_lots == 8000
    with pytest.raises(ValueError):
        an.depth_within_bps(book, -1)


def test_vwap_to_fill_buy_and_sell(book):
    buy = an.vwap_to_fill(book, ASK, 2500)  # 1.000 @ 100.02 + 1.500 @ 100.03
    assert (buy.filled_lots, buy.unfilled_lots, buy.levels, buy.worst_ticks) == (2500, 0, 2, 10003)
    assert buy.vwap_ticks == pytest.approx((10002 * 1000 + 10003 * 1500) / 2500)
    assert buy.notional_units == (10002 * 1000 + 10003 * 1500) * 1_000_000 * 100_000 // 100_000_000
    assert buy.impact_bps == pytest.approx((buy.vwap_ticks - 10002) / 10002 * 10_000)
    sell = an.vwap_to_fill(book, BID, 3500)  # 2 @ 100.00, 1 @ 99.99, 0.5 @ 99.90
    assert sell.vwap_ticks == pytest.approx((10000 * 2000 + 9999 * 1000 + 9990 * 500) / 3500)
    assert sell.worst_ticks == 9990 and sell.impact_bps > 0


def test_vwap_reports_what_the_book_cannot_fill(book):
    fill = an.vwap_to_fill(book, ASK, 20_000)
    assert (fill.filled_lots, fill.unfilled_lots, fill.levels) == (14_000, 6_000, 3)
    empty = an.vwap_to_fill(book_with({}, {}), BID, 5)
    assert (empty.filled_lots, empty.unfilled_lots, empty.vwap_ticks, empty.impact_bps) == (0, 5, None, None)
    assert an.vwap_to_fill(book, BID, 0).filled_lots == 0
    with pytest.raises(ValueError):
        an.vwap_to_fill(book, 0, 1)


def test_cumulative_depth(book):
    assert an.cumulative_depth(book, BID) == [(10000, 2000), (9999, 3000), (9990, 8000)]
    assert an.cumulative_depth(book, ASK, levels=2) == [(10002, 1000), (10003, 4000)]
    assert an.cumulative_depth(book, ASK, levels=0) == []


def test_one_sided_and_empty_books():
    one_sided = book_with({100: 5}, {})
    for fn in (an.top_of_book, an.mid_ticks, an.mid_price, an.spread_ticks, an.spread_bps, an.microprice_ticks):
        assert fn(one_sided) is None
    assert an.imbalance(one_sided) == 1.0
    assert an.imbalance(book_with({}, {})) is None
    assert an.depth_within_bps(one_sided, 50).bid_lots == 0
    assert an.best_bid(one_sided) == (100, 5) and an.best_ask(one_sided) is None
