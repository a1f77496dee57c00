"""Per-symbol market state the monitor shows beside the book: last trade, 24 h ticker, recent trades.

The book itself lives in the feed pipeline; this keeps what the page needs between pushes.
Prices here are floats: this is the JSON edge.
"""
from __future__ import annotations

from collections import deque

from orderbook.instrument import Instrument
from orderbook.trades import TradeTick

MAX_TRADES_PER_PUSH = 100


class MarketView:
    """Last trade, 24 h statistics and the trades since the last push, for one symbol."""

    __slots__ = ("instrument", "last_price", "last_trade_ts", "ticker", "_pending_trades", "trade_count")

    def __init__(self, instrument: Instrument) -> None:
        self.instrument = instrument
        self.last_price: float | None = None
        self.last_trade_ts = 0
        self.ticker: dict = {}
        self._pending_trades: deque = deque(maxlen=MAX_TRADES_PER_PUSH)
        self.trade_count = 0

    def on_trade(self, trade: TradeTick) -> None:
        price = self.instrument.ticks_to_price(trade.price)
        self.last_price = price
        self.last_trade_ts = trade.ts_event
        self.trade_count += 1
        self._pending_trades.append(
            {
                "id": trade.trade_id,
                "ts": trade.ts_event // 1_000_000,
                "price": price,
                "qty": self.instrument.lots_to_qty(trade.qty),
                "side": "sell" if trade.buyer_is_maker else "buy",
            }
        )

    def on_ticker(self, ticker) -> None:
        """A feeds.frames.TickerUpdate (24 h statistics, display floats)."""
        self.ticker = {
            "change_24h": ticker.change,
            "change_pct_24h": ticker.change_pct,
            "volume_24h": ticker.volume,
            "quote_volume_24h": ticker.quote_volume,
            "high_24h": ticker.high,
            "low_24h": ticker.low,
            "open_24h": ticker.open,
        }
        if self.last_price is None:
            self.last_price = ticker.last

    def take_trades(self) -> list[dict]:
        """Trades since the previous call (the previous push), oldest first."""
        trades = list(self._pending_trades)
        self._pending_trades.clear()
        return trades
