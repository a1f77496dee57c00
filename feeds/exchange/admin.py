"""The admin endpoint: fault injection and a look inside the exchange (not part of Binance's API).

    POST   /admin/faults   {"kind": "gap", "symbol": "BTCUSDT", "count": 2} or a list of them
                           -> {"applied": [...]}; a bad request -> 400 {"error": "..."}
    GET    /admin/faults   pending faults, counters and the log of faults that happened
    DELETE /admin/faults   clear every pending fault
    GET    /admin/book?symbol=BTCUSDT[&update_id=N][&depth=N]
                           the exchange's own book (now, or exactly at update id N while the
                           journal still reaches it): {"symbol","update_id","bids","asks"}
    GET    /admin/status   symbols, update ids, connections, frames sent, virtual time

The kinds and their parameters are described in ``feeds.exchange.faults``.
"""
from __future__ import annotations

import json
from typing import Callable

from aiohttp import web

from feeds.exchange.faults import FaultController, FaultError
from feeds.exchange.market import MarketModel
from feeds.exchange.wire import WireFormat


def _json(payload: object, status: int = 200) -> web.Response:
    return web.json_response(payload, status=status, dumps=lambda o: json.dumps(o, separators=(",", ":")))


class AdminApi:
    def __init__(self, model: MarketModel, faults: FaultController, status: Callable[[], dict],
                 sync: Callable[[], None]) -> None:
        self._model = model
        self._faults = faults
        self._status = status
        self._sync = sync
        self._wire = {s: WireFormat(model.market(s).instrument) for s in model.symbols}

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/admin/faults", self.post_faults),
            web.get("/admin/faults", self.get_faults),
            web.delete("/admin/faults", self.delete_faults),
            web.get("/admin/book", self.book),
            web.get("/admin/status", self.status),
        ]

    async def post_faults(self, request: web.Request) -> web.Response:
        try:
            body = json.loads(await request.text() or "null")
        except json.JSONDecodeError as exc:
            return _json({"error": f"body is not JSON: {exc}"}, 400)
        requests = body if isinstance(body, list) else [body]
        try:
            applied = [self._faults.request(raw) for raw in requests]
        except FaultError as exc:
            return _json({"error": str(exc)}, 400)
        return _json({"applied": applied})

    async def get_faults(self, request: web.Request) -> web.Response:
        return _json(self._faults.status())

    async def delete_faults(self, request: web.Request) -> web.Response:
        self._faults.clear()
        return _json({"cleared": True})

    async def book(self, request: web.Request) -> web.Response:
        symbol = request.query.get("symbol", "").upper()
        if symbol not in self._wire:
            return _json({"error": f"unknown symbol {symbol!r}"}, 400)
        try:
            depth = int(request.query["depth"]) if "depth" in request.query else None
            update_id = int(request.query["update_id"]) if "update_id" in request.query else None
        except ValueError:
            return _json({"error": "depth and update_id are integers"}, 400)
        self._sync()
        try:
            snap = (self._model.book_snapshot(symbol, depth) if update_id is None
                    else self._model.book_at(symbol, update_id))
        except LookupError as exc:
            return _json({"error": str(exc)}, 404)
        wire = self._wire[symbol]
        bids = snap.bids[:depth] if depth is not None else snap.bids
        asks = snap.asks[:depth] if depth is not None else snap.asks
        return _json({
            "symbol": symbol, "update_id": snap.update_id,
            "bids": [[wire.price(p), wire.size(q)] for p, q in bids],
            "asks": [[wire.price(p), wire.size(q)] for p, q in asks],
        })

    async def status(self, request: web.Request) -> web.Response:
        self._sync()
        return _json(self._status())
