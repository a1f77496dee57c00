"""The paper matcher's rules, one case at a time (prices in ticks of 0.01, quantities in lots of 0.001)."""
from __future__ import annotations

import numpy as np
import pytest

from orderbook.book import OrderBook
from orderbook.instrument import Instrument
from orderbook.trades import TradeTick
from strategies.fees import FeeSchedule
from strategies.filters import DUPLICATE_ORDER, LOT_SIZE, NOTIONAL, PRICE_FILTER, UNKNOWN_ORDER, WOULD_TAKE
from strategies.latency import MS, LatencyModel
from strategies.matching import OrderEvent, PaperMatcher
from strategies.orders import (
    Fill,
    FillReason,
    Liquidity,
    OrderStatus,
    OrderType,
    PlaceOrder,
    Side,
    TimeInForce,
)
from strategies.queue_models import ProbabilisticQueue, TradesOnlyQueue, make_queue_model

ZERO = LatencyModel(0, 0, 0)


def instrument(**overrides) -> Instrument:
    values = dict(
        symbol="TESTUSDT", base_asset="TEST", quote_asset="USDT",
        tick_units=1_000_000,  # 0.01
        step_units=100_000,  # 0.001
        min_qty_units=100_000, max_qty_units=100_000 * 10_000,  # 0.001 .. 10
        min_price_units=1_000_000, max_price_units=1_000 * 100_000_000,  # 0.01 .. 1000
        min_notional_units=50_000_000,  # 0.5 USDT
    )
    values.update(overrides)
    return Instrument(**values)


INST = instrument()


def book(bids=((10000, 50), (9999, 40)), asks=((10010, 30), (10011, 20), (10012, 50))) -> OrderBook:
    result = OrderBook(INST)
    result.load(1, bids, asks)
    return result


def matcher(latency=ZERO, fees=FeeSchedule(0.0, 0.0), queue=None) -> PaperMatcher:
    return PaperMatcher(INST, fees=fees, latency=latency, queue_model=queue or TradesOnlyQueue())


def limit(cid, side, price, qty, **kw) -> PlaceOrder:
    return PlaceOrder(client_id=cid, side=side, qty=qty, price=price, **kw)


def market(cid, side, qty) -> PlaceOrder:
    return PlaceOrder(client_id=cid, side=side, qty=qty, order_type=OrderType.MARKET)


def sell_print(price, qty, ts=0, trade_id=1) -> TradeTick:
    """A trade whose aggressor sold: it hit the bids."""
    return TradeTick("TESTUSDT", trade_id, price, qty, True, ts, ts)


def buy_print(price, qty, ts=0, trade_id=1) -> TradeTick:
    return TradeTick("TESTUSDT", trade_id, price, qty, False, ts, ts)


def fills(events) -> list[Fill]:
    return [e for e in events if isinstance(e, Fill)]


def kinds(events) -> list[str]:
    return [e.kind for e in events if isinstance(e, OrderEvent)]


# -- queue position ------------------------------------------------------------------------------
def test_resting_order_joins_back_of_queue_and_trades_advance_it():
    m, b = matcher(), book()
    events = m.submit(0, limit("b1", Side.BUY, 10000, 20), b)
    assert kinds(events) == ["accepted"]
    order = m.order("b1")
    assert order.status is OrderStatus.NEW and order.queue_ahead == 50
    assert m.on_trade(1, sell_print(10000, 30), b) == ()
    assert order.queue_ahead == 20 and order.filled == 0
    out = fills(m.on_trade(2, sell_print(10000, 30, trade_id=2), b))
    assert len(out) == 1
    fill = out[0]
    assert (fill.price, fill.qty, fill.liquidity, fill.reason) == (10000, 10, Liquidity.MAKER, FillReason.QUEUE_REACHED)
    assert fill.detail == {"queue_ahead_before": 20, "trade_qty": 30}
    assert fill.trade_id == 2 and fill.ts == 2
    assert order.status is OrderStatus.PARTIALLY_FILLED and order.queue_ahead == 0 and order.remaining == 10
    out = fills(m.on_trade(3, sell_print(10000, 25, trade_id=3), b))
    assert [f.qty for f in out] == [10]
    assert order.status is OrderStatus.FILLED and "b1" not in m.orders


def test_trades_on_the_other_side_or_other_prices_do_not_touch_the_queue():
    m, b = matcher(), book()
    m.submit(0, limit("b1", Side.BUY, 10000, 20), b)
    assert m.on_trade(1, buy_print(10010, 100), b) == ()  # lifted the asks
    assert m.on_trade(2, sell_print(10001, 100), b) == ()  # above our bid: not through
    assert m.order("b1").queue_ahead == 50


def test_sell_order_queue_is_reached_by_buy_aggressors():
    m, b = matcher(), book()
    m.submit(0, limit("s1", Side.SELL, 10010, 5), b)
    assert m.order("s1").queue_ahead == 30
    assert m.on_trade(1, sell_print(10010, 100), b) == ()  # wrong aggressor at our price
    out = fills(m.on_trade(2, buy_print(10010, 33), b))
    assert [(f.qty, f.reason) for f in out] == [(3, FillReason.QUEUE_REACHED)]


def test_two_paper_orders_at_one_price_do_not_both_take_the_same_print():
    m, b = matcher(), book()
    m.submit(0, limit("b1", Side.BUY, 10000, 10), b)
    m.submit(0, limit("b2", Side.BUY, 10000, 10), b)
    out = fills(m.on_trade(1, sell_print(10000, 55), b))
    # 50 real lots ahead of both, then 5 lots left: b1 (earlier) gets them, b2 nothing
    assert [(f.client_id, f.qty) for f in out] == [("b1", 5)]
    out = fills(m.on_trade(2, sell_print(10000, 12), b))
    assert [(f.client_id, f.qty) for f in out] == [("b1", 5), ("b2", 7)]


def test_unexplained_decrease_does_not_advance_with_trades_only_but_the_level_caps_the_queue():
    m, b = matcher(), book()
    m.submit(0, limit("b1", Side.BUY, 10000, 10), b)
    b.set_level(1, 10000, 45)
    m.on_book(1, b)
    assert m.order("b1").queue_ahead == 45  # capped: only 45 lots are displayed at all
    b.set_level(1, 10000, 60)  # others joined behind us
    m.on_book(2, b)
    assert m.order("b1").queue_ahead == 45
    b.set_level(1, 10000, 0)  # everyone left: we are first
    m.on_book(3, b)
    assert m.order("b1").queue_ahead == 0


def test_probabilistic_model_moves_us_by_a_seeded_share_of_cancellations():
    def run(seed):
        m = matcher(queue=ProbabilisticQueue(np.random.default_rng(seed)))
        b = book(bids=((10000, 1000),))
        m.submit(0, limit("b1", Side.BUY, 10000, 10), b)
        b.set_level(1, 10000, 1200)  # 200 lots join behind us: 1000 of the 1200 are ahead
        m.on_book(1, b)
        b.set_level(1, 10000, 600)  # 600 cancelled: each was ahead of us with probability 1000/1200
        m.on_book(2, b)
        return m.order("b1").queue_ahead

    first = run(7)
    assert first == run(7)  # seeded: reproducible
    assert 1000 - 600 <= first <= 600  # at least (1000 - 600) ahead, at most the level
    advanced = 1000 - first
    assert abs(advanced - 500) < 60  # binomial(600, 1000/1200): mean 500, sd ~9


def test_decrease_explained_by_trades_is_not_counted_twice():
    m = matcher(queue=ProbabilisticQueue(np.random.default_rng(1)))
    b = book(bids=((10000, 100),))
    m.submit(0, limit("b1", Side.BUY, 10000, 10), b)
    m.on_trade(1, sell_print(10000, 40), b)
    assert m.order("b1").queue_ahead == 60
    b.set_level(1, 10000, 60)  # the diff shows exactly the traded lots gone
    m.on_book(2, b)
    assert m.order("b1").queue_ahead == 60


def test_queue_model_lookup():
    rng = np.random.default_rng(0)
    assert make_queue_model("trades_only", rng).name == "trades_only"
    assert make_queue_model("probabilistic", rng).name == "probabilistic"
    with pytest.raises(ValueError, match="unknown queue model"):
        make_queue_model("fifo", rng)


# -- fills through the price ---------------------------------------------------------------------
def test_trade_through_fills_in_full_whatever_the_queue():
    m, b = matcher(), book()
    m.submit(0, limit("b1", Side.BUY, 10000, 25), b)
    out = fills(m.on_trade(5, sell_print(9999, 1, trade_id=9), b))
    assert len(out) == 1
    fill = out[0]
    assert (fill.qty, fill.price, fill.reason, fill.liquidity) == (25, 10000, FillReason.TRADE_THROUGH, Liquidity.MAKER)
    assert fill.detail == {"trade_price": 9999, "trade_qty": 1, "queue_ahead_before": 50}
    assert fill.trade_id == 9
    assert m.orders == {}


def test_opposite_side_reaching_our_price_fills_us():
    m, b = matcher(), book()
    m.submit(0, limit("s1", Side.SELL, 10011, 6), b)
    b.apply([(10011, 7)], [(10010, 0), (10011, 0)])  # a bid now rests at our ask price: every ask there traded
    out = fills(m.on_book(1, b))
    assert [(f.qty, f.price, f.reason) for f in out] == [(6, 10011, FillReason.TRADE_THROUGH)]
    assert out[0].detail["cause"] == "book"


# -- taker orders --------------------------------------------------------------------------------
def test_market_order_walks_the_book_without_taking_the_same_lots_twice():
    m, b = matcher(), book()
    out = fills(m.submit(0, market("m1", Side.BUY, 40), b))
    assert [(f.price, f.qty, f.reason, f.liquidity) for f in out] == [
        (10010, 30, FillReason.TAKER, Liquidity.TAKER),
        (10011, 10, FillReason.TAKER, Liquidity.TAKER),
    ]
    assert out[1].detail == {"level_qty": 20, "taken_before": 0}
    out = fills(m.submit(1, market("m2", Side.BUY, 20), b))
    assert [(f.price, f.qty) for f in out] == [(10011, 10), (10012, 10)]
    assert out[0].detail == {"level_qty": 20, "taken_before": 10}
    b.set_level(-1, 10010, 25)  # the book shows that level changed: its lots are available again
    m.on_book(2, b)
    out = fills(m.submit(3, market("m3", Side.BUY, 30), b))
    assert [(f.price, f.qty) for f in out] == [(10010, 25), (10012, 5)]


def test_market_order_remainder_expires_when_the_book_runs_out():
    m, b = matcher(), book()
    events = m.submit(0, market("m1", Side.SELL, 100), b)
    assert [(f.price, f.qty) for f in fills(events)] == [(10000, 50), (9999, 40)]
    assert kinds(events) == ["accepted", "expired"]
    assert events[-1].order.status is OrderStatus.EXPIRED and events[-1].order.filled == 90


def test_ioc_takes_up_to_its_limit_and_the_rest_expires():
    m, b = matcher(), book()
    events = m.submit(0, limit("i1", Side.BUY, 10011, 100, time_in_force=TimeInForce.IOC), b)
    assert [(f.price, f.qty) for f in fills(events)] == [(10010, 30), (10011, 20)]
    assert kinds(events) == ["accepted", "expired"]
    order = events[-1].order
    assert order.status is OrderStatus.EXPIRED and order.filled == 50 and m.orders == {}


def test_ioc_that_does_not_cross_expires_untouched():
    m, b = matcher(), book()
    events = m.submit(0, limit("i1", Side.BUY, 10005, 10, time_in_force=TimeInForce.IOC), b)
    assert fills(events) == [] and kinds(events) == ["accepted", "expired"]


def test_marketable_gtc_limit_takes_then_rests_the_remainder():
    m, b = matcher(), book()
    events = m.submit(0, limit("g1", Side.BUY, 10010, 50), b)
    assert [(f.price, f.qty, f.liquidity) for f in fills(events)] == [(10010, 30, Liquidity.TAKER)]
    order = m.order("g1")
    assert order.status is OrderStatus.PARTIALLY_FILLED and order.remaining == 20 and order.queue_ahead == 0
    # the ask level we emptied is still displayed but it is ours already: no fill from the book
    assert fills(m.on_book(1, b)) == []
    b.set_level(-1, 10010, 35)  # now someone offers at our bid again
    out = fills(m.on_book(2, b))
    assert [(f.qty, f.reason) for f in out] == [(20, FillReason.TRADE_THROUGH)]


# -- post-only ------------------------------------------------------------------------------------
def test_post_only_that_would_cross_is_rejected_when_it_arrives():
    m, b = matcher(), book()
    events = m.submit(0, limit("p1", Side.BUY, 10010, 5, post_only=True), b)
    assert kinds(events) == ["accepted", "rejected"]
    assert events[-1].reason == WOULD_TAKE == "Order would immediately match and take."
    assert events[-1].order.status is OrderStatus.REJECTED and fills(events) == []


def test_post_only_is_judged_against_the_book_at_arrival_not_at_sending():
    latency = LatencyModel(order_entry_ns=5 * MS, cancel_ns=5 * MS, market_data_ns=0)
    m, b = matcher(latency), book()
    assert kinds(m.submit(0, limit("p1", Side.BUY, 10005, 5, post_only=True), b)) == ["accepted"]
    b.set_level(-1, 10004, 10)  # the ask drops below our price before we arrive
    assert kinds(m.on_book(5 * MS, b)) == ["rejected"]
    # the other way: crossing when sent, no longer crossing on arrival -> rests
    m2, b2 = matcher(latency), book()
    m2.submit(0, limit("p2", Side.BUY, 10010, 5, post_only=True), b2)
    b2.set_level(-1, 10010, 0)
    assert m2.on_book(5 * MS, b2) == ()
    assert m2.order("p2").status is OrderStatus.NEW


# -- latency ---------------------------------------------------------------------------------------
def test_order_goes_live_after_entry_plus_market_data_latency():
    latency = LatencyModel(order_entry_ns=5 * MS, cancel_ns=3 * MS, market_data_ns=2 * MS)
    m, b = matcher(latency), book()
    m.submit(0, limit("b1", Side.BUY, 10000, 10), b)
    order = m.order("b1")
    assert order.status is OrderStatus.PENDING_NEW and order.ts_live == 5 * MS
    # a through-trade received at 6 ms happened at 4 ms on the exchange: before we arrived
    assert m.on_trade(6 * MS, sell_print(9990, 5), b) == ()
    assert order.status is OrderStatus.PENDING_NEW
    assert m.advance(7 * MS - 1, b) == ()
    m.advance(7 * MS, b)
    assert order.status is OrderStatus.NEW and order.queue_ahead == 50


def test_order_can_fill_while_its_cancel_is_in_flight():
    latency = LatencyModel(order_entry_ns=1 * MS, cancel_ns=4 * MS, market_data_ns=1 * MS)
    m, b = matcher(latency), book()
    m.submit(0, limit("b1", Side.BUY, 10000, 10), b)
    m.advance(2 * MS, b)
    assert m.cancel(3 * MS, "b1", b) == []
    order = m.order("b1")
    assert order.status is OrderStatus.PENDING_CANCEL
    out = m.on_trade(5 * MS, sell_print(9999, 1), b)  # exchange time 4 ms < cancel at 7 ms
    assert [f.qty for f in fills(out)] == [10] and order.status is OrderStatus.FILLED
    events = m.advance(8 * MS, b)
    assert kinds(events) == ["cancel_rejected"] and events[0].reason == UNKNOWN_ORDER


def test_cancel_takes_effect_after_its_latency_and_partial_fills_before_count():
    latency = LatencyModel(order_entry_ns=1 * MS, cancel_ns=4 * MS, market_data_ns=1 * MS)
    m, b = matcher(latency), book()
    m.submit(0, limit("b1", Side.BUY, 10000, 10), b)
    m.advance(2 * MS, b)
    m.cancel(3 * MS, "b1", b)
    out = m.on_trade(4 * MS, sell_print(10000, 54), b)
    assert [f.qty for f in fills(out)] == [4]
    assert m.order("b1").status is OrderStatus.PENDING_CANCEL
    assert m.advance(8 * MS - 1, b) == ()
    events = m.advance(8 * MS, b)
    assert kinds(events) == ["canceled"]
    assert events[0].order.status is OrderStatus.CANCELED and events[0].order.filled == 4
    assert m.orders == {}


def test_cancel_sent_before_the_order_arrives_is_handled_after_it():
    latency = LatencyModel(order_entry_ns=10 * MS, cancel_ns=1 * MS, market_data_ns=0)
    m, b = matcher(latency), book()
    m.submit(0, market("m1", Side.BUY, 5), b)
    m.cancel(1 * MS, "m1", b)  # would arrive at 2 ms, before the order (10 ms)
    events = m.advance(10 * MS, b)
    # the market order executes on arrival; the cancel then finds nothing to cancel
    assert [f.qty for f in fills(events)] == [5]
    assert kinds(events) == ["cancel_rejected"]


def test_cancel_of_unknown_order_is_rejected_with_binance_text():
    m, b = matcher(), book()
    events = m.cancel(0, "nope", b)
    assert kinds(events) == ["cancel_rejected"] and events[0].reason == "Unknown order sent."


def test_cancel_all_cancels_every_open_order():
    m, b = matcher(), book()
    m.submit(0, limit("b1", Side.BUY, 10000, 10), b)
    m.submit(0, limit("s1", Side.SELL, 10012, 10), b)
    events = m.cancel_all(1, b)
    assert kinds(events) == ["canceled", "canceled"] and m.orders == {}


# -- fees ------------------------------------------------------------------------------------------
def test_maker_and_taker_fees_in_bps_with_rebates():
    m, b = matcher(fees=FeeSchedule(maker_bps=-2.5, taker_bps=7.5)), book()
    taker = fills(m.submit(0, market("m1", Side.BUY, 10), b))[0]
    # 10 lots (0.01) at 100.10 = 1.001 USDT notional; 7.5 bps of it
    assert taker.fee == pytest.approx(1.001 * 7.5e-4, rel=1e-12)
    m.submit(1, limit("b1", Side.BUY, 9999, 100), b)
    maker = fills(m.on_trade(2, sell_print(9998, 1), b))[0]
    assert maker.liquidity is Liquidity.MAKER
    assert maker.fee == pytest.approx(-(0.1 * 99.99) * 2.5e-4, rel=1e-12)
    assert maker.fee < 0


def test_fee_schedule_validation():
    with pytest.raises(ValueError, match="maker_bps"):
        FeeSchedule(maker_bps=float("nan"))
    with pytest.raises(ValueError, match="taker_bps"):
        FeeSchedule(taker_bps=20_000)


# -- filters ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("place", "reason"),
    [
        (limit("x", Side.BUY, 0, 1000), PRICE_FILTER),  # below minPrice 0.01
        (limit("x", Side.BUY, 100_001, 1000), PRICE_FILTER),  # above maxPrice 1000
        (limit("x", Side.BUY, 10000, 0), LOT_SIZE),
        (limit("x", Side.BUY, 10000, 10_001), LOT_SIZE),  # above maxQty 10
        (limit("x", Side.BUY, 10000, 4), NOTIONAL),  # 0.004 * 100 = 0.4 < 0.5
        (market("x", Side.BUY, 4), NOTIONAL),  # 0.004 * 100.10 (best ask) = 0.4004 < 0.5
        (limit("x", Side.BUY, 10000, 10_000), None),  # 10 * 100 = 1000: fine
        (limit("x", Side.BUY, 10000, 5), None),  # exactly 0.5: minNotional is inclusive
    ],
)
def test_filters_reject_with_binance_messages(place, reason):
    m, b = matcher(), book()
    events = m.submit(0, place, b)
    if reason is None:
        assert kinds(events)[0] == "accepted"
    else:
        assert kinds(events) == ["rejected"] and events[0].reason == reason
        assert events[0].order.status is OrderStatus.REJECTED and m.orders == {}


def test_binance_filter_texts():
    assert PRICE_FILTER == "Filter failure: PRICE_FILTER"
    assert LOT_SIZE == "Filter failure: LOT_SIZE"
    assert NOTIONAL == "Filter failure: NOTIONAL"


def test_max_notional_and_duplicate_ids():
    m = PaperMatcher(instrument(max_notional_units=100 * 100_000_000), latency=ZERO)
    b = book()
    assert m.submit(0, limit("x", Side.BUY, 10000, 1001), b)[0].reason == NOTIONAL  # 100.1 > 100
    assert kinds(m.submit(0, limit("y", Side.BUY, 10000, 1000), b)) == ["accepted"]
    events = m.submit(1, limit("y", Side.BUY, 10000, 100), b)
    assert kinds(events) == ["rejected"] and events[0].reason == DUPLICATE_ORDER


def test_limit_without_price_and_bad_combinations_are_rejected():
    m, b = matcher(), book()
    assert m.submit(0, PlaceOrder("a", Side.BUY, 10), b)[0].reason == "Invalid price."
    assert m.submit(0, limit("b", Side.BUY, 10000, 10, post_only=True, time_in_force=TimeInForce.IOC), b)[0].reason \
        == "Unsupported order combination."


def test_same_inputs_same_outputs():
    def run():
        m = matcher(LatencyModel(1 * MS, 2 * MS, 1 * MS), FeeSchedule(1.0, 5.0),
                    ProbabilisticQueue(np.random.default_rng(42)))
        b = book(bids=((10000, 500), (9999, 400)))
        out = []
        rng = np.random.default_rng(3)
        for i in range(300):
            now = i * MS
            if i % 7 == 0:
                out += m.submit(now, limit(f"o{i}", Side.BUY, 10000 - int(rng.integers(0, 2)), 20), b)
            if i % 11 == 0 and m.orders:
                out += m.cancel(now, next(iter(m.orders)), b)
            if i % 3 == 0:
                b.set_level(1, 10000, int(rng.integers(0, 600)))
                out += m.on_book(now, b)
            else:
                out += m.on_trade(now, sell_print(10000 - int(rng.integers(0, 2)), int(rng.integers(1, 60))), b)
        return [(type(e).__name__, getattr(e, "client_id", None), getattr(e, "qty", None),
                 getattr(e, "kind", None), getattr(e, "ts", None)) for e in out]

    first = run()
    assert first == run()
    assert any(name == "Fill" for name, *_ in first)


def test_min_qty_is_lot_size_and_min_price_is_price_filter():
    m = PaperMatcher(instrument(min_qty_units=500_000, min_price_units=50 * 100_000_000), latency=ZERO)
    b = book()
    assert m.submit(0, limit("q", Side.BUY, 10000, 4), b)[0].reason == LOT_SIZE  # 0.004 < minQty 0.005
    assert kinds(m.submit(0, limit("q2", Side.BUY, 10000, 5), b)) == ["accepted"]
    assert m.submit(0, limit("p", Side.BUY, 4999, 100), b)[0].reason == PRICE_FILTER  # 49.99 < minPrice 50
