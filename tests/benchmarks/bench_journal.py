"""What the account journal costs the engine: the same dense session, batch by batch, without a
journal, with one in memory (--memory-only) and with one in a SQLite file (the default).

    .venv/bin/python -m tests.benchmarks.bench_journal [--minutes M] [--symbols A,B] [--seed S] [--batch-ms MS]

The session is bench_backtest's embedded-exchange market (its model driven in virtual time, so it
is the same for a seed), cut into batches of ``--batch-ms`` of receive time, which is what the
monitor's pump hands the engine when the feed queue is drained every 50 ms. The engine is the
live one (app.engine.Engine.handle_batch: its clock at each batch's last frame, timers, the commit
at the end of every batch), every strategy quoting at the touch so that orders, cancels and fills
are as dense as they get. Per run (best of ``--repeat`` passes, interleaved): CPU seconds of this
process, batches/s and messages/s; with a journal, the time spent inside it (record, on_sample,
commit: wall time, as the engine's thread waits for it) per batch and per row written (activity entries, orders, fills, equity samples), and
the file's size at the end.
"""
from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from pathlib import Path

from app.config import MonitorConfig
from app.engine import Engine
from app.journal import Journal
from feeds.messages import FeedMessage
from tests.benchmarks.bench_backtest import EXCHANGE_SYMBOLS, exchange_session

BUSY_PARAMS = {"market_maker": {"spread_ticks": 1, "levels": 2, "refresh_tolerance_bps": 0.5}}


class BatchClock:
    """The engine's clock: the receive time of the batch being handled (as live, without the wall)."""

    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now


def batches(messages, batch_ms: float) -> list[tuple[int, list[FeedMessage]]]:
    out, current, end = [], [], None
    width = int(batch_ms * 1e6)
    for recv_ns, text, symbol in messages:
        if end is not None and recv_ns >= end and current:
            out.append((current[-1].recv_ns, current))
            current = []
        if not current:
            end = recv_ns + width
        current.append(FeedMessage(recv_ns, text, symbol))
    if current:
        out.append((current[-1].recv_ns, current))
    return out


class TimedJournal(Journal):
    """The journal, timing its own work (record, on_sample, commit): wall time inside its calls,
    which is what it blocks the engine's thread (and, under eventlet, every green thread) for."""

    spent = 0.0

    def record(self, entry) -> None:
        start = time.perf_counter()
        super().record(entry)
        self.spent += time.perf_counter() - start

    def on_sample(self, last_second: int, seconds: int) -> None:
        start = time.perf_counter()
        super().on_sample(last_second, seconds)
        self.spent += time.perf_counter() - start

    def commit(self) -> None:
        start = time.perf_counter()
        super().commit()
        self.spent += time.perf_counter() - start


def run(segment, cut, journal_path: Path | None | str) -> tuple[float, dict]:
    """One pass; journal_path "" = no journal, None = in memory, else that file. Returns the
    engine's CPU seconds and counts (with a journal: its own share, rows written, file size)."""
    segment.start_cold()
    clock = BatchClock()
    clock.now = cut[0][0]
    config = MonitorConfig(symbols=tuple(segment.instruments), source="sim", strategy_params=BUSY_PARAMS,
                           strategies_enabled=("market_maker", "liquidity_taker"))
    journal = None if journal_path == "" else TimedJournal.open(journal_path)
    engine = Engine(config, segment.instruments, clock_ns=clock, source="sim", journal=journal)
    engine.streaming = True
    if journal is not None:
        journal.spent = 0.0
    start = time.process_time()
    for last_ns, items in cut:
        clock.now = last_ns
        engine.handle_batch(items)
    seconds = time.process_time() - start
    counts = {"fills": sum(a.fills for a in engine.portfolio.accounts.values())}
    if journal is not None:
        counts["journal s"] = journal.spent
        counts["rows"] = sum(journal.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
                             for table in ("activity", "orders", "fills", "equity"))
        journal.close()
        if journal_path is not None:
            counts["file MB"] = sum(p.stat().st_size for p in journal_path.parent.glob(journal_path.name + "*")) / 1e6
    return seconds, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", default=EXCHANGE_SYMBOLS)
    parser.add_argument("--minutes", type=float, default=5.0, help="minutes of virtual time")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--batch-ms", type=float, default=50.0, help="receive time per batch")
    parser.add_argument("--repeat", type=int, default=5, help="passes of each run, interleaved; the best counts")
    args = parser.parse_args()
    segment = exchange_session([s.strip().upper() for s in args.symbols.split(",")], args.minutes, args.seed)
    cut = batches(segment.messages, args.batch_ms)
    print(f"{len(segment.messages):,} messages, {len(cut):,} batches of {args.batch_ms:g} ms, "
          f"{segment.span_s:.0f} s of market, symbols {args.symbols}")
    runs = {"no journal": "", "journal in memory": None, "journal file (WAL)": "file"}
    best: dict[str, tuple[float, dict]] = {}
    with tempfile.TemporaryDirectory() as folder:
        for attempt in range(args.repeat):  # interleaved, so a busy neighbour slows every run alike
            for label, where in runs.items():
                path = Path(folder) / f"account-{attempt}.sqlite3" if where == "file" else where
                seconds, counts = run(segment, cut, path)
                if label not in best or seconds < best[label][0]:
                    best[label] = (seconds, counts)
    print(f"{'run':<20}{'CPU s':>7}{'batches/s':>11}{'msgs/s':>9}{'journal s':>11}{'us/batch':>10}{'us/row':>8}"
          f"{'rows':>8}{'fills':>7}{'file MB':>9}")
    for label, (seconds, counts) in best.items():
        spent = counts.get("journal s")
        rows = counts.get("rows")
        cells = ("", "", "", "") if spent is None else (
            f"{spent:.3f}", f"{spent / len(cut) * 1e6:.0f}", f"{spent / rows * 1e6:.1f}", f"{rows:,}")
        print(f"{label:<20}{seconds:>7.2f}{len(cut) / seconds:>11,.0f}{len(segment.messages) / seconds:>9,.0f}"
              f"{cells[0]:>11}{cells[1]:>10}{cells[2]:>8}{cells[3]:>8}{counts['fills']:>7,}"
              f"{format(counts['file MB'], '.1f') if 'file MB' in counts else '':>9}")
    print(f"sqlite {sqlite3.sqlite_version}")


if __name__ == "__main__":
    main()
