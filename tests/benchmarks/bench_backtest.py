"""Backtest throughput against bare json.loads of the same lines, on real and on synthesised recordings.

    .venv/bin/python -m tests.benchmarks.bench_backtest [--passes N] [--strategies a,b] [--data DIR]
        [--minutes M] [--symbols A,B] [--seed S] [--workloads real,exchange] [--sweep N]

Two workloads, each held in memory as recording lines ``(recv_ns, text, symbol)``:

- real: every day folder of ../shared/data/binance/ (~30 s per file). Each file opens with a
  1000-5000 level REST snapshot, so snapshot rows are ~90% of the level updates: parsing dominates
  and the strategies see few events.
- exchange: a session recorded from the embedded exchange's market model (feeds.exchange.market,
  driven in virtual time without sockets, so it is deterministic for a seed): the recorder's own
  streams (depth@100ms, trade, bookTicker, ticker) of ``--symbols`` for ``--minutes``, one REST
  snapshot (limit 1000) per symbol after its first diff, received 3 ms after the event.

Each pass replays the workload through feeds.pipeline.MarketData into strategies.backtest.Backtest
with one strategy per symbol (fresh objects each pass, the CLI's own ``drive`` loop and pipeline, which
counts book-ticker and ticker lines without decoding them: a backtest never reads them). Per row:
messages/s (recording lines), events/s (what the strategies see: book changes and trades),
levels/s (depth rows of diffs and snapshots plus trades: hftbacktest's notion of an event), the
time ratio to json.loads over the same lines, and how many times faster than real time the
recordings' own span went by. Two rows bound what any strategy can reach: "orjson.loads, lines
decoded" (the fastest parser over only the lines a backtest reads) and "backtest idle (floor)" (the
whole backtest with a strategy that never quotes). The last row runs ``--sweep`` sets of sessions of the first strategy
in one pass (as ``backtest --sweep`` does) and shows the time per combination. Times are CPU
seconds of this process (one core), best of three blocks, so neighbours on a shared machine
matter less; every pass starts with the instruments' price/size caches empty, as a fresh run does.
"""
from __future__ import annotations

import argparse
import gc
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import orjson

from app.commands.backtest import UNUSED_STREAMS, backtest_market, drive, instruments_for
from feeds.pipeline import BookChanged, MarketData
from feeds.recording import read_recordings
from orderbook.instrument import Instrument
from orderbook.trades import TradeTick
from strategies.backtest import Backtest, BacktestConfig, BacktestGroup
from strategies.base import Strategy
from strategies.parameters import Parameters
from strategies.registry import STRATEGIES as REGISTERED, register

DEFAULT_DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "binance"
if not DEFAULT_DATA.is_dir():
    DEFAULT_DATA = Path("/work/shared/data/binance")
STRATEGIES = ("market_maker", "avellaneda_stoikov", "liquidity_taker")
EXCHANGE_SYMBOLS = "BTCUSDT,ETHUSDT,BNBUSDT,SOLUSDT"
EXCHANGE_EPOCH_NS = 1_700_000_000_000_000_000  # a fixed virtual start: the session never reads a clock
RECV_DELAY_NS = 3_000_000
SNAPSHOT_LIMIT = 1000

Messages = list[tuple[int, str, "str | None"]]


class Segment:
    """Recording lines replayed with one fresh MarketData and Backtest (a day folder, or a session)."""

    def __init__(self, instruments: dict[str, Instrument], messages: Messages) -> None:
        self.instruments = instruments
        self.messages = messages
        self.span_s = (messages[-1][0] - messages[0][0]) / 1e9 if messages else 0.0
        rows = [_level_rows(text) for _, text, _ in messages]
        self.level_updates = sum(r for r, _ in rows)
        self.snapshot_rows = sum(r for r, snapshot in rows if snapshot)
        self.book_changes, self.trades = _market_events(instruments, messages)

    def start_cold(self) -> None:
        """Each pass converts prices and sizes as a fresh `backtest` run does: from empty caches."""
        for instrument in self.instruments.values():
            instrument.forget_conversions()


class Workload:
    """Segments timed together, with the counts the rates are computed from."""

    def __init__(self, name: str, segments: list[Segment], passes: int) -> None:
        self.name = name
        self.segments = segments
        self.passes = passes
        self.lines = [text for segment in segments for _, text, _ in segment.messages]
        self.span_s = sum(s.span_s for s in segments)
        self.levels = sum(s.level_updates for s in segments)
        self.snapshot_rows = sum(s.snapshot_rows for s in segments)
        self.book_changes = sum(s.book_changes for s in segments)
        self.trades = sum(s.trades for s in segments)
        self.events = self.book_changes + self.trades

    def describe(self) -> str:
        return (f"{self.name}: {len(self.segments)} segment(s), "
                f"{sum(len(s.instruments) for s in self.segments)} symbols, {len(self.lines):,} lines, "
                f"{self.span_s:,.1f} s of market time; strategy events {self.events:,} "
                f"({self.book_changes:,} book changes + {self.trades:,} trades); level updates+trades "
                f"{self.levels:,} ({self.snapshot_rows:,} in REST snapshots); {self.passes} pass(es) per block")


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


def _market_events(instruments: dict[str, Instrument], messages: Messages) -> tuple[int, int]:
    """(book changes, trades) the pipeline hands the strategies for these lines."""
    market = MarketData(instruments)
    books = trades = 0
    for recv_ns, text, symbol in messages:
        for event in market.on_message(recv_ns, text, symbol):
            kind = type(event)
            if kind is BookChanged:
                books += 1
            elif kind is TradeTick:
                trades += 1
    return books, trades


def real_workload(data: Path, passes: int) -> Workload:
    segments = []
    for folder in sorted(p for p in data.iterdir() if p.is_dir()):
        paths = sorted(folder.glob("*.gz"))
        segments.append(Segment(instruments_for(paths, None), list(read_recordings(paths))))
    return Workload("real recordings", segments, passes)


def exchange_session(symbols: list[str], minutes: float, seed: int) -> Segment:
    """Recording lines of the embedded exchange's market for ``minutes`` of virtual time (deterministic)."""
    from feeds.exchange.catalog import Catalog
    from feeds.exchange.events import DepthDiff, TickerEvent, TopOfBook, TradePrint
    from feeds.exchange.market import MarketModel
    from feeds.exchange.wire import WireFormat, combined

    catalog = Catalog(symbols)
    model = MarketModel(catalog, seed, 1.0, EXCHANGE_EPOCH_NS)
    wire = {s: WireFormat(p.instrument) for s, p in catalog.profiles.items()}
    names = {s: s.lower() for s in symbols}
    snapshot_sent: set[str] = set()
    messages: Messages = []
    add = messages.append
    step_ns = 100_000_000
    for k in range(1, int(minutes * 600) + 1):
        for event in model.advance_to(EXCHANGE_EPOCH_NS + k * step_ns):
            kind = type(event)
            symbol = event.symbol
            recv = event.ts_event + RECV_DELAY_NS
            if kind is DepthDiff:
                if event.interval_ms != 100:
                    continue
                add((recv, combined(f"{names[symbol]}@depth@100ms", wire[symbol].depth_update(event)), None))
                if symbol not in snapshot_sent:  # the feed asks for a snapshot on the first diff
                    snapshot_sent.add(symbol)
                    snap = model.book_snapshot(symbol, SNAPSHOT_LIMIT)
                    add((recv + 1, wire[symbol].depth_snapshot(snap.update_id, snap.bids, snap.asks), symbol))
            elif kind is TradePrint:
                add((recv, combined(f"{names[symbol]}@trade", wire[symbol].trade(event)), None))
            elif kind is TopOfBook:
                add((recv, combined(f"{names[symbol]}@bookTicker", wire[symbol].book_ticker(event)), None))
            elif kind is TickerEvent:
                text = wire[symbol].ticker(event.ts_event, event.window)
                add((recv, combined(f"{names[symbol]}@ticker", text), None))
    return Segment(catalog.instruments(), messages)


@dataclass(frozen=True)
class IdleParams(Parameters):
    pass


class Idle(Strategy):
    """Never quotes: what a backtest costs before any strategy does any work (the floor row)."""

    name = "idle (floor)"
    Params = IdleParams

    def on_book(self, ctx):
        return []


def decoded_lines(lines: list[str]) -> list[str]:
    """The lines a backtest decodes: all but the streams it only counts (UNUSED_STREAMS)."""
    def skipped(text: str) -> bool:
        if not text.startswith('{"stream":"'):
            return False
        stream = text[11:text.find('"', 11)]
        return stream.partition("@")[2].partition("@")[0] in UNUSED_STREAMS
    return [text for text in lines if not skipped(text)]


def time_it(passes: int, body: Callable[[], None]) -> float:
    """CPU seconds of this process per pass (per core, as the goal is stated), best of three blocks."""
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        for _ in range(passes):
            body()
        best = min(best, (time.process_time() - start) / passes)
    return best


def measure(workload: Workload, strategies: list[str], timer_ms: int, sweep: int) -> list[tuple[str, float]]:
    lines = workload.lines
    segments = workload.segments
    passes = workload.passes
    rows = [
        ("json.loads", time_it(passes, lambda: [json.loads(text) for text in lines])),
        ("orjson.loads", time_it(passes, lambda: [orjson.loads(text) for text in lines])),
    ]
    decoded = decoded_lines(lines)
    rows.append(("orjson.loads, lines decoded", time_it(passes, lambda: [orjson.loads(text) for text in decoded])))

    def replay_only(make_market: Callable[[dict], MarketData]) -> None:
        for segment in segments:
            segment.start_cold()
            on_message = make_market(segment.instruments).on_message
            for recv_ns, text, symbol in segment.messages:
                on_message(recv_ns, text, symbol)

    rows.append(("pipeline, every stream", time_it(passes, lambda: replay_only(MarketData))))
    rows.append(("pipeline as backtests use it", time_it(passes, lambda: replay_only(backtest_market))))
    if Idle.name not in REGISTERED:
        register(Idle)
    for name in [Idle.name, *strategies]:
        config = BacktestConfig(strategy=name, seed=1, timer_ms=timer_ms)

        def backtest() -> None:
            for segment in segments:
                segment.start_cold()
                market = backtest_market(segment.instruments)
                run = Backtest(segment.instruments, config)
                drive(segment.messages, market, run)
                run.summary()

        rows.append((f"backtest {name}", time_it(passes, backtest)))
    if sweep > 1 and strategies:
        # what `backtest --sweep` does: one pass, `sweep` sets of sessions (seeds differ, so their
        # queue draws do); the row shows the time per combination
        configs = [BacktestConfig(strategy=strategies[0], seed=seed, timer_ms=timer_ms) for seed in range(1, sweep + 1)]

        def grouped() -> None:
            for segment in segments:
                segment.start_cold()
                group = BacktestGroup([Backtest(segment.instruments, config) for config in configs])
                drive(segment.messages, backtest_market(segment.instruments), group)
                for member in group.backtests:
                    member.summary()

        rows.append((f"{strategies[0]} sweep of {sweep}, each", time_it(passes, grouped) / sweep))
    return rows


def print_table(workload: Workload, rows: list[tuple[str, float]]) -> None:
    messages = len(workload.lines)
    baseline = rows[0][1]
    print(workload.describe())
    header = (f"{'run':<30}{'ms/pass':>9}{'msgs/s':>12}{'events/s':>12}{'levels/s':>12}"
              f"{'x json.loads':>14}{'x real time':>13}")
    print(header)
    print("-" * len(header))
    for label, seconds in rows:
        print(f"{label:<30}{seconds * 1e3:>9.1f}{messages / seconds:>12,.0f}{workload.events / seconds:>12,.0f}"
              f"{workload.levels / seconds:>12,.0f}{seconds / baseline:>14.2f}{workload.span_s / seconds:>13,.0f}")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=10, help="passes over the real recordings per timing block")
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--timer-ms", type=int, default=1000)
    parser.add_argument("--workloads", default="real,exchange", help="which of real,exchange to run")
    parser.add_argument("--symbols", default=EXCHANGE_SYMBOLS, help="exchange session: symbols")
    parser.add_argument("--minutes", type=float, default=5.0, help="exchange session: minutes of virtual time")
    parser.add_argument("--seed", type=int, default=7, help="exchange session: market seed")
    parser.add_argument("--sweep", type=int, default=4, help="combinations in the sweep row (1: no sweep row)")
    args = parser.parse_args()

    chosen = {w.strip() for w in args.workloads.split(",") if w.strip()}
    strategies = [s.strip() for s in args.strategies.split(",") if s.strip()]
    workloads = []
    if "real" in chosen:
        workloads.append(real_workload(args.data, args.passes))
    if "exchange" in chosen:
        symbols = [s.strip().upper() for s in args.symbols.split(",") if s.strip()]
        segment = exchange_session(symbols, args.minutes, args.seed)
        workloads.append(Workload(f"exchange session (seed {args.seed})", [segment], 1))
    # the recordings now live in memory for good: keep the collector from walking them on every pass
    gc.collect()
    gc.freeze()
    for workload in workloads:
        print_table(workload, measure(workload, strategies, args.timer_ms, args.sweep))
    print("events: book changes + trades the strategies see; levels: depth rows (diffs and snapshots) + trades.")
    print("x json.loads: time of the run divided by the time of json.loads over the same lines (lower is faster).")


if __name__ == "__main__":
    main()
