"""Keeps CPython's full garbage collections out of the push path.

With ~1000 clients the process holds a few hundred thousand long-lived tracked objects (per
client greenlets, queues and sockets; the app; the engine). An automatic generation-2
collection walks all of them and stops the hub for 70-180 ms (measured here), several times a
minute, wherever it happens to strike: often in the middle of a fan-out, which is the p99 of
push delivery. Instead:

* objects alive at start-up are frozen (``gc.freeze``): never scanned again;
* automatic full collections are disabled by a very high generation-2 threshold, generations
  0 and 1 keep their defaults (they only see young objects and stay cheap);
* the broadcaster runs one full collection every ``full_every_s``, in the quiet part of a push
  interval after the frame has been written to every client.

Cyclic garbage therefore waits at most ``full_every_s`` to be freed; memory stays bounded.
"""
from __future__ import annotations

import gc
import time
from typing import Callable

NEVER = 1_000_000  # generation-1 collections before an automatic full one: never, in practice


class GcPacer:
    """Full collections on a timer chosen by the push loop (s)."""

    def __init__(self, full_every_s: float = 30.0, monotonic: Callable[[], float] = time.monotonic) -> None:
        if full_every_s <= 0:
            raise ValueError(f"full collection period must be positive, got {full_every_s} s")
        self.full_every_s = full_every_s
        self._monotonic = monotonic
        self._last_full = monotonic()
        self._previous_threshold: tuple[int, int, int] | None = None
        self.collections = 0
        self.last_pause_s = 0.0

    @property
    def installed(self) -> bool:
        return self._previous_threshold is not None

    def install(self) -> None:
        """Freeze what exists now and take over full collections. Idempotent."""
        if self.installed:
            return
        gc.collect()
        gc.freeze()
        self._previous_threshold = gc.get_threshold()
        young, middle, _ = self._previous_threshold
        gc.set_threshold(young, middle, NEVER)
        self._last_full = self._monotonic()

    def uninstall(self) -> None:
        """Give full collections back to CPython (tests, shutdown)."""
        if self._previous_threshold is None:
            return
        gc.set_threshold(*self._previous_threshold)
        gc.unfreeze()
        self._previous_threshold = None

    def due(self) -> bool:
        return self.installed and self._monotonic() - self._last_full >= self.full_every_s

    def collect(self) -> float:
        """Run the full collection now; returns its pause (s)."""
        started = time.perf_counter()
        gc.collect()
        self.last_pause_s = time.perf_counter() - started
        self._last_full = self._monotonic()
        self.collections += 1
        return self.last_pause_s
