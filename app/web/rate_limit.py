"""Per-client event budgets: one token bucket per Socket.IO client.

Rules:
- A client may send ``EVENTS_PER_S`` events a second on average and ``BURST`` at once. The page
  sends a handful on connect (clock samples, a subscription) and one per click; a script that
  sends faster gets refusals, not service, and cannot crowd out the engine's other work.
- Every event takes one token; a refused event takes none and is answered at once, with how long
  until the next one would be accepted.
- Time is passed in (monotonic seconds), so a bucket is exact to test.
"""
from __future__ import annotations

import math

EVENTS_PER_S = 20.0
BURST = 40


class TokenBucket:
    """``rate`` tokens a second up to ``burst``; starts full."""

    def __init__(self, now: float, rate: float = EVENTS_PER_S, burst: int = BURST) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.stamp = now

    def take(self, now: float) -> float:
        """Take one token: 0.0 when there was one, else the seconds until there will be."""
        self.tokens = min(float(self.burst), self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


def refusal(retry_after_s: float) -> dict:
    """The ack of an event over budget; the wait is rounded up to whole milliseconds."""
    retry_after_ms = max(1, math.ceil(retry_after_s * 1000))
    return {"ok": False, "retry_after_ms": retry_after_ms,
            "error": f"too many events: at most {EVENTS_PER_S:g} a second (bursts of {BURST}); "
                     f"retry in {retry_after_ms} ms"}
