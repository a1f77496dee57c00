"""One stream connection and Binance's rules for it.

- The server pings every ``ping_interval_s``; no pong within ``pong_timeout_s`` of a ping closes
  the connection (1008 "Pong timeout"). Client pings are answered at once.
- More than ``max_incoming_per_s`` incoming messages (text, binary, ping, pong) within a second
  closes it (1008 "Too many requests"), as Binance does.
- At ``max_lifetime_s`` the server sends ``serverShutdown``, keeps streaming for
  ``shutdown_grace_s``, then closes (1001).
- At most ``max_streams`` subscriptions; live SUBSCRIBE/UNSUBSCRIBE/LIST_SUBSCRIPTIONS and the
  ``combined`` property (control.py).
- Frames go out through a queue drained by one writer task, so a slow client never stalls the
  market; a client more than ``max_queued_batches`` behind (market data or replies) is cut off.
"""
from __future__ import annotations

import asyncio
import itertools
import logging
from collections import deque
from typing import Callable

from aiohttp import WSMsgType, web

from feeds.exchange.config import ConnectionRules
from feeds.exchange.control import ControlError, ControlRequest, error_reply, parse_control, result_reply
from feeds.exchange.faults import FaultController
from feeds.exchange.hub import StreamHub
from feeds.exchange.streams import StreamName, StreamNameError, parse_stream
from feeds.exchange.wire import server_shutdown

log = logging.getLogger(__name__)

_FRAMES, _BINARY, _CLOSE = 0, 1, 2
_ids = itertools.count(1)


class StreamConnection:
    def __init__(self, ws: web.WebSocketResponse, request: web.Request, hub: StreamHub,
                 rules: ConnectionRules, faults: FaultController, symbols: set[str],
                 virtual_ms: Callable[[], int], combined: bool, streams: list[StreamName]) -> None:
        self.id = next(_ids)
        self.ws = ws
        self.combined = combined
        self.pending: list[str] = []
        self.subscriptions: dict[str, StreamName] = {}
        self.peer = request.remote
        self._request = request
        self._hub = hub
        self._rules = rules
        self._faults = faults
        self._symbols = symbols
        self._virtual_ms = virtual_ms
        self._queue: asyncio.Queue[tuple[float, int, object]] = asyncio.Queue()
        self._loop = asyncio.get_running_loop()
        self._incoming: deque[float] = deque()
        self._awaiting_pong_since: float | None = None
        self._closing = False
        self.close_reason = ""
        self.frames_sent = 0
        hub.attach(self)
        for stream in streams:
            self._add(stream)

    # -- subscriptions ---------------------------------------------------------------------
    def _add(self, stream: StreamName) -> None:
        if stream.name not in self.subscriptions:
            self.subscriptions[stream.name] = stream
            self._hub.subscribe(self, stream)

    def _remove(self, name: str) -> None:
        if self.subscriptions.pop(name, None) is not None:
            self._hub.unsubscribe(self, name)

    # -- outbound --------------------------------------------------------------------------
    def flush(self) -> None:
        """Hand the pending frames to the writer (called by the hub after each publish)."""
        frames, self.pending = self.pending, []
        if self._closing or not frames:
            return
        self._put(_FRAMES, frames)

    def _put(self, kind: int, payload: object) -> None:
        if self._queue.qsize() >= self._rules.max_queued_batches:
            self.abort("slow consumer")
            return
        delay = self._faults.ws_delay_s()
        release = self._loop.time() + delay if delay else 0.0
        self._queue.put_nowait((release, kind, payload))

    def send_text(self, text: str) -> None:
        if not self._closing:
            self._put(_FRAMES, [text])

    def send_binary(self, data: bytes) -> None:
        if not self._closing:
            self._put(_BINARY, data)

    def close(self, code: int, reason: str) -> None:
        """Close cleanly now: a close frame, ahead of anything still queued."""
        if self._closing:
            return
        self._closing = True
        self.close_reason = reason
        self._loop.create_task(self._close_now(code, reason))

    def abort(self, reason: str) -> None:
        """Drop the TCP connection without a close frame."""
        if self.ws.closed:
            return
        self._closing = True
        self.close_reason = reason
        transport = self._request.transport
        if transport is not None:
            transport.abort()

    def shutdown(self, grace_s: float) -> None:
        """serverShutdown after what is already queued, then close after ``grace_s``."""
        if self._closing:
            return
        self.send_text(server_shutdown(self._virtual_ms(), self.combined))
        self._loop.call_later(grace_s, self.close, 1001, "Server shutdown")

    async def _close_now(self, code: int, reason: str) -> None:
        try:
            await self.ws.close(code=code, message=reason.encode())
        except (ConnectionError, RuntimeError) as exc:
            log.debug("connection %s: close failed: %s", self.id, exc)

    async def _write_loop(self) -> None:
        ws = self.ws
        queue = self._queue
        loop = self._loop
        try:
            while not ws.closed:
                release, kind, payload = await queue.get()
                if release:
                    wait = release - loop.time()
                    if wait > 0:
                        await asyncio.sleep(wait)
                if kind == _FRAMES:
                    for frame in payload:  # type: ignore[union-attr]
                        await ws.send_str(frame)
                    self.frames_sent += len(payload)  # type: ignore[arg-type]
                elif kind == _BINARY:
                    await ws.send_bytes(payload)  # type: ignore[arg-type]
                    self.frames_sent += 1
        except (ConnectionError, RuntimeError) as exc:
            log.debug("connection %s: writer stopped: %s", self.id, exc)

    # -- keepalive and lifetime ------------------------------------------------------------
    async def _keepalive_loop(self) -> None:
        rules = self._rules
        loop = self._loop
        started = loop.time()
        lifetime_at = started + rules.max_lifetime_s
        next_ping = started + rules.ping_interval_s
        try:
            while not self.ws.closed and not self._closing:
                deadlines = [next_ping, lifetime_at]
                if self._awaiting_pong_since is not None:
                    deadlines.append(self._awaiting_pong_since + rules.pong_timeout_s)
                await asyncio.sleep(max(0.0, min(deadlines) - loop.time()))
                now = loop.time()
                if now >= lifetime_at:
                    self.shutdown(rules.shutdown_grace_s)
                    return
                if self._awaiting_pong_since is not None and now - self._awaiting_pong_since >= rules.pong_timeout_s:
                    self.close(1008, "Pong timeout")
                    return
                if now >= next_ping:
                    next_ping = now + rules.ping_interval_s
                    if self._faults.silent():
                        continue
                    await self.ws.ping(str(self._virtual_ms()).encode())
                    if self._awaiting_pong_since is None:
                        self._awaiting_pong_since = now
        except (ConnectionError, RuntimeError) as exc:
            log.debug("connection %s: keepalive stopped: %s", self.id, exc)

    # -- inbound ---------------------------------------------------------------------------
    def _over_rate(self) -> bool:
        now = self._loop.time()
        incoming = self._incoming
        incoming.append(now)
        while incoming and incoming[0] <= now - 1.0:
            incoming.popleft()
        return len(incoming) > self._rules.max_incoming_per_s

    async def serve(self) -> None:
        """Run the connection until it closes; the caller returns the WebSocketResponse."""
        writer = asyncio.ensure_future(self._write_loop())
        keepalive = asyncio.ensure_future(self._keepalive_loop())
        ws = self.ws
        try:
            while True:
                msg = await ws.receive()
                kind = msg.type
                if kind in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                    break
                if self._over_rate():
                    self.close(1008, "Too many requests")
                    continue
                if kind is WSMsgType.PING:
                    await ws.pong(msg.data)
                elif kind is WSMsgType.PONG:
                    self._awaiting_pong_since = None
                elif kind is WSMsgType.TEXT:
                    self._on_text(msg.data)
                elif kind is WSMsgType.BINARY:
                    self._on_text(msg.data.decode("utf-8", "replace"))
        except (ConnectionError, RuntimeError) as exc:
            log.debug("connection %s: reader stopped: %s", self.id, exc)
        finally:
            self._closing = True
            self._hub.detach(self)
            for task in (writer, keepalive):
                task.cancel()
            await asyncio.gather(writer, keepalive, return_exceptions=True)

    def _on_text(self, text: str) -> None:
        try:
            request = parse_control(text)
            self.send_text(self._execute(request))
        except ControlError as exc:
            self.send_text(exc.reply())

    def _execute(self, request: ControlRequest) -> str:
        method, rid = request.method, request.request_id
        if method == "SUBSCRIBE":
            streams = []
            for name in request.params:
                try:
                    streams.append(parse_stream(name, self._symbols))
                except StreamNameError:
                    return error_reply(2, f"Invalid request: invalid stream name `{name}`", rid)
            fresh = {s.name for s in streams} - set(self.subscriptions)
            if len(self.subscriptions) + len(fresh) > self._rules.max_streams:
                return error_reply(
                    2, f"Invalid request: too many streams, at most {self._rules.max_streams} per connection", rid)
            for stream in streams:
                self._add(stream)
            return result_reply(None, rid)
        if method == "UNSUBSCRIBE":
            for name in request.params:
                self._remove(name)
            return result_reply(None, rid)
        if method == "LIST_SUBSCRIPTIONS":
            return result_reply(list(self.subscriptions), rid)
        if method == "SET_PROPERTY":
            self.combined = bool(request.params[1])
            return result_reply(None, rid)
        return result_reply(self.combined, rid)  # GET_PROPERTY combined
