"""`python -m app record`: record raw frames and depth snapshots to gzip files.

One file per symbol per UTC day (``BTCUSDT_20240808.gz``), one line per received message:
``<recv_ns> <JSON exactly as received>`` (product.md, "Recordings"). The recorder runs the same
feed and book pipeline as the monitor, so it asks for a REST depth snapshot exactly when a book
needs one (at start, after a gap, after a reconnect) and the recording replays to exact books.

Sources: ``sim`` starts the embedded exchange in-process, on the feed's own asyncio loop;
``binance`` records from Binance (or any Binance-compatible server given by --api-url and
--stream-url); ``auto`` tries Binance and falls back to ``sim``.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from app.options import DEFAULT_SYMBOLS, market_rate, positive_float, symbol_list
from feeds.recording_instruments import EXCHANGE_INFO_NAME  # where replay looks for filters

BINANCE_API_URL = "https://api.binance.com/api"
BINANCE_STREAM_URL = "wss://stream.binance.com:9443/"
SOURCES = ("auto", "binance", "sim")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--symbols", type=symbol_list, default=symbol_list(DEFAULT_SYMBOLS),
                        help=f"comma-separated symbols (default: {DEFAULT_SYMBOLS})")
    parser.add_argument("--out", type=Path, default=Path("recordings"), metavar="DIR",
                        help="directory for the .gz files (default: ./recordings)")
    parser.add_argument("--source", choices=SOURCES, default="auto",
                        help="sim = the embedded exchange in-process; binance; auto tries Binance "
                             "then falls back to sim (default: auto)")
    parser.add_argument("--duration", type=positive_float, default=0.0, metavar="S",
                        help="stop after S seconds; 0 = until interrupted (default: 0)")
    parser.add_argument("--api-url", default=BINANCE_API_URL,
                        help=f"REST base of the binance source (default: {BINANCE_API_URL})")
    parser.add_argument("--stream-url", default=BINANCE_STREAM_URL,
                        help=f"stream base of the binance source (default: {BINANCE_STREAM_URL})")
    parser.add_argument("--seed", type=int, default=7, help="market seed of the sim source (default: 7)")
    parser.add_argument("--rate", type=market_rate, default=1.0,
                        help="order-flow activity of the sim source (default: 1)")
    parser.add_argument("--probe-timeout", type=positive_float, default=3.0, metavar="S",
                        help="how long to try Binance before giving up / falling back (default: 3)")


def run(args: argparse.Namespace) -> int:
    from app.cli import UserError
    from feeds.recording import RecordingError, RecordingWriter

    try:
        writer = RecordingWriter(args.out, symbols=args.symbols)
    except RecordingError as exc:
        raise UserError(str(exc)) from None
    recorder = Recorder(args, writer)
    try:
        recorder.start()
        recorder.record()
    finally:
        recorder.stop()
    return 0


class Recorder:
    """Feed -> (recording, book pipeline); the pipeline's snapshot requests go back to the feed."""

    def __init__(self, args: argparse.Namespace, writer) -> None:
        self.args = args
        self.writer = writer
        self.runner = None
        self.exchange = None
        self.feed = None
        self.market = None
        self.queue = None
        self.source = args.source
        self._stop = False

    def start(self) -> None:
        import queue
        import threading

        from feeds.aio_thread import AsyncioThread
        from feeds.binance_stream import BinanceFeed, BinanceFeedConfig
        from feeds.pipeline import MarketData

        args = self.args
        self.runner = AsyncioThread(threading.Thread, name="record-io").start()
        api_url, stream_url = self._pick_source()
        instruments = self._instruments(api_url)
        self.queue = queue.Queue()
        self.feed = BinanceFeed(args.symbols, api_url, stream_url, self.queue,
                                config=BinanceFeedConfig(seed=args.seed), runner=self.runner)
        self.market = MarketData(instruments, request_snapshot=self.feed.request_snapshot)
        self.feed.start()
        until = f" for {args.duration:g} s" if args.duration else " (Ctrl-C stops)"
        print(f"record: {','.join(args.symbols)} from {self.source} ({api_url}) to {args.out}{until}",
              flush=True)

    def _pick_source(self) -> tuple[str, str]:
        import sys

        from app.cli import UserError
        from feeds.source_probe import probe_binance

        args = self.args
        if args.source in ("auto", "binance"):
            probe = self.runner.run(probe_binance(args.symbols, args.api_url, args.stream_url,
                                                  args.probe_timeout), args.probe_timeout + 10)
            if probe.reachable:
                self.source = "binance"
                return args.api_url, args.stream_url
            if args.source == "binance":
                raise UserError(f"cannot record from {args.api_url}: {probe.detail}")
            print(f"record: {probe.detail}; recording the embedded exchange instead", file=sys.stderr)
        self.source = "sim"
        return self._start_exchange()

    def _start_exchange(self) -> tuple[str, str]:
        from app.cli import UserError
        from feeds.exchange.catalog import UnknownSymbolError
        from feeds.exchange.config import ExchangeConfig
        from feeds.exchange.server import ExchangeStartError, start_exchange

        config = ExchangeConfig(symbols=tuple(self.args.symbols), seed=self.args.seed,
                                rate=self.args.rate, port=0)
        try:
            self.exchange = self.runner.run(start_exchange(config), 60)
        except (UnknownSymbolError, ExchangeStartError, ValueError) as exc:
            raise UserError(str(exc)) from None
        return self.exchange.base_api_url, self.exchange.stream_url

    def _instruments(self, api_url: str) -> dict:
        """The symbols' filters, also saved as exchangeInfo.json beside the recordings (replay
        reads it from there, so a recording directory is self-contained)."""
        from app.cli import UserError
        from feeds.exchange_info import ExchangeInfoError, fetch_exchange_info, save_exchange_info

        try:
            body, instruments = self.runner.run(fetch_exchange_info(api_url, self.args.symbols), 60)
            save_exchange_info(self.args.out / EXCHANGE_INFO_NAME, body)
        except ExchangeInfoError as exc:
            raise UserError(str(exc)) from None
        return instruments

    def record(self) -> None:
        """Consume the feed until the duration is over or the user interrupts."""
        import queue
        import signal
        import time

        from feeds.messages import ConnectionEvent, FeedMessage

        def on_term(signum, frame):
            self._stop = True

        try:
            previous = signal.signal(signal.SIGTERM, on_term)
        except ValueError:  # not the main thread
            previous = None
        end = time.monotonic() + self.args.duration if self.args.duration else None
        write, on_message, on_connection = self.writer.write, self.market.on_message, self.market.on_connection
        try:
            while not self._stop and (end is None or time.monotonic() < end):
                try:
                    item = self.queue.get(timeout=0.2)
                except queue.Empty:
                    self.writer.poll()
                    continue
                if type(item) is FeedMessage:
                    write(item.recv_ns, item.text, item.symbol)
                    on_message(item.recv_ns, item.text, item.symbol)
                elif isinstance(item, ConnectionEvent) and item.kind != "reconnecting":
                    on_connection(item.kind, item.recv_ns, item.detail)
        except KeyboardInterrupt:
            pass  # the recording so far is good: stop cleanly
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)

    def stop(self) -> None:
        try:
            if self.feed is not None:
                self.feed.stop()
            if self.exchange is not None and self.runner is not None and self.runner.running:
                self.runner.run(self.exchange.stop(), 30)
        finally:
            if self.runner is not None:
                self.runner.stop()
            self.writer.close()
        if self.market is not None:
            self._summary()

    def _summary(self) -> None:
        writer = self.writer
        print(f"record: {writer.lines_written} messages in {len(set(writer.paths))} file(s) under "
              f"{self.args.out}", flush=True)
        for symbol in self.market.symbols:
            stats = self.market.stats(symbol)
            print(f"  {symbol}: {stats.messages} msgs, {stats.gaps} gaps, {stats.resyncs} resyncs, "
                  f"{stats.reconnects} reconnects, {stats.malformed} malformed", flush=True)
