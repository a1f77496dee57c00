"""WebSocket streams over real loopback sockets: schemas, live control, connection rules."""
from __future__ import annotations

import asyncio
import json
import re

import aiohttp
import pytest

from feeds.exchange import ConnectionRules, ExchangeConfig, ExchangeThread
from tests.exchange.conftest import collect, receive_json, run, wait_closed

DECIMAL = re.compile(r"^\d+\.\d{8}$")
KEYS = {
    "trade": ["e", "E", "s", "t", "p", "q", "T", "m", "M"],
    "aggTrade": ["e", "E", "s", "a", "p", "q", "f", "l", "T", "m", "M"],
    "bookTicker": ["u", "s", "b", "B", "a", "A"],
    "depthUpdate": ["e", "E", "s", "U", "u", "b", "a"],
    "partial": ["lastUpdateId", "bids", "asks"],
    "24hrTicker": ["e", "E", "s", "p", "P", "w", "x", "c", "Q", "b", "B", "a", "A", "o", "h", "l", "v", "q",
                   "O", "C", "F", "L", "n"],
    "24hrMiniTicker": ["e", "E", "s", "c", "o", "h", "l", "v", "q"],
}
ALL_STREAMS = [
    "btcusdt@depth@100ms", "btcusdt@depth", "btcusdt@depth5", "btcusdt@depth10@100ms", "btcusdt@depth20@100ms",
    "btcusdt@trade", "btcusdt@aggTrade", "btcusdt@bookTicker", "btcusdt@ticker", "btcusdt@miniTicker",
]


@pytest.fixture(scope="module")
def exchange():
    rules = ConnectionRules(max_streams=12)
    with ExchangeThread(ExchangeConfig(symbols=("BTCUSDT", "SOLUSDT"), seed=31, rate=3.0, rules=rules)) as ex:
        yield ex


@pytest.fixture(scope="module")
def strict():
    """Short keepalive and lifetime so the rules can be seen within a test."""
    rules = ConnectionRules(ping_interval_s=0.3, pong_timeout_s=0.8, max_lifetime_s=2.5, shutdown_grace_s=0.3)
    with ExchangeThread(ExchangeConfig(symbols=("SOLUSDT",), seed=32, rate=1.0, rules=rules)) as ex:
        yield ex


def is_decimal(value) -> bool:
    return isinstance(value, str) and bool(DECIMAL.match(value))


def check_payload(stream: str, data: dict) -> None:
    """One payload against Binance's documented schema: names, order, types."""
    channel = stream.split("@", 1)[1]
    if channel.startswith("depth") and channel not in ("depth", "depth@100ms"):
        assert list(data) == KEYS["partial"]
        levels = int(re.match(r"depth(\d+)", channel).group(1))
        assert isinstance(data["lastUpdateId"], int)
        assert len(data["bids"]) == len(data["asks"]) == levels
        for price, qty in data["bids"] + data["asks"]:
            assert is_decimal(price) and is_decimal(qty) and float(qty) > 0
        assert float(data["bids"][0][0]) < float(data["asks"][0][0])
        return
    if channel == "bookTicker":
        assert list(data) == KEYS["bookTicker"]
        assert isinstance(data["u"], int) and data["s"] == "BTCUSDT"
        assert all(is_decimal(data[k]) for k in "bBaA") and float(data["b"]) < float(data["a"])
        return
    event = data["e"]
    assert list(data) == KEYS[event]
    assert isinstance(data["E"], int) and data["s"] == "BTCUSDT"
    if event == "trade":
        assert isinstance(data["t"], int) and isinstance(data["T"], int)
        assert is_decimal(data["p"]) and is_decimal(data["q"]) and float(data["q"]) > 0
        assert isinstance(data["m"], bool) and data["M"] is True
    elif event == "aggTrade":
        assert all(isinstance(data[k], int) for k in "aflT") and data["f"] <= data["l"]
        assert is_decimal(data["p"]) and is_decimal(data["q"]) and isinstance(data["m"], bool)
    elif event == "depthUpdate":
        assert isinstance(data["U"], int) and isinstance(data["u"], int) and data["U"] <= data["u"]
        assert data["E"] % (100 if channel == "depth@100ms" else 1000) == 0
        for price, qty in data["b"] + data["a"]:
            assert is_decimal(price) and is_decimal(qty)
        bids = [float(p) for p, _ in data["b"]]
        asks = [float(p) for p, _ in data["a"]]
        assert bids == sorted(bids, reverse=True) and asks == sorted(asks)
    elif event == "24hrTicker":
        for key in ("w", "x", "c", "Q", "b", "B", "a", "A", "o", "h", "l", "v", "q"):
            assert is_decimal(data[key]), key
        assert re.match(r"^-?\d+\.\d{8}$", data["p"]) and re.match(r"^-?\d+\.\d{3}$", data["P"])
        assert data["C"] - data["O"] == 86_400_000 and data["n"] == data["L"] - data["F"] + 1
    elif event == "24hrMiniTicker":
        assert all(is_decimal(data[k]) for k in "cohlvq")


def test_every_stream_on_a_combined_connection(exchange):
    async def check() -> None:
        async with aiohttp.ClientSession() as session:
            url = exchange.stream_url + "stream?streams=" + "/".join(ALL_STREAMS)
            async with session.ws_connect(url) as ws:
                seen: dict[str, int] = {}
                deadline = asyncio.get_running_loop().time() + 30
                while len(seen) < len(ALL_STREAMS) or min(seen.values()) < 2:
                    assert asyncio.get_running_loop().time() < deadline, f"missing: {set(ALL_STREAMS) - set(seen)}"
                    msg = await ws.receive(timeout=30)
                    text = msg.data
                    assert text.startswith('{"stream":"') and ": " not in text and ", " not in text
                    frame = json.loads(text)
                    assert list(frame) == ["stream", "data"]
                    check_payload(frame["stream"], frame["data"])
                    seen[frame["stream"]] = seen.get(frame["stream"], 0) + 1
                assert set(seen) == set(ALL_STREAMS)

    run(check())


def test_raw_connections_carry_bare_payloads(exchange):
    async def check() -> None:
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(exchange.stream_url + "ws/btcusdt@aggTrade") as ws:
                frames = await collect(ws, lambda f: len(f) >= 3)
                assert all(f["e"] == "aggTrade" for f in frames)
            async with session.ws_connect(exchange.stream_url + "ws/btcusdt@trade/btcusdt@bookTicker") as ws:
                frames = await collect(ws, lambda f: any("u" in x for x in f) and any("t" in x for x in f))
                assert all("stream" not in f for f in frames)

    run(check())


async def send_paced(ws: aiohttp.ClientWebSocketResponse, text: str) -> None:
    """Send a control message no faster than Binance's 5 incoming messages per second allow."""
    await asyncio.sleep(0.25)
    await ws.send_str(text)


def test_live_subscribe_list_property_unsubscribe(exchange):
    async def check() -> None:
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(exchange.stream_url + "ws") as ws:
                await ws.send_str('{"method":"SUBSCRIBE","params":["btcusdt@trade","btcusdt@depth@100ms"],"id":1}')
                assert await receive_json(ws) == {"result": None, "id": 1}
                frames = await collect(ws, lambda f: any(x.get("e") == "trade" for x in f))
                assert all("stream" not in x for x in frames)
                await send_paced(ws, '{"method":"LIST_SUBSCRIPTIONS","id":"list2"}')
                reply = (await collect(ws, lambda f: "id" in f[-1] if f else False))[-1]
                assert reply == {"result": ["btcusdt@trade", "btcusdt@depth@100ms"], "id": "list2"}
                await send_paced(ws, '{"method":"SET_PROPERTY","params":["combined",true],"id":3}')
                assert (await collect(ws, lambda f: "id" in f[-1] if f else False))[-1] == {"result": None, "id": 3}
                wrapped = await collect(ws, lambda f: len(f) >= 3)
                assert all(list(x) == ["stream", "data"] for x in wrapped)
                await send_paced(ws, '{"method":"GET_PROPERTY","params":["combined"],"id":4}')
                assert (await collect(ws, lambda f: "id" in f[-1] if f else False))[-1] == {"result": True, "id": 4}
                await send_paced(ws, '{"method":"UNSUBSCRIBE","params":["btcusdt@trade"],"id":5}')
                assert (await collect(ws, lambda f: "id" in f[-1] if f else False))[-1] == {"result": None, "id": 5}
                # Ten depth buckets later (a second of trades at this rate) no trade has come.
                after = await collect(ws, lambda f: sum(x.get("stream") == "btcusdt@depth@100ms" for x in f) >= 10)
                assert not [x for x in after if x.get("stream") == "btcusdt@trade"]
                await send_paced(ws, '{"method":"LIST_SUBSCRIPTIONS","id":6}')
                reply = (await collect(ws, lambda f: "id" in f[-1] if f else False))[-1]
                assert reply == {"result": ["btcusdt@depth@100ms"], "id": 6}

    run(check())


@pytest.mark.parametrize("text, code, fragment", [
    ("{not json", 3, "Invalid JSON"),
    ('{"method":"PUBLISH","params":[],"id":1}', 2, "unknown variant `PUBLISH`"),
    ('{"params":["btcusdt@trade"],"id":1}', 2, "missing field `method`"),
    ('{"method":"SUBSCRIBE","params":["btcusdt@trade"]}', 2, "request ID"),
    ('{"method":"SUBSCRIBE","params":["btcusdt@trade"],"id":true}', 2, "request ID"),
    ('{"method":"SUBSCRIBE","params":["btcusdt@candles"],"id":1}', 2, "invalid stream"),
    ('{"method":"SUBSCRIBE","params":["ethusdt@trade"],"id":1}', 2, "invalid stream"),
    ('{"method":"SUBSCRIBE","params":["BTCUSDT@trade"],"id":1}', 2, "invalid stream"),
    ('{"method":"SET_PROPERTY","params":["combined","yes"],"id":1}', 1, "expected Boolean"),
    ('{"method":"SET_PROPERTY","params":["colour",true],"id":1}', 0, "Unknown property"),
    ('{"method":"GET_PROPERTY","params":[7],"id":1}', 2, "property name must be a string"),
    ('{"method":"LIST_SUBSCRIPTIONS","params":["x"],"id":1}', 2, "too many parameters"),
])
def test_control_errors_use_binance_codes(exchange, text, code, fragment):
    async def check() -> dict:
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(exchange.stream_url + "ws") as ws:
                await ws.send_str(text)
                return await receive_json(ws)

    reply = run(check())
    assert list(reply) == ["error", "id"]
    assert reply["error"]["code"] == code and fragment in reply["error"]["msg"]


def test_stream_limit_per_connection(exchange):
    names = ALL_STREAMS + ["solusdt@trade", "solusdt@bookTicker"]  # 12 = this exchange's limit

    async def check() -> None:
        async with aiohttp.ClientSession() as session:
            url = exchange.stream_url + "stream?streams=" + "/".join(names + ["solusdt@ticker"])
            async with session.get(url) as response:  # one too many at the handshake
                assert response.status == 400 and (await response.json())["code"] == -1101
            async with session.ws_connect(exchange.stream_url + "stream?streams=" + "/".join(names)) as ws:
                await ws.send_str('{"method":"SUBSCRIBE","params":["solusdt@ticker"],"id":7}')
                reply = (await collect(ws, lambda f: "id" in f[-1] if f else False))[-1]
                assert reply["id"] == 7 and reply["error"]["code"] == 2 and "too many streams" in reply["error"]["msg"]
                await send_paced(ws, '{"method":"SUBSCRIBE","params":["btcusdt@trade"],"id":8}')  # already there
                assert (await collect(ws, lambda f: "id" in f[-1] if f else False))[-1] == {"result": None, "id": 8}

    run(check())
    assert ConnectionRules().max_streams == 1024


@pytest.mark.parametrize("path, code", [
    ("stream?streams=foousdt@trade", -1121),
    ("stream?streams=btcusdt@trade/btcusdt@klines", -1100),
    ("ws/btcusdt@depth7", -1100),
])
def test_bad_stream_names_are_refused_at_the_handshake(exchange, path, code):
    async def check() -> tuple[int, dict]:
        async with aiohttp.ClientSession() as session:
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await session.ws_connect(exchange.stream_url + path)
            async with session.get(exchange.stream_url + path) as response:
                return refused.value.status, await response.json()

    status, body = run(check())
    assert status == 400 and body["code"] == code


def test_five_messages_a_second_are_fine_more_disconnect(exchange):
    async def within_limit() -> list[dict]:
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(exchange.stream_url + "ws/btcusdt@depth@100ms") as ws:
                for i in range(5):
                    await ws.send_str(f'{{"method":"LIST_SUBSCRIPTIONS","id":{i}}}')
                replies = await collect(ws, lambda f: sum("id" in x for x in f) == 5)
                # still streaming afterwards
                await collect(ws, lambda f: len(f) >= 3)
                return [r for r in replies if "id" in r]

    async def over_limit() -> aiohttp.WSMessage:
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(exchange.stream_url + "ws") as ws:
                for i in range(7):
                    await ws.send_str(f'{{"method":"LIST_SUBSCRIPTIONS","id":{i}}}')
                return await wait_closed(ws)

    assert [r["id"] for r in run(within_limit())] == list(range(5))
    closing = run(over_limit())
    assert closing.type is aiohttp.WSMsgType.CLOSE and closing.data == 1008


def test_server_pings_and_drops_a_client_that_never_pongs(strict):
    async def check() -> tuple[bytes, aiohttp.WSMessage]:
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(strict.stream_url + "ws/solusdt@depth@100ms", autoping=False) as ws:
                while True:
                    msg = await ws.receive(timeout=10)
                    if msg.type is aiohttp.WSMsgType.PING:
                        ping = msg.data
                        break
                return ping, await wait_closed(ws)

    ping, closing = run(check())
    assert ping.isdigit()
    assert closing.type is aiohttp.WSMsgType.CLOSE and closing.data == 1008 and closing.extra == "Pong timeout"


def test_a_client_that_pongs_stays_and_client_pings_get_pongs(strict):
    async def check() -> None:
        async with aiohttp.ClientSession() as session:
            # autoping answers the server's pings; stay well past ping interval + pong timeout
            async with session.ws_connect(strict.stream_url + "ws/solusdt@depth@100ms", autoping=False) as ws:
                await ws.ping(b"hello")
                pongs = pings = frames = 0
                while pings < 5:
                    msg = await ws.receive(timeout=10)
                    if msg.type is aiohttp.WSMsgType.PING:
                        pings += 1
                        await ws.pong(msg.data)
                    elif msg.type is aiohttp.WSMsgType.PONG:
                        assert msg.data == b"hello"
                        pongs += 1
                    elif msg.type is aiohttp.WSMsgType.TEXT:
                        frames += 1
                    else:
                        raise AssertionError(f"unexpected {msg.type} {msg.data!r}")
                assert pongs == 1 and frames > 0

    run(check())


def test_connection_lifetime_ends_with_server_shutdown(strict):
    async def check(path: str) -> tuple[list[dict], aiohttp.WSMessage]:
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(strict.stream_url + path) as ws:
                frames = []
                while True:
                    msg = await ws.receive(timeout=20)
                    if msg.type is not aiohttp.WSMsgType.TEXT:
                        return frames, msg
                    frames.append(json.loads(msg.data))

    frames, closing = run(check("stream?streams=solusdt@depth@100ms"))
    shutdown = [f for f in frames if f["stream"] == "!serverShutdown"]
    assert len(shutdown) == 1 and list(shutdown[0]["data"]) == ["e", "E"]
    assert shutdown[0]["data"]["e"] == "serverShutdown" and isinstance(shutdown[0]["data"]["E"], int)
    assert closing.type is aiohttp.WSMsgType.CLOSE and closing.data == 1001
    frames, closing = run(check("ws/solusdt@depth@100ms"))
    assert [f for f in frames if f.get("e") == "serverShutdown"]
    assert closing.data == 1001


def test_plain_http_on_a_stream_path_is_refused(exchange):
    async def check() -> int:
        async with aiohttp.ClientSession() as session:
            async with session.get(exchange.base_url + "/stream?streams=btcusdt@trade") as response:
                return response.status

    assert run(check()) == 400
