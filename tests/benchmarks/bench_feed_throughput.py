"""What the live feed itself costs: frames/s through python-binance + BinanceFeed onto the engine's
queue, next to a bare ``websockets`` client reading the same frames; and the receive -> engine
hand-off latency at a steady rate.

    .venv/bin/python -m tests.benchmarks.bench_feed_throughput [--frames 100000] [--rate 2000]

The server runs in a subprocess (aiohttp, loopback), sending realistic ~600-byte depth frames:
a burst for throughput, then a paced stream for latency (hand-off = engine thread's dequeue time
minus the frame's recv_ns, stamped when the frame left the socket).
"""
from __future__ import annotations

import argparse
import asyncio
import queue
import subprocess
import sys
import threading
import time

import numpy as np

from feeds.binance_stream import BinanceFeed, BinanceFeedConfig
from feeds.messages import ConnectionEvent, FeedMessage
from feeds.stream_connection import ConnectionPolicy

LEVELS = ",".join(f'["{100000 + i}.12000000","{i % 7}.50000000"]' for i in range(8))


def frame(n: int) -> str:
    return (f'{{"stream":"btcusdt@depth@100ms","data":{{"e":"depthUpdate","E":{time.time_ns() // 1_000_000},'
            f'"s":"BTCUSDT","U":{n},"u":{n},"b":[{LEVELS}],"a":[{LEVELS}]}}}}')


def serve(count: int, rate: float) -> None:
    """Subprocess: each connection gets ``count`` frames at once, or ``rate`` frames/s if rate > 0."""
    from aiohttp import web

    async def stream(request):
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        paced = float(request.query.get("rate", "0"))
        frames = int(request.query.get("count", count))
        start = time.monotonic()
        for n in range(frames):
            if paced:
                delay = start + n / paced - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            await ws.send_str(frame(n))
        async for _ in ws:
            pass
        return ws

    async def main():
        app = web.Application()
        app.router.add_get("/stream", stream)
        app.router.add_get("/ws/{name}", stream)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        print(site._server.sockets[0].getsockname()[1], flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


def bare_websockets(port: int, count: int) -> float:
    import websockets

    async def main() -> float:
        async with websockets.connect(f"ws://127.0.0.1:{port}/ws/x?count={count}", max_size=None) as ws:
            start = time.perf_counter()
            for _ in range(count):
                await ws.recv()
            return count / (time.perf_counter() - start)

    return asyncio.run(main())


def feed_run(port: int, count: int, rate: float) -> tuple[float, np.ndarray]:
    """(frames/s, hand-off latencies in µs) through BinanceFeed for ``count`` frames."""
    out: queue.Queue = queue.Queue()
    # The stream name carries the server's knobs (it is just a query string to the server).
    config = BinanceFeedConfig(stream_kinds=(f"x&count={count}&rate={rate}",),
                               connection=ConnectionPolicy(silence_timeout_s=60.0))
    feed = BinanceFeed(["BTCUSDT"], f"http://127.0.0.1:{port}/api", f"ws://127.0.0.1:{port}/", out,
                       threading.Thread, config)
    feed.start()
    latencies = np.empty(count, dtype=np.int64)
    got = 0
    first = last = 0.0
    try:
        while got < count:
            item = out.get(timeout=60)
            if type(item) is FeedMessage:
                now = time.time_ns()
                if got == 0:
                    first = time.perf_counter()
                latencies[got] = now - item.recv_ns
                got += 1
                last = time.perf_counter()
            elif isinstance(item, ConnectionEvent) and item.kind == "disconnected":
                raise RuntimeError(f"connection lost: {item.detail}")
    finally:
        feed.stop()
    return (count - 1) / (last - first), latencies / 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=2000.0, help="frames/s of the latency run")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.frames, 0)
        return
    server = subprocess.Popen([sys.executable, "-m", "tests.benchmarks.bench_feed_throughput", "--serve",
                               "--frames", str(args.frames)], stdout=subprocess.PIPE, text=True)
    try:
        port = int(server.stdout.readline())
        bare = bare_websockets(port, args.frames)
        burst_rate, _ = feed_run(port, args.frames, 0)
        paced_count = int(args.rate * 5)
        _, latency = feed_run(port, paced_count, args.rate)
    finally:
        server.terminate()
        server.wait()
    print(f"live feed cost (1 connection, ~{len(frame(0))}-byte depth frames, server in a subprocess)")
    print(f"{'path':<52}{'frames/s':>12}")
    print(f"{'bare websockets client, recv() only':<52}{bare:>12,.0f}")
    print(f"{'python-binance + BinanceFeed -> queue -> consumer':<52}{burst_rate:>12,.0f}")
    print(f"{'ratio':<52}{burst_rate / bare:>12.0%}")
    p50, p99, worst = np.percentile(latency, [50, 99, 100])
    print(f"hand-off recv -> engine thread at {args.rate:,.0f} frames/s for 5 s: "
          f"p50 {p50:.0f} µs, p99 {p99:.0f} µs, max {worst:.0f} µs")


if __name__ == "__main__":
    main()
