"""Paper accounting: per-symbol position, average-cost P&L, fees and equity, and the total over symbols.

Inside an account money is kept in "tick-lots" (price ticks * quantity lots, an exact integer for cash);
one tick-lot is tick_size * step_size of the quote currency. Everything reported is in quote currency.
Realized P&L uses average cost; unrealized marks the position to the mid. Fees are separate, so
    equity = cash + position * mark = realized + unrealized - fees
where cash = -(bought notional) + (sold notional) - fees (a paper account starts at zero).
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping

from orderbook.instrument import UNITS_PER_ONE, Instrument
from strategies.metrics import EQUITY_POINTS_KEPT, SECOND_NS, SHARPE_DEFINITION, EquityCurve
from strategies.orders import Fill, Liquidity, Side

DAY_NS = 86_400 * SECOND_NS


def average_cost(position: int, avg_price: float, signed_qty: int, price: int) -> tuple[int, float, float]:
    """Trade signed_qty lots at price ticks against (position lots, avg_price ticks).

    Returns the new position, its average cost (ticks; 0 when flat) and the realized P&L in tick-lots:
    adding to a position averages the cost in, reducing realizes against it, and flipping through
    zero realizes the closed part and opens the rest at the trade price.
    """
    held = abs(position)
    if position == 0 or (position > 0) == (signed_qty > 0):
        return position + signed_qty, (avg_price * held + price * abs(signed_qty)) / (held + abs(signed_qty)), 0.0
    qty = abs(signed_qty)
    closed = qty if qty < held else held
    realized = closed * (price - avg_price) * (1 if position > 0 else -1)
    if qty > held:
        avg_price = float(price)
    elif qty == held:
        avg_price = 0.0
    return position + signed_qty, avg_price, realized


class SymbolAccount:
    """One symbol's paper position. position: signed lots; avg_price: ticks (average cost of the open position)."""

    __slots__ = (
        "instrument", "symbol", "quote_asset", "_quote_per_tick_lot", "position", "avg_price", "cash_tick_lots",
        "realized_tick_lots", "fees", "mark", "fills", "maker_fills", "taker_fills", "placed_qty", "filled_qty",
        "turnover_tick_lots", "curve", "day", "day_start_equity",
    )

    def __init__(self, instrument: Instrument, keep_points: int = EQUITY_POINTS_KEPT) -> None:
        self.instrument = instrument
        self.symbol = instrument.symbol
        self.quote_asset = instrument.quote_asset
        self._quote_per_tick_lot = instrument.tick_units * instrument.step_units / (UNITS_PER_ONE * UNITS_PER_ONE)
        self.position = 0
        self.avg_price = 0.0
        self.cash_tick_lots = 0  # exact: sold minus bought notional, fees excluded
        self.realized_tick_lots = 0.0
        self.fees = 0.0  # quote currency, the sum of every fill's fee in fill order
        self.mark: float | None = None  # ticks (mid; half ticks possible)
        self.fills = 0
        self.maker_fills = 0
        self.taker_fills = 0
        self.placed_qty = 0
        self.filled_qty = 0
        self.turnover_tick_lots = 0
        self.curve = EquityCurve(keep_points)
        self.day = -1
        self.day_start_equity = 0.0

    # -- updates -------------------------------------------------------------------------------
    def on_order_placed(self, qty: int) -> None:
        """An order of qty lots was accepted by the matcher (the fill ratio's denominator)."""
        self.placed_qty += qty

    def on_fill(self, fill: Fill) -> None:
        price = fill.price
        qty = fill.qty
        notional = price * qty
        if fill.side is Side.BUY:
            self.cash_tick_lots -= notional
            signed = qty
        else:
            self.cash_tick_lots += notional
            signed = -qty
        self.position, self.avg_price, realized = average_cost(self.position, self.avg_price, signed, price)
        self.realized_tick_lots += realized
        self.fees += fill.fee
        self.fills += 1
        if fill.liquidity is Liquidity.MAKER:
            self.maker_fills += 1
        else:
            self.taker_fills += 1
        self.filled_qty += qty
        self.turnover_tick_lots += notional
        if self.mark is None:
            self.mark = float(price)

    def set_mark(self, mark: float) -> None:
        """Mark price in ticks (the mid)."""
        self.mark = mark

    # -- readings (quote currency) -------------------------------------------------------------
    def equity(self) -> float:
        mark = self.mark
        value = self.cash_tick_lots + (self.position * mark if mark is not None and self.position else 0.0)
        return value * self._quote_per_tick_lot - self.fees

    def cash(self) -> float:
        return self.cash_tick_lots * self._quote_per_tick_lot - self.fees

    def realized(self) -> float:
        return self.realized_tick_lots * self._quote_per_tick_lot

    def unrealized(self) -> float:
        if not self.position or self.mark is None:
            return 0.0
        return self.position * (self.mark - self.avg_price) * self._quote_per_tick_lot

    def turnover(self) -> float:
        return self.turnover_tick_lots * self._quote_per_tick_lot

    def fill_ratio(self) -> float:
        return self.filled_qty / self.placed_qty if self.placed_qty else 0.0

    def position_qty(self) -> float:
        return self.instrument.lots_to_qty(self.position)

    def mark_price(self) -> float | None:
        return None if self.mark is None else self.mark * self.instrument.tick_units / UNITS_PER_ONE

    def daily_pnl(self) -> float:
        return self.equity() - self.day_start_equity

    def as_dict(self) -> dict[str, Any]:
        """The snapshot's per-symbol "position" block."""
        equity = self.equity()
        instrument = self.instrument
        return {
            "qty": instrument.lots_to_qty(self.position),
            "avg_price": self.avg_price * instrument.tick_units / UNITS_PER_ONE if self.position else 0.0,
            "mark": self.mark_price(),
            "realized": self.realized(),
            "unrealized": self.unrealized(),
            "fees": self.fees,
            "cash": self.cash(),
            "equity": equity,
            **self.curve.figures(equity),
            "fills": self.fills,
            "maker_fills": self.maker_fills,
            "taker_fills": self.taker_fills,
            "placed_qty": instrument.lots_to_qty(self.placed_qty),
            "filled_qty": instrument.lots_to_qty(self.filled_qty),
            "fill_ratio": self.fill_ratio(),
            "turnover": self.turnover(),
            "quote_asset": self.quote_asset,
        }


class Portfolio:
    """All symbols' accounts and their total, sampled once per second of event time.

    Totals add quote-currency amounts across symbols: meaningful when they share a quote asset
    (``totals_by_quote`` separates them otherwise).
    """

    def __init__(self, instruments: Iterable[Instrument] | Mapping[str, Instrument] = (),
                 keep_points: int = EQUITY_POINTS_KEPT) -> None:
        self._keep_points = keep_points
        self.accounts: dict[str, SymbolAccount] = {}
        self.curve = EquityCurve(keep_points)
        self._second: int | None = None  # the event-time second being accumulated
        self.next_sample_ns = 0  # event time (ns) at which advance() has work to do
        self._day = -1
        self._day_start_equity = 0.0
        # (last second, seconds) after each sample is recorded: the curves' ``last`` hold its equities
        self.on_sample: Callable[[int, int], None] | None = None
        values = instruments.values() if isinstance(instruments, Mapping) else instruments
        for instrument in values:
            self.add(instrument)

    def add(self, instrument: Instrument) -> SymbolAccount:
        account = self.accounts.get(instrument.symbol)
        if account is None:
            account = self.accounts[instrument.symbol] = SymbolAccount(instrument, self._keep_points)
        return account

    def account(self, symbol: str) -> SymbolAccount:
        return self.accounts[symbol]

    def on_fill(self, fill: Fill) -> None:
        self.accounts[fill.symbol].on_fill(fill)

    def advance(self, now: int) -> None:
        """Event time reached now (ns): close the seconds that ended before it. Call before applying an event."""
        if now < self.next_sample_ns:
            return
        second = now // SECOND_NS
        if self._second is None:
            self._start(second)
            return
        elapsed = second - self._second
        if elapsed > 0:
            self._record(second - 1, elapsed)
            self._second = second
            self.next_sample_ns = (second + 1) * SECOND_NS
            day = now // DAY_NS
            if day != self._day:
                self._new_day(day)

    def finish(self, now: int) -> None:
        """Close the last (partial) second at the end of a run so its equity counts."""
        self.advance(now)
        if self._second is not None:
            self._record(self._second, 1)
            self._second += 1
            self.next_sample_ns = (self._second + 1) * SECOND_NS

    def _start(self, second: int) -> None:
        self._second = second
        self.next_sample_ns = (second + 1) * SECOND_NS
        self._new_day(second * SECOND_NS // DAY_NS)

    def _new_day(self, day: int) -> None:
        self._day = day
        self._day_start_equity = self.equity()
        for account in self.accounts.values():
            account.day = day
            account.day_start_equity = account.equity()

    def _record(self, last_second: int, seconds: int) -> None:
        total = 0.0
        for account in self.accounts.values():
            equity = account.equity()
            total += equity
            account.curve.record(last_second, equity, seconds)
        self.curve.record(last_second, total, seconds)
        if self.on_sample is not None:
            self.on_sample(last_second, seconds)

    # -- readings ------------------------------------------------------------------------------
    def equity(self) -> float:
        return sum(account.equity() for account in self.accounts.values())

    def daily_pnl(self) -> float:
        return self.equity() - self._day_start_equity

    def totals(self) -> dict[str, Any]:
        """The snapshot's "portfolio" block (sums over symbols)."""
        accounts = list(self.accounts.values())
        equity = sum(a.equity() for a in accounts)
        placed = sum(a.placed_qty for a in accounts)
        return {
            "realized": sum(a.realized() for a in accounts),
            "unrealized": sum(a.unrealized() for a in accounts),
            "fees": sum(a.fees for a in accounts),
            "equity": equity,
            **self.curve.figures(equity),
            "fills": sum(a.fills for a in accounts),
            "maker_fills": sum(a.maker_fills for a in accounts),
            "taker_fills": sum(a.taker_fills for a in accounts),
            "fill_ratio": sum(a.filled_qty for a in accounts) / placed if placed else 0.0,
            "turnover": sum(a.turnover() for a in accounts),
            "quote_assets": sorted({a.quote_asset for a in accounts}),
            "sharpe_definition": SHARPE_DEFINITION,
        }

    def totals_by_quote(self) -> dict[str, dict[str, Any]]:
        """Sums per quote asset (amounts in different currencies do not add up)."""
        groups: dict[str, list[SymbolAccount]] = {}
        for account in self.accounts.values():
            groups.setdefault(account.quote_asset, []).append(account)
        result = {}
        for quote, accounts in sorted(groups.items()):
            result[quote] = {
                "symbols": [a.symbol for a in accounts],
                "realized": sum(a.realized() for a in accounts),
                "unrealized": sum(a.unrealized() for a in accounts),
                "fees": sum(a.fees for a in accounts),
                "equity": sum(a.equity() for a in accounts),
                "turnover": sum(a.turnover() for a in accounts),
                "fills": sum(a.fills for a in accounts),
            }
        return result
