"""The inventory-skewed market maker: symmetric ladders around the mid, shifted against inventory.

Centre = mid - skew_ticks * (position - inventory_target) / order size, capped at max_skew_ticks:
when long the whole ladder moves down (asks get hit sooner, bids later), when short it moves up.
Each side carries ``levels`` quotes ``level_spacing_ticks`` apart, the innermost half a spread
(bps of the mid, or ticks) from the centre. Post-only quotes are kept off the far touch so they
never cross. Quotes are refreshed only when the wanted price moved more than the refresh tolerance
or an order outlived ``max_order_age_ms``, which keeps order churn (and rate limits) down.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from typing import ClassVar

import numpy as np

from orderbook.instrument import Instrument
from strategies.base import Strategy, StrategyContext
from strategies.orders import Fill, Intent, Side
from strategies.parameters import BPS_MAX, LOTS_MAX, TICKS_MAX, Parameters, integer, number, require
from strategies.quoting import Quote, QuoteSync, QuotingParams, auto_order_lots, mid_ticks

_new_quote = partial(tuple.__new__, Quote)  # Quote((tag, side, price, qty)) without NamedTuple's Python __new__

_BUY = Side.BUY
_SELL = Side.SELL
_floor = math.floor
_ceil = math.ceil


@dataclass(frozen=True)
class MarketMakerParams(QuotingParams):
    """spread_ticks > 0 overrides spread_bps. Sizes and inventories in lots. skew_ticks: centre
    shift per order size of inventory away from the target. The shared quoting settings
    (order size, inventory cap, refresh tolerance, order age, post-only) are QuotingParams'."""

    spread_bps: float = number(10.0, 0, BPS_MAX, "bps")
    spread_ticks: int = integer(0, 0, TICKS_MAX, "ticks")
    levels: int = integer(1, 1, 50, "levels")
    level_spacing_ticks: int = integer(1, 1, TICKS_MAX, "ticks")
    inventory_target_lots: int = integer(0, -LOTS_MAX, LOTS_MAX, "lots")
    skew_ticks: float = number(1.0, 0, TICKS_MAX, "ticks per order size")
    max_skew_ticks: int = integer(100, 0, TICKS_MAX, "ticks")

    def validate(self) -> None:
        name = type(self).__name__
        require(
            self.spread_ticks > 0 or self.spread_bps > 0,
            f"{name}: spread_bps must be > 0 (or set spread_ticks > 0), got {self.spread_bps}",
        )
        require(
            self.max_inventory_lots == 0 or abs(self.inventory_target_lots) < self.max_inventory_lots,
            f"{name}: |inventory_target_lots| ({self.inventory_target_lots}) must be below "
            f"max_inventory_lots ({self.max_inventory_lots})",
        )


def ladder(
    side: Side,
    inner_price: int,
    levels: int,
    spacing: int,
    qty: int,
    capacity: int | None,
    tag_prefix: str,
) -> list[Quote]:
    """``levels`` quotes from ``inner_price`` outwards; total qty limited to ``capacity`` lots (None = no limit)."""
    quotes = []
    remaining = capacity
    step = -spacing if side is _BUY else spacing
    tags = _ladder_tags(tag_prefix, levels)
    price = inner_price
    for level in range(levels):
        size = qty if remaining is None else min(qty, remaining)
        if size <= 0 or price <= 0:
            break
        quotes.append(_new_quote((tags[level], side, price, size)))
        if remaining is not None:
            remaining -= size
        price += step
    return quotes


# Tag lists remembered, one per (prefix, levels): the quoters use the prefixes "bid" and "ask"
# and 1..50 levels, so 100 at most; the bound keeps any other caller from growing it for ever.
TAG_LISTS_KEPT = 128
_TAGS: dict[tuple[str, int], list[str]] = {}


def _ladder_tags(prefix: str, levels: int) -> list[str]:
    """["bid-L1", "bid-L2", ...]: built once per prefix and depth, not once per requote."""
    tags = _TAGS.get((prefix, levels))
    if tags is None:
        tags = [f"{prefix}-L{level + 1}" for level in range(levels)]
        if len(_TAGS) < TAG_LISTS_KEPT:
            _TAGS[(prefix, levels)] = tags
    return tags


def quote_inputs(ctx: StrategyContext, top: tuple[float, int, int] | None) -> tuple:
    """What a quoter's wanted quotes depend on, besides parameters, estimates and time.

    ``top`` is ``mid_ticks(ctx)``; the number of open orders stands in for their states, as
    every accepted, filled or cancelled order changes either it or the position.
    """
    return (top, ctx.position, len(ctx.open_orders), ctx.risk_state, ctx.book_ok)


def post_only_prices(bid_price: int, ask_price: int, best_bid: int, best_ask: int) -> tuple[int, int]:
    """Keep a bid below the best ask and an ask above the best bid (a crossing post-only is rejected)."""
    return min(bid_price, best_ask - 1), max(ask_price, best_bid + 1)


class MarketMaker(Strategy):
    """Inventory-skewed ladder quoter (see module docstring)."""

    name: ClassVar[str] = "market_maker"
    Params: ClassVar[type[Parameters]] = MarketMakerParams

    def __init__(self, instrument: Instrument, params: MarketMakerParams, rng: np.random.Generator) -> None:
        super().__init__(instrument, params, rng)
        self._quotes = QuoteSync.for_quoter(self.name, instrument, self.new_client_id, params)
        self._auto_lots = 0
        # what state() shows, kept raw: the dict is built only when someone looks
        self._shown: tuple = ("stopped", "no book yet", None)
        self._last_key: tuple | None = None

    def update_params(self, params: Parameters) -> None:
        super().update_params(params)
        p: MarketMakerParams = params  # type: ignore[assignment]
        self._quotes.configure_from(p)
        self._last_key = None

    # -- events --------------------------------------------------------------------------
    def on_book(self, ctx: StrategyContext) -> list[Intent]:
        # Most depth updates leave the touch, our position and our orders as they were: then the
        # wanted quotes cannot have changed and there is nothing to do (order age is the timer's job).
        # (mid_ticks and quote_inputs inlined: this runs on every book update)
        book = ctx.book
        bids = book.bids._list._lists
        asks = book.asks._list._lists
        if bids and asks:
            bid = bids[-1][-1]
            ask = asks[0][0]
            top: tuple[float, int, int] | None = ((bid + ask) / 2.0, bid, ask)
        else:
            top = None
        key = (top, ctx.position, len(ctx.open_orders), ctx.risk_state, ctx.book_ok)
        if key == self._last_key:
            return []
        self._last_key = key
        return self._requote(ctx, top)

    def on_fill(self, ctx: StrategyContext, fill: Fill) -> list[Intent]:
        return self._requote(ctx, mid_ticks(ctx))

    def on_timer(self, ctx: StrategyContext) -> list[Intent]:
        return self._requote(ctx, mid_ticks(ctx))

    def state(self) -> dict:
        shown = self._shown
        if shown[0] == "stopped":
            _, reason, position = shown
            if position is None:
                return {"quoting": False, "reason": reason}
            return {"quoting": False, "reason": reason, "position": position}
        _, position, skew, centre, targets = shown
        bid_price, ask_price, qty, _, _ = targets
        quoting = bool(self._ladders(targets))
        to_price = self.instrument.ticks_to_price
        return {
            "quoting": quoting,
            "reason": "" if quoting else "inventory limit",
            "position": position,
            "order_lots": qty,
            "skew_ticks": round(skew, 6),
            "centre": to_price(1) * centre,
            "bid": to_price(bid_price),
            "ask": to_price(ask_price),
        }

    # -- quoting -------------------------------------------------------------------------
    def order_lots(self, mid: float) -> int:
        p: MarketMakerParams = self.params  # type: ignore[assignment]
        if p.order_lots:
            return p.order_lots
        if not self._auto_lots:
            self._auto_lots = auto_order_lots(self.instrument, mid)
        return self._auto_lots

    def _stop(self, ctx: StrategyContext, reason: str) -> list[Intent]:
        self._shown = ("stopped", reason, ctx.position)
        return self._quotes.cancel_all(ctx)

    def _requote(self, ctx: StrategyContext, top: tuple[float, int, int] | None) -> list[Intent]:
        if not ctx.book_ok:
            return self._stop(ctx, "book not usable")
        if ctx.risk_state == "HALTED":
            return self._stop(ctx, "risk halted")
        if top is None:
            return self._stop(ctx, "one side of the book is empty")
        targets = self._targets(ctx, *top)
        quotes = self._quotes
        if quotes.settled(ctx, targets):
            return []
        return quotes.sync(ctx, self._ladders(targets), targets)

    def wanted_quotes(self, ctx: StrategyContext, mid: float, best_bid: int, best_ask: int) -> list[Quote]:
        """The ladders this book and inventory call for."""
        return self._ladders(self._targets(ctx, mid, best_bid, best_ask))

    def _targets(self, ctx: StrategyContext, mid: float, best_bid: int, best_ask: int) -> tuple:
        """(inner bid, inner ask, order lots, bid capacity, ask capacity): all the ladders depend on."""
        p: MarketMakerParams = self.params  # type: ignore[assignment]
        qty = p.order_lots or self._auto_lots or self.order_lots(mid)
        position = ctx.position
        excess_units = (position - p.inventory_target_lots) / qty
        # skew = max(-cap, min(cap, skew_ticks * excess_units)), spelled out (same result and type)
        skew = p.skew_ticks * excess_units
        cap = p.max_skew_ticks
        if not skew < cap:
            skew = cap
        if not skew > -cap:
            skew = -cap
        centre = mid - skew
        half = p.spread_ticks / 2.0 if p.spread_ticks else mid * p.spread_bps / 20_000.0
        # round outwards: never quote tighter than asked
        bid_price = _floor(centre - half + 1e-9)
        ask_price = _ceil(centre + half - 1e-9)
        if p.post_only:  # post_only_prices, inlined
            if bid_price > best_ask - 1:
                bid_price = best_ask - 1
            if ask_price < best_bid + 1:
                ask_price = best_bid + 1

        bid_capacity: int | None = None
        ask_capacity: int | None = None
        if p.max_inventory_lots:
            bid_capacity = max(0, p.max_inventory_lots - position)
            ask_capacity = max(0, p.max_inventory_lots + position)
        if ctx.risk_state == "REDUCING":  # only orders that bring the position towards zero
            bid_capacity = max(0, -position)
            ask_capacity = max(0, position)
        targets = (bid_price, ask_price, qty, bid_capacity, ask_capacity)
        self._shown = ("quoting", position, skew, centre, targets)
        return targets

    def _ladders(self, targets: tuple) -> list[Quote]:
        p: MarketMakerParams = self.params  # type: ignore[assignment]
        bid_price, ask_price, qty, bid_capacity, ask_capacity = targets
        quotes = ladder(_BUY, bid_price, p.levels, p.level_spacing_ticks, qty, bid_capacity, "bid")
        quotes += ladder(_SELL, ask_price, p.levels, p.level_spacing_ticks, qty, ask_capacity, "ask")
        return quotes
