"""The embedded exchange as a server: REST and WebSocket on one port, run as coroutines.

``start_exchange(config)`` starts it on the running asyncio loop (the app's single loop, or the
loop of an ``ExchangeThread``) and returns a ``RunningExchange``. One task, the pump, advances
the market model to the virtual time the paced clock allows every ``pump_interval_ms`` and
publishes what happened; REST reads the book after advancing it the same way.

    GET /api/v3/...              REST (rest.py)
    GET /stream?streams=a/b/c    combined streams, frames {"stream": name, "data": payload}
    GET /stream                  combined, nothing subscribed yet (SUBSCRIBE later)
    GET /ws/<a>[/<b>...]         raw streams: payloads only
    GET /ws                      raw, nothing subscribed yet
    /admin/...                   faults and inspection (admin.py)

A stream list that names an unknown symbol is refused at the handshake with HTTP 400 and
``{"code": -1121, "msg": "Invalid symbol."}``; a malformed name with -1100; more than
``max_streams`` with -1101; a handshake while ``max_connections`` are open with HTTP 429 and -1003.
"""
from __future__ import annotations

import asyncio
import errno
import logging
import socket
import time
from typing import Callable

from aiohttp import web

from feeds.exchange.admin import AdminApi
from feeds.exchange.catalog import Catalog
from feeds.exchange.clock import PacedClock
from feeds.exchange.config import ExchangeConfig
from feeds.exchange.connection import StreamConnection
from feeds.exchange.faults import FaultController, malformed_frame
from feeds.exchange.hub import StreamHub
from feeds.exchange.market import BookSnapshot, MarketModel
from feeds.exchange.rest import RestApi, WeightMeter, error_response
from feeds.exchange.streams import StreamName, StreamNameError, UnknownStreamSymbolError, parse_stream
from orderbook.instrument import Instrument

log = logging.getLogger(__name__)

_MAX_CATCH_UP_NS = 1_000_000_000  # virtual time one pump may cover; the loop stays responsive


class ExchangeStartError(OSError):
    """The exchange could not listen (port in use, no permission, bad address)."""


def _listen(host: str, port: int) -> socket.socket:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ExchangeStartError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except PermissionError:
        sock.close()
        raise ExchangeStartError(f"cannot listen on {host}:{port}: permission denied") from None
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ExchangeStartError(f"cannot listen on {host}:{port}: the port is already in use") from None
        raise ExchangeStartError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.setblocking(False)
    return sock


class RunningExchange:
    """A started exchange. Everything here runs on the exchange's loop (not thread-safe)."""

    def __init__(self, config: ExchangeConfig, catalog: Catalog, model: MarketModel, clock: PacedClock) -> None:
        self.config = config
        self.catalog = catalog
        self.model = model
        self.clock = clock
        self.faults = FaultController(list(config.symbols), time.monotonic, self._schedule)
        self.faults.bind(self)
        self.hub = StreamHub(catalog.instruments(), self.faults)
        self.host = config.host
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._pump_task: asyncio.Task | None = None
        self._timers: set[asyncio.TimerHandle] = set()
        self._started = time.monotonic()
        self._stopped = False

    # -- addresses -------------------------------------------------------------------------
    @property
    def url_host(self) -> str:
        return "127.0.0.1" if self.host in ("0.0.0.0", "", "::") else self.host

    @property
    def base_url(self) -> str:
        return f"http://{self.url_host}:{self.port}"

    @property
    def base_api_url(self) -> str:
        """What python-binance's ``AsyncClient.API_URL`` should be set to."""
        return f"{self.base_url}/api"

    @property
    def stream_url(self) -> str:
        """What python-binance's ``BinanceSocketManager.STREAM_URL`` should be set to (trailing /)."""
        return f"ws://{self.url_host}:{self.port}/"

    @property
    def instruments(self) -> dict[str, Instrument]:
        return self.catalog.instruments()

    # -- the market ------------------------------------------------------------------------
    def pump(self) -> None:
        """Advance the market to the virtual now (at most one virtual second) and publish."""
        target = min(self.clock.now_ns(), self.model.now_ns + _MAX_CATCH_UP_NS)
        if target > self.model.now_ns:
            self.hub.publish(self.model.advance_to(target))

    async def _pump_loop(self) -> None:
        interval = self.config.pump_interval_ms / 1000.0
        step_ns = self.config.flow.step_ms * 1_000_000
        while True:
            try:
                self.pump()
            except Exception:  # logged and retried: a frozen market would fail silently
                log.exception("exchange pump failed")
                await asyncio.sleep(interval)
                continue
            behind = self.clock.now_ns() - self.model.now_ns > step_ns
            await asyncio.sleep(0 if behind else interval)

    def book_snapshot(self, symbol: str, depth: int | None = None) -> BookSnapshot:
        """The exchange's own book now (ticks, lots), after advancing the market to now."""
        self.pump()
        return self.model.book_snapshot(symbol, depth)

    def book_at(self, symbol: str, update_id: int) -> BookSnapshot:
        """The exchange's own book exactly after update ``update_id`` (LookupError if out of reach)."""
        self.pump()
        return self.model.book_at(symbol, update_id)

    def status(self) -> dict:
        return {
            "symbols": self.model.symbols,
            "seed": self.config.seed,
            "rate": self.config.rate,
            "virtual_time_ms": self.model.now_ns // 1_000_000,
            "uptime_s": round(time.monotonic() - self._started, 3),
            "update_ids": {s: self.model.market(s).update_id for s in self.model.symbols},
            "connections": len(self.hub.connections),
            "frames_out": self.hub.frames_out,
            "faults": self.faults.counters,
        }

    # -- fault actions on connections ----------------------------------------------------
    def close_connections(self, mode: str) -> int:
        conns = list(self.hub.connections)
        for conn in conns:
            if mode == "abrupt":
                conn.abort("fault: abrupt disconnect")
            elif mode == "shutdown":
                conn.shutdown(self.config.rules.shutdown_grace_s)
            else:
                conn.close(1000, "fault: disconnect")
        return len(conns)

    def send_malformed(self, form: str, count: int) -> int:
        conns = list(self.hub.connections)
        default = f"{self.model.symbols[0].lower()}@depth@100ms"
        for conn in conns:
            frame = malformed_frame(form, next(iter(conn.subscriptions), default), conn.combined)
            for _ in range(count):
                if isinstance(frame, bytes):
                    conn.send_binary(frame)
                else:
                    conn.send_text(frame)
        return len(conns)

    # -- WebSocket handshake ---------------------------------------------------------------
    def _parse_streams(self, names: list[str]) -> list[StreamName] | web.Response:
        symbols = set(self.model.symbols)
        streams = []
        for name in names:
            try:
                streams.append(parse_stream(name, symbols))
            except UnknownStreamSymbolError:
                return error_response(-1121, "Invalid symbol.", 400)
            except StreamNameError as exc:
                return error_response(-1100, f"Illegal characters found in parameter 'streams'; {exc}.", 400)
        if len({s.name for s in streams}) > self.config.rules.max_streams:
            return error_response(-1101, f"Too many streams; at most {self.config.rules.max_streams} "
                                         "per connection.", 400)
        return streams

    async def _serve_ws(self, request: web.Request, names: list[str], combined: bool) -> web.StreamResponse:
        streams = self._parse_streams([n for n in names if n])
        if isinstance(streams, web.Response):
            return streams
        limit = self.config.rules.max_connections
        if len(self.hub.connections) >= limit:
            return error_response(-1003, f"Too many connections; at most {limit} open at once.", 429)
        ws = web.WebSocketResponse(autoping=False, compress=False, max_msg_size=64 * 1024)
        if not ws.can_prepare(request).ok:
            return error_response(-1000, "A WebSocket upgrade is expected here.", 400)
        await ws.prepare(request)
        conn = StreamConnection(ws, request, self.hub, self.config.rules, self.faults, set(self.model.symbols),
                                self.clock.now_ms, combined, streams)
        await conn.serve()
        return ws

    async def handle_combined(self, request: web.Request) -> web.StreamResponse:
        text = request.query.get("streams", "")
        return await self._serve_ws(request, text.split("/") if text else [], combined=True)

    async def handle_raw(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info.get("streams", "")
        return await self._serve_ws(request, path.split("/") if path else [], combined=False)

    # -- lifecycle -------------------------------------------------------------------------
    async def _start(self) -> None:
        sock = _listen(self.config.host, self.config.port)
        self.port = sock.getsockname()[1]
        rest = RestApi(self.catalog, self.model, self.faults, WeightMeter(self.config.weight_limit_1m),
                       self.clock.now_ms, self.pump)
        app = web.Application(middlewares=[rest.middleware])
        app.add_routes(rest.routes())
        app.add_routes([
            web.get("/stream", self.handle_combined),
            web.get("/ws", self.handle_raw),
            web.get("/ws/{streams:.+}", self.handle_raw),
        ])
        if self.config.admin:
            app.add_routes(AdminApi(self.model, self.faults, self.status, self.pump).routes())
        app.on_shutdown.append(self._close_all)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.SockSite(self._runner, sock, shutdown_timeout=2.0)
        try:
            await site.start()
        except OSError as exc:
            await self._runner.cleanup()
            raise ExchangeStartError(f"cannot listen on {self.config.host}:{self.config.port}: {exc}") from None
        self._pump_task = asyncio.ensure_future(self._pump_loop())
        for spec in self.config.faults:
            self.faults.request(spec)

    async def _close_all(self, app: web.Application) -> None:
        for conn in list(self.hub.connections):
            conn.close(1001, "Server stopping")

    async def stop(self) -> None:
        """Close every connection, stop the market and release the port. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        for timer in self._timers:
            timer.cancel()
        if self._pump_task is not None:
            self._pump_task.cancel()
            await asyncio.gather(self._pump_task, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()

    def _schedule(self, delay_s: float, fn: Callable[[], None]) -> None:
        """Run ``fn`` on this loop after ``delay_s`` (scheduled faults); cancelled by stop()."""
        if self._stopped:
            return
        handle: asyncio.TimerHandle | None = None

        def fire() -> None:
            self._timers.discard(handle)
            fn()

        handle = asyncio.get_running_loop().call_later(delay_s, fire)
        self._timers.add(handle)


async def start_exchange(config: ExchangeConfig) -> RunningExchange:
    """Build the market and start serving on the running loop.

    Raises ``catalog.UnknownSymbolError`` for a symbol that cannot be listed, ``ValueError`` for a
    bad configuration and ``ExchangeStartError`` when the port cannot be used.
    """
    config.validate()
    catalog = Catalog(list(config.symbols))
    started = time.monotonic_ns()
    if config.epoch_ms is not None:
        epoch_ns = config.epoch_ms * 1_000_000
    else:
        epoch_ns = time.time_ns() // 1_000_000 * 1_000_000
    model = MarketModel(catalog, config.seed, config.rate, epoch_ns, config.flow)
    # Paced from before the model was built, so virtual time keeps step with the wall clock.
    clock = PacedClock(epoch_ns, config.speed, started_ns=started)
    exchange = RunningExchange(config, catalog, model, clock)
    await exchange._start()
    log.info("exchange listening on %s (symbols %s, seed %s)", exchange.base_url, ",".join(config.symbols),
             config.seed)
    return exchange


def describe(exchange: RunningExchange) -> str:
    """One line for humans: where it listens and what it serves."""
    return (f"exchange listening on {exchange.base_url} (REST {exchange.base_api_url}/v3/..., "
            f"streams {exchange.stream_url}stream?streams=... and {exchange.stream_url}ws/...) "
            f"symbols={','.join(exchange.model.symbols)} seed={exchange.config.seed} rate={exchange.config.rate}")

