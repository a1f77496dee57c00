"""The engine: the one owner of books, strategies, risk and portfolio.

Everything that changes state goes through here, on one thread: feed messages (``handle``),
timers (``tick``) and control commands (``command``). The runtime calls these from a single green
thread, and control commands from Socket.IO handlers run only while that thread is parked between
batches (eventlet is cooperative), so commands are applied between events, never inside one.
Every 200 ms the broadcaster calls ``publish()``, which builds one immutable snapshot dict.
Replay and backtest drive the same methods synchronously from files.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

import numpy as np

from app.config import MonitorConfig
from app.market_view import MarketView
from app.snapshot import SnapshotBuilder
from feeds.messages import ConnectionEvent, FeedMessage
from feeds.pipeline import (
    BookChanged,
    BookStatus,
    MarketData,
    ServerShutdown,
    TickerUpdate,
)
from orderbook.instrument import Instrument
from orderbook.trades import TradeTick
from strategies.activity import Activity, ActivityLog
from strategies.base import ParameterError
from strategies.matching import PaperMatcher
from strategies.portfolio import Portfolio
from strategies.registry import create_strategy
from strategies.risk import RiskLimits, RiskManager
from strategies.session import SymbolSession

ClockNs = Callable[[], int]


class CommandError(ValueError):
    """A control command that cannot be applied; its message goes back in the ack."""


@dataclass
class StreamControl:
    """What the engine calls to start and stop streaming: the runtime's live feed, or the replay.

    lossless: stopping loses no frames (a replay pauses and later goes on where it was), so the
    books stay synced; a live feed that stops loses every frame sent meanwhile, so its books must
    resync when it starts again.
    """

    start: Callable[[], None] = lambda: None
    stop: Callable[[], None] = lambda: None
    lossless: bool = False


class Engine:
    """Books (through MarketData), one SymbolSession per symbol, the activity log, the snapshot."""

    def __init__(
        self,
        config: MonitorConfig,
        instruments: Mapping[str, Instrument],
        *,
        clock_ns: ClockNs = time.time_ns,
        source: str = "sim",
        request_snapshot: Callable[[str], None] | None = None,
        settings: Mapping[str, Any] | None = None,
        on_settings_changed: Callable[[dict], None] | None = None,
    ) -> None:
        missing = [s for s in config.symbols if s not in instruments]
        if missing:
            raise KeyError(f"no instrument for {', '.join(missing)}")
        self.config = config
        self.symbols = list(config.symbols)
        self.instruments = {s: instruments[s] for s in self.symbols}
        self.source = source
        self.clock_ns = clock_ns
        self.started_ns = clock_ns()
        self.streaming = False
        self.clients = 0
        self.stream_control = StreamControl()
        self._request_snapshot = request_snapshot or (lambda symbol: None)
        self.market = MarketData(self.instruments, self._request_snapshot)
        self.views = {s: MarketView(self.instruments[s]) for s in self.symbols}
        self.activity = ActivityLog()  # the newest ACTIVITY_KEPT entries
        self.portfolio = Portfolio(self.instruments)
        self.sessions = {s: self._new_session(self.instruments[s], i) for i, s in enumerate(self.symbols)}
        self._timer_ns = config.timer_interval_ms * 1_000_000
        self._next_timer = 0
        self._on_settings_changed = on_settings_changed
        self._snapshots = SnapshotBuilder(self, depth_levels=config.depth_levels)
        if settings:
            self.apply_settings(settings)

    # -- construction ----------------------------------------------------------------------------
    def _new_session(self, instrument: Instrument, index: int) -> SymbolSession:
        seed = np.random.SeedSequence([self.config.seed, index])
        rngs = [np.random.default_rng(s) for s in seed.spawn(len(self.config.strategies))]
        strategies = [
            create_strategy(name, instrument, self.config.strategy_params.get(name), rng=rngs[i])
            for i, name in enumerate(self.config.strategies)
        ]
        enabled = {name: name in self.config.strategies_enabled for name in self.config.strategies}
        return SymbolSession(
            instrument,
            strategies,
            RiskManager(instrument, RiskLimits()),
            PaperMatcher(instrument),
            self.portfolio,
            self.activity.append,
            enabled=enabled,
        )

    # -- feed input ---------------------------------------------------------------------------------
    def handle_batch(self, items: Iterable[Any]) -> None:
        for item in items:
            self.handle(item)
        self.tick(self.clock_ns())

    def handle(self, item: Any) -> None:
        """One item from the feed queue: a FeedMessage or a ConnectionEvent."""
        if isinstance(item, FeedMessage):
            self.on_message(item.recv_ns, item.text, item.symbol)
        elif isinstance(item, ConnectionEvent):
            self.on_connection(item.kind, item.recv_ns, item.detail, item.symbols)

    def on_message(self, recv_ns: int, text: str | bytes, symbol: str | None = None) -> None:
        for event in self.market.on_message(recv_ns, text, symbol):
            self._dispatch(event, recv_ns)

    def on_connection(self, kind: str, recv_ns: int, detail: str = "", symbols: tuple[str, ...] = ()) -> None:
        """A feed connection changed; only the books it carries (``symbols``; all when empty) resync."""
        self._log(recv_ns, "", "feed", f"{kind}{': ' + detail if detail else ''}")
        for event in self.market.on_connection(kind, recv_ns, detail, symbols):
            self._dispatch(event, recv_ns)

    def _dispatch(self, event: Any, recv_ns: int) -> None:
        kind = type(event)
        if kind is BookChanged:
            symbol = event.symbol
            self.sessions[symbol].on_book(event.ts_recv, self.market.book(symbol), self.market.synced(symbol))
        elif kind is TradeTick:
            self.views[event.symbol].on_trade(event)
            self.sessions[event.symbol].on_trade(event)
        elif kind is TickerUpdate:
            self.views[event.symbol].on_ticker(event)
        elif kind is BookStatus:
            session = self.sessions[event.symbol]
            session.on_book_status(recv_ns, event.synced, event.stale, event.reason)
            state = "synced" if event.synced else f"resyncing ({event.reason})"
            self._log(recv_ns, event.symbol, "feed", f"book {state}")
        elif kind is ServerShutdown:
            self._log(recv_ns, "", "feed", "server announced shutdown: reconnecting")
        # BookTickerUpdate: the synced book is the source of truth for bid/ask (tests check they agree)

    def tick(self, now_ns: int) -> None:
        """Timers: strategies' on_timer and risk's stale-data guard, every timer interval."""
        if now_ns < self._next_timer:
            return
        self._next_timer = now_ns + self._timer_ns
        for symbol, session in self.sessions.items():
            session.on_timer(now_ns)
        self.portfolio.advance(now_ns)

    # -- activity ---------------------------------------------------------------------------------------
    def _log(self, ts_ns: int, symbol: str, kind: str, message: str, **data: Any) -> None:
        self.activity.append(Activity(ts_ns, symbol, kind, message, data))

    # -- streaming ----------------------------------------------------------------------------------
    def set_streaming(self, on: bool) -> bool:
        if on == self.streaming:
            return self.streaming
        now = self.clock_ns()
        if on:
            self.stream_control.start()
            self.streaming = True
            self._log(now, "", "system", "streaming started")
        else:
            self.stream_control.stop()
            self.streaming = False
            if not self.stream_control.lossless:
                # Frames sent from now on are lost: every book is stale until the stream is back and resynced.
                for event in self.market.on_connection("disconnected", now, "streaming stopped"):
                    self._dispatch(event, now)
            self._log(now, "", "system", "streaming stopped")
        return self.streaming

    # -- control commands ---------------------------------------------------------------------------
    def command(self, name: str, payload: Mapping[str, Any] | None) -> dict:
        """Apply one control command; returns the ack ``{"ok": bool, "error"?: str, ...}``."""
        payload = payload or {}
        handler = {
            "stream": self._cmd_stream,
            "strategy": self._cmd_strategy,
            "risk": self._cmd_risk,
        }.get(name)
        if handler is None:
            return {"ok": False, "error": f"unknown command {name!r}"}
        if not isinstance(payload, Mapping):
            return {"ok": False, "error": "the command's payload must be a JSON object"}
        try:
            result = handler(payload)
        except (CommandError, ParameterError) as exc:
            return {"ok": False, "error": str(exc)}
        if name in ("strategy", "risk", "stream") and self._on_settings_changed:
            self._on_settings_changed(self.settings())
        return {"ok": True, **result}

    def _cmd_stream(self, payload: Mapping[str, Any]) -> dict:
        action = payload.get("action")
        if action not in ("start", "stop"):
            raise CommandError("stream: action must be 'start' or 'stop'")
        return {"streaming": self.set_streaming(action == "start")}

    def _session(self, payload: Mapping[str, Any], command: str) -> SymbolSession:
        symbol = str(payload.get("symbol", "")).upper()
        if symbol not in self.sessions:
            raise CommandError(f"{command}: unknown symbol {payload.get('symbol')!r}")
        return self.sessions[symbol]

    def _cmd_strategy(self, payload: Mapping[str, Any]) -> dict:
        session = self._session(payload, "strategy")
        name = payload.get("name")
        if name not in session.strategy_names():
            raise CommandError(f"strategy: unknown strategy {name!r}; known: {', '.join(session.strategy_names())}")
        enabled = payload.get("enabled")
        if enabled is not None and not isinstance(enabled, bool):
            raise CommandError("strategy: enabled must be true or false")
        params = payload.get("params")
        if params is not None and not isinstance(params, Mapping):
            raise CommandError("strategy: params must be an object")
        try:
            session.configure(name, enabled=enabled, params=params)
        except (KeyError, ValueError) as exc:
            raise CommandError(str(exc)) from None
        now = self.clock_ns()
        what = []
        if enabled is not None:
            what.append("enabled" if enabled else "disabled")
        if params:
            what.append("params " + ", ".join(f"{k}={v}" for k, v in params.items()))
        self._log(now, session.symbol, "strategy", f"{name} {'; '.join(what) or 'unchanged'} (control panel)")
        return {"symbol": session.symbol, "name": name}

    def _cmd_risk(self, payload: Mapping[str, Any]) -> dict:
        session = self._session(payload, "risk")
        action = payload.get("action")
        if action == "pause":
            session.pause(str(payload.get("reason") or "paused from the control panel"))
        elif action == "resume":
            session.resume()
        elif action == "limits":
            limits = payload.get("limits")
            if not isinstance(limits, Mapping):
                raise CommandError("risk: limits must be an object")
            session.update_limits(limits)
        else:
            raise CommandError("risk: action must be 'pause', 'resume' or 'limits'")
        return {"symbol": session.symbol, "state": session.risk.state.value}

    # -- settings (persisted by the runtime) --------------------------------------------------------------
    def settings(self) -> dict:
        """What the control panel changed: streaming, strategies on/off and params, risk limits."""
        return {
            "streaming": self.streaming,
            "symbols": {
                symbol: {
                    "strategies": {
                        slot.name: {"enabled": slot.enabled, "params": slot.strategy.params.as_dict()}
                        for slot in session.slots
                    },
                    "risk_limits": session.risk.limits.as_dict(),
                    "risk_paused": session.risk.paused,
                }
                for symbol, session in self.sessions.items()
            },
        }

    def apply_settings(self, settings: Mapping[str, Any]) -> None:
        """Restore persisted settings; entries for unknown symbols or strategies are skipped."""
        now = self.clock_ns()
        for symbol, entry in (settings.get("symbols") or {}).items():
            session = self.sessions.get(symbol)
            if session is None or not isinstance(entry, Mapping):
                continue
            for name, strategy in (entry.get("strategies") or {}).items():
                if name in session.strategy_names() and isinstance(strategy, Mapping):
                    try:
                        session.configure(name, enabled=bool(strategy.get("enabled")),
                                          params=strategy.get("params") or None)
                    except (KeyError, ValueError) as exc:
                        self._log(now, symbol, "system", f"saved settings for {name} ignored: {exc}")
            limits = entry.get("risk_limits")
            if isinstance(limits, Mapping):
                try:
                    session.update_limits(limits)
                except ValueError as exc:
                    self._log(now, symbol, "system", f"saved risk limits ignored: {exc}")
            if entry.get("risk_paused"):
                session.pause("paused (restored setting)")

    # -- reading (for the web layer) ------------------------------------------------------------------
    def publish(self) -> dict:
        """Build the next snapshot (consumes the since-last-push deltas). Only the broadcaster calls it."""
        return self._snapshots.publish(self.clock_ns())

    def snapshot(self) -> dict:
        """The latest published snapshot; before the first push, the first one is published here."""
        return self._snapshots.latest or self.publish()

    def snapshot_for(self, symbols: Iterable[str], snap: dict | None = None) -> dict:
        return self._snapshots.filtered(snap or self.snapshot(), frozenset(symbols))

    def ready(self) -> bool:
        return all(self.market.synced(s) for s in self.symbols)

    def health(self) -> dict:
        now = self.clock_ns()
        symbols = {}
        for symbol in self.symbols:
            stats = self.market.stats(symbol)
            age = stats.event_age_ns(now)
            symbols[symbol] = {
                "synced": self.market.synced(symbol),
                "stale": self.market.stale(symbol),
                "update_id": stats.update_id,
                "last_event_age_ms": None if age is None else round(age / 1e6, 1),
                "msgs": stats.messages,
                "gaps": stats.gaps,
                "resyncs": stats.resyncs,
                "reconnects": stats.reconnects,
                "malformed": stats.malformed,
            }
        return {
            **self.status(now),
            "source": self.source,
            "streaming": self.streaming,
            "symbols": symbols,
            "feed": self.market.counters(),
        }

    def status(self, now: int | None = None) -> dict:
        """The cheap part of health: ok only while streaming with every book synced."""
        now = self.clock_ns() if now is None else now
        healthy = self.streaming and all(self.market.synced(s) for s in self.symbols)
        return {
            "status": "ok" if healthy else "degraded",
            "uptime_s": round((now - self.started_ns) / 1e9, 1),
            "clients": self.clients,
        }

    def book(self, symbol: str, depth: int = 20) -> dict:
        symbol = symbol.upper()
        if symbol not in self.instruments:
            raise KeyError(symbol)
        book = self.market.book(symbol)
        inst = self.instruments[symbol]
        return {
            "symbol": symbol,
            "update_id": book.update_id,
            "synced": self.market.synced(symbol),
            "bids": [[inst.ticks_to_str(p), inst.lots_to_str(q)] for p, q in book.top_bids(depth)],
            "asks": [[inst.ticks_to_str(p), inst.lots_to_str(q)] for p, q in book.top_asks(depth)],
        }
