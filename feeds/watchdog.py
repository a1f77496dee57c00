"""Silence watchdog: a connection that delivers nothing for too long is treated as dead.

A half-open TCP connection, or a server that keeps the socket open but stops sending, never
raises an error; python-binance would wait forever. Binance sends every symbol's @ticker once a
second, so a few seconds without any frame means the connection is no longer useful.
Times are monotonic seconds supplied by the caller (the asyncio loop's clock), so the watchdog
itself has no clock and is trivially testable.
"""
from __future__ import annotations


class SilenceWatchdog:
    """Tracks the last frame time; ``remaining(now)`` <= 0 means the silence limit is exceeded."""

    __slots__ = ("limit_s", "last_s")

    def __init__(self, limit_s: float, now_s: float) -> None:
        if limit_s <= 0:
            raise ValueError("silence limit must be positive")
        self.limit_s = limit_s
        self.last_s = now_s

    def touch(self, now_s: float) -> None:
        """A frame arrived at ``now_s``."""
        self.last_s = now_s

    def silent_for(self, now_s: float) -> float:
        return now_s - self.last_s

    def remaining(self, now_s: float) -> float:
        """Seconds until the limit is reached (<= 0: reached)."""
        return self.limit_s - (now_s - self.last_s)

    def expired(self, now_s: float) -> bool:
        return self.remaining(now_s) <= 0
