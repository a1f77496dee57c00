"""`backtest --equity PATH`: a run's equity curve, one CSV row per closed second of event time.

The same 1-second samples the drawdown and the Sharpe are computed from (strategies.metrics), so
the curve can be plotted or re-analysed outside the tool. A row closes ``seconds`` seconds ending
at ``end_time``, all at the equities it shows (more than one when nothing happened for a while:
idle seconds are not written one by one). Columns: run (the combination's index in the sweep's grid
order; 0 for one run), end_ns and end_time (UTC) of the last second closed, seconds, then the total
equity per quote asset (``total_<QUOTE>``: amounts in different quote currencies do not add up),
then each symbol's equity in its own quote currency. Equity = cash + position marked to the mid,
fees paid, from zero at the start.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Mapping

from app.csv_report import CsvReport, utc_text
from orderbook.instrument import Instrument
from strategies.metrics import SECOND_NS
from strategies.portfolio import Portfolio


class EquityLog(CsvReport):
    """Collects the 1-second equity samples of backtests' portfolios (``listener(run, portfolio)``)."""

    summary_key = "equity_file"
    row_noun = "equity rows"

    def __init__(self, path: Path, instruments: Mapping[str, Instrument]) -> None:
        self._symbols = sorted(instruments)
        self._quotes = sorted({instruments[s].quote_asset for s in self._symbols})
        self._quote_of = {s: instruments[s].quote_asset for s in self._symbols}
        super().__init__(path, ["run", "end_ns", "end_time", "seconds",
                                *(f"total_{quote}" for quote in self._quotes), *self._symbols])

    def listener(self, run: int, portfolio: Portfolio) -> Callable[[int, int], None]:
        """What a Portfolio's ``on_sample`` takes: the samples of combination ``run``."""
        accounts = [portfolio.account(symbol) for symbol in self._symbols]
        quote_of = self._quote_of
        quotes = self._quotes

        def on_sample(last_second: int, seconds: int) -> None:
            totals = dict.fromkeys(quotes, 0.0)
            equities = []
            for account in accounts:
                equity = account.curve.last
                totals[quote_of[account.symbol]] += equity
                equities.append(repr(equity))
            end_ns = (last_second + 1) * SECOND_NS
            self.write([run, end_ns, utc_text(end_ns), seconds, *(repr(totals[q]) for q in quotes), *equities])
        return on_sample
