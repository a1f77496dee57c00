"""The pushed snapshot: one immutable JSON-safe dict built every 200 ms from the engine's state.

Schema: prices, top-N depth, trades since the last push, per-symbol strategy orders/fills/P&L/risk,
portfolio totals, activity since the last push, feed health. ``publish`` consumes the
since-last-push deltas, so exactly one caller (the broadcaster) may call it.

A symbol's market or strategies block that fails to build is a fault (``engine.faults``): the
snapshot carries that symbol's block from the last snapshot instead (None before there is one),
so one bad symbol never blanks the page for the others.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from orderbook import analytics

if TYPE_CHECKING:
    from app.engine import Engine

MAX_ACTIVITY_PER_PUSH = 200


class SnapshotBuilder:
    """Builds snapshots for one engine and keeps the latest."""

    def __init__(self, engine: "Engine", depth_levels: int = 20) -> None:
        self.engine = engine
        self.depth_levels = depth_levels
        self.latest: dict | None = None
        self.seq = 0
        self._activity_seq = 0

    def publish(self, now_ns: int) -> dict:
        engine = self.engine
        self.seq += 1
        entries = engine.activity.since(self._activity_seq)
        self._activity_seq = engine.activity.seq
        activity = [
            {"ts": a.ts // 1_000_000, "symbol": a.symbol, "kind": a.kind, "message": a.message}
            for a in entries[-MAX_ACTIVITY_PER_PUSH:]
        ]
        snapshot = {
            "ts": now_ns // 1_000_000,
            "seq": self.seq,
            "source": engine.source,
            "streaming": engine.streaming,
            "fees": {"maker_bps": engine.config.fees.maker_bps, "taker_bps": engine.config.fees.taker_bps},
            "symbols": list(engine.symbols),
            "markets": {s: self._guarded("markets", s, self._market, s, now_ns) for s in engine.symbols},
            "strategies": {s: self._guarded("strategies", s, session.snapshot)
                           for s, session in engine.sessions.items()},
            "portfolio": engine.portfolio.totals(),  # carries its sharpe_definition
            "activity": activity,
            "health": engine.status(now_ns),
        }
        self.latest = snapshot
        return snapshot

    def _guarded(self, part: str, symbol: str, build, *args: Any) -> dict | None:
        try:
            return build(*args)
        except Exception as exc:
            self.engine.faults.record("snapshot", exc, symbol=symbol)
            return self.latest[part].get(symbol) if self.latest is not None else None

    def _market(self, symbol: str, now_ns: int) -> dict[str, Any]:
        engine = self.engine
        inst = engine.instruments[symbol]
        book = engine.market.book(symbol)
        view = engine.views[symbol]
        to_price, to_qty = inst.ticks_to_price, inst.lots_to_qty
        best_bid, best_ask = book.best_bid(), book.best_ask()
        mid = analytics.mid_price(book)
        micro = analytics.microprice_ticks(book)
        spread = analytics.spread_ticks(book)
        market = {
            "symbol": symbol,
            "price_decimals": inst.price_decimals,
            "qty_decimals": inst.qty_decimals,
            "last": view.last_price,
            "bid": to_price(best_bid[0]) if best_bid else None,
            "bid_qty": to_qty(best_bid[1]) if best_bid else None,
            "ask": to_price(best_ask[0]) if best_ask else None,
            "ask_qty": to_qty(best_ask[1]) if best_ask else None,
            "mid": mid,
            "spread": None if spread is None else to_price(spread),
            "spread_ticks": spread,
            "spread_bps": analytics.spread_bps(book),
            "microprice": None if micro is None else micro * inst.tick_size,
            "imbalance": analytics.imbalance(book, 5),
            "change_24h": None,
            "change_pct_24h": None,
            "volume_24h": None,
            "quote_volume_24h": None,
            "high_24h": None,
            "low_24h": None,
            "ts_event": book.ts_event // 1_000_000 if book.ts_event else None,
            "depth": {
                "bids": [[to_price(p), to_qty(q)] for p, q in book.top_bids(self.depth_levels)],
                "asks": [[to_price(p), to_qty(q)] for p, q in book.top_asks(self.depth_levels)],
            },
            "trades": view.take_trades(),
            "feed": engine.market.feed_health(symbol, now_ns),
        }
        market.update(view.ticker)
        return market

    @staticmethod
    def filtered(snapshot: dict, symbols: frozenset[str]) -> dict:
        """The snapshot restricted to ``symbols`` (portfolio totals and system entries stay)."""
        if not symbols or symbols >= set(snapshot["symbols"]):
            return snapshot
        keep = [s for s in snapshot["symbols"] if s in symbols]
        return {
            **snapshot,
            "symbols": keep,
            "markets": {s: snapshot["markets"][s] for s in keep},
            "strategies": {s: snapshot["strategies"][s] for s in keep if s in snapshot["strategies"]},
            "activity": [a for a in snapshot["activity"] if not a["symbol"] or a["symbol"] in symbols],
        }
