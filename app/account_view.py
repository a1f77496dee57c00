"""The paper account as the API and its CSV downloads show it: fills, balances and positions, equity.

Rules for numbers (all strings, so JSON never rounds them):
- exact: a fill's price and qty (1e-8 units in the instrument's precision, never fewer digits
  than the value needs), its fee (the exact decimal of the fee schedule's rate times the exact
  notional), positions' qty (signed) and balances: the base asset holds the position, the quote
  asset the cash (sold minus bought notional, minus the exact fees; a paper account starts at 0);
- from the float accounting, to 15 significant digits (a double's reliable precision: 0.1 + 0.2 is
  "0.3", a BTC-quoted -2.1e-08 is "-0.000000021") and at most 12 decimals (a float residue of 1e-17
  is "0"), positional, trailing zeros dropped, never "-0":
  avg_price (at least the instrument's precision), realized, unrealized, equity.
Equity is per quote asset: amounts in different quote currencies are never added together.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any, Iterable, Mapping

import orjson

from app.csv_report import utc_text
from app.journal import FillRow, Journal, SampleRow, decimal_text
from orderbook.instrument import UNITS_PER_ONE, units_to_decimal
from strategies.metrics import SECOND_NS

FLOAT_DIGITS = 15  # what a double carries reliably: beyond it, digits are the float's noise
FLOAT_DECIMALS = 12  # and at most this many decimals (4 below a satoshi): residues such as 1e-17 read 0
_FLOAT_QUANTUM = Decimal(1).scaleb(-FLOAT_DECIMALS)
FILL_FIELDS = ("id", "ts", "symbol", "strategy", "side", "price", "qty", "fee", "fee_asset", "liquidity", "reason",
               "client_id")
FILL_CSV_COLUMNS = ("id", "ts", "time", *FILL_FIELDS[2:])


def units_text(units: int, decimals: int) -> str:
    """1e-8 units with ``decimals`` places, or more if the value needs them: (150000000, 2) -> '1.50'."""
    whole, frac = units_to_decimal(units).split(".")
    keep = max(decimals, len(frac.rstrip("0")))
    return f"{whole}.{frac[:keep]}" if keep else whole


def float_text(value: float, min_decimals: int = 0) -> str:
    """A float figure to FLOAT_DIGITS significant digits and at most FLOAT_DECIMALS decimals, positional
    ('-0.000000021', never '2.1e-08'), trailing zeros dropped down to ``min_decimals``, never '-0'."""
    rounded = Decimal(f"{value:.{FLOAT_DIGITS}g}").quantize(_FLOAT_QUANTUM)
    if not rounded:
        rounded = Decimal(0)
    whole, _, frac = format(rounded, "f").partition(".")
    frac = frac.rstrip("0").ljust(min_decimals, "0")
    return f"{whole}.{frac}" if frac else whole


def fill_json(row: FillRow, instruments: Mapping[str, Any]) -> dict[str, Any]:
    instrument = instruments.get(row.symbol)
    price_decimals = instrument.price_decimals if instrument is not None else 0
    qty_decimals = instrument.qty_decimals if instrument is not None else 0
    return {
        "id": row.id, "ts": row.ts, "symbol": row.symbol, "strategy": row.strategy, "side": row.side,
        "price": units_text(row.price_units, price_decimals), "qty": units_text(row.qty_units, qty_decimals),
        "fee": row.fee_text, "fee_asset": row.fee_asset, "liquidity": row.liquidity, "reason": row.reason,
        "client_id": row.client_id,
    }


def fill_csv_row(fill: Mapping[str, Any]) -> list:
    return [fill["id"], fill["ts"], utc_text(fill["ts"]), *(fill[key] for key in FILL_FIELDS[2:])]


def sample_json(row: SampleRow) -> dict[str, Any]:
    """One equity sample: ``ts`` is the end of the last second it closes (ns), ``seconds`` how many."""
    total = None if row.total is None else float_text(row.total)  # None: the total could not be valued then
    return {"ts": (row.second + 1) * SECOND_NS, "seconds": row.seconds, "total": total,
            "symbols": {symbol: float_text(equity) for symbol, equity in orjson.loads(row.symbols).items()}}


def equity_csv_header(symbols: Iterable[str]) -> list[str]:
    return ["ts", "time", "seconds", "total", *sorted(symbols)]


def equity_csv_row(sample: Mapping[str, Any], header: list[str]) -> list:
    return [sample["ts"], utc_text(sample["ts"]), sample["seconds"], sample["total"],
            *(sample["symbols"].get(symbol, "") for symbol in header[4:])]


def account_json(engine: Any, journal: Journal) -> dict[str, Any]:
    """Balances per asset, positions per symbol, equity per quote asset (see the module's rules)."""
    balances: dict[str, Decimal] = {}
    equity: dict[str, float] = {}
    positions = {}
    for symbol, session in engine.sessions.items():
        account = session.account
        instrument = session.instrument
        position = Decimal(account.position * instrument.step_units).scaleb(-8)
        cash = (Decimal(account.cash_tick_lots * instrument.tick_units * instrument.step_units).scaleb(-16)
                - journal.fees_paid.get(symbol, Decimal(0)))
        base, quote = instrument.base_asset or symbol, instrument.quote_asset
        balances[base] = balances.get(base, Decimal(0)) + position
        balances[quote] = balances.get(quote, Decimal(0)) + cash
        equity[quote] = equity.get(quote, 0.0) + account.equity()
        avg_price = account.avg_price * instrument.tick_units / UNITS_PER_ONE if account.position else 0.0
        positions[symbol] = {
            "qty": units_text(account.position * instrument.step_units, instrument.qty_decimals),
            "avg_price": float_text(avg_price, instrument.price_decimals),
            "realized": float_text(account.realized()),
            "unrealized": float_text(account.unrealized()),
            "fees": decimal_text(journal.fees_paid.get(symbol, Decimal(0))),
            "fills": account.fills,
            "quote_asset": quote,
        }
    portfolio = engine.portfolio
    valued = portfolio.equity()
    quotes = sorted(equity)
    return {
        "epoch": journal.epoch,
        "balances": {asset: decimal_text(amount) for asset, amount in sorted(balances.items())},
        "positions": positions,
        "equity": {quote: float_text(amount) for quote, amount in sorted(equity.items())},
        # the one total: each quote asset converted at its mark (strategies.valuation), never a raw sum
        "valuation": {
            "asset": portfolio.valuation.asset,
            "equity": None if valued is None else float_text(valued),
            "rates": {q: None if r is None else float_text(r) for q, r in portfolio.valuation.rates(quotes).items()},
            "note": None if valued is not None else portfolio.valuation.missing_note(quotes),
        },
    }
