"""Every store in strategies/ that the market or the strategies can grow, driven past its bound."""
from __future__ import annotations

import pytest

from strategies import market_maker
from strategies.activity import ACTIVITY_KEPT, Activity, ActivityLog
from strategies.latency import MS
from strategies.market_maker import TAG_LISTS_KEPT, _ladder_tags
from strategies.metrics import EQUITY_POINTS_KEPT, SECOND_NS, EquityCurve
from strategies.portfolio import Portfolio
from strategies.risk import RiskLimits
from strategies.session import _TEXT_CACHE, FILLS_KEPT_PER_PUSH
from strategies.signals import WINDOW_SAMPLES, Momentum, TradeFlow
from tests.strategies.test_session import INST, T0, Scripted, bid, make_book, make_session, sell_print


def test_activity_log_keeps_the_newest_entries():
    log = ActivityLog()
    for i in range(ACTIVITY_KEPT + 300):
        log.append(Activity(i, "X", "system", f"m{i}"))
    assert len(log) == ACTIVITY_KEPT and log.seq == ACTIVITY_KEPT + 300
    assert list(log)[0].message == "m300"


def test_equity_curves_keep_an_hour_of_points():
    curve = EquityCurve()
    for second in range(EQUITY_POINTS_KEPT + 500):
        curve.record(second, float(second % 17))
    assert len(curve.points) == EQUITY_POINTS_KEPT and curve.points[0][0] == 500
    assert curve.samples == EQUITY_POINTS_KEPT + 500  # the running figures saw every sample
    portfolio = Portfolio([INST])
    for second in range(EQUITY_POINTS_KEPT + 200):
        portfolio.advance(T0 + second * SECOND_NS)
    assert len(portfolio.curve.points) == len(portfolio.account(INST.symbol).curve.points) == EQUITY_POINTS_KEPT


def test_fills_waiting_for_a_snapshot_keep_the_newest_while_the_account_counts_all():
    strategy = Scripted()
    limits = RiskLimits(max_orders_per_sec=0, max_open_orders=0)
    session, log, portfolio = make_session([strategy], limits=limits)
    strategy.queued = [bid("big", qty=5000)]
    session.on_book(T0, make_book())  # 50 lots queue ahead of it
    prints = 50 + FILLS_KEPT_PER_PUSH + 200
    for i in range(prints):
        session.on_trade(sell_print(10000, 1, T0 + (i + 1) * MS))
    fills = session.snapshot()["fills"]
    assert len(fills) == FILLS_KEPT_PER_PUSH
    assert portfolio.account(INST.symbol).fills == FILLS_KEPT_PER_PUSH + 200
    assert session.snapshot()["fills"] == []


def test_activity_texts_are_remembered_up_to_their_bound():
    session, _, _ = make_session([Scripted()])
    for lots in range(1, _TEXT_CACHE + 300):
        session._qty_text(lots)
        session._price_text(lots)
        assert len(session._qty_texts) <= _TEXT_CACHE and len(session._price_texts) <= _TEXT_CACHE
    assert session._qty_text(1000) == "1" and session._price_text(10000) == "100.00"


def test_signal_windows_hold_at_most_their_sample_bound():
    flow = TradeFlow(window_ns=10**18)  # a window no print ever leaves
    for i in range(WINDOW_SAMPLES + 1000):
        flow.add(i, 1, i % 4 != 0)
    assert len(flow) == WINDOW_SAMPLES and flow.volume == WINDOW_SAMPLES
    assert flow.value(WINDOW_SAMPLES + 1000) == pytest.approx(0.5)  # 3 buys : 1 sell in what is kept
    momentum = Momentum(window_ns=10**18)
    for i in range(WINDOW_SAMPLES + 1000):
        momentum.add(i, 100.0 + i)
    assert len(momentum) == WINDOW_SAMPLES


def test_ladder_tag_lists_are_remembered_up_to_their_bound():
    kept = dict(market_maker._TAGS)
    try:
        for n in range(2 * TAG_LISTS_KEPT):
            assert _ladder_tags(f"p{n}", 3) == [f"p{n}-L1", f"p{n}-L2", f"p{n}-L3"]
        assert len(market_maker._TAGS) == TAG_LISTS_KEPT
    finally:
        market_maker._TAGS.clear()
        market_maker._TAGS.update(kept)
