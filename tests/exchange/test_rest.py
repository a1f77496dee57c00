"""REST endpoints over real loopback HTTP: schemas, errors, weights, snapshot/diff consistency."""
from __future__ import annotations

import json
import re
import time

import aiohttp
import pytest

from feeds.exchange import ExchangeConfig, ExchangeThread
from tests.exchange.conftest import collect, run

SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
DECIMAL = re.compile(r"^-?\d+\.\d{8}$")
TICKER_FIELDS = [
    "symbol", "priceChange", "priceChangePercent", "weightedAvgPrice", "prevClosePrice", "lastPrice", "lastQty",
    "bidPrice", "bidQty", "askPrice", "askQty", "openPrice", "highPrice", "lowPrice", "volume", "quoteVolume",
    "openTime", "closeTime", "firstId", "lastId", "count",
]
MINI_FIELDS = ["symbol", "openPrice", "highPrice", "lowPrice", "lastPrice", "volume", "quoteVolume",
               "openTime", "closeTime", "firstId", "lastId", "count"]


@pytest.fixture(scope="module")
def exchange():
    with ExchangeThread(ExchangeConfig(symbols=SYMBOLS, seed=21, rate=2.0)) as ex:
        yield ex


async def get(ex, path: str) -> tuple[int, dict, object]:
    async with aiohttp.ClientSession() as session:
        async with session.get(ex.base_url + path) as response:
            return response.status, dict(response.headers), json.loads(await response.text())


def check_levels(levels, descending: bool, tick_units: int) -> None:
    prices = [p for p, _ in levels]
    assert all(DECIMAL.match(p) and DECIMAL.match(q) for p, q in levels)
    assert all(float(q) > 0 for _, q in levels)
    values = [int(p.replace(".", "")) for p in prices]
    assert values == sorted(values, reverse=descending) and len(set(values)) == len(values)
    assert all(v % tick_units == 0 for v in values)


def test_ping_and_time(exchange):
    status, headers, body = run(get(exchange, "/api/v3/ping"))
    assert (status, body) == (200, {})
    assert headers["Content-Type"].startswith("application/json")
    assert int(headers["X-MBX-USED-WEIGHT-1M"]) >= 1
    status, _, body = run(get(exchange, "/api/v3/time"))
    assert status == 200 and list(body) == ["serverTime"] and isinstance(body["serverTime"], int)
    assert abs(body["serverTime"] - time.time() * 1000) < 10_000


def test_exchange_info_all_one_and_several(exchange):
    status, headers, body = run(get(exchange, "/api/v3/exchangeInfo"))
    assert status == 200
    assert list(body) == ["timezone", "serverTime", "rateLimits", "exchangeFilters", "symbols"]
    assert [s["symbol"] for s in body["symbols"]] == list(SYMBOLS)
    for entry in body["symbols"]:
        kinds = [f["filterType"] for f in entry["filters"]]
        assert "PRICE_FILTER" in kinds and "LOT_SIZE" in kinds
    status, _, one = run(get(exchange, "/api/v3/exchangeInfo?symbol=ETHUSDT"))
    assert status == 200 and [s["symbol"] for s in one["symbols"]] == ["ETHUSDT"]
    status, _, some = run(get(exchange, '/api/v3/exchangeInfo?symbols=["SOLUSDT","BTCUSDT"]'))
    assert status == 200 and [s["symbol"] for s in some["symbols"]] == ["SOLUSDT", "BTCUSDT"]


@pytest.mark.parametrize("path, status, code", [
    ("/api/v3/exchangeInfo?symbol=FOOUSDT", 400, -1121),
    ("/api/v3/exchangeInfo?symbol=btcusdt", 400, -1100),
    ('/api/v3/exchangeInfo?symbols=["BTCUSDT","NOPEUSDT"]', 400, -1121),
    ("/api/v3/exchangeInfo?symbols=BTCUSDT", 400, -1100),
    ('/api/v3/exchangeInfo?symbol=BTCUSDT&symbols=["BTCUSDT"]', 400, -1128),
    ("/api/v3/depth", 400, -1102),
    ("/api/v3/depth?symbol=", 400, -1102),
    ("/api/v3/depth?symbol=XRPUSDT", 400, -1121),
    ("/api/v3/depth?symbol=BTCUSDT&limit=abc", 400, -1100),
    ("/api/v3/depth?symbol=BTCUSDT&limit=-5", 400, -1100),
    ("/api/v3/depth?symbol=BTCUSDT&limit=0", 400, -1100),
    ("/api/v3/ticker/24hr?symbol=NOPE", 400, -1121),
    ("/api/v3/ticker/24hr?symbol=BTCUSDT&type=HUGE", 400, -1100),
    ("/api/v3/nothing", 404, -1000),
])
def test_bad_requests_get_binance_errors(exchange, path, status, code):
    got_status, headers, body = run(get(exchange, path))
    assert got_status == status
    assert list(body) == ["code", "msg"] and body["code"] == code and body["msg"]
    assert "X-MBX-USED-WEIGHT-1M" in headers
    if code == -1121:
        assert body["msg"] == "Invalid symbol."


def test_depth_snapshot_schema_and_limits(exchange):
    tick = exchange.instruments["BTCUSDT"].tick_units
    status, headers, body = run(get(exchange, "/api/v3/depth?symbol=BTCUSDT"))
    assert status == 200 and list(body) == ["lastUpdateId", "bids", "asks"]
    assert isinstance(body["lastUpdateId"], int)
    assert len(body["bids"]) == len(body["asks"]) == 100
    check_levels(body["bids"], descending=True, tick_units=tick)
    check_levels(body["asks"], descending=False, tick_units=tick)
    assert float(body["bids"][0][0]) < float(body["asks"][0][0])
    for limit, expected in ((1, 1), (5, 5), (20, 20)):
        _, _, small = run(get(exchange, f"/api/v3/depth?symbol=SOLUSDT&limit={limit}"))
        assert len(small["bids"]) == len(small["asks"]) == expected
    _, _, full = run(get(exchange, "/api/v3/depth?symbol=SOLUSDT&limit=5000"))
    _, _, over = run(get(exchange, "/api/v3/depth?symbol=SOLUSDT&limit=9000"))
    assert 20 < len(full["bids"]) <= 5000 and len(over["bids"]) <= 5000


def test_request_weights_are_counted(exchange):
    async def weights() -> list[int]:
        used = []
        async with aiohttp.ClientSession() as session:
            for path in ("/api/v3/ping", "/api/v3/depth?symbol=BTCUSDT&limit=5000", "/api/v3/ticker/24hr",
                         "/api/v3/exchangeInfo", "/api/v3/depth?symbol=BTCUSDT&limit=500"):
                async with session.get(exchange.base_url + path) as response:
                    used.append(int(response.headers["X-MBX-USED-WEIGHT-1M"]))
        return used

    used = run(weights())
    steps = [b - a for a, b in zip(used, used[1:])]
    if all(s >= 0 for s in steps):  # the minute may roll over mid-test; then the counter restarts
        assert steps == [250, 80, 20, 25]


def test_ticker_24hr_shapes(exchange):
    status, _, one = run(get(exchange, "/api/v3/ticker/24hr?symbol=ETHUSDT"))
    assert status == 200 and list(one) == TICKER_FIELDS and one["symbol"] == "ETHUSDT"
    for key in TICKER_FIELDS:
        if key in ("symbol", "priceChangePercent"):
            continue
        if key in ("openTime", "closeTime", "firstId", "lastId", "count"):
            assert isinstance(one[key], int)
        else:
            assert DECIMAL.match(one[key]), key
    assert re.match(r"^-?\d+\.\d{3}$", one["priceChangePercent"])
    assert one["closeTime"] - one["openTime"] == 86_400_000
    assert one["count"] == one["lastId"] - one["firstId"] + 1 > 0
    assert float(one["lowPrice"]) <= float(one["lastPrice"]) <= float(one["highPrice"])
    assert float(one["bidPrice"]) < float(one["askPrice"])
    _, _, all_of_them = run(get(exchange, "/api/v3/ticker/24hr"))
    assert [t["symbol"] for t in all_of_them] == list(SYMBOLS)
    _, _, some = run(get(exchange, '/api/v3/ticker/24hr?symbols=["SOLUSDT"]'))
    assert isinstance(some, list) and some[0]["symbol"] == "SOLUSDT"
    _, _, mini = run(get(exchange, "/api/v3/ticker/24hr?symbol=BTCUSDT&type=MINI"))
    assert list(mini) == MINI_FIELDS


def test_snapshot_last_update_id_fits_the_diff_stream(exchange):
    async def check() -> None:
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(exchange.stream_url + "ws/ethusdt@depth@100ms") as ws:
                first = await collect(ws, lambda f: len(f) >= 1)
                async with session.get(exchange.base_url + "/api/v3/depth?symbol=ETHUSDT&limit=5000") as r:
                    snapshot = json.loads(await r.text())
                last = snapshot["lastUpdateId"]
                assert first[0]["U"] <= last + 1  # the stream was open before the snapshot
                frames = await collect(ws, lambda f: bool(f) and f[-1]["u"] > last + 30)
        bids = {p: q for p, q in snapshot["bids"]}
        asks = {p: q for p, q in snapshot["asks"]}
        kept = [f for f in frames if f["u"] > last]
        assert kept[0]["U"] <= last + 1 <= kept[0]["u"]
        for before, after in zip(kept, kept[1:]):
            assert after["U"] == before["u"] + 1
        for frame in kept:
            for levels, changes in ((bids, frame["b"]), (asks, frame["a"])):
                for price, qty in changes:
                    if float(qty) == 0:
                        levels.pop(price, None)
                    else:
                        levels[price] = qty
            assert max(map(float, bids)) < min(map(float, asks))
        at = exchange.book_at("ETHUSDT", kept[-1]["u"])
        inst = exchange.instruments["ETHUSDT"]
        assert bids == {inst.ticks_to_str(p): inst.lots_to_str(q) for p, q in at.bids}
        assert asks == {inst.ticks_to_str(p): inst.lots_to_str(q) for p, q in at.asks}

    run(check())


def test_spent_weight_gets_429_with_retry_after():
    with ExchangeThread(ExchangeConfig(symbols=("BTCUSDT",), seed=2, weight_limit_1m=30)) as ex:
        async def hammer() -> tuple[int, dict, dict]:
            async with aiohttp.ClientSession() as session:
                for _ in range(40):
                    async with session.get(ex.base_url + "/api/v3/depth?symbol=BTCUSDT&limit=5") as r:
                        if r.status == 429:
                            return r.status, dict(r.headers), json.loads(await r.text())
            raise AssertionError("no 429 after 40 requests of weight 5 against a limit of 30")

        status, headers, body = run(hammer())
        assert body["code"] == -1003 and "request weight" in body["msg"]
        assert 1 <= int(headers["Retry-After"]) <= 60
