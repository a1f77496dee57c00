"""Portfolio totals in one valuation asset: other quote assets converted at their marks, never added raw."""
from __future__ import annotations

import pytest

from orderbook.book import OrderBook
from orderbook.instrument import Instrument
from strategies.activity import ActivityLog
from strategies.matching import PaperMatcher
from strategies.metrics import SECOND_NS
from strategies.orders import Side
from strategies.portfolio import Portfolio
from strategies.risk import RiskLimits, RiskManager
from strategies.session import SymbolSession
from strategies.valuation import choose_valuation

from tests.strategies.test_portfolio import fill

BTCUSDT = Instrument("BTCUSDT", "BTC", "USDT", tick_units=1_000_000, step_units=1_000)  # 0.01, 0.00001
ETHBTC = Instrument("ETHBTC", "ETH", "BTC", tick_units=1_000, step_units=10_000)  # 0.000001, 0.0001
USDTTRY = Instrument("USDTTRY", "USDT", "TRY", tick_units=1_000_000, step_units=1_000_000)  # 0.01, 0.01
T0 = 1_700_000_000 * SECOND_NS


def test_the_valuation_asset_is_usdt_unless_every_symbol_shares_another():
    assert choose_valuation(["BTC", "BTC"]) == "BTC"
    assert choose_valuation(["BTC", "USDT"]) == "USDT"
    assert choose_valuation(["BTC", "ETH"]) == "USDT"
    assert Portfolio([ETHBTC]).valuation.asset == "BTC"


def test_totals_convert_each_quote_asset_at_its_mark_and_keep_the_breakdown():
    portfolio = Portfolio([BTCUSDT, ETHBTC, USDTTRY])
    portfolio.advance(T0)
    # an ETHBTC position worth -0.001 BTC of fees only, and a USDTTRY one of -1 TRY of fees
    portfolio.on_fill(fill(Side.BUY, 50_000, 10, fee=0.001, ts=T0, symbol="ETHBTC"))
    portfolio.account("ETHBTC").set_mark(50_000.0)
    portfolio.on_fill(fill(Side.BUY, 3_000, 100, fee=1.0, ts=T0, symbol="USDTTRY"))
    portfolio.account("USDTTRY").set_mark(3_000.0)  # 30.00 TRY per USDT
    totals = portfolio.totals()
    assert totals["valuation"] == "USDT" and totals["equity"] is None
    assert totals["valuation_note"] == ("n/a: no price to value BTC in USDT "
                                        "(needs BTCUSDT among the symbols, with a book seen)")
    portfolio.account("BTCUSDT").set_mark(4_000_000.0)  # 40,000.00 USDT per BTC
    totals = portfolio.totals()
    assert totals["rates"] == {"BTC": pytest.approx(40_000.0), "TRY": pytest.approx(1 / 30.0)}
    assert totals["fees"] == pytest.approx(0.001 * 40_000 + 1.0 / 30.0)
    assert totals["equity"] == pytest.approx(-(0.001 * 40_000 + 1.0 / 30.0))
    by_quote = portfolio.totals_by_quote()
    assert by_quote["BTC"]["fees"] == pytest.approx(0.001) and by_quote["TRY"]["fees"] == pytest.approx(1.0)
    assert by_quote["BTC"]["rate"] == pytest.approx(40_000.0) and by_quote["USDT"]["rate"] == 1.0
    raw_sum = sum(row["equity"] for row in by_quote.values())
    assert totals["equity"] != pytest.approx(raw_sum)  # the old, wrong, sum of BTC and TRY and USDT


def test_the_total_curve_is_sampled_in_the_valuation_asset_only_while_it_can_be_valued():
    portfolio = Portfolio([BTCUSDT, ETHBTC])
    portfolio.advance(T0)
    portfolio.on_fill(fill(Side.BUY, 50_000, 10, fee=0.001, ts=T0, symbol="ETHBTC"))
    portfolio.advance(T0 + 2 * SECOND_NS)
    assert portfolio.curve.samples == 0 and portfolio.quote_curves["BTC"].samples == 2
    portfolio.account("BTCUSDT").set_mark(4_000_000.0)
    portfolio.advance(T0 + 3 * SECOND_NS)
    assert portfolio.curve.samples == 1 and portfolio.curve.last == pytest.approx(-40.0)


def test_a_conversion_symbol_is_marked_on_every_book_even_when_flat():
    portfolio = Portfolio([BTCUSDT, ETHBTC])
    session = SymbolSession(BTCUSDT, [], RiskManager(BTCUSDT, RiskLimits()), PaperMatcher(BTCUSDT), portfolio,
                            ActivityLog(10).append)
    book = OrderBook(BTCUSDT)
    book.load(1, [(4_000_000, 100)], [(4_000_002, 100)])
    session.on_book(T0, book)
    assert portfolio.account("BTCUSDT").position == 0
    assert portfolio.valuation.rate("BTC") == pytest.approx(40_000.01)
