"""One combined-stream connection kept alive forever: the supervisor python-binance lacks.

python-binance retries a lost connection only a few times, never retries a failed first connect,
never notices a silent connection and never tells anyone that frames were lost. Here every loss —
error, close, ``serverShutdown``, silence — ends the socket, emits ``disconnected``, waits a capped
jittered backoff (none after ``serverShutdown`` on a healthy connection: Binance asks for an
immediate reconnect), emits ``reconnecting``, and after the next successful handshake emits
``connected`` *before* the first new frame, so the pipeline resyncs each book of this connection.
The backoff is reset only by a connection that stayed up ``stable_after_s``: a server that accepts
and drops at once gets exponentially fewer attempts (Binance bans IPs above 300 per 5 minutes).
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Callable

import orjson
from binance.exceptions import ReadLoopClosed

from feeds.backoff import Backoff, BackoffPolicy
from feeds.binance_raw import RawFrame, RawSocketManager, RawWebsocket
from feeds.messages import ConnectionEvent, ConnectionKind, FeedMessage
from feeds.watchdog import SilenceWatchdog

log = logging.getLogger("feeds.binance")

# A serverShutdown frame is ~90 chars; only frames this short are inspected for it.
_SHUTDOWN_FRAME_MAX_CHARS = 256


@dataclass(frozen=True)
class ConnectionPolicy:
    """reconnect: backoff between attempts; stable_after_s: uptime after which the backoff resets;
    connect_timeout_s: TCP + websocket handshake limit; silence_timeout_s: no frame for this long ->
    reconnect (Binance sends each @ticker every 1 s)."""

    reconnect: BackoffPolicy = field(default_factory=BackoffPolicy)
    stable_after_s: float = 5.0
    connect_timeout_s: float = 10.0
    silence_timeout_s: float = 5.0

    def __post_init__(self) -> None:
        if self.silence_timeout_s <= 0 or self.connect_timeout_s <= 0:
            raise ValueError("connection timeouts must be positive")


@dataclass
class ConnectionCounters:
    """Counts since start (read from other threads: plain ints)."""

    attempts: int = 0
    connects: int = 0
    failed_connects: int = 0
    disconnects: int = 0
    frames: int = 0
    silences: int = 0
    server_shutdowns: int = 0

    @property
    def reconnects(self) -> int:
        return max(0, self.connects - 1)


class StreamConnection:
    """Keeps one multiplex connection for ``streams`` (carrying ``symbols``) alive until cancelled.

    emit: puts a ``FeedMessage`` / ``ConnectionEvent`` on the engine's queue (thread-safe, never
    blocks); clock_ns: wall clock for event stamps, ns.
    """

    def __init__(self, streams: list[str], symbols: tuple[str, ...], manager: RawSocketManager,
                 emit: Callable[[object], None], policy: ConnectionPolicy, backoff: Backoff,
                 clock_ns: Callable[[], int]) -> None:
        self.streams = streams
        self.symbols = symbols
        self._manager = manager
        self._emit = emit
        self.policy = policy
        self._backoff = backoff
        self._clock_ns = clock_ns
        self.counters = ConnectionCounters()
        self.connected = False
        self.last_reason = ""

    async def run(self) -> None:
        """Connect, stream, reconnect — forever; cancel to stop (emits ``disconnected: stopped``)."""
        loop = asyncio.get_running_loop()
        delay = 0.0
        reason = ""
        while True:
            if self.counters.attempts:
                self._event("reconnecting", f"attempt {self.counters.attempts + 1} in {delay:.2f} s "
                                            f"after {reason}")
                await asyncio.sleep(delay)
            self.counters.attempts += 1
            sock = self._manager.multiplex_socket(self.streams)
            try:
                await asyncio.wait_for(sock.connect(), self.policy.connect_timeout_s)
            except asyncio.CancelledError:
                await sock.shutdown()
                raise
            except Exception as exc:  # noqa: BLE001 - any failure to connect means: try again later
                await sock.shutdown()
                self.counters.failed_connects += 1
                reason = f"connect failed: {_describe(exc)}"
                self.last_reason = reason
                delay = self._backoff.next_delay()
                log.info("%s: %s", sock.url[:120], reason)
                continue
            connected_at = loop.time()
            self.connected = True
            self.counters.connects += 1
            self._event("connected", f"{len(self.streams)} streams", sock.connected_ns)
            reason, immediate = "stopped", False
            try:
                reason, immediate = await self._stream(sock, loop)
            except Exception as exc:  # noqa: BLE001 - a bug here must not end the supervisor
                log.exception("stream failed")
                reason = f"feed error: {_describe(exc)}"
            finally:
                await sock.shutdown()
                self.connected = False
                self.counters.disconnects += 1
                self.last_reason = reason
                self._event("disconnected", reason)
            stable = loop.time() - connected_at >= self.policy.stable_after_s
            if stable:
                self._backoff.reset()
            delay = 0.0 if immediate and stable else self._backoff.next_delay()
            log.info("connection lost (%s); reconnecting in %.2f s", reason, delay)

    async def _stream(self, sock: RawWebsocket, loop: asyncio.AbstractEventLoop) -> tuple[str, bool]:
        """Forward frames until the connection ends; returns (reason, reconnect at once)."""
        watchdog = SilenceWatchdog(self.policy.silence_timeout_s, loop.time())
        pump = loop.create_task(self._pump(sock, watchdog, loop), name="stream-pump")
        try:
            while True:
                remaining = watchdog.remaining(loop.time())
                if remaining <= 0:
                    self.counters.silences += 1
                    return f"silence: no frame for {watchdog.silent_for(loop.time()):.1f} s", False
                done, _ = await asyncio.wait({pump}, timeout=remaining)
                if done:
                    return pump.result()
        finally:
            if not pump.done():
                pump.cancel()
                await asyncio.wait({pump})

    async def _pump(self, sock: RawWebsocket, watchdog: SilenceWatchdog,
                    loop: asyncio.AbstractEventLoop) -> tuple[str, bool]:
        emit = self._emit
        counters = self.counters
        while True:
            try:
                first = await sock.recv()
            except ReadLoopClosed:
                return "read loop ended", False
            batch = [first]
            batch.extend(sock.take_ready())  # drain: python-binance kills a socket whose queue fills
            watchdog.touch(loop.time())
            shutdown = False
            for item in batch:
                if type(item) is not RawFrame:  # python-binance's {"e": "error", ...}: connection lost
                    return _describe_error(item), False
                text = item.text
                emit(FeedMessage(item.recv_ns, text, None))
                counters.frames += 1
                if len(text) <= _SHUTDOWN_FRAME_MAX_CHARS and "serverShutdown" in text:
                    shutdown = shutdown or _is_server_shutdown(text)
            if shutdown:  # forwarded everything received so far; the pipeline sees ServerShutdown
                counters.server_shutdowns += 1
                return "serverShutdown", True

    def _event(self, kind: ConnectionKind, detail: str, at_ns: int = 0) -> None:
        self._emit(ConnectionEvent(kind, at_ns or self._clock_ns(), detail, self.symbols))


def _is_server_shutdown(text: str) -> bool:
    try:
        frame = orjson.loads(text)
    except orjson.JSONDecodeError:
        return False
    if not isinstance(frame, dict):
        return False
    data = frame.get("data", frame)
    return frame.get("stream") == "!serverShutdown" or (
        isinstance(data, dict) and data.get("e") == "serverShutdown")


def _describe_error(item: object) -> str:
    if isinstance(item, dict):
        kind = item.get("type") or "error"
        message = item.get("m") or ""
        return f"{kind}: {message}" if message else str(kind)
    return f"unexpected item {type(item).__name__}"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, asyncio.TimeoutError):
        return "timed out"
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
