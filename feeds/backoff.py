"""Capped exponential backoff with jitter, for reconnects and REST retries.

Jitter spreads many clients (or many symbols' snapshot retries) apart after a shared outage;
the floor (``1 - jitter`` of the nominal delay) keeps a flapping server from being hammered.
Randomness comes from an injected generator (anything with ``random() -> float in [0, 1)``:
``random.Random(seed)`` or ``numpy.random.Generator``), so a seeded run is reproducible.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class UniformSource(Protocol):
    def random(self) -> float: ...


@dataclass(frozen=True)
class BackoffPolicy:
    """initial_s: nominal first delay, s; cap_s: largest nominal delay, s; factor: growth per
    failure; jitter: fraction of the nominal delay drawn at random (0 = none, 1 = full jitter)."""

    initial_s: float = 0.25
    cap_s: float = 30.0
    factor: float = 2.0
    jitter: float = 0.5

    def __post_init__(self) -> None:
        if self.initial_s < 0 or self.cap_s < self.initial_s:
            raise ValueError("backoff needs 0 <= initial_s <= cap_s")
        if self.factor < 1:
            raise ValueError("backoff factor must be >= 1")
        if not 0 <= self.jitter <= 1:
            raise ValueError("backoff jitter must be within [0, 1]")


class Backoff:
    """Delays for consecutive failures: nominal = min(cap, initial * factor**n), then jittered
    down into [nominal * (1 - jitter), nominal]. ``reset()`` after a success."""

    def __init__(self, policy: BackoffPolicy, rng: UniformSource) -> None:
        self.policy = policy
        self._rng = rng
        self.failures = 0

    def nominal_s(self, failures: int) -> float:
        """The un-jittered delay after ``failures`` consecutive failures (0 = the first retry), s."""
        p = self.policy
        # Stop multiplying once capped: factor**n overflows a float long before "forever" ends.
        delay = p.initial_s
        for _ in range(failures):
            delay *= p.factor
            if delay >= p.cap_s:
                return p.cap_s
        return min(delay, p.cap_s)

    def next_delay(self) -> float:
        """The delay before the next attempt, s; counts one more failure."""
        nominal = self.nominal_s(self.failures)
        self.failures += 1
        return nominal * (1.0 - self.policy.jitter * self._rng.random())

    def reset(self) -> None:
        self.failures = 0
