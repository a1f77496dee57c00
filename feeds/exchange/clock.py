"""The exchange's virtual clock, paced by the wall clock.

The market advances in virtual time only; this clock says how far it may go now:
``virtual = epoch + speed * (monotonic now - monotonic at start)``. At speed 1 with the epoch
taken from the wall clock, virtual time is wall time and event times (``E``) read naturally.
"""
from __future__ import annotations

import time
from typing import Callable


class PacedClock:
    def __init__(self, epoch_ns: int, speed: float = 1.0,
                 monotonic_ns: Callable[[], int] = time.monotonic_ns, started_ns: int | None = None) -> None:
        """``started_ns``: the monotonic time at which virtual time was ``epoch_ns`` (default now)."""
        self.epoch_ns = epoch_ns
        self.speed = speed
        self._monotonic_ns = monotonic_ns
        self._start = monotonic_ns() if started_ns is None else started_ns

    def now_ns(self) -> int:
        """Virtual ns since the Unix epoch that the market may have reached by now."""
        return self.epoch_ns + int((self._monotonic_ns() - self._start) * self.speed)

    def now_ms(self) -> int:
        return self.now_ns() // 1_000_000

    def wall_seconds_until(self, virtual_ns: int) -> float:
        """Wall seconds until virtual time reaches ``virtual_ns`` (0 when already past)."""
        return max(0.0, (virtual_ns - self.now_ns()) / self.speed / 1e9)
