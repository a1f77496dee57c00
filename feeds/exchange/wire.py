"""Binance's spot payloads, byte for byte: field names, order and types as Binance sends them.

Prices and quantities are 8-decimal strings ("0.00000000" is zero), ids and times are integers
(ms). Payloads are built as text once per event and shared by every subscriber; a combined
stream wraps them as ``{"stream":"<name>","data":<payload>}``. Shapes (binance-protocol.md):

    trade        {"e":"trade","E":..,"s":..,"t":..,"p":..,"q":..,"T":..,"m":..,"M":true}
    aggTrade     {"e":"aggTrade","E":..,"s":..,"a":..,"p":..,"q":..,"f":..,"l":..,"T":..,"m":..,"M":true}
    bookTicker   {"u":..,"s":..,"b":..,"B":..,"a":..,"A":..}
    depthUpdate  {"e":"depthUpdate","E":..,"s":..,"U":..,"u":..,"b":[[p,q]..],"a":[[p,q]..]}
    depthN       {"lastUpdateId":..,"bids":[[p,q]..],"asks":[[p,q]..]}
    24hrTicker   {"e":"24hrTicker","E":..,"s":..,"p":..,"P":..,"w":..,"x":..,"c":..,"Q":..,"b":..,"B":..,
                  "a":..,"A":..,"o":..,"h":..,"l":..,"v":..,"q":..,"O":..,"C":..,"F":..,"L":..,"n":..}
    24hrMini     {"e":"24hrMiniTicker","E":..,"s":..,"c":..,"o":..,"h":..,"l":..,"v":..,"q":..}
"""
from __future__ import annotations

from feeds.exchange.events import (
    AggTradePrint, DepthDiff, DepthTop, TickerWindow, TopOfBook, TradePrint,
)
from orderbook.instrument import Instrument, units_to_decimal

NS_PER_MS = 1_000_000
# Decimal texts remembered per symbol for prices and for sizes: the model revisits the prices
# near the touch and its common sizes constantly, so a few thousand cover nearly every event;
# ~0.5 MB a cache when full, then emptied and refilled with what is current (the bound is kept
# small for the reason given at orderbook.instrument.CONVERSION_CACHE_ENTRIES).
WIRE_TEXT_CACHE_ENTRIES = 4096


def _bool(value: bool) -> str:
    return "true" if value else "false"


class WireFormat:
    """Formats one symbol's events; caches the decimal text of prices and sizes it has seen."""

    def __init__(self, instrument: Instrument) -> None:
        self.symbol = instrument.symbol
        self._tick = instrument.tick_units
        self._step = instrument.step_units
        self._prices: dict[int, str] = {}
        self._sizes: dict[int, str] = {}

    def price(self, ticks: int) -> str:
        text = self._prices.get(ticks)
        if text is None:
            if len(self._prices) >= WIRE_TEXT_CACHE_ENTRIES:
                self._prices.clear()
            text = self._prices[ticks] = units_to_decimal(ticks * self._tick)
        return text

    def size(self, lots: int) -> str:
        text = self._sizes.get(lots)
        if text is None:
            if len(self._sizes) >= WIRE_TEXT_CACHE_ENTRIES:
                self._sizes.clear()
            text = self._sizes[lots] = units_to_decimal(lots * self._step)
        return text

    def levels(self, levels: list[tuple[int, int]]) -> str:
        price, size = self.price, self.size
        return "[" + ",".join(f'["{price(p)}","{size(q)}"]' for p, q in levels) + "]"

    # -- streams ---------------------------------------------------------------------------
    def trade(self, e: TradePrint) -> str:
        ms = e.ts_event // NS_PER_MS
        return (f'{{"e":"trade","E":{ms},"s":"{self.symbol}","t":{e.trade_id},"p":"{self.price(e.price)}",'
                f'"q":"{self.size(e.lots)}","T":{ms},"m":{_bool(e.buyer_is_maker)},"M":true}}')

    def agg_trade(self, e: AggTradePrint) -> str:
        ms = e.ts_event // NS_PER_MS
        return (f'{{"e":"aggTrade","E":{ms},"s":"{self.symbol}","a":{e.agg_id},"p":"{self.price(e.price)}",'
                f'"q":"{self.size(e.lots)}","f":{e.first_trade_id},"l":{e.last_trade_id},"T":{ms},'
                f'"m":{_bool(e.buyer_is_maker)},"M":true}}')

    def book_ticker(self, e: TopOfBook) -> str:
        return (f'{{"u":{e.update_id},"s":"{self.symbol}","b":"{self.price(e.bid)}","B":"{self.size(e.bid_lots)}",'
                f'"a":"{self.price(e.ask)}","A":"{self.size(e.ask_lots)}"}}')

    def depth_update(self, e: DepthDiff, first_id: int | None = None) -> str:
        """A diff; ``first_id`` overrides ``U`` (faults use it to fake a gap)."""
        return (f'{{"e":"depthUpdate","E":{e.ts_event // NS_PER_MS},"s":"{self.symbol}",'
                f'"U":{e.first_id if first_id is None else first_id},"u":{e.last_id},'
                f'"b":{self.levels(e.bids)},"a":{self.levels(e.asks)}}}')

    def partial_depth(self, e: DepthTop, levels: int) -> str:
        return (f'{{"lastUpdateId":{e.update_id},"bids":{self.levels(e.bids[:levels])},'
                f'"asks":{self.levels(e.asks[:levels])}}}')

    def ticker(self, ts_event: int, w: TickerWindow) -> str:
        f = self.ticker_fields(w)
        return (f'{{"e":"24hrTicker","E":{ts_event // NS_PER_MS},"s":"{self.symbol}","p":"{f["priceChange"]}",'
                f'"P":"{f["priceChangePercent"]}","w":"{f["weightedAvgPrice"]}","x":"{f["prevClosePrice"]}",'
                f'"c":"{f["lastPrice"]}","Q":"{f["lastQty"]}","b":"{f["bidPrice"]}","B":"{f["bidQty"]}",'
                f'"a":"{f["askPrice"]}","A":"{f["askQty"]}","o":"{f["openPrice"]}","h":"{f["highPrice"]}",'
                f'"l":"{f["lowPrice"]}","v":"{f["volume"]}","q":"{f["quoteVolume"]}","O":{w.open_ms},'
                f'"C":{w.close_ms},"F":{w.first_id},"L":{w.last_id},"n":{w.count}}}')

    def mini_ticker(self, ts_event: int, w: TickerWindow) -> str:
        return (f'{{"e":"24hrMiniTicker","E":{ts_event // NS_PER_MS},"s":"{self.symbol}",'
                f'"c":"{self.price(w.last_price)}","o":"{self.price(w.open_price)}","h":"{self.price(w.high)}",'
                f'"l":"{self.price(w.low)}","v":"{self.size(w.volume_lots)}","q":"{units_to_decimal(w.quote_units)}"}}')

    # -- REST ------------------------------------------------------------------------------
    def ticker_fields(self, w: TickerWindow) -> dict:
        """GET /api/v3/ticker/24hr fields in Binance's order (also the stream's values)."""
        change = w.last_price - w.open_price
        percent = 100.0 * change / w.open_price if w.open_price else 0.0
        weighted = (w.quote_units / (w.volume_lots * self._step)) if w.volume_lots else 0.0
        return {
            "symbol": self.symbol,
            "priceChange": units_to_decimal(change * self._tick),
            "priceChangePercent": f"{percent:.3f}",
            "weightedAvgPrice": f"{weighted:.8f}",
            "prevClosePrice": self.price(w.prev_close),
            "lastPrice": self.price(w.last_price),
            "lastQty": self.size(w.last_lots),
            "bidPrice": self.price(w.bid),
            "bidQty": self.size(w.bid_lots),
            "askPrice": self.price(w.ask),
            "askQty": self.size(w.ask_lots),
            "openPrice": self.price(w.open_price),
            "highPrice": self.price(w.high),
            "lowPrice": self.price(w.low),
            "volume": self.size(w.volume_lots),
            "quoteVolume": units_to_decimal(w.quote_units),
            "openTime": w.open_ms,
            "closeTime": w.close_ms,
            "firstId": w.first_id,
            "lastId": w.last_id,
            "count": w.count,
        }

    def mini_ticker_fields(self, w: TickerWindow) -> dict:
        """GET /api/v3/ticker/24hr?type=MINI fields in Binance's order."""
        return {
            "symbol": self.symbol,
            "openPrice": self.price(w.open_price),
            "highPrice": self.price(w.high),
            "lowPrice": self.price(w.low),
            "lastPrice": self.price(w.last_price),
            "volume": self.size(w.volume_lots),
            "quoteVolume": units_to_decimal(w.quote_units),
            "openTime": w.open_ms,
            "closeTime": w.close_ms,
            "firstId": w.first_id,
            "lastId": w.last_id,
            "count": w.count,
        }

    def depth_snapshot(self, update_id: int, bids: list[tuple[int, int]], asks: list[tuple[int, int]]) -> str:
        """GET /api/v3/depth body."""
        return f'{{"lastUpdateId":{update_id},"bids":{self.levels(bids)},"asks":{self.levels(asks)}}}'


def combined(stream: str, payload: str) -> str:
    """A combined-stream frame."""
    return f'{{"stream":"{stream}","data":{payload}}}'


def server_shutdown(ts_ms: int, wrap: bool) -> str:
    """The frame sent before the server closes a connection (stream name ``!serverShutdown``)."""
    payload = f'{{"e":"serverShutdown","E":{ts_ms}}}'
    return combined("!serverShutdown", payload) if wrap else payload
