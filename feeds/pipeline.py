"""MarketData: the one entry for market data, live, in replay and in backtest.

Every received message goes through ``on_message(recv_ns, text, symbol)``: parsed (orjson),
routed to its symbol, applied to that symbol's BookSynchronizer, counted in its FeedStats; the
market events for the engine and strategies come back in order:

- ``BookChanged(symbol, ts_event, ts_recv, update_id)``: a diff or snapshot was applied to a
  synced book (``book(symbol)`` now shows it);
- ``BookStatus(symbol, synced, stale, reason)``: a book became synced, or stopped being synced;
- ``TradeTick`` (orderbook.trades) from ``@trade``, or from ``@aggTrade`` for a symbol without a
  ``@trade`` stream (``trade_source``);
- ``TickerUpdate`` (``@ticker``/``@miniTicker``), ``BookTickerUpdate`` (``@bookTicker``);
- ``ServerShutdown``: reconnect at once; ``FeedError``: an error reported in-band.

Connection changes go through ``on_connection``: after a disconnect or (re)connect every book
resyncs. Bad input never raises: it is counted (per symbol when the symbol can be told, else in
``malformed``/``unrouted``) and dropped.
"""
from __future__ import annotations

from typing import Callable, Iterable, Mapping

from feeds.frames import (
    AggTrade,
    BookTickerUpdate,
    ControlReply,
    DepthDiff,
    DepthSnapshot,
    FeedError,
    FrameParser,
    Ignored,
    Malformed,
    ServerShutdown,
    TickerUpdate,
)
from feeds.stats import FeedStats
from feeds.synchronizer import BookChanged, BookStatus, BookSynchronizer, SyncConfig
from orderbook.book import OrderBook
from orderbook.instrument import Instrument
from orderbook.trades import TradeTick

__all__ = [
    "MarketData", "BookChanged", "BookStatus", "TradeTick", "TickerUpdate", "BookTickerUpdate",
    "ServerShutdown", "FeedError", "SyncConfig", "TRADE_SOURCES",
]

TRADE_SOURCES = ("auto", "trade", "aggTrade")


def _no_snapshot(symbol: str) -> None:
    """Replay and backtest: the recording's own snapshot lines arrive by themselves."""


class MarketData:
    """All symbols' synchronisers and statistics behind one ``on_message``.

    instruments: the symbols to keep books for. request_snapshot(symbol): asked when a book needs
    a REST snapshot (live: the feed fetches /api/v3/depth and delivers the text back through
    ``on_message(..., symbol=...)``; replay: nothing to do). trade_source: "trade" or "aggTrade"
    to take trades from one stream only; "auto" takes aggTrade until a symbol's first @trade.
    skip_streams: stream kinds not wanted at all (a backtest: "bookTicker", "ticker"...): their
    frames are counted as ignored without being decoded (see FrameParser).
    """

    def __init__(
        self,
        instruments: Mapping[str, Instrument],
        request_snapshot: Callable[[str], None] = _no_snapshot,
        *,
        config: SyncConfig = SyncConfig(),
        trade_source: str = "auto",
        skip_streams: Iterable[str] = (),
    ) -> None:
        if trade_source not in TRADE_SOURCES:
            raise ValueError(f"trade_source must be one of {TRADE_SOURCES}, got {trade_source!r}")
        self._instruments: dict[str, Instrument] = {}
        self._syncs: dict[str, BookSynchronizer] = {}
        self._parser = FrameParser(self._instruments, frozenset(skip_streams))
        self._parse = self._parser.parse
        self._request = request_snapshot
        self._config = config
        self._trade_source = trade_source
        self._trade_streams: set[str] = set()
        self.connected = False
        self.connections = 0
        self._ever_connected: set[str] = set()
        # Counters for what cannot be charged to a symbol.
        self.malformed = 0
        self.unrouted = 0  # well-formed frames for symbols not monitored, or streams not used
        self.control_replies = 0
        self.feed_errors = 0
        self.server_shutdowns = 0
        self.internal_errors = 0
        self.last_error = ""
        for instrument in instruments.values():
            self.add_instrument(instrument)
        self._handlers = {
            DepthDiff: self._on_diff,
            DepthSnapshot: self._on_snapshot,
            TradeTick: self._on_trade,
            AggTrade: self._on_agg_trade,
            BookTickerUpdate: self._on_book_ticker,
            TickerUpdate: self._on_ticker,
            ServerShutdown: self._on_server_shutdown,
            FeedError: self._on_feed_error,
            ControlReply: self._on_control_reply,
            Ignored: self._on_ignored,
            Malformed: self._on_malformed,
        }

    # -- symbols ----------------------------------------------------------------------------
    def add_instrument(self, instrument: Instrument) -> None:
        """Start keeping a book for ``instrument.symbol`` (no-op if already kept)."""
        if instrument.symbol in self._syncs:
            return
        self._instruments[instrument.symbol] = instrument
        self._syncs[instrument.symbol] = BookSynchronizer(
            instrument, self._request, FeedStats(instrument.symbol), self._config
        )
        self._parser.forget_routes()

    def remove_symbol(self, symbol: str) -> None:
        """Stop keeping ``symbol``'s book; its later frames count as unrouted."""
        self._instruments.pop(symbol, None)
        self._syncs.pop(symbol, None)
        self._trade_streams.discard(symbol)
        self._parser.forget_routes()

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(self._syncs)

    def instrument(self, symbol: str) -> Instrument:
        return self._instruments[symbol]

    # -- input ------------------------------------------------------------------------------
    def on_message(self, recv_ns: int, text: str | bytes, symbol: str | None = None) -> list:
        """One received message (``recv_ns``: local receive time, ns) -> market events, in order.

        ``symbol`` says whose a bare REST snapshot is; combined frames name their stream.
        """
        out: list = []
        try:
            frame = self._parse(recv_ns, text, symbol)
            if type(frame) is DepthDiff:  # most frames: straight to the symbol's synchroniser
                sync = self._syncs.get(frame.symbol)
                if sync is None:
                    self.unrouted += 1
                else:
                    sync.on_diff(frame, out)  # counts the message in the symbol's stats itself
            else:
                self._handlers[type(frame)](frame, recv_ns, out)
        except Exception as exc:  # a bug must not stop the feed; counted and shown on /health
            self.internal_errors += 1
            self.last_error = f"{type(exc).__name__}: {exc}"
        return out

    def on_connection(self, kind: str, recv_ns: int, detail: str = "", symbols: Iterable[str] = ()) -> list:
        """A stream connection changed; ``symbols``: the books it carries (empty = all).

        "disconnected": frames from now on are lost, so those books stop being synced (the last
        good book stays visible, stale); "connected": a fresh stream, so those books resync from
        scratch (a reconnect is counted for a symbol connected before); "reconnecting": an attempt
        is scheduled, nothing changes. Returns the BookStatus events of books that stopped being
        synced.
        """
        out: list = []
        chosen = [self._syncs[s] for s in symbols if s in self._syncs] if symbols else list(self._syncs.values())
        if kind == "connected":
            self.connections += 1
            self.connected = True
            for sync in chosen:
                if sync.symbol in self._ever_connected:
                    sync.stats.reconnects += 1
                else:
                    self._ever_connected.add(sync.symbol)
                sync.reset("reconnect", out)
        elif kind == "disconnected":
            self.connected = False
            for sync in chosen:
                sync.reset("disconnected", out)
        elif kind != "reconnecting":
            self.last_error = f"unknown connection event {kind!r} ({detail})"
        return out

    def resync(self, reason: str) -> list:
        """Start every book over from a fresh snapshot (frames may have been lost on our side,
        not the connection's); returns the BookStatus events of books that stopped being synced."""
        out: list = []
        for sync in self._syncs.values():
            sync.reset(reason, out)
        return out

    # -- reading ----------------------------------------------------------------------------
    def book(self, symbol: str) -> OrderBook:
        """The last good book of ``symbol``: never crossed, never half built (may be stale)."""
        return self._syncs[symbol].book

    def synced(self, symbol: str) -> bool:
        return self._syncs[symbol].synced

    def stale(self, symbol: str) -> bool:
        """Not synced, but showing the last good book."""
        return self._syncs[symbol].stale

    def stats(self, symbol: str) -> FeedStats:
        return self._syncs[symbol].stats

    def synchronizer(self, symbol: str) -> BookSynchronizer:
        return self._syncs[symbol]

    def feed_health(self, symbol: str, now_ns: int) -> dict:
        """The snapshot's per-symbol ``feed`` block: synced, stale, ids, ages, latency, counters."""
        sync = self._syncs[symbol]
        health = {"synced": sync.synced, "stale": sync.stale}
        health.update(sync.stats.as_dict(now_ns))
        return health

    def counters(self) -> dict:
        """What could not be charged to one symbol."""
        return {
            "connected": self.connected,
            "connections": self.connections,
            "malformed": self.malformed,
            "unrouted": self.unrouted,
            "control_replies": self.control_replies,
            "feed_errors": self.feed_errors,
            "server_shutdowns": self.server_shutdowns,
            "internal_errors": self.internal_errors,
            "last_error": self.last_error,
        }

    # -- frame handlers ---------------------------------------------------------------------
    def _on_diff(self, diff: DepthDiff, recv_ns: int, out: list) -> None:
        sync = self._syncs.get(diff.symbol)
        if sync is None:
            self.unrouted += 1
            return
        sync.on_diff(diff, out)  # counts the message in the symbol's stats itself

    def _on_snapshot(self, snapshot: DepthSnapshot, recv_ns: int, out: list) -> None:
        sync = self._syncs.get(snapshot.symbol)
        if sync is None:
            self.unrouted += 1
            return
        sync.stats.messages += 1
        sync.stats.ts_recv = recv_ns
        if snapshot.partial:
            sync.on_partial(snapshot, out)
        else:
            sync.on_snapshot(snapshot, out)

    def _count(self, symbol: str, ts_event: int, recv_ns: int) -> bool:
        sync = self._syncs.get(symbol)
        if sync is None:
            self.unrouted += 1
            return False
        sync.stats.on_frame(ts_event, recv_ns)
        return True

    def _on_trade(self, tick: TradeTick, recv_ns: int, out: list) -> None:
        if self._count(tick.symbol, tick.ts_event, recv_ns):
            self._trade_streams.add(tick.symbol)
            if self._trade_source != "aggTrade":
                out.append(tick)
            else:
                self._syncs[tick.symbol].stats.ignored += 1

    def _on_agg_trade(self, agg: AggTrade, recv_ns: int, out: list) -> None:
        tick = agg.tick
        if self._count(tick.symbol, tick.ts_event, recv_ns):
            source = self._trade_source
            if source == "aggTrade" or (source == "auto" and tick.symbol not in self._trade_streams):
                out.append(tick)
            else:
                self._syncs[tick.symbol].stats.ignored += 1

    def _on_book_ticker(self, ticker: BookTickerUpdate, recv_ns: int, out: list) -> None:
        if self._count(ticker.symbol, ticker.ts_event, recv_ns):
            out.append(ticker)

    def _on_ticker(self, ticker: TickerUpdate, recv_ns: int, out: list) -> None:
        if self._count(ticker.symbol, ticker.ts_event, recv_ns):
            out.append(ticker)

    def _on_server_shutdown(self, event: ServerShutdown, recv_ns: int, out: list) -> None:
        self.server_shutdowns += 1
        out.append(event)

    def _on_feed_error(self, error: FeedError, recv_ns: int, out: list) -> None:
        self.feed_errors += 1
        if error.symbol is not None and error.symbol in self._syncs:
            self._syncs[error.symbol].stats.messages += 1
        out.append(error)

    def _on_control_reply(self, reply: ControlReply, recv_ns: int, out: list) -> None:
        self.control_replies += 1

    def _on_ignored(self, ignored: Ignored, recv_ns: int, out: list) -> None:
        sync = self._syncs.get(ignored.symbol) if ignored.symbol is not None else None
        if sync is None:
            self.unrouted += 1
            return
        sync.stats.messages += 1
        sync.stats.ts_recv = recv_ns
        sync.stats.ignored += 1

    def _on_malformed(self, bad: Malformed, recv_ns: int, out: list) -> None:
        sync = self._syncs.get(bad.symbol) if bad.symbol is not None else None
        if sync is None:
            self.malformed += 1
            self.last_error = f"malformed frame: {bad.reason}"
            return
        sync.stats.messages += 1
        sync.stats.ts_recv = recv_ns
        if bad.depth:
            sync.on_malformed_diff(recv_ns, out)
        else:
            sync.stats.malformed += 1
