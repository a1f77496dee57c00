"""The Avellaneda–Stoikov quoter: its formulas, its online estimators, and its quotes on constructed books."""
from __future__ import annotations

import math

import numpy as np
import pytest

from orderbook.book import OrderBook
from orderbook.instrument import UNITS_PER_ONE, Instrument
from orderbook.trades import TradeTick
from strategies.avellaneda_stoikov import (
    AvellanedaStoikovParams,
    AvellanedaStoikovQuoter,
    implied_k,
    optimal_spread,
    reservation_price,
)
from strategies.base import StrategyContext
from strategies.parameters import ParameterError
from strategies.estimators import ArrivalEstimator, EwmaVolatility, TradeGrouper
from strategies.orders import CancelOrder, PlaceOrder, Side

MS = 1_000_000
S = 1_000_000_000
INST = Instrument(
    symbol="BTCUSDT", base_asset="BTC", quote_asset="USDT",
    tick_units=1_000_000, step_units=1_000, min_notional_units=10 * UNITS_PER_ONE,
)


def make_book(bid: int, ask: int) -> OrderBook:
    book = OrderBook(INST)
    book.load(1, [(bid, 100)], [(ask, 100)])
    return book


def ctx(now: int, book: OrderBook, position: int = 0, book_ok: bool = True, risk_state: str = "ACTIVE",
        open_orders=None) -> StrategyContext:
    return StrategyContext(now, INST, book, position, 0.0, open_orders or {}, book_ok, risk_state)


def quoter(**params) -> AvellanedaStoikovQuoter:
    return AvellanedaStoikovQuoter(INST, AvellanedaStoikovParams.from_mapping(params), np.random.default_rng(0))


def quotes(intents) -> dict[str, int]:
    return {i.tag.split("-")[0]: i.price for i in intents if isinstance(i, PlaceOrder)}


# -- the formulas ------------------------------------------------------------------------------
def test_formulas_match_the_paper():
    # s = 100, q = 1, gamma = 0.1, sigma = 2, T - t = 1, k = 1.5
    assert reservation_price(100.0, 1, 0.1, 2.0, 1.0) == pytest.approx(99.6)
    assert reservation_price(100.0, -2, 0.1, 2.0, 0.5) == pytest.approx(100.4)
    assert optimal_spread(0.1, 2.0, 1.0, 1.5) == pytest.approx(0.4 + 20 * math.log(1 + 0.1 / 1.5))
    assert optimal_spread(0.1, 2.0, 0.0, 1.5) == pytest.approx(1.2908, abs=1e-4)  # the paper's 1.29
    assert optimal_spread(0.01, 2.0, 0.0, 1.5) == pytest.approx(1.3289, abs=1e-4)  # 1.33
    arrays = optimal_spread(0.1, 2.0, np.array([1.0, 0.5, 0.0]), 1.5)
    assert arrays.shape == (3,) and arrays[0] > arrays[1] > arrays[2]


def test_implied_k_inverts_the_stationary_spread():
    for gamma in (1e-4, 0.01, 0.5):
        for spread in (0.002, 1.0, 25.0):
            k = implied_k(gamma, spread)
            assert optimal_spread(gamma, 0.0, 0.0, k) == pytest.approx(spread, rel=1e-9)


# -- estimators on synthetic data with known parameters -----------------------------------------
def test_ewma_volatility_recovers_a_known_sigma():
    rng = np.random.default_rng(11)
    sigma_bps = 4.0  # per sqrt(second)
    vol = EwmaVolatility(span=4000, sample_interval_ns=500 * MS)
    mid, ts = 1_000_000.0, 0
    vol.update(ts, mid)
    for _ in range(20_000):
        ts += 500 * MS
        mid *= math.exp(rng.normal(0.0, sigma_bps / 10_000 * math.sqrt(0.5)))
        vol.update(ts, mid)
    assert vol.samples == 20_000
    assert vol.sigma_bps() == pytest.approx(sigma_bps, rel=0.06)


def test_ewma_volatility_samples_at_the_minimum_interval_only():
    vol = EwmaVolatility(span=10, sample_interval_ns=1000 * MS)
    assert vol.update(0, 100.0) is False  # the first mid is the reference
    assert vol.update(400 * MS, 101.0) is False  # too soon
    assert vol.update(1000 * MS, 101.0) is True
    assert vol.variance_rate == pytest.approx(math.log(1.01) ** 2 / 1.0)
    assert vol.update(2000 * MS, 0.0) is False  # a non-positive mid is ignored


def test_arrival_estimator_recovers_known_k_and_a():
    rng = np.random.default_rng(5)
    k_true, a_true = 0.5, 3.0  # 1/bp, market orders per second per side
    est = ArrivalEstimator(halflife_s=100_000.0)
    ts = 0
    est.advance(ts)
    for _ in range(12_000):
        ts += int(rng.exponential(1.0 / (2 * a_true)) * S)
        est.observe(ts, rng.exponential(1.0 / k_true))
    assert est.k == pytest.approx(k_true, rel=0.05)
    assert est.a == pytest.approx(a_true, rel=0.05)


def test_arrival_estimator_forgets_with_its_half_life():
    est = ArrivalEstimator(halflife_s=10.0)
    est.advance(0)
    for i in range(100):
        est.observe(i * S // 10, 1.0)  # 10 per second at depth 1 for 10 s
    for i in range(100):
        est.observe(10 * S + i * S // 10, 4.0)  # then at depth 4
    before = est.k
    for i in range(1000):
        est.observe(20 * S + i * S // 10, 4.0)
    assert before < 0.5 and est.k == pytest.approx(0.25, rel=0.02)


def test_trade_grouper_counts_one_aggressor_order_once():
    grouper = TradeGrouper()
    assert grouper.add(100, True, 1.0, at=7) is None
    assert grouper.add(100, True, 3.0, at=8) is None  # same order, deeper print
    assert grouper.add(100, False, 2.0, at=9) == (7, True, 3.0)
    assert grouper.flush() == (9, False, 2.0)
    assert grouper.flush() is None


def test_quoter_estimates_converge_on_a_synthetic_market():
    """Books every 100 ms with a known mid volatility; market orders with known A and k."""
    rng = np.random.default_rng(2024)
    sigma_bps, k_true, a_true = 5.0, 0.5, 2.0
    q = quoter(vol_span=3000, vol_sample_ms=500, min_vol_samples=5, arrival_halflife_s=100_000, min_arrivals=30)
    mid = 1_000_000.5  # bid/ask one tick apart around it
    trade_id = 0
    for step in range(1, 30_001):  # 3000 s
        now = step * 100 * MS
        mid *= math.exp(rng.normal(0.0, sigma_bps / 10_000 * math.sqrt(0.1)))
        bid = math.floor(mid)
        book = make_book(bid, bid + 1)
        q.on_book(ctx(now, book))
        centre = bid + 0.5
        for side in (True, False):
            for j in range(rng.poisson(a_true * 0.1)):
                depth_ticks = rng.exponential(1.0 / k_true) * centre / 10_000
                price = round(centre + depth_ticks) if side else round(centre - depth_ticks)
                trade_id += 1
                trade = TradeTick("BTCUSDT", trade_id, price, 10, not side, now + j * 1000 + side, now)
                q.on_trade(ctx(now, book), trade)
    state = q.state()
    assert state["sigma"] == pytest.approx(sigma_bps, rel=0.1)
    assert state["k"] == pytest.approx(k_true, rel=0.1)
    assert state["A"] == pytest.approx(a_true, rel=0.1)
    assert state["k_source"] == "online"
    assert state["status"] == "quoting"


# -- quotes --------------------------------------------------------------------------------------
def test_symmetric_quotes_around_the_mid_when_flat():
    # fixed sigma = 2 bps/sqrt(s), k = 0.5/bp, gamma = 0.01, T - t = 60 s; mid 10000.05
    q = quoter(sigma=2.0, k=0.5, gamma=0.01, horizon_s=60, order_lots=100)
    intents = q.on_book(ctx(0, make_book(1_000_000, 1_000_010)))
    spread_bps = 0.01 * 4 * 60 + 200 * math.log(1 + 0.01 / 0.5)  # 2.4 + 3.96 = 6.36 bps
    half_ticks = spread_bps / 2 * 1_000_005 / 10_000
    assert quotes(intents) == {"bid": math.floor(1_000_005 - half_ticks), "ask": math.ceil(1_000_005 + half_ticks)}
    state = q.state()
    assert state["optimal_spread_bps"] == pytest.approx(spread_bps)
    assert state["optimal_spread"] == pytest.approx(spread_bps / 10_000 * 10_000.05, rel=1e-6)
    assert state["reservation_price"] == pytest.approx(10_000.05)
    assert state["inventory"] == 0 and state["k_source"] == "fixed"
    for intent in intents:
        assert intent.post_only and intent.qty == 100


def test_inventory_moves_the_reservation_price_against_the_position():
    q_long = quoter(sigma=2.0, k=0.5, gamma=0.01, horizon_s=60, order_lots=100)
    q_short = quoter(sigma=2.0, k=0.5, gamma=0.01, horizon_s=60, order_lots=100)
    book = make_book(1_000_000, 1_000_010)
    flat = quotes(quoter(sigma=2.0, k=0.5, gamma=0.01, horizon_s=60, order_lots=100).on_book(ctx(0, book)))
    long_quotes = quotes(q_long.on_book(ctx(0, book, position=300)))
    short_quotes = quotes(q_short.on_book(ctx(0, book, position=-300)))
    shift_bps = 3 * 0.01 * 4 * 60  # q * gamma * sigma^2 * (T - t) = 7.2 bps = 720 ticks here
    assert q_long.state()["reservation_price"] == pytest.approx(10_000.05 * (1 - shift_bps / 10_000), rel=1e-9)
    assert long_quotes["ask"] < flat["ask"] and long_quotes["bid"] < flat["bid"]
    assert short_quotes["ask"] > flat["ask"] and short_quotes["bid"] > flat["bid"]
    # the ask of the long quoter went through the mid: post-only keeps it above the best bid
    assert long_quotes["ask"] >= 1_000_001
    assert q_long.state()["inventory"] == 3


def test_finite_horizon_spread_shrinks_towards_the_end_and_restarts():
    q = quoter(sigma=2.0, k=0.5, gamma=0.01, horizon="finite", horizon_s=10, order_lots=100)
    book = make_book(1_000_000, 1_000_010)
    spreads = []
    for t in (0, 5 * S, 9_900 * MS, 10 * S):
        q.on_book(ctx(t, book))
        spreads.append(q.state()["optimal_spread_bps"])
    stationary = 200 * math.log(1 + 0.01 / 0.5)
    assert spreads[0] == pytest.approx(0.01 * 4 * 10 + stationary)
    assert spreads[1] == pytest.approx(0.01 * 4 * 5 + stationary)
    assert spreads[2] == pytest.approx(0.01 * 4 * 0.1 + stationary)
    assert spreads[3] == pytest.approx(spreads[0])  # the next session starts with a full horizon


def test_warms_up_before_quoting_and_implies_k_from_the_book():
    q = quoter(min_vol_samples=3, vol_sample_ms=100, order_lots=100)
    book = make_book(1_000_000, 1_000_010)
    assert quotes(q.on_book(ctx(0, book))) == {}
    assert q.state()["status"].startswith("warming up") and q.state()["sigma"] is None
    for i in range(1, 4):
        q.on_book(ctx(i * 100 * MS, make_book(1_000_000 + i, 1_000_010 + i)))
    state = q.state()
    assert state["status"] == "quoting" and state["k_source"] == "book"
    book_spread_bps = 10 / 1_000_008 * 10_000
    assert state["k"] == pytest.approx(float(implied_k(0.01, book_spread_bps)))
    assert state["A"] is None  # not estimated yet, and not needed to quote


def test_a_spread_too_wide_to_imply_k_at_this_gamma_stops_quoting_instead_of_raising():
    # found by the settings fuzzer (gamma 100 on a real book): exp(gamma * spread / 2) overflowed,
    # the implied k was 0 and the optimal spread divided by it
    q = quoter(sigma=2.0, gamma=1000, order_lots=100)
    assert quotes(q.on_book(ctx(0, make_book(1_000_000, 1_020_000)))) == {}  # ~198 bps wide
    assert q.k() is None and q.state()["status"] == "warming up: estimating k"
    assert quotes(q.on_book(ctx(S, make_book(1_000_000, 1_000_001)))) != {}  # a narrow book implies one


def test_stale_book_or_halt_cancels_quotes():
    q = quoter(sigma=2.0, k=0.5, order_lots=100)
    book = make_book(1_000_000, 1_000_010)
    placed = q.on_book(ctx(0, book))
    from strategies.orders import Order, OrderStatus  # local: only this test builds live orders

    open_orders = {
        p.client_id: Order(p.client_id, "BTCUSDT", p.side, p.qty, p.price, p.order_type, p.time_in_force,
                           p.post_only, p.tag, ts_created=0, status=OrderStatus.NEW)
        for p in placed
    }
    intents = q.on_book(ctx(MS, book, book_ok=False, open_orders=open_orders))
    assert {i.client_id for i in intents if isinstance(i, CancelOrder)} == set(open_orders)
    q2 = quoter(sigma=2.0, k=0.5, order_lots=100)
    q2.on_book(ctx(0, book))
    intents = q2.on_timer(ctx(MS, book, risk_state="HALTED", open_orders=open_orders))
    assert all(isinstance(i, CancelOrder) for i in intents) and intents


def test_reducing_state_quotes_only_the_reducing_side():
    q = quoter(sigma=2.0, k=0.5, order_lots=100)
    intents = q.on_book(ctx(0, make_book(1_000_000, 1_000_010), position=-100, risk_state="REDUCING"))
    placed = [i for i in intents if isinstance(i, PlaceOrder)]
    assert [(p.side, p.qty) for p in placed] == [(Side.BUY, 100)]


def test_state_is_json_safe():
    import json

    q = quoter()
    json.dumps(q.state())
    q.on_book(ctx(0, make_book(1_000_000, 1_000_010)))
    json.dumps(q.state())


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"gamma": 0}, "gamma must be a number in [1e-06, 1000]"),
        ({"gamma": -1}, "gamma must be a number in [1e-06, 1000]"),
        ({"sigma": -0.1}, "sigma must be 0 (estimate online) or a number in [1e-06, 1000] bps/sqrt(s), got -0.1"),
        ({"k": -1}, "k must be 0 (estimate online) or a number in [1e-06, 1000] 1/bp"),
        ({"A": -1}, "A must be 0 (estimate online) or a number in [1e-06, 1000000] 1/s"),
        ({"horizon": "weekly"}, "horizon must be one of 'rolling', 'finite', got 'weekly'"),
        ({"horizon_s": 0}, "horizon_s must be a number in [1, 604800] s"),
        ({"vol_span": 0}, "vol_span must be an integer in [1, 1000000]"),
        ({"min_arrivals": 0}, "min_arrivals must be an integer in [1, 1000000]"),
        ({"gamma": "lots"}, "gamma must be a number in [1e-06, 1000] 1/(bp x order size), got 'lots'"),
    ],
)
def test_parameter_errors_are_clear(values, message):
    with pytest.raises(ParameterError) as excinfo:
        AvellanedaStoikovParams.from_mapping(values)
    assert message in str(excinfo.value)
