"""Start-up on an existing account: the journal's epoch replayed into a fresh engine.

Rules:
- Fills are booked again, oldest first, through the same accounting a live fill goes through
  (``SymbolSession.restore_fill``: the symbol's account and the strategy's own position), with
  the float fee the accounting used then, so positions, cash, realized P&L and fees come out as
  they were, to the bit. There is no second implementation of the accounting to drift from it.
- The equity curves (per symbol and total) get their 1-second samples back in order, so drawdown
  and Sharpe go on from where they were; the time the monitor was down is not sampled.
- The activity feed gets its newest entries back (as many as the feed keeps).
- Orders open when the last run ended cannot be open any more (the paper matcher's queue state is
  gone with the process): each is cancelled at start-up, with an activity entry saying so.
- Symbols of the journal that this run does not trade keep their rows; their account is not shown.
- A fill whose price or size is not a whole number of this run's ticks or lots (the exchange
  changed the symbol's filters) stops the start-up with one line: it cannot be booked as it was.
"""
from __future__ import annotations

import sqlite3
from typing import Any, Callable

import orjson

from app.journal import FillRow, Journal, JournalError, unreadable
from strategies.activity import Activity
from strategies.orders import Fill, FillReason, Liquidity, Side

_SIDES = {"BUY": Side.BUY, "SELL": Side.SELL}


def fill_from_row(row: FillRow, instrument: Any) -> Fill:
    """The Fill a journal row recorded, in this run's ticks and lots."""
    ticks, off_tick = divmod(row.price_units, instrument.tick_units)
    lots, off_lot = divmod(row.qty_units, instrument.step_units)
    if off_tick or off_lot:
        raise JournalError(f"fill {row.id} of {row.symbol} ({row.price_units} x {row.qty_units} 1e-8 units) is not on "
                           f"this run's tick and step sizes; give another --state-dir to start a new account")
    detail = orjson.loads(row.detail) if row.detail else {}
    return Fill(row.symbol, row.client_id, _SIDES[row.side], ticks, lots, Liquidity(row.liquidity),
                FillReason(row.reason), row.fee, row.ts, row.trade_id, row.tag, detail)


def resume_account(engine: Any, journal: Journal) -> None:
    """Start a fresh engine on its account: the journal's epoch booked back (reading only), then
    this run begun and journaled from here on, and the orders the last run left open cancelled."""
    restore_account(engine, journal)
    journal.bind(engine)
    cancel_orphan_orders(engine, journal, engine.record_activity)


def restore_account(engine: Any, journal: Journal) -> None:
    """Book the journal's epoch into ``engine`` (built, not yet journaling): fills, order sizes,
    equity curves, the activity feed. A damaged page on the way: JournalError, one line."""
    try:
        _restore(engine, journal)
    except sqlite3.DatabaseError as exc:
        raise unreadable(journal.path, exc) from None


def _restore(engine: Any, journal: Journal) -> None:
    sessions = engine.sessions
    for row in journal.epoch_fills():
        session = sessions.get(row.symbol)
        if session is not None:
            session.restore_fill(row.strategy, fill_from_row(row, session.instrument))
    for symbol, units in journal.placed_units().items():
        session = sessions.get(symbol)
        if session is not None:
            session.account.on_order_placed(units // session.instrument.step_units)
    portfolio = engine.portfolio
    accounts = portfolio.accounts
    for sample in journal.epoch_samples():
        equities = {s: e for s, e in orjson.loads(sample.symbols).items() if s in accounts}
        portfolio.restore_sample(sample.second, sample.seconds, equities, sample.total)
    for entry in journal.recent_activity(engine.activity.maxlen):
        engine.activity.append(entry)


def cancel_orphan_orders(engine: Any, journal: Journal, log: Callable[[Activity], None]) -> int:
    """Cancel the orders earlier runs left open, one activity entry each; returns how many."""
    now = engine.clock_ns()
    try:
        orphans = journal.close_open_orders(now)
    except sqlite3.DatabaseError as exc:
        raise unreadable(journal.path, exc) from None
    for orphan in orphans:
        session = engine.sessions.get(orphan.symbol)
        filled = orphan.filled_units // session.instrument.step_units if session is not None else 0
        log(Activity(now, orphan.symbol, "cancel",
                     f"canceled {orphan.client_id} at start-up: it was open when the monitor stopped",
                     {"client_id": orphan.client_id, "strategy": orphan.strategy, "status": "CANCELED",
                      "filled": filled, "run": orphan.run, "at_startup": True}))
    return len(orphans)
