"""Binance's symbol filters applied to an order in ticks and lots, with Binance's own rejection text.

Messages are exactly what Binance returns (error -1013 / -2010), so a paper reject reads like a real one.
"""
from __future__ import annotations

from orderbook.instrument import UNITS_PER_ONE, Instrument

PRICE_FILTER = "Filter failure: PRICE_FILTER"
LOT_SIZE = "Filter failure: LOT_SIZE"
NOTIONAL = "Filter failure: NOTIONAL"
WOULD_TAKE = "Order would immediately match and take."  # post-only / LIMIT_MAKER that would cross
DUPLICATE_ORDER = "Duplicate order sent."
UNKNOWN_ORDER = "Unknown order sent."
INVALID_PRICE = "Invalid price."  # a LIMIT order without a price
INVALID_QUANTITY = "Invalid quantity."


def price_rejection(instrument: Instrument, price: int) -> str | None:
    """PRICE_FILTER: minPrice <= price <= maxPrice (0 = no bound). Ticks are multiples of tickSize by construction."""
    if price <= 0:
        return PRICE_FILTER
    units = price * instrument.tick_units
    if instrument.min_price_units and units < instrument.min_price_units:
        return PRICE_FILTER
    if instrument.max_price_units and units > instrument.max_price_units:
        return PRICE_FILTER
    return None


def quantity_rejection(instrument: Instrument, qty: int) -> str | None:
    """LOT_SIZE: minQty <= qty <= maxQty; lots are multiples of stepSize by construction."""
    if qty <= 0:
        return LOT_SIZE
    units = qty * instrument.step_units
    if instrument.min_qty_units and units < instrument.min_qty_units:
        return LOT_SIZE
    if instrument.max_qty_units and units > instrument.max_qty_units:
        return LOT_SIZE
    return None


def notional_rejection(instrument: Instrument, price: int, qty: int) -> str | None:
    """NOTIONAL (or the older MIN_NOTIONAL): minNotional <= price * qty <= maxNotional, compared exactly.

    For a MARKET order the caller passes a reference price (Binance uses a recent average price).
    """
    # price*qty in 1e-16 quote units, against the bounds scaled to the same units: exact, no rounding
    exact = price * instrument.tick_units * qty * instrument.step_units
    if instrument.min_notional_units and exact < instrument.min_notional_units * UNITS_PER_ONE:
        return NOTIONAL
    if instrument.max_notional_units and exact > instrument.max_notional_units * UNITS_PER_ONE:
        return NOTIONAL
    return None


def order_rejection(instrument: Instrument, price: int | None, qty: int, reference_price: int | None) -> str | None:
    """First failing filter for a new order, in Binance's order: PRICE_FILTER, LOT_SIZE, NOTIONAL.

    price is None for a MARKET order; its notional is checked at reference_price when one is known.
    """
    if price is not None:
        reason = price_rejection(instrument, price)
        if reason:
            return reason
    reason = quantity_rejection(instrument, qty)
    if reason:
        return reason
    check_price = price if price is not None else reference_price
    if check_price:
        return notional_rejection(instrument, check_price, qty)
    return None
