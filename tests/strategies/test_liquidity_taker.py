"""The liquidity taker: entries on imbalance / flow / momentum, exits by take-profit, stop-loss, time stop, cooldown."""
from __future__ import annotations

import numpy as np
import pytest

from orderbook.book import OrderBook
from orderbook.instrument import UNITS_PER_ONE, Instrument
from orderbook.trades import TradeTick
from strategies.base import StrategyContext
from strategies.parameters import ParameterError
from strategies.liquidity_taker import LiquidityTaker, LiquidityTakerParams
from strategies.orders import (
    Fill,
    FillReason,
    Liquidity,
    Order,
    OrderStatus,
    OrderType,
    PlaceOrder,
    Side,
    TimeInForce,
)
from strategies.signals import Momentum, TradeFlow, book_imbalance

MS = 1_000_000
INST = Instrument(
    symbol="ETHUSDT", base_asset="ETH", quote_asset="USDT",
    tick_units=1_000_000, step_units=10_000,  # 0.01 / 0.0001
    min_notional_units=10 * UNITS_PER_ONE,
)
BID, ASK = 200_000, 200_001  # 2000.00 / 2000.01


def make_book(bid=BID, ask=ASK, bid_lots=900, ask_lots=100) -> OrderBook:
    """Default: heavy bids (imbalance +0.8 over the top levels)."""
    book = OrderBook(INST)
    book.load(1, [(bid, bid_lots), (bid - 1, bid_lots)], [(ask, ask_lots), (ask + 1, ask_lots)])
    return book


def ctx(now, book, open_orders=None, book_ok=True, risk_state="ACTIVE") -> StrategyContext:
    return StrategyContext(now, INST, book, 0, 0.0, open_orders or {}, book_ok, risk_state)


def taker(**params) -> LiquidityTaker:
    values = {"imbalance_threshold": 0.5, "flow_threshold": 0.5, "order_lots": 100, "cooldown_ms": 1000,
              "take_profit_bps": 5, "stop_loss_bps": 5, "time_stop_ms": 10_000, **params}
    return LiquidityTaker(INST, LiquidityTakerParams.from_mapping(values), np.random.default_rng(0))


def trade(now, buy=True, qty=10, trade_id=1) -> TradeTick:
    return TradeTick("ETHUSDT", trade_id, ASK if buy else BID, qty, not buy, now, now)


def fill_of(order: PlaceOrder, price: int, now: int, qty: int | None = None) -> Fill:
    return Fill("ETHUSDT", order.client_id, order.side, price, qty or order.qty, Liquidity.TAKER,
                FillReason.TAKER, 0.0, now, tag=order.tag)


def enter_long(lt: LiquidityTaker, now: int = 0, trade_id: int = 1) -> PlaceOrder:
    """A buy print on a bid-heavy book: the taker buys on the spot."""
    (order,) = lt.on_trade(ctx(now, make_book()), trade(now, buy=True, trade_id=trade_id))
    assert order.tag == "entry"
    return order


def test_enters_long_with_an_ioc_through_the_ask_when_imbalance_and_flow_agree():
    lt = taker(slippage_ticks=2)
    assert lt.on_book(ctx(0, make_book())) == []  # imbalance alone: flow has no trades yet
    intents = lt.on_trade(ctx(1, make_book()), trade(1, buy=True))
    assert len(intents) == 1
    order = intents[0]
    assert (order.side, order.qty, order.price, order.tag) == (Side.BUY, 100, ASK + 2, "entry")
    assert order.order_type is OrderType.LIMIT and order.time_in_force is TimeInForce.IOC
    assert order.client_id.startswith("liquidity_taker-ETHUSDT-")


def test_enters_short_on_the_mirror_signals_and_not_when_shorts_are_off():
    book = make_book(bid_lots=100, ask_lots=900)
    lt = taker()
    (order,) = lt.on_trade(ctx(0, book), trade(0, buy=False))
    assert (order.side, order.price) == (Side.SELL, BID - 2)
    lt = taker(allow_short=False)
    assert lt.on_trade(ctx(0, book), trade(0, buy=False)) == []


def test_no_entry_when_signals_disagree_or_are_weak():
    lt = taker()
    assert lt.on_trade(ctx(0, make_book()), trade(0, buy=False)) == []  # book says up, flow says down
    lt = taker()
    assert lt.on_trade(ctx(0, make_book(bid_lots=500, ask_lots=400)), trade(0, buy=True)) == []  # imbalance 0.11


def test_momentum_only_entry():
    lt = taker(imbalance_threshold=0, flow_threshold=0, momentum_threshold_bps=3, momentum_window_ms=1000)
    assert lt.on_book(ctx(0, make_book())) == []
    assert lt.on_book(ctx(500 * MS, make_book(BID + 70, ASK + 70))) == []  # history shorter than the window
    assert lt.on_book(ctx(1000 * MS, make_book(BID + 50, ASK + 50))) == []  # +2.5 bps over the window
    (order,) = lt.on_book(ctx(1000 * MS + 1, make_book(BID + 70, ASK + 70)))  # +3.5 bps
    assert order.side is Side.BUY


def test_take_profit_exit_sells_the_whole_position():
    lt = taker()
    entry = enter_long(lt)
    lt.on_fill(ctx(1, make_book()), fill_of(entry, ASK, 1))
    assert lt.position == 100 and lt.entry_price == ASK
    assert lt.on_book(ctx(2, make_book(ASK + 50, ASK + 51))) == []  # +2.5 bps at the bid: hold
    assert lt.on_book(ctx(3, make_book(ASK + 100, ASK + 101))) == []  # 4.99998 bps: not yet
    (exit_order,) = lt.on_book(ctx(4, make_book(ASK + 101, ASK + 102)))  # 5.05 bps at the bid
    assert (exit_order.side, exit_order.qty, exit_order.tag) == (Side.SELL, 100, "take-profit")
    assert exit_order.time_in_force is TimeInForce.IOC and exit_order.price == ASK + 101 - 2


def test_stop_loss_exit_and_repeat_for_an_unfilled_remainder():
    lt = taker(order_lots=100, retry_ms=200)  # 100 lots = 0.01 ETH = 20 USDT
    entry = enter_long(lt)
    lt.on_fill(ctx(1, make_book()), fill_of(entry, ASK, 1))
    assert lt.on_book(ctx(2, make_book(ASK - 100, ASK - 99))) == []  # -4.99998 bps
    (exit_order,) = lt.on_book(ctx(3, make_book(ASK - 101, ASK - 100)))
    assert exit_order.tag == "stop-loss"
    lt.on_fill(ctx(3, make_book()), fill_of(exit_order, ASK - 101, 3, qty=40))  # the IOC filled 40 of 100
    # the IOC is done (not open any more); the rest goes out, even though the price recovered,
    # but not sooner than retry_ms after the previous attempt
    assert lt.on_book(ctx(100 * MS, make_book())) == []
    (again,) = lt.on_book(ctx(200 * MS + 3, make_book()))
    assert (again.side, again.qty, again.tag) == (Side.SELL, 60, "stop-loss")


def test_a_remainder_below_the_exchange_minimums_is_left_as_dust():
    lt = taker(order_lots=100, retry_ms=0, cooldown_ms=0)
    entry = enter_long(lt)
    lt.on_fill(ctx(1, make_book()), fill_of(entry, ASK, 1))
    (exit_order,) = lt.on_book(ctx(2, make_book(ASK - 101, ASK - 100)))
    lt.on_fill(ctx(2, make_book()), fill_of(exit_order, ASK - 101, 2, qty=80))  # 20 lots = 4 USDT left
    assert lt.on_book(ctx(3, make_book(ASK - 101, ASK - 100))) == []
    state = lt.state()
    assert state["dust"] is True and state["position"] == 20 and state["last_action"].startswith("dust")
    # dust counts as flat: the next signal opens a new position, and its exit closes the dust too
    entry = enter_long(lt, now=4, trade_id=2)
    lt.on_fill(ctx(5, make_book()), fill_of(entry, ASK, 5))
    assert lt.position == 120 and lt.dust is False
    (exit_order,) = lt.on_book(ctx(6, make_book(ASK + 101, ASK + 102)))
    assert (exit_order.qty, exit_order.tag) == (120, "take-profit")


def test_time_stop_exit():
    lt = taker(time_stop_ms=2_000)
    entry = enter_long(lt)
    lt.on_fill(ctx(1, make_book()), fill_of(entry, ASK, 1))
    assert lt.on_timer(ctx(1_999 * MS, make_book())) == []
    (exit_order,) = lt.on_timer(ctx(2_000 * MS + 1, make_book()))
    assert exit_order.tag == "time-stop" and exit_order.side is Side.SELL


def test_cooldown_after_a_round_trip_and_after_a_failed_entry():
    lt = taker(cooldown_ms=1_000)
    entry = enter_long(lt, now=0)
    lt.on_fill(ctx(1, make_book()), fill_of(entry, ASK, 1))
    (exit_order,) = lt.on_book(ctx(10 * MS, make_book(ASK + 101, ASK + 102)))
    lt.on_fill(ctx(10 * MS, make_book()), fill_of(exit_order, ASK + 99, 10 * MS))
    assert lt.position == 0
    # the signals still say buy, but the cooldown runs from the exit fill
    assert lt.on_trade(ctx(500 * MS, make_book()), trade(500 * MS, buy=True, trade_id=2)) == []
    assert lt.on_book(ctx(500 * MS, make_book())) == []
    assert lt.state()["cooldown_remaining_ms"] == 510
    enter_long(lt, now=1_010 * MS, trade_id=3)
    # that IOC expired unfilled: no new entry before another cooldown from the attempt
    assert lt.on_trade(ctx(1_500 * MS, make_book()), trade(1_500 * MS, buy=True, trade_id=4)) == []
    enter_long(lt, now=2_010 * MS, trade_id=5)


def test_waits_while_its_order_is_in_flight():
    lt = taker(cooldown_ms=0)
    entry = enter_long(lt)
    pending = {entry.client_id: Order(entry.client_id, "ETHUSDT", entry.side, entry.qty, entry.price,
                                      entry.order_type, entry.time_in_force, False, entry.tag, ts_created=0)}
    assert pending[entry.client_id].status is OrderStatus.PENDING_NEW
    assert lt.on_book(ctx(5 * MS, make_book(), open_orders=pending)) == []
    assert len(lt.on_book(ctx(6 * MS, make_book()))) == 1  # resolved without a fill: may enter again


def test_market_orders():
    lt = taker(order_type="market")
    order = enter_long(lt)
    assert order.order_type is OrderType.MARKET and order.price is None and order.time_in_force is TimeInForce.IOC


def test_risk_states_and_stale_books():
    lt = taker()
    assert lt.on_trade(ctx(0, make_book(), risk_state="REDUCING"), trade(0)) == []  # no new positions
    assert lt.on_book(ctx(0, make_book(), risk_state="HALTED")) == []
    assert lt.on_book(ctx(0, make_book(), book_ok=False)) == []
    entry = enter_long(lt, trade_id=2)
    lt.on_fill(ctx(1, make_book()), fill_of(entry, ASK, 1))
    (exit_order,) = lt.on_book(ctx(2, make_book(ASK - 101, ASK - 100), risk_state="REDUCING"))
    assert exit_order.tag == "stop-loss"  # exits are allowed while reducing


def test_fills_of_other_strategies_are_ignored():
    lt = taker()
    other = Fill("ETHUSDT", "market_maker-ETHUSDT-bid-L1-1", Side.BUY, BID, 5, Liquidity.MAKER,
                 FillReason.QUEUE_REACHED, 0.0, 1)
    lt.on_fill(ctx(1, make_book()), other)
    assert lt.position == 0


def test_automatic_size_and_state():
    import json

    lt = taker(order_lots=0)
    order = enter_long(lt)
    assert INST.notional_units(ASK, order.qty) >= INST.min_notional_units
    state = lt.state()
    json.dumps(state)
    assert state["flow"] == 1.0 and state["imbalance"] == pytest.approx(0.8)
    assert state["last_action"] == "entry long"


# -- signals -------------------------------------------------------------------------------------
def test_book_imbalance_over_top_levels():
    book = OrderBook(INST)
    book.load(1, [(100, 30), (99, 10), (98, 1000)], [(101, 10), (102, 10), (103, 1000)])
    assert book_imbalance(book, 2) == pytest.approx((40 - 20) / 60)
    assert book_imbalance(book, 3) == pytest.approx((1040 - 1020) / 2060)
    assert book_imbalance(OrderBook(INST), 5) is None


def test_trade_flow_window_slides():
    flow = TradeFlow(window_ns=1_000)
    flow.add(0, 30, True)
    flow.add(500, 10, False)
    assert flow.value(600) == pytest.approx(0.5)
    assert flow.value(1_000) == pytest.approx(-1.0)  # the buy at 0 left the window
    assert flow.value(1_500) is None


def test_momentum_uses_the_mid_a_full_window_ago():
    momentum = Momentum(window_ns=1_000)
    momentum.add(0, 100.0)
    assert momentum.value(500, 100.0) is None
    momentum.add(600, 101.0)
    assert momentum.value(1_000, 101.0) == pytest.approx(100.0)  # +1% = 100 bps from the mid at 0
    momentum.add(1_700, 102.0)
    assert momentum.value(1_700, 102.0) == pytest.approx((102 / 101 - 1) * 10_000)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"imbalance_threshold": 0, "flow_threshold": 0, "momentum_threshold_bps": 0}, "enable at least one entry signal"),
        ({"imbalance_threshold": 1.5}, "imbalance_threshold must be a number in [0, 1], got 1.5"),
        ({"take_profit_bps": 0}, "take_profit_bps must be a number in (0, 10000] bps"),
        ({"stop_loss_bps": -1}, "stop_loss_bps must be a number in (0, 10000] bps"),
        ({"order_type": "fok"}, "order_type must be one of 'ioc', 'market'"),
        ({"cooldown_ms": -1}, "cooldown_ms must be an integer in [0, 604800000] ms"),
        ({"imbalance_levels": 0}, "imbalance_levels must be an integer in [1, 100]"),
        ({"allow_short": "maybe"}, "allow_short must be true or false, got 'maybe'"),
    ],
)
def test_parameter_errors_are_clear(values, message):
    with pytest.raises(ParameterError) as excinfo:
        LiquidityTakerParams.from_mapping(values)
    assert message in str(excinfo.value)
