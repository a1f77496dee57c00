"""One asyncio event loop in one OS thread, fed thread-safely from other threads.

Under eventlet only one asyncio loop may exist per process (binance-protocol.md), so everything
that speaks asyncio — the Binance feed, REST snapshots, the embedded exchange — shares this loop.
The thread class is injected: the app passes eventlet's *original* ``threading.Thread`` so the
loop runs on a real OS thread that eventlet's hub never sees.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from typing import Any, Callable, Coroutine, TypeVar

T = TypeVar("T")


class AsyncioThread:
    """Owns an event loop running forever in a dedicated thread until ``stop()``.

    ``submit(coro)`` schedules a coroutine from any thread and returns a
    ``concurrent.futures.Future``; ``call_soon(fn, *args)`` runs a plain callable in the loop.
    """

    def __init__(self, thread_factory: Callable[..., Any] = threading.Thread,
                 name: str = "feeds-asyncio",
                 event_factory: Callable[[], Any] = threading.Event) -> None:
        # event_factory: the Event class that waits across the two threads. Under eventlet the app
        # passes the *original* threading.Event: a green lock woken from the loop's OS thread
        # fails with "cannot switch to a different thread" (concurrent.futures uses such locks).
        self._thread_factory = thread_factory
        self._event_factory = event_factory
        self.name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: Any = None
        self._ready = event_factory()

    # -- lifecycle -------------------------------------------------------------------------
    def start(self, timeout: float = 10.0) -> "AsyncioThread":
        """Start the thread and return once its loop is running."""
        if self._thread is not None:
            raise RuntimeError(f"{self.name} already started")
        self._thread = self._thread_factory(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError(f"{self.name}: loop did not start within {timeout} s")
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Cancel what still runs, close the loop and join the thread. Idempotent."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if not loop.is_closed():
            try:
                loop.call_soon_threadsafe(loop.stop)
            except RuntimeError:  # closed between the check and the call
                pass
        if thread is not threading.current_thread():
            thread.join(timeout)
        self._loop = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise RuntimeError(f"{self.name} is not running")
        return self._loop

    @property
    def running(self) -> bool:
        return self._loop is not None and not self._loop.is_closed()

    def in_loop_thread(self) -> bool:
        return self._thread is threading.current_thread()

    # -- scheduling --------------------------------------------------------------------------
    def submit(self, coro: Coroutine[Any, Any, T]) -> "concurrent.futures.Future[T]":
        """Run ``coro`` on the loop; thread-safe."""
        try:
            loop = self.loop
        except RuntimeError:
            coro.close()  # never awaited otherwise: avoid the "was never awaited" warning
            raise
        return asyncio.run_coroutine_threadsafe(coro, loop)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coro`` on the loop and wait for its result (from another thread)."""
        if self.in_loop_thread():
            coro.close()
            raise RuntimeError("run() would deadlock inside the loop thread; await instead")
        loop = self.loop
        done = self._event_factory()
        outcome: dict[str, Any] = {}

        async def wrapper() -> None:
            try:
                outcome["result"] = await coro
            except BaseException as exc:  # handed to the waiting thread
                outcome["error"] = exc
            finally:
                done.set()

        tasks: list[asyncio.Task] = []
        # No concurrent.futures.Future here: its lock would be touched from both threads.
        loop.call_soon_threadsafe(lambda: tasks.append(loop.create_task(wrapper())))
        if not done.wait(timeout):
            loop.call_soon_threadsafe(lambda: [t.cancel() for t in tasks])
            raise TimeoutError(f"{self.name}: no result within {timeout} s")
        if "error" in outcome:
            raise outcome["error"]
        return outcome["result"]

    def call_soon(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` on the loop; thread-safe."""
        self.loop.call_soon_threadsafe(fn, *args)

    # -- the thread ------------------------------------------------------------------------------
    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            try:
                _cancel_remaining(loop)
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.run_until_complete(loop.shutdown_default_executor())
            finally:
                asyncio.set_event_loop(None)
                loop.close()


def _cancel_remaining(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel tasks still pending at stop and let them run their cleanup (no 'Task destroyed')."""
    tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in tasks:
        task.cancel()
    if tasks:
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
