"""Paper accounting: per-symbol position, average-cost P&L, fees and equity, and the total over symbols.

Inside an account money is kept in "tick-lots" (price ticks * quantity lots, an exact integer for cash);
one tick-lot is tick_size * step_size of the quote currency. An account reports in its quote currency;
portfolio totals are in one valuation asset (strategies.valuation), each quote asset converted at
its mark, with the per-quote-asset breakdown beside them.
Realized P&L uses average cost; unrealized marks the position to the mid. Fees are separate, so
    equity = cash + position * mark = realized + unrealized - fees
where cash = -(bought notional) + (sold notional) - fees (a paper account starts at zero).
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping

from orderbook.instrument import UNITS_PER_ONE, Instrument
from strategies.metrics import EQUITY_POINTS_KEPT, SECOND_NS, SHARPE_DEFINITION, EquityCurve
from strategies.orders import Fill, Liquidity, Side
from strategies.valuation import Valuation, choose_valuation

DAY_NS = 86_400 * SECOND_NS
# Event time that jumps by more than this is a new session (no live market is silent for a minute:
# Binance sends every @ticker each second); the gap is not sampled.
SESSION_GAP_S = 60
SESSION_GAP_NS = SESSION_GAP_S * SECOND_NS


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
        "turnover_tick_lots", "curve", "day", "day_start_equity", "prices_others",
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
        self.prices_others = False  # its mid converts another quote asset: marked even when flat

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

    Totals are in ``valuation.asset``: each quote asset's sum converted at its rate, never amounts of
    different currencies added raw; ``totals_by_quote`` keeps each quote asset's own figures. The
    total curve is sampled only while every non-zero quote-asset amount can be valued.

    Sessions: event time that jumps by more than SESSION_GAP_NS (recordings of different days or
    of separate runs, joined) starts a new session. The gap is not sampled: the last second of the
    old session is closed, the first of the new one opens, and no idle seconds are counted in
    between, so drawdown, Sharpe and its sample count see only seconds that had a market.
    """

    def __init__(self, instruments: Iterable[Instrument] | Mapping[str, Instrument] = (),
                 keep_points: int = EQUITY_POINTS_KEPT,
                 valuation: str | None = None) -> None:
        values = list(instruments.values() if isinstance(instruments, Mapping) else instruments)
        self._keep_points = keep_points
        self.accounts: dict[str, SymbolAccount] = {}
        self.valuation = Valuation(valuation or choose_valuation(i.quote_asset for i in values), {})
        self.curve = EquityCurve(keep_points)  # in the valuation asset
        self.quote_curves: dict[str, EquityCurve] = {}  # each quote asset's own total
        self.last_total: float | None = None  # the last sample's total (None: it could not be valued)
        self._second: int | None = None  # the event-time second being accumulated
        self.next_sample_ns = 0  # event time (ns) at which advance() has work to do
        self._day = -1
        self._day_start_equity = 0.0
        self.timelines = 0  # stretches of event time without a gap longer than SESSION_GAP_NS
        # (last second, seconds) after each sample is recorded: the curves' ``last`` hold its equities
        self.on_sample: Callable[[int, int], None] | None = None
        for instrument in values:
            self.add(instrument)

    def add(self, instrument: Instrument) -> SymbolAccount:
        account = self.accounts.get(instrument.symbol)
        if account is None:
            account = self.accounts[instrument.symbol] = SymbolAccount(instrument, self._keep_points)
            self.valuation.consider(account)
            if account.quote_asset not in self.quote_curves:
                self.quote_curves[account.quote_asset] = EquityCurve(self._keep_points)
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
        if elapsed > SESSION_GAP_S:  # a new session: close the old one's last second, skip the gap
            self._record(self._second, 1)
            self.timelines += 1
        elif elapsed > 0:
            self._record(second - 1, elapsed)
        else:
            return
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
        self.timelines = 1
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
        by_quote = dict.fromkeys(self.quote_curves, 0.0)
        for account in self.accounts.values():
            equity = account.equity()
            by_quote[account.quote_asset] += equity
            account.curve.record(last_second, equity, seconds)
        for quote, amount in by_quote.items():
            self.quote_curves[quote].record(last_second, amount, seconds)
        total = self.last_total = self._valued(by_quote)
        if total is not None:
            self.curve.record(last_second, total, seconds)
        if self.on_sample is not None:
            self.on_sample(last_second, seconds)

    def restore_sample(self, last_second: int, seconds: int, equities: Mapping[str, float],
                       total: float | None) -> None:
        """A sample recorded by an earlier run, back into every curve (``total`` as it was valued then)."""
        by_quote = dict.fromkeys(self.quote_curves, 0.0)
        for symbol, equity in equities.items():
            account = self.accounts[symbol]
            account.curve.record(last_second, equity, seconds)
            by_quote[account.quote_asset] += equity
        for quote, amount in by_quote.items():
            self.quote_curves[quote].record(last_second, amount, seconds)
        if total is not None:
            self.curve.record(last_second, total, seconds)
        self.last_total = total

    # -- readings ------------------------------------------------------------------------------
    def _valued(self, amounts: Mapping[str, float]) -> float | None:
        """Amounts per quote asset as one sum in the valuation asset; None if a non-zero one has no rate."""
        total = 0.0
        for quote, amount in amounts.items():
            if amount:
                rate = self.valuation.rate(quote)
                if rate is None:
                    return None
                total += amount * rate
        return total

    def _sums(self, reading: Callable[[SymbolAccount], float]) -> dict[str, float]:
        sums = dict.fromkeys(self.quote_curves, 0.0)
        for account in self.accounts.values():
            sums[account.quote_asset] += reading(account)
        return sums

    def equity(self) -> float | None:
        """Total equity in the valuation asset (None when some quote asset cannot be valued)."""
        return self._valued(self._sums(SymbolAccount.equity))

    def daily_pnl(self) -> float | None:
        equity = self.equity()
        return None if equity is None or self._day_start_equity is None else equity - self._day_start_equity

    def totals(self) -> dict[str, Any]:
        """The snapshot's "portfolio" block: money in the valuation asset, counts over every symbol."""
        accounts = list(self.accounts.values())
        placed = sum(a.placed_qty for a in accounts)
        money = {
            "realized": self._valued(self._sums(SymbolAccount.realized)),
            "unrealized": self._valued(self._sums(SymbolAccount.unrealized)),
            "fees": self._valued(self._sums(lambda a: a.fees)),
            "equity": self._valued(self._sums(SymbolAccount.equity)),
            "turnover": self._valued(self._sums(SymbolAccount.turnover)),
        }
        valued = all(value is not None for value in money.values())
        if valued:
            figures = self.curve.figures(money["equity"])
        else:
            money = dict.fromkeys(money)
            figures = dict.fromkeys(self.curve.figures(0.0))
            figures["sharpe_note"] = "n/a: the total cannot be valued"
        quotes = sorted(self.quote_curves)
        return {
            "valuation": self.valuation.asset,
            "valuation_note": None if valued else self.valuation.missing_note(quotes),
            "rates": self.valuation.rates(quotes),
            **money,
            **figures,
            "fills": sum(a.fills for a in accounts),
            "maker_fills": sum(a.maker_fills for a in accounts),
            "taker_fills": sum(a.taker_fills for a in accounts),
            "fill_ratio": sum(a.filled_qty for a in accounts) / placed if placed else 0.0,
            "quote_assets": quotes,
            "sharpe_definition": SHARPE_DEFINITION,
        }

    def totals_by_quote(self) -> dict[str, dict[str, Any]]:
        """Sums per quote asset (amounts in different currencies do not add up)."""
        groups: dict[str, list[SymbolAccount]] = {}
        for account in self.accounts.values():
            groups.setdefault(account.quote_asset, []).append(account)
        result = {}
        for quote, accounts in sorted(groups.items()):
            equity = sum(a.equity() for a in accounts)
            result[quote] = {
                "symbols": [a.symbol for a in accounts],
                "realized": sum(a.realized() for a in accounts),
                "unrealized": sum(a.unrealized() for a in accounts),
                "fees": sum(a.fees for a in accounts),
                "equity": equity,
                "turnover": sum(a.turnover() for a in accounts),
                "fills": sum(a.fills for a in accounts),
                "rate": self.valuation.rate(quote),
                **self.quote_curves[quote].figures(equity),
            }
        return result
