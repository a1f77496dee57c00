"""AsyncioThread: the one asyncio loop, in one injected OS thread, that the feed (and in the app the
embedded exchange) runs on."""
from __future__ import annotations

import asyncio
import gc
import threading
import warnings

import pytest

from feeds.aio_thread import AsyncioThread


def test_runs_coroutines_from_other_threads_and_reports_errors():
    runner = AsyncioThread(name="t").start()
    try:
        assert runner.run(asyncio.sleep(0, result="ok"), 5) == "ok"
        assert runner.submit(asyncio.sleep(0, result=7)).result(5) == 7

        async def fail():
            raise LookupError("boom")

        with pytest.raises(LookupError, match="boom"):
            runner.run(fail(), 5)
        seen = []
        done = threading.Event()
        runner.call_soon(lambda: (seen.append(threading.current_thread().name), done.set()))
        assert done.wait(5) and seen == ["t"]
        with pytest.raises(TimeoutError):
            runner.run(asyncio.sleep(30), timeout=0.1)
    finally:
        runner.stop()


def test_uses_the_injected_thread_class():
    made = []

    class RecordingThread(threading.Thread):
        def __init__(self, *args, **kwargs):
            made.append(kwargs.get("name"))
            super().__init__(*args, **kwargs)

    runner = AsyncioThread(RecordingThread, name="injected").start()
    runner.stop()
    assert made == ["injected"]


def test_run_inside_the_loop_thread_is_refused_instead_of_deadlocking():
    runner = AsyncioThread().start()
    try:
        async def nested():
            with pytest.raises(RuntimeError, match="deadlock"):
                runner.run(asyncio.sleep(0))
            return True

        assert runner.run(nested(), 5)
    finally:
        runner.stop()


def test_stop_cancels_pending_tasks_cleanly_and_is_idempotent(caplog):
    caplog.set_level("WARNING", logger="asyncio")
    runner = AsyncioThread().start()
    cleaned = threading.Event()

    async def forever():
        try:
            await asyncio.sleep(3600)
        finally:
            cleaned.set()

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        runner.submit(forever())
        runner.run(asyncio.sleep(0.01), 5)
        runner.stop()
        runner.stop()
        gc.collect()
    assert cleaned.is_set() and not runner.running
    assert [str(w.message) for w in caught] == []
    assert [r.getMessage() for r in caplog.records if r.name == "asyncio"] == []
    with pytest.raises(RuntimeError):
        runner.submit(asyncio.sleep(0))
