"""Quote maintenance shared by the market makers: desired quotes in, the fewest intents out.

A quoter says which resting orders it wants (one ``Quote`` per tag, e.g. "bid-L1"); ``QuoteSync``
compares them with the strategy's open orders and keeps an order when it is on the same side,
within the refresh tolerance of the wanted price and younger than the maximum age. Everything else
is cancelled and replaced. Cancels already asked for are remembered so they are not repeated while
the cancel latency runs.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, NamedTuple

from orderbook.instrument import UNITS_PER_ONE, Instrument
from strategies.base import StrategyContext
from strategies.latency import MS
from strategies.orders import CancelOrder, Intent, Order, OrderStatus, OrderType, PlaceOrder, Side, TimeInForce
from strategies.parameters import BPS_MAX, LOTS_MAX, MS_MAX, TICKS_MAX, Parameters, flag, integer, number


class Quote(NamedTuple):
    """A resting order a quoter wants: price in ticks, qty in lots (a tuple: built by the thousand)."""

    tag: str
    side: Side
    price: int
    qty: int


_LIVE = frozenset({OrderStatus.PENDING_NEW, OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED})
_OPEN = frozenset(status for status in OrderStatus if status.is_open)
_PENDING_CANCEL = OrderStatus.PENDING_CANCEL
_LIMIT = OrderType.LIMIT
_GTC = TimeInForce.GTC


class _Settled:
    """What a sync that changed nothing saw: then the same wanted quotes over the same live orders
    change nothing until an order ages out or changes (see ``QuoteSync.settled``)."""

    __slots__ = ("key", "orders", "count", "live", "expires")

    def __init__(self, key: object, orders: object, count: int, live: list[Order], expires: int | None) -> None:
        self.key = key
        self.orders = orders
        self.count = count
        self.live = live
        self.expires = expires


@dataclass(frozen=True)
class QuotingParams(Parameters):
    """The settings every quoter shares. Sizes in lots: order_lots 0 = the smallest size passing
    minNotional/minQty at the first mid seen; max_inventory_lots 0 = no strategy-side cap. A
    resting order is kept while within refresh_tolerance_ticks (or _bps of the mid, whichever is
    wider) of the wanted price; max_order_age_ms 0 = orders never expire."""

    order_lots: int = integer(0, 0, LOTS_MAX, "lots")
    max_inventory_lots: int = integer(0, 0, LOTS_MAX, "lots")
    refresh_tolerance_ticks: int = integer(1, 0, TICKS_MAX, "ticks")
    refresh_tolerance_bps: float = number(0.0, 0, BPS_MAX, "bps")
    max_order_age_ms: int = integer(30_000, 0, MS_MAX, "ms")
    post_only: bool = flag(True)


class QuoteSync:
    """Reconciles wanted quotes with the open orders whose client ids start with ``prefix``."""

    __slots__ = ("prefix", "new_client_id", "tolerance_ticks", "max_age_ns", "post_only", "_cancel_sent", "_settled",
                 "_base_tolerance", "tolerance_bps", "_unscaled")

    def __init__(self, prefix: str, new_client_id, tolerance_ticks: int, max_age_ns: int, post_only: bool,
                 tolerance_bps: float = 0.0) -> None:
        self.prefix = prefix
        self.new_client_id = new_client_id  # callable(prefix) -> str, the strategy's id source
        self.max_age_ns = max_age_ns  # 0 = no age limit
        self.post_only = post_only
        self._cancel_sent: set[str] = set()
        self._settled: _Settled | None = None
        self._set_tolerance(tolerance_ticks, tolerance_bps)

    @classmethod
    def for_quoter(cls, name: str, instrument: Instrument, new_client_id, params) -> "QuoteSync":
        """A quoting strategy's sync: its orders' prefix, and the settings from its params
        (refresh_tolerance_ticks / _bps, max_order_age_ms, post_only)."""
        sync = cls(f"{name}-{instrument.symbol}-", new_client_id, 0, 0, False)
        sync.configure_from(params)
        return sync

    def configure_from(self, params) -> None:
        """Take the quoting settings of changed strategy params."""
        self.configure(params.refresh_tolerance_ticks, params.max_order_age_ms * MS, params.post_only,
                       params.refresh_tolerance_bps)

    def configure(self, tolerance_ticks: int, max_age_ns: int, post_only: bool, tolerance_bps: float = 0.0) -> None:
        self.max_age_ns = max_age_ns
        self.post_only = post_only
        self._settled = None
        self._set_tolerance(tolerance_ticks, tolerance_bps)

    def _set_tolerance(self, ticks: int, bps: float) -> None:
        # A tolerance in ticks means nothing across symbols (0.01 on a 100,000 BTC price is 0.001 bps,
        # so every tick of the mid would requote); bps is scaled to ticks at the first quote's price.
        self._base_tolerance = ticks
        self.tolerance_bps = bps
        self.tolerance_ticks = ticks
        self._unscaled = bps > 0

    def own_orders(self, ctx: StrategyContext) -> dict[str, Order]:
        """This quoter's open orders; also forgets cancels whose orders are gone."""
        own = {cid: o for cid, o in ctx.open_orders.items() if cid.startswith(self.prefix) and o.status.is_open}
        if self._cancel_sent:
            self._cancel_sent &= own.keys()
        return own

    def _live(self, own: dict[str, Order]) -> list[Order]:
        return [
            o for cid, o in own.items()
            if cid not in self._cancel_sent and o.status is not OrderStatus.PENDING_CANCEL
        ]

    def _cancel(self, order: Order) -> CancelOrder:
        self._settled = None
        self._cancel_sent.add(order.client_id)
        return CancelOrder(order.client_id)

    def cancel_all(self, ctx: StrategyContext) -> list[Intent]:
        """Cancel every live quote (each once)."""
        if not ctx.open_orders:
            return []
        return [self._cancel(o) for o in self._live(self.own_orders(ctx))]

    def settled(self, ctx: StrategyContext, key: object) -> bool:
        """Whether ``sync`` with the quotes ``key`` stands for would change nothing, known without running it.

        True when the last sync had the same key and changed nothing, and since then no live order
        left, changed state or filled, none was added, and none reached the maximum age. The
        quoters call this on every book update and timer, where a full sync costs ~20x more.
        """
        settled = self._settled
        if settled is None or settled.key != key:
            return False
        orders = ctx.open_orders
        if orders is not settled.orders or len(orders) != settled.count:
            return False
        if settled.expires is not None and ctx.now >= settled.expires:
            return False
        get = orders.get
        for order in settled.live:
            if get(order.client_id) is not order or order.status not in _LIVE or order.filled >= order.qty:
                return False
        return True

    def sync(self, ctx: StrategyContext, wanted: Iterable[Quote], key: object = None) -> list[Intent]:
        """Cancels first, then new orders, so that a replaced quote never doubles exposure for long.

        ``key``: optional, a value that determines ``wanted`` (equal keys, equal quotes); with it a
        sync that changes nothing is remembered for ``settled``.
        """
        self._settled = None
        if self._unscaled:
            wanted = list(wanted)
            if wanted:
                self._unscaled = False
                scaled = int(self.tolerance_bps * 1e-4 * wanted[0].price)
                self.tolerance_ticks = max(self._base_tolerance, scaled)
        # own_orders + _live in one pass: this runs on most touch changes
        prefix = self.prefix
        cancel_sent = self._cancel_sent
        own_ids = set() if cancel_sent else None
        by_tag: dict[str, list[Order]] = {}
        live: list[Order] = []
        for cid, order in ctx.open_orders.items():
            if not cid.startswith(prefix):
                continue
            status = order.status
            if status not in _OPEN:
                continue
            if own_ids is not None:
                own_ids.add(cid)
                if cid in cancel_sent:
                    continue
            if status is _PENDING_CANCEL:
                continue
            live.append(order)
            orders = by_tag.get(order.tag)
            if orders is None:
                by_tag[order.tag] = [order]
            else:
                orders.append(order)
        if own_ids is not None:
            cancel_sent &= own_ids  # forget cancels whose orders are gone
        now = ctx.now
        tolerance = self.tolerance_ticks
        max_age = self.max_age_ns
        cancels: list[Intent] = []
        places: list[Intent] = []
        for quote in wanted:
            kept = False
            orders = by_tag.pop(quote.tag, None) if live else None
            if orders is not None:
                for order in orders:
                    # _keeps, inlined
                    if (not kept and order.side is quote.side and order.price is not None
                            and order.qty > order.filled and abs(order.price - quote.price) <= tolerance
                            and not (max_age and now - order.ts_created >= max_age)):
                        kept = True
                    else:
                        cancels.append(self._cancel(order))
            if not kept:
                tag = quote.tag
                places.append(PlaceOrder(self.new_client_id(tag + "-"), quote.side, quote.qty, quote.price,
                                         _LIMIT, _GTC, self.post_only, tag))
        for orders in by_tag.values():  # quotes no longer wanted
            cancels.extend(self._cancel(o) for o in orders)
        if cancels or places:
            return cancels + places
        if key is not None:  # every live order is a wanted quote, kept
            expires = min(o.ts_created for o in live) + max_age if max_age and live else None
            self._settled = _Settled(key, ctx.open_orders, len(ctx.open_orders), live, expires)
        return []

    def _keeps(self, now: int, order: Order, quote: Quote) -> bool:
        if order.side is not quote.side or order.price is None or order.remaining <= 0:
            return False
        if abs(order.price - quote.price) > self.tolerance_ticks:
            return False
        return not (self.max_age_ns and now - order.ts_created >= self.max_age_ns)


def auto_order_lots(instrument: Instrument, price_ticks: float, headroom: float = 1.1) -> int:
    """Smallest size in lots that passes minNotional (with headroom for quotes below the mid) and minQty."""
    lots = 1
    if instrument.min_notional_units and price_ticks > 0:
        notional_per_lot = price_ticks * instrument.tick_units * instrument.step_units / UNITS_PER_ONE
        lots = max(lots, math.ceil(instrument.min_notional_units * headroom / notional_per_lot))
    if instrument.min_qty_units:
        lots = max(lots, -(-instrument.min_qty_units // instrument.step_units))
    return lots


def mid_ticks(ctx: StrategyContext) -> tuple[float, int, int] | None:
    """(mid, best bid, best ask) in ticks, or None when either side of the book is empty."""
    book = ctx.book
    bids = book.bids._list._lists  # the best prices as strategies.touch reads them, inlined: every event asks
    asks = book.asks._list._lists
    if not bids or not asks:
        return None
    bid = bids[-1][-1]
    ask = asks[0][0]
    return (bid + ask) / 2.0, bid, ask
