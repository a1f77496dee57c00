"""python-binance 1.0.37, pointed at any base URL and handing over raw text instead of parsed JSON.

What changes relative to the stock classes, and why:
- ``_handle_message`` stamps the receive time and keeps the frame's text exactly as received: the
  engine parses once (orjson), recordings keep the original bytes, and a malformed frame can no
  longer end python-binance's read loop (it breaks on a JSON error otherwise).
- ``_read_loop`` is replaced by a lean one that ends on the first error instead of reconnecting
  (python-binance gives up after a few tries and never resyncs books: the feed's supervisor owns
  every reconnect), delivers the frames already received when the server closes (python-binance
  checks the socket state first and drops them, e.g. the ``serverShutdown`` notice itself), and
  costs no timer task per frame.
- ``recv`` is a plain queue get (no 10 s polling) and learns at once when the read loop ended.
- ``shutdown`` closes the socket *before* stopping the read loop, so closing never waits on a
  pending receive of a silent connection.
Base URLs: ``AsyncClient.API_URL`` and ``BinanceSocketManager.STREAM_URL`` via a subclass / instance
attribute (binance-protocol.md), ``testnet=False``.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable

from binance.async_client import AsyncClient
from binance.exceptions import ReadLoopClosed
from binance.ws.constants import WSListenerState
from binance.ws.reconnecting_websocket import ReconnectingWebsocket
from binance.ws.streams import BinanceSocketManager, BinanceSocketType

log = logging.getLogger("feeds.binance")
# A library must not print through logging's last-resort handler; the app decides what to show.
log.addHandler(logging.NullHandler())


class RawFrame:
    """One websocket frame: recv_ns (ns since epoch, taken when the frame left the socket) and text."""

    __slots__ = ("recv_ns", "text")

    def __init__(self, recv_ns: int, text: str) -> None:
        self.recv_ns = recv_ns
        self.text = text

    def __repr__(self) -> str:
        # python-binance formats every message into a debug f-string: keep that cheap.
        return f"RawFrame(recv_ns={self.recv_ns}, {len(self.text)} chars)"


_READ_LOOP_ENDED = object()


class RawWebsocket(ReconnectingWebsocket):
    """A python-binance websocket that yields ``RawFrame``s, or python-binance's error dicts."""

    def __init__(self, *, clock_ns: Callable[[], int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._clock_ns = clock_ns
        self._log = log.getChild("socket")
        self._read_loop_ended = asyncio.Event()
        self.connected_ns = 0  # when the handshake completed, ns since epoch (0: never)

    @property
    def url(self) -> str:
        return f"{self._url}{self._prefix}{self._path}"

    async def _after_connect(self) -> None:
        self.connected_ns = self._clock_ns()  # before the read loop stamps its first frame

    def _handle_message(self, evt: str | bytes) -> RawFrame:
        recv_ns = self._clock_ns()
        if isinstance(evt, bytes):  # a binary frame: keep it, the parser will count it malformed
            evt = evt.decode("utf-8", "replace")
        return RawFrame(recv_ns, evt)

    async def _read_loop(self) -> None:
        """Queue frames until the connection ends; then queue one error dict and the end marker."""
        queue = self._queue
        try:
            ws_conn = self.ws
            while self.ws_state == WSListenerState.STREAMING and ws_conn is not None:
                try:
                    message = await ws_conn.recv()
                except Exception as exc:  # noqa: BLE001 - closed, reset, protocol error: all end here
                    await self._propagate_error({"e": "error", "type": type(exc).__name__, "m": str(exc)})
                    break
                if queue.qsize() >= self.max_queue_size:
                    await self._propagate_error({
                        "e": "error", "type": "BinanceWebsocketQueueOverflow",
                        "m": f"more than {self.max_queue_size} frames waiting"})
                    break
                queue.put_nowait(self._handle_message(message))
        finally:
            self._handle_read_loop = None
            queue.put_nowait(_READ_LOOP_ENDED)
            self._read_loop_ended.set()

    async def recv(self) -> RawFrame | dict:
        item = await self._queue.get()
        if item is _READ_LOOP_ENDED:
            self._queue.put_nowait(item)  # every later recv() must fail the same way
            raise ReadLoopClosed("read loop ended")
        return item

    def take_ready(self) -> list:
        """Everything already queued, without waiting (the end marker stays queued)."""
        items = []
        queue = self._queue
        while not queue.empty():
            item = queue.get_nowait()
            if item is _READ_LOOP_ENDED:
                queue.put_nowait(item)
                break
            items.append(item)
        return items

    async def shutdown(self, timeout_s: float = 2.0) -> None:
        """Close the connection and end the read loop; safe at any stage, idempotent."""
        self.ws_state = WSListenerState.EXITING
        if self.ws is not None:
            try:
                await self.ws.close()  # wakes the read loop's pending receive
            except Exception as exc:  # noqa: BLE001 - a dying socket may fail to close politely
                self._log.debug("close of %s failed: %r", self.url, exc)
        if self._handle_read_loop is not None:
            try:
                await asyncio.wait_for(self._read_loop_ended.wait(), timeout_s)
            except asyncio.TimeoutError:
                self._log.warning("read loop of %s did not end within %.1f s", self.url, timeout_s)
                self._handle_read_loop = None
        await self.__aexit__(None, None, None)


class RawSocketManager(BinanceSocketManager):
    """``BinanceSocketManager`` at ``stream_url`` (e.g. "ws://127.0.0.1:P/", trailing slash),
    creating a fresh ``RawWebsocket`` per call: a reconnect must never reuse a dead socket."""

    def __init__(self, client: AsyncClient, stream_url: str, clock_ns: Callable[[], int],
                 max_queue_size: int) -> None:
        super().__init__(client, max_queue_size=max_queue_size)
        self.STREAM_URL = stream_url if stream_url.endswith("/") else stream_url + "/"
        self._clock_ns = clock_ns

    def _get_socket(self, path: str, stream_url: str | None = None, prefix: str = "ws/",
                    is_binary: bool = False,
                    socket_type: BinanceSocketType = BinanceSocketType.SPOT) -> RawWebsocket:
        return RawWebsocket(
            clock_ns=self._clock_ns,
            path=path,
            url=self._get_stream_url(stream_url),
            prefix=prefix,
            is_binary=is_binary,
            https_proxy=self._client.https_proxy,
            max_queue_size=self._max_queue_size,
            **self.ws_kwargs,
        )


def pointed_client_class(api_url: str) -> type[AsyncClient]:
    """An ``AsyncClient`` subclass whose REST base is ``api_url`` (e.g. "http://127.0.0.1:P/api").

    A subclass rather than an instance attribute because ``AsyncClient.create()`` builds its own
    instance.
    """
    return type("PointedAsyncClient", (AsyncClient,), {"API_URL": api_url.rstrip("/")})


def depth_url(client: AsyncClient) -> str:
    """The REST depth endpoint of ``client``'s base URL."""
    return f"{client.API_URL}/{client.PUBLIC_API_VERSION}/depth"
