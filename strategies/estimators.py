"""Online estimators for the Avellaneda–Stoikov quoter: mid-price volatility and order arrivals.

Time is in seconds derived from event timestamps in ns (no clock is read: time is whatever the
events say). Volatility is of log-returns; arrival depths are in whatever price unit the caller
measures them in (the quoter uses basis points of the mid).
"""
from __future__ import annotations

import math

NS_PER_S = 1_000_000_000


class EwmaVolatility:
    """EWMA of squared mid log-returns, sampled in event time.

    A sample is taken at the first mid update at least ``sample_interval_ns`` after the previous
    sample; each sample contributes r^2 / dt (r: log-return, dt: seconds between samples), so the
    average is a variance *rate* of log-returns per second. Weighting is per sample (event time):
    alpha = 2 / (span + 1). Sampling at a minimum interval keeps bid/ask bounce on every book
    update from dominating the estimate.

    ``sigma_bps()`` is the A–S unit used by the quoter: basis points per sqrt(second).
    """

    __slots__ = ("alpha", "sample_interval_ns", "variance_rate", "samples", "_last_ts", "_last_mid")

    def __init__(self, span: int, sample_interval_ns: int) -> None:
        if span < 1:
            raise ValueError("span must be >= 1 sample")
        if sample_interval_ns <= 0:
            raise ValueError("sample interval must be positive")
        self.alpha = 2.0 / (span + 1.0)
        self.sample_interval_ns = sample_interval_ns
        self.variance_rate = 0.0  # (log-return)^2 per second
        self.samples = 0
        self._last_ts: int | None = None
        self._last_mid = 0.0

    def update(self, ts: int, mid: float) -> bool:
        """Offer a mid (ticks) at ts (ns). Returns True when it was taken as a sample."""
        if mid <= 0.0:
            return False
        if self._last_ts is None:
            self._last_ts, self._last_mid = ts, mid
            return False
        elapsed = ts - self._last_ts
        if elapsed < self.sample_interval_ns:
            return False
        r = math.log(mid / self._last_mid)
        observation = r * r / (elapsed / NS_PER_S)
        if self.samples == 0:
            self.variance_rate = observation
        else:
            self.variance_rate += self.alpha * (observation - self.variance_rate)
        self.samples += 1
        self._last_ts, self._last_mid = ts, mid
        return True

    def sigma_bps(self) -> float:
        """Volatility of the mid in basis points per sqrt(second)."""
        return math.sqrt(self.variance_rate) * 10_000.0


class ArrivalEstimator:
    """Online fit of the A–S arrival intensity lambda(delta) = A * exp(-k * delta).

    Model: market orders arrive on each side at rate A per second; each reaches a depth
    D ~ Exponential(k) (price units, e.g. bps) beyond the mid, so orders reaching at least delta arrive at
    A * exp(-k * delta). From n observed orders with depths D_i over an observation time E
    (both sides together) the maximum-likelihood estimates are k = n / sum(D_i) and
    A = n / (2 E). All three sums decay with ``halflife_s`` so the fit follows the market.

    Several prints of one aggressor order (same timestamp, same side) count as one arrival
    with the deepest distance: the caller groups them (see ``TradeGrouper``).
    """

    __slots__ = ("halflife_s", "_decay_per_s", "count", "depth_sum", "exposure_s", "_last_ts", "arrivals")

    def __init__(self, halflife_s: float) -> None:
        if halflife_s <= 0:
            raise ValueError("half-life must be positive")
        self.halflife_s = halflife_s
        self._decay_per_s = math.log(2.0) / halflife_s
        self.count = 0.0  # decayed number of arrivals
        self.depth_sum = 0.0  # decayed sum of depths, price units
        self.exposure_s = 0.0  # decayed observation time, seconds
        self._last_ts: int | None = None
        self.arrivals = 0  # undecayed total, for warm-up

    def advance(self, ts: int) -> None:
        """Move the observation window to ts (ns): decay the sums and add the elapsed time."""
        if self._last_ts is None:
            self._last_ts = ts
            return
        elapsed_s = (ts - self._last_ts) / NS_PER_S
        if elapsed_s <= 0.0:
            return
        decay = math.exp(-self._decay_per_s * elapsed_s)
        self.count *= decay
        self.depth_sum *= decay
        # the integral of the decay weight over the elapsed interval
        self.exposure_s = self.exposure_s * decay + (1.0 - decay) / self._decay_per_s
        self._last_ts = ts

    def observe(self, ts: int, depth: float) -> None:
        """One market order at ts (ns) that reached ``depth`` beyond the mid (clipped at 0)."""
        self.advance(ts)
        self.count += 1.0
        self.depth_sum += max(depth, 0.0)
        self.arrivals += 1

    @property
    def k(self) -> float | None:
        """Decay of the intensity with depth, 1/price unit (None until a depth was seen)."""
        if self.count <= 0.0 or self.depth_sum <= 0.0:
            return None
        return self.count / self.depth_sum

    @property
    def a(self) -> float | None:
        """Arrival rate per side at depth 0, 1/second, as of the last update (None before any
        observation time)."""
        if self.exposure_s <= 0.0:
            return None
        return self.count / (2.0 * self.exposure_s)

    def a_at(self, ts: int) -> float | None:
        """The arrival rate as of ts (ns) without moving the window: the quiet time since the last
        update counts as observed. Read-only, so displaying it never changes later estimates."""
        if self._last_ts is None or ts <= self._last_ts:
            return self.a
        decay = math.exp(-self._decay_per_s * (ts - self._last_ts) / NS_PER_S)
        exposure = self.exposure_s * decay + (1.0 - decay) / self._decay_per_s
        if exposure <= 0.0:
            return None
        return self.count * decay / (2.0 * exposure)


class TradeGrouper:
    """Groups consecutive trade prints of one aggressor order (same exchange ts_event and side).

    ``add`` returns the finished previous group as (at, is_buy, deepest_depth) when a print
    starts a new group, else None; ``at`` is the caller's clock (ns) at the group's first print.
    ``flush`` ends the open group.
    """

    __slots__ = ("_key", "_at", "_is_buy", "_depth")

    def __init__(self) -> None:
        self._key: int | None = None
        self._at = 0
        self._is_buy = False
        self._depth = 0.0

    def add(self, ts_event: int, is_buy: bool, depth: float, at: int) -> tuple[int, bool, float] | None:
        if self._key == ts_event and self._is_buy == is_buy:
            self._depth = max(self._depth, depth)
            return None
        finished = self.flush()
        self._key, self._at, self._is_buy, self._depth = ts_event, at, is_buy, depth
        return finished

    def flush(self) -> tuple[int, bool, float] | None:
        if self._key is None:
            return None
        finished = (self._at, self._is_buy, self._depth)
        self._key = None
        return finished
