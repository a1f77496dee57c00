"""One symbol's trading session: market events in; strategies, risk, paper matcher and accounting wired.

Per event the order is fixed, so a run is reproducible: the portfolio closes finished seconds, the
matcher sees the market first (the exchange moves before we can react), fills reach the portfolio and
their strategy, risk learns the market state, then each enabled strategy reacts and its intents go
through risk (a block becomes a reject entry) to the matcher.

Several strategies can share a symbol. Each sees only its own open orders and its own position
(``StrategyContext.position``, average entry); risk sees the symbol's net position and every open order.

Strategy code is not trusted to be bug-free: an exception from any of its calls (on_book, on_trade,
on_timer, on_fill, state) switches that strategy off on this symbol, cancels its orders and says so
in the activity feed with the error; the other strategies and the accounting go on. The exceptions
are kept in ``faults`` for the caller to log with their tracebacks.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from orderbook.book import OrderBook
from orderbook.instrument import Instrument
from orderbook.trades import TradeTick
from strategies.activity import Activity
from strategies.base import Strategy, StrategyContext
from strategies.filters import DUPLICATE_ORDER, UNKNOWN_ORDER
from strategies.matching import OrderEvent, PaperMatcher
from strategies.orders import CancelAll, CancelOrder, Fill, Intent, Order, OrderStatus, PlaceOrder, Side, TimeInForce
from strategies.parameters import ParameterError
from strategies.portfolio import DAY_NS, Portfolio, average_cost
from strategies.risk import RiskManager
from strategies.touch import best_prices

ActivitySink = Callable[[Activity], None]

_BUY = Side.BUY
_GTC = TimeInForce.GTC
_STATUS_TEXT = {status: status.value for status in OrderStatus}  # enum .value is a slow property
_TEXT_CACHE = 10_000  # prices and sizes remembered for activity texts, per session
MAX_FAULTS = 64  # strategy errors kept until drained: each one switches a strategy off, so few arrive
FAULT_CHARS = 200  # the longest error text shown in the activity feed and the snapshot
_MAX_REACTION_DEPTH = 32  # fills answered by orders that fill at once: bounded, never a runaway loop
# Fills kept between two snapshots for the snapshot's "fills" list (a push is every 200 ms). More
# in one interval is a runaway strategy: the oldest leave the list, while the account and the
# activity feed still count every fill. (Activity texts: a full _TEXT_CACHE, ~1 MB, is emptied and
# refills with the prices and sizes quoted now.)
FILLS_KEPT_PER_PUSH = 500


_SIDE_TEXT = {Side.BUY: "BUY", Side.SELL: "SELL"}
_TIF_TEXT = {tif: tif.value for tif in TimeInForce}


def _order_terms(order: Order) -> dict[str, Any]:
    """What an order asked for, in the activity entry that opens (or refuses) it: side, price
    (ticks, None for MARKET), qty (lots), time in force, post-only, tag. With these the entry is
    a complete record of the order (the account journal keeps its orders from them)."""
    return {"side": _SIDE_TEXT[order.side], "price": order.price, "qty": order.qty,
            "tif": _TIF_TEXT[order.time_in_force], "post_only": order.post_only, "tag": order.tag}


class StrategySlot:
    """A strategy in a session: its switch, its open orders and its own position."""

    __slots__ = ("strategy", "name", "enabled", "ctx", "orders", "position", "avg_price", "fault")

    def __init__(self, strategy: Strategy, enabled: bool, ctx: StrategyContext) -> None:
        self.strategy = strategy
        self.name = strategy.name
        self.enabled = enabled
        self.ctx = ctx
        self.orders: dict[str, Order] = {}
        ctx.open_orders = self.orders  # the strategy sees its own open orders, live
        self.position = 0  # signed lots filled by this strategy
        self.avg_price = 0.0  # ticks, average cost of this strategy's open position
        self.fault = ""  # why the session switched it off after an error ("" = none; cleared on re-enable)

    def on_fill(self, fill: Fill) -> None:
        signed = fill.qty if fill.side is _BUY else -fill.qty
        self.position, self.avg_price, _ = average_cost(self.position, self.avg_price, signed, fill.price)


@dataclass(frozen=True, slots=True)
class StrategyFault:
    """A strategy raised: it was switched off on this symbol. ``error`` keeps the exception (and
    its traceback) for the caller's server-side log; only its one-line text reaches the activity."""

    ts: int
    symbol: str
    strategy: str
    hook: str
    error: BaseException


@dataclass(frozen=True, slots=True)
class SessionFill:
    """A fill with the strategy it belongs to (for the snapshot's "fills" list)."""

    strategy: str
    fill: Fill


class SymbolSession:
    """Strategies, risk, matcher and account of one symbol. Times: local ns (ts_recv clock)."""

    def __init__(
        self,
        instrument: Instrument,
        strategies: Iterable[Strategy],
        risk: RiskManager,
        matcher: PaperMatcher,
        portfolio: Portfolio,
        activity: ActivitySink,
        *,
        enabled: Mapping[str, bool] | None = None,
        keep_fills: int = FILLS_KEPT_PER_PUSH,
    ) -> None:
        self.instrument = instrument
        self.symbol = instrument.symbol
        self.risk = risk
        self.matcher = matcher
        self.portfolio = portfolio
        self.account = portfolio.add(instrument)
        self._emit = activity
        self.book = OrderBook(instrument)  # the last book seen (empty until the first book event)
        self.book_ok = False
        self.now = 0
        self._last_book_ns: int | None = None
        self.slots: list[StrategySlot] = []
        self._by_name: dict[str, StrategySlot] = {}
        self._owner: dict[str, StrategySlot] = {}  # client_id -> slot, for open orders
        self._recent_fills: deque[SessionFill] = deque(maxlen=keep_fills)
        self.faults: deque[StrategyFault] = deque(maxlen=MAX_FAULTS)  # drained by the caller (drain_faults)
        self._depth = 0
        self._seen_risk_state: Any = None
        self._equity_seen: tuple[float, int] | None = None
        self._counts = {"orders": 0, "rejected": 0, "canceled": 0, "expired": 0, "cancel_rejected": 0}
        self._qty_texts: dict[int, str] = {}
        self._price_texts: dict[int, str] = {}
        self._risk_ctx = StrategyContext(
            now=0, instrument=instrument, book=self.book, position=0, avg_entry_price=0.0,
            open_orders=matcher.orders, book_ok=False, risk_state=self._risk_state(),
        )
        switches = dict(enabled or {})
        for strategy in strategies:
            if strategy.name in self._by_name:
                raise ValueError(f"{self.symbol}: strategy {strategy.name!r} given twice")
            if strategy.instrument.symbol != self.symbol:
                raise ValueError(f"strategy {strategy.name!r} is for {strategy.instrument.symbol}, not {self.symbol}")
            slot = StrategySlot(strategy, switches.pop(strategy.name, True), StrategyContext(
                now=0, instrument=instrument, book=self.book, position=0, avg_entry_price=0.0,
                open_orders={}, book_ok=False, risk_state=self._risk_ctx.risk_state,
            ))
            self.slots.append(slot)
            self._by_name[strategy.name] = slot
        if switches:
            raise ValueError(f"{self.symbol}: no strategy named {', '.join(sorted(switches))}")
        self._enabled: list[StrategySlot] = []
        self._trade_listeners: list[StrategySlot] = []
        self._refresh_enabled()

    def _refresh_enabled(self) -> None:
        self._enabled = [slot for slot in self.slots if slot.enabled]
        # Strategy.on_trade does nothing: most quoters keep it, and trades are half the events
        self._trade_listeners = [
            slot for slot in self._enabled
            if getattr(slot.strategy.on_trade, "__func__", None) is not Strategy.on_trade
        ]

    # -- market events -------------------------------------------------------------------------
    def on_book(self, ts_recv: int, book: OrderBook, book_ok: bool = True) -> None:
        """The book changed (a diff or snapshot was applied). book_ok: synced and fresh."""
        self.now = ts_recv
        self.book = book
        self.book_ok = book_ok
        self._last_book_ns = ts_recv
        portfolio = self.portfolio
        if ts_recv >= portfolio.next_sample_ns:
            portfolio.advance(ts_recv)
        events = self.matcher.on_book(ts_recv, book)
        if events:
            self._handle(events)
        account = self.account
        # flat: the mark does not enter equity (snapshots mark on demand), unless it values another asset
        if account.position or account.prices_others:
            self._mark(book)
        risk = self.risk
        if book_ok and not risk.stale:  # on_market(now, True, 0) would change nothing: skip the call
            if risk.has_events or risk.state is not self._seen_risk_state:
                self._drain_risk()
        else:
            actions = risk.on_market(ts_recv, book_ok, 0)
            if actions or risk.state is not self._seen_risk_state:
                self._risk_actions(actions)
            else:
                self._drain_risk()
        for slot in self._enabled:
            try:
                intents = slot.strategy.on_book(self._ctx(slot))
                if intents:
                    self._route(slot, intents)
            except Exception as exc:
                self._fault(slot, "on_book", exc)

    def on_trade(self, trade: TradeTick) -> None:
        """A public trade print."""
        now = trade.ts_recv
        self.now = now
        portfolio = self.portfolio
        if now >= portfolio.next_sample_ns:
            portfolio.advance(now)
        events = self.matcher.on_trade(now, trade, self.book)
        if events:
            self._handle(events)
        for slot in self._trade_listeners:
            try:
                intents = slot.strategy.on_trade(self._ctx(slot), trade)
                if intents:
                    self._route(slot, intents)
            except Exception as exc:
                self._fault(slot, "on_trade", exc)

    def on_timer(self, now: int) -> None:
        """A periodic tick of event time: orders in flight arrive, risk sees book age and equity, strategies' timers."""
        self.now = now
        self.portfolio.advance(now)
        if self.account.position or self.account.prices_others:
            self._mark(self.book)
        events = self.matcher.advance(now, self.book)
        if events:
            self._handle(events)
        age = now - self._last_book_ns if self._last_book_ns is not None else 0
        self._risk_market(now, self.book_ok, age)
        self._risk_equity_if_changed(now)
        for slot in self._enabled:
            try:
                intents = slot.strategy.on_timer(self._ctx(slot))
                if intents:
                    self._route(slot, intents)
            except Exception as exc:
                self._fault(slot, "on_timer", exc)

    def on_book_status(self, now: int, synced: bool, stale: bool = False, reason: str = "") -> None:
        """The feed's verdict on the book changed: an unusable book blocks new orders and cancels resting ones."""
        self.now = now
        book_ok = synced and not stale
        if book_ok == self.book_ok:
            return
        self.book_ok = book_ok
        state = "synced" if book_ok else ("stale" if stale else "not synced")
        self._emit(Activity(now, self.symbol, "feed", f"book {state}" + (f": {reason}" if reason else ""),
                            {"synced": synced, "stale": stale, "reason": reason}))
        age = now - self._last_book_ns if self._last_book_ns is not None else 0
        self._risk_market(now, book_ok, age)

    # -- controls ------------------------------------------------------------------------------
    def strategy_names(self) -> list[str]:
        return [slot.name for slot in self.slots]

    def strategy(self, name: str) -> Strategy:
        """The running strategy called ``name`` (ParameterError when there is none)."""
        return self._slot(name).strategy

    def set_enabled(self, name: str, enabled: bool) -> None:
        """Start or stop a strategy; stopping cancels its open orders. Unknown name: ParameterError."""
        slot = self._slot(name)
        if slot.enabled == enabled:
            return
        slot.enabled = enabled
        if enabled:
            slot.fault = ""
        self._refresh_enabled()
        self._emit(Activity(self.now, self.symbol, "strategy", f"{name} {'started' if enabled else 'stopped'}",
                            {"strategy": name, "enabled": enabled}))
        if not enabled:
            self._cancel_orders(list(slot.orders))

    def update_params(self, name: str, changes: Mapping[str, Any]) -> None:
        """Change some parameters of a running strategy (validated: raises strategies.base.ParameterError)."""
        slot = self._slot(name)
        strategy = slot.strategy
        merged = strategy.params.as_dict()
        merged.update(changes)
        params = type(strategy.params).from_mapping(merged)
        strategy.update_params(params)
        shown = ", ".join(f"{k}={v}" for k, v in sorted(changes.items()))
        self._emit(Activity(self.now, self.symbol, "strategy", f"{name} parameters: {shown}",
                            {"strategy": name, "params": dict(changes)}))

    def configure(self, name: str, enabled: bool | None = None, params: Mapping[str, Any] | None = None) -> None:
        """The control panel's `strategy` command: parameters first (all or nothing), then the switch."""
        slot = self._slot(name)
        if params:
            self.update_params(slot.name, params)
        if enabled is not None:
            self.set_enabled(slot.name, enabled)

    def drain_faults(self) -> list[StrategyFault]:
        """The strategy errors since the last call, oldest first (at most MAX_FAULTS kept)."""
        faults = list(self.faults)
        self.faults.clear()
        return faults

    def cancel_all(self, reason: str) -> None:
        """Cancel every open order of the symbol (operator or risk action)."""
        if self.matcher.orders:
            self._emit(Activity(self.now, self.symbol, "cancel", f"cancel all: {reason}", {"reason": reason}))
            self._cancel_orders(list(self.matcher.orders))

    def restore_fill(self, strategy: str, fill: Fill) -> None:
        """A fill of an earlier run (the account journal's), booked again through the same
        accounting as a live one: the symbol's account and the strategy's own position. Nothing
        else happens: no activity entry (the journal has it), no strategy reaction, no risk action.
        A strategy this run does not have leaves only the symbol's account changed."""
        self.portfolio.on_fill(fill)
        slot = self._by_name.get(strategy)
        if slot is not None:
            slot.on_fill(fill)

    def counters(self) -> dict[str, int]:
        """Orders accepted, rejected (by the exchange rules), canceled, expired; blocked by risk; open now."""
        counts = dict(self._counts)
        counts["blocked"] = getattr(self.risk, "blocks", 0)
        counts["open_orders"] = len(self.matcher.orders)
        return counts

    def _slot(self, name: str) -> StrategySlot:
        slot = self._by_name.get(name)
        if slot is None:  # same error type as a bad parameter: the control panel reports either as one line
            raise ParameterError(f"{self.symbol}: no strategy {name!r}; running: {', '.join(self._by_name) or 'none'}")
        return slot

    # -- internals -----------------------------------------------------------------------------
    def _fault(self, slot: StrategySlot, hook: str, exc: Exception) -> None:
        """Strategy code raised: switch that strategy off here and cancel its orders; the rest goes on.

        A strategy that raised once has unknown internal state, so it is not called again until
        someone switches it back on (which clears the fault). Its error text is one line, cut to
        FAULT_CHARS: the activity feed is public, the traceback stays in ``faults`` for the log.
        """
        text = f"{type(exc).__name__}: {exc}"
        slot.fault = text if len(text) <= FAULT_CHARS else text[: FAULT_CHARS - 3] + "..."
        self.faults.append(StrategyFault(self.now, self.symbol, slot.name, hook, exc))
        was_enabled = slot.enabled
        slot.enabled = False
        self._refresh_enabled()
        if was_enabled:
            self._emit(Activity(self.now, self.symbol, "strategy",
                                f"{slot.name} stopped: error in {hook}: {slot.fault}",
                                {"strategy": slot.name, "enabled": False, "hook": hook, "error": slot.fault}))
        if slot.orders:
            self._cancel_orders(list(slot.orders))

    def _ctx(self, slot: StrategySlot) -> StrategyContext:
        ctx = slot.ctx
        ctx.now = self.now
        ctx.book = self.book
        ctx.position = slot.position
        ctx.avg_entry_price = slot.avg_price
        ctx.book_ok = self.book_ok
        ctx.risk_state = self._risk_ctx.risk_state
        return ctx

    def _mark(self, book: OrderBook) -> None:
        """Mark the position to the mid (ticks); one side only: its best price."""
        bid, ask = best_prices(book)
        if bid is not None:
            if ask is not None:
                self.account.mark = (bid + ask) / 2.0
            else:
                self.account.mark = float(bid)
        elif ask is not None:
            self.account.mark = float(ask)

    def _route(self, slot: StrategySlot, intents: Iterable[Intent]) -> None:
        """Strategy intents through risk to the matcher."""
        risk_ctx = self._refresh_risk_ctx()
        matcher = self.matcher
        owners = self._owner
        check = self.risk.check
        now = self.now
        for intent in intents:
            kind = type(intent)
            if kind is CancelOrder:
                cid = intent.client_id
                if owners.get(cid) is not slot:  # a strategy may only cancel its own orders
                    self._cancel_rejected(now, cid, slot.name, UNKNOWN_ORDER)
                    continue
                events = matcher.cancel(now, cid, self.book)
                if events:
                    self._handle(events)
                continue
            if kind is CancelAll:
                self._cancel_orders(list(slot.orders))
                continue
            cid = intent.client_id
            if cid in owners:
                self._reject(cid, slot.name, DUPLICATE_ORDER, "exchange", intent)
                continue
            if check(intent, risk_ctx):
                continue  # risk queued a (folded) block event: it becomes the reject entry
            owners[cid] = slot
            self._handle(matcher.submit(now, intent, self.book))
            risk_ctx.position = self.account.position
        self._drain_risk()

    def _cancel_orders(self, client_ids: list[str]) -> None:
        if not client_ids:
            return
        events = self.matcher.cancel_all(self.now, self.book, client_ids)
        if events:
            self._handle(events)

    def _handle(self, events: Iterable[Fill | OrderEvent]) -> None:
        """Matcher output: accounting, activity, and the owning strategy's on_fill."""
        self._depth += 1
        try:
            for event in events:
                if type(event) is Fill:
                    self._on_fill(event)
                else:
                    self._on_order_event(event)
        finally:
            self._depth -= 1

    def _on_fill(self, fill: Fill) -> None:
        slot = self._owner.get(fill.client_id)
        self.portfolio.on_fill(fill)
        self._mark(self.book)
        name = slot.name if slot is not None else ""
        self._recent_fills.append(SessionFill(name, fill))
        instrument = self.instrument
        side = "BUY" if fill.side is _BUY else "SELL"
        self._emit(Activity(
            fill.ts, self.symbol, "fill",
            f"{side} {instrument.lots_to_str(fill.qty).rstrip('0').rstrip('.')} @ "
            f"{instrument.ticks_to_price(fill.price):.{instrument.price_decimals}f} "
            f"{fill.liquidity.value} ({fill.reason.value}) fee {fill.fee:.8g} {fill.tag}".rstrip(),
            {"client_id": fill.client_id, "strategy": name, "side": side, "price": fill.price, "qty": fill.qty,
             "liquidity": fill.liquidity.value, "reason": fill.reason.value, "fee": fill.fee, "tag": fill.tag,
             "trade_id": fill.trade_id, **fill.detail},
        ))
        if slot is None:
            return
        slot.on_fill(fill)
        order = slot.orders.get(fill.client_id)
        if order is not None and not order.status.is_open:
            self._forget(fill.client_id)
        self._risk_equity(fill.ts)
        if slot.enabled and self._depth <= _MAX_REACTION_DEPTH:
            try:
                intents = slot.strategy.on_fill(self._ctx(slot), fill)
                if intents:
                    self._route(slot, intents)
            except Exception as exc:  # the fill is booked above: only the strategy's reaction is lost
                self._fault(slot, "on_fill", exc)

    def _on_order_event(self, event: OrderEvent) -> None:
        kind = event.kind
        cid = event.client_id
        slot = self._owner.get(cid)
        name = slot.name if slot is not None else ""
        order = event.order
        self._counts[kind if kind != "accepted" else "orders"] += 1
        if kind == "accepted":
            if slot is not None:
                slot.orders[cid] = order
            self.account.on_order_placed(order.qty)
            self._emit(Activity(event.ts, self.symbol, "order", self._describe(order),
                                {"client_id": cid, "strategy": name, "status": _STATUS_TEXT[order.status],
                                 **_order_terms(order)}))
            return
        if kind == "rejected":
            if order is not None:
                self._reject(cid, name, event.reason, "exchange", order)
            else:  # refused before an order existed (duplicate id): the id still belongs to its order
                self._reject(cid, name, event.reason, "exchange")
                return
        elif kind == "canceled":
            self._emit(Activity(event.ts, self.symbol, "cancel", f"canceled {cid}",
                                {"client_id": cid, "strategy": name, "status": "CANCELED",
                                 "filled": order.filled if order else 0}))
        elif kind == "expired":
            self._emit(Activity(event.ts, self.symbol, "cancel", f"expired {cid} (unfilled remainder)",
                                {"client_id": cid, "strategy": name, "status": "EXPIRED",
                                 "filled": order.filled if order else 0}))
        elif kind == "cancel_rejected":
            self._cancel_rejected(event.ts, cid, name, event.reason)
            return
        self._forget(cid)

    def _forget(self, client_id: str) -> None:
        slot = self._owner.pop(client_id, None)
        if slot is not None:
            slot.orders.pop(client_id, None)

    def _cancel_rejected(self, ts: int, client_id: str, strategy: str, reason: str) -> None:
        self._emit(Activity(ts, self.symbol, "reject", f"cancel {client_id} rejected: {reason}",
                            {"client_id": client_id, "strategy": strategy, "reason": reason}))

    def _reject(self, client_id: str, strategy: str, reason: str, source: str,
                what: PlaceOrder | Order | None = None) -> None:
        data = {"client_id": client_id, "strategy": strategy, "reason": reason, "by": source}
        if isinstance(what, Order):
            data.update(_order_terms(what))
            what = self._describe(what)
        elif isinstance(what, PlaceOrder):
            what = self._describe_intent(what)
        else:
            what = client_id
        self._emit(Activity(self.now, self.symbol, "reject", f"{what} rejected: {reason}", data))

    def _describe(self, order: Order) -> str:
        side = "BUY" if order.side is _BUY else "SELL"
        qty = self._qty_text(order.qty)
        if order.price is None:
            text = f"{side} {qty} MARKET"
        else:
            text = f"{side} {qty} @ {self._price_text(order.price)}"
            if order.post_only:
                text += " post-only"
            elif order.time_in_force is not _GTC:
                text += f" {order.time_in_force.value}"
        return f"{text} {order.tag} [{order.client_id}]" if order.tag else f"{text} [{order.client_id}]"

    def _describe_intent(self, intent: PlaceOrder) -> str:
        side = "BUY" if intent.side is _BUY else "SELL"
        qty = self._qty_text(intent.qty)
        price = "MARKET" if intent.price is None else f"@ {self._price_text(intent.price)}"
        return f"{side} {qty} {price} [{intent.client_id}]"

    def _qty_text(self, lots: int) -> str:
        """Lots as the activity text shows them (trailing zeros dropped); remembered, as sizes repeat."""
        text = self._qty_texts.get(lots)
        if text is None:
            if len(self._qty_texts) >= _TEXT_CACHE:
                self._qty_texts.clear()
            text = self._qty_texts[lots] = self.instrument.lots_to_str(lots).rstrip("0").rstrip(".")
        return text

    def _price_text(self, ticks: int) -> str:
        """Ticks as a price with the symbol's decimals; remembered, as quotes revisit prices."""
        text = self._price_texts.get(ticks)
        if text is None:
            if len(self._price_texts) >= _TEXT_CACHE:
                self._price_texts.clear()
            instrument = self.instrument
            text = self._price_texts[ticks] = f"{instrument.ticks_to_price(ticks):.{instrument.price_decimals}f}"
        return text

    # -- risk ----------------------------------------------------------------------------------
    def pause(self, reason: str = "paused by user") -> None:
        """Operator pause: risk HALTED, open orders cancelled."""
        self._risk_actions(self.risk.pause(reason, self.now))

    def resume(self) -> None:
        self._risk_actions(self.risk.resume(self.now))

    def update_limits(self, changes: Mapping[str, Any]) -> None:
        """Change some risk limits (validated: raises strategies.base.ParameterError)."""
        merged = self.risk.limits.as_dict()
        merged.update(changes)
        self._risk_actions(self.risk.update_limits(type(self.risk.limits).from_mapping(merged), self.now))

    def _risk_state(self) -> str:
        state = self.risk.state
        return getattr(state, "value", state)

    def _refresh_risk_ctx(self) -> StrategyContext:
        ctx = self._risk_ctx
        ctx.now = self.now
        ctx.book = self.book
        ctx.position = self.account.position
        ctx.avg_entry_price = self.account.avg_price
        ctx.book_ok = self.book_ok
        return ctx

    def _risk_market(self, now: int, book_ok: bool, age_ns: int) -> None:
        self._risk_actions(self.risk.on_market(now, book_ok, age_ns))

    def _risk_equity(self, now: int) -> None:
        account = self.account
        equity = account.equity()
        self._risk_actions(self.risk.on_equity(now, equity, equity - account.day_start_equity))
        self._equity_seen = (equity, now // DAY_NS)

    def _risk_equity_if_changed(self, now: int) -> None:
        """Timers: tell risk about equity only when it moved or a UTC day began (most ticks change nothing)."""
        if self._equity_seen != (self.account.equity(), now // DAY_NS):
            self._risk_equity(now)

    def _risk_actions(self, intents: Iterable[Intent] | None) -> None:
        """Log what risk decided, then carry out its cancels (entering HALTED/REDUCING, stale data)."""
        self._drain_risk()
        for intent in intents or ():
            if type(intent) is CancelAll:
                self.cancel_all(intent.reason or "risk")
            elif type(intent) is CancelOrder and intent.client_id in self.matcher.orders:
                self._cancel_orders([intent.client_id])

    def _drain_risk(self) -> None:
        risk = self.risk
        state = risk.state
        if state is self._seen_risk_state and not risk.has_events:
            return  # the common case: nothing new
        events = risk.drain_events()
        if state is not self._seen_risk_state:  # enum .value is slow enough to matter per event
            self._seen_risk_state = state
            self._risk_ctx.risk_state = getattr(state, "value", state)
        if not events:
            return
        for _, message, data in events:
            data = dict(data or {})
            ts = data.pop("ts", self.now)
            # a blocked order is a reject; state changes, stale data and limits are risk entries
            kind = "reject" if data.get("event") == "block" else "risk"
            self._emit(Activity(ts if isinstance(ts, int) else self.now, self.symbol, kind, message, data))

    # -- snapshot ------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """The per-symbol "strategies" block of the pushed snapshot (fills: those since the last call)."""
        instrument = self.instrument
        to_price = instrument.ticks_to_price
        to_qty = instrument.lots_to_qty
        orders = []
        for cid, order in self.matcher.orders.items():
            slot = self._owner.get(cid)
            orders.append({
                "id": cid,
                "strategy": slot.name if slot else "",
                "side": "buy" if order.side is _BUY else "sell",
                "price": to_price(order.price) if order.price is not None else None,
                "qty": to_qty(order.qty),
                "filled": to_qty(order.filled),
                "status": order.status.value,
                "tag": order.tag,
                "queue_ahead": to_qty(order.queue_ahead),
            })
        fills = []
        while self._recent_fills:
            item = self._recent_fills.popleft()
            fill = item.fill
            fills.append({
                "ts": fill.ts // 1_000_000,
                "strategy": item.strategy,
                "side": "buy" if fill.side is _BUY else "sell",
                "price": to_price(fill.price),
                "qty": to_qty(fill.qty),
                "liquidity": fill.liquidity.value,
                "reason": fill.reason.value,
                "fee": fill.fee,
            })
        self._mark(self.book)
        return {
            "risk": self._risk_snapshot(),
            "position": self.account.as_dict(),
            "orders": orders,
            "fills": fills,
            "strategies": [
                {"name": slot.name, "enabled": slot.enabled, "params": slot.strategy.params.as_dict(),
                 "state": self._strategy_state(slot),
                 "position": to_qty(slot.position),
                 "open_orders": len(slot.orders),
                 "error": slot.fault or None}
                for slot in self.slots
            ],
        }

    def _strategy_state(self, slot: StrategySlot) -> dict[str, Any]:
        """``strategy.state()`` for display; one that raises is a fault like any other (shown as {})."""
        try:
            return slot.strategy.state()
        except Exception as exc:
            if not slot.fault:
                self._fault(slot, "state", exc)
            return {}

    def _risk_snapshot(self) -> dict[str, Any]:
        return self.risk.snapshot()
