"""BinanceFeed over real loopback sockets against a scripted Binance-like server.

Edge cases the market-model exchange cannot script exactly: frames right before a close, bursts
beyond python-binance's queue, refused first connects, binary frames. The fault scenarios against
the real embedded exchange are in test_faults.py.
"""
from __future__ import annotations

import asyncio
import gc
import queue
import socket
import threading
import time
import warnings

import pytest

from feeds.aio_thread import AsyncioThread
from feeds.backoff import BackoffPolicy
from feeds.binance_stream import BinanceFeed, BinanceFeedConfig, plan_connections
from feeds.exchange.config import ExchangeConfig
from feeds.exchange.runner import ExchangeThread
from feeds.messages import ConnectionEvent, FeedMessage
from feeds.stream_connection import ConnectionPolicy
from tests.feeds.stream_scripts import (
    SNAPSHOT, Collector, ScriptedExchange, free_port, hold_open, is_event, message_is, send_then_hold, trade_frame,
)

FAST = ConnectionPolicy(reconnect=BackoffPolicy(initial_s=0.05, cap_s=0.3), stable_after_s=0.2,
                        connect_timeout_s=5.0, silence_timeout_s=30.0)


@pytest.fixture
def server_thread():
    runner = AsyncioThread(name="scripted-exchange").start()
    yield runner
    runner.stop()


@pytest.fixture
def exchange(server_thread):
    scripted = ScriptedExchange(server_thread).start()
    yield scripted
    scripted.stop()


def make_feed(exchange, symbols=("BTCUSDT",), policy=FAST, **config):
    out = queue.Queue()
    feed = BinanceFeed(list(symbols), exchange.api_url, exchange.stream_url, out, threading.Thread,
                       BinanceFeedConfig(connection=policy, seed=11, **config))
    return feed, Collector(out)


@pytest.fixture
def running():
    feeds = []

    def start(feed):
        feeds.append(feed)
        return feed.start()

    yield start
    for feed in feeds:
        feed.stop()


def test_frames_arrive_exactly_as_sent_after_a_connected_event(exchange, running):
    frames = [trade_frame("BTCUSDT", i) for i in range(20)]
    odd = ['{"stream":"btcusdt@trade","data":{"p":"1.0",  "e" : "trade"}}', "  {} ", "ünïcödé ✓"]
    exchange.scripts.append(send_then_hold(frames + odd))
    feed, got = make_feed(exchange)
    before = time.time_ns()
    running(feed)
    got.until(message_is(odd[-1]))
    first = got.items[0]
    assert isinstance(first, ConnectionEvent) and first.kind == "connected"
    assert first.symbols == ("BTCUSDT",) and before <= first.recv_ns
    received = got.frames()
    assert [m.text for m in received] == frames + odd
    assert all(m.symbol is None for m in received)
    stamps = [first.recv_ns] + [m.recv_ns for m in received]
    assert stamps == sorted(stamps) and stamps[-1] <= time.time_ns()
    assert exchange.paths == ["/stream?streams=btcusdt@depth@100ms/btcusdt@trade/btcusdt@bookTicker/btcusdt@ticker"]


def test_malformed_and_binary_frames_are_forwarded_and_do_not_break_the_connection(exchange, running):
    async def script(ws, request):
        await ws.send_str('{"stream":"btcusdt@trade","data":{"e":"tr')  # truncated JSON
        await ws.send_str("garbage")
        await ws.send_bytes(b'\x1f\x8b binary')
        await ws.send_str(trade_frame("BTCUSDT", 1))
        await hold_open(ws, request)

    exchange.scripts.append(script)
    feed, got = make_feed(exchange)
    running(feed)
    got.until(message_is(trade_frame("BTCUSDT", 1)))
    texts = [m.text for m in got.frames()]
    assert texts[:2] == ['{"stream":"btcusdt@trade","data":{"e":"tr', "garbage"]
    assert texts[2].startswith("\x1f") and "binary" in texts[2]
    assert feed.stats().connects == 1 and not got.events("disconnected")


def test_frames_sent_right_before_a_close_are_not_lost_and_the_feed_reconnects(exchange, running):
    burst = [trade_frame("BTCUSDT", i) for i in range(50)]

    async def send_and_close(ws, request):
        for text in burst:
            await ws.send_str(text)
        await ws.close()

    exchange.scripts.append(send_and_close)
    feed, got = make_feed(exchange)
    running(feed)
    got.until(is_event("connected", after=1))
    kinds = [i.kind if isinstance(i, ConnectionEvent) else "frame" for i in got.items]
    assert kinds == ["connected"] + ["frame"] * 50 + ["disconnected", "reconnecting", "connected"]
    assert [m.text for m in got.frames()] == burst
    assert feed.stats().reconnects == 1


def test_a_burst_far_beyond_python_binance_queue_limit_is_delivered(exchange, running):
    burst = [trade_frame("BTCUSDT", i) for i in range(5000)]
    exchange.scripts.append(send_then_hold(burst))
    feed, got = make_feed(exchange)
    running(feed)
    got.until(message_is(burst[-1]))
    assert [m.text for m in got.frames()] == burst
    assert feed.stats().disconnects == 0


def test_first_connect_failures_are_retried_beyond_python_binance_limit(server_thread, running):
    port = free_port()
    feed, got = make_feed(ScriptedExchange(server_thread, port))
    running(feed)
    # Nothing listens yet: python-binance alone would give up at the first failure.
    for n in range(8):
        got.until(is_event("reconnecting", after=n))
    assert feed.stats().failed_connects >= 8 and feed.stats().connects == 0
    late = ScriptedExchange(server_thread, port).start()
    try:
        got.until(is_event("connected"))
        assert feed.connected and "connect failed" in got.events("reconnecting")[0].detail
        assert not got.events("disconnected")  # never connected before: nothing was lost
    finally:
        feed.stop()
        late.stop()


def test_server_shutdown_reconnects_at_once(exchange, running):
    shutdown = '{"stream":"!serverShutdown","data":{"e":"serverShutdown","E":1700000000000}}'

    async def announce(ws, request):
        await asyncio.sleep(0.4)  # longer than stable_after_s: a healthy connection
        await ws.send_str(shutdown)
        await hold_open(ws, request)  # the client must leave by itself

    exchange.scripts.append(announce)
    feed, got = make_feed(exchange)
    running(feed)
    got.until(is_event("connected", after=1))
    assert got.frames()[0].text == shutdown  # forwarded: the pipeline counts it
    disconnected = got.events("disconnected")[0]
    reconnecting = got.events("reconnecting")[0]
    assert disconnected.detail == "serverShutdown"
    assert reconnecting.detail.startswith("attempt 2 in 0.00 s")
    assert feed.stats().server_shutdowns == 1


def test_a_silent_connection_is_replaced(exchange, running):
    async def silent(ws, request):
        await ws.send_str(trade_frame("BTCUSDT", 1))
        await hold_open(ws, request)  # pings answered, no data: only the watchdog notices

    exchange.scripts.append(silent)
    policy = ConnectionPolicy(reconnect=FAST.reconnect, stable_after_s=0.2, silence_timeout_s=0.5)
    feed, got = make_feed(exchange, policy=policy)
    running(feed)
    got.until(is_event("connected", after=1))
    assert got.events("disconnected")[0].detail.startswith("silence: no frame for 0.5")
    assert feed.stats().silences == 1


def test_abrupt_tcp_reset_is_detected(exchange, running):
    async def abort(ws, request):
        await ws.send_str(trade_frame("BTCUSDT", 1))
        await asyncio.sleep(0.05)
        request.transport.abort()

    exchange.scripts.append(abort)
    feed, got = make_feed(exchange)
    running(feed)
    got.until(is_event("connected", after=1))
    assert got.events("disconnected")[0].detail.startswith("ConnectionClosedError")
    assert got.frames()[0].text == trade_frame("BTCUSDT", 1)


def test_backoff_grows_while_connections_keep_failing_fast(exchange, running):
    async def refuse(ws, request):
        await ws.close()

    exchange.scripts.extend([refuse] * 6)
    feed, got = make_feed(exchange)
    running(feed)
    got.until(is_event("connected", after=6))
    delays = [float(e.detail.split(" in ")[1].split(" s")[0]) for e in got.events("reconnecting")]
    nominal = [min(0.3, 0.05 * 2 ** n) for n in range(6)]
    assert all(n * 0.5 <= d <= n + 0.005 for d, n in zip(delays, nominal))
    assert delays[-1] > delays[0]


def test_snapshot_requests_from_many_threads_are_coalesced_and_delivered_raw(exchange, running):
    exchange.depth_delay_s = 0.5
    feed, got = make_feed(exchange, symbols=("BTCUSDT", "ETHUSDT"))
    running(feed)
    got.until(is_event("connected"))
    callers = [threading.Thread(target=feed.request_snapshot, args=(s,))
               for s in ("BTCUSDT", "ethusdt") * 10]
    for t in callers:
        t.start()
    for t in callers:
        t.join()
    snapshot_of = {}
    while len(snapshot_of) < 2:
        item = got.until(lambda i: isinstance(i, FeedMessage) and i.symbol and i.symbol not in snapshot_of)
        snapshot_of[item.symbol] = item
    assert {s: m.text for s, m in snapshot_of.items()} == {"BTCUSDT": SNAPSHOT, "ETHUSDT": SNAPSHOT}
    assert sorted(exchange.depth_requests) == ["BTCUSDT", "ETHUSDT"]
    stats = feed.stats()
    assert stats.snapshots_requested == 20 and stats.snapshots_coalesced == 18
    assert stats.snapshots_fetched == 2


def test_stop_is_clean_and_says_stopped(exchange, caplog):
    caplog.set_level("WARNING", logger="asyncio")
    feed, got = make_feed(exchange)
    before = {t.ident for t in threading.enumerate()}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        feed.start()
        got.until(is_event("connected"))
        feed.request_snapshot("BTCUSDT")
        feed.stop()
        feed.stop()  # idempotent
        feed.request_snapshot("BTCUSDT")  # after stop: ignored
        gc.collect()
    got.drain()
    assert got.events()[-1].kind == "disconnected" and got.events()[-1].detail == "stopped"
    assert not feed.running and not feed.runner.running
    assert {t.ident for t in threading.enumerate()} <= before
    assert [str(w.message) for w in caught if not issubclass(w.category, DeprecationWarning)] == []
    assert [r.getMessage() for r in caplog.records if r.name == "asyncio"] == []


def test_stop_leaves_a_shared_runner_running(exchange):
    shared = AsyncioThread(name="shared").start()
    try:
        out = queue.Queue()
        feed = BinanceFeed(["BTCUSDT"], exchange.api_url, exchange.stream_url, out,
                           config=BinanceFeedConfig(connection=FAST), runner=shared)
        feed.start()
        Collector(out).until(is_event("connected"))
        feed.stop()
        assert shared.running and shared.run(asyncio.sleep(0, result=42), 5) == 42
    finally:
        shared.stop()


def test_symbols_are_split_over_connections_whole_and_within_1024_streams():
    symbols = [f"S{i:03d}USDT" for i in range(300)]
    plan = plan_connections(symbols, ("depth@100ms", "trade", "bookTicker", "ticker"), 1024)
    assert [len(chunk) for chunk, _ in plan] == [256, 44]
    assert all(len(streams) <= 1024 for _, streams in plan)
    assert [s for chunk, _ in plan for s in chunk] == symbols
    assert plan[1][1][:2] == ["s256usdt@depth@100ms", "s256usdt@trade"]


def test_several_connections_each_report_their_symbols(exchange, running):
    feed, got = make_feed(exchange, symbols=("AAAUSDT", "BBBUSDT", "CCCUSDT"),
                          stream_kinds=("depth@100ms", "trade"), streams_per_connection=4)
    running(feed)
    got.until(is_event("connected", after=1))
    assert sorted(e.symbols for e in got.events("connected")) == [("AAAUSDT", "BBBUSDT"), ("CCCUSDT",)]
    assert feed.stats().connections == 2
    assert sorted(exchange.paths) == [
        "/stream?streams=aaausdt@depth@100ms/aaausdt@trade/bbbusdt@depth@100ms/bbbusdt@trade",
        "/stream?streams=cccusdt@depth@100ms/cccusdt@trade",
    ]


def test_bad_configuration_is_refused():
    with pytest.raises(ValueError):
        BinanceFeedConfig(streams_per_connection=2000)
    with pytest.raises(ValueError):
        BinanceFeedConfig(stream_kinds=())
    with pytest.raises(ValueError):
        BinanceFeed([], "http://x/api", "ws://x/", queue.Queue())


def test_a_handshake_that_never_completes_times_out_and_is_retried(server_thread, running):
    with socket.socket() as blackhole:  # accepts TCP into its backlog, never answers the handshake
        blackhole.bind(("127.0.0.1", 0))
        blackhole.listen(16)
        port = blackhole.getsockname()[1]
        policy = ConnectionPolicy(reconnect=FAST.reconnect, connect_timeout_s=0.3)
        feed, got = make_feed(ScriptedExchange(server_thread, port), policy=policy)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            running(feed)
            got.until(is_event("reconnecting", after=1))
            feed.stop()
            gc.collect()
    assert all(e.detail.endswith("connect failed: timed out") for e in got.events("reconnecting"))
    assert [str(w.message) for w in caught if not issubclass(w.category, DeprecationWarning)] == []


def test_a_refused_handshake_is_reported_and_retried():
    with ExchangeThread(ExchangeConfig(symbols=("BTCUSDT",), seed=1)) as exchange:
        out = queue.Queue()
        feed = BinanceFeed(["NOPEUSDT"], exchange.base_api_url, exchange.stream_url, out,
                           config=BinanceFeedConfig(connection=FAST))
        feed.start()
        try:
            got = Collector(out)
            got.until(is_event("reconnecting", after=2))
        finally:
            feed.stop()
    assert "HTTP 400" in got.events("reconnecting")[0].detail
    assert feed.stats().connects == 0 and feed.stats().failed_connects >= 3
