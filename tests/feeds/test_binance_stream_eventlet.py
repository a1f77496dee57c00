"""BinanceFeed inside a monkey-patched eventlet process, wired the way the app wires it.

binance-protocol.md: under eventlet exactly one asyncio loop may run, on a real OS thread, and
frames must cross through a real queue. This runs in a subprocess (monkey patching is global):
the embedded exchange and the feed share one AsyncioThread built from eventlet's *original*
Thread and Event; a green thread drains the original Queue through tpool into MarketData while
another green thread keeps ticking (the hub is never blocked); an abrupt disconnect is recovered.
"""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent('''
    import eventlet
    eventlet.monkey_patch()
    import json, time, urllib.request
    import eventlet.tpool
    from eventlet import patcher
    Thread = patcher.original("threading").Thread
    Event = patcher.original("threading").Event
    Queue = patcher.original("queue").Queue
    Empty = patcher.original("queue").Empty

    from feeds.aio_thread import AsyncioThread
    from feeds.binance_stream import BinanceFeed, BinanceFeedConfig
    from feeds.exchange.config import ExchangeConfig
    from feeds.exchange.server import start_exchange
    from feeds.messages import ConnectionEvent, FeedMessage
    from feeds.pipeline import MarketData

    runner = AsyncioThread(Thread, name="io", event_factory=Event).start()
    exchange = runner.run(start_exchange(ExchangeConfig(symbols=("BTCUSDT", "ETHUSDT"), seed=4)), 60)
    out = Queue()
    feed = BinanceFeed(["BTCUSDT", "ETHUSDT"], exchange.base_api_url, exchange.stream_url, out, Thread,
                       BinanceFeedConfig(seed=1), runner=runner)
    market = MarketData(exchange.instruments, request_snapshot=feed.request_snapshot)
    ticks = [0]
    kinds = []

    def ticker():
        while True:
            ticks[0] += 1
            eventlet.sleep(0.01)

    def get_one():
        try:
            return out.get(timeout=0.2)
        except Empty:
            return None

    def until(predicate, deadline_s=60):
        end = time.monotonic() + deadline_s
        while not predicate():
            assert time.monotonic() < end, "deadline passed"
            item = eventlet.tpool.execute(get_one)
            if isinstance(item, FeedMessage):
                market.on_message(item.recv_ns, item.text, item.symbol)
            elif isinstance(item, ConnectionEvent):
                kinds.append(item.kind)
                if item.kind != "reconnecting":
                    market.on_connection(item.kind, item.recv_ns, item.detail)

    eventlet.spawn(ticker)
    eventlet.tpool.execute(feed.start)
    synced = lambda: all(market.synced(s) for s in market.symbols)
    until(synced)
    request = urllib.request.Request(exchange.base_url + "/admin/faults", method="POST",
                                     data=json.dumps({"kind": "disconnect", "mode": "abrupt"}).encode())
    urllib.request.urlopen(request, timeout=30).read()
    until(lambda: kinds.count("connected") == 2 and synced())
    eventlet.tpool.execute(feed.stop)
    while True:
        try:
            item = out.get_nowait()
        except Empty:
            break
        if isinstance(item, ConnectionEvent):
            kinds.append(item.kind)
    runner.run(exchange.stop(), 30)
    runner.stop()
    print(json.dumps({"kinds": kinds, "ticks": ticks[0], "synced": synced(),
                      "reconnects": feed.stats().reconnects,
                      "update_ids": [market.book(s).update_id for s in market.symbols]}))
''')


def test_feed_runs_under_eventlet_with_original_thread_and_queue():
    done = subprocess.run([sys.executable, "-W", "ignore::DeprecationWarning", "-c", SCRIPT], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["kinds"][0] == "connected" and result["kinds"].count("connected") == 2
    assert "disconnected" in result["kinds"] and result["kinds"][-1] == "disconnected"  # stop() said so
    assert result["reconnects"] == 1 and result["synced"]
    assert all(u > 0 for u in result["update_ids"])
    assert result["ticks"] > 0  # green threads kept running while frames flowed
    assert "Traceback" not in done.stderr and "cannot switch" not in done.stderr
