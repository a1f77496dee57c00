"""Backtest throughput over the real recordings, against bare json.loads of the same lines.

    .venv/bin/python -m tests.benchmarks.bench_backtest [--passes N] [--strategies a,b] [--data DIR]

The recordings (../shared/data/binance/<day>/) are decompressed once into memory; each pass then
replays every day through feeds.pipeline.MarketData into strategies.backtest.Backtest with one
strategy per symbol (fresh objects each pass, the CLI's own ``drive`` loop), so the run is long
enough to time. Reported per row: messages/s (recording lines), market events/s (book changes,
trades and book-status events the strategies see), level updates/s (depth rows in diffs and
snapshots plus trades: hftbacktest's notion of an event), the time ratio to json.loads over the same
lines, and how many times faster than real time the recordings' own span went by. Times are CPU
seconds of this process (one core), best of three blocks, so neighbours on a shared machine matter less.
"""
from __future__ import annotations

import argparse
import gc
import json
import time
from pathlib import Path

import orjson

from app.commands.backtest import drive, instruments_for
from feeds.pipeline import MarketData
from feeds.recording import read_recordings
from strategies.backtest import Backtest, BacktestConfig

DEFAULT_DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "binance"
STRATEGIES = ("market_maker", "avellaneda_stoikov", "liquidity_taker")


class Day:
    """One recording folder, read into memory."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        paths = sorted(folder.glob("*.gz"))
        self.instruments = instruments_for(paths, None)
        self.messages = list(read_recordings(paths))
        self.span_s = (self.messages[-1][0] - self.messages[0][0]) / 1e9
        rows = [_level_rows(text) for _, text, _ in self.messages]
        self.level_updates = sum(r for r, _ in rows)
        self.snapshot_rows = sum(r for r, snapshot in rows if snapshot)


def _level_rows(text: str) -> tuple[int, bool]:
    """(depth rows of a diff or snapshot, or 1 for a trade, else 0; whether it is a snapshot)."""
    message = orjson.loads(text)
    data = message.get("data", message)
    if "lastUpdateId" in data and "bids" in data:
        return len(data["bids"]) + len(data["asks"]), True
    kind = data.get("e")
    if kind == "depthUpdate":
        return len(data["b"]) + len(data["a"]), False
    if kind in ("trade", "aggTrade"):
        return 1, False
    return 0, False


def time_it(passes: int, body) -> float:
    """CPU seconds of this process per pass (per core, as the goal is stated), best of three blocks."""
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        for _ in range(passes):
            body()
        best = min(best, (time.process_time() - start) / passes)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=10, help="passes over all recordings per timing block")
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--timer-ms", type=int, default=1000)
    args = parser.parse_args()

    days = [Day(folder) for folder in sorted(p for p in args.data.iterdir() if p.is_dir())]
    lines = [text for day in days for _, text, _ in day.messages]
    messages = len(lines)
    span = sum(day.span_s for day in days)
    levels = sum(day.level_updates for day in days)
    snapshot_rows = sum(day.snapshot_rows for day in days)
    print(f"{len(days)} recording days, {sum(len(d.instruments) for d in days)} symbols, {messages} lines, "
          f"{levels} level updates+trades ({snapshot_rows} of them in REST snapshots), {span:.1f} s of market "
          f"time; {args.passes} passes per block\n")
    # the recordings now live in memory for good: keep the collector from walking them on every pass
    gc.collect()
    gc.freeze()

    baseline = time_it(args.passes, lambda: [json.loads(text) for text in lines])
    rows = [("json.loads", baseline, None), ("orjson.loads", time_it(args.passes, lambda: [orjson.loads(t) for t in lines]), None)]

    def replay_only() -> None:
        for day in days:
            market = MarketData(day.instruments)
            for recv_ns, text, symbol in day.messages:
                market.on_message(recv_ns, text, symbol)

    rows.append(("replay (pipeline only)", time_it(args.passes, replay_only), None))

    for name in [s.strip() for s in args.strategies.split(",") if s.strip()]:
        config = BacktestConfig(strategy=name, seed=1, timer_ms=args.timer_ms)
        counted = {}

        def backtest() -> None:
            events = 0
            for day in days:
                market = MarketData(day.instruments)
                run = Backtest(day.instruments, config)
                drive(day.messages, market, run)
                run.summary()
                events += run.events
            counted["events"] = events

        rows.append((f"backtest {name}", time_it(args.passes, backtest), counted))

    header = f"{'run':<30}{'ms/pass':>9}{'msgs/s':>12}{'events/s':>12}{'levels/s':>12}{'x json.loads':>14}{'x real time':>13}"
    print(header)
    print("-" * len(header))
    for label, seconds, counted in rows:
        events = f"{counted['events'] / seconds:>12,.0f}" if counted else f"{'':>12}"
        print(f"{label:<30}{seconds * 1e3:>9.1f}{messages / seconds:>12,.0f}{events}{levels / seconds:>12,.0f}"
              f"{seconds / baseline:>14.2f}{span / seconds:>13,.0f}")
    print("\nx json.loads: time of the run divided by the time of json.loads over the same lines (lower is faster).")


if __name__ == "__main__":
    main()
