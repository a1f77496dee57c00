"""Avellaneda & Stoikov (2008), section 3.3: the inventory strategy against the symmetric benchmark.

Setup (the paper's): s = 100, T = 1, sigma = 2, dt = 0.005 (200 steps), k = 1.5, A = 140, q0 = 0.
Each step, for every path at once:
  1. the inventory strategy quotes r -/+ spread/2 with the live quoter's own
     ``reservation_price`` and ``optimal_spread`` (T - t = time left at the start of the step);
     the symmetric benchmark quotes s -/+ its constant spread / 2;
  2. the mid moves +sigma*sqrt(dt) or -sigma*sqrt(dt) with equal probability;
  3. each resting quote fills with probability A * exp(-k * delta) * dt (capped at 1), delta being
     its distance from the mid; both sides can fill in one step, one unit each.
Profit = cash + q_T * s_T. Both strategies see the same mid path and the same uniforms (common
random numbers), so their difference is not blurred by sampling noise.

Two model details the paper leaves open, and the choices made here:
  * quotes stand during the step, so fills are judged against the mid at the end of the step
    (quote -> move -> fill). Judging them against the quoting mid instead gives ~1.5 more profit,
    beyond the published means, because it removes the adverse selection a resting quote suffers;
  * the benchmark spread. The published "average spread" (1.29 for gamma 0.1, 1.33 for 0.01)
    is the stationary part (2/gamma) ln(1 + gamma/k) of the A–S spread, not the time average of
    gamma sigma^2 (T - t) + (2/gamma) ln(1 + gamma/k) (1.49 and 1.35), and the symmetric rows
    match a benchmark at that spread (for gamma = 1, 3.03 would give a profit near 44, not 66).
    ``benchmark_spread="stationary"`` (default) reproduces the paper, "average" is the literal
    time-averaged alternative.
One published cell stays out of reach: the gamma = 1 inventory profit (33.92 against 30.7; its std
agrees and its inventory std is about 12% lower). At gamma = 1 the skew q gamma sigma^2 (T - t) often
exceeds the half-spread, so one quote sits beyond the mid and fills every step (lambda dt > 1, capped),
and how such quotes are treated decides the cell. Tested at 10,000 paths (seed 2008); "out" counts the
24 profit and inventory cells outside the tests' tolerances (3 standard errors + 3%; stds 15%):
  variant                                          gamma=1 inventory: profit  std   std(q)  out
  this scheme (post-move mid, both sides, cap 1)                      30.72  4.79  1.65   1
  fills against the pre-move mid (= fill, then move)                  31.51  4.88  1.64   1
  T - t taken at the end of the step                                  31.01  4.81  1.79   1
  pre-move mid and T - t at the end of the step                       31.81  4.88  1.76   1
  at most one fill per step                                           29.30  3.89  1.97   7 (std(q) +20%)
  quotes beyond the mid filled at the mid (delta clipped at 0)        37.94  6.21  1.65   2
  quotes clipped to the mid when set (fills after the move)           37.45  6.10  1.65   2
  ... only the fill price clipped / only the probability (<= A dt)    38.87 / 30.14       2 / 1
  fill probability 1 - exp(-lambda dt)                                27.54  4.55  1.72   6
  Gaussian mid steps                                                  30.72  4.81  1.64   1
  final inventory liquidated at mid -/+ stationary half-spread       30.07  4.80  1.65   4
  spread without its gamma sigma^2 (T - t) term (stationary only)   -47.75  8.32  1.65   -
    (gamma 0.1 and 0.01 still fit, 62.27 and 66.82; at gamma 1 the skew pushes quotes through the mid)
  quotes through the mid not posted (as post-only would refuse)      12.95  4.38  2.42   -
    (gamma 0.1 falls to 59.42 with a profit std of 11.86: the crossing quotes are what controls inventory)
No variant reproduces 33.92 with std 4.72 and std(q) 1.88 while keeping the other 23 cells, so
the scheme stays the literal one above.

The symmetric benchmark has a closed form, which pins the simulator (``symmetric_expected_profit``).
Its fills do not depend on inventory, so E[profit] = E[sum of fill edges]; a quote at distance delta
from the quoting mid, judged after a move of +-h (h = sigma sqrt(dt)), fills with probability
A dt e^(-k (delta -+ h)) and then earns delta -+ h against the new mid, so per side and step
    E = A dt e^(-k delta) (delta cosh(k h) - h sinh(k h)).
The first-principles figure 2 A e^(-k delta) delta T (66.47 for gamma = 1, delta = 1.0217 / 2) is
the continuous-time limit, or fills judged against the quoting mid; the step's own adverse
selection, -h sinh(k h) ~ -k sigma^2 dt per fill, costs 3.7 % at dt = 0.005: 64.04, which the
simulation gives (63.99 over 4,000 paths, seed 7). It is the O(dt) bias of quote -> move -> fill,
not an error, and it shrinks with dt; the paper's own symmetric rows sit between the two forms. The symmetric rows favour post-move fills: at the
printed spreads 1.29, 1.33 and 1.15 the benchmark makes 67.13, 67.21 and 66.01 (published 67.21,
67.36, 66.20); with pre-move fills 68.71, 68.77 and 68.00. No formula tested gives the printed
gamma = 1 spread 1.15 (stationary 1.02, time average 3.02, fill-weighted 2 delta 1.07-1.12).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from strategies.avellaneda_stoikov import optimal_spread, reservation_price
from strategies.parameters import Parameters, choice, integer, number, require

# Tables 1-3 of the paper (1000 simulations each).
PUBLISHED_PATHS = 1000
PUBLISHED: dict[float, dict[str, dict[str, float]]] = {
    0.1: {
        "inventory": {"spread": 1.29, "profit_mean": 62.94, "profit_std": 5.89, "final_q_mean": 0.10, "final_q_std": 2.80},
        "symmetric": {"spread": 1.29, "profit_mean": 67.21, "profit_std": 13.43, "final_q_mean": -0.018, "final_q_std": 8.66},
    },
    0.01: {
        "inventory": {"spread": 1.33, "profit_mean": 66.78, "profit_std": 8.76, "final_q_mean": -0.02, "final_q_std": 4.70},
        "symmetric": {"spread": 1.33, "profit_mean": 67.36, "profit_std": 13.40, "final_q_mean": -0.31, "final_q_std": 8.65},
    },
    1.0: {
        "inventory": {"spread": 1.15, "profit_mean": 33.92, "profit_std": 4.72, "final_q_mean": -0.02, "final_q_std": 1.88},
        "symmetric": {"spread": 1.15, "profit_mean": 66.20, "profit_std": 14.53, "final_q_mean": 0.25, "final_q_std": 9.06},
    },
}
STRATEGIES = ("inventory", "symmetric")
MEASURES = ("spread", "profit_mean", "profit_std", "final_q_mean", "final_q_std")


@dataclass(frozen=True)
class SimulationSetup(Parameters):
    """The paper's parameters; paths: number of simulated days. benchmark_spread: "stationary"
    ((2/gamma) ln(1 + gamma/k), the paper's) or "average" (time average of the A–S spread)."""

    gamma: float = number(0.1, 0, 1_000, "1/(price x share)", lo_open=True)
    s0: float = number(100.0, 0, 1e9, "price", lo_open=True)
    horizon: float = number(1.0, 0, 1_000, "time units", lo_open=True)
    sigma: float = number(2.0, 0, 1e6, "price/sqrt(time)", lo_open=True)
    dt: float = number(0.005, 0, 1_000, "time units", lo_open=True)
    k: float = number(1.5, 0, 1e6, "1/price", lo_open=True)
    A: float = number(140.0, 0, 1e6, "1/time", lo_open=True)
    paths: int = integer(1000, 1, 1_000_000, "paths")
    benchmark_spread: str = choice("stationary", "stationary", "average")

    def validate(self) -> None:
        name = type(self).__name__
        require(self.dt <= self.horizon, f"{name}: dt ({self.dt}) must not exceed the horizon ({self.horizon})")
        require(self.steps <= 10_000_000, f"{name}: horizon / dt must be at most 10000000 steps, got {self.steps}")

    @property
    def steps(self) -> int:
        return int(round(self.horizon / self.dt))


@dataclass(frozen=True)
class Outcome:
    """One strategy over all paths: average quoted spread, profit and final inventory statistics."""

    spread: float
    profit_mean: float
    profit_std: float
    final_q_mean: float
    final_q_std: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class ExperimentResult:
    setup: SimulationSetup
    inventory: Outcome
    symmetric: Outcome

    def as_dict(self) -> dict:
        """JSON-safe; includes the published table for this gamma when there is one."""
        return {
            "experiment": "avellaneda-stoikov",
            "setup": self.setup.as_dict(),
            "inventory": self.inventory.as_dict(),
            "symmetric": self.symmetric.as_dict(),
            "published": published(self.setup.gamma),
        }


def published(gamma: float) -> dict | None:
    """The paper's table for ``gamma``, or None (tables exist for 0.1, 0.01 and 1)."""
    for key, table in PUBLISHED.items():
        if math.isclose(key, gamma, rel_tol=1e-9):
            return {"paths": PUBLISHED_PATHS, **table}
    return None


def quoted_spreads(setup: SimulationSetup) -> np.ndarray:
    """The inventory strategy's spread at each step (it depends on time only, not on the path)."""
    time_left = setup.horizon - np.arange(setup.steps) * setup.dt
    return optimal_spread(setup.gamma, setup.sigma, time_left, setup.k)


def benchmark_spread(setup: SimulationSetup) -> float:
    if setup.benchmark_spread == "stationary":
        return float(optimal_spread(setup.gamma, setup.sigma, 0.0, setup.k))
    return float(quoted_spreads(setup).mean())


def simulate(setup: SimulationSetup, rng: np.random.Generator) -> ExperimentResult:
    """Run both strategies over ``setup.paths`` mid-price paths (vectorised over paths)."""
    n = setup.paths
    step = setup.sigma * math.sqrt(setup.dt)
    spreads = quoted_spreads(setup)
    sym_half = benchmark_spread(setup) / 2.0
    mid = np.full(n, setup.s0)
    inv_q = np.zeros(n)
    inv_cash = np.zeros(n)
    sym_q = np.zeros(n)
    sym_cash = np.zeros(n)
    a_dt = setup.A * setup.dt
    k = setup.k
    for i in range(setup.steps):
        time_left = setup.horizon - i * setup.dt
        r = reservation_price(mid, inv_q, setup.gamma, setup.sigma, time_left)
        half = spreads[i] / 2.0
        inv_ask, inv_bid = r + half, r - half
        sym_ask, sym_bid = mid + sym_half, mid - sym_half

        mid = mid + np.where(rng.random(n) < 0.5, step, -step)
        u_ask = rng.random(n)
        u_bid = rng.random(n)

        sold = u_ask < np.minimum(1.0, a_dt * np.exp(-k * (inv_ask - mid)))
        bought = u_bid < np.minimum(1.0, a_dt * np.exp(-k * (mid - inv_bid)))
        inv_cash += np.where(sold, inv_ask, 0.0) - np.where(bought, inv_bid, 0.0)
        inv_q += bought.astype(float) - sold

        sold = u_ask < np.minimum(1.0, a_dt * np.exp(-k * (sym_ask - mid)))
        bought = u_bid < np.minimum(1.0, a_dt * np.exp(-k * (mid - sym_bid)))
        sym_cash += np.where(sold, sym_ask, 0.0) - np.where(bought, sym_bid, 0.0)
        sym_q += bought.astype(float) - sold

    return ExperimentResult(
        setup=setup,
        inventory=_outcome(float(spreads.mean()), inv_cash + inv_q * mid, inv_q),
        symmetric=_outcome(2.0 * sym_half, sym_cash + sym_q * mid, sym_q),
    )


def symmetric_expected_profit(setup: SimulationSetup, judged_after_move: bool = True) -> float:
    """E[profit] of the symmetric benchmark in closed form (module docstring), for fills judged
    against the mid after the step's move (this simulation) or against the quoting mid."""
    delta = benchmark_spread(setup) / 2.0
    h = setup.sigma * math.sqrt(setup.dt)
    k = setup.k
    base = setup.A * setup.dt * math.exp(-k * delta)
    if max(base * math.exp(k * h), 0.0) > 1.0:
        raise ValueError("a fill probability reaches 1: the cap makes the closed form inexact")
    edge = delta * math.cosh(k * h) - h * math.sinh(k * h) if judged_after_move else delta
    return 2.0 * base * edge * setup.steps


def _outcome(spread: float, profit: np.ndarray, final_q: np.ndarray) -> Outcome:
    ddof = 1 if profit.size > 1 else 0
    return Outcome(
        spread=spread,
        profit_mean=float(profit.mean()),
        profit_std=float(profit.std(ddof=ddof)),
        final_q_mean=float(final_q.mean()),
        final_q_std=float(final_q.std(ddof=ddof)),
    )


def run(gamma: float, paths: int, seed: int, benchmark: str = "stationary") -> ExperimentResult:
    """Convenience: the paper's setup with this gamma, path count and seed."""
    setup = SimulationSetup.from_mapping({"gamma": gamma, "paths": paths, "benchmark_spread": benchmark})
    return simulate(setup, np.random.default_rng(seed))  # type: ignore[arg-type]


def markdown_table(results: list[ExperimentResult], seed: int | None = None) -> str:
    """Reproduced vs published, one row per gamma and strategy: "reproduced / published" cells."""
    first = results[0].setup if results else SimulationSetup()
    lines = [
        f"Avellaneda–Stoikov (2008) §3.3, reproduced with {first.paths} paths"
        + (f" (seed {seed})" if seed is not None else "")
        + f" vs published ({PUBLISHED_PATHS} simulations); cells are reproduced / published.",
        "",
        "| gamma | strategy | spread | profit | std(profit) | final q | std(final q) |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        paper = published(result.setup.gamma)
        for name in STRATEGIES:
            ours = getattr(result, name)
            cells = []
            for measure in MEASURES:
                value = getattr(ours, measure)
                decimals = 3 if measure == "final_q_mean" else 2
                cell = f"{value:.{decimals}f}"
                if paper is not None:
                    cell += f" / {paper[name][measure]:.{decimals}f}"
                cells.append(cell)
            lines.append(f"| {result.setup.gamma:g} | {name} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "The inventory strategy's spread is the time average of gamma sigma^2 (T-t) + (2/gamma) ln(1+gamma/k);",
        "the symmetric benchmark quotes the stationary part (2/gamma) ln(1+gamma/k), which is what the paper's",
        "spread column shows for gamma 0.1 and 0.01 (for gamma 1 it is 1.02; the paper prints 1.15). Each step",
        "(dt = 0.005): quotes are set from the mid, q and T-t at its start; the mid moves +-sigma sqrt(dt); then",
        "each side fills (both may, one unit each) with probability min(1, A exp(-k delta) dt), delta measured",
        "from the moved mid; quotes beyond the mid are not clipped; profit is cash + q_T s_T. The gamma = 1",
        "inventory profit (about 30.7 against 33.92) is the one cell no tested variant reproduces: pre-move fills,",
        "T-t at the step's end, one fill per step or Poisson fill probabilities give 27.5-31.8; clipping quotes",
        "at the mid gives 37.4-38.9 with a profit std above 6 (published 4.72).",
    ]
    return "\n".join(lines)
