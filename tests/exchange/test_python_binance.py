"""python-binance 1.0.37 itself against the exchange, only its base URLs changed.

Its DepthCacheManager is an independent book implementation: at the same update id it must hold
exactly the exchange's own book.
"""
from __future__ import annotations

import pytest
from binance import AsyncClient, BinanceSocketManager
from binance.exceptions import BinanceAPIException
from binance.ws.depthcache import DepthCacheManager

from feeds.exchange import ExchangeConfig, ExchangeThread
from tests.exchange.conftest import run


@pytest.fixture(scope="module")
def exchange():
    with ExchangeThread(ExchangeConfig(symbols=("BTCUSDT", "ETHUSDT", "SOLUSDT"), seed=41, rate=2.0)) as ex:
        yield ex


@pytest.fixture(scope="module")
def clients(exchange):
    """AsyncClient / BinanceSocketManager subclasses pointing at the exchange (class attributes only)."""

    class Client(AsyncClient):
        API_URL = exchange.base_api_url

    class SocketManager(BinanceSocketManager):
        STREAM_URL = exchange.stream_url

    return Client, SocketManager


def test_async_client_rest_calls(clients):
    Client, _ = clients

    async def check() -> None:
        client = await Client.create()  # pings and reads the server time
        try:
            assert await client.ping() == {}
            info = await client.get_exchange_info()
            assert [s["symbol"] for s in info["symbols"]] == ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
            assert (await client.get_symbol_info("ETHUSDT"))["baseAsset"] == "ETH"
            book = await client.get_order_book(symbol="BTCUSDT", limit=10)
            assert len(book["bids"]) == 10 and float(book["bids"][0][0]) < float(book["asks"][0][0])
            ticker = await client.get_ticker(symbol="SOLUSDT")
            assert ticker["symbol"] == "SOLUSDT" and float(ticker["lastPrice"]) > 0
            with pytest.raises(BinanceAPIException) as error:
                await client.get_order_book(symbol="DOGEUSDT")
            assert error.value.code == -1121 and error.value.status_code == 400
        finally:
            await client.close_connection()

    run(check())


def test_multiplex_socket_streams_a_consistent_market(clients):
    Client, SocketManager = clients
    symbols = ("btcusdt", "ethusdt")

    async def check() -> tuple[dict, list[dict]]:
        client = await Client.create()
        try:
            manager = SocketManager(client)
            streams = [f"{s}@{c}" for s in symbols for c in ("depth@100ms", "bookTicker", "trade")]
            frames = []
            async with manager.multiplex_socket(streams) as socket:
                # the stream first, then the snapshots (Binance's order book recipe)
                frames.append(await socket.recv())
                snapshots = {s: await client.get_order_book(symbol=s.upper(), limit=5000) for s in symbols}
                while sum(f["stream"].endswith("@depth@100ms") for f in frames) < 60:
                    frame = await socket.recv()
                    assert frame.get("e") != "error", frame
                    frames.append(frame)
            return snapshots, frames
        finally:
            await client.close_connection()

    snapshots, frames = run(check())
    assert {f["stream"] for f in frames} >= {"btcusdt@trade", "ethusdt@bookTicker", "btcusdt@depth@100ms"}
    for symbol in symbols:
        snapshot = snapshots[symbol]
        book_id = snapshot["lastUpdateId"]
        bids = {p: float(q) for p, q in snapshot["bids"]}
        asks = {p: float(q) for p, q in snapshot["asks"]}
        last_ticker = None
        applied = 0
        for frame in frames:
            data = frame["data"]
            if frame["stream"] == f"{symbol}@bookTicker":
                last_ticker = data
                continue
            if frame["stream"] != f"{symbol}@depth@100ms" or data["u"] <= book_id:
                continue
            if applied == 0:
                assert data["U"] <= book_id + 1 <= data["u"]
            else:
                assert data["U"] == book_id + 1, "update ids must be contiguous"
            for levels, changes in ((bids, data["b"]), (asks, data["a"])):
                for price, qty in changes:
                    if float(qty) == 0:
                        levels.pop(price, None)
                    else:
                        levels[price] = float(qty)
            book_id = data["u"]
            applied += 1
            best_bid = max(bids, key=float)
            best_ask = min(asks, key=float)
            assert float(best_bid) < float(best_ask), "the book crossed"
            if last_ticker is not None and last_ticker["u"] <= book_id:
                assert (last_ticker["b"], float(last_ticker["B"])) == (best_bid, bids[best_bid])
                assert (last_ticker["a"], float(last_ticker["A"])) == (best_ask, asks[best_ask])
        assert applied >= 20


@pytest.mark.parametrize("ws_interval", [100, None])
def test_depth_cache_manager_holds_the_exchange_book(exchange, clients, ws_interval):
    Client, SocketManager = clients
    symbol = "SOLUSDT"

    async def check() -> tuple[int, list, list]:
        client = await Client.create()
        try:
            manager = DepthCacheManager(client, symbol, bm=SocketManager(client), limit=5000, ws_interval=ws_interval)
            async with manager as cache_socket:
                for _ in range(12 if ws_interval else 4):
                    cache = await cache_socket.recv()
                    assert not isinstance(cache, dict), cache  # an error message would be a dict
                # python-binance keeps the id its cache is at privately (pinned version 1.0.37)
                return cache_socket._last_update_id, cache.get_bids(), cache.get_asks()
        finally:
            await client.close_connection()

    update_id, bids, asks = run(check(), timeout=90)
    own = exchange.book_at(symbol, update_id)
    assert len(own.bids) < 5000 and len(own.asks) < 5000  # so the 5000-level snapshot saw the whole book
    inst = exchange.instruments[symbol]
    assert bids == [[float(inst.ticks_to_str(p)), float(inst.lots_to_str(q))] for p, q in own.bids]
    assert asks == [[float(inst.ticks_to_str(p)), float(inst.lots_to_str(q))] for p, q in own.asks]
