"""SymbolSession: intents through the real RiskManager to the matcher; fills to portfolio and strategy; activity."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from orderbook.book import OrderBook
from orderbook.instrument import Instrument
from orderbook.trades import TradeTick
from strategies.activity import ActivityLog
from strategies.base import Strategy, StrategyContext
from strategies.parameters import Parameters, ParameterError, integer
from strategies.fees import FeeSchedule
from strategies.latency import MS, LatencyModel
from strategies.matching import PaperMatcher
from strategies.orders import CancelAll, CancelOrder, FillReason, OrderStatus, OrderType, PlaceOrder, Side
from strategies.portfolio import Portfolio
from strategies.registry import create_strategy
from strategies.risk import RiskLimits, RiskManager
from strategies.session import SymbolSession

INST = Instrument("TESTUSDT", "TEST", "USDT", tick_units=1_000_000, step_units=100_000,
                  min_qty_units=100_000, min_notional_units=50_000_000)
T0 = 1_700_000_000_000_000_000


@dataclass(frozen=True)
class ScriptParams(Parameters):
    size: int = integer(10, 1, 1_000_000, "lots")


class Scripted(Strategy):
    """Returns whatever the test queued, on the next event; records what it saw."""

    Params = ScriptParams

    def __init__(self, name: str = "scripted") -> None:
        self.name = name
        super().__init__(INST, ScriptParams(), np.random.default_rng(0))
        self.queued: list = []
        self.fills: list = []
        self.seen: list[tuple[int, int, dict]] = []
        self.raise_in: set[str] = set()  # hooks that raise (the fault-isolation tests)

    def _raise(self, hook: str) -> None:
        if hook in self.raise_in:
            raise ZeroDivisionError(f"scripted failure in {hook}")

    def _next(self, ctx: StrategyContext, hook: str) -> list:
        self._raise(hook)
        self.seen.append((ctx.now, ctx.position, dict(ctx.open_orders)))
        out, self.queued = self.queued, []
        return out

    def on_book(self, ctx):
        return self._next(ctx, "on_book")

    def on_trade(self, ctx, trade):
        return self._next(ctx, "on_trade")

    def on_timer(self, ctx):
        return self._next(ctx, "on_timer")

    def on_fill(self, ctx, fill):
        self.fills.append((fill, ctx.position))
        self._raise("on_fill")
        return []

    def state(self):
        self._raise("state")
        return {"queued": len(self.queued)}


def make_book() -> OrderBook:
    book = OrderBook(INST)
    book.load(1, [(10000, 50), (9999, 40)], [(10010, 30), (10011, 20)])
    return book


def make_session(strategies, limits=RiskLimits(), latency=LatencyModel(0, 0, 0), fees=FeeSchedule(0.0, 0.0)):
    log = ActivityLog(1_000_000)
    portfolio = Portfolio([INST])
    matcher = PaperMatcher(INST, fees=fees, latency=latency)
    session = SymbolSession(INST, strategies, RiskManager(INST, limits), matcher, portfolio, log.append)
    return session, log, portfolio


def bid(cid, price=10000, qty=10, **kw):
    return PlaceOrder(cid, Side.BUY, qty, price, **kw)


def sell_print(price, qty, ts):
    return TradeTick("TESTUSDT", 7, price, qty, True, ts, ts)


def kinds(log):
    return [a.kind for a in log]


def test_order_fill_and_accounting_flow():
    strategy = Scripted()
    session, log, portfolio = make_session([strategy], fees=FeeSchedule(maker_bps=-1.0, taker_bps=5.0))
    book = make_book()
    strategy.queued = [bid("b1", qty=20)]
    session.on_book(T0, book)
    assert "b1" in session.matcher.orders and kinds(log) == ["order"]
    assert "BUY 0.02 @ 100.00" in list(log)[0].message
    session.on_trade(sell_print(10000, 60, T0 + MS))  # 50 ahead, then 10 for us
    fill, position_seen = strategy.fills[0]
    assert (fill.qty, fill.reason) == (10, FillReason.QUEUE_REACHED)
    assert position_seen == 10  # on_fill sees the position after the fill
    assert kinds(log)[-1] == "fill"
    account = portfolio.account("TESTUSDT")
    assert account.position == 10 and account.fees == fill.fee < 0
    session.on_trade(sell_print(9990, 1, T0 + 2 * MS))  # through our price: the rest fills
    assert account.position == 20 and "b1" not in session.matcher.orders
    assert session.slots[0].orders == {}
    assert account.fees == pytest.approx(sum(f.fee for f, _ in strategy.fills))
    snap = session.snapshot()
    assert set(snap) == {"risk", "position", "orders", "fills", "strategies"}
    assert [f["qty"] for f in snap["fills"]] == [0.01, 0.01]
    assert snap["fills"][0]["reason"] == "queue_reached" and snap["fills"][0]["liquidity"] == "maker"
    assert snap["fills"][0]["strategy"] == "scripted"
    assert session.snapshot()["fills"] == []  # only fills since the last snapshot
    assert snap["position"]["qty"] == pytest.approx(0.02)
    assert snap["risk"]["state"] == "ACTIVE"
    assert snap["strategies"][0]["name"] == "scripted" and snap["strategies"][0]["params"] == {"size": 10}


def test_risk_block_becomes_a_reject_entry_and_nothing_reaches_the_matcher():
    strategy = Scripted()
    session, log, _ = make_session([strategy], limits=RiskLimits(max_order_qty=5))
    strategy.queued = [bid("big", qty=10)]
    session.on_book(T0, make_book())
    assert session.matcher.orders == {}
    rejects = [a for a in log if a.kind == "reject"]
    assert len(rejects) == 1 and "max_order_qty" in rejects[0].message
    assert session.counters()["blocked"] == 1


def test_exchange_rejections_are_reject_entries():
    strategy = Scripted()
    session, log, _ = make_session([strategy])
    strategy.queued = [bid("tiny", qty=1), bid("cross", price=10010, post_only=True)]
    session.on_book(T0, make_book())
    messages = [a.message for a in log if a.kind == "reject"]
    assert any("Filter failure: NOTIONAL" in m for m in messages)
    assert any("Order would immediately match and take." in m for m in messages)
    assert session.matcher.orders == {} and session.slots[0].orders == {}


def test_unsynced_book_makes_risk_cancel_everything_and_block_new_orders():
    strategy = Scripted()
    session, log, _ = make_session([strategy])
    book = make_book()
    strategy.queued = [bid("b1"), PlaceOrder("s1", Side.SELL, 10, 10020)]
    session.on_book(T0, book)
    assert len(session.matcher.orders) == 2
    session.on_book_status(T0 + MS, synced=False, stale=True, reason="gap")
    assert session.matcher.orders == {}
    assert {"feed", "risk", "cancel"} <= set(kinds(log))
    strategy.queued = [bid("b2")]
    session.on_timer(T0 + 2 * MS)
    assert session.matcher.orders == {}
    assert any("stale" in a.message for a in log if a.kind == "reject")
    session.on_book_status(T0 + 3 * MS, synced=True)
    strategy.queued = [bid("b3")]
    session.on_book(T0 + 4 * MS, book)
    assert list(session.matcher.orders) == ["b3"]


def test_pause_halts_and_cancels_resume_allows_again():
    strategy = Scripted()
    session, log, _ = make_session([strategy])
    book = make_book()
    strategy.queued = [bid("b1")]
    session.on_book(T0, book)
    session.pause("operator")
    assert session.matcher.orders == {} and session.risk.state.value == "HALTED"
    strategy.queued = [bid("b2")]
    session.on_book(T0 + MS, book)
    assert session.matcher.orders == {}
    session.resume()
    strategy.queued = [bid("b3")]
    session.on_book(T0 + 2 * MS, book)
    assert list(session.matcher.orders) == ["b3"]
    session.update_limits({"max_open_orders": 1})
    assert session.risk.limits.max_open_orders == 1
    with pytest.raises(ParameterError):
        session.update_limits({"max_open_orders": -1})


def test_several_strategies_see_only_their_own_orders_and_position():
    first, second = Scripted("first"), Scripted("second")
    session, log, portfolio = make_session([first, second])
    book = make_book()
    first.queued = [PlaceOrder("f-buy", Side.BUY, 10, order_type=OrderType.MARKET)]
    second.queued = [bid("s-bid", price=9999)]
    session.on_book(T0, book)
    session.on_timer(T0 + MS)
    assert list(first.seen[-1][2]) == [] and first.seen[-1][1] == 10
    assert list(second.seen[-1][2]) == ["s-bid"] and second.seen[-1][1] == 0
    assert portfolio.account("TESTUSDT").position == 10
    # one strategy cannot cancel the other's order
    first.queued = [CancelOrder("s-bid")]
    session.on_timer(T0 + 2 * MS)
    assert "s-bid" in session.matcher.orders
    assert any("cancel s-bid rejected" in a.message for a in log)
    # CancelAll from a strategy cancels only its own orders
    first.queued = [bid("f-bid", price=9998)]
    session.on_timer(T0 + 3 * MS)
    first.queued = [CancelAll("done")]
    session.on_timer(T0 + 4 * MS)
    assert list(session.matcher.orders) == ["s-bid"]


def test_disable_cancels_orders_and_stops_callbacks_params_change_at_run_time():
    first, second = Scripted("first"), Scripted("second")
    session, log, _ = make_session([first, second])
    book = make_book()
    second.queued = [bid("s-bid")]
    session.on_book(T0, book)
    session.configure("second", enabled=False)
    assert session.matcher.orders == {}
    calls = len(second.seen)
    session.on_book(T0 + MS, book)
    assert len(second.seen) == calls and len(first.seen) == 2
    session.configure("first", params={"size": "25"})
    assert first.params.size == 25
    with pytest.raises(ParameterError):
        session.configure("first", params={"size": 0})
    with pytest.raises(ParameterError):
        session.configure("first", params={"nope": 1})
    with pytest.raises(ParameterError, match="no strategy 'third'"):
        session.configure("third", enabled=True)
    assert [s["enabled"] for s in session.snapshot()["strategies"]] == [True, False]
    assert any(a.kind == "strategy" and "second stopped" in a.message for a in log)


def test_latency_fill_during_pending_cancel_reaches_the_strategy():
    strategy = Scripted()
    latency = LatencyModel(order_entry_ns=1 * MS, cancel_ns=10 * MS, market_data_ns=1 * MS)
    session, log, portfolio = make_session([strategy], latency=latency)
    book = make_book()
    strategy.queued = [bid("b1")]
    session.on_book(T0, book)
    assert session.matcher.orders["b1"].status is OrderStatus.PENDING_NEW
    session.on_timer(T0 + 2 * MS)
    strategy.queued = [CancelOrder("b1")]
    session.on_timer(T0 + 3 * MS)
    assert session.matcher.orders["b1"].status is OrderStatus.PENDING_CANCEL
    session.on_trade(sell_print(9999, 1, T0 + 5 * MS))
    assert portfolio.account("TESTUSDT").position == 10 and len(strategy.fills) == 1
    session.on_timer(T0 + 20 * MS)
    assert any("cancel b1 rejected: Unknown order sent." in a.message for a in log)


def test_duplicate_strategy_names_and_wrong_symbol_are_refused():
    with pytest.raises(ValueError, match="given twice"):
        make_session([Scripted("a"), Scripted("a")])
    other = Instrument("OTHERUSDT", "OTHER", "USDT", tick_units=1_000_000, step_units=100_000)
    strategy = create_strategy("market_maker", other)
    with pytest.raises(ValueError, match="is for OTHERUSDT"):
        make_session([strategy])


@pytest.mark.parametrize("name", ["market_maker", "avellaneda_stoikov", "liquidity_taker"])
def test_registered_strategies_run_in_a_session_and_keep_the_books_straight(name):
    rng = np.random.default_rng(3)
    strategy = create_strategy(name, INST, {}, np.random.default_rng(1))
    session, log, portfolio = make_session([strategy], latency=LatencyModel(1 * MS, 1 * MS, 1 * MS),
                                           fees=FeeSchedule(1.0, 5.0))
    book = make_book()
    mid = 10005
    ts = T0
    for step in range(3000):
        ts += 50 * MS
        mid += int(rng.integers(-2, 3))
        spread = int(rng.integers(2, 6))
        book.load(step + 2, [(mid - spread // 2 - i, int(rng.integers(5, 80))) for i in range(10)],
                  [(mid + (spread + 1) // 2 + i, int(rng.integers(5, 80))) for i in range(10)])
        session.on_book(ts, book)
        if rng.random() < 0.5:
            price = mid - spread // 2 if rng.random() < 0.5 else mid + (spread + 1) // 2
            session.on_trade(TradeTick("TESTUSDT", step, price, int(rng.integers(1, 60)),
                                       price < mid, ts + MS, ts + MS))
        if step % 4 == 0:
            session.on_timer(ts + 2 * MS)
    portfolio.finish(ts + 3 * MS)
    account = portfolio.account("TESTUSDT")
    fills = [a for a in log if a.kind == "fill"]
    assert account.fills == len(fills)
    assert account.fees == pytest.approx(sum(a.data["fee"] for a in fills), abs=1e-12)
    mark = account.mark_price() or 0.0  # never marked when it never traded
    assert account.equity() == pytest.approx(account.cash() + account.position_qty() * mark)
    assert account.equity() == pytest.approx(account.realized() + account.unrealized() - account.fees, abs=1e-9)


def test_trades_reach_the_strategies_that_listen_also_after_a_restart():
    class BookOnly(Scripted):
        on_trade = Strategy.on_trade  # the base's: trades are not worth a callback

    listener, quiet = Scripted("listener"), BookOnly("quiet")
    session, _, _ = make_session([listener, quiet])
    session.on_book(T0, make_book())
    session.on_trade(sell_print(9990, 1, T0 + MS))
    assert len(listener.seen) == 2 and len(quiet.seen) == 1
    session.set_enabled("listener", False)
    session.on_trade(sell_print(9990, 1, T0 + 2 * MS))
    assert len(listener.seen) == 2
    session.set_enabled("listener", True)
    session.on_trade(sell_print(9990, 1, T0 + 3 * MS))
    assert len(listener.seen) == 3 and len(quiet.seen) == 1
