"""MarketData: routing, events, statistics, and never raising on bad input."""
from __future__ import annotations

import numpy as np
import orjson
import pytest

from feeds.frames import FeedError
from feeds.pipeline import (
    BookChanged,
    BookStatus,
    BookTickerUpdate,
    MarketData,
    ServerShutdown,
    TickerUpdate,
)
from orderbook.instrument import Instrument
from orderbook.trades import TradeTick

BTC = Instrument("BTCUSDT", "BTC", "USDT", tick_units=1_000_000, step_units=1_000)  # tick 0.01, step 0.00001
ETH = Instrument("ETHUSDT", "ETH", "USDT", tick_units=1_000_000, step_units=10_000)
E_MS = 1_700_000_000_000


def frame(stream: str, data: dict) -> str:
    return orjson.dumps({"stream": stream, "data": data}).decode()


def depth(symbol: str, first: int, final: int, bids=(), asks=(), event_ms: int = E_MS) -> str:
    return frame(f"{symbol.lower()}@depth@100ms", {"e": "depthUpdate", "E": event_ms, "s": symbol, "U": first,
                                                    "u": final, "b": [list(x) for x in bids],
                                                    "a": [list(x) for x in asks]})


def trade(symbol: str, stream: str, trade_id: int, price: str = "100.00000000", qty: str = "0.50000000") -> str:
    key = "t" if stream == "trade" else "a"
    return frame(f"{symbol.lower()}@{stream}", {"e": stream, "E": E_MS, "s": symbol, key: trade_id, "p": price,
                                               "q": qty, "T": E_MS - 1, "m": False, "M": True})


SNAPSHOT = '{"lastUpdateId":10,"bids":[["100.00000000","1.00000000"]],"asks":[["100.01000000","2.00000000"]]}'


def synced(market: MarketData, symbol: str = "BTCUSDT", recv: int = 10**18) -> None:
    market.on_message(recv, depth(symbol, 9, 10))
    market.on_message(recv + 1, SNAPSHOT, symbol)
    assert market.synced(symbol)


def test_events_in_order_for_every_stream_kind():
    market = MarketData({"BTCUSDT": BTC})
    synced(market)
    recv = E_MS * 10**6 + 5_000_000
    [changed] = market.on_message(recv, depth("BTCUSDT", 11, 12, bids=[("100.00000000", "3.00000000")]))
    assert changed == BookChanged("BTCUSDT", E_MS * 10**6, recv, 12)
    assert market.book("BTCUSDT").best_bid() == (10000, 300_000)
    [tick] = market.on_message(recv, trade("BTCUSDT", "trade", 77))
    assert tick == TradeTick("BTCUSDT", 77, 10000, 50_000, False, (E_MS - 1) * 10**6, recv)
    [ticker] = market.on_message(recv, frame("btcusdt@bookTicker", {"u": 12, "s": "BTCUSDT", "b": "100.00000000",
                                                                     "B": "3.00000000", "a": "100.01000000",
                                                                     "A": "2.00000000"}))
    assert type(ticker) is BookTickerUpdate and ticker.bid_lots == 300_000
    [stats24] = market.on_message(recv, frame("btcusdt@miniTicker", {"e": "24hrMiniTicker", "E": E_MS, "s": "BTCUSDT",
                                                                      "c": "101", "o": "100", "h": "102", "l": "99",
                                                                      "v": "10", "q": "1000"}))
    assert type(stats24) is TickerUpdate and stats24.change == 1.0
    [shutdown] = market.on_message(recv, '{"stream":"!serverShutdown","data":{"e":"serverShutdown","E":5}}')
    assert shutdown == ServerShutdown(5 * 10**6, recv)
    [error] = market.on_message(recv, '{"e":"error","type":"BinanceWebsocketClosed","m":"closed"}')
    assert type(error) is FeedError
    assert market.server_shutdowns == 1 and market.feed_errors == 1


def test_agg_trades_are_used_until_a_trade_stream_shows_up():
    market = MarketData({"BTCUSDT": BTC})
    assert [e.trade_id for e in market.on_message(1, trade("BTCUSDT", "aggTrade", 1))] == [1]
    assert [e.trade_id for e in market.on_message(2, trade("BTCUSDT", "trade", 50))] == [50]
    assert market.on_message(3, trade("BTCUSDT", "aggTrade", 2)) == []  # @trade covers it now
    only_agg = MarketData({"BTCUSDT": BTC}, trade_source="aggTrade")
    assert only_agg.on_message(1, trade("BTCUSDT", "trade", 50)) == []
    assert len(only_agg.on_message(2, trade("BTCUSDT", "aggTrade", 1))) == 1
    with pytest.raises(ValueError):
        MarketData({}, trade_source="kline")


def test_symbols_are_independent():
    market = MarketData({"BTCUSDT": BTC, "ETHUSDT": ETH})
    synced(market, "BTCUSDT")
    market.on_message(1, depth("ETHUSDT", 1, 2))
    assert market.synced("BTCUSDT") and not market.synced("ETHUSDT")
    market.on_message(2, depth("BTCUSDT", 14, 15))  # gap on BTC only
    assert not market.synced("BTCUSDT") and market.stats("ETHUSDT").gaps == 0
    assert market.stats("BTCUSDT").gaps == 1


def test_statistics_and_health():
    market = MarketData({"BTCUSDT": BTC})
    synced(market, recv=E_MS * 10**6)
    for k in range(100):
        market.on_message(E_MS * 10**6 + (k + 1) * 1_000_000, depth("BTCUSDT", 11 + k, 11 + k, event_ms=E_MS))
    stats = market.stats("BTCUSDT")
    assert stats.messages == 102 and stats.diffs_applied == 100 and stats.update_id == 110
    assert stats.latency_percentile(0.5) == 50 * 1_000_000  # E -> recv: 1..100 ms, p50 = 50 ms
    assert stats.latency_percentile(0.99) == 99 * 1_000_000
    assert stats.event_age_ns(E_MS * 10**6 + 250_000_000) == 250_000_000
    health = market.feed_health("BTCUSDT", E_MS * 10**6 + 250_000_000)
    assert health["synced"] is True and health["stale"] is False
    assert health["msgs"] == 102 and health["latency_ms"] == 50.0 and health["last_event_age_ms"] == 250.0
    assert orjson.loads(orjson.dumps(health)) == health  # JSON-safe


def test_latency_window_keeps_the_most_recent_samples():
    from feeds.stats import LATENCY_WINDOW, FeedStats

    stats = FeedStats("X")
    for k in range(LATENCY_WINDOW + 10):
        stats.on_event(0, k)
    samples = stats.latency_samples()
    assert len(samples) == LATENCY_WINDOW and samples[0] == 10 and samples[-1] == LATENCY_WINDOW + 9
    assert FeedStats("Y").latency_percentile(0.5) is None


def test_unknown_symbols_and_garbage_are_counted_not_raised():
    market = MarketData({"BTCUSDT": BTC})
    market.on_message(1, depth("ETHUSDT", 1, 2))
    market.on_message(1, SNAPSHOT, "ETHUSDT")
    market.on_message(1, frame("btcusdt@kline_1m", {"e": "kline"}))
    market.on_message(1, "not json at all")
    market.on_message(1, b"\x00\x01")
    market.on_message(1, SNAPSHOT)  # a bare snapshot nobody claims
    market.on_message(1, frame("btcusdt@trade", {"e": "trade", "p": "1"}))
    assert market.unrouted == 2
    assert market.malformed == 3
    assert market.stats("BTCUSDT").ignored == 1 and market.stats("BTCUSDT").malformed == 1
    assert market.internal_errors == 0


def test_random_garbage_never_raises():
    rng = np.random.default_rng(3)
    market = MarketData({"BTCUSDT": BTC})
    synced(market)
    good = [depth("BTCUSDT", 11, 11, bids=[("100.00000000", "1.00000000")]), SNAPSHOT,
            trade("BTCUSDT", "trade", 1), '{"result":null,"id":1}']
    for _ in range(3000):
        text = good[int(rng.integers(len(good)))]
        cut = rng.integers(0, 4)
        if cut == 0:  # truncate
            text = text[: int(rng.integers(0, len(text)))]
        elif cut == 1:  # flip a character
            i = int(rng.integers(0, len(text)))
            text = text[:i] + chr(int(rng.integers(32, 127))) + text[i + 1:]
        elif cut == 2:  # random bytes
            text = bytes(rng.integers(0, 256, size=int(rng.integers(0, 64))).astype(np.uint8)).decode("latin-1")
        market.on_message(int(rng.integers(0, 2**62)), text, "BTCUSDT" if rng.random() < 0.5 else None)
    assert market.internal_errors == 0, market.last_error
    assert not market.book("BTCUSDT").is_crossed()
    market.book("BTCUSDT")._check()


def test_wrong_python_types_for_symbol_or_text_never_raise():
    market = MarketData({"BTCUSDT": BTC})
    for text, symbol in ((None, None), (123, None), (SNAPSHOT, 5), ([], "BTCUSDT")):
        assert market.on_message(1, text, symbol) == []
    assert market.internal_errors == 0


def test_instruments_can_be_added_and_removed():
    market = MarketData({"BTCUSDT": BTC})
    market.on_message(1, trade("ETHUSDT", "trade", 1))
    assert market.unrouted == 1
    market.add_instrument(ETH)
    assert len(market.on_message(2, trade("ETHUSDT", "trade", 2))) == 1
    market.remove_symbol("ETHUSDT")
    assert market.on_message(3, trade("ETHUSDT", "trade", 3)) == [] and market.symbols == ("BTCUSDT",)


def test_connection_events_scoped_to_symbols():
    market = MarketData({"BTCUSDT": BTC, "ETHUSDT": ETH})
    synced(market, "BTCUSDT")
    synced(market, "ETHUSDT")
    events = market.on_connection("disconnected", 5, "eth socket", symbols=("ETHUSDT",))
    assert events == [BookStatus("ETHUSDT", False, True, "disconnected")]
    assert market.synced("BTCUSDT") and not market.synced("ETHUSDT")
    assert market.on_connection("bogus", 6) == [] and "bogus" in market.last_error
