"""The risk manager: each limit blocks with its reason, every state transition, the stale-data guard."""
from __future__ import annotations

import pytest

from orderbook.book import OrderBook
from orderbook.instrument import Instrument
from strategies.base import StrategyContext
from strategies.parameters import ParameterError
from strategies.orders import CancelAll, CancelOrder, Order, OrderStatus, OrderType, PlaceOrder, Side, TimeInForce
from strategies.risk import NS_PER_DAY, RiskLimits, RiskManager, RiskState

MS = 1_000_000
S = 1_000_000_000
INST = Instrument(symbol="BTCUSDT", base_asset="BTC", quote_asset="USDT", tick_units=1_000_000, step_units=1_000)
BID, ASK = 1_000_000, 1_000_010  # 10000.00 / 10000.10
DAY0 = 19_000 * NS_PER_DAY  # midnight UTC of some day, in ns


def make_book() -> OrderBook:
    book = OrderBook(INST)
    book.load(1, [(BID, 100)], [(ASK, 100)])
    return book


def ctx(now=DAY0, position=0, open_orders=None, book_ok=True) -> StrategyContext:
    return StrategyContext(now, INST, make_book(), position, 0.0, open_orders or {}, book_ok, "ACTIVE")


def buy(qty=10, price=BID, cid="s-1") -> PlaceOrder:
    return PlaceOrder(cid, Side.BUY, qty, price, post_only=True)


def sell(qty=10, price=ASK, cid="s-2") -> PlaceOrder:
    return PlaceOrder(cid, Side.SELL, qty, price, post_only=True)


def resting(cid, side, qty, price) -> Order:
    return Order(cid, "BTCUSDT", side, qty, price, OrderType.LIMIT, TimeInForce.GTC, True, "", ts_created=0,
                 status=OrderStatus.NEW)


def manager(**limits) -> RiskManager:
    values = {"max_orders_per_sec": 0, **limits}
    return RiskManager(INST, RiskLimits.from_mapping(values))


def events(risk: RiskManager) -> list[dict]:
    drained = risk.drain_events()
    assert all(kind == "risk" for kind, _, _ in drained)
    return [dict(data, message=message) for _, message, data in drained]


# -- every limit blocks with its reason ---------------------------------------------------------
def test_allows_an_ordinary_order_and_never_blocks_cancels():
    risk = manager(max_position=1_000)
    assert risk.check(buy(), ctx()) is None
    risk.pause("test")
    assert risk.check(CancelOrder("s-1"), ctx()) is None
    assert risk.check(CancelAll("x"), ctx()) is None


def test_max_order_qty():
    risk = manager(max_order_qty=50)
    assert risk.check(buy(50), ctx()) is None
    assert risk.check(buy(51), ctx()) == "order qty 51 lots > max_order_qty 50"


def test_max_open_orders():
    risk = manager(max_open_orders=2)
    open_orders = {"a": resting("a", Side.BUY, 1, BID), "b": resting("b", Side.SELL, 1, ASK)}
    assert risk.check(buy(), ctx(open_orders={"a": open_orders["a"]})) is None
    assert risk.check(buy(), ctx(open_orders=open_orders)) == "open orders 2 >= max_open_orders 2"


def test_order_rate_limit_refills_with_event_time():
    risk = manager(max_orders_per_sec=2)
    now = DAY0
    assert risk.check(buy(cid="1"), ctx(now)) is None
    assert risk.check(buy(cid="2"), ctx(now)) is None
    assert risk.check(buy(cid="3"), ctx(now)) == "order rate above max_orders_per_sec 2"
    assert risk.check(buy(cid="4"), ctx(now + 499 * MS)) is not None
    assert risk.check(buy(cid="5"), ctx(now + 500 * MS)) is None  # one token back after half a second


def test_price_collar_around_the_mid():
    risk = manager(price_collar_bps=10)
    assert risk.check(buy(price=BID - 990), ctx()) is None  # 9.95 bps below the mid
    reason = risk.check(buy(price=BID - 1_000), ctx())
    assert reason == "price 9990 is 10.0 bps from mid, outside price_collar_bps 10"
    market = PlaceOrder("m", Side.BUY, 5, None, OrderType.MARKET, TimeInForce.IOC)
    assert risk.check(market, ctx()) is None  # no price to collar


def test_max_position_counts_open_orders_on_the_same_side():
    risk = manager(max_position=100)
    assert risk.check(buy(40), ctx(position=60)) is None
    open_orders = {"a": resting("a", Side.BUY, 30, BID)}
    assert risk.check(buy(40), ctx(position=60, open_orders=open_orders)) == (
        "position could reach 130 lots (with open orders) > max_position 100"
    )
    # selling reduces: allowed even far beyond the limit
    assert risk.check(sell(40), ctx(position=500)) is None


def test_max_notional():
    risk = manager(max_notional=100.0)  # 100 USDT: 0.01 BTC at 10000 = 1000 lots
    assert risk.check(buy(999), ctx()) is None
    assert risk.check(buy(1_001), ctx()) == "notional could reach 100.1 > max_notional 100"
    market = PlaceOrder("m", Side.BUY, 1_000, None, OrderType.MARKET, TimeInForce.IOC)
    assert risk.check(market, ctx()) == "notional could reach 100.001 > max_notional 100"  # at the ask


def test_block_events_carry_the_reason_and_fold_repeats():
    risk = manager(max_order_qty=5)
    for i in range(10):
        risk.check(buy(10, cid=f"c{i}"), ctx(DAY0 + i * MS))
    first = events(risk)
    assert len(first) == 1
    assert first[0]["event"] == "block" and first[0]["rule"] == "max_order_qty"
    assert first[0]["message"] == "blocked buy 10 lots (c0): order qty 10 lots > max_order_qty 5"
    risk.check(buy(10, cid="late"), ctx(DAY0 + 2 * S))
    (later,) = events(risk)
    assert later["suppressed"] == 9 and "(+9 similar blocks in the last second)" in later["message"]
    assert risk.blocks == 11


# -- states ---------------------------------------------------------------------------------------
def test_drawdown_moves_to_reducing_then_daily_loss_halts_and_resume_reactivates():
    risk = manager(max_drawdown=50, max_daily_loss=80)
    assert risk.on_equity(DAY0 + 1, 1_000.0) == []
    assert risk.on_equity(DAY0 + 2, 1_030.0) == []  # new peak
    intents = risk.on_equity(DAY0 + 3, 979.0)  # 51 below the peak, -21 on the day
    assert intents == [CancelAll("risk REDUCING: drawdown 51.00 > max_drawdown 50")]
    assert risk.state is RiskState.REDUCING
    (change,) = events(risk)
    assert change["event"] == "state" and change["previous"] == "ACTIVE" and change["state"] == "REDUCING"
    assert change["message"] == "ACTIVE -> REDUCING: drawdown 51.00 > max_drawdown 50"

    # REDUCING: only orders that bring the position towards zero
    assert risk.check(sell(10), ctx(position=30)) is None
    assert risk.check(sell(40), ctx(position=30)).startswith("risk REDUCING")
    assert risk.check(buy(10), ctx(position=30)).startswith("risk REDUCING (drawdown 51.00 > max_drawdown 50)")
    assert risk.check(buy(10), ctx(position=0)) is not None
    events(risk)

    intents = risk.on_equity(DAY0 + 4, 919.0)  # -81 on the day
    assert intents == [CancelAll("risk HALTED: daily loss 81.00 > max_daily_loss 80")]
    assert risk.state is RiskState.HALTED
    (change,) = events(risk)
    assert (change["previous"], change["state"]) == ("REDUCING", "HALTED")
    assert risk.check(sell(10), ctx(position=30)) == "risk HALTED: daily loss 81.00 > max_daily_loss 80"
    assert [e["event"] for e in events(risk)] == ["block"]

    assert risk.resume(DAY0 + 5) == []
    assert risk.state is RiskState.ACTIVE and risk.reason == ""
    (change,) = events(risk)
    assert (change["previous"], change["state"]) == ("HALTED", "ACTIVE")
    # re-armed from the current equity: the old loss no longer counts
    assert risk.on_equity(DAY0 + 6, 915.0) == [] and risk.state is RiskState.ACTIVE
    assert risk.check(buy(10), ctx()) is None


def test_pause_and_resume():
    risk = manager()
    intents = risk.pause("maintenance", DAY0)
    assert intents == [CancelAll("risk HALTED: paused: maintenance")]
    assert risk.state is RiskState.HALTED
    assert risk.check(buy(), ctx()) == "risk HALTED: paused: maintenance"
    assert risk.pause("maintenance", DAY0) == []  # already paused: no second event
    risk.resume(DAY0 + 1)
    assert risk.state is RiskState.ACTIVE
    messages = [e["message"] for e in events(risk) if e["event"] == "state"]
    assert messages == ["ACTIVE -> HALTED: paused: maintenance", "HALTED -> ACTIVE"]
    assert risk.snapshot()["state"] == "ACTIVE"


def test_daily_loss_resets_at_the_utc_day_boundary_of_event_time():
    risk = manager(max_daily_loss=100)
    risk.on_equity(DAY0 + 10 * S, 1_000.0)
    risk.on_equity(NS_PER_DAY + DAY0 - 1, 899.0)  # the last ns of the day: -101
    assert risk.state is RiskState.HALTED
    events(risk)
    intents = risk.on_equity(NS_PER_DAY + DAY0, 899.0)  # midnight UTC
    assert intents == []
    assert risk.state is RiskState.ACTIVE and risk.daily_pnl == 0.0
    day_event, change = events(risk)
    assert day_event["event"] == "day" and "daily-loss halt lifted" in day_event["message"]
    assert (change["previous"], change["state"]) == ("HALTED", "ACTIVE")
    risk.on_equity(NS_PER_DAY + DAY0 + S, 850.0)
    assert risk.daily_pnl == pytest.approx(-49.0) and risk.state is RiskState.ACTIVE


def test_daily_pnl_from_the_caller_is_used_when_given():
    risk = manager(max_daily_loss=100)
    risk.on_equity(DAY0 + 1, 5_000.0, daily_pnl=-20.0)
    assert risk.state is RiskState.ACTIVE and risk.daily_pnl == -20.0
    risk.on_equity(DAY0 + 2, 5_000.0, daily_pnl=-100.5)
    assert risk.state is RiskState.HALTED


def test_a_drawdown_latch_survives_the_new_day():
    risk = manager(max_drawdown=10, max_daily_loss=15)
    risk.on_equity(DAY0 + 1, 100.0)
    risk.on_equity(DAY0 + 2, 84.0)  # drawdown 16 and daily loss 16
    assert risk.state is RiskState.HALTED
    risk.on_equity(DAY0 + NS_PER_DAY, 84.0)
    assert risk.state is RiskState.REDUCING  # the daily halt lifted, the drawdown latch did not


# -- stale-data guard ------------------------------------------------------------------------------
def test_stale_guard_cancels_all_and_blocks_until_fresh():
    risk = manager(max_book_age_ms=2_000)
    assert risk.on_market(DAY0, True, 1_999 * MS) == []
    intents = risk.on_market(DAY0 + 1, True, 2_001 * MS)
    assert intents == [CancelAll("stale data: book is 2001 ms old > max_book_age_ms 2000")]
    (stale,) = events(risk)
    assert stale["event"] == "stale" and "cancelling all orders" in stale["message"]
    assert risk.check(buy(), ctx()) == "stale data: book is 2001 ms old > max_book_age_ms 2000"
    assert risk.check(CancelOrder("x"), ctx()) is None
    assert risk.on_market(DAY0 + 2, True, 3_000 * MS) == []  # still stale: no second cancel-all
    assert risk.snapshot()["stale"] is True and risk.state is RiskState.ACTIVE
    assert risk.stale and risk.has_events
    assert risk.on_market(DAY0 + 3, True, 0) == []
    assert not risk.stale
    assert [e["event"] for e in events(risk)] == ["block", "fresh"]
    assert not risk.has_events
    assert risk.check(buy(), ctx()) is None


def test_resyncing_book_is_stale():
    risk = manager()
    intents = risk.on_market(DAY0, False, 0)
    assert intents == [CancelAll("stale data: book not synced (resyncing or no snapshot yet)")]
    assert risk.check(buy(), ctx()).startswith("stale data: book not synced")
    fresh = manager()
    assert fresh.check(buy(), ctx(book_ok=False)) == "stale data: book not synced"


# -- limits ------------------------------------------------------------------------------------------
def test_update_limits_is_an_event_and_applies_at_once():
    risk = manager()
    assert risk.check(buy(100), ctx()) is None
    risk.update_limits(risk.limits.replace(max_order_qty=10), DAY0)
    (change,) = events(risk)
    assert change["event"] == "limits" and change["changed"] == {"max_order_qty": 10}
    assert risk.check(buy(100), ctx()) == "order qty 100 lots > max_order_qty 10"
    snapshot = risk.snapshot()
    assert snapshot["limits"]["max_order_qty"] == 10 and snapshot["state"] == "ACTIVE"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"max_position": -1}, "max_position must be an integer in [0, 1000000000000] lots, got -1"),
        ({"max_notional": -5}, "max_notional must be a number in [0, 1000000000000000] quote"),
        ({"price_collar_bps": float("nan")}, "price_collar_bps must be a number in [0, 10000] bps, got nan"),
        ({"max_orders_per_sec": "fast"}, "max_orders_per_sec must be a number in [0, 10000] orders/s, got 'fast'"),
        ({"max_drawdwn": 5}, "unknown parameter(s) max_drawdwn"),
    ],
)
def test_limit_errors_are_clear(values, message):
    with pytest.raises(ParameterError) as excinfo:
        RiskLimits.from_mapping(values)
    assert message in str(excinfo.value)


def test_paused_is_the_pause_latch_not_any_halt():
    from orderbook.instrument import Instrument
    from strategies.risk import RiskLimits, RiskManager

    inst = Instrument(symbol="BTCUSDT", base_asset="BTC", quote_asset="USDT", tick_units=1_000_000, step_units=1_000)
    risk = RiskManager(inst, RiskLimits(max_daily_loss=1.0))
    risk.on_equity(0, 0.0)
    risk.on_equity(1, -5.0)  # daily loss halts, but nobody paused
    assert risk.state.value == "HALTED" and not risk.paused
    risk.pause("by hand", 2)
    assert risk.paused
    risk.resume(3)
    assert not risk.paused and risk.state.value == "ACTIVE"
