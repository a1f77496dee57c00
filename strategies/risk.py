"""The per-symbol risk manager: every order intent passes ``check`` before it reaches the matcher.

States:
  ACTIVE    all limits apply per order.
  REDUCING  only orders that bring the position towards zero (entered when the drawdown from the
            equity peak exceeds max_drawdown; latched until ``resume``).
  HALTED    no new orders (``pause``, or the day's loss exceeded max_daily_loss; a daily-loss halt
            lifts at the next UTC day of event time, or on ``resume``).
On top of the state, the stale-data guard blocks new orders while the book is resyncing or older
than max_book_age_ms. Entering HALTED or REDUCING, and the guard tripping, return a ``CancelAll``
for the caller to execute. Cancels are never blocked.

Every block and every state change is queued as an event ``(kind, message, data)`` with kind
"risk" (the Activity kind) and data["event"] in {"state", "block", "stale", "fresh", "limits",
"day"}; the caller drains them with ``drain_events()``. Identical block reasons repeating within
one second are folded into the next event of that reason (data["suppressed"]) so a quoter that
retries on every book update cannot flood the activity feed.

Units: positions and order sizes in lots; notional, drawdown and losses in quote currency;
times in ns of event time. A limit of 0 disables it.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from strategies.base import StrategyContext
from strategies.orders import CancelAll, CancelOrder, Intent, OrderStatus, OrderType, PlaceOrder, Side
from strategies.parameters import BPS_MAX, LOTS_MAX, MONEY_MAX, MS_MAX, Parameters, integer, number
from strategies.touch import best_prices

NS_PER_MS = 1_000_000
NS_PER_S = 1_000_000_000
NS_PER_DAY = 86_400 * NS_PER_S
BLOCK_EVENT_INTERVAL_NS = NS_PER_S
_OPEN = frozenset(status for status in OrderStatus if status.is_open)


class RiskState(str, Enum):
    ACTIVE = "ACTIVE"
    REDUCING = "REDUCING"
    HALTED = "HALTED"


_HALTED = RiskState.HALTED  # enum members looked up once: the gate runs for every order
_REDUCING = RiskState.REDUCING
_LIMIT = OrderType.LIMIT


@dataclass(frozen=True)
class RiskLimits(Parameters):
    """max_position / max_order_qty in lots; max_notional, max_drawdown, max_daily_loss in quote
    currency; max_orders_per_sec a sustained rate (burst of the same size); price_collar_bps
    around the mid; max_book_age_ms the stale-data limit. 0 disables a limit."""

    max_position: int = integer(0, 0, LOTS_MAX, "lots")
    max_notional: float = number(0.0, 0, MONEY_MAX, "quote")
    max_order_qty: int = integer(0, 0, LOTS_MAX, "lots")
    max_open_orders: int = integer(50, 0, 10_000, "orders")
    max_orders_per_sec: float = number(20.0, 0, 10_000, "orders/s")
    price_collar_bps: float = number(500.0, 0, BPS_MAX, "bps")
    max_book_age_ms: int = integer(30_000, 0, MS_MAX, "ms")
    max_drawdown: float = number(0.0, 0, MONEY_MAX, "quote")
    max_daily_loss: float = number(0.0, 0, MONEY_MAX, "quote")


class RiskManager:
    """One symbol's risk gate. ``instrument`` converts lots and ticks for notional checks."""

    def __init__(self, instrument, limits: RiskLimits | None = None) -> None:
        self.instrument = instrument
        self.limits = limits or RiskLimits()
        self.state = RiskState.ACTIVE
        self.reason = ""
        self._events: list[tuple[str, str, dict]] = []
        # latches behind the state
        self._paused = ""
        self._daily_halt = ""
        self._drawdown_latch = ""
        # stale-data guard
        self._stale = False
        self._stale_reason = ""
        # order-rate token bucket
        self._tokens = 0.0
        self._tokens_ts: int | None = None
        # equity tracking
        self._peak_equity: float | None = None
        self.drawdown = 0.0
        self._day: int | None = None
        self._day_open_equity: float | None = None
        self._daily_offset = 0.0
        self.daily_pnl = 0.0
        self._last_equity: float | None = None
        self._last_caller_daily: float | None = None
        # block-event folding: reason key -> (last emitted ns, suppressed count)
        self._block_log: dict[str, tuple[int, int]] = {}
        self.blocks = 0

    # -- events ------------------------------------------------------------------------------
    def drain_events(self) -> list[tuple[str, str, dict]]:
        """State changes and blocks since the last call, oldest first."""
        events, self._events = self._events, []
        return events

    @property
    def has_events(self) -> bool:
        """Whether drain_events would return anything (cheaper than draining an empty list)."""
        return bool(self._events)

    @property
    def paused(self) -> bool:
        """Halted by ``pause`` (until ``resume``), whatever else holds."""
        return bool(self._paused)

    @property
    def stale(self) -> bool:
        """The stale-data guard is up: orders blocked until the data is fresh again."""
        return self._stale

    def _emit(self, message: str, **data) -> None:
        self._events.append(("risk", message, data))

    def _set_state(self, now: int) -> list[Intent]:
        """Derive the state from the latches; on a change queue an event, and cancel on the way down."""
        if self._paused or self._daily_halt:
            state, reason = RiskState.HALTED, self._paused or self._daily_halt
        elif self._drawdown_latch:
            state, reason = RiskState.REDUCING, self._drawdown_latch
        else:
            state, reason = RiskState.ACTIVE, ""
        if state is self.state and reason == self.reason:
            return []
        previous = self.state
        self.state, self.reason = state, reason
        message = f"{previous.value} -> {state.value}" + (f": {reason}" if reason else "")
        self._emit(message, event="state", previous=previous.value, state=state.value, reason=reason, ts=now)
        if state is not RiskState.ACTIVE and state is not previous:
            return [CancelAll(f"risk {state.value}: {reason}")]
        return []

    # -- controls ----------------------------------------------------------------------------
    def pause(self, reason: str = "paused by user", now: int = 0) -> list[Intent]:
        """HALT until ``resume``; returns the CancelAll to execute."""
        self._paused = f"paused: {reason}" if not reason.startswith("paused") else reason
        return self._set_state(now)

    def resume(self, now: int = 0) -> list[Intent]:
        """Back to ACTIVE: clears pause, daily-loss halt and drawdown latch, and re-arms both
        guards from the current equity (the loss so far no longer counts against them)."""
        self._paused = ""
        self._daily_halt = ""
        self._drawdown_latch = ""
        if self._last_equity is not None:
            self._peak_equity = self._last_equity
            self.drawdown = 0.0
            self._daily_offset += self.daily_pnl
            self.daily_pnl = 0.0
        return self._set_state(now)

    def update_limits(self, limits: RiskLimits, now: int = 0) -> list[Intent]:
        """New limits take effect at once; a guard they trip acts at the next market/equity update."""
        changed = {k: v for k, v in limits.as_dict().items() if getattr(self.limits, k) != v}
        self.limits = limits
        self._tokens = min(self._tokens, self._bucket_size())
        if changed:
            self._emit("limits changed: " + ", ".join(f"{k}={v}" for k, v in changed.items()),
                       event="limits", changed=changed, ts=now)
        return []

    # -- market and equity updates -----------------------------------------------------------
    def on_market(self, now: int, book_ok: bool, book_age_ns: int) -> list[Intent]:
        """Stale-data guard. book_ok: synced and not resyncing; book_age_ns: now - last book update."""
        limit_ms = self.limits.max_book_age_ms
        if book_ok and not self._stale and (not limit_ms or book_age_ns <= limit_ms * NS_PER_MS):
            return []  # fresh and was fresh: the common case, every book update
        if not book_ok:
            stale_reason = "book not synced (resyncing or no snapshot yet)"
        elif limit_ms and book_age_ns > limit_ms * NS_PER_MS:
            stale_reason = f"book is {book_age_ns // NS_PER_MS} ms old > max_book_age_ms {limit_ms}"
        else:
            stale_reason = ""
        if stale_reason and not self._stale:
            self._stale, self._stale_reason = True, stale_reason
            self._emit(f"stale data: {stale_reason}; cancelling all orders, new orders blocked",
                       event="stale", reason=stale_reason, ts=now)
            return [CancelAll(f"stale data: {stale_reason}")]
        if stale_reason:
            self._stale_reason = stale_reason
        elif self._stale:
            self._stale, self._stale_reason = False, ""
            self._emit("market data fresh again; orders allowed", event="fresh", ts=now)
        return []

    def on_equity(self, now: int, equity: float, daily_pnl: float | None = None) -> list[Intent]:
        """Drawdown and daily-loss guards. equity in quote currency; daily_pnl: the caller's P&L
        since the UTC day began, or None to measure it from this manager's first equity of the day."""
        day = now // NS_PER_DAY
        intents: list[Intent] = []
        if self._day is None or day != self._day:
            if self._day is not None:
                lifted = bool(self._daily_halt)
                self._daily_halt = ""
                self._emit("new UTC day: daily loss reset" + (", daily-loss halt lifted" if lifted else ""),
                           event="day", day=day, ts=now)
                intents += self._set_state(now)
            self._day = day
            self._day_open_equity = equity
            self._daily_offset = 0.0
        self._last_equity = equity
        if daily_pnl is None:
            self.daily_pnl = equity - self._day_open_equity - self._daily_offset
        else:
            self.daily_pnl = daily_pnl - self._daily_offset
        if self._peak_equity is None or equity > self._peak_equity:
            self._peak_equity = equity
        self.drawdown = self._peak_equity - equity

        limits = self.limits
        if limits.max_drawdown and self.drawdown > limits.max_drawdown and not self._drawdown_latch:
            self._drawdown_latch = f"drawdown {self.drawdown:.2f} > max_drawdown {limits.max_drawdown:g}"
        if limits.max_daily_loss and -self.daily_pnl > limits.max_daily_loss and not self._daily_halt:
            self._daily_halt = f"daily loss {-self.daily_pnl:.2f} > max_daily_loss {limits.max_daily_loss:g}"
        return intents + self._set_state(now)

    # -- the gate ----------------------------------------------------------------------------
    def check(self, intent: Intent, ctx: StrategyContext) -> str | None:
        """None when the intent may go to the matcher, else the reason it is blocked."""
        if isinstance(intent, (CancelOrder, CancelAll)):
            return None
        reason_key, reason = self._place_block(intent, ctx)
        if reason is None:
            self._take_token(ctx.now)
            return None
        self._record_block(ctx.now, reason_key, reason, intent)
        return reason

    def _place_block(self, order: PlaceOrder, ctx: StrategyContext) -> tuple[str, str | None]:
        limits = self.limits
        state = self.state
        if state is _HALTED:
            return "halted", f"risk HALTED: {self.reason}"
        if self._stale:
            return "stale", f"stale data: {self._stale_reason}"
        if not ctx.book_ok:
            return "stale", "stale data: book not synced"

        position = ctx.position
        side = order.side
        same_side_open = 0
        open_count = 0
        for o in ctx.open_orders.values():  # one pass: this runs for every order placed
            if o.status in _OPEN:
                open_count += 1
                if o.side == side:
                    same_side_open += o.qty - o.filled
        worst_position = position + side * (same_side_open + order.qty)
        reduces = position != 0 and side == -_sign(position) and same_side_open + order.qty <= abs(position)
        if state is _REDUCING and not reduces:
            return "reducing", (
                f"risk REDUCING ({self.reason}): only position-reducing orders; position {position} lots, "
                f"{order.side.name.lower()} {order.qty} lots would not reduce it"
            )
        if limits.max_order_qty and order.qty > limits.max_order_qty:
            return "max_order_qty", f"order qty {order.qty} lots > max_order_qty {limits.max_order_qty}"
        if limits.max_open_orders and open_count >= limits.max_open_orders:
            return "max_open_orders", f"open orders {open_count} >= max_open_orders {limits.max_open_orders:g}"
        if limits.max_orders_per_sec and not self._has_token(ctx.now):
            return "rate", f"order rate above max_orders_per_sec {limits.max_orders_per_sec:g}"

        bid, ask = best_prices(ctx.book)
        if bid is None or ask is None:
            return "no_market", "no two-sided book to check the order against"
        mid = (bid + ask) / 2.0
        if order.order_type is _LIMIT and order.price is not None and limits.price_collar_bps:
            distance_bps = abs(order.price - mid) / mid * 10_000.0
            if distance_bps > limits.price_collar_bps:
                price = self.instrument.ticks_to_price(order.price)
                return "collar", (
                    f"price {price:g} is {distance_bps:.1f} bps from mid, outside price_collar_bps "
                    f"{limits.price_collar_bps:g}"
                )
        if reduces:
            return "", None  # a reducing order never breaches a position or notional limit
        if limits.max_position and abs(worst_position) > limits.max_position:
            return "max_position", (
                f"position could reach {worst_position} lots (with open orders) > max_position "
                f"{limits.max_position}"
            )
        if limits.max_notional:
            if order.price is not None:
                price_ticks = order.price
            else:
                price_ticks = ask if order.side is Side.BUY else bid
            notional = abs(worst_position) * self.instrument.lots_to_qty(1) * self.instrument.ticks_to_price(price_ticks)
            if notional > limits.max_notional:
                return "max_notional", (
                    f"notional could reach {notional:.8g} > max_notional {limits.max_notional:g}"
                )
        return "", None

    # -- order-rate token bucket -------------------------------------------------------------
    def _bucket_size(self) -> float:
        return max(1.0, self.limits.max_orders_per_sec)

    def _refill(self, now: int) -> None:
        if self._tokens_ts is None:
            self._tokens = self._bucket_size()
        else:
            elapsed_s = max(0, now - self._tokens_ts) / NS_PER_S
            self._tokens = min(self._bucket_size(), self._tokens + elapsed_s * self.limits.max_orders_per_sec)
        self._tokens_ts = now

    def _has_token(self, now: int) -> bool:
        self._refill(now)
        return self._tokens >= 1.0

    def _take_token(self, now: int) -> None:
        if self.limits.max_orders_per_sec:
            if self._tokens_ts != now:  # check() has just refilled at now: again would add nothing
                self._refill(now)
            self._tokens -= 1.0

    # -- block events ------------------------------------------------------------------------
    def _record_block(self, now: int, key: str, reason: str, order: PlaceOrder) -> None:
        self.blocks += 1
        last, suppressed = self._block_log.get(key, (None, 0))
        if last is not None and now - last < BLOCK_EVENT_INTERVAL_NS:
            self._block_log[key] = (last, suppressed + 1)
            return
        self._block_log[key] = (now, 0)
        message = f"blocked {order.side.name.lower()} {order.qty} lots ({order.client_id}): {reason}"
        if suppressed:
            message += f" (+{suppressed} similar blocks in the last second)"
        self._emit(message, event="block", rule=key, reason=reason, client_id=order.client_id,
                   suppressed=suppressed, ts=now)

    # -- display -----------------------------------------------------------------------------
    def snapshot(self) -> dict:
        """JSON-safe summary for the pushed snapshot."""
        return {
            "state": self.state.value,
            "reason": self.reason or (f"stale data: {self._stale_reason}" if self._stale else ""),
            "stale": self._stale,
            "limits": self.limits.as_dict(),
            "drawdown": self.drawdown,
            "daily_pnl": self.daily_pnl,
            "blocks": self.blocks,
        }


def _sign(value: int) -> int:
    return (value > 0) - (value < 0)
