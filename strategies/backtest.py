"""The backtest driver: normalised market events in, one SymbolSession per symbol, a JSON-safe summary out.

The caller feeds events in receive order through ``on_book`` / ``on_trade`` / ``on_book_status``
(app.commands.backtest composes the recording reader and feeds.pipeline.MarketData with this driver;
strategies/ never imports feeds). Timers fire every ``timer_ms`` of event time, before the first
event at or after their time. Randomness comes from one seed, split per symbol and per use in sorted
symbol order, so the same events and configuration always give the same summary.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from orderbook.book import OrderBook
from orderbook.instrument import Instrument
from orderbook.trades import TradeTick
from strategies.activity import Activity, ActivityLog
from strategies.fees import FeeSchedule
from strategies.latency import MS, LatencyModel
from strategies.matching import PaperMatcher
from strategies.metrics import SECOND_NS, SHARPE_DEFINITION
from strategies.portfolio import SESSION_GAP_NS, Portfolio
from strategies.queue_models import make_queue_model
from strategies.registry import create_strategy, strategy_class
from strategies.risk import RiskLimits, RiskManager
from strategies.session import SymbolSession

_TIMER_CATCH_UP = 10  # after a longer silence only the first and the last missed tick fire


@dataclass(frozen=True)
class BacktestConfig:
    """What to run: a registered strategy with k=v params on every symbol, and the execution model."""

    strategy: str
    params: Mapping[str, Any] = field(default_factory=dict)
    seed: int = 0
    timer_ms: int = 1000
    fees: FeeSchedule = field(default_factory=FeeSchedule)
    latency: LatencyModel = field(default_factory=LatencyModel)
    queue_model: str = "probabilistic"
    risk_limits: Mapping[str, Any] = field(default_factory=dict)
    activity_keep: int = 1000

    def __post_init__(self) -> None:
        if not isinstance(self.timer_ms, int) or self.timer_ms <= 0:
            raise ValueError(f"timer_ms must be a positive integer, got {self.timer_ms!r}")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")
        make_queue_model(self.queue_model, np.random.default_rng(0))  # validates the name
        strategy_class(self.strategy).Params.from_mapping(self.params)  # ParameterError early, once
        RiskLimits.from_mapping(self.risk_limits)

    def as_dict(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy,
            "params": dict(self.params),
            "seed": self.seed,
            "timer_ms": self.timer_ms,
            "fees": {"maker_bps": self.fees.maker_bps, "taker_bps": self.fees.taker_bps},
            "latency": self.latency.as_dict(),
            "queue_model": self.queue_model,
            "risk_limits": dict(self.risk_limits),
        }


class Backtest:
    """Sessions for `instruments` (all of them, sorted by symbol), driven by market events in receive order."""

    def __init__(self, instruments: Mapping[str, Instrument], config: BacktestConfig) -> None:
        self.config = config
        self.portfolio = Portfolio(instruments[s] for s in sorted(instruments))
        self.activity = ActivityLog(config.activity_keep)
        self.activity_counts: Counter[str] = Counter()
        self.sessions: dict[str, SymbolSession] = {}
        self.events = 0
        self.first_ns: int | None = None
        self.last_ns: int | None = None
        self.timelines = 0  # stretches of event time joined (a gap over SESSION_GAP_NS starts a new one)
        self.session_ns = 0  # event time inside the sessions that ended; the open one adds last - its start
        self._session_start: int | None = None
        self._timer_ns = config.timer_ms * MS
        self._next_timer = -1  # the first event starts the timers
        self._finished = False
        self.on_activity: Callable[[Activity], None] | None = None  # every entry, as logged (e.g. a fills file)
        seeds = np.random.SeedSequence(config.seed).spawn(len(instruments))
        risk_limits = RiskLimits.from_mapping(config.risk_limits)
        params = strategy_class(config.strategy).Params.from_mapping(config.params)  # frozen: one for all symbols
        for symbol, seed in zip(sorted(instruments), seeds):
            instrument = instruments[symbol]
            strategy_seed, queue_seed = seed.spawn(2)
            strategy = create_strategy(config.strategy, instrument, params, np.random.default_rng(strategy_seed))
            matcher = PaperMatcher(
                instrument, fees=config.fees, latency=config.latency,
                queue_model=make_queue_model(config.queue_model, np.random.default_rng(queue_seed)),
            )
            self.sessions[symbol] = SymbolSession(
                instrument, [strategy], RiskManager(instrument, risk_limits), matcher, self.portfolio, self._log,
            )
        self._session_list = list(self.sessions.values())

    def _log(self, entry: Activity) -> None:
        self.activity_counts[entry.kind] += 1
        self.activity.append(entry)
        if self.on_activity is not None:
            self.on_activity(entry)

    # -- events --------------------------------------------------------------------------------
    def on_book(self, symbol: str, ts_recv: int, book: OrderBook, book_ok: bool = True) -> None:
        """The symbol's book changed (received at ts_recv, ns)."""
        if ts_recv >= self._next_timer:
            self._fire_timers(ts_recv)
        self.events += 1
        self.last_ns = ts_recv
        session = self.sessions.get(symbol)
        if session is not None:
            session.on_book(ts_recv, book, book_ok)

    def on_trade(self, trade: TradeTick) -> None:
        now = trade.ts_recv
        if now >= self._next_timer:
            self._fire_timers(now)
        self.events += 1
        self.last_ns = now
        session = self.sessions.get(trade.symbol)
        if session is not None:
            session.on_trade(trade)

    def on_book_status(self, symbol: str, now: int, synced: bool, stale: bool = False, reason: str = "") -> None:
        if now >= self._next_timer:
            self._fire_timers(now)
        self.events += 1
        self.last_ns = now
        session = self.sessions.get(symbol)
        if session is not None:
            session.on_book_status(now, synced, stale, reason)

    def _fire_timers(self, now: int) -> None:
        """Fire every timer due at or before now (a long silence fires only its first and last tick)."""
        interval = self._timer_ns
        if self.first_ns is None:  # the first event starts the clock: timers from the next whole interval
            self.first_ns = self._session_start = now
            self.timelines = 1
            self._next_timer = (now // interval + 1) * interval
            return
        if now - self.last_ns > SESSION_GAP_NS:  # a gap between recordings: the seconds in it are not data
            self.session_ns += self.last_ns - self._session_start
            self._session_start = now
            self.timelines += 1
        tick = self._next_timer
        last = now - now % interval
        missed = (last - tick) // interval + 1
        ticks = [tick, last] if missed > _TIMER_CATCH_UP else range(tick, last + 1, interval)
        for at in ticks:
            for session in self._session_list:
                session.on_timer(at)
        self._next_timer = last + interval

    def finish(self) -> None:
        """End of data: close the last second of the equity curve (idempotent)."""
        if self._finished:
            return
        self._finished = True
        if self.last_ns is not None:
            self.portfolio.finish(self.last_ns)

    # -- results -------------------------------------------------------------------------------
    def duration_ns(self) -> int:
        """Event time covered by data: the sessions' spans, never the gaps between them."""
        if self._session_start is None:
            return 0
        return self.session_ns + self.last_ns - self._session_start

    def summary(self) -> dict[str, Any]:
        """Deterministic JSON-safe results: per symbol, total, and the run's configuration."""
        self.finish()
        symbols = {}
        for symbol, session in self.sessions.items():
            account = session.account
            entry = account.as_dict()
            entry.update(session.counters())
            entry["risk_state"] = session.risk.state.value
            entry["strategy_state"] = session.slots[0].strategy.state()
            symbols[symbol] = entry
        duration = self.duration_ns() / SECOND_NS
        total = self.portfolio.totals()
        total.pop("sharpe_definition", None)
        return {
            "config": self.config.as_dict(),
            "symbols": symbols,
            "total": total,
            "by_quote": self.portfolio.totals_by_quote(),
            "events": self.events,
            "first_ts": self.first_ns,
            "last_ts": self.last_ns,
            "duration_s": duration,
            "sessions": self.timelines,
            "span_s": (self.last_ns - self.first_ns) / SECOND_NS if self.first_ns is not None else 0.0,
            "activity": dict(sorted(self.activity_counts.items())),
            "sharpe_definition": SHARPE_DEFINITION,
            "max_drawdown_definition": "largest fall from a running peak of the 1-second equity samples, quote currency",
        }


class BacktestGroup:
    """Backtests fed the same market events, in order (a parameter sweep: the data is decoded once).

    Each member has its own sessions, matchers and portfolio; they share the one book, which they
    only read, so no member's orders can affect another's fills.
    """

    def __init__(self, backtests: list[Backtest]) -> None:
        if not backtests:
            raise ValueError("a backtest group needs at least one backtest")
        self.backtests = backtests

    def on_book(self, symbol: str, ts_recv: int, book: OrderBook, book_ok: bool = True) -> None:
        for backtest in self.backtests:
            backtest.on_book(symbol, ts_recv, book, book_ok)

    def on_trade(self, trade: TradeTick) -> None:
        for backtest in self.backtests:
            backtest.on_trade(trade)

    def on_book_status(self, symbol: str, now: int, synced: bool, stale: bool = False, reason: str = "") -> None:
        for backtest in self.backtests:
            backtest.on_book_status(symbol, now, synced, stale, reason)
