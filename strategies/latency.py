"""Simulated latencies (ns) between our process and the exchange.

One clock drives the simulation: the local receive time of market data (``ts_recv``). A market event
received at local time ``t`` happened on the exchange at ``t - market_data_ns``. An order sent at local
time ``t`` reaches the matching engine at ``t + order_entry_ns``; a cancel at ``t + cancel_ns``. So an
order can only interact with market events received at or after ``t + order_entry_ns + market_data_ns``.
"""
from __future__ import annotations

from dataclasses import dataclass

MS = 1_000_000


@dataclass(frozen=True)
class LatencyModel:
    """Constant one-way latencies in ns: order entry, cancel, market data (exchange -> us)."""

    order_entry_ns: int = 5 * MS
    cancel_ns: int = 5 * MS
    market_data_ns: int = 2 * MS

    def __post_init__(self) -> None:
        for name in ("order_entry_ns", "cancel_ns", "market_data_ns"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer number of ns, got {value!r}")

    @classmethod
    def from_ms(cls, order_entry_ms: float, cancel_ms: float, market_data_ms: float) -> "LatencyModel":
        return cls(round(order_entry_ms * MS), round(cancel_ms * MS), round(market_data_ms * MS))

    def as_dict(self) -> dict[str, float]:
        return {
            "order_entry_ms": self.order_entry_ns / MS,
            "cancel_ms": self.cancel_ns / MS,
            "market_data_ms": self.market_data_ns / MS,
        }
