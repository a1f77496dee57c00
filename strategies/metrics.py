"""Performance metrics on an equity curve sampled once per second of event time.

Sharpe: mean / standard deviation (ddof=1) of the 1-second equity changes, times sqrt(365 * 86400)
(a year of seconds; crypto trades every day), no risk-free rate. Equity changes rather than percentage
returns because paper equity starts at zero; with a starting capital C the returns are the changes / C,
which gives the same ratio. Its standard error (Lo, "The Statistics of Sharpe Ratios", 2002, for IID
returns) is sqrt((1 + s^2 / 2) / n) x sqrt(365 * 86400), s the per-second Sharpe and n the seconds
sampled: it shrinks only as 1/sqrt(n), so 15 seconds leave about +-1,450 and an hour still +-94. It is
shown beside the Sharpe so that a short run's figure reads as the noise it is, and below
SHARPE_MIN_SECONDS of samples (half an hour: the error is still about +-130 there) neither is shown:
``figures`` gives None with the reason in ``sharpe_note``. Max drawdown: largest fall from a running
peak, in quote currency, on the same 1-second samples plus the current value.
"""
from __future__ import annotations

import math
from collections import deque

SECOND_NS = 1_000_000_000
# 1-second equity points an EquityCurve keeps for charts: the last hour (~100 KB). Drawdown and
# Sharpe are running figures over every sample, so they do not depend on this bound.
EQUITY_POINTS_KEPT = 3600
PERIODS_PER_YEAR = 365 * 86_400
ANNUALISATION = math.sqrt(PERIODS_PER_YEAR)
SHARPE_MIN_SECONDS = 1_800
SHARPE_DEFINITION = (
    "annualised: mean/std of 1-second equity changes (event time, quote currency) x sqrt(365*86400); "
    "no risk-free rate; +- its standard error for IID returns, sqrt((1 + s^2/2)/n) x sqrt(365*86400), "
    f"over n seconds; n/a below {SHARPE_MIN_SECONDS // 60} minutes of samples"
)


def sharpe_note(samples: int) -> str | None:
    """Why the Sharpe is not shown yet (None once there are enough samples)."""
    if samples >= SHARPE_MIN_SECONDS:
        return None
    return f"n/a: needs {SHARPE_MIN_SECONDS // 60} min of 1-second samples, {samples:,} s so far"


class RunningStats:
    """Mean and variance of a stream (Welford), with O(1) runs of zeros for idle seconds."""

    __slots__ = ("count", "mean", "_m2")

    def __init__(self) -> None:
        self.count = 0
        self.mean = 0.0
        self._m2 = 0.0

    def add(self, value: float) -> None:
        self.count += 1
        delta = value - self.mean
        self.mean += delta / self.count
        self._m2 += delta * (value - self.mean)

    def add_zeros(self, count: int) -> None:
        """Merge `count` zero values (Chan et al.'s parallel update with a block of mean 0, M2 0)."""
        if count <= 0:
            return
        total = self.count + count
        delta = -self.mean
        self._m2 += delta * delta * self.count * count / total
        self.mean += delta * count / total
        self.count = total

    @property
    def variance(self) -> float:
        """Sample variance (ddof=1); 0.0 below two values."""
        return self._m2 / (self.count - 1) if self.count > 1 else 0.0

    @property
    def std(self) -> float:
        return math.sqrt(max(self.variance, 0.0))


def _per_second_sharpe(stats: RunningStats) -> float | None:
    """mean/std of the 1-second changes; None when undefined (fewer than two samples or no variation)."""
    std = stats.std
    if stats.count < 2 or std <= 1e-12 * max(1.0, abs(stats.mean)):
        return None
    return stats.mean / std


def sharpe_ratio(stats: RunningStats) -> float:
    """Annualised Sharpe of 1-second changes; 0.0 when undefined."""
    per_second = _per_second_sharpe(stats)
    return 0.0 if per_second is None else per_second * ANNUALISATION


def sharpe_standard_error(stats: RunningStats) -> float:
    """Standard error of the annualised Sharpe (Lo 2002, IID returns); 0.0 where the Sharpe is undefined."""
    per_second = _per_second_sharpe(stats)
    if per_second is None:
        return 0.0
    return math.sqrt((1.0 + 0.5 * per_second * per_second) / stats.count) * ANNUALISATION


class EquityCurve:
    """Equity sampled at the end of each second of event time; drawdown and Sharpe on those samples.

    ``record(equity, seconds)`` closes `seconds` whole seconds during which equity stayed at `equity`
    (the first of them may have seen changes; the rest were idle). Units: quote currency.
    """

    __slots__ = ("returns", "peak", "max_drawdown", "last", "samples", "points")

    def __init__(self, keep_points: int = EQUITY_POINTS_KEPT, start: float = 0.0) -> None:
        self.returns = RunningStats()
        self.peak = start
        self.max_drawdown = 0.0
        self.last = start
        self.samples = 0
        self.points: deque[tuple[int, float]] = deque(maxlen=keep_points)  # (second index, equity)

    def record(self, second: int, equity: float, seconds: int = 1) -> None:
        """Samples for `seconds` seconds ending with `second` (its index since the epoch), all at `equity`."""
        if seconds <= 0:
            return
        self.returns.add(equity - self.last)
        self.returns.add_zeros(seconds - 1)
        self.last = equity
        self.samples += seconds
        if equity > self.peak:
            self.peak = equity
        elif self.peak - equity > self.max_drawdown:
            self.max_drawdown = self.peak - equity
        self.points.append((second, equity))

    def drawdown(self, current: float) -> float:
        """Fall of the current equity from the peak (>= 0)."""
        peak = self.peak if self.peak > current else current
        return peak - current

    def max_drawdown_with(self, current: float) -> float:
        dd = self.drawdown(current)
        return dd if dd > self.max_drawdown else self.max_drawdown

    @property
    def sharpe(self) -> float:
        return sharpe_ratio(self.returns)

    @property
    def sharpe_se(self) -> float:
        return sharpe_standard_error(self.returns)

    def figures(self, current: float) -> dict[str, float | str | None]:
        """Drawdown (now and max, with the current equity) and Sharpe with its standard error and sample
        count; the Sharpe and its error are None below SHARPE_MIN_SECONDS, ``sharpe_note`` says why."""
        note = sharpe_note(self.samples)
        return {
            "drawdown": self.drawdown(current),
            "max_drawdown": self.max_drawdown_with(current),
            "sharpe": None if note else self.sharpe,
            "sharpe_se": None if note else self.sharpe_se,
            "sharpe_seconds": self.samples,
            "sharpe_note": note,
        }
