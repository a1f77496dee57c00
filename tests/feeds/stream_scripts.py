"""Test support for the live-feed tests (not collected): a scripted Binance-like server and a
queue collector. The server is real — aiohttp REST and websocket on one loopback port — but each
websocket connection plays a script the test chooses, to produce exact edge cases (frames right
before a close, bursts, binary frames, refusal) that the market-model exchange does not script."""
from __future__ import annotations

import asyncio
import queue
import socket
import time
from typing import Awaitable, Callable

from aiohttp import web

from feeds.aio_thread import AsyncioThread
from feeds.messages import ConnectionEvent, FeedMessage

DEADLINE_S = 30.0
SNAPSHOT = '{"lastUpdateId":100,"bids":[["1.00000000","2.00000000"]],"asks":[["1.10000000","3.00000000"]]}'

Script = Callable[[web.WebSocketResponse, web.Request], Awaitable[None]]


def trade_frame(symbol: str, trade_id: int) -> str:
    return (f'{{"stream":"{symbol.lower()}@trade","data":{{"e":"trade","E":1,"s":"{symbol}",'
            f'"t":{trade_id},"p":"1.00000000","q":"1.00000000","T":1,"m":true,"M":true}}}}')


async def hold_open(ws: web.WebSocketResponse, request: web.Request) -> None:
    """Stay connected until the client goes away."""
    async for _ in ws:
        pass


def send_then_hold(frames: list[str]) -> Script:
    """A script that sends ``frames`` at once and then stays connected."""
    async def script(ws: web.WebSocketResponse, request: web.Request) -> None:
        for text in frames:
            await ws.send_str(text)
        await hold_open(ws, request)

    return script


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ScriptedExchange:
    """REST (/api/v3/ping, /time, /depth, /exchangeInfo) and websocket (/stream) on one port; each
    websocket connection runs the next script of ``scripts`` (then ``default``)."""

    def __init__(self, runner: AsyncioThread, port: int = 0) -> None:
        self.runner = runner
        self.port = port
        self.scripts: list[Script] = []
        self.default: Script = hold_open
        self.paths: list[str] = []
        self.depth_requests: list[str] = []
        self.depth_delay_s = 0.0
        self._runner: web.AppRunner | None = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    @property
    def stream_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    def start(self) -> "ScriptedExchange":
        self.runner.run(self._start(), DEADLINE_S)
        return self

    def stop(self) -> None:
        if self._runner is not None:
            self.runner.run(self._runner.cleanup(), DEADLINE_S)
            self._runner = None

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_get("/stream", self._stream)
        app.router.add_get("/api/v3/ping", lambda r: web.json_response({}))
        app.router.add_get("/api/v3/time", lambda r: web.json_response({"serverTime": int(time.time() * 1000)}))
        app.router.add_get("/api/v3/depth", self._depth)
        app.router.add_get("/api/v3/exchangeInfo", lambda r: web.json_response({"symbols": []}))
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]

    async def _stream(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.paths.append(request.path_qs)
        script = self.scripts.pop(0) if self.scripts else self.default
        try:
            await script(ws, request)
        finally:
            if not ws.closed and request.transport is not None and not request.transport.is_closing():
                await ws.close()
        return ws

    async def _depth(self, request: web.Request) -> web.Response:
        self.depth_requests.append(request.query["symbol"])
        if self.depth_delay_s:
            await asyncio.sleep(self.depth_delay_s)
        return web.Response(text=SNAPSHOT, content_type="application/json")


class Collector:
    """Drains the feed's queue; ``until(predicate)`` waits (deadline poll) for a matching item."""

    def __init__(self, out: "queue.Queue") -> None:
        self.queue = out
        self.items: list = []

    def until(self, predicate: Callable[[object], bool], deadline_s: float = DEADLINE_S):
        for item in self.items:
            if predicate(item):
                return item
        end = time.monotonic() + deadline_s
        while True:
            remaining = end - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no matching item within {deadline_s} s; last items: {self.items[-5:]}")
            try:
                item = self.queue.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                continue
            self.items.append(item)
            if predicate(item):
                return item

    def events(self, kind: str | None = None) -> list[ConnectionEvent]:
        return [i for i in self.items if isinstance(i, ConnectionEvent) and (kind is None or i.kind == kind)]

    def frames(self) -> list[FeedMessage]:
        return [i for i in self.items if isinstance(i, FeedMessage) and i.symbol is None]

    def drain(self) -> None:
        while True:
            try:
                self.items.append(self.queue.get_nowait())
            except queue.Empty:
                return


def is_event(kind: str, after: int = 0) -> Callable[[object], bool]:
    """Matches the (after+1)-th ConnectionEvent of ``kind`` in the collector's whole history."""
    seen = [0]

    def match(item: object) -> bool:
        if isinstance(item, ConnectionEvent) and item.kind == kind:
            seen[0] += 1
            return seen[0] > after
        return False

    return match


def message_is(text: str) -> Callable[[object], bool]:
    return lambda item: isinstance(item, FeedMessage) and item.text == text

