"""FrameParser: every Binance message shape the product meets, and garbage."""
from __future__ import annotations

import orjson
import pytest

from feeds.frames import (
    AggTrade,
    BookTickerUpdate,
    ControlReply,
    DepthDiff,
    DepthSnapshot,
    FeedError,
    FrameParser,
    Ignored,
    Malformed,
    ServerShutdown,
    TickerUpdate,
)
from orderbook.instrument import Instrument
from orderbook.trades import TradeTick

INST = Instrument("BNBBTC", "BNB", "BTC", tick_units=1, step_units=1_000_000)  # tick 1e-8, step 0.01
PARSER = FrameParser({"BNBBTC": INST})
RECV = 1_700_000_000_123_456_789


def combined(stream: str, data) -> str:
    return orjson.dumps({"stream": stream, "data": data}).decode()


def parse(text, symbol=None):
    return PARSER.parse(RECV, text, symbol)


def test_depth_diff():
    text = combined("bnbbtc@depth@100ms", {"e": "depthUpdate", "E": 1672515782136, "s": "BNBBTC", "U": 157,
                                            "u": 160, "b": [["0.00150000", "10.00000000"]], "a": []})
    frame = parse(text)
    assert frame == DepthDiff("BNBBTC", 157, 160, [["0.00150000", "10.00000000"]], [], 1672515782136 * 10**6, RECV)


@pytest.mark.parametrize("data", [
    {"e": "depthUpdate", "E": 1, "U": 5, "b": [], "a": []},                  # no u
    {"e": "depthUpdate", "E": 1, "U": "5", "u": 6, "b": [], "a": []},       # id as text
    {"e": "depthUpdate", "E": 1, "U": 7, "u": 6, "b": [], "a": []},         # U > u
    {"e": "depthUpdate", "E": 1, "U": 5, "u": 6, "b": {}, "a": []},         # levels not a list
    {"e": "depthUpdate", "E": True, "U": 5, "u": 6, "b": [], "a": []},      # time as bool
])
def test_bad_depth_diffs_are_malformed_and_marked_as_depth(data):
    frame = parse(combined("bnbbtc@depth", data))
    assert type(frame) is Malformed and frame.symbol == "BNBBTC" and frame.depth


def test_rest_snapshot_needs_its_symbol():
    body = '{"lastUpdateId":160,"bids":[["0.00240000","10.00000000"]],"asks":[["0.00260000","100.00000000"]]}'
    frame = parse(body, "bnbbtc")
    assert frame == DepthSnapshot("BNBBTC", 160, [["0.00240000", "10.00000000"]],
                                  [["0.00260000", "100.00000000"]], False, RECV)
    assert type(parse(body)) is Malformed
    assert type(parse('{"lastUpdateId":"160","bids":[],"asks":[]}', "BNBBTC")) is Malformed


def test_partial_depth_stream():
    frame = parse(combined("bnbbtc@depth5@100ms", {"lastUpdateId": 160, "bids": [["0.00240000", "1.00000000"]],
                                                   "asks": []}))
    assert type(frame) is DepthSnapshot and frame.partial and frame.symbol == "BNBBTC"


def test_trade_and_agg_trade():
    trade = parse(combined("bnbbtc@trade", {"e": "trade", "E": 1, "s": "BNBBTC", "t": 12345, "p": "0.00100000",
                                            "q": "100.00000000", "T": 1672515782136, "m": True, "M": True}))
    assert trade == TradeTick("BNBBTC", 12345, 100_000, 10_000, True, 1672515782136 * 10**6, RECV)
    agg = parse(combined("bnbbtc@aggTrade", {"e": "aggTrade", "E": 1, "s": "BNBBTC", "a": 26129, "p": "0.00100000",
                                             "q": "1.50000000", "f": 100, "l": 105, "T": 5, "m": False, "M": True}))
    assert agg == AggTrade(TradeTick("BNBBTC", 26129, 100_000, 150, False, 5 * 10**6, RECV))


@pytest.mark.parametrize("change", [{"p": "abc"}, {"q": "0.00000000"}, {"m": "yes"}, {"T": None}, {"p": "-1.00000000"}])
def test_bad_trades_are_malformed(change):
    data = {"e": "trade", "E": 1, "s": "BNBBTC", "t": 1, "p": "0.00100000", "q": "1.00000000", "T": 1, "m": True}
    data.update(change)
    assert type(parse(combined("bnbbtc@trade", data))) is Malformed


def test_off_grid_trade_is_ignored_not_malformed():
    data = {"e": "trade", "E": 1, "s": "BNBBTC", "t": 1, "p": "0.00100000", "q": "1.00500000", "T": 1, "m": True}
    frame = parse(combined("bnbbtc@trade", data))
    assert type(frame) is Ignored and "grid" in frame.reason


def test_book_ticker():
    frame = parse(combined("bnbbtc@bookTicker", {"u": 400900217, "s": "BNBBTC", "b": "0.00250000",
                                                 "B": "31.21000000", "a": "0.00260000", "A": "40.66000000"}))
    assert frame == BookTickerUpdate("BNBBTC", 400900217, 250_000, 3121, 260_000, 4066, 0, RECV)
    assert type(parse(combined("bnbbtc@bookTicker", {"u": 1, "s": "BNBBTC", "b": "x", "B": "1", "a": "1",
                                                     "A": "1"}))) is Malformed


def test_tickers():
    full = {"e": "24hrTicker", "E": 1000, "s": "BNBBTC", "p": "0.0015", "P": "250.00", "w": "0.0018", "x": "0.0009",
            "c": "0.0025", "Q": "10", "b": "0.0024", "B": "10", "a": "0.0026", "A": "100", "o": "0.0010",
            "h": "0.0025", "l": "0.0010", "v": "10000", "q": "18", "O": 0, "C": 86400000, "F": 0, "L": 18150,
            "n": 18151}
    ticker = parse(combined("bnbbtc@ticker", full))
    assert type(ticker) is TickerUpdate and not ticker.mini
    assert (ticker.last, ticker.change, ticker.change_pct, ticker.trades) == (0.0025, 0.0015, 250.0, 18151)
    mini = parse(combined("bnbbtc@miniTicker", {"e": "24hrMiniTicker", "E": 1000, "s": "BNBBTC", "c": "0.0025",
                                                "o": "0.0020", "h": "0.0025", "l": "0.0010", "v": "10000",
                                                "q": "18"}))
    assert mini.mini and mini.trades is None
    assert mini.change == pytest.approx(0.0005) and mini.change_pct == pytest.approx(25.0)
    assert type(parse(combined("bnbbtc@ticker", {"e": "24hrTicker", "E": 1}))) is Malformed


def test_server_shutdown_error_frames_and_replies():
    assert parse('{"stream":"!serverShutdown","data":{"e":"serverShutdown","E":1753158600000}}') == \
        ServerShutdown(1753158600000 * 10**6, RECV)
    error = parse('{"e":"error","type":"BinanceWebsocketUnableToConnect","m":"Max reconnections 5 reached"}')
    assert error == FeedError("BinanceWebsocketUnableToConnect", "Max reconnections 5 reached", None, RECV)
    assert parse('{"result":null,"id":1}') == ControlReply(1, None)
    assert parse('{"result":["btcusdt@depth"],"id":3}') == ControlReply(3, ["btcusdt@depth"])
    assert type(parse('{"error":{"code":2,"msg":"Invalid request"},"id":4}')) is FeedError
    rest = parse('{"code":-1003,"msg":"Too many requests."}', "BNBBTC")
    assert type(rest) is FeedError and rest.kind == "rest -1003" and rest.symbol == "BNBBTC"


def test_raw_stream_payloads_without_the_combined_wrapper():
    diff = parse('{"e":"depthUpdate","E":1,"s":"BNBBTC","U":1,"u":2,"b":[],"a":[]}')
    assert type(diff) is DepthDiff and diff.symbol == "BNBBTC"
    ticker = parse('{"u":1,"s":"BNBBTC","b":"0.00250000","B":"1.00000000","a":"0.00260000","A":"1.00000000"}')
    assert type(ticker) is BookTickerUpdate


def test_unused_streams_and_unknown_symbols_are_ignored():
    kline = parse(combined("bnbbtc@kline_1m", {"e": "kline", "E": 1, "s": "BNBBTC", "k": {}}))
    assert kline == Ignored("BNBBTC", "stream not used")
    unknown = parse(combined("ethbtc@trade", {"e": "trade", "E": 1, "s": "ETHBTC", "t": 1, "p": "1", "q": "1",
                                              "T": 1, "m": True}))
    assert unknown == Ignored("ETHBTC", "unknown symbol")
    assert type(parse('{"e":"outboundAccountPosition","E":1}')) is Ignored


def test_skipped_kinds_are_ignored_without_decoding():
    parser = FrameParser({"BNBBTC": INST}, frozenset({"bookTicker"}))
    ticker = {"u": 1, "s": "BNBBTC", "b": "0.00250000", "B": "1.00000000", "a": "0.00260000", "A": "1.00000000"}
    skipped = Ignored("BNBBTC", "stream skipped")
    assert parser.parse(RECV, combined("bnbbtc@bookTicker", ticker)) == skipped  # the first one routes the stream
    # later frames of that stream are not decoded: even a damaged one is only ignored
    assert parser.parse(RECV, '{"stream":"bnbbtc@bookTicker","data":{"u":') == skipped
    trade = {"e": "trade", "E": 1, "s": "BNBBTC", "t": 1, "p": "0.00250000", "q": "1.00", "T": 1, "m": True}
    assert type(parser.parse(RECV, combined("bnbbtc@trade", trade))) is TradeTick  # other streams as before
    assert type(parser.parse(RECV, '{"stream":"bnbbtc@trade","data":{"u":')) is Malformed
    assert type(PARSER.parse(RECV, combined("bnbbtc@bookTicker", ticker))) is BookTickerUpdate  # default: none skipped
    with pytest.raises(ValueError, match="kline"):
        FrameParser({}, frozenset({"kline"}))


@pytest.mark.parametrize("text", [
    "", "garbage", "[]", "null", "42", '"text"', '{"stream":"bnbbtc@depth"}', '{"stream":5,"data":{}}',
    '{"stream":"bnbbtc@depth","data":[1,2]}', "{", b"\xff\xfe", '{"foo":"bar"}', '{"stream":"","data":{}}',
    '{"stream":["x"],"data":{}}', '{"e":["x"]}', '{"e":"trade","s":["x"]}', '{"id":1,"error":"bad"}',
])
def test_garbage_is_malformed_or_ignored_never_raised(text):
    assert type(parse(text)) in (Malformed, Ignored, FeedError)
