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
from typing import Iterable

from orderbook.instrument import UNITS_PER_ONE, Instrument
from strategies.base import StrategyContext
from strategies.orders import CancelOrder, Intent, Order, OrderStatus, PlaceOrder, Side


@dataclass(frozen=True, slots=True)
class Quote:
    """A resting order a quoter wants: price in ticks, qty in lots."""

    tag: str
    side: Side
    price: int
    qty: int


class QuoteSync:
    """Reconciles wanted quotes with the open orders whose client ids start with ``prefix``."""

    __slots__ = ("prefix", "new_client_id", "tolerance_ticks", "max_age_ns", "post_only", "_cancel_sent")

    def __init__(self, prefix: str, new_client_id, tolerance_ticks: int, max_age_ns: int, post_only: bool) -> None:
        self.prefix = prefix
        self.new_client_id = new_client_id  # callable(prefix) -> str, the strategy's id source
        self.tolerance_ticks = tolerance_ticks
        self.max_age_ns = max_age_ns  # 0 = no age limit
        self.post_only = post_only
        self._cancel_sent: set[str] = set()

    def configure(self, tolerance_ticks: int, max_age_ns: int, post_only: bool) -> None:
        self.tolerance_ticks = tolerance_ticks
        self.max_age_ns = max_age_ns
        self.post_only = post_only

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
        self._cancel_sent.add(order.client_id)
        return CancelOrder(order.client_id)

    def cancel_all(self, ctx: StrategyContext) -> list[Intent]:
        """Cancel every live quote (each once)."""
        return [self._cancel(o) for o in self._live(self.own_orders(ctx))]

    def sync(self, ctx: StrategyContext, wanted: Iterable[Quote]) -> list[Intent]:
        """Cancels first, then new orders, so that a replaced quote never doubles exposure for long."""
        live = self._live(self.own_orders(ctx))
        by_tag: dict[str, list[Order]] = {}
        for order in live:
            by_tag.setdefault(order.tag, []).append(order)
        cancels: list[Intent] = []
        places: list[Intent] = []
        for quote in wanted:
            kept = False
            for order in by_tag.pop(quote.tag, ()):
                if not kept and self._keeps(ctx.now, order, quote):
                    kept = True
                else:
                    cancels.append(self._cancel(order))
            if not kept:
                places.append(
                    PlaceOrder(
                        client_id=self.new_client_id(quote.tag + "-"),
                        side=quote.side,
                        qty=quote.qty,
                        price=quote.price,
                        post_only=self.post_only,
                        tag=quote.tag,
                    )
                )
        for orders in by_tag.values():  # quotes no longer wanted
            cancels.extend(self._cancel(o) for o in orders)
        return cancels + places

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
    bid = ctx.book.best_bid()
    ask = ctx.book.best_ask()
    if bid is None or ask is None:
        return None
    return (bid[0] + ask[0]) / 2.0, bid[0], ask[0]
