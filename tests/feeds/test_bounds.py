"""Every store in feeds/ that a feed (honest or not) can grow, driven past its bound."""
from __future__ import annotations

import asyncio
import gzip
import time

import orjson

from feeds.aio_thread import AsyncioThread
from feeds.binance_raw import RawSocketManager, pointed_client_class
from feeds.frames import ROUTE_NAME_CHARS, ROUTES_KEPT, FrameParser, Ignored
from feeds.pipeline import SyncConfig
from feeds.recording import SYMBOL_CHARS, RecordingWriter, symbol_of_message
from feeds.stats import LATENCY_WINDOW, FeedStats
from orderbook.instrument import Instrument
from orderbook.trades import TradeTick
from tests.feeds.stream_scripts import ScriptedExchange, send_then_hold, trade_frame
from tests.feeds.test_synchronizer import SYMBOL, Feed, diff

INST = Instrument("BNBBTC", "BNB", "BTC", tick_units=1, step_units=1_000_000)
RECV = 1_700_000_000_123_456_789
TRADE = {"e": "trade", "E": 1, "s": "BNBBTC", "t": 1, "p": "0.00250000", "q": "1.00", "T": 1, "m": True}


def combined(stream: str, data) -> str:
    return orjson.dumps({"stream": stream, "data": data}).decode()


def test_routes_of_made_up_stream_names_stop_at_the_bound():
    parser = FrameParser({"BNBBTC": INST}, frozenset({"ticker"}))
    for n in range(ROUTES_KEPT + 500):
        frame = parser.parse(RECV, combined(f"x{n}usdt@ticker", {"e": "24hrTicker"}))
        assert frame == Ignored(f"X{n}USDT", "stream skipped")
        parser.parse(RECV, combined(f"y{n}usdt@kline_1m", {}))
    assert len(parser._routes) == ROUTES_KEPT and len(parser._skipped) <= ROUTES_KEPT
    long_name = "b" * ROUTE_NAME_CHARS + "@trade"
    parser.parse(RECV, combined(long_name, TRADE))
    assert long_name not in parser._routes
    fresh = FrameParser({"BNBBTC": INST})
    for n in range(100):  # names longer than any real one are routed, never remembered
        assert type(fresh.parse(RECV, combined("c" * 1000 + str(n) + "@trade", TRADE))) is Ignored
    assert type(fresh.parse(RECV, combined("bnbbtc@trade", TRADE))) is TradeTick
    assert list(fresh._routes) == ["bnbbtc@trade"]


def test_diffs_buffered_while_waiting_for_a_snapshot_stop_at_the_bound():
    feed = Feed()
    limit = SyncConfig().max_buffered_diffs
    for first in range(1, limit + 300):
        feed.send(diff(first, first))
    assert feed.market.synchronizer(SYMBOL).buffered() == limit


def test_latency_samples_live_in_a_fixed_ring():
    stats = FeedStats("BTCUSDT")
    for i in range(3 * LATENCY_WINDOW):
        stats.on_frame(i * 1_000_000, i * 1_000_000 + 5_000_000)
    assert len(stats._latency) == LATENCY_WINDOW


def test_python_binance_queue_ends_the_connection_at_its_bound():
    """Nobody reads the socket's queue: python-binance's read loop stops at max_queue_size."""
    runner = AsyncioThread(name="scripted-exchange").start()
    server = ScriptedExchange(runner).start()
    server.scripts.append(send_then_hold([trade_frame("BTCUSDT", i) for i in range(200)]))

    async def check() -> list:
        shell = pointed_client_class(server.api_url)(testnet=False)
        sock = RawSocketManager(shell, server.stream_url, time.time_ns, max_queue_size=10) \
            .multiplex_socket(["btcusdt@trade"])
        try:
            await sock.connect()
            await asyncio.wait_for(sock._read_loop_ended.wait(), 20)
            return sock.take_ready()
        finally:
            await sock.shutdown()
            await shell.close_connection()

    try:
        items = asyncio.run(check())
    finally:
        server.stop()
        runner.stop()
    assert len(items) == 11  # ten frames, then python-binance's overflow error; the rest were never read
    assert items[-1]["type"] == "BinanceWebsocketQueueOverflow"


def test_recorder_opens_files_only_for_the_symbols_it_records(tmp_path):
    t0 = 1_723_075_200 * 10**9
    with RecordingWriter(tmp_path, clock_ns=lambda: t0, symbols=["BTCUSDT"]) as writer:
        writer.write(t0, trade_frame("BTCUSDT", 1))
        for n in range(300):
            writer.write(t0, trade_frame(f"FAKE{n}USDT", n))
        assert len(writer._files) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["BTCUSDT_20240808.gz", "_ALL_20240808.gz"]
    with gzip.open(tmp_path / "_ALL_20240808.gz", "rt") as handle:
        assert len(handle.read().splitlines()) == 300  # every line is kept, in the shared file
    assert symbol_of_message(combined("a" * (SYMBOL_CHARS + 1) + "@trade", {})) is None
    assert symbol_of_message(combined("ｂｔｃ@trade", {})) is None  # not a name a file can carry
