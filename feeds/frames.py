"""Binance spot frames -> typed frames: one received message in, one typed value out.

A message is a combined-stream frame ``{"stream": "<sym>@<kind>", "data": {...}}``, a raw-stream
payload (``/ws/<name>``), a bare REST depth snapshot ``{"lastUpdateId": ...}`` (its symbol comes
with the message), a python-binance error frame, or a reply to a LIST/SUBSCRIBE request. Each
payload's raw shape is quoted where it is parsed (cryptofeed style). Prices and sizes of trades and
book tickers are converted to ticks and lots here (exactly; an inexact value makes the frame
malformed); depth levels stay raw strings, converted by the book as they are applied.

Parsing never raises: anything that is not one of the shapes below comes back as ``Malformed``;
a well-formed frame the product does not use (kline, avgPrice, ...) as ``Ignored``.
"""
from __future__ import annotations

from functools import partial
from typing import Any, Callable, Mapping, NamedTuple

import orjson

from orderbook.instrument import InexactValueError, Instrument
from orderbook.trades import TradeTick

NS_PER_MS = 1_000_000


# -- market events (returned to the engine as they are) -----------------------------------
class BookTickerUpdate(NamedTuple):
    """Best bid/ask from ``<sym>@bookTicker``: prices in ticks, sizes in lots.

    update_id: the order book update id the ticker reflects (``u``); ts_event: 0 on spot (the
    stream has no event time); ts_recv: ns.
    """

    symbol: str
    update_id: int
    bid: int
    bid_lots: int
    ask: int
    ask_lots: int
    ts_event: int
    ts_recv: int


class TickerUpdate(NamedTuple):
    """Rolling 24 h statistics from ``@ticker`` (or ``@miniTicker``: ``mini`` True, ``trades`` None).

    Display values only, hence floats: last/open/high/low in quote currency per unit, change in
    quote currency, change_pct in percent, volume in base, quote_volume in quote.
    """

    symbol: str
    last: float
    open: float
    high: float
    low: float
    change: float
    change_pct: float
    volume: float
    quote_volume: float
    trades: int | None
    mini: bool
    ts_event: int
    ts_recv: int


class ServerShutdown(NamedTuple):
    """Binance announced it will close the connection: reconnect at once. Times in ns."""

    ts_event: int
    ts_recv: int


class FeedError(NamedTuple):
    """An error reported in-band: python-binance's ``{"e":"error"}`` frame, a failed
    SUBSCRIBE/LIST request, or a REST error body delivered in place of a snapshot."""

    kind: str
    message: str
    symbol: str | None
    ts_recv: int


# -- frames the pipeline consumes itself ---------------------------------------------------
class DepthDiff(NamedTuple):
    """One ``depthUpdate``: updates first_id (U) .. final_id (u); levels raw [[price, qty], ...]."""

    symbol: str
    first_id: int
    final_id: int
    bids: list
    asks: list
    ts_event: int
    ts_recv: int


class DepthSnapshot(NamedTuple):
    """A full REST snapshot (partial False) or a ``depthN`` partial-book frame (partial True)."""

    symbol: str
    last_update_id: int
    bids: list
    asks: list
    partial: bool
    ts_recv: int


class AggTrade(NamedTuple):
    """A trade from ``@aggTrade``: the pipeline uses it only when no ``@trade`` stream is there."""

    tick: TradeTick


class ControlReply(NamedTuple):
    """Reply to a SUBSCRIBE/UNSUBSCRIBE/LIST request: ``{"result": null, "id": 1}``."""

    request_id: Any
    result: Any


class Ignored(NamedTuple):
    """A well-formed frame with nothing for the product (a stream it does not use, an unknown symbol)."""

    symbol: str | None
    reason: str


class Malformed(NamedTuple):
    """A frame dropped as malformed; ``symbol`` when it could still be told. ``depth``: it was a
    depth diff, so that symbol's diff chain lost an event."""

    symbol: str | None
    reason: str
    depth: bool = False


# NamedTuple's generated __new__ is a Python-level call; building the tuple directly halves the
# cost of the one object made per depth, book-ticker or trade frame.
_new_diff = partial(tuple.__new__, DepthDiff)
_new_book_ticker = partial(tuple.__new__, BookTickerUpdate)
_new_trade = partial(tuple.__new__, TradeTick)

Frame = (
    DepthDiff | DepthSnapshot | TradeTick | AggTrade | BookTickerUpdate | TickerUpdate | ServerShutdown
    | FeedError | ControlReply | Ignored | Malformed
)
_Handler = Callable[[str, "Instrument | None", dict, int], Any]


# -- payload parsers: (symbol, instrument, data, recv_ns) -> frame -----------------------
def _depth_diff(symbol: str, instrument: Instrument | None, data: dict, recv_ns: int) -> Any:
    """``<sym>@depth[@100ms]``::

        {"e":"depthUpdate","E":1618677389628,"s":"ADARUB","U":1720410,"u":1720412,
         "b":[["106.00000000","1138.44000000"],["105.92000000","0.00000000"]],"a":[]}
    """
    try:
        first = data["U"]
        final = data["u"]
        event_ms = data["E"]
        bids = data["b"]
        asks = data["a"]
    except KeyError as exc:
        return Malformed(symbol, f"depthUpdate without {exc.args[0]!r}", True)
    # type() is, not isinstance: a bool is an int subclass and never a valid id or time.
    if (
        type(first) is not int or type(final) is not int or type(event_ms) is not int
        or type(bids) is not list or type(asks) is not list or first > final
    ):
        return Malformed(symbol, "depthUpdate with bad ids, time or levels", True)
    return _new_diff((symbol, first, final, bids, asks, event_ms * NS_PER_MS, recv_ns))


def _partial_depth(symbol: str, instrument: Instrument | None, data: dict, recv_ns: int) -> Any:
    """``<sym>@depth5|10|20[@100ms]`` (no e/E/s: the symbol is the stream's)::

        {"lastUpdateId":160,"bids":[["0.0024","10"]],"asks":[["0.0026","100"]]}
    """
    return _snapshot(symbol, data, recv_ns, partial=True)


def _snapshot(symbol: str | None, data: dict, recv_ns: int, partial: bool) -> Any:
    """REST ``GET /api/v3/depth`` body, bare (the symbol comes with the message)::

        {"lastUpdateId":1720413,"bids":[["106.01000000","301.56000000"],...],"asks":[...]}
    """
    last = data.get("lastUpdateId")
    bids = data.get("bids")
    asks = data.get("asks")
    if type(last) is not int or type(bids) is not list or type(asks) is not list:
        return Malformed(symbol, "depth snapshot with bad lastUpdateId or levels")
    if symbol is None:
        return Malformed(None, "depth snapshot without a symbol")
    return DepthSnapshot(symbol, last, bids, asks, partial, recv_ns)


def _trade_tick(symbol: str, instrument: Instrument, data: dict, recv_ns: int, id_key: str) -> Any:
    try:
        trade_id = data[id_key]
        price = instrument.price_to_ticks(data["p"])
        lots = instrument.qty_to_lots(data["q"])
        trade_ms = data["T"]
        buyer_is_maker = data["m"]
    except KeyError as exc:
        return Malformed(symbol, f"trade without {exc.args[0]!r}")
    except InexactValueError:
        return Ignored(symbol, "trade price or quantity off the tick/step grid")
    except (ValueError, TypeError, AttributeError) as exc:
        return Malformed(symbol, f"trade with a bad price or quantity ({exc})")
    if type(trade_id) is not int or type(trade_ms) is not int or type(buyer_is_maker) is not bool:
        return Malformed(symbol, "trade with bad id, time or side")
    if price <= 0 or lots <= 0:
        return Malformed(symbol, "trade with a price or quantity that is not positive")
    return _new_trade((symbol, trade_id, price, lots, buyer_is_maker, trade_ms * NS_PER_MS, recv_ns))


def _trade(symbol: str, instrument: Instrument, data: dict, recv_ns: int) -> Any:
    """``<sym>@trade``::

        {"e":"trade","E":1672515782136,"s":"BNBBTC","t":12345,"p":"0.00100000",
         "q":"100.00000000","T":1672515782136,"m":true,"M":true}
    """
    return _trade_tick(symbol, instrument, data, recv_ns, "t")


def _agg_trade(symbol: str, instrument: Instrument, data: dict, recv_ns: int) -> Any:
    """``<sym>@aggTrade``::

        {"e":"aggTrade","E":1618677374538,"s":"BUSDTRY","a":1491245,"p":"8.13000000",
         "q":"103.87000000","f":1734548,"l":1734548,"T":1618677374535,"m":true,"M":true}
    """
    tick = _trade_tick(symbol, instrument, data, recv_ns, "a")
    return AggTrade(tick) if type(tick) is TradeTick else tick


def _book_ticker(symbol: str, instrument: Instrument, data: dict, recv_ns: int) -> Any:
    """``<sym>@bookTicker`` (no e/E on spot)::

        {"u":1720411,"s":"ADARUB","b":"106.00000000","B":"1138.44000000",
         "a":"106.09000000","A":"7.54000000"}
    """
    try:
        update_id = data["u"]
        bid_text = data["b"]
        bid_qty_text = data["B"]
        ask_text = data["a"]
        ask_qty_text = data["A"]
    except KeyError as exc:
        return Malformed(symbol, f"bookTicker without {exc.args[0]!r}")
    # Half of all frames are book tickers: go straight to the instrument's caches (hits are valid
    # by construction) and take the checked conversions only on a miss.
    price_get = instrument._price_cache.get
    qty_get = instrument._qty_cache.get
    try:
        bid = price_get(bid_text)
        if bid is None:
            bid = instrument.price_to_ticks(bid_text)
        ask = price_get(ask_text)
        if ask is None:
            ask = instrument.price_to_ticks(ask_text)
        bid_lots = qty_get(bid_qty_text)
        if bid_lots is None:
            bid_lots = instrument.qty_to_lots(bid_qty_text)
        ask_lots = qty_get(ask_qty_text)
        if ask_lots is None:
            ask_lots = instrument.qty_to_lots(ask_qty_text)
    except InexactValueError:
        return Ignored(symbol, "bookTicker price or quantity off the tick/step grid")
    except (ValueError, TypeError, AttributeError) as exc:
        return Malformed(symbol, f"bookTicker with a bad price or quantity ({exc})")
    event_ms = data.get("E", 0)
    if type(update_id) is not int or type(event_ms) is not int or bid < 0 or ask < 0 or bid_lots < 0 or ask_lots < 0:
        return Malformed(symbol, "bookTicker with bad id, time or levels")
    return _new_book_ticker((symbol, update_id, bid, bid_lots, ask, ask_lots, event_ms * NS_PER_MS, recv_ns))


def _ticker_values(symbol: str, data: dict, recv_ns: int, mini: bool) -> Any:
    try:
        event_ms = data["E"]
        last = float(data["c"])
        open_ = float(data["o"])
        high = float(data["h"])
        low = float(data["l"])
        volume = float(data["v"])
        quote_volume = float(data["q"])
        if mini:
            change = last - open_
            change_pct = change / open_ * 100.0 if open_ else 0.0
            trades = None
        else:
            change = float(data["p"])
            change_pct = float(data["P"])
            trades = data["n"]
    except KeyError as exc:
        return Malformed(symbol, f"ticker without {exc.args[0]!r}")
    except (ValueError, TypeError) as exc:
        return Malformed(symbol, f"ticker with a bad number ({exc})")
    if type(event_ms) is not int or (trades is not None and type(trades) is not int):
        return Malformed(symbol, "ticker with bad time or trade count")
    return TickerUpdate(
        symbol, last, open_, high, low, change, change_pct, volume, quote_volume, trades, mini,
        event_ms * NS_PER_MS, recv_ns,
    )


def _ticker(symbol: str, instrument: Instrument | None, data: dict, recv_ns: int) -> Any:
    """``<sym>@ticker``::

        {"e":"24hrTicker","E":1672515782136,"s":"BNBBTC","p":"0.0015","P":"250.00","w":"0.0018",
         "x":"0.0009","c":"0.0025","Q":"10","b":"0.0024","B":"10","a":"0.0026","A":"100",
         "o":"0.0010","h":"0.0025","l":"0.0010","v":"10000","q":"18","O":0,"C":86400000,
         "F":0,"L":18150,"n":18151}
    """
    return _ticker_values(symbol, data, recv_ns, mini=False)


def _mini_ticker(symbol: str, instrument: Instrument | None, data: dict, recv_ns: int) -> Any:
    """``<sym>@miniTicker``::

        {"e":"24hrMiniTicker","E":1672515782136,"s":"BNBBTC","c":"0.0025","o":"0.0010",
         "h":"0.0025","l":"0.0010","v":"10000","q":"18"}
    """
    return _ticker_values(symbol, data, recv_ns, mini=True)


def _server_shutdown(symbol: str | None, instrument: Instrument | None, data: dict, recv_ns: int) -> Any:
    """``!serverShutdown`` (sent before Binance closes the connection)::

        {"stream":"!serverShutdown","data":{"e":"serverShutdown","E":1753158600000}}
    """
    event_ms = data.get("E", 0)
    if type(event_ms) is not int:
        return Malformed(None, "serverShutdown with a bad time")
    return ServerShutdown(event_ms * NS_PER_MS, recv_ns)


def _unused(symbol: str, instrument: Instrument | None, data: dict, recv_ns: int) -> Any:
    return Ignored(symbol, "stream not used")


def _skipped_stream(symbol: str, instrument: Instrument | None, data: dict, recv_ns: int) -> Any:
    return Ignored(symbol, "stream skipped")


def _unknown_symbol(symbol: str, instrument: Instrument | None, data: dict, recv_ns: int) -> Any:
    return Ignored(symbol, "unknown symbol")


# Stream kind (the part after "<sym>@") -> (parser, needs an instrument)
_DIFF_KINDS = {"depth", "depth@100ms", "depth@1000ms"}
_PARTIAL_KINDS = {f"depth{n}{speed}" for n in (5, 10, 20) for speed in ("", "@100ms", "@1000ms")}
_KINDS: dict[str, tuple[_Handler, bool]] = {
    **{kind: (_depth_diff, False) for kind in _DIFF_KINDS},
    **{kind: (_partial_depth, False) for kind in _PARTIAL_KINDS},
    "trade": (_trade, True),
    "aggTrade": (_agg_trade, True),
    "bookTicker": (_book_ticker, True),
    "ticker": (_ticker, False),
    "miniTicker": (_mini_ticker, False),
}
# Raw-stream payloads carry their type in "e" and their symbol in "s".
_EVENT_TYPES: dict[str, tuple[_Handler, bool]] = {
    "depthUpdate": (_depth_diff, False),
    "trade": (_trade, True),
    "aggTrade": (_agg_trade, True),
    "24hrTicker": (_ticker, False),
    "24hrMiniTicker": (_mini_ticker, False),
}


_COMBINED_PREFIX = '{"stream":"'  # how Binance (and the embedded exchange) write a combined frame
_NAME_AT = len(_COMBINED_PREFIX)
# Stream names whose route is remembered. A connection carries at most 1024 streams and a feed a
# few connections, so every real name fits; names the feed makes up beyond the bound, or longer
# than any real one ("btcusdt@depth20@1000ms" is 22 characters), are routed afresh each time:
# garbage costs CPU, never memory.
ROUTES_KEPT = 8192
ROUTE_NAME_CHARS = 64


class FrameParser:
    """Parses messages into frames. Caches each stream name's route (parser, symbol, instrument).

    ``instruments`` is read live (the pipeline's own dict); call ``forget_routes()`` after it
    changes so cached routes pick the change up. ``skip_kinds``: stream kinds (``bookTicker``,
    ``ticker``...) whose frames the caller has no use for. Once a stream of such a kind has been
    seen, its later combined frames come back as ``Ignored`` without being decoded: a backtest
    never reads book tickers, and they are half of all frames. Their contents are then not
    checked, so a damaged skipped frame counts as ignored, not malformed.
    """

    def __init__(self, instruments: Mapping[str, Instrument], skip_kinds: frozenset[str] = frozenset()) -> None:
        unknown = skip_kinds - _KINDS.keys()
        if unknown:
            raise ValueError(f"unknown stream kind(s) to skip: {', '.join(sorted(unknown))}")
        self._instruments = instruments
        self._routes: dict[str, tuple[_Handler, str | None, Instrument | None]] = {}
        self._skip_kinds = skip_kinds
        self._skipped: dict[str, Ignored] = {}  # stream name -> the frame its messages parse to

    def forget_routes(self) -> None:
        self._routes.clear()
        self._skipped.clear()

    def parse(self, recv_ns: int, text: str | bytes, symbol: str | None = None) -> Frame:
        """One received message -> one frame. ``symbol`` names the owner of a bare snapshot."""
        skipped = self._skipped
        if skipped and type(text) is str and text.startswith(_COMBINED_PREFIX):
            frame = skipped.get(text[_NAME_AT:text.find('"', _NAME_AT)])
            if frame is not None:
                return frame
        try:
            message = orjson.loads(text)
        except (orjson.JSONDecodeError, TypeError):
            return Malformed(symbol, "not JSON")
        if type(message) is not dict:
            return Malformed(symbol, "not a JSON object")
        stream = message.get("stream")
        if stream is not None:
            if type(stream) is not str:
                return Malformed(symbol, "stream name is not a string")
            data = message.get("data")
            route = self._routes.get(stream)
            if route is None:
                route = self._route(stream)
            if type(data) is not dict:
                return Malformed(route[1], "combined frame without a data object", route[0] is _depth_diff)
            return route[0](route[1], route[2], data, recv_ns)
        return self._parse_bare(message, recv_ns, symbol)

    def _route(self, stream: str) -> tuple[_Handler, str | None, Instrument | None]:
        name, at, kind = stream.partition("@")
        if stream.startswith("!"):
            route = (_server_shutdown if name == "!serverShutdown" else _unused, None, None)
        elif not at or not name:
            route = (_unused, None, None)
        else:
            symbol = name.upper()
            handler, needs_instrument = _KINDS.get(kind, (_unused, False))
            instrument = self._instruments.get(symbol)
            if needs_instrument and instrument is None:
                handler = _unknown_symbol
            elif kind in self._skip_kinds:
                handler = _skipped_stream
                if len(self._skipped) < ROUTES_KEPT and len(stream) <= ROUTE_NAME_CHARS:
                    self._skipped[stream] = Ignored(symbol, "stream skipped")
            route = (handler, symbol, instrument)
        if len(self._routes) < ROUTES_KEPT and len(stream) <= ROUTE_NAME_CHARS:
            self._routes[stream] = route
        return route

    def _parse_bare(self, message: dict, recv_ns: int, symbol: str | None) -> Frame:
        if symbol is not None:
            symbol = str(symbol).upper()
        if "lastUpdateId" in message:
            return _snapshot(symbol, message, recv_ns, partial=False)
        event_type = message.get("e")
        if event_type is not None:
            if event_type == "error":
                # python-binance: {"e":"error","type":"BinanceWebsocketUnableToConnect","m":"..."}
                return FeedError(str(message.get("type", "error")), str(message.get("m", "")), symbol, recv_ns)
            if event_type == "serverShutdown":
                return _server_shutdown(None, None, message, recv_ns)
            entry = _EVENT_TYPES.get(event_type) if type(event_type) is str else None
            if entry is None:
                return Ignored(symbol, f"event type {event_type!r} not used")
            return self._parse_raw_payload(entry, message, recv_ns, symbol)
        if "u" in message and "b" in message and "a" in message and "s" in message:
            return self._parse_raw_payload((_book_ticker, True), message, recv_ns, symbol)
        if "id" in message and ("result" in message or "error" in message):
            # {"result":null,"id":1} / {"error":{"code":2,"msg":"Invalid request"},"id":1}
            error = message.get("error")
            if error is not None:
                text = error.get("msg", str(error)) if type(error) is dict else str(error)
                return FeedError("request", str(text), symbol, recv_ns)
            return ControlReply(message["id"], message.get("result"))
        if "code" in message and "msg" in message:
            # a REST error body (e.g. 429 {"code":-1003,"msg":"Too many requests..."})
            return FeedError(f"rest {message['code']}", str(message["msg"]), symbol, recv_ns)
        return Malformed(symbol, "unrecognised message")

    def _parse_raw_payload(self, entry: tuple[_Handler, bool], message: dict, recv_ns: int,
                           symbol: str | None) -> Frame:
        handler, needs_instrument = entry
        name = message.get("s", symbol)
        if type(name) is not str or not name:
            return Malformed(symbol, "raw payload without a symbol")
        name = name.upper()
        instrument = self._instruments.get(name)
        if needs_instrument and instrument is None:
            return Ignored(name, "unknown symbol")
        return handler(name, instrument, message, recv_ns)
