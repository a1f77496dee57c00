"""Frames/s of the whole market-data path (parse + route + sync + apply) against bare parsing.

    .venv/bin/python -m tests.benchmarks.bench_pipeline [--repeat N] [--quick]

For each workload the same list of received frames goes through ``json.loads``, ``orjson.loads``
and ``MarketData.on_message``; runs are interleaved and the best of N kept, so a busy machine
skews the three alike. The goal (issue 3): pipeline >= 50% of bare json.loads, i.e. keeping the
books costs no more than parsing.

Workloads:
- real recordings: every file in shared/data/binance, start to end, a fresh MarketData per pass.
  Each 30 s file opens with a 1000-5000 level REST snapshot, so snapshots weigh ~100x more than
  in a session of an hour;
- real, after sync: the same frames after each book's snapshot (processed untimed): steady state;
- synthetic: a 1000-level book, diff frames of 5 and 20 levels, one bookTicker per diff.
"""
from __future__ import annotations

import argparse
import gc
import json
import time
from pathlib import Path

import numpy as np
import orjson

from feeds.pipeline import MarketData
from feeds.recording import read_recordings
from orderbook.instrument import Instrument, instruments_from_exchange_info
from tests.orderbook.synthetic_depth import SyntheticDepth

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "binance"
if not DATA.is_dir():
    DATA = Path("/work/shared/data/binance")


def real_frames() -> tuple[dict[str, Instrument], list[tuple[int, str, str | None]]]:
    instruments: dict[str, Instrument] = {}
    frames: list[tuple[int, str, str | None]] = []
    for folder in sorted(p for p in DATA.iterdir() if p.is_dir()):
        instruments.update(instruments_from_exchange_info(json.loads((folder / "exchangeInfo.json").read_text())))
        for path in sorted(folder.glob("*.gz")):
            frames.extend(read_recordings([path]))
    return instruments, frames


def split_at_snapshots(frames: list[tuple[int, str, str | None]]) -> tuple[list, list]:
    """(frames up to each symbol's first snapshot, the rest)."""
    before, after = [], []
    seen: set[str | None] = set()
    for frame in frames:
        symbol = frame[2]
        if symbol in seen:
            after.append(frame)
        else:
            before.append(frame)
            if frame[1].startswith('{"lastUpdateId"'):
                seen.add(symbol)
    return before, after


def synthetic(levels_per_diff: int, count: int, seed: int) -> tuple[dict[str, Instrument], list, list]:
    instrument = Instrument("SYNUSDT", "SYN", "USDT", tick_units=1_000_000, step_units=1_000)
    market = SyntheticDepth(np.random.default_rng(seed), instrument, levels=1000)
    warmup = [(1, market.next_diff(levels_per_diff)[0], None), (2, market.snapshot_text(), "SYNUSDT")]
    frames = []
    for k in range(count):
        frames.append((k, market.next_diff(levels_per_diff)[0], None))
        frames.append((k, market.book_ticker_text(), None))
    return {"SYNUSDT": instrument}, warmup, frames


def best_of(runners: dict, repeat: int) -> dict[str, float]:
    best = {name: float("inf") for name in runners}
    for _ in range(repeat):
        for name, run in runners.items():
            gc.collect()
            elapsed = run()
            best[name] = min(best[name], elapsed)
    return best


def timed_loop(fn, frames) -> float:
    start = time.perf_counter()
    for _, text, _ in frames:
        fn(text)
    return time.perf_counter() - start


def timed_pipeline(instruments, warmup, frames) -> float:
    market = MarketData(instruments)
    for recv_ns, text, symbol in warmup:
        market.on_message(recv_ns, text, symbol)
    on_message = market.on_message
    start = time.perf_counter()
    for recv_ns, text, symbol in frames:
        on_message(recv_ns, text, symbol)
    elapsed = time.perf_counter() - start
    counters = market.counters()
    if counters["internal_errors"]:
        raise RuntimeError(f"pipeline failed: {counters['last_error']}")
    return elapsed


def workload_row(name: str, instruments, warmup, frames, repeat: int) -> tuple:
    runners = {
        "json": lambda: timed_loop(json.loads, frames),
        "orjson": lambda: timed_loop(orjson.loads, frames),
        "pipeline": lambda: timed_pipeline(instruments, warmup, frames),
    }
    best = best_of(runners, repeat)
    n = len(frames)
    return (name, n, n / best["json"], n / best["orjson"], n / best["pipeline"], best["json"] / best["pipeline"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="interleaved runs per workload (best kept)")
    parser.add_argument("--quick", action="store_true", help="smaller workloads, 3 runs")
    args = parser.parse_args(argv)
    repeat = 3 if args.quick else args.repeat
    copies = 3 if args.quick else 20
    synthetic_count = 5_000 if args.quick else 40_000

    instruments, frames = real_frames()
    before, after = split_at_snapshots(frames)
    rows = [
        workload_row(f"real recordings x{copies}", instruments, [], frames * copies, repeat),
    ]
    # Steady state: every pass starts from books synced on the recordings' snapshots.
    rows.append(_after_sync_row(instruments, before, after, copies, repeat))
    for levels in (5, 20):
        syn_instruments, warmup, syn_frames = synthetic(levels, synthetic_count, seed=levels)
        rows.append(workload_row(f"synthetic {levels} lv/diff + bookTicker", syn_instruments, warmup,
                                 syn_frames, repeat))

    print(f"{'workload':38} {'frames':>8} {'json.loads/s':>13} {'orjson/s':>11} {'pipeline/s':>11} {'pipe/json':>9}")
    for name, n, json_rate, orjson_rate, pipe_rate, ratio in rows:
        print(f"{name:38} {n:8d} {json_rate:13,.0f} {orjson_rate:11,.0f} {pipe_rate:11,.0f} {ratio:9.2f}")
    return 0


def _after_sync_row(instruments, before, after, copies, repeat) -> tuple:
    """Each copy of the post-snapshot frames runs on books synced by the pre-snapshot frames."""
    def pipeline_run() -> float:
        total = 0.0
        for _ in range(copies):
            total += timed_pipeline(instruments, before, after)
        return total
    frames = after * copies
    runners = {
        "json": lambda: timed_loop(json.loads, frames),
        "orjson": lambda: timed_loop(orjson.loads, frames),
        "pipeline": pipeline_run,
    }
    best = best_of(runners, repeat)
    n = len(frames)
    return (f"real, after sync x{copies}", n, n / best["json"], n / best["orjson"], n / best["pipeline"],
            best["json"] / best["pipeline"])


if __name__ == "__main__":
    raise SystemExit(main())
