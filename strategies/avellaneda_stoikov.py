"""The Avellaneda–Stoikov quoter ("High-frequency trading in a limit order book", Quant. Finance 8(3), 2008).

Around the mid s it quotes symmetrically about the reservation price

    r = s - q * gamma * sigma^2 * (T - t)

with the total spread

    delta_a + delta_b = gamma * sigma^2 * (T - t) + (2 / gamma) * ln(1 + gamma / k).

Units of the live quoter: prices in basis points of the current mid (so one gamma suits a
$60,000 and a $0.06 coin alike), time in seconds, q in order sizes (position / order lots).
sigma is in bps/sqrt(s), k in 1/bps, A in 1/s per side, gamma in 1/(bp * order size).
sigma (EWMA of sampled mid log-returns) and k, A (market orders versus how far beyond the mid
they reached) are estimated online unless fixed. Until min_arrivals market orders have been
seen, k is implied from the book's own spread (the k whose stationary A–S spread equals it), so
the quoter starts at the market's spread. The horizon is rolling (T - t = horizon_s always) or
finite (T - t counts down to the end of each horizon_s-long session).

``reservation_price`` and ``optimal_spread`` take floats or numpy arrays: the paper's simulation
(strategies.experiments.avellaneda_stoikov) uses the very same functions.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from orderbook.instrument import Instrument
from orderbook.trades import TradeTick
from strategies.base import Strategy, StrategyContext
from strategies.estimators import NS_PER_S, ArrivalEstimator, EwmaVolatility, TradeGrouper
from strategies.market_maker import ladder, post_only_prices
from strategies.orders import Fill, Intent, Side
from strategies.parameters import MS_MAX, S_MAX, Parameters, choice, integer, number
from strategies.quoting import Quote, QuoteSync, QuotingParams, auto_order_lots, mid_ticks

NS_PER_MS = 1_000_000


def reservation_price(mid, inventory, gamma, sigma, time_left):
    """r = s - q * gamma * sigma^2 * (T - t): the mid shifted against the inventory."""
    return mid - inventory * gamma * sigma * sigma * time_left


def optimal_spread(gamma, sigma, time_left, k):
    """Total spread gamma * sigma^2 * (T - t) + (2 / gamma) * ln(1 + gamma / k)."""
    return gamma * sigma * sigma * time_left + (2.0 / gamma) * np.log1p(gamma / k)


def implied_k(gamma, spread):
    """The k whose stationary A–S spread (2 / gamma) ln(1 + gamma / k) equals ``spread``
    (0 where exp(gamma * spread / 2) overflows)."""
    with np.errstate(over="ignore"):
        return gamma / np.expm1(gamma * spread / 2.0)


ESTIMATE = "estimate online"


@dataclass(frozen=True)
class AvellanedaStoikovParams(QuotingParams):
    """gamma: risk aversion, 1/(bp * order size). sigma (bps/sqrt(s)), k (1/bp), A (1/s per
    side): 0 = estimate online. horizon: "rolling" (T - t = horizon_s) or "finite" (sessions of
    horizon_s, T - t counting down). Volatility: EWMA over vol_span samples taken at least
    vol_sample_ms apart; quoting starts after min_vol_samples. Arrivals: decayed with
    arrival_halflife_s; the online k replaces the book-implied one after min_arrivals market
    orders. The shared quoting settings (order size, inventory cap, refresh tolerance, order
    age, post-only) are QuotingParams'."""

    # Lower ends keep every term of the quote finite: 2/gamma, ln(1 + gamma/k), sessions of >= 1 s.
    gamma: float = number(0.01, 1e-6, 1_000, "1/(bp x order size)")
    sigma: float = number(0.0, 1e-6, 1_000, "bps/sqrt(s)", zero=ESTIMATE)
    k: float = number(0.0, 1e-6, 1_000, "1/bp", zero=ESTIMATE)
    A: float = number(0.0, 1e-6, 1_000_000, "1/s", zero=ESTIMATE)
    horizon: str = choice("rolling", "rolling", "finite")
    horizon_s: float = number(60.0, 1, S_MAX, "s")
    vol_span: int = integer(60, 1, 1_000_000, "samples")
    vol_sample_ms: int = integer(500, 1, MS_MAX, "ms")
    min_vol_samples: int = integer(5, 1, 1_000_000, "samples")
    arrival_halflife_s: float = number(600.0, 1, S_MAX, "s")
    min_arrivals: int = integer(30, 1, 1_000_000, "market orders")


class AvellanedaStoikovQuoter(Strategy):
    """One bid and one ask at r -/+ spread/2 (see module docstring); ``state()`` shows the estimates."""

    name: ClassVar[str] = "avellaneda_stoikov"
    Params: ClassVar[type[Parameters]] = AvellanedaStoikovParams

    def __init__(self, instrument: Instrument, params: AvellanedaStoikovParams, rng: np.random.Generator) -> None:
        super().__init__(instrument, params, rng)
        self._quotes = QuoteSync.for_quoter(self.name, instrument, self.new_client_id, params)
        self._build_estimators(params)
        self._auto_lots = 0
        self._session_start: int | None = None
        self._book_spread_bps: float | None = None
        self._last_key: tuple | None = None
        self._now = 0
        # what state() shows, kept raw: the dicts are built only when someone looks
        self._shown: tuple | None = None
        self._status: str | None = "warming up"
        self._spread_cache: tuple | None = None
        self._implied_k_cache: tuple | None = None

    def _build_estimators(self, p: AvellanedaStoikovParams) -> None:
        self.volatility = EwmaVolatility(p.vol_span, p.vol_sample_ms * NS_PER_MS)
        self.arrivals = ArrivalEstimator(p.arrival_halflife_s)
        self._grouper = TradeGrouper()

    def update_params(self, params: Parameters) -> None:
        old: AvellanedaStoikovParams = self.params  # type: ignore[assignment]
        super().update_params(params)
        p: AvellanedaStoikovParams = params  # type: ignore[assignment]
        self._quotes.configure_from(p)
        if (old.vol_span, old.vol_sample_ms, old.arrival_halflife_s) != (
            p.vol_span, p.vol_sample_ms, p.arrival_halflife_s
        ):
            self._build_estimators(p)  # estimator windows changed: start the estimates afresh
        if old.horizon != p.horizon or old.horizon_s != p.horizon_s:
            self._session_start = None
        self._last_key = None

    # -- live estimates --------------------------------------------------------------------
    def sigma(self) -> float | None:
        """bps/sqrt(s): the fixed value, or the EWMA once it has min_vol_samples samples."""
        p: AvellanedaStoikovParams = self.params  # type: ignore[assignment]
        if p.sigma:
            return p.sigma
        if self.volatility.samples < p.min_vol_samples:
            return None
        return self.volatility.sigma_bps()

    def k_source(self) -> str:
        """"fixed", "online" (enough market orders seen) or "book" (implied from the book's spread)."""
        p: AvellanedaStoikovParams = self.params  # type: ignore[assignment]
        if p.k:
            return "fixed"
        if self.arrivals.arrivals >= p.min_arrivals and self.arrivals.k is not None:
            return "online"
        return "book"

    def k(self) -> float | None:
        """1/bp (None before the first two-sided book)."""
        p: AvellanedaStoikovParams = self.params  # type: ignore[assignment]
        source = self.k_source()
        if source == "fixed":
            return p.k
        if source == "online":
            return self.arrivals.k
        spread_bps = self._book_spread_bps
        if not spread_bps:
            return None
        cached = self._implied_k_cache  # the spread in bps changes with the touch, not every update
        if cached is not None and cached[0] == spread_bps and cached[1] == p.gamma:
            return cached[2]
        k: float | None = float(implied_k(p.gamma, spread_bps))
        if not (k > 0 and math.isfinite(p.gamma / k)):
            # exp(gamma * spread / 2) overflowed: a spread this wide implies no k at this gamma (the
            # optimal spread would be infinite), so there is nothing to quote until it narrows
            k = None
        self._implied_k_cache = (spread_bps, p.gamma, k)
        return k

    def a(self) -> float | None:
        """1/s per side (None until estimated)."""
        p: AvellanedaStoikovParams = self.params  # type: ignore[assignment]
        if p.A:
            return p.A
        if self.arrivals.arrivals < p.min_arrivals:
            return None
        return self.arrivals.a_at(self._now)

    def time_left(self, now: int) -> float:
        """T - t in seconds."""
        p: AvellanedaStoikovParams = self.params  # type: ignore[assignment]
        if p.horizon == "rolling":
            return p.horizon_s
        if self._session_start is None:
            self._session_start = now
        horizon_ns = int(p.horizon_s * NS_PER_S)
        elapsed = (now - self._session_start) % horizon_ns
        return (horizon_ns - elapsed) / NS_PER_S

    # -- events ----------------------------------------------------------------------------
    def on_book(self, ctx: StrategyContext) -> list[Intent]:
        top = mid_ticks(ctx)
        book_ok = ctx.book_ok
        if top is not None and book_ok:
            mid, best_bid, best_ask = top
            self._book_spread_bps = (best_ask - best_bid) / mid * 10_000.0
            self.volatility.update(ctx.now, mid)
            finished = self._grouper.flush()  # a book update ends the prints of the last aggressor
            if finished is not None:
                self.arrivals.observe(finished[0], finished[2])
        self._now = ctx.now
        # Skip the maths when nothing it depends on moved (see MarketMaker.on_book); with a finite
        # horizon time itself moves the quotes, so then every update counts.
        if self.params.horizon == "rolling":  # type: ignore[attr-defined]
            # quote_inputs(ctx, top), inlined
            key = ((top, ctx.position, len(ctx.open_orders), ctx.risk_state, book_ok),
                   self.volatility.samples, self.arrivals.arrivals)
            if key == self._last_key:
                return []
            self._last_key = key
        return self._requote(ctx, top)

    def on_trade(self, ctx: StrategyContext, trade: TradeTick) -> list[Intent]:
        top = mid_ticks(ctx)
        if top is None or not ctx.book_ok:
            return []
        mid = top[0]
        is_buy = trade.aggressor_is_buy
        depth_bps = (trade.price - mid if is_buy else mid - trade.price) / mid * 10_000.0
        finished = self._grouper.add(trade.ts_event, is_buy, depth_bps, ctx.now)
        if finished is not None:
            self.arrivals.observe(finished[0], finished[2])
        return []

    def on_fill(self, ctx: StrategyContext, fill: Fill) -> list[Intent]:
        self._now = ctx.now
        return self._requote(ctx, mid_ticks(ctx))

    def on_timer(self, ctx: StrategyContext) -> list[Intent]:
        self._now = ctx.now
        return self._requote(ctx, mid_ticks(ctx))

    # -- quoting ---------------------------------------------------------------------------
    def _stop(self, ctx: StrategyContext, reason: str) -> list[Intent]:
        self._status = reason
        return self._quotes.cancel_all(ctx)

    def _requote(self, ctx: StrategyContext, top: tuple[float, int, int] | None) -> list[Intent]:
        if not ctx.book_ok:
            return self._stop(ctx, "book not usable")
        if ctx.risk_state == "HALTED":
            return self._stop(ctx, "risk halted")
        if top is None:
            return self._stop(ctx, "one side of the book is empty")
        mid, best_bid, best_ask = top
        sigma, k = self.sigma(), self.k()
        if sigma is None or k is None:
            missing = [n for n, v in (("sigma", sigma), ("k", k)) if v is None]
            return self._stop(ctx, f"warming up: estimating {', '.join(missing)}")
        targets = self._targets(ctx, mid, best_bid, best_ask, sigma, k)
        quotes = self._quotes
        if quotes.settled(ctx, targets):
            return []
        return quotes.sync(ctx, self._ladders(targets), targets)

    def order_lots(self, mid: float) -> int:
        p: AvellanedaStoikovParams = self.params  # type: ignore[assignment]
        if p.order_lots:
            return p.order_lots
        if not self._auto_lots:
            self._auto_lots = auto_order_lots(self.instrument, mid)
        return self._auto_lots

    def _wanted(
        self, ctx: StrategyContext, mid: float, best_bid: int, best_ask: int, sigma: float, k: float
    ) -> list[Quote]:
        return self._ladders(self._targets(ctx, mid, best_bid, best_ask, sigma, k))

    def _targets(
        self, ctx: StrategyContext, mid: float, best_bid: int, best_ask: int, sigma: float, k: float
    ) -> tuple:
        """(bid, ask, order lots, bid capacity, ask capacity): all the quotes depend on."""
        p: AvellanedaStoikovParams = self.params  # type: ignore[assignment]
        qty = p.order_lots or self.order_lots(mid)
        position = ctx.position
        q = position / qty
        tau = self.time_left(ctx.now)
        ticks_per_bp = mid / 10_000.0
        # the model runs in bps around the mid; quotes come back in ticks
        r = mid + float(reservation_price(0.0, q, p.gamma, sigma, tau)) * ticks_per_bp
        spread = self._optimal_spread_bps(p.gamma, sigma, tau, k) * ticks_per_bp
        bid_price = math.floor(r - spread / 2.0 + 1e-9)
        ask_price = math.ceil(r + spread / 2.0 - 1e-9)
        if p.post_only:
            bid_price, ask_price = post_only_prices(bid_price, ask_price, best_bid, best_ask)

        bid_capacity: int | None = None
        ask_capacity: int | None = None
        if p.max_inventory_lots:
            bid_capacity = max(0, p.max_inventory_lots - position)
            ask_capacity = max(0, p.max_inventory_lots + position)
        if ctx.risk_state == "REDUCING":
            bid_capacity = max(0, -position)
            ask_capacity = max(0, position)
        targets = (bid_price, ask_price, qty, bid_capacity, ask_capacity)
        self._status = None  # quoting, or at the inventory limit: state() tells from the targets
        self._shown = (q, tau, r, spread, ticks_per_bp, targets)
        return targets

    def _optimal_spread_bps(self, gamma: float, sigma: float, tau: float, k: float) -> float:
        """optimal_spread for scalars, remembered: its inputs change far less often than the book."""
        key = (gamma, sigma, tau, k)
        cached = self._spread_cache
        if cached is not None and cached[0] == key:
            return cached[1]
        spread = float(optimal_spread(gamma, sigma, tau, k))
        self._spread_cache = (key, spread)
        return spread

    @staticmethod
    def _ladders(targets: tuple) -> list[Quote]:
        bid_price, ask_price, qty, bid_capacity, ask_capacity = targets
        quotes = ladder(Side.BUY, bid_price, 1, 1, qty, bid_capacity, "bid")
        quotes += ladder(Side.SELL, ask_price, 1, 1, qty, ask_capacity, "ask")
        return quotes

    @property
    def _last(self) -> dict:
        """The last quote computation, for display (empty before the first)."""
        shown = self._shown
        if shown is None:
            return {}
        q, tau, r, spread, ticks_per_bp, targets = shown
        return {
            "inventory": q,
            "time_left_s": tau,
            "reservation_ticks": r,
            "spread_ticks": spread,
            "spread_bps": spread / ticks_per_bp,
            "bid_ticks": targets[0],
            "ask_ticks": targets[1],
        }

    def state(self) -> dict:
        """Live estimates: sigma bps/sqrt(s), k 1/bp, A 1/s per side; reservation_price and
        optimal_spread in quote currency (optimal_spread_bps in bps of the mid)."""
        tick = self.instrument.tick_size
        last = self._last
        status = self._status
        if status is None:
            status = "quoting" if self._ladders(self._shown[-1]) else "inventory limit"
        return {
            "status": status,
            "sigma": _num(self.sigma()),
            "k": _num(self.k()),
            "k_source": self.k_source(),
            "A": _num(self.a()),
            "vol_samples": self.volatility.samples,
            "arrivals": self.arrivals.arrivals,
            "inventory": _num(last.get("inventory")),
            "time_left_s": _num(last.get("time_left_s")),
            "reservation_price": _num(last["reservation_ticks"] * tick if last else None),
            "optimal_spread": _num(last["spread_ticks"] * tick if last else None),
            "optimal_spread_bps": _num(last.get("spread_bps")),
            "bid": _num(last["bid_ticks"] * tick if last else None),
            "ask": _num(last["ask_ticks"] * tick if last else None),
        }


def _num(value: float | None) -> float | None:
    """JSON-safe number: None for missing or non-finite values."""
    if value is None or not math.isfinite(value):
        return None
    return float(value)
