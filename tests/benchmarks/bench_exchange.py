"""Benchmark of the embedded exchange: how much it generates and serves, and how real it looks.

    .venv/bin/python -m tests.benchmarks.bench_exchange [--seconds 10] [--minutes 10] [--quick]

1. Generation: the market model alone, advanced as fast as it goes, every event formatted into
   every stream that carries it (what a client subscribed to everything would cost): model
   events/s and wire messages/s at several rates.
2. Serving: ``python -m app exchange`` in its own process, one client in this process subscribed
   to every stream of every symbol on one combined connection: messages/s received, and the
   exchange process's CPU.
3. Realism per symbol, from the model at rate 1 over ``--minutes`` of virtual time, sampled
   every 100 ms: median spread (ticks and bps), trades/s, depth within 10 bps of the mid (quote
   notional, bid + ask), realized volatility (annualized, from 1 s and 1 min mid returns)
   against the target, and the correlation of 10-second returns between symbols.
"""
from __future__ import annotations

import argparse
import asyncio
import math
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import numpy as np

from feeds.exchange.catalog import Catalog
from feeds.exchange.events import AggTradePrint, DepthDiff, DepthTop, TickerEvent, TopOfBook, TradePrint
from feeds.exchange.market import MarketModel
from feeds.exchange.wire import WireFormat, combined

ROOT = Path(__file__).resolve().parents[2]
SYMBOLS = ["BTCUSDT", "ETHUSDT", "BNBUSDT", "SOLUSDT"]
EPOCH_NS = 1_767_225_600_000 * 1_000_000
CHANNELS = ["depth@100ms", "depth", "depth5", "depth10@100ms", "depth20@100ms", "trade", "aggTrade", "bookTicker",
            "ticker", "miniTicker"]


def table(title: str, header: list[str], rows: list[list[object]]) -> None:
    print(f"\n{title}")
    cells = [header] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for k, row in enumerate(cells):
        print("  " + "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))))
        if k == 0:
            print("  " + "  ".join("-" * w for w in widths))


# -- 1. generation -------------------------------------------------------------------------------
def format_all(events: list, wire: dict[str, WireFormat]) -> int:
    """Format every event into every stream that carries it (combined frames); returns messages."""
    count = 0
    for event in events:
        kind = type(event)
        w = wire[event.symbol]
        name = event.symbol.lower()
        if kind is TradePrint:
            combined(f"{name}@trade", w.trade(event))
            count += 1
        elif kind is AggTradePrint:
            combined(f"{name}@aggTrade", w.agg_trade(event))
            count += 1
        elif kind is TopOfBook:
            combined(f"{name}@bookTicker", w.book_ticker(event))
            count += 1
        elif kind is DepthDiff:
            combined(f"{name}@depth", w.depth_update(event))
            count += 1
        elif kind is DepthTop:
            for levels in (5, 10, 20):
                combined(f"{name}@depth{levels}", w.partial_depth(event, levels))
            count += 3
        elif kind is TickerEvent:
            combined(f"{name}@ticker", w.ticker(event.ts_event, event.window))
            combined(f"{name}@miniTicker", w.mini_ticker(event.ts_event, event.window))
            count += 2
    return count


def generation(rate: float, virtual_s: float) -> list[object]:
    catalog = Catalog(SYMBOLS)
    model = MarketModel(catalog, seed=1, rate=rate, epoch_ns=EPOCH_NS)
    wire = {s: WireFormat(p.instrument) for s, p in catalog.profiles.items()}
    events = messages = 0
    started = time.process_time()
    step = 100_000_000
    for k in range(1, int(virtual_s * 10) + 1):
        batch = model.advance_to(EPOCH_NS + k * step)
        events += len(batch)
        messages += format_all(batch, wire)
    cpu = time.process_time() - started
    return [f"{rate:g}", f"{events / virtual_s:,.0f}", f"{events / cpu:,.0f}", f"{messages / cpu:,.0f}",
            f"{virtual_s / cpu:.1f}x"]


# -- 2. serving ----------------------------------------------------------------------------------
def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def receive_for(url: str, seconds: float) -> tuple[int, float]:
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(url, max_msg_size=0) as ws:
            await ws.receive(timeout=30)  # streaming has started
            count = 0
            started = time.monotonic()
            while time.monotonic() - started < seconds:
                msg = await ws.receive(timeout=30)
                if msg.type is not aiohttp.WSMsgType.TEXT:
                    raise RuntimeError(f"stream ended: {msg.type} {msg.data!r}")
                count += 1
            return count, time.monotonic() - started


def serving(rate: float, seconds: float) -> list[object]:
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "exchange", "--port", "0", "--rate", str(rate), "--seed", "1",
         "--symbols", ",".join(SYMBOLS)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        line = process.stdout.readline()
        port = re.search(r":(\d+) \(REST", line)
        if not port:
            raise RuntimeError(f"exchange did not start: {line!r} {process.stderr.read()}")
        streams = "/".join(f"{s.lower()}@{c}" for s in SYMBOLS for c in CHANNELS)
        url = f"ws://127.0.0.1:{port.group(1)}/stream?streams={streams}"
        cpu_before = cpu_seconds(process.pid)
        count, elapsed = asyncio.run(receive_for(url, seconds))
        cpu = cpu_seconds(process.pid) - cpu_before
        return [f"{rate:g}", f"{count / elapsed:,.0f}", f"{100 * cpu / elapsed:.0f}%"]
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        process.stdout.close()
        process.stderr.close()


# -- 3. realism ----------------------------------------------------------------------------------
def realism(symbols: list[str], minutes: float) -> tuple[list[list[object]], list[list[object]]]:
    catalog = Catalog(symbols)
    model = MarketModel(catalog, seed=1, rate=1.0, epoch_ns=EPOCH_NS)
    samples = int(minutes * 600)
    spreads = {s: [] for s in symbols}
    depth = {s: [] for s in symbols}
    mids = {s: [] for s in symbols}
    trades = {s: 0 for s in symbols}
    for k in range(1, samples + 1):
        for event in model.advance_to(EPOCH_NS + k * 100_000_000):
            if type(event) is TradePrint:
                trades[event.symbol] += 1
        for s in symbols:
            market = model.market(s)
            inst = market.instrument
            bid, _, ask, _ = market.book.top()
            mid = (bid + ask) / 2
            spreads[s].append(ask - bid)
            mids[s].append(mid * inst.tick_size)
            band = mid * 1e-3  # 10 bps, in ticks
            notional = 0.0
            for side_levels in (market.book.bids, market.book.asks):
                for price, level in side_levels.items():
                    if abs(price - mid) <= band:
                        notional += inst.ticks_to_price(price) * inst.lots_to_qty(level.total)
            depth[s].append(notional)
    rows = []
    ten_second_returns = {}
    for s in symbols:
        profile = catalog.profiles[s]
        mid = np.array(mids[s])
        per_second = np.diff(np.log(mid[::10]))
        per_minute = np.diff(np.log(mid[::600]))
        ten_second_returns[s] = np.diff(np.log(mid[::100]))
        med_spread = statistics.median(spreads[s])
        price = float(mid[-1])
        rows.append([
            s, f"{price:,.{profile.instrument.price_decimals}f}", f"{med_spread:g}",
            f"{med_spread * profile.instrument.tick_size / price * 1e4:.2f}",
            f"{trades[s] / (minutes * 60):.1f}",
            f"{statistics.median(depth[s]):,.0f}",
            f"{per_second.std() * math.sqrt(365 * 86400):.2f}",
            f"{per_minute.std() * math.sqrt(365 * 1440):.2f}" if len(per_minute) > 2 else "-",
            f"{profile.annual_vol:.2f}",
        ])
    corr = []
    for a in symbols:
        corr.append([a] + [f"{np.corrcoef(ten_second_returns[a], ten_second_returns[b])[0, 1]:.2f}"
                            for b in symbols])
    return rows, corr


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="wall seconds per serving measurement")
    parser.add_argument("--minutes", type=float, default=10.0, help="virtual minutes for the realism figures")
    parser.add_argument("--quick", action="store_true", help="short runs, for a smoke check")
    args = parser.parse_args(argv)
    seconds = 3.0 if args.quick else args.seconds
    minutes = 2.0 if args.quick else args.minutes
    print(f"embedded exchange benchmark ({os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
          f"symbols {','.join(SYMBOLS)})")
    rows = [generation(rate, 20.0 if args.quick else 60.0 / max(1.0, rate / 5)) for rate in (1, 10, 50)]
    table("1. generation (model + formatting, one core)",
          ["rate", "events/virtual s", "events/CPU s", "messages/CPU s", "virtual s per CPU s"], rows)
    rows = [serving(rate, seconds) for rate in ((1, 10, 50) if args.quick else (1, 10, 50, 100, 200))]
    table("2. served to one client subscribed to all 40 streams (exchange in its own process)",
          ["rate", "messages/s received", "exchange CPU"], rows)
    rows, corr = realism(SYMBOLS + ["XRPUSDT", "DOGEUSDT", "ETHBTC"], minutes)
    table(f"3. realism at rate 1 ({minutes:g} virtual minutes, sampled every 100 ms)",
          ["symbol", "last price", "median spread ticks", "spread bps", "trades/s", "depth ±10bps (quote)",
           "vol 1s", "vol 1min", "vol target"], rows)
    table("   correlation of 10-second returns", ["", *(r[0] for r in corr)], corr)


if __name__ == "__main__":
    main()
