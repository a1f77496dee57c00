"""The running monitor: picks the source, starts feed and exchange, pumps frames into the engine,
serves the page. ``serve`` builds one ``Monitor`` and calls ``run_forever``.

Threads: one real OS thread runs the asyncio loop shared by python-binance and (source sim) the
embedded exchange; everything else is green threads on eventlet's hub: the pump (queue -> engine),
the broadcaster and the web handlers.

The pump is supervised: the engine already survives any error inside one item (``app.faults``),
so the loop itself ending means something outside it broke (the recorder, the queue). Then the
supervisor counts it, logs it, resyncs every book (frames of the failed batch are lost) and
starts the loop again after LOOP_RESTART_DELAY_S.
"""
from __future__ import annotations

import logging
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from app import green
from app.cli import UserError
from app.config import BINANCE_API_URL, BINANCE_STREAM_URL, MonitorConfig
from app.engine import Engine, StreamControl
from app.feed_queue import FeedQueue
from app.journal import Journal, JournalError
from app.replay_source import ReplaySource
from app.settings_store import SettingsStore
from app.state_dir import StateDir, StateDirError
from feeds.aio_thread import AsyncioThread
from feeds.binance_stream import BinanceFeed, BinanceFeedConfig
from feeds.exchange_info import ExchangeInfoError, fetch_exchange_info, instruments_from_body, save_exchange_info
from feeds.messages import FeedMessage
from feeds.recording import RecordingError, RecordingWriter
from feeds.recording_instruments import EXCHANGE_INFO_NAME, RecordingInputError, instruments_for_recordings
from feeds.source_probe import probe_binance

log = logging.getLogger(__name__)

LOOP_RESTART_DELAY_S = 0.2  # a loop that dies at once again must not spin the CPU
PUMP_STOP_TIMEOUT_S = 5.0  # how long stop() waits for the pump's last batch before closing the journal


class Monitor:
    """One monitor process: source, feed, engine, web app."""

    def __init__(self, config: MonitorConfig) -> None:
        self.config = config
        self.runner: AsyncioThread | None = None
        self.exchange: Any = None
        self.feed: BinanceFeed | None = None
        self.queue = FeedQueue()
        self.engine: Engine | None = None
        self.replay: ReplaySource | None = None
        self.recorder: RecordingWriter | None = None
        self.state: StateDir | None = None
        self.journal: Journal | None = None
        self.source = config.source
        self.api_url = ""
        self.stream_url = ""
        self._stopping = False
        self._worker: Any = None  # the green thread that feeds the engine (pump or replay)

    # -- start-up -------------------------------------------------------------------------------------
    def run_forever(self) -> int:
        config = self.config
        try:
            listener = green.listen(config.host, config.port)
        except OSError as exc:
            raise UserError(f"cannot listen on {config.host}:{config.port}: {exc.strerror or exc}") from None
        port = listener.getsockname()[1]
        try:
            engine = self.start()
            from app.web import create_app

            app = create_app(config, engine)
            print(f"monitor: http://{config.host}:{port}/ source={self.source} symbols={','.join(config.symbols)}",
                  flush=True)
            green.serve_wsgi(listener, app, config.max_clients)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()
        return 0

    def start(self) -> Engine:
        """Everything but the web server: source, instruments, engine, streaming."""
        config = self.config
        try:  # before anything starts: a state directory in use or an unreadable account stops here
            self.state = StateDir(config.state_dir).lock() if config.state_dir else None
            self.journal = Journal.open(self.state.journal_path if self.state else None)
        except (StateDirError, JournalError) as exc:
            raise UserError(str(exc)) from None
        settings_store = SettingsStore(self.state.path) if self.state else None
        settings = settings_store.load() if settings_store else {}
        try:
            return self._start_engine(config, settings, settings_store)
        except JournalError as exc:  # the journal's account cannot be booked into this run
            raise UserError(str(exc)) from None

    def _start_engine(self, config: MonitorConfig, settings: dict, settings_store: SettingsStore | None) -> Engine:
        journal = self.journal
        if config.source == "replay":
            self.replay = ReplaySource(config.replay_files, config.replay_speed)
            instruments = self._replay_instruments()
            config = self.config = replace(config, symbols=tuple(instruments))
            engine = Engine(config, instruments, source="replay", clock_ns=self.replay.clock_ns, journal=journal,
                            settings=settings, on_settings_changed=settings_store.save if settings_store else None)
            engine.stream_control = StreamControl(self.replay.resume, self.replay.pause, lossless=True)
            self.engine = engine
            self._worker = green.spawn(self.replay.pump, engine)
        else:
            self.runner = AsyncioThread(green.os_thread_class(), name="exchange-io",
                                        event_factory=green.os_event_class()).start()
            instruments = self._pick_source()
            engine = Engine(config, instruments, source=self.source, request_snapshot=self._request_snapshot,
                            journal=journal, settings=settings,
                            on_settings_changed=settings_store.save if settings_store else None)
            engine.stream_control = StreamControl(self._start_feed, self._stop_feed)
            engine.feed_queue = self.queue
            self.engine = engine
            if config.record_dir:
                self.recorder = RecordingWriter(Path(config.record_dir), symbols=config.symbols)
            self._worker = green.spawn(self._supervise_pump)
        if settings.get("streaming", True):
            engine.set_streaming(True)
        return engine

    def _replay_instruments(self) -> dict:
        """Symbols from the recordings; filters from the exchangeInfo.json beside them."""
        try:
            instruments, notes = instruments_for_recordings([Path(f) for f in self.config.replay_files])
        except (RecordingError, RecordingInputError) as exc:
            raise UserError(str(exc)) from None
        for note in notes:
            print(f"monitor: {note}", file=sys.stderr)
        return instruments

    def _pick_source(self) -> dict:
        config = self.config
        symbols = list(config.symbols)
        if config.source in ("auto", "binance"):
            probe = green.run_blocking(
                self.runner.run,
                probe_binance(symbols, BINANCE_API_URL, BINANCE_STREAM_URL, config.binance_probe_timeout_s),
                config.binance_probe_timeout_s + 5,
            )
            if probe.reachable and probe.exchange_info:
                self.source, self.api_url, self.stream_url = "binance", BINANCE_API_URL, BINANCE_STREAM_URL
                try:
                    instruments = instruments_from_body(probe.exchange_info, symbols, BINANCE_API_URL)
                    if config.record_dir:
                        Path(config.record_dir).mkdir(parents=True, exist_ok=True)
                        save_exchange_info(Path(config.record_dir) / EXCHANGE_INFO_NAME, probe.exchange_info)
                except (ExchangeInfoError, OSError) as exc:
                    raise UserError(str(exc)) from None
                return instruments
            if config.source == "binance":
                raise UserError(f"Binance is not reachable: {probe.detail}")
            print(f"monitor: Binance not reachable ({probe.detail}); using the embedded exchange", file=sys.stderr)
        self.source = "sim"
        self.exchange = self._start_exchange()
        self.api_url, self.stream_url = self.exchange.base_api_url, self.exchange.stream_url
        try:
            body, instruments = green.run_blocking(self.runner.run, fetch_exchange_info(self.api_url, symbols), 40)
            if config.record_dir:  # the recording directory stays usable by replay and backtest
                Path(config.record_dir).mkdir(parents=True, exist_ok=True)
                save_exchange_info(Path(config.record_dir) / EXCHANGE_INFO_NAME, body)
        except (ExchangeInfoError, OSError) as exc:
            raise UserError(str(exc)) from None
        return instruments

    def _start_exchange(self) -> Any:
        from feeds.exchange.config import ExchangeConfig
        from feeds.exchange.server import start_exchange
        from feeds.exchange.catalog import UnknownSymbolError

        config = ExchangeConfig(symbols=tuple(self.config.symbols), seed=self.config.seed,
                                rate=self.config.exchange_rate, port=0)
        try:
            return green.run_blocking(self.runner.run, start_exchange(config), 30)
        except UnknownSymbolError as exc:
            raise UserError(str(exc)) from None

    # -- streaming --------------------------------------------------------------------------------------------
    def _start_feed(self) -> None:
        if self.feed is not None and self.feed.running:
            return
        self.feed = BinanceFeed(
            self.config.symbols, self.api_url, self.stream_url, self.queue,
            config=BinanceFeedConfig(seed=self.config.seed), runner=self.runner,
        )
        green.run_blocking(self.feed.start)

    def _stop_feed(self) -> None:
        feed, self.feed = self.feed, None
        if feed is not None:
            green.run_blocking(feed.stop)
        # Frames already queued belong to the stopped stream: drop them so a restart resyncs cleanly.
        while green.get_batch(self.queue, 0, 100_000):
            pass

    def _request_snapshot(self, symbol: str) -> None:
        if self.feed is not None:
            self.feed.request_snapshot(symbol)

    def _supervise_pump(self) -> None:
        """Run the pump until the monitor stops; restart it, books resynced, whenever it dies."""
        while not self._stopping:
            try:
                self._pump()
            except Exception as exc:
                engine = self.engine
                engine.loop_restarts += 1
                engine.faults.record("loop", exc, ts_ns=engine.clock_ns())
                log.warning("engine loop restarted (%d so far); every book resyncs", engine.loop_restarts)
                engine.resync("engine loop restarted")
                green.sleep(LOOP_RESTART_DELAY_S)

    def _pump(self) -> None:
        """The engine's thread: frames from the feed queue, in batches, between control commands."""
        engine = self.engine
        recorder = self.recorder
        while not self._stopping:
            batch = green.get_batch(self.queue, 0.05)
            if recorder is not None:
                for item in batch:
                    if isinstance(item, FeedMessage):
                        recorder.write(item.recv_ns, item.text, item.symbol)
            engine.handle_batch(batch)

    # -- shut-down ------------------------------------------------------------------------------------------
    def stop(self) -> None:
        self._stopping = True
        try:
            if self.feed is not None:
                self.feed.stop()
            if self.exchange is not None and self.runner is not None and self.runner.running:
                self.runner.run(self.exchange.stop(), 10)
            if self._worker is not None and self.replay is None:
                # the pump ends within a batch of _stopping; its last fills are journaled before the close
                green.join(self._worker, PUMP_STOP_TIMEOUT_S)
            if self.recorder is not None:
                self.recorder.close()
            if self.journal is not None:
                self.journal.close()
        finally:
            if self.runner is not None:
                self.runner.stop()
            if self.state is not None:
                self.state.unlock()
