"""A BTCUSDT-like instrument (tick 0.01, lot 0.00001, minNotional 10) and a two-level book around it."""
from __future__ import annotations

from orderbook.book import OrderBook
from orderbook.instrument import UNITS_PER_ONE, Instrument

INST = Instrument(
    symbol="BTCUSDT", base_asset="BTC", quote_asset="USDT",
    tick_units=1_000_000,  # 0.01
    step_units=1_000,  # 0.00001
    min_notional_units=10 * UNITS_PER_ONE,  # 10 USDT
)
BID, ASK = 1_000_000, 1_000_010  # 10000.00 / 10000.10: mid 1_000_005


def make_book(bid: int = BID, ask: int = ASK, bid_lots: int = 500, ask_lots: int = 500) -> OrderBook:
    book = OrderBook(INST)
    book.load(1, [(bid, bid_lots), (bid - 1, 800)], [(ask, ask_lots), (ask + 1, 800)])
    return book
