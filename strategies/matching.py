"""The paper matching engine: one symbol's simulated orders against the real displayed book and trade prints.

Rules (each pinned by a unit test):
- An order reaches the exchange ``order_entry_ns`` after it is sent and interacts with market events
  received ``market_data_ns`` after that (see strategies.latency); a cancel takes effect
  ``cancel_ns`` after it is sent, never before the order itself arrived, and the order can fill until then.
- Filters (PRICE_FILTER, LOT_SIZE, NOTIONAL) reject at submission with Binance's own text; a
  post-only order that would cross when it arrives is rejected ("Order would immediately match and take.").
- A marketable order walks the displayed opposite side level by level (taker fills). Lots we took
  from a level stay taken until the book shows that level changed, so two orders never consume the
  same displayed liquidity.
- A resting order joins the back of the queue: ``queue_ahead`` = displayed lots at its price on arrival.
  Trades at its price consume the queue ahead and then the order (QUEUE_REACHED). A decrease of the
  level that trades do not explain is cancellations, of which the QueueModel decides how many were
  ahead. ``queue_ahead`` never exceeds the displayed level. A trade beyond our price, or the opposite
  side of the book at or beyond our price, means every order at our price was executed: we fill in
  full (TRADE_THROUGH).
- Fees: maker or taker bps of the fill's notional (strategies.fees).

Depth diffs arrive in 100 ms batches, so the exchange's state at the instant an order arrives is not
known; an order that arrives between two diffs is placed against the first book that includes its
arrival time (the book after the next diff). That errs towards a longer queue, never a shorter one.
"""
from __future__ import annotations

import heapq
from typing import Iterable, NamedTuple

from orderbook.book import OrderBook
from orderbook.instrument import Instrument
from orderbook.trades import TradeTick
from strategies.fees import FeeCalculator, FeeSchedule
from strategies.filters import (
    DUPLICATE_ORDER,
    INVALID_PRICE,
    UNKNOWN_ORDER,
    WOULD_TAKE,
    order_rejection,
)
from strategies.latency import LatencyModel
from strategies.orders import (
    Fill,
    FillReason,
    Liquidity,
    Order,
    OrderStatus,
    OrderType,
    PlaceOrder,
    Side,
    TimeInForce,
)
from strategies.queue_models import QueueModel, TradesOnlyQueue
from strategies.touch import best_ask_price, best_bid_price

UNSUPPORTED_COMBINATION = "Unsupported order combination."

_ACTIVATE = 0
_CANCEL = 1

_NO_EVENTS: tuple = ()
_UNKNOWN = object()

_MAKER = Liquidity.MAKER
_TAKER = Liquidity.TAKER
_QUEUE_REACHED = FillReason.QUEUE_REACHED
_TRADE_THROUGH = FillReason.TRADE_THROUGH
_TAKER_REASON = FillReason.TAKER
_NEW = OrderStatus.NEW
_OPEN = frozenset(status for status in OrderStatus if status.is_open)
_LIMIT = OrderType.LIMIT
_GTC = TimeInForce.GTC
_PARTIALLY_FILLED = OrderStatus.PARTIALLY_FILLED
_PENDING_CANCEL = OrderStatus.PENDING_CANCEL
_FILLED = OrderStatus.FILLED


class OrderEvent(NamedTuple):
    """A change in an order's life other than a fill. ts: local ns when we learn of it.

    kind: "accepted" (passed the filters, on its way), "rejected", "canceled", "expired" (IOC or
    MARKET remainder), "cancel_rejected" (the order was already done or unknown). Immutable; a
    tuple rather than a frozen dataclass because every order makes two.
    """

    ts: int
    kind: str
    client_id: str
    order: Order | None
    reason: str = ""


MatchEvent = Fill | OrderEvent


class _Working:
    """Matcher-side state of one open order: where it sits and what it has seen of its level."""

    __slots__ = ("order", "buy", "price", "seen", "traded", "cancelling")

    def __init__(self, order: Order) -> None:
        self.order = order
        self.buy = order.side is Side.BUY
        self.price = order.price
        self.seen = 0  # displayed lots at our price after the last book event we processed
        self.traded = 0  # lots traded at our price since the level last changed
        self.cancelling = False


class PaperMatcher:
    """Simulated execution for one symbol. All times are local ns (the ts_recv clock); prices ticks, sizes lots.

    Every method returns the fills and order events it caused, in order (an empty tuple when none).
    """

    def __init__(
        self,
        instrument: Instrument,
        *,
        fees: FeeSchedule | None = None,
        latency: LatencyModel | None = None,
        queue_model: QueueModel | None = None,
    ) -> None:
        self.instrument = instrument
        self.symbol = instrument.symbol
        self.fees = fees or FeeSchedule()
        self.latency = latency or LatencyModel()
        self.queue_model = queue_model or TradesOnlyQueue()
        self._fee = FeeCalculator(instrument, self.fees).fee
        self._entry_ns = self.latency.order_entry_ns
        self._cancel_ns = self.latency.cancel_ns
        self._md_ns = self.latency.market_data_ns
        self.orders: dict[str, Order] = {}  # open orders by client_id (pending, live, cancelling)
        self._working: dict[str, _Working] = {}
        self._resting: list[_Working] = []  # live orders in time priority
        self._timeline: list[tuple[int, int, int, _Working]] = []  # (exchange ns, seq, action, order)
        self._seq = 0
        # lots our taker orders took per displayed level: price -> (lots taken, displayed lots then)
        self._taken_bids: dict[int, tuple[int, int]] = {}
        self._taken_asks: dict[int, tuple[int, int]] = {}

    # -- order entry ---------------------------------------------------------------------------
    def submit(self, now: int, place: PlaceOrder, book: OrderBook) -> list[MatchEvent]:
        """Send a new order at local time now: rejected at once by the filters, or accepted and in flight."""
        cid = place.client_id
        if cid in self.orders:
            return [OrderEvent(now, "rejected", cid, None, DUPLICATE_ORDER)]
        order_type = place.order_type
        # Order(client_id, symbol, side, qty, price, order_type, time_in_force, post_only, tag, ts_created, ts_live)
        order = Order(cid, self.symbol, place.side, place.qty, place.price if order_type is _LIMIT else None,
                      order_type, place.time_in_force, place.post_only, place.tag, now, now + self._entry_ns)
        reason = self._entry_rejection(place, book)
        if reason:
            order.status = OrderStatus.REJECTED
            order.reject_reason = reason
            order.ts_done = now
            return [OrderEvent(now, "rejected", cid, order, reason)]
        self._seq += 1
        working = _Working(order)
        self.orders[cid] = order
        self._working[cid] = working
        heapq.heappush(self._timeline, (order.ts_live, self._seq, _ACTIVATE, working))
        out: list[MatchEvent] = [OrderEvent(now, "accepted", cid, order)]
        if self._timeline[0][0] <= now - self._md_ns:  # zero latency: the order is there already
            self._process_due(now, book, out)
        return out

    def _entry_rejection(self, place: PlaceOrder, book: OrderBook) -> str | None:
        if place.order_type is _LIMIT:
            if place.price is None:
                return INVALID_PRICE
            if place.post_only and place.time_in_force is not _GTC:
                return UNSUPPORTED_COMBINATION
            return order_rejection(self.instrument, place.price, place.qty, None)
        if place.post_only:
            return UNSUPPORTED_COMBINATION
        opposite = book.asks if place.side is Side.BUY else book.bids
        reference = None
        if opposite:
            reference = opposite.peekitem(0 if place.side is Side.BUY else -1)[0]
        return order_rejection(self.instrument, None, place.qty, reference)

    def cancel(self, now: int, client_id: str, book: OrderBook) -> list[MatchEvent]:
        """Request a cancel at local time now; it takes effect cancel_ns later (fills can still happen before)."""
        working = self._working.get(client_id)
        if working is None:
            return [OrderEvent(now, "cancel_rejected", client_id, None, UNKNOWN_ORDER)]
        if working.cancelling:
            return []
        working.cancelling = True
        order = working.order
        if order.status is not OrderStatus.PENDING_NEW:
            order.status = _PENDING_CANCEL
        # requests travel on one connection and are handled in order: never before the order itself
        effective = max(now + self._cancel_ns, order.ts_live)
        self._seq += 1
        heapq.heappush(self._timeline, (effective, self._seq, _CANCEL, working))
        out: list[MatchEvent] = []
        if self._timeline[0][0] <= now - self._md_ns:
            self._process_due(now, book, out)
        return out

    def cancel_all(self, now: int, book: OrderBook, client_ids: Iterable[str] | None = None) -> list[MatchEvent]:
        """Cancel every open order (or those listed), oldest first."""
        targets = list(self.orders) if client_ids is None else list(client_ids)
        out: list[MatchEvent] = []
        for cid in targets:
            out.extend(self.cancel(now, cid, book))
        return out

    # -- market events -------------------------------------------------------------------------
    def advance(self, now: int, book: OrderBook) -> list[MatchEvent] | tuple:
        """Let simulated time reach local ns now (a timer): orders and cancels due by then take effect."""
        timeline = self._timeline
        if timeline and timeline[0][0] <= now - self._md_ns:
            out: list[MatchEvent] = []
            self._process_due(now, book, out)
            return out
        return _NO_EVENTS

    def on_book(self, now: int, book: OrderBook) -> list[MatchEvent] | tuple:
        """The displayed book changed (received at local ns now)."""
        if self._taken_bids or self._taken_asks:
            self._forget_changed_levels(book)
        out = None
        timeline = self._timeline
        if timeline and timeline[0][0] <= now - self._md_ns:
            out = []
            self._process_due(now, book, out)
        resting = self._resting
        if not resting:
            return out or _NO_EVENTS
        bids = book.bids
        asks = book.asks
        best_bid = best_ask = _UNKNOWN  # looked up once, and only for the sides we rest against
        advance = self.queue_model.advance
        done = False
        for working in resting:
            order = working.order
            price = working.price
            if working.buy:
                size = bids.get(price, 0)
                if best_ask is _UNKNOWN:
                    best_ask = best_ask_price(book)
                through = best_ask is not None and best_ask <= price
            else:
                size = asks.get(price, 0)
                if best_bid is _UNKNOWN:
                    best_bid = best_bid_price(book)
                through = best_bid is not None and best_bid >= price
            seen = working.seen
            if size != seen:
                queue = order.queue_ahead
                if size < seen and queue:
                    decrease = seen - size
                    explained = working.traded if working.traded < decrease else decrease
                    unexplained = decrease - explained
                    if unexplained:
                        before = seen - explained
                        queue -= advance(queue, before if before > queue else queue, unexplained)
                if queue > size:
                    queue = size
                order.queue_ahead = queue
                working.seen = size
                working.traded = 0
            if through and self._crossing_liquidity(working, book):
                if out is None:
                    out = []
                best = best_ask if working.buy else best_bid
                self._fill(working, price, order.qty - order.filled, _MAKER, _TRADE_THROUGH, now, 0,
                           {"cause": "book", "best_opposite": best, "queue_ahead_before": order.queue_ahead}, out)
                done = True
        if done:
            self._resting = [w for w in self._resting if w.order.filled < w.order.qty]
        return out or _NO_EVENTS

    def on_trade(self, now: int, trade: TradeTick, book: OrderBook) -> list[MatchEvent] | tuple:
        """A public trade print (received at local ns now)."""
        out = None
        timeline = self._timeline
        if timeline and timeline[0][0] <= now - self._md_ns:
            out = []
            self._process_due(now, book, out)
        resting = self._resting
        if not resting:
            return out or _NO_EVENTS
        price = trade.price
        qty = trade.qty
        hits_bids = trade.buyer_is_maker  # the aggressor sold into the bids
        paper_taken = 0  # lots of this print already given to our earlier orders at the same price
        done = False
        for working in resting:
            order = working.order
            if working.buy:
                if price < working.price:
                    reason = _TRADE_THROUGH
                elif price == working.price and hits_bids:
                    reason = _QUEUE_REACHED
                else:
                    continue
            else:
                if price > working.price:
                    reason = _TRADE_THROUGH
                elif price == working.price and not hits_bids:
                    reason = _QUEUE_REACHED
                else:
                    continue
            queue = order.queue_ahead
            remaining = order.qty - order.filled
            if out is None:
                out = []
            if reason is _TRADE_THROUGH:
                self._fill(working, working.price, remaining, _MAKER, _TRADE_THROUGH, now, trade.trade_id,
                           {"trade_price": price, "trade_qty": qty, "queue_ahead_before": queue}, out)
                done = True
                continue
            ahead_taken = queue if queue < qty else qty
            order.queue_ahead = queue - ahead_taken
            working.traded += qty
            left = qty - ahead_taken - paper_taken
            if left > 0:
                lots = remaining if remaining < left else left
                paper_taken += lots
                self._fill(working, working.price, lots, _MAKER, _QUEUE_REACHED, now, trade.trade_id,
                           {"queue_ahead_before": queue, "trade_qty": qty}, out)
                if lots == remaining:
                    done = True
        if done:
            self._resting = [w for w in self._resting if w.order.filled < w.order.qty]
        return out or _NO_EVENTS

    # -- internals -----------------------------------------------------------------------------
    def _process_due(self, now: int, book: OrderBook, out: list) -> None:
        """Apply, in exchange-time order, every arrival and cancel the exchange has seen by local time now."""
        timeline = self._timeline
        horizon = now - self._md_ns
        while timeline and timeline[0][0] <= horizon:
            _, _, action, working = heapq.heappop(timeline)
            order = working.order
            if action == _ACTIVATE:
                self._activate(working, now, book, out)
            elif order.status in _OPEN:
                order.status = OrderStatus.CANCELED
                order.ts_done = now
                self._close(working)
                out.append(OrderEvent(now, "canceled", order.client_id, order))
            else:
                out.append(OrderEvent(now, "cancel_rejected", order.client_id, order, UNKNOWN_ORDER))

    def _activate(self, working: _Working, now: int, book: OrderBook, out: list) -> None:
        order = working.order
        order.status = _PENDING_CANCEL if working.cancelling else _NEW
        buy = working.buy
        if order.order_type is OrderType.MARKET:
            self._walk(working, None, now, book, out)
            if order.filled < order.qty:
                self._expire(working, now, out)
            return
        best = self._best_available(book, buy)
        crosses = best is not None and (best <= order.price if buy else best >= order.price)
        if crosses:
            if order.post_only:
                order.status = OrderStatus.REJECTED
                order.reject_reason = WOULD_TAKE
                order.ts_done = now
                self._close(working)
                out.append(OrderEvent(now, "rejected", order.client_id, order, WOULD_TAKE))
                return
            self._walk(working, order.price, now, book, out)
            if order.filled >= order.qty:
                return
        if order.time_in_force is TimeInForce.IOC:
            self._expire(working, now, out)
            return
        size = (book.bids if buy else book.asks).get(order.price, 0)
        working.seen = size
        working.traded = 0
        order.queue_ahead = size
        self._resting.append(working)

    def _walk(self, working: _Working, limit: int | None, now: int, book: OrderBook, out: list) -> None:
        """Take displayed liquidity best level first, up to limit ticks (None: no limit), never twice."""
        order = working.order
        if working.buy:
            levels = book.asks
            taken = self._taken_asks
            prices = levels.irange(maximum=limit)
        else:
            levels = book.bids
            taken = self._taken_bids
            prices = levels.irange(minimum=limit, reverse=True)
        for price in prices:
            displayed = levels[price]
            previous = taken.get(price)
            used = previous[0] if previous is not None and previous[1] == displayed else 0
            available = displayed - used
            if available <= 0:
                continue
            remaining = order.qty - order.filled
            lots = remaining if remaining < available else available
            taken[price] = (used + lots, displayed)
            self._fill(working, price, lots, _TAKER, _TAKER_REASON, now, 0,
                       {"level_qty": displayed, "taken_before": used}, out)
            if lots == remaining:
                return

    def _best_available(self, book: OrderBook, buy: bool) -> int | None:
        """Best opposite price with displayed lots we have not already taken."""
        if buy:
            if not self._taken_asks:
                return best_ask_price(book)
            levels, taken, prices = book.asks, self._taken_asks, book.asks.irange()
        else:
            if not self._taken_bids:
                return best_bid_price(book)
            levels, taken, prices = book.bids, self._taken_bids, book.bids.irange(reverse=True)
        for price in prices:
            previous = taken.get(price)
            if previous is None or previous[1] != levels[price] or previous[0] < previous[1]:
                return price
        return None

    def _crossing_liquidity(self, working: _Working, book: OrderBook) -> bool:
        """Whether the opposite side shows, at or beyond our price, lots that our own takers did not take."""
        taken = self._taken_asks if working.buy else self._taken_bids
        if not taken:
            return True
        best = self._best_available(book, working.buy)
        return best is not None and (best <= working.price if working.buy else best >= working.price)

    def _forget_changed_levels(self, book: OrderBook) -> None:
        """Taken lots count only until the book shows the level changed (then the book is the truth again)."""
        for taken, levels in ((self._taken_bids, book.bids), (self._taken_asks, book.asks)):
            if taken:
                stale = [price for price, (_, displayed) in taken.items() if levels.get(price, 0) != displayed]
                for price in stale:
                    del taken[price]

    def _fill(self, working: _Working, price: int, qty: int, liquidity: Liquidity, reason: FillReason,
              now: int, trade_id: int, detail: dict, out: list) -> None:
        order = working.order
        order.filled += qty
        out.append(Fill(self.symbol, order.client_id, order.side, price, qty, liquidity, reason,
                        self._fee(price, qty, liquidity), now, trade_id, order.tag, detail))
        if order.filled >= order.qty:
            order.status = _FILLED
            order.ts_done = now
            self._close(working)
        elif order.status is not _PENDING_CANCEL:
            order.status = _PARTIALLY_FILLED

    def _expire(self, working: _Working, now: int, out: list) -> None:
        order = working.order
        order.status = OrderStatus.EXPIRED
        order.ts_done = now
        self._close(working)
        out.append(OrderEvent(now, "expired", order.client_id, order))

    def _close(self, working: _Working) -> None:
        """Forget a finished order (the caller prunes _resting when it is iterating it)."""
        cid = working.order.client_id
        self.orders.pop(cid, None)
        self._working.pop(cid, None)
        if working.order.status is not _FILLED:
            try:
                self._resting.remove(working)
            except ValueError:
                pass

    # -- inspection ----------------------------------------------------------------------------
    def order(self, client_id: str) -> Order | None:
        return self.orders.get(client_id)

    def pending_actions(self) -> int:
        """Arrivals and cancels in flight (not yet at the exchange)."""
        return len(self._timeline)
