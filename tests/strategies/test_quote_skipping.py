"""The quoters' shortcuts change nothing: a skipped requote is one that would have changed nothing.

``QuoteSync.settled`` lets a quoter skip the reconciliation when the wanted quotes and its live
orders are as they were after a sync that changed nothing. These tests pin when it must not skip
(the touch moved past the tolerance, an order aged out, vanished, filled, is being cancelled, or
the last intents never became orders) and compare whole runs with the shortcut switched off.
"""
from __future__ import annotations

import numpy as np
import pytest

from orderbook.book import OrderBook
from orderbook.trades import TradeTick
from strategies.activity import ActivityLog
from strategies.base import StrategyContext
from strategies.fees import FeeSchedule
from strategies.latency import LatencyModel
from strategies.market_maker import MarketMaker, MarketMakerParams
from strategies.matching import PaperMatcher
from strategies.orders import CancelOrder, Order, OrderStatus, PlaceOrder, Side
from strategies.portfolio import Portfolio
from strategies.queue_models import ProbabilisticQueue
from strategies.quoting import Quote, QuoteSync
from strategies.registry import create_strategy
from strategies.risk import RiskLimits, RiskManager
from strategies.session import SymbolSession

from tests.strategies.btc_book import ASK, BID, INST, make_book

MS = 1_000_000


class Venue:
    """Open orders as the session keeps them; intents are applied only when the test says so."""

    def __init__(self) -> None:
        self.orders: dict[str, Order] = {}
        self.position = 0

    def ctx(self, now: int, book: OrderBook, risk_state: str = "ACTIVE") -> StrategyContext:
        return StrategyContext(now, INST, book, self.position, 0.0, self.orders, True, risk_state)

    def apply(self, intents, now: int) -> None:
        for intent in intents:
            if isinstance(intent, PlaceOrder):
                self.orders[intent.client_id] = Order(
                    intent.client_id, INST.symbol, intent.side, intent.qty, intent.price, intent.order_type,
                    intent.time_in_force, intent.post_only, intent.tag, ts_created=now, ts_live=now,
                    status=OrderStatus.NEW,
                )
            elif isinstance(intent, CancelOrder):
                del self.orders[intent.client_id]


def maker(**params) -> MarketMaker:
    values = {"spread_ticks": 4, "order_lots": 100, **params}
    return MarketMaker(INST, MarketMakerParams.from_mapping(values), np.random.default_rng(0))


def places(intents) -> list[PlaceOrder]:
    return [i for i in intents if isinstance(i, PlaceOrder)]


def cancels(intents) -> list[CancelOrder]:
    return [i for i in intents if isinstance(i, CancelOrder)]


# -- QuoteSync.settled ------------------------------------------------------------------------
def settled_sync(max_age_ns: int = 0) -> tuple[QuoteSync, Venue, list[Quote]]:
    """A QuoteSync whose last sync placed nothing: both wanted quotes rest already."""
    ids = iter(range(1, 100))
    sync = QuoteSync("q-", lambda prefix: f"q-{prefix}{next(ids)}", tolerance_ticks=1,
                     max_age_ns=max_age_ns, post_only=True)
    venue = Venue()
    wanted = [Quote("bid-L1", Side.BUY, BID, 100), Quote("ask-L1", Side.SELL, ASK, 100)]
    venue.apply(sync.sync(venue.ctx(0, make_book()), wanted, key=1), 0)
    assert sync.sync(venue.ctx(MS, make_book()), wanted, key=1) == []
    return sync, venue, wanted


def test_settled_after_a_sync_that_changed_nothing():
    sync, venue, _ = settled_sync()
    ctx = venue.ctx(2 * MS, make_book())
    assert sync.settled(ctx, 1)
    assert not sync.settled(ctx, 2)  # other wanted quotes


def test_a_sync_with_intents_or_without_a_key_is_not_remembered():
    sync = QuoteSync("q-", lambda prefix: f"q-{prefix}1", 1, 0, True)
    venue = Venue()
    wanted = [Quote("bid-L1", Side.BUY, BID, 100)]
    assert places(sync.sync(venue.ctx(0, make_book()), wanted, key=1))
    assert not sync.settled(venue.ctx(0, make_book()), 1)  # the places may never become orders
    sync, venue, wanted = settled_sync()
    sync.sync(venue.ctx(MS, make_book()), wanted)
    assert not sync.settled(venue.ctx(MS, make_book()), 1)


def test_not_settled_once_an_order_reaches_the_maximum_age():
    sync, venue, _ = settled_sync(max_age_ns=1_000 * MS)
    assert sync.settled(venue.ctx(999 * MS, make_book()), 1)
    assert not sync.settled(venue.ctx(1_000 * MS, make_book()), 1)


@pytest.mark.parametrize("change", ["gone", "filled", "partly_filled", "pending_cancel", "added", "replaced_dict"])
def test_not_settled_when_the_live_orders_change(change):
    sync, venue, _ = settled_sync()
    order = next(iter(venue.orders.values()))
    if change == "gone":
        del venue.orders[order.client_id]
    elif change == "filled":
        order.filled = order.qty
        order.status = OrderStatus.FILLED
    elif change == "partly_filled":  # still live and kept: nothing to do
        order.filled = 1
        order.status = OrderStatus.PARTIALLY_FILLED
    elif change == "pending_cancel":
        order.status = OrderStatus.PENDING_CANCEL
    elif change == "added":
        venue.orders["q-bid-L1-99"] = Order("q-bid-L1-99", INST.symbol, Side.BUY, 100, BID - 5, order.order_type,
                                            order.time_in_force, True, "bid-L1", 0, 0, OrderStatus.NEW)
    elif change == "replaced_dict":
        venue.orders = dict(venue.orders)
    assert sync.settled(venue.ctx(2 * MS, make_book()), 1) is (change == "partly_filled")


def test_cancelling_forgets_the_settled_state():
    sync, venue, _ = settled_sync()
    assert len(sync.cancel_all(venue.ctx(2 * MS, make_book()))) == 2
    assert not sync.settled(venue.ctx(2 * MS, make_book()), 1)


# -- the market maker -------------------------------------------------------------------------
def test_a_move_inside_the_tolerance_settles_and_one_beyond_it_requotes():
    mm = maker(refresh_tolerance_ticks=2)
    venue = Venue()
    venue.apply(mm.on_book(venue.ctx(0, make_book())), 0)
    first = set(venue.orders)
    assert mm.on_book(venue.ctx(1 * MS, make_book(BID + 2, ASK + 2))) == []  # within tolerance: kept
    for step in range(2, 10):  # timers and size-only updates over the kept quotes: nothing
        assert mm.on_timer(venue.ctx(step * MS, make_book(BID + 2, ASK + 2))) == []
        assert mm.on_book(venue.ctx(step * MS, make_book(BID + 2, ASK + 2, bid_lots=500 + step))) == []
    intents = mm.on_book(venue.ctx(10 * MS, make_book(BID + 3, ASK + 3)))
    assert {c.client_id for c in cancels(intents)} == first and len(places(intents)) == 2


def test_quotes_age_out_on_the_timer_after_many_settled_ticks():
    mm = maker(max_order_age_ms=1_000)
    venue = Venue()
    venue.apply(mm.on_book(venue.ctx(0, make_book())), 0)
    for ms in range(100, 1_000, 100):
        assert mm.on_timer(venue.ctx(ms * MS, make_book())) == []
    intents = mm.on_timer(venue.ctx(1_000 * MS, make_book()))
    assert len(cancels(intents)) == 2 and len(places(intents)) == 2


def test_quotes_that_never_became_orders_are_asked_for_again_on_the_timer():
    mm = maker()
    venue = Venue()
    first = places(mm.on_book(venue.ctx(0, make_book())))
    assert len(first) == 2  # not applied: as if risk had blocked them
    assert mm.on_book(venue.ctx(1 * MS, make_book())) == []  # same inputs: the book update skips
    again = places(mm.on_timer(venue.ctx(2 * MS, make_book())))
    assert [(p.side, p.price) for p in again] == [(p.side, p.price) for p in first]
    assert {p.client_id for p in again}.isdisjoint(p.client_id for p in first)


def test_an_order_cancelled_by_someone_else_is_replaced_on_the_timer():
    mm = maker()
    venue = Venue()
    venue.apply(mm.on_book(venue.ctx(0, make_book())), 0)
    assert mm.on_timer(venue.ctx(1 * MS, make_book())) == []
    bid_id = next(cid for cid, o in venue.orders.items() if o.side is Side.BUY)
    venue.orders[bid_id].status = OrderStatus.PENDING_CANCEL  # e.g. risk's cancel-all in flight
    intents = mm.on_timer(venue.ctx(2 * MS, make_book()))
    assert cancels(intents) == [] and [p.side for p in places(intents)] == [Side.BUY]


def test_state_describes_the_last_quotes():
    mm = maker(skew_ticks=1.5)
    venue = Venue()
    assert mm.state() == {"quoting": False, "reason": "no book yet"}
    venue.position = 200
    mm.on_book(venue.ctx(0, make_book()))
    assert mm.state() == {
        "quoting": True, "reason": "", "position": 200, "order_lots": 100, "skew_ticks": 3.0,
        "centre": pytest.approx(10_000.02), "bid": 10_000.0, "ask": 10_000.04,
    }
    mm.on_book(venue.ctx(1 * MS, make_book(), risk_state="HALTED"))
    assert mm.state() == {"quoting": False, "reason": "risk halted", "position": 200}
    capped = maker(max_inventory_lots=200, skew_ticks=0)
    venue.position = 200
    capped.on_book(venue.ctx(0, make_book()))
    assert capped.state()["quoting"] is True  # the ask side still quotes
    both = maker(max_inventory_lots=200, skew_ticks=0)
    both.on_book(venue.ctx(0, make_book(), risk_state="REDUCING"))
    assert both.state()["quoting"] is True
    venue.position = 0
    flat = maker()
    flat.on_book(venue.ctx(0, make_book(), risk_state="REDUCING"))
    assert flat.state()["quoting"] is False and flat.state()["reason"] == "inventory limit"


# -- whole runs with the shortcut switched off ----------------------------------------------------
def scripted_run(strategy_name: str, params: dict, seed: int) -> tuple[list, dict, dict]:
    """A seeded random market through a real session: books walk, trades print, timers tick."""
    rng = np.random.default_rng(seed)
    strategy = create_strategy(strategy_name, INST, params, np.random.default_rng(1))
    log = ActivityLog(1_000_000)
    session = SymbolSession(
        INST, [strategy], RiskManager(INST, RiskLimits(max_orders_per_sec=4, max_position=1_000)),
        PaperMatcher(INST, fees=FeeSchedule(-1.0, 5.0), latency=LatencyModel(3 * MS, 2 * MS, 1 * MS),
                     queue_model=ProbabilisticQueue(np.random.default_rng(2))),
        Portfolio([INST]), log.append,
    )
    book = OrderBook(INST)
    mid = 2 * BID
    now = 1_700_000_000_000_000_000
    next_timer = now
    for step in range(3_000):
        now += int(rng.integers(1, 60)) * MS
        while next_timer <= now:
            session.on_timer(next_timer)
            next_timer += 250 * MS
        roll = rng.random()
        if roll < 0.55:
            mid += int(rng.integers(-3, 4))
            half = int(rng.integers(1, 4))
            bid, ask = (mid - half) // 2, (mid + half + 1) // 2
            levels = [(bid - k, int(rng.integers(50, 900))) for k in range(5)]
            asks = [(ask + k, int(rng.integers(50, 900))) for k in range(5)]
            book.load(step, levels, asks)
            session.on_book(now, book, book_ok=rng.random() > 0.01)
        elif book.bids and book.asks:
            buyer_is_maker = bool(rng.random() < 0.5)
            best = book.best_bid()[0] if buyer_is_maker else book.best_ask()[0]
            price = best - int(rng.integers(0, 3)) if buyer_is_maker else best + int(rng.integers(0, 3))
            session.on_trade(TradeTick(INST.symbol, step, price, int(rng.integers(1, 400)), buyer_is_maker,
                                       now - MS, now))
    entries = [(a.ts, a.kind, a.message, sorted(a.data.items())) for a in log]
    return entries, strategy.state(), session.snapshot()


RUNS = [  # order sizes of 110+ lots pass minNotional (10 USDT at ~10000)
    ("market_maker", {"spread_ticks": 2, "order_lots": 150, "refresh_tolerance_ticks": 1, "max_order_age_ms": 700}),
    ("market_maker", {"spread_bps": 0.5, "levels": 3, "order_lots": 110, "max_inventory_lots": 500,
                      "refresh_tolerance_ticks": 0}),
    ("avellaneda_stoikov", {"order_lots": 150, "min_vol_samples": 2, "vol_sample_ms": 100, "min_arrivals": 5,
                            "max_order_age_ms": 1_500}),
    ("avellaneda_stoikov", {"order_lots": 150, "sigma": 3.0, "k": 0.8, "horizon": "finite", "horizon_s": 5.0}),
]


@pytest.mark.parametrize(("name", "params"), RUNS)
def test_skipping_settled_requotes_changes_nothing(monkeypatch, name, params):
    fast = scripted_run(name, params, seed=5)
    monkeypatch.setattr(QuoteSync, "settled", lambda self, ctx, key: False)
    full = scripted_run(name, params, seed=5)
    assert sum(1 for e in fast[0] if e[1] == "order") > 20  # the run trades: the comparison means something
    assert fast == full


@pytest.mark.parametrize("name", ["market_maker", "avellaneda_stoikov", "liquidity_taker"])
def test_backtests_over_the_embedded_exchange_are_unchanged_and_repeatable(monkeypatch, name):
    """Recorded-like frames of the embedded exchange's market (deterministic for its seed) through
    the CLI's pipeline: the same summary and activity twice, and with the shortcut switched off."""
    from app.commands.backtest import drive
    from feeds.pipeline import MarketData
    from strategies.backtest import Backtest, BacktestConfig
    from tests.benchmarks.bench_backtest import exchange_session

    session = exchange_session(["BTCUSDT", "ETHUSDT"], minutes=0.5, seed=3)
    config = BacktestConfig(strategy=name, seed=4, timer_ms=250, activity_keep=1_000_000,
                            params={"order_lots": 0} if name != "liquidity_taker" else {"cooldown_ms": 500})

    def run() -> tuple[dict, list]:
        backtest = Backtest(session.instruments, config)
        drive(session.messages, MarketData(session.instruments), backtest)
        return backtest.summary(), [(a.ts, a.symbol, a.kind, a.message, a.data) for a in backtest.activity]

    first, second = run(), run()
    assert first == second
    assert first[0]["events"] > 1_000
    monkeypatch.setattr(QuoteSync, "settled", lambda self, ctx, key: False)
    assert run() == first
