"""The liquidity taker: crosses the spread when book imbalance, trade flow and momentum agree.

Entry (flat, cooled down, risk ACTIVE): every enabled signal must point the same way — top-N
book imbalance >= imbalance_threshold, trade-flow imbalance over flow_window_ms >=
flow_threshold, mid momentum over momentum_window_ms >= momentum_threshold_bps (mirror images
for a short). A threshold of 0 disables that signal. Orders are IOC limits slippage_ticks
through the touch, or market orders.

Exit: take-profit / stop-loss in bps of the entry price, marked at the price the position would
exit at (best bid when long, best ask when short), or the time stop. Once an exit starts it
repeats, at most every retry_ms, for any unfilled remainder until flat. A remainder the exchange
would refuse (below minQty or minNotional) is dust: it is left alone and counts as flat, since no
order can close it. The cooldown runs from every entry attempt and from every return to flat, so
a failed IOC or a stop-out is not chased immediately.

Position and entry price come from this strategy's own fills, so it can share a symbol with a
market maker.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from orderbook.instrument import Instrument
from orderbook.trades import TradeTick
from strategies.base import Strategy, StrategyContext
from strategies.filters import order_rejection
from strategies.orders import Fill, Intent, OrderType, PlaceOrder, Side, TimeInForce
from strategies.parameters import BPS_MAX, LOTS_MAX, MS_MAX, TICKS_MAX, Parameters, choice, flag, integer, number, require
from strategies.quoting import auto_order_lots, mid_ticks
from strategies.signals import Momentum, TradeFlow, book_imbalance

NS_PER_MS = 1_000_000


@dataclass(frozen=True)
class LiquidityTakerParams(Parameters):
    """Thresholds: imbalance and flow in [-1, 1] terms, momentum in bps; 0 disables a signal.
    take_profit_bps / stop_loss_bps from the entry price; time_stop_ms 0 = no time stop;
    retry_ms: least time between two exit orders for an unfilled remainder.
    order_type "ioc" (limit, slippage_ticks through the touch) or "market"; order_lots 0 =
    minimum notional."""

    imbalance_levels: int = integer(5, 1, 100, "levels")
    imbalance_threshold: float = number(0.3, 0, 1)
    flow_window_ms: int = integer(5_000, 1, MS_MAX, "ms")
    flow_threshold: float = number(0.3, 0, 1)
    momentum_window_ms: int = integer(5_000, 1, MS_MAX, "ms")
    momentum_threshold_bps: float = number(0.0, 0, BPS_MAX, "bps")
    take_profit_bps: float = number(10.0, 0, BPS_MAX, "bps", lo_open=True)
    stop_loss_bps: float = number(10.0, 0, BPS_MAX, "bps", lo_open=True)
    time_stop_ms: int = integer(60_000, 0, MS_MAX, "ms")
    cooldown_ms: int = integer(5_000, 0, MS_MAX, "ms")
    retry_ms: int = integer(200, 0, MS_MAX, "ms")
    order_lots: int = integer(0, 0, LOTS_MAX, "lots")
    order_type: str = choice("ioc", "ioc", "market")
    slippage_ticks: int = integer(2, 0, TICKS_MAX, "ticks")
    allow_short: bool = flag(True)

    def validate(self) -> None:
        require(
            self.imbalance_threshold > 0 or self.flow_threshold > 0 or self.momentum_threshold_bps > 0,
            f"{type(self).__name__}: enable at least one entry signal "
            "(imbalance_threshold, flow_threshold or momentum_threshold_bps > 0)",
        )


class LiquidityTaker(Strategy):
    """Signal-driven taker with take-profit, stop-loss, time stop and cooldown (module docstring)."""

    name: ClassVar[str] = "liquidity_taker"
    Params: ClassVar[type[Parameters]] = LiquidityTakerParams

    def __init__(self, instrument: Instrument, params: LiquidityTakerParams, rng: np.random.Generator) -> None:
        super().__init__(instrument, params, rng)
        self._prefix = f"{self.name}-{instrument.symbol}-"
        self.flow = TradeFlow(params.flow_window_ms * NS_PER_MS)
        self.momentum = Momentum(params.momentum_window_ms * NS_PER_MS)
        self.position = 0  # lots, from own fills
        self.entry_price = 0.0  # ticks, average of the open position
        self.entry_ts = 0  # ns of the fill that opened the position
        self._inflight: set[str] = set()
        self._next_entry_ns = 0
        self._next_exit_ns = 0
        self._exit_reason = ""
        self.dust = False  # the open position cannot be traded (below the exchange's minimums)
        self._auto_lots = 0
        self._signals: dict = {"imbalance": None, "flow": None, "momentum_bps": None}
        self._last_action = ""
        self._now = 0

    def update_params(self, params: Parameters) -> None:
        super().update_params(params)
        p: LiquidityTakerParams = params  # type: ignore[assignment]
        if self.flow.window_ns != p.flow_window_ms * NS_PER_MS:
            self.flow = TradeFlow(p.flow_window_ms * NS_PER_MS)
        if self.momentum.window_ns != p.momentum_window_ms * NS_PER_MS:
            self.momentum = Momentum(p.momentum_window_ms * NS_PER_MS)

    # -- events ----------------------------------------------------------------------------
    def on_book(self, ctx: StrategyContext) -> list[Intent]:
        top = mid_ticks(ctx)
        if top is not None and ctx.book_ok:
            self.momentum.add(ctx.now, top[0])
        return self._act(ctx, top)

    def on_trade(self, ctx: StrategyContext, trade: TradeTick) -> list[Intent]:
        self.flow.add(trade.ts_event, trade.qty, trade.aggressor_is_buy)
        return self._act(ctx, mid_ticks(ctx))

    def on_timer(self, ctx: StrategyContext) -> list[Intent]:
        return self._act(ctx, mid_ticks(ctx))

    def on_fill(self, ctx: StrategyContext, fill: Fill) -> list[Intent]:
        if not fill.client_id.startswith(self._prefix):
            return []
        signed = fill.qty * int(fill.side)
        before = self.position
        after = before + signed
        if before == 0 or (before > 0) != (after > 0) and after != 0:
            self.entry_price = float(fill.price)  # opened, or flipped through zero
            self.entry_ts = fill.ts
        elif abs(after) > abs(before):  # added to the position
            self.entry_price = (self.entry_price * abs(before) + fill.price * fill.qty) / abs(after)
        self.position = after
        self.dust = False
        if after == 0:
            self.entry_price = 0.0
            self.entry_ts = 0
            self._exit_reason = ""
            self._next_entry_ns = max(self._next_entry_ns, fill.ts + self.params.cooldown_ms * NS_PER_MS)
        return []

    # -- decisions -------------------------------------------------------------------------
    def _act(self, ctx: StrategyContext, top: tuple[float, int, int] | None) -> list[Intent]:
        self._now = ctx.now
        if self._inflight:
            open_ids = ctx.open_orders.keys()
            self._inflight = {cid for cid in self._inflight if cid in open_ids}
        if top is None or not ctx.book_ok or self._inflight or ctx.risk_state == "HALTED":
            return []
        mid, best_bid, best_ask = top
        if self.position and not self.dust:
            return self._maybe_exit(ctx, best_bid, best_ask)
        if ctx.risk_state != "ACTIVE" or ctx.now < self._next_entry_ns:
            return []
        direction = self.entry_signal(ctx, mid)
        if direction is None:
            return []
        p: LiquidityTakerParams = self.params  # type: ignore[assignment]
        self._next_entry_ns = ctx.now + p.cooldown_ms * NS_PER_MS
        qty = p.order_lots or self._auto_order_lots(mid)
        self._last_action = f"entry {'long' if direction is Side.BUY else 'short'}"
        return [self._order(direction, qty, best_bid, best_ask, "entry")]

    def entry_signal(self, ctx: StrategyContext, mid: float) -> Side | None:
        """The side every enabled signal agrees on, or None. Signals are computed cheapest first
        and only until one disagrees: this runs on every event while the taker is flat."""
        p: LiquidityTakerParams = self.params  # type: ignore[assignment]
        signals = self._signals = {"imbalance": None, "flow": None, "momentum_bps": None}
        side: Side | None = None
        for name, threshold in (
            ("flow", p.flow_threshold),
            ("momentum_bps", p.momentum_threshold_bps),
            ("imbalance", p.imbalance_threshold),
        ):
            if threshold <= 0:
                continue
            if name == "flow":
                value = self.flow.value(ctx.now)
            elif name == "momentum_bps":
                value = self.momentum.value(ctx.now, mid)
            else:
                value = book_imbalance(ctx.book, p.imbalance_levels)
            signals[name] = value
            if value is None:
                return None
            if value >= threshold:
                vote = Side.BUY
            elif value <= -threshold:
                vote = Side.SELL
            else:
                return None
            if side is not None and vote is not side:
                return None
            side = vote
        if side is Side.SELL and not p.allow_short:
            return None
        return side

    def _maybe_exit(self, ctx: StrategyContext, best_bid: int, best_ask: int) -> list[Intent]:
        p: LiquidityTakerParams = self.params  # type: ignore[assignment]
        if not self._exit_reason:
            exit_price = best_bid if self.position > 0 else best_ask
            direction = 1 if self.position > 0 else -1
            pnl_bps = direction * (exit_price - self.entry_price) / self.entry_price * 10_000.0
            if pnl_bps >= p.take_profit_bps:
                self._exit_reason = "take-profit"
            elif pnl_bps <= -p.stop_loss_bps:
                self._exit_reason = "stop-loss"
            elif p.time_stop_ms and ctx.now - self.entry_ts >= p.time_stop_ms * NS_PER_MS:
                self._exit_reason = "time-stop"
            else:
                return []
        if ctx.now < self._next_exit_ns:
            return []
        side = Side.SELL if self.position > 0 else Side.BUY
        qty = abs(self.position)
        if order_rejection(self.instrument, None, qty, best_bid if side is Side.SELL else best_ask):
            # no order can close this remainder: leave it, and trade on as if flat
            self.dust = True
            self._exit_reason = ""
            self._last_action = f"dust: {qty} lots below the exchange minimums, left open"
            return []
        self._next_exit_ns = ctx.now + p.retry_ms * NS_PER_MS
        self._last_action = f"exit {self._exit_reason}"
        return [self._order(side, qty, best_bid, best_ask, self._exit_reason)]

    def _order(self, side: Side, qty: int, best_bid: int, best_ask: int, tag: str) -> PlaceOrder:
        p: LiquidityTakerParams = self.params  # type: ignore[assignment]
        client_id = self.new_client_id(tag + "-")
        self._inflight.add(client_id)
        if p.order_type == "market":
            return PlaceOrder(client_id, side, qty, None, OrderType.MARKET, TimeInForce.IOC, tag=tag)
        price = best_ask + p.slippage_ticks if side is Side.BUY else max(1, best_bid - p.slippage_ticks)
        return PlaceOrder(client_id, side, qty, price, OrderType.LIMIT, TimeInForce.IOC, tag=tag)

    def _auto_order_lots(self, mid: float) -> int:
        if not self._auto_lots:
            self._auto_lots = auto_order_lots(self.instrument, mid)
        return self._auto_lots

    def state(self) -> dict:
        tick = self.instrument.tick_size
        return {
            "position": self.position,
            "entry_price": self.entry_price * tick if self.position else None,
            "holding_ms": (self._now - self.entry_ts) // NS_PER_MS if self.position else None,
            "imbalance": self._signals["imbalance"],
            "flow": self._signals["flow"],
            "momentum_bps": self._signals["momentum_bps"],
            "cooldown_remaining_ms": max(0, self._next_entry_ns - self._now) // NS_PER_MS,
            "exiting": self._exit_reason or None,
            "dust": self.dust,
            "last_action": self._last_action,
        }
