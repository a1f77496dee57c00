"""The one module that knows eventlet: the bridge between green threads and real OS threads.

Facts this rests on (binance-protocol.md, verified on this stack): eventlet primitives used from a
real OS thread silently lose messages, and a monkey-patched process must run exactly one asyncio
loop, in a real OS thread. So all exchange I/O runs on one asyncio loop in an *original* thread,
frames cross over through an *original* ``queue.Queue``, and a green thread drains it in batches
through ``tpool`` so the hub keeps serving Socket.IO while it waits. Keeping this here lets the
async mode change later (Flask-SocketIO also runs on gevent or threading).
"""
from __future__ import annotations

import http
import queue as _queue_mod
import warnings
from typing import Any, Callable

# eventlet warns on import that it is in bugfix-only mode. We know (binance-protocol.md) and keep
# it to this module so the async mode can change; users should not see the notice on every start.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
    import eventlet
    import eventlet.event
    import eventlet.patcher
    import eventlet.tpool
    import eventlet.wsgi

ASYNC_MODE = "eventlet"


def monkey_patch() -> None:
    """Patch the standard library for eventlet; call before anything opens a socket."""
    eventlet.monkey_patch()


def os_thread_class() -> type:
    """``threading.Thread`` as it was before monkey patching: a real OS thread."""
    return eventlet.patcher.original("threading").Thread


OsQueue: type[_queue_mod.Queue] = eventlet.patcher.original("queue").Queue  # the real one, not eventlet's


def os_queue() -> _queue_mod.Queue:
    """A real ``queue.Queue``, safe to fill from an OS thread."""
    return OsQueue()


def _take_waiting(source: _queue_mod.Queue, batch: list[Any], limit: int) -> list[Any]:
    """Add what is already queued to ``batch``, up to ``limit`` items."""
    empty = eventlet.patcher.original("queue").Empty
    while len(batch) < limit:
        try:
            batch.append(source.get_nowait())
        except empty:
            break
    return batch


def _blocking_batch(source: _queue_mod.Queue, timeout: float, limit: int) -> list[Any]:
    """Runs in a tpool OS thread: wait up to ``timeout`` s for one item, then take what is queued."""
    try:
        first = source.get(timeout=timeout)
    except eventlet.patcher.original("queue").Empty:
        return []
    return _take_waiting(source, [first], limit)


def get_batch(source: _queue_mod.Queue, timeout: float, limit: int = 10_000) -> list[Any]:
    """Green-friendly batch get from a real queue: no thread hop when items are already waiting."""
    batch = _take_waiting(source, [], limit)
    return batch or eventlet.tpool.execute(_blocking_batch, source, timeout, limit)


def spawn(function: Callable[..., Any], *args: Any) -> Any:
    return eventlet.spawn(function, *args)


def join(thread: Any, timeout_s: float) -> bool:
    """Wait up to ``timeout_s`` for a green thread from ``spawn`` to end; True if it did."""
    with eventlet.Timeout(timeout_s, False):
        thread.wait()
        return True
    return False


def sleep(seconds: float) -> None:
    eventlet.sleep(seconds)


class GreenEvent:
    """A one-shot event a green thread can wait on (set from the same OS thread only)."""

    def __init__(self) -> None:
        self._event = eventlet.event.Event()

    def set(self) -> None:
        if not self._event.ready():
            self._event.send(True)

    def wait(self, timeout: float | None = None) -> bool:
        with eventlet.Timeout(timeout, False):
            self._event.wait()
            return True
        return False


def os_event_class() -> type:
    """``threading.Event`` as it was before monkey patching: safe to set from a real OS thread."""
    return eventlet.patcher.original("threading").Event


def run_blocking(function: Callable[..., Any], *args: Any) -> Any:
    """Run a call that blocks on real OS-thread primitives without freezing the hub."""
    return eventlet.tpool.execute(function, *args)


def listen(host: str, port: int) -> Any:
    """A green listening socket (raises OSError when the address is taken). Without SO_REUSEPORT,
    which eventlet sets by default on a fixed port: with it a second monitor on the same port
    starts beside the first and the kernel splits the connections between them."""
    return eventlet.listen((host, port), backlog=1024,  # bursts of Socket.IO clients connecting at once
                           reuse_port=False)


class _PlainHttpProtocol(eventlet.wsgi.HttpProtocol):
    """eventlet's HTTP protocol, but a request it cannot parse gets one plain line.

    The standard library's error page names the server software (``Server: BaseHTTP/0.6
    Python/3.11.x``) and echoes the request line into HTML; this answers with the status alone.
    """

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        try:
            reason = http.HTTPStatus(code).phrase
        except ValueError:
            reason = "Error"
        body = f"{code} {reason}\n".encode()
        self.close_connection = True
        self.wfile.write(f"HTTP/1.1 {code} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n"
                         f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
        self.wfile.flush()


class _PlainHttpProtocol(eventlet.wsgi.HttpProtocol):
    """eventlet's HTTP protocol, but a request it cannot parse gets one plain line.

    The standard library's error page names the server software (``Server: BaseHTTP/0.6
    Python/3.11.x``) and echoes the request line into HTML; this answers with the status alone.
    """

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        try:
            reason = http.HTTPStatus(code).phrase
        except ValueError:
            reason = "Error"
        body = f"{code} {reason}\n".encode()
        self.close_connection = True
        self.wfile.write(f"HTTP/1.1 {code} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n"
                         f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
        self.wfile.flush()


def serve_wsgi(listener: Any, app: Any, max_clients: int) -> None:
    """Serve a WSGI app on ``listener`` until interrupted. max_size above eventlet's default
    1024 connections, or the 1025th Socket.IO client would be refused. ``debug=False``: an
    error page never carries a traceback (the app's edge logs it instead)."""
    eventlet.wsgi.server(listener, app, log_output=False, max_size=max_clients, debug=False,
                         protocol=_PlainHttpProtocol)
