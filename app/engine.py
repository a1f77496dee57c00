"""The engine: the one owner of books, strategies, risk and portfolio.

Everything that changes state goes through here, on one thread: feed messages (``handle``),
timers (``tick``) and control commands (``command``). The runtime calls these from a single green
thread, and control commands from Socket.IO handlers run only while that thread is parked between
batches (eventlet is cooperative), so commands are applied between events, never inside one.
Every 200 ms the broadcaster calls ``publish()``, which builds one immutable snapshot dict.
Replay and backtest drive the same methods synchronously from files.

Crash-only: an exception while handling one feed item, market event, timer or snapshot is a fault
(``app.faults``): that piece of work is given up, the error logged with its traceback and counted,
and the engine goes on with the next. A strategy that raises is switched off on its symbol by
its session. ``tick`` (every batch) beats the engine's heart: /health calls an engine whose last
beat is older than ENGINE_STALL_NS stalled, whatever the feed says.

With an account journal (``app.journal``; the monitor always has one, in memory with
--memory-only) the engine starts on the account as the journal left it (``app.account_restore``),
and journals from then on: every activity entry passes its one sink (``record_activity``), every
equity sample, every control command with its ack. ``commit()`` makes them durable at the end of
each batch, after each command and before each snapshot, so nothing is shown that a crash could
take back; a commit that fails is a fault and a /health reason, and its rows wait for the next.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any, Callable, Iterable, Mapping

import numpy as np

from app.account_restore import resume_account
from app.config import MonitorConfig
from app.faults import FaultLog
from app.journal import Journal, JournalWriteError
from app.payload import payload_problem
from app.market_view import MarketView
from app.snapshot import SnapshotBuilder
from feeds.messages import ConnectionEvent, FeedMessage
from feeds.stream_connection import ConnectionPolicy
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
from strategies.parameters import ParameterError, shown
from strategies.matching import PaperMatcher
from strategies.portfolio import Portfolio
from strategies.registry import create_strategy
from strategies.risk import RiskLimits, RiskManager
from strategies.session import SymbolSession

ClockNs = Callable[[], int]

NS_PER_MS = 1_000_000
# No batch processed for this long (the pump hands one over at least every 50 ms): stalled.
ENGINE_STALL_NS = 1_500 * NS_PER_MS
# A streaming symbol with no frame for half the connection's silence limit is degraded before the
# watchdog reconnects (Binance sends every @ticker each second, so this is never a quiet market).
FEED_SILENCE_NS = int(ConnectionPolicy().silence_timeout_s * 1e9 / 2)
# More frames waiting than this: the engine is behind the feed.
BACKLOG_DEGRADED = 2_000
_FAULT_PLACE = {BookChanged: "book", TradeTick: "trade", TickerUpdate: "ticker", BookStatus: "status"}


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
        monotonic_ns: ClockNs = time.monotonic_ns,
        source: str = "sim",
        request_snapshot: Callable[[str], None] | None = None,
        settings: Mapping[str, Any] | None = None,
        on_settings_changed: Callable[[dict], None] | None = None,
        journal: Journal | None = None,
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
        self.monotonic_ns = monotonic_ns
        self.beat_ns = monotonic_ns()  # the last tick(): the engine's own liveness
        self.feed_queue: Any = None  # the runtime's FeedQueue (depth(), dropped), reported on /health
        self.loop_restarts = 0  # times the runtime restarted the processing loop after it died
        self._request_snapshot = request_snapshot or (lambda symbol: None)
        self.market = MarketData(self.instruments, self._request_snapshot)
        self.views = {s: MarketView(self.instruments[s]) for s in self.symbols}
        self.activity = ActivityLog()  # the newest ACTIVITY_KEPT entries
        # The one activity sink: with a journal, nothing reaches the feed without being journaled.
        self.journal = journal
        self.record_activity = self.activity.append if journal is None else self._record_journaled
        self.faults = FaultLog(self.record_activity, monotonic_ns)
        self.portfolio = Portfolio(self.instruments)
        self.sessions = {s: self._new_session(self.instruments[s], i) for i, s in enumerate(self.symbols)}
        self._timer_ns = config.timer_interval_ms * 1_000_000
        self._next_timer = 0
        self._on_settings_changed = on_settings_changed
        self._snapshots = SnapshotBuilder(self, depth_levels=config.depth_levels)
        if journal is not None:
            resume_account(self, journal)
        if settings:
            self.apply_settings(settings)
        for session in self.sessions.values():
            for name in session.strategy_names():
                self._check_spread_against_fees(session, name)
        if journal is not None:
            journal.describe_run(self.run_description())
            self.commit()

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
            PaperMatcher(instrument, fees=self.config.fees),
            self.portfolio,
            self.record_activity,
            enabled=enabled,
        )

    # -- feed input ---------------------------------------------------------------------------------
    def handle_batch(self, items: Iterable[Any]) -> None:
        for item in items:
            try:
                self.handle(item)
            except Exception as exc:  # one bad item is skipped, never the rest of the stream
                self.faults.record("feed", exc, ts_ns=getattr(item, "recv_ns", 0))
        self.tick(self.clock_ns())
        self.commit()

    def handle(self, item: Any) -> None:
        """One item from the feed queue: a FeedMessage or a ConnectionEvent."""
        if isinstance(item, FeedMessage):
            self.on_message(item.recv_ns, item.text, item.symbol)
        elif isinstance(item, ConnectionEvent):
            self.on_connection(item.kind, item.recv_ns, item.detail, item.symbols)

    def on_message(self, recv_ns: int, text: str | bytes, symbol: str | None = None) -> None:
        for event in self.market.on_message(recv_ns, text, symbol):
            try:
                self._dispatch(event, recv_ns)
            except Exception as exc:
                self.faults.record(_FAULT_PLACE.get(type(event), "feed"), exc, ts_ns=recv_ns,
                                   symbol=getattr(event, "symbol", ""))

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
        """The heartbeat, then (every timer interval) strategies' on_timer and risk's stale-data guard."""
        self.beat_ns = self.monotonic_ns()
        self._collect_strategy_faults()
        if now_ns < self._next_timer:
            return
        self._next_timer = now_ns + self._timer_ns
        for symbol, session in self.sessions.items():
            try:
                session.on_timer(now_ns)
            except Exception as exc:
                self.faults.record("timer", exc, ts_ns=now_ns, symbol=symbol)
        try:
            self.portfolio.advance(now_ns)
        except Exception as exc:
            self.faults.record("timer", exc, ts_ns=now_ns)

    def _collect_strategy_faults(self) -> None:
        """Strategies the sessions switched off: logged with their tracebacks, counted (the
        session already put the error on the activity feed)."""
        for symbol, session in self.sessions.items():
            if session.faults:
                for fault in session.drain_faults():
                    self.faults.record("strategy", fault.error, ts_ns=fault.ts, symbol=symbol, announce=False)

    def resync(self, reason: str) -> None:
        """Rebuild every book from a fresh snapshot (after the processing loop restarted: frames
        may have been lost)."""
        now = self.clock_ns()
        for event in self.market.resync(reason):
            self._dispatch(event, now)

    # -- activity and the journal ------------------------------------------------------------------------
    def _log(self, ts_ns: int, symbol: str, kind: str, message: str, **data: Any) -> None:
        self.record_activity(Activity(ts_ns, symbol, kind, message, data))

    def _record_journaled(self, entry: Activity) -> None:
        self.activity.append(entry)
        self.journal.record(entry)

    def commit(self) -> None:
        """Make everything journaled so far durable: after each batch and command, before each
        snapshot and API answer. A failed commit is a fault; its rows wait for the next one."""
        if self.journal is not None:
            try:
                self.journal.commit()
            except JournalWriteError as exc:
                self.faults.record("journal", exc, ts_ns=self.clock_ns())

    def run_description(self) -> dict:
        """What this run trades with, for the journal: enough to know what produced its fills."""
        any_matcher = next(iter(self.sessions.values())).matcher
        return {
            "source": self.source, "symbols": self.symbols, "seed": self.config.seed,
            "strategies": list(self.config.strategies), "settings": self.settings()["symbols"],
            "fees": {s: asdict(session.matcher.fees) for s, session in self.sessions.items()},
            "latency": asdict(any_matcher.latency), "queue_model": type(any_matcher.queue_model).__name__,
        }

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
        """Apply one control command; returns the ack ``{"ok": bool, "error"?: str, ...}``. The
        command and its ack are journaled (and committed) before the ack goes back."""
        ack = self._command(name, payload)
        if self.journal is not None:
            self.journal.on_command(self.clock_ns(), name, payload, ack)
            self.commit()
        return ack

    def _command(self, name: str, payload: Mapping[str, Any] | None) -> dict:
        payload = payload or {}
        handler = {
            "stream": self._cmd_stream,
            "strategy": self._cmd_strategy,
            "risk": self._cmd_risk,
        }.get(name)
        if handler is None:
            return {"ok": False, "error": f"unknown command {name!r}"}
        problem = payload_problem(dict(payload) if isinstance(payload, Mapping) else payload)
        if problem:
            return {"ok": False, "error": f"{name}: {problem}"}
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
        raw = payload.get("symbol", "")
        symbol = raw.upper() if isinstance(raw, str) else ""
        if symbol not in self.sessions:
            raise CommandError(f"{command}: unknown symbol {shown(raw)}; known: {', '.join(self.symbols)}")
        return self.sessions[symbol]

    def _cmd_strategy(self, payload: Mapping[str, Any]) -> dict:
        session = self._session(payload, "strategy")
        name = payload.get("name")
        if name not in session.strategy_names():
            raise CommandError(f"strategy: unknown strategy {shown(name)}; known: {', '.join(session.strategy_names())}")
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
        if params:
            self._check_spread_against_fees(session, name)
        return {"symbol": session.symbol, "name": name}

    def _check_spread_against_fees(self, session: SymbolSession, name: str) -> None:
        """Say so when a quoter's fixed spread cannot pay a round trip's maker fees (it can only lose)."""
        params = session.strategy(name).params
        spread_bps = getattr(params, "spread_bps", None)
        round_trip_bps = 2 * self.config.fees.maker_bps
        if spread_bps is None or getattr(params, "spread_ticks", 0) or spread_bps > round_trip_bps:
            return
        self._log(self.clock_ns(), session.symbol, "strategy",
                  f"{name} quotes {spread_bps:g} bps wide against a {self.config.fees.maker_bps:g} bps maker fee "
                  f"each side: a round trip costs {round_trip_bps:g} bps, so it cannot make money",
                  strategy=name, warning="spread below fees")

    def _cmd_risk(self, payload: Mapping[str, Any]) -> dict:
        session = self._session(payload, "risk")
        action = payload.get("action")
        if action == "pause":
            reason = payload.get("reason")
            if reason is not None and not isinstance(reason, str):
                raise CommandError("risk: reason must be a string")
            session.pause(reason or "paused from the control panel")
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
        """Restore persisted settings through the same checks as the control panel's commands.

        Each stored value that no longer validates (a newer range, a hand-edited file, a value saved
        by an older version) is left out with a "saved setting ignored" activity entry; the rest
        applies. Entries for symbols or strategies this run does not have are skipped.
        """
        now = self.clock_ns()

        def ignored(symbol: str, what: str) -> None:
            self._log(now, symbol, "system", f"saved setting ignored: {what}")

        stored_symbols = settings.get("symbols") if isinstance(settings, Mapping) else None
        if not isinstance(stored_symbols, Mapping):
            if stored_symbols is not None:
                ignored("", "symbols is not an object")
            return
        for symbol, entry in stored_symbols.items():
            session = self.sessions.get(symbol)
            if session is None:
                continue
            if not isinstance(entry, Mapping):
                ignored(symbol, "not an object")
                continue
            strategies = entry.get("strategies") or {}
            for name, stored in (strategies.items() if isinstance(strategies, Mapping) else ()):
                if name not in session.strategy_names():
                    continue
                if not isinstance(stored, Mapping):
                    ignored(symbol, f"{name} is not an object")
                    continue
                enabled = stored.get("enabled")
                if enabled is not None and not isinstance(enabled, bool):
                    ignored(symbol, f"{name} enabled must be true or false, got {shown(enabled)}")
                    enabled = None
                current = session.strategy(name).params
                params, problems = type(current).from_stored(stored.get("params") or {}, current)
                for problem in problems:
                    ignored(symbol, problem)
                changed = {k: v for k, v in params.as_dict().items() if v != getattr(current, k)}
                session.configure(name, enabled=enabled, params=changed or None)
            stored_limits = entry.get("risk_limits")
            if stored_limits is not None:
                limits, problems = RiskLimits.from_stored(stored_limits, session.risk.limits)
                for problem in problems:
                    ignored(symbol, problem)
                if limits != session.risk.limits:
                    session.update_limits(limits.as_dict())
            if entry.get("risk_paused") is True:
                session.pause("paused (restored setting)")

    # -- reading (for the web layer) ------------------------------------------------------------------
    def publish(self) -> dict:
        """Build the next snapshot (consumes the since-last-push deltas). Only the broadcaster calls it."""
        self.commit()  # a fill is durable before any snapshot shows it
        now = self.clock_ns()
        try:
            return self._snapshots.publish(now)
        except Exception as exc:  # the last good snapshot is still the best answer there is
            self.faults.record("snapshot", exc, ts_ns=now)
            if self._snapshots.latest is None:
                raise
            return self._snapshots.latest

    def snapshot(self) -> dict:
        """The latest published snapshot; before the first push, the first one is published here."""
        return self._snapshots.latest or self.publish()

    def snapshot_for(self, symbols: Iterable[str], snap: dict | None = None) -> dict:
        return self._snapshots.filtered(snap or self.snapshot(), frozenset(symbols))

    def ready(self) -> bool:
        """Every book synced and the engine keeping up (streaming or not: a paused replay is ready)."""
        return all(self.market.synced(s) for s in self.symbols) and not self._engine_problems()

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
        queue = self.feed_queue
        return {
            **self.status(now),
            "source": self.source,
            "streaming": self.streaming,
            "symbols": symbols,
            "engine": {
                "last_beat_ms": round((self.monotonic_ns() - self.beat_ns) / 1e6, 1),
                "queue_depth": queue.depth() if queue is not None else 0,
                "queue_dropped": queue.dropped if queue is not None else 0,
                "loop_restarts": self.loop_restarts,
                "faults": self.faults.as_dict(),
            },
            "feed": self.market.counters(),
        }

    def status(self, now: int | None = None) -> dict:
        """The cheap part of health: ok only while streaming, the engine keeping up and every book
        synced and receiving; otherwise degraded, with the reasons."""
        now = self.clock_ns() if now is None else now
        reasons = self.problems(now)
        return {
            "status": "degraded" if reasons else "ok",
            "reasons": reasons,
            "uptime_s": round((now - self.started_ns) / 1e9, 1),
            "clients": self.clients,
        }

    def problems(self, now: int) -> list[str]:
        """What keeps the monitor from being ok, in words (empty when it is)."""
        out = self._engine_problems()
        if not self.streaming:
            out.append("not streaming")
            return out
        for symbol in self.symbols:
            if not self.market.synced(symbol):
                out.append(f"{symbol}: book not synced")
                continue
            last = self.market.stats(symbol).ts_recv
            if last and now - last > FEED_SILENCE_NS:
                out.append(f"{symbol}: no market data for {(now - last) / 1e9:.1f} s")
        return out

    def _engine_problems(self) -> list[str]:
        out = []
        stalled_ns = self.monotonic_ns() - self.beat_ns
        if stalled_ns > ENGINE_STALL_NS:
            out.append(f"engine stalled: nothing processed for {stalled_ns / 1e9:.1f} s")
        queue = self.feed_queue
        if queue is not None and queue.depth() > BACKLOG_DEGRADED:
            out.append(f"engine behind: {queue.depth()} frames waiting")
        if self.journal is not None and self.journal.problem:
            out.append(f"account not saved: {self.journal.problem}")
        return out

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
