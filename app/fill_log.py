"""`backtest --fills PATH`: every paper fill of a run as one CSV row, for analysis outside the tool.

Each fill says why it happened (the matcher's reason and the numbers behind it), so the file is
the audit trail of a backtest: load it with pandas and check any fill against the tape. Rows are
written as the fills happen (app.csv_report: renamed into place only when the run ends well).

Columns (FILL_COLUMNS): run (the combination's index in the sweep's grid order; 0 for one run),
ts (event time, ns since the epoch) and time (the same, UTC ISO 8601), symbol, strategy, client_id,
tag, side (BUY|SELL), price, qty and notional (exact decimals, quote currency for the notional),
liquidity (maker|taker), reason (queue_reached|trade_through|taker), fee (quote currency, negative
= rebate; the exact decimal of the fee rate times the exact notional, as the prices are), quote_asset, trade_id (the market trade that caused it, 0 when none), then the evidence,
empty where it does not apply: queue_ahead_before (size ahead of us before the fill), trade_price
and trade_qty (the print), best_opposite (the quote that crossed a resting order), level_qty and
taken_before (a taker order's level and what earlier slices of it had taken), cause.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Mapping

from app.csv_report import CsvReport, utc_text
from app.journal import decimal_text
from orderbook.instrument import Instrument, units_to_decimal
from strategies.activity import Activity
from strategies.fees import FeeSchedule
from strategies.orders import Liquidity

FILL_COLUMNS = (
    "run", "ts", "time", "symbol", "strategy", "client_id", "tag", "side", "price", "qty", "notional",
    "liquidity", "reason", "fee", "quote_asset", "trade_id",
    "queue_ahead_before", "trade_price", "trade_qty", "best_opposite", "level_qty", "taken_before", "cause",
)
# The matcher's evidence, in column order: each a price in ticks or a size in lots.
_EVIDENCE = (("queue_ahead_before", False), ("trade_price", True), ("trade_qty", False), ("best_opposite", True),
             ("level_qty", False), ("taken_before", False))


class FillLog(CsvReport):
    """Collects fills from backtests' activity (``listener(run)``) into a CSV report."""

    summary_key = "fills_file"  # where the summary says what was written
    row_noun = "fills"

    def __init__(self, path: Path, instruments: Mapping[str, Instrument]) -> None:
        super().__init__(path, FILL_COLUMNS)
        self._instruments = instruments

    def listener(self, run: int, fees: FeeSchedule) -> Callable[[Activity], None]:
        """What a Backtest's ``on_activity`` takes: the fills of combination ``run``, charged ``fees``."""
        def on_activity(entry: Activity) -> None:
            if entry.kind == "fill":
                self._write(run, entry, fees)
        return on_activity

    def _write(self, run: int, entry: Activity, fees: FeeSchedule) -> None:
        data = entry.data
        instrument = self._instruments[entry.symbol]
        price, qty = data["price"], data["qty"]
        notional = instrument.notional_units(price, qty)
        row = [
            run, entry.ts, utc_text(entry.ts), entry.symbol, data["strategy"], data["client_id"], data.get("tag", ""),
            data["side"], instrument.ticks_to_str(price), instrument.lots_to_str(qty),
            units_to_decimal(notional), data["liquidity"], data["reason"],
            decimal_text(fees.exact_fee(notional, Liquidity(data["liquidity"]))), instrument.quote_asset,
            data.get("trade_id", 0),
        ]
        for key, is_price in _EVIDENCE:
            value = data.get(key)
            if value is None:
                row.append("")
            else:
                row.append(instrument.ticks_to_str(value) if is_price else instrument.lots_to_str(value))
        row.append(data.get("cause", ""))
        self.write(row)
