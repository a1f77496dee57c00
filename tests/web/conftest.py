"""Fixtures for the in-process web tests: the real Engine fed real Binance frames, the real Flask
app, and Flask-SocketIO's test client (threading mode: no eventlet in the pytest process)."""
from __future__ import annotations

import json
import time

import pytest

from app.config import MonitorConfig
from app.engine import Engine
from app.journal import Journal
from app.state_dir import StateDir
from orderbook.instrument import Instrument

SYMBOLS = ("BTCUSDT", "ETHUSDT")


def instrument(symbol: str, tick: str = "0.01", step: str = "0.00001") -> Instrument:
    return Instrument.from_exchange_info({
        "symbol": symbol, "baseAsset": symbol[:-4], "quoteAsset": "USDT",
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": "0.01", "maxPrice": "1000000", "tickSize": tick},
            {"filterType": "LOT_SIZE", "minQty": step, "maxQty": "9000", "stepSize": step},
            {"filterType": "NOTIONAL", "minNotional": "5"},
        ],
    })


class Feeder:
    """Drives an engine with frames exactly as Binance sends them (combined-stream JSON text)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.update_id = {s: 1000 for s in engine.symbols}
        self.trade_id = 0
        self.engine.on_connection("connected", time.time_ns())

    def _frame(self, stream: str, data: dict) -> str:
        return json.dumps({"stream": stream, "data": data})

    def sync(self, symbol: str, bid: float = 100.0, ask: float = 100.01) -> None:
        """Diff first (the stream is open), then the REST snapshot it asked for: the book syncs."""
        first = self.update_id[symbol]
        now = time.time_ns()
        self.engine.on_message(now, self._frame(f"{symbol.lower()}@depth@100ms", {
            "e": "depthUpdate", "E": now // 1_000_000, "s": symbol, "U": first, "u": first + 1,
            "b": [[f"{bid:.2f}", "1.50000"]], "a": []}))
        self.engine.on_message(now, json.dumps({
            "lastUpdateId": first,
            "bids": [[f"{bid - i * 0.01:.2f}", f"{1 + i:.5f}"] for i in range(25)],
            "asks": [[f"{ask + i * 0.01:.2f}", f"{2 + i:.5f}"] for i in range(25)],
        }), symbol)
        self.update_id[symbol] = first + 2
        assert self.engine.market.synced(symbol)

    def diff(self, symbol: str, bids: list, asks: list) -> None:
        uid = self.update_id[symbol]
        now = time.time_ns()
        self.engine.on_message(now, self._frame(f"{symbol.lower()}@depth@100ms", {
            "e": "depthUpdate", "E": now // 1_000_000, "s": symbol, "U": uid, "u": uid,
            "b": bids, "a": asks}))
        self.update_id[symbol] = uid + 1

    def trade(self, symbol: str, price: str, qty: str, buyer_is_maker: bool = False) -> None:
        self.trade_id += 1
        now = time.time_ns()
        self.engine.on_message(now, self._frame(f"{symbol.lower()}@trade", {
            "e": "trade", "E": now // 1_000_000, "s": symbol, "t": self.trade_id, "p": price, "q": qty,
            "T": now // 1_000_000, "m": buyer_is_maker, "M": True}))


@pytest.fixture
def engine(tmp_path) -> Engine:
    """The engine as a monitor builds it, with its account journal in a fresh temporary state dir."""
    config = MonitorConfig(symbols=SYMBOLS, source="sim")
    journal = Journal.open(StateDir(tmp_path).journal_path)
    eng = Engine(config, {s: instrument(s) for s in SYMBOLS}, source="sim", journal=journal)
    eng.set_streaming(True)
    yield eng
    journal.close()


@pytest.fixture
def feeder(engine: Engine) -> Feeder:
    return Feeder(engine)


@pytest.fixture
def app(engine: Engine):
    from app.web import create_app

    return create_app(MonitorConfig(symbols=SYMBOLS, source="sim"), engine, async_mode="threading",
                      start_push=False)


@pytest.fixture
def http(app):
    return app.test_client()


@pytest.fixture
def sio(app):
    from app.web import socketio

    clients = []

    def connect():
        client = socketio.test_client(app)
        assert client.is_connected()
        clients.append(client)
        return client

    yield connect
    for client in clients:
        if client.is_connected():
            client.disconnect()


@pytest.fixture
def broadcaster(app):
    return app.extensions["monitor"].broadcaster
