"""`backtest --fills PATH`: every paper fill of a run as one CSV row, for analysis outside the tool.

Each fill says why it happened (the matcher's reason and the numbers behind it), so the file is
the audit trail of a backtest: load it with pandas and check any fill against the tape. Rows are
written as the fills happen, to a hidden file beside PATH that replaces PATH only when the run
ends well: a failed or interrupted run never leaves a half-written file under the name asked for.

Columns (FILL_COLUMNS): run (the combination's index in the sweep's grid order; 0 for one run),
ts (event time, ns since the epoch) and time (the same, UTC ISO 8601), symbol, strategy, client_id,
tag, side (BUY|SELL), price, qty and notional (exact decimals, quote currency for the notional),
liquidity (maker|taker), reason (queue_reached|trade_through|taker), fee (quote currency, negative
= rebate), quote_asset, trade_id (the market trade that caused it, 0 when none), then the evidence,
empty where it does not apply: queue_ahead_before (size ahead of us before the fill), trade_price
and trade_qty (the print), best_opposite (the quote that crossed a resting order), level_qty and
taken_before (a taker order's level and what earlier slices of it had taken), cause.
"""
from __future__ import annotations

import csv
import os
import tempfile
import time
from pathlib import Path
from typing import Callable, Mapping

from orderbook.instrument import Instrument, units_to_decimal
from strategies.activity import Activity

FILL_COLUMNS = (
    "run", "ts", "time", "symbol", "strategy", "client_id", "tag", "side", "price", "qty", "notional",
    "liquidity", "reason", "fee", "quote_asset", "trade_id",
    "queue_ahead_before", "trade_price", "trade_qty", "best_opposite", "level_qty", "taken_before", "cause",
)
# The matcher's evidence, in column order: each a price in ticks or a size in lots.
_EVIDENCE = (("queue_ahead_before", False), ("trade_price", True), ("trade_qty", False), ("best_opposite", True),
             ("level_qty", False), ("taken_before", False))


class FillLogError(OSError):
    """The fills file cannot be written where it was asked for."""


def utc_text(ts_ns: int) -> str:
    """ns since the epoch -> '2024-08-08T12:00:00.123456789Z' (no precision lost to floats)."""
    seconds, nanos = divmod(ts_ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{nanos:09d}Z"


class FillLog:
    """Collects fills from backtests' activity (``listener(run)``) into a CSV file. Use as a context
    manager: the file appears at ``path`` on a clean exit, and nothing does otherwise."""

    def __init__(self, path: Path, instruments: Mapping[str, Instrument]) -> None:
        self.path = Path(path)
        self.rows = 0
        self._instruments = instruments
        if self.path.is_dir():
            raise FillLogError(f"{self.path} is a directory; give a file name for the fills")
        try:
            handle, temp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".part", dir=self.path.parent)
            os.chmod(temp, 0o644)  # mkstemp's 0600 is for secrets; this is a report
        except OSError as exc:
            raise FillLogError(f"cannot write {self.path}: {exc.strerror or exc}") from None
        self._temp = Path(temp)
        self._file = os.fdopen(handle, "w", newline="", encoding="utf-8")
        self._writer = csv.writer(self._file)
        self._writer.writerow(FILL_COLUMNS)

    def listener(self, run: int) -> Callable[[Activity], None]:
        """What a Backtest's ``on_activity`` takes: the fills of combination ``run``."""
        def on_activity(entry: Activity) -> None:
            if entry.kind == "fill":
                self._write(run, entry)
        return on_activity

    def _write(self, run: int, entry: Activity) -> None:
        data = entry.data
        instrument = self._instruments[entry.symbol]
        price, qty = data["price"], data["qty"]
        row = [
            run, entry.ts, utc_text(entry.ts), entry.symbol, data["strategy"], data["client_id"], data.get("tag", ""),
            data["side"], instrument.ticks_to_str(price), instrument.lots_to_str(qty),
            units_to_decimal(instrument.notional_units(price, qty)), data["liquidity"], data["reason"],
            repr(float(data["fee"])), instrument.quote_asset, data.get("trade_id", 0),
        ]
        for key, is_price in _EVIDENCE:
            value = data.get(key)
            if value is None:
                row.append("")
            else:
                row.append(instrument.ticks_to_str(value) if is_price else instrument.lots_to_str(value))
        row.append(data.get("cause", ""))
        self._writer.writerow(row)
        self.rows += 1

    def __enter__(self) -> "FillLog":
        return self

    def __exit__(self, kind, value, traceback) -> None:
        try:
            if kind is None:
                self._file.flush()
                os.fsync(self._file.fileno())  # the rename must not land before the rows do
        finally:
            self._file.close()
        if kind is None:
            os.replace(self._temp, self.path)
        else:
            self._temp.unlink(missing_ok=True)
