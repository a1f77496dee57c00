"""24 h rolling ticker statistics, kept in one-minute buckets (exact integers: ticks, lots, units).

A fresh exchange has no past, so it starts with a synthetic day: minute bars of a random walk
at the symbol's volatility, ending at its starting price, with the volume and trade count the
model itself would produce. The trade ids of that day precede the first live trade id, so
``firstId``/``lastId``/``count`` stay consistent.
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from feeds.exchange.events import TickerWindow
from orderbook.instrument import Instrument

MINUTE_MS = 60_000
DAY_MS = 86_400_000


@dataclass(slots=True)
class MinuteBar:
    minute: int  # ms since epoch // 60000
    open: int
    high: int
    low: int
    close: int
    volume_lots: int
    quote_units: int
    count: int
    first_id: int
    last_id: int


class RollingTicker:
    def __init__(self, symbol: str, instrument: Instrument) -> None:
        self.symbol = symbol
        self._instrument = instrument
        self._bars: deque[MinuteBar] = deque()
        self._prev_close = 0
        self._volume = 0
        self._quote = 0
        self._count = 0
        self.last_price = 0
        self.last_lots = 0

    def seed(self, bars: list[MinuteBar]) -> None:
        for bar in bars:
            self._append(bar)
        if bars:
            self.last_price = bars[-1].close
            self.last_lots = max(1, bars[-1].volume_lots // max(bars[-1].count, 1))
            self._prev_close = bars[0].open

    def _append(self, bar: MinuteBar) -> None:
        self._bars.append(bar)
        self._volume += bar.volume_lots
        self._quote += bar.quote_units
        self._count += bar.count

    def on_trade(self, ts_ms: int, trade_id: int, price: int, lots: int) -> None:
        minute = ts_ms // MINUTE_MS
        bars = self._bars
        quote = self._instrument.notional_units(price, lots)
        if bars and bars[-1].minute == minute:
            bar = bars[-1]
            if price > bar.high:
                bar.high = price
            if price < bar.low:
                bar.low = price
            bar.close = price
            bar.volume_lots += lots
            bar.quote_units += quote
            bar.count += 1
            bar.last_id = trade_id
            self._volume += lots
            self._quote += quote
            self._count += 1
        else:
            self._append(MinuteBar(minute, price, price, price, price, lots, quote, 1, trade_id, trade_id))
        self.last_price = price
        self.last_lots = lots

    def window(self, now_ms: int, top: tuple[int, int, int, int]) -> TickerWindow:
        """Statistics of the 24 h ending at ``now_ms``; ``top`` = (bid, bid lots, ask, ask lots)."""
        start_minute = (now_ms - DAY_MS) // MINUTE_MS + 1
        bars = self._bars
        while bars and bars[0].minute < start_minute:
            old = bars.popleft()
            self._prev_close = old.close
            self._volume -= old.volume_lots
            self._quote -= old.quote_units
            self._count -= old.count
        if bars:
            high = max(bar.high for bar in bars)
            low = min(bar.low for bar in bars)
            open_price = bars[0].open
            first_id = next((bar.first_id for bar in bars if bar.count), -1)
            last_id = next((bar.last_id for bar in reversed(bars) if bar.count), -1)
        else:
            high = low = open_price = self.last_price
            first_id = last_id = -1
        return TickerWindow(
            symbol=self.symbol, open_ms=now_ms - DAY_MS, close_ms=now_ms,
            open_price=open_price, high=high, low=low,
            last_price=self.last_price, last_lots=self.last_lots,
            prev_close=self._prev_close or open_price,
            volume_lots=self._volume, quote_units=self._quote,
            first_id=first_id, last_id=last_id, count=self._count,
            bid=top[0], bid_lots=top[1], ask=top[2], ask_lots=top[3],
        )


def synthetic_day(rng: np.random.Generator, instrument: Instrument, end_ms: int, end_price: float,
                  annual_vol: float, trades_per_minute: float, mean_trade_lots: float,
                  next_trade_id: int) -> list[MinuteBar]:
    """1440 minute bars ending just before ``end_ms`` at ``end_price``; ids end at next_trade_id - 1."""
    minutes = DAY_MS // MINUTE_MS
    sigma = annual_vol / math.sqrt(365.0 * 24 * 60)
    steps = rng.standard_normal(minutes) * sigma
    # Walk backwards from the end price: closes[k] is the close of minute k.
    log_close = math.log(end_price) - np.concatenate(([0.0], np.cumsum(steps[::-1])[:-1]))[::-1]
    counts = rng.poisson(max(trades_per_minute, 0.0) * rng.lognormal(0.0, 0.5, minutes))
    spread_draws = np.abs(rng.standard_normal((minutes, 2))) * sigma * 0.6
    tick = instrument.tick_size
    end_minute = end_ms // MINUTE_MS
    bars: list[MinuteBar] = []
    total = int(counts.sum())
    trade_id = next_trade_id - total
    previous_close = float(np.exp(log_close[0] - steps[0]))
    for k in range(minutes):
        close_price = float(np.exp(log_close[k]))
        open_price = previous_close
        high_price = max(open_price, close_price) * math.exp(float(spread_draws[k, 0]))
        low_price = min(open_price, close_price) * math.exp(-float(spread_draws[k, 1]))
        count = int(counts[k])
        lots = int(round(count * mean_trade_lots))
        to_ticks = lambda p: max(1, int(round(p / tick)))  # noqa: E731 - local shorthand
        o, h, l, c = to_ticks(open_price), to_ticks(high_price), to_ticks(low_price), to_ticks(close_price)
        vwap = (o + h + l + c) // 4
        bars.append(MinuteBar(
            minute=end_minute - minutes + k, open=o, high=max(h, o, c), low=min(l, o, c), close=c,
            volume_lots=lots, quote_units=instrument.notional_units(vwap, lots), count=count,
            first_id=trade_id if count else -1,
            last_id=trade_id + count - 1 if count else -1,
        ))
        trade_id += count
        previous_close = close_price
    return bars
