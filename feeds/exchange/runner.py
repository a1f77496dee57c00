"""``ExchangeThread``: the exchange on its own asyncio loop in its own thread.

For tests, benchmarks and the command line. Inside the app (one asyncio loop per process under
eventlet) call ``server.start_exchange`` on the existing loop instead. Every method here is
thread-safe: it runs its work on the exchange's loop and waits for the answer.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from typing import Any, Callable, TypeVar

from feeds.exchange.config import ExchangeConfig
from feeds.exchange.market import BookSnapshot
from feeds.exchange.server import RunningExchange, start_exchange
from orderbook.instrument import Instrument

T = TypeVar("T")


class ExchangeThread:
    """Start with ``start()`` (or ``with ExchangeThread(config) as ex:``), stop with ``stop()``."""

    def __init__(self, config: ExchangeConfig, thread_factory: Callable[..., Any] = threading.Thread) -> None:
        self.config = config
        self._thread_factory = thread_factory
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: Any = None
        self._exchange: RunningExchange | None = None
        self._ready: concurrent.futures.Future[RunningExchange] = concurrent.futures.Future()
        self._stop_requested: asyncio.Event | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self, timeout: float = 60.0) -> "ExchangeThread":
        """Return once the exchange listens; re-raises its startup error (e.g. port in use)."""
        if self._thread is not None:
            raise RuntimeError("exchange thread already started")
        self._thread = self._thread_factory(target=self._run, name="embedded-exchange", daemon=True)
        self._thread.start()
        self._exchange = self._ready.result(timeout)
        return self

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._main())
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _main(self) -> None:
        self._stop_requested = asyncio.Event()
        try:
            exchange = await start_exchange(self.config)
        except BaseException as exc:  # handed to start(), which re-raises it in the caller
            self._ready.set_exception(exc)
            return
        self._ready.set_result(exchange)
        try:
            await self._stop_requested.wait()
        finally:
            await exchange.stop()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop serving, release the port and join the thread. Idempotent."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None or self._stop_requested is None:
            return
        if not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self._stop_requested.set)
            except RuntimeError:  # the loop closed in between
                pass
        if thread is not threading.current_thread():
            thread.join(timeout)
        self._thread = None

    def __enter__(self) -> "ExchangeThread":
        return self.start() if self._thread is None else self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- access ----------------------------------------------------------------------------
    @property
    def exchange(self) -> RunningExchange:
        """The running exchange; touch it only through ``call`` from other threads."""
        if self._exchange is None:
            raise RuntimeError("exchange not started")
        return self._exchange

    def call(self, fn: Callable[..., T], *args: Any, timeout: float = 30.0) -> T:
        """Run ``fn(exchange, *args)`` on the exchange's loop and return its result."""
        exchange = self.exchange
        assert self._loop is not None

        async def run() -> T:
            return fn(exchange, *args)

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout)

    @property
    def port(self) -> int:
        return self.exchange.port

    @property
    def base_url(self) -> str:
        return self.exchange.base_url

    @property
    def base_api_url(self) -> str:
        return self.exchange.base_api_url

    @property
    def stream_url(self) -> str:
        return self.exchange.stream_url

    @property
    def instruments(self) -> dict[str, Instrument]:
        return self.exchange.instruments

    def fault(self, kind: str, **params: Any) -> dict:
        """Apply (or schedule, with at=/every=) one fault; see ``feeds.exchange.faults``."""
        return self.call(lambda ex: ex.faults.request({"kind": kind, **params}))

    def clear_faults(self) -> None:
        self.call(lambda ex: ex.faults.clear())

    def fault_status(self) -> dict:
        return self.call(lambda ex: ex.faults.status())

    def book_snapshot(self, symbol: str, depth: int | None = None) -> BookSnapshot:
        return self.call(lambda ex: ex.book_snapshot(symbol, depth))

    def book_at(self, symbol: str, update_id: int) -> BookSnapshot:
        return self.call(lambda ex: ex.book_at(symbol, update_id))

    def status(self) -> dict:
        return self.call(lambda ex: ex.status())
