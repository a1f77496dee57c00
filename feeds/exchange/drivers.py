"""Fair values of all symbols: correlated, fat-tailed, with a shared volatility regime.

Each symbol's fair log-price moves by ``sigma * sqrt(dt) * regime * z`` per step, where
``z = loading * f + sqrt(1 - loading^2) * e`` mixes one common market factor ``f`` with the
symbol's own shock ``e`` (both unit-variance Student-t), so corr(i, j) = loading_i * loading_j.
The regime is exp of an Ornstein-Uhlenbeck process shared by the market (volatility clustering),
scaled so the long-run variance matches each symbol's annual volatility. The order flow follows
the fair values; it never moves them. The market (common factor, regime) and each symbol draw
from their own generators, so a symbol's path does not depend on which other symbols are listed.
"""
from __future__ import annotations

import math

import numpy as np

SECONDS_PER_YEAR = 365.0 * 24 * 3600


class _TDraws:
    """Unit-variance Student-t draws from one generator, fetched in blocks."""

    def __init__(self, rng: np.random.Generator, df: float, block: int = 2048) -> None:
        self._rng = rng
        self._df = df
        self._scale = math.sqrt((df - 2.0) / df) if df > 2 else 1.0
        self._block = block
        self._values: list[float] = []
        self._next = 0

    def take(self) -> float:
        if self._next >= len(self._values):
            self._values = (self._rng.standard_t(self._df, self._block) * self._scale).tolist()
            self._next = 0
        value = self._values[self._next]
        self._next += 1
        return value


class FairValues:
    def __init__(self, ref_prices: list[float], annual_vols: list[float], loadings: list[float],
                 market_rng: np.random.Generator, symbol_rngs: list[np.random.Generator],
                 tail_df: float, regime_tau_s: float, regime_sd: float) -> None:
        self._market = _TDraws(market_rng, tail_df)
        self._own_draws = [_TDraws(rng, tail_df) for rng in symbol_rngs]
        self.log_prices = [math.log(p) for p in ref_prices]
        self._vols = [v / math.sqrt(SECONDS_PER_YEAR) for v in annual_vols]  # per sqrt(second)
        self._loadings = [min(max(x, 0.0), 0.999) for x in loadings]
        self._own = [math.sqrt(1.0 - x * x) for x in self._loadings]
        self._tau = regime_tau_s
        self._regime_sd = regime_sd
        self._regime = 0.0
        self.regime = math.exp(-regime_sd * regime_sd)  # E[regime^2] = 1

    def step(self, dt_s: float) -> None:
        """Advance every fair value by ``dt_s`` seconds."""
        decay = math.exp(-dt_s / self._tau)
        shock = self._market.take()
        self._regime = self._regime * decay + self._regime_sd * math.sqrt(1.0 - decay * decay) * shock
        self.regime = math.exp(self._regime - self._regime_sd * self._regime_sd)
        common = self._market.take()
        root_dt = math.sqrt(dt_s) * self.regime
        log_prices = self.log_prices
        for i, own in enumerate(self._own_draws):
            sigma = self._vols[i] * root_dt
            z = self._loadings[i] * common + self._own[i] * own.take()
            log_prices[i] += sigma * z - 0.5 * sigma * sigma
