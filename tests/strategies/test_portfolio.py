"""Average-cost accounting, fees and the equity identity (prices: ticks of 0.01, quantities: lots of 0.001)."""
from __future__ import annotations

import math

import pytest

from orderbook.instrument import Instrument
from strategies.metrics import SECOND_NS
from strategies.orders import Fill, FillReason, Liquidity, Side
from strategies.portfolio import SESSION_GAP_NS, SESSION_GAP_S, Portfolio, SymbolAccount

INST = Instrument("TESTUSDT", "TEST", "USDT", tick_units=1_000_000, step_units=100_000)
TICK_LOT = 0.01 * 0.001  # quote currency per tick-lot


def fill(side, price, qty, fee=0.0, liquidity=Liquidity.MAKER, ts=0, symbol="TESTUSDT") -> Fill:
    return Fill(symbol, "c", side, price, qty, liquidity, FillReason.QUEUE_REACHED, fee, ts)


def check_identities(account: SymbolAccount) -> None:
    equity = account.equity()
    mark = account.mark_price() or 0.0
    assert equity == pytest.approx(account.cash() + account.position_qty() * mark, abs=1e-9)
    assert equity == pytest.approx(account.realized() + account.unrealized() - account.fees, abs=1e-9)


def test_average_cost_and_realized_pnl_on_partial_close():
    account = SymbolAccount(INST)
    account.on_fill(fill(Side.BUY, 10000, 100))
    account.on_fill(fill(Side.BUY, 10200, 300))
    assert account.position == 400
    assert account.avg_price == pytest.approx(10150)
    account.on_fill(fill(Side.SELL, 10300, 100))
    assert account.position == 300 and account.avg_price == pytest.approx(10150)
    assert account.realized() == pytest.approx(100 * 150 * TICK_LOT)  # 0.1 * 1.50 = 0.15
    account.set_mark(10100.0)
    assert account.unrealized() == pytest.approx(300 * -50 * TICK_LOT)
    check_identities(account)


def test_flip_through_zero_realizes_the_closed_part_and_opens_at_the_fill_price():
    account = SymbolAccount(INST)
    account.on_fill(fill(Side.BUY, 10000, 50))
    account.on_fill(fill(Side.SELL, 10100, 80))  # closes 50, opens short 30 at 101.00
    assert account.position == -30
    assert account.avg_price == 10100
    assert account.realized() == pytest.approx(50 * 100 * TICK_LOT)
    account.on_fill(fill(Side.BUY, 10050, 30))  # short covered 0.50 lower
    assert account.position == 0 and account.avg_price == 0
    assert account.realized() == pytest.approx((50 * 100 + 30 * 50) * TICK_LOT)
    assert account.unrealized() == 0
    account.set_mark(9000.0)
    assert account.equity() == pytest.approx(account.realized())
    check_identities(account)


def test_short_position_average_cost_and_unrealized():
    account = SymbolAccount(INST)
    account.on_fill(fill(Side.SELL, 10000, 10))
    account.on_fill(fill(Side.SELL, 10010, 30))
    assert account.position == -40 and account.avg_price == pytest.approx(10007.5)
    account.set_mark(10000.0)
    assert account.unrealized() == pytest.approx(-40 * (10000 - 10007.5) * TICK_LOT)
    check_identities(account)


def test_fees_add_up_and_counters():
    account = SymbolAccount(INST)
    fills = [
        fill(Side.BUY, 10000, 10, fee=0.0001, liquidity=Liquidity.TAKER),
        fill(Side.SELL, 10010, 4, fee=-0.00002),
        fill(Side.SELL, 10011, 6, fee=-0.00003),
    ]
    account.on_order_placed(10)
    account.on_order_placed(20)
    for f in fills:
        account.on_fill(f)
    assert account.fees == sum(f.fee for f in fills)
    assert (account.fills, account.maker_fills, account.taker_fills) == (3, 2, 1)
    assert account.fill_ratio() == pytest.approx(20 / 30)
    assert account.turnover() == pytest.approx((10000 * 10 + 10010 * 4 + 10011 * 6) * TICK_LOT)
    assert account.position == 0
    assert account.equity() == pytest.approx((10010 * 4 + 10011 * 6 - 10000 * 10) * TICK_LOT - account.fees)
    check_identities(account)
    snapshot = account.as_dict()
    for key in ("qty", "avg_price", "realized", "unrealized", "fees", "equity", "drawdown", "max_drawdown", "sharpe",
                "fills", "maker_fills", "taker_fills", "fill_ratio", "turnover"):
        assert key in snapshot


def test_equity_identity_over_a_random_walk_of_fills():
    import numpy as np

    rng = np.random.default_rng(5)
    account = SymbolAccount(INST)
    for i in range(2000):
        side = Side.BUY if rng.random() < 0.5 else Side.SELL
        price = int(10000 + rng.integers(-300, 300))
        account.on_fill(fill(side, price, int(rng.integers(1, 50)), fee=float(rng.normal(0, 1e-4))))
        account.set_mark(price + float(rng.integers(-5, 5)) / 2)
        check_identities(account)


def test_portfolio_samples_each_second_and_totals():
    other = Instrument("OTHERUSDT", "OTHER", "USDT", tick_units=10_000_000, step_units=1_000_000)
    portfolio = Portfolio([INST, other])
    t0 = 1_700_000_000 * SECOND_NS
    portfolio.advance(t0)
    portfolio.on_fill(fill(Side.BUY, 10000, 100, ts=t0))
    portfolio.account("TESTUSDT").set_mark(10000.0)
    portfolio.advance(t0 + SECOND_NS // 2)  # same second: no sample yet
    assert portfolio.curve.samples == 0
    portfolio.account("TESTUSDT").set_mark(10100.0)  # +1.00 on 0.1 = +0.1
    portfolio.advance(t0 + 3 * SECOND_NS + 5)  # closes seconds 0, 1, 2
    assert portfolio.curve.samples == 3
    assert portfolio.curve.last == pytest.approx(0.1)
    portfolio.account("TESTUSDT").set_mark(9900.0)  # -0.1
    portfolio.finish(t0 + 3 * SECOND_NS + 10)
    assert portfolio.curve.samples == 4
    assert portfolio.curve.max_drawdown == pytest.approx(0.2)
    totals = portfolio.totals()
    assert totals["equity"] == pytest.approx(-0.1)
    assert totals["unrealized"] == pytest.approx(-0.1)
    assert totals["fills"] == 1 and totals["quote_assets"] == ["USDT"]
    assert "sharpe_definition" in totals
    assert totals["sharpe"] is None and totals["sharpe_se"] is None  # 4 s of samples: no annualised figure
    assert totals["sharpe_note"] == "n/a: needs 30 min of 1-second samples, 4 s so far"
    for second in range(4, 1801):
        portfolio.advance(t0 + second * SECOND_NS + 10)
    totals = portfolio.totals()
    assert math.isfinite(totals["sharpe"]) and totals["sharpe_note"] is None
    by_quote = portfolio.totals_by_quote()
    assert list(by_quote) == ["USDT"] and by_quote["USDT"]["symbols"] == ["TESTUSDT", "OTHERUSDT"]


def test_daily_pnl_resets_at_utc_midnight():
    portfolio = Portfolio([INST])
    day = 86_400 * SECOND_NS
    t0 = 19_000 * day + day - 2 * SECOND_NS
    portfolio.advance(t0)
    portfolio.on_fill(fill(Side.SELL, 10000, 10, fee=0.001, ts=t0))
    account = portfolio.account("TESTUSDT")
    account.set_mark(10000.0)
    assert account.daily_pnl() == pytest.approx(-0.001)
    portfolio.advance(t0 + 3 * SECOND_NS)  # the next UTC day
    assert account.daily_pnl() == pytest.approx(0.0)
    assert portfolio.daily_pnl() == pytest.approx(0.0)


def test_a_gap_longer_than_a_minute_starts_a_new_session_and_is_not_sampled():
    portfolio = Portfolio([INST])
    t0 = 1_700_000_000 * SECOND_NS
    portfolio.advance(t0)
    portfolio.advance(t0 + SESSION_GAP_NS)  # a quiet minute inside one session: every second sampled
    assert portfolio.curve.samples == SESSION_GAP_S and portfolio.timelines == 1
    later = t0 + SESSION_GAP_NS + 30 * 86_400 * SECOND_NS  # the next recording, a month later
    portfolio.on_fill(fill(Side.BUY, 10000, 100, ts=t0))
    portfolio.account("TESTUSDT").set_mark(10100.0)
    portfolio.advance(later)
    assert portfolio.curve.samples == SESSION_GAP_S + 1 and portfolio.timelines == 2
    portfolio.advance(later + 2 * SECOND_NS)
    assert portfolio.curve.samples == SESSION_GAP_S + 3
