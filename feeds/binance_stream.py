"""BinanceFeed: python-binance combined streams + REST snapshots in one asyncio loop, one OS thread.

    feed = BinanceFeed(["BTCUSDT"], api_url, stream_url, out_queue, thread_factory)
    feed.start()                          # returns at once; connecting is the supervisor's job
    item = out_queue.get()                # FeedMessage(recv_ns, text, symbol) | ConnectionEvent
    feed.request_snapshot("BTCUSDT")      # from the engine thread
    feed.stop()

Per symbol it subscribes ``<sym>@depth@100ms``, ``@trade``, ``@bookTicker`` and ``@ticker``; a
connection carries up to 1024 streams (Binance's limit) and whole symbols only, so a connection
event names exactly the books that must resync. Everything the engine needs arrives on one
thread-safe queue in receive order. The engine, not the feed, parses frames.
Under eventlet the app injects the *original* ``threading.Thread`` and ``queue.Queue`` and may
share one ``AsyncioThread`` (``runner=``) with the embedded exchange: one asyncio loop per process.
"""
from __future__ import annotations

import asyncio
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Protocol

from feeds.aio_thread import AsyncioThread
from feeds.backoff import Backoff
from feeds.binance_raw import RawSocketManager, depth_url, pointed_client_class
from feeds.snapshots import SnapshotConfig, SnapshotFetcher
from feeds.stream_connection import ConnectionPolicy, StreamConnection

BINANCE_API_URL = "https://api.binance.com/api"
BINANCE_STREAM_URL = "wss://stream.binance.com:9443/"
MAX_STREAMS_PER_CONNECTION = 1024  # Binance's limit per combined-stream connection


class ThreadSafeQueue(Protocol):
    def put_nowait(self, item: Any) -> None: ...


@dataclass(frozen=True)
class BinanceFeedConfig:
    """stream_kinds: stream suffixes per symbol; streams_per_connection: at most 1024;
    max_pending_frames: python-binance's internal queue bound (it kills the socket when full, and
    the supervisor reconnects and resyncs); the feed drains it as frames come, so it fills only
    when the feed's loop stalls: 20,000 is 10 s of the busiest combined stream (2,000 frames/s);
    seed: jitter seed (None: from the OS)."""

    stream_kinds: tuple[str, ...] = ("depth@100ms", "trade", "bookTicker", "ticker")
    streams_per_connection: int = MAX_STREAMS_PER_CONNECTION
    connection: ConnectionPolicy = field(default_factory=ConnectionPolicy)
    snapshots: SnapshotConfig = field(default_factory=SnapshotConfig)
    max_pending_frames: int = 20_000
    seed: int | None = None

    def __post_init__(self) -> None:
        if not self.stream_kinds:
            raise ValueError("at least one stream kind is needed")
        if not len(self.stream_kinds) <= self.streams_per_connection <= MAX_STREAMS_PER_CONNECTION:
            raise ValueError(f"streams_per_connection must be within "
                             f"{len(self.stream_kinds)}..{MAX_STREAMS_PER_CONNECTION}")


@dataclass(frozen=True)
class FeedCounters:
    """Totals over all connections since start."""

    connections: int
    connected: int
    connects: int
    reconnects: int
    failed_connects: int
    disconnects: int
    silences: int
    server_shutdowns: int
    frames: int
    snapshots_requested: int
    snapshots_coalesced: int
    snapshots_fetched: int
    snapshot_retries: int
    snapshot_rate_limited: int
    snapshot_server_errors: int
    snapshot_rejected: int


def plan_connections(symbols: Iterable[str], stream_kinds: tuple[str, ...],
                     streams_per_connection: int) -> list[tuple[tuple[str, ...], list[str]]]:
    """Split symbols over connections, whole symbols per connection: [(symbols, stream names)]."""
    per_connection = streams_per_connection // len(stream_kinds)
    ordered = list(symbols)
    plan = []
    for start in range(0, len(ordered), per_connection):
        chunk = tuple(ordered[start:start + per_connection])
        streams = [f"{s.lower()}@{kind}" for s in chunk for kind in stream_kinds]
        plan.append((chunk, streams))
    return plan


class BinanceFeed:
    """Live market data for ``symbols`` from ``api_url`` (REST, e.g. "http://127.0.0.1:P/api") and
    ``stream_url`` (websocket base, e.g. "ws://127.0.0.1:P/"), onto ``out_queue``.

    out_queue: a thread-safe queue (``put_nowait`` from the loop thread; the engine
    drains it — the feed never blocks its loop on a slow consumer);
    thread_factory, event_factory: the OS thread and cross-thread Event classes for the asyncio
    loop's thread (under eventlet: the originals; ignored when ``runner`` is given);
    runner: a running ``AsyncioThread`` to share (then ``stop()`` leaves its loop running);
    clock_ns: wall clock for receive stamps, ns since epoch.
    """

    def __init__(self, symbols: Iterable[str], api_url: str, stream_url: str,
                 out_queue: ThreadSafeQueue, thread_factory: Callable[..., Any] = threading.Thread,
                 config: BinanceFeedConfig | None = None,
                 clock_ns: Callable[[], int] = time.time_ns,
                 runner: AsyncioThread | None = None,
                 event_factory: Callable[[], Any] = threading.Event) -> None:
        self.symbols = tuple(dict.fromkeys(s.upper() for s in symbols))
        if not self.symbols:
            raise ValueError("BinanceFeed needs at least one symbol")
        self.api_url = api_url
        self.stream_url = stream_url
        self.config = config or BinanceFeedConfig()
        self._out = out_queue
        self._clock_ns = clock_ns
        self._own_runner = runner is None
        self._runner = runner or AsyncioThread(thread_factory, name="binance-feed",
                                               event_factory=event_factory)
        self._plan = plan_connections(self.symbols, self.config.stream_kinds,
                                      self.config.streams_per_connection)
        self._connections: list[StreamConnection] = []
        self._tasks: list[asyncio.Task] = []
        self._fetcher: SnapshotFetcher | None = None
        self._client: Any = None
        self._state = "new"  # new -> running -> stopped

    # -- lifecycle (any thread but the loop's) ---------------------------------------------------------
    def start(self, timeout: float = 10.0) -> "BinanceFeed":
        """Start streaming; returns once the supervisors run (not once connected)."""
        if self._state != "new":
            raise RuntimeError(f"BinanceFeed cannot start when {self._state}")
        if self._own_runner:
            self._runner.start(timeout)
        try:
            self._runner.run(self._open(), timeout)
        except BaseException:
            self._state = "stopped"
            if self._own_runner:
                self._runner.stop(timeout)
            raise
        self._state = "running"
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Close the sockets and the REST session, then stop the loop if this feed owns it.
        Emits ``disconnected: stopped`` for each connection that was up. Idempotent."""
        if self._state != "running":
            self._state = "stopped"
            return
        self._state = "stopped"
        try:
            if self._runner.running:
                self._runner.run(self._close(), timeout)
        finally:
            if self._own_runner:
                self._runner.stop(timeout)

    def request_snapshot(self, symbol: str) -> None:
        """Ask for ``symbol``'s REST depth snapshot (thread-safe; coalesced while one is under way).
        It arrives on the queue as ``FeedMessage(recv_ns, raw body, symbol)``."""
        if self._state != "running":
            return
        try:
            self._runner.call_soon(self._request_in_loop, symbol.upper())
        except RuntimeError:  # the loop closed meanwhile: the feed is stopping
            pass

    # -- views (any thread) -----------------------------------------------------------------------------
    @property
    def runner(self) -> AsyncioThread:
        """The asyncio thread this feed runs on (to run other coroutines, e.g. an exchange, on it)."""
        return self._runner

    @property
    def running(self) -> bool:
        return self._state == "running"

    @property
    def connected(self) -> bool:
        """True when every connection is up."""
        return bool(self._connections) and all(c.connected for c in self._connections)

    @property
    def streams(self) -> list[str]:
        return [s for _, streams in self._plan for s in streams]

    def stats(self) -> FeedCounters:
        conns = [c.counters for c in self._connections]
        snap = self._fetcher.counters if self._fetcher else None
        return FeedCounters(
            connections=len(self._plan),
            connected=sum(1 for c in self._connections if c.connected),
            connects=sum(c.connects for c in conns),
            reconnects=sum(c.reconnects for c in conns),
            failed_connects=sum(c.failed_connects for c in conns),
            disconnects=sum(c.disconnects for c in conns),
            silences=sum(c.silences for c in conns),
            server_shutdowns=sum(c.server_shutdowns for c in conns),
            frames=sum(c.frames for c in conns),
            snapshots_requested=snap.requested if snap else 0,
            snapshots_coalesced=snap.coalesced if snap else 0,
            snapshots_fetched=snap.fetched if snap else 0,
            snapshot_retries=snap.retries if snap else 0,
            snapshot_rate_limited=snap.rate_limited if snap else 0,
            snapshot_server_errors=snap.server_errors if snap else 0,
            snapshot_rejected=snap.rejected if snap else 0,
        )

    # -- in the loop ------------------------------------------------------------------------------------------
    async def _open(self) -> None:
        loop = asyncio.get_running_loop()
        rng = random.Random(self.config.seed)
        # The constructor does no I/O (create() would ping): a down REST endpoint must not stop
        # the streams, and the first websocket connect is retried by the supervisor like any other.
        self._client = pointed_client_class(self.api_url)(testnet=False)
        manager = RawSocketManager(self._client, self.stream_url, self._clock_ns,
                                   self.config.max_pending_frames)
        emit = self._out.put_nowait
        self._fetcher = SnapshotFetcher(self._client.session, depth_url(self._client), emit,
                                        self.config.snapshots, self._clock_ns, rng)
        for index, (symbols, streams) in enumerate(self._plan):
            connection = StreamConnection(streams, symbols, manager, emit, self.config.connection,
                                          Backoff(self.config.connection.reconnect, rng),
                                          self._clock_ns)
            self._connections.append(connection)
            self._tasks.append(loop.create_task(connection.run(), name=f"binance-connection-{index}"))

    async def _close(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._fetcher is not None:
            await self._fetcher.close()
        if self._client is not None:
            await self._client.close_connection()

    def _request_in_loop(self, symbol: str) -> None:
        if self._fetcher is not None and self._state == "running":
            self._fetcher.request(symbol)
