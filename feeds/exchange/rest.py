"""Binance's spot REST market-data endpoints (``/api/v3/...``), errors and request weights.

    GET /api/v3/ping                      {}                                              weight 1
    GET /api/v3/time                      {"serverTime": ms}                              weight 1
    GET /api/v3/exchangeInfo[?symbol=|symbols=["A","B"]]                                 weight 20
    GET /api/v3/depth?symbol=&limit=      {"lastUpdateId","bids","asks"}, limit 1..5000
                                          (default 100, more is cut to 5000)   weight 5/25/50/250
    GET /api/v3/ticker/24hr[?symbol=|symbols=][&type=FULL|MINI]             weight 2/40/80

Errors are Binance's: HTTP 400 with ``{"code": -1121, "msg": "Invalid symbol."}``, -1100 for a
malformed parameter, -1102 for a missing one, -1128 for a bad combination; 429 with -1003 and
``Retry-After`` once the minute's weight is spent. Every answer carries ``X-MBX-USED-WEIGHT-1M``.
A depth answer is taken from the book at the newest update id the market has reached (the market
is advanced to now first), so its ``lastUpdateId`` fits the diff stream.
"""
from __future__ import annotations

import asyncio
import json
import math
import re
import time
from typing import Callable

from aiohttp import web

from feeds.exchange.catalog import Catalog
from feeds.exchange.faults import FaultController
from feeds.exchange.market import MarketModel
from feeds.exchange.wire import WireFormat

_SYMBOL = re.compile(r"^[A-Z0-9\-_.]{1,20}$")
_SYMBOLS_RANGE = '^\\[("[A-Z0-9-_.]{1,20}"(,"[A-Z0-9-_.]{1,20}"){0,}){0,1}\\]$'
_DIGITS = re.compile(r"^[0-9]{1,20}$")
MAX_DEPTH = 5000
_SERVER_ERRORS = {
    500: (-1001, "Internal error; unable to process your request. Please try again."),
    502: (-1007, "Timeout waiting for response from backend server. Send status unknown; execution status unknown."),
    503: (-1008, "Server is currently overloaded with other requests. Please try again in a few minutes."),
    504: (-1007, "Timeout waiting for response from backend server. Send status unknown; execution status unknown."),
}


class ApiError(Exception):
    """A Binance error answer: HTTP status, code, message."""

    def __init__(self, code: int, msg: str, status: int = 400) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg
        self.status = status


def json_response(body: str, status: int = 200, headers: dict | None = None) -> web.Response:
    return web.Response(text=body, status=status, headers=headers, content_type="application/json",
                        charset="UTF-8")


def error_response(code: int, msg: str, status: int, headers: dict | None = None) -> web.Response:
    return json_response(json.dumps({"code": code, "msg": msg}, separators=(",", ":")), status, headers)


class WeightMeter:
    """Request weight used in the current wall-clock minute, as Binance counts it per IP."""

    def __init__(self, limit: int, clock: Callable[[], float] = time.time) -> None:
        self.limit = limit
        self._clock = clock
        self._minute = -1
        self.used = 0

    def charge(self, weight: int) -> int:
        minute = int(self._clock() // 60)
        if minute != self._minute:
            self._minute, self.used = minute, 0
        self.used += weight
        return self.used

    def over(self) -> bool:
        return self.limit > 0 and self.used > self.limit

    def seconds_to_reset(self) -> int:
        return max(1, math.ceil(60 - self._clock() % 60))


def request_weight(path: str, query: dict) -> int:
    """Binance's weight of one request (charged whether or not its parameters are valid)."""
    if path.endswith("/depth"):
        text = query.get("limit", "100")
        limit = int(text) if _DIGITS.match(text) else 100
        return 5 if limit <= 100 else 25 if limit <= 500 else 50 if limit <= 1000 else 250
    if path.endswith("/exchangeInfo"):
        return 20
    if path.endswith("/ticker/24hr"):
        if "symbol" in query:
            return 2
        if "symbols" in query:
            count = query["symbols"].count(",") + 1
            return 2 if count <= 20 else 40 if count <= 100 else 80
        return 80
    return 1


class RestApi:
    """The handlers. ``sync()`` advances the market to now before a book is read."""

    def __init__(self, catalog: Catalog, model: MarketModel, faults: FaultController,
                 meter: WeightMeter, virtual_ms: Callable[[], int], sync: Callable[[], None]) -> None:
        self._catalog = catalog
        self._model = model
        self._faults = faults
        self._meter = meter
        self._virtual_ms = virtual_ms
        self._sync = sync
        self._wire = {s: WireFormat(p.instrument) for s, p in catalog.profiles.items()}

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/api/v3/ping", self.ping),
            web.get("/api/v3/time", self.time),
            web.get("/api/v3/exchangeInfo", self.exchange_info),
            web.get("/api/v3/depth", self.depth),
            web.get("/api/v3/ticker/24hr", self.ticker_24hr),
        ]

    @web.middleware
    async def middleware(self, request: web.Request, handler) -> web.StreamResponse:
        """Faults, weights and Binance error bodies for everything under /api/."""
        if not request.path.startswith("/api/"):
            return await handler(request)
        delay = self._faults.rest_delay_s()
        if delay:
            await asyncio.sleep(delay)
        used = self._meter.charge(request_weight(request.path, dict(request.query)))
        headers = {"X-MBX-USED-WEIGHT-1M": str(used), "X-MBX-USED-WEIGHT": str(used)}
        failure = self._faults.take_rest_failure()
        if failure is not None:
            status, retry_after = failure
            if status == 429:
                headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
                return error_response(-1003, self._too_much_weight(), 429, headers)
            code, msg = _SERVER_ERRORS.get(status, (-1000, "An unknown error occurred while processing the request."))
            return error_response(code, msg, status, headers)
        if self._meter.over():
            headers["Retry-After"] = str(self._meter.seconds_to_reset())
            return error_response(-1003, self._too_much_weight(), 429, headers)
        try:
            response = await handler(request)
        except ApiError as exc:
            return error_response(exc.code, exc.msg, exc.status, headers)
        except web.HTTPNotFound:
            return error_response(-1000, "Unknown endpoint.", 404, headers)
        response.headers.update(headers)
        return response

    def _too_much_weight(self) -> str:
        return (f"Too much request weight used; current limit is {self._meter.limit} request weight per "
                "1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.")

    # -- parameters ------------------------------------------------------------------------
    def _symbol(self, text: str) -> str:
        if not _SYMBOL.match(text):
            raise ApiError(-1100, "Illegal characters found in parameter 'symbol'; legal range is "
                                  "'^[A-Z0-9-_.]{1,20}$'.")
        if text not in self._catalog.profiles:
            raise ApiError(-1121, "Invalid symbol.")
        return text

    def _symbols(self, text: str) -> list[str]:
        try:
            values = json.loads(text)
        except json.JSONDecodeError:
            values = None
        if (not isinstance(values, list) or not values
                or not all(isinstance(v, str) and _SYMBOL.match(v) for v in values)):
            raise ApiError(-1100, f"Illegal characters found in parameter 'symbols'; legal range is '{_SYMBOLS_RANGE}'.")
        if len(set(values)) != len(values):
            raise ApiError(-1101, "Duplicate values for parameter 'symbols'.")
        for value in values:
            if value not in self._catalog.profiles:
                raise ApiError(-1121, "Invalid symbol.")
        return values

    def _chosen(self, query) -> list[str] | None:
        if "symbol" in query and "symbols" in query:
            raise ApiError(-1128, "Combination of optional parameters invalid.")
        if "symbol" in query:
            return [self._symbol(query["symbol"])]
        if "symbols" in query:
            return self._symbols(query["symbols"])
        return None

    # -- handlers --------------------------------------------------------------------------
    async def ping(self, request: web.Request) -> web.Response:
        return json_response("{}")

    async def time(self, request: web.Request) -> web.Response:
        return json_response(f'{{"serverTime":{self._virtual_ms()}}}')

    async def exchange_info(self, request: web.Request) -> web.Response:
        chosen = self._chosen(request.query)
        info = self._catalog.exchange_info(self._virtual_ms(), chosen)
        return json_response(json.dumps(info, separators=(",", ":")))

    async def depth(self, request: web.Request) -> web.Response:
        query = request.query
        text = query.get("symbol", "")
        if not text:
            raise ApiError(-1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.")
        symbol = self._symbol(text)
        limit_text = query.get("limit", "100")
        if not _DIGITS.match(limit_text):
            raise ApiError(-1100, "Illegal characters found in parameter 'limit'; legal range is '^[0-9]{1,20}$'.")
        limit = int(limit_text)
        if limit < 1:
            raise ApiError(-1100, f"Illegal characters found in parameter 'limit'; legal range is '1..{MAX_DEPTH}'.")
        self._sync()
        snapshot = self._model.book_snapshot(symbol, min(limit, MAX_DEPTH))
        return json_response(self._wire[symbol].depth_snapshot(snapshot.update_id, snapshot.bids, snapshot.asks))

    async def ticker_24hr(self, request: web.Request) -> web.Response:
        query = request.query
        kind = query.get("type", "FULL")
        if kind not in ("FULL", "MINI"):
            raise ApiError(-1100, "Illegal characters found in parameter 'type'; legal range is 'FULL, MINI'.")
        chosen = self._chosen(query)
        self._sync()
        bodies = []
        for symbol in chosen if chosen is not None else self._catalog.symbols:
            window = self._model.ticker_window(symbol)
            wire = self._wire[symbol]
            bodies.append(wire.ticker_fields(window) if kind == "FULL" else wire.mini_ticker_fields(window))
        single = "symbol" in query
        return json_response(json.dumps(bodies[0] if single else bodies, separators=(",", ":")))
