"""Every fault happens as asked: from the API, the admin endpoint, the command-line form, a schedule."""
from __future__ import annotations

import json
import time

import aiohttp
import pytest

from feeds.exchange import ExchangeConfig, ExchangeThread, FaultError, parse_fault_text
from tests.exchange.conftest import collect, receive_json, run, wait_closed

SYMBOLS = ("BTCUSDT", "ETHUSDT")


@pytest.fixture(scope="module")
def exchange():
    with ExchangeThread(ExchangeConfig(symbols=SYMBOLS, seed=51, rate=2.0)) as ex:
        yield ex


@pytest.fixture(autouse=True)
def no_leftovers(exchange):
    yield
    exchange.clear_faults()


async def connected(session: aiohttp.ClientSession, ex, path: str) -> aiohttp.ClientWebSocketResponse:
    """A stream connection that has already received data (so the server has registered it)."""
    ws = await session.ws_connect(ex.stream_url + path)
    await receive_json(ws)
    return ws


async def http_get(ex, path: str) -> tuple[int, dict, dict]:
    async with aiohttp.ClientSession() as session:
        async with session.get(ex.base_url + path) as response:
            return response.status, dict(response.headers), json.loads(await response.text())


def test_disconnect_clean_sends_a_close_frame(exchange):
    async def check() -> tuple[dict, aiohttp.WSMessage]:
        async with aiohttp.ClientSession() as session:
            ws = await connected(session, exchange, "ws/btcusdt@depth@100ms")
            result = exchange.fault("disconnect", mode="clean")
            return result, await wait_closed(ws)

    result, closing = run(check())
    assert result["connections"] >= 1
    assert closing.type is aiohttp.WSMsgType.CLOSE and closing.data == 1000


def test_disconnect_abrupt_drops_tcp_without_close_frame(exchange):
    async def check() -> tuple[aiohttp.WSMessage, int | None]:
        async with aiohttp.ClientSession() as session:
            ws = await connected(session, exchange, "ws/btcusdt@trade")
            exchange.fault("disconnect", mode="abrupt")
            closing = await wait_closed(ws)
            return closing, ws.close_code

    closing, code = run(check())
    assert closing.type is not aiohttp.WSMsgType.CLOSE  # no close frame ever arrived
    assert code in (None, 1006)


def test_disconnect_shutdown_announces_then_closes(exchange):
    async def check() -> tuple[list[dict], aiohttp.WSMessage]:
        async with aiohttp.ClientSession() as session:
            ws = await connected(session, exchange, "stream?streams=ethusdt@depth@100ms")
            exchange.fault("disconnect", mode="shutdown")
            frames = []
            while True:
                msg = await ws.receive(timeout=20)
                if msg.type is not aiohttp.WSMsgType.TEXT:
                    return frames, msg
                frames.append(json.loads(msg.data))

    frames, closing = run(check())
    assert [f for f in frames if f["stream"] == "!serverShutdown" and f["data"]["e"] == "serverShutdown"]
    assert closing.type is aiohttp.WSMsgType.CLOSE and closing.data == 1001


def test_gap_skips_update_ids_of_that_symbol_only(exchange):
    async def check() -> list[dict]:
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(exchange.stream_url + "stream?streams=btcusdt@depth@100ms/ethusdt@depth@100ms")
            before = await collect(ws, lambda f: sum(x["stream"] == "btcusdt@depth@100ms" for x in f) >= 3)
            exchange.fault("gap", symbol="BTCUSDT", count=2)
            after = await collect(ws, lambda f: sum(x["stream"] == "btcusdt@depth@100ms" for x in f) >= 12)
            return before + after

    frames = run(check())
    for stream, expected_jumps in (("btcusdt@depth@100ms", 1), ("ethusdt@depth@100ms", 0)):
        diffs = [f["data"] for f in frames if f["stream"] == stream]
        jumps = [(a["u"], b["U"]) for a, b in zip(diffs, diffs[1:]) if b["U"] != a["u"] + 1]
        assert len(jumps) == expected_jumps, (stream, jumps)
        assert all(u < next_first for u, next_first in jumps)
    assert exchange.fault_status()["counters"]["gaps"] >= 2


@pytest.mark.parametrize("form", ["truncated", "garbage", "schema", "binary"])
def test_malformed_frames_arrive_and_streaming_goes_on(exchange, form):
    async def check() -> tuple[list[aiohttp.WSMessage], list[dict]]:
        async with aiohttp.ClientSession() as session:
            ws = await connected(session, exchange, "stream?streams=btcusdt@depth@100ms")
            exchange.fault("malformed", form=form, count=2)
            bad: list[aiohttp.WSMessage] = []
            good: list[dict] = []
            while len(bad) < 2 or len(good) < 3:
                msg = await ws.receive(timeout=20)
                if msg.type is aiohttp.WSMsgType.BINARY:
                    bad.append(msg)
                    continue
                assert msg.type is aiohttp.WSMsgType.TEXT
                try:
                    frame = json.loads(msg.data)
                except ValueError:
                    bad.append(msg)
                    continue
                if not isinstance(frame["data"].get("U"), int):
                    bad.append(msg)
                else:
                    good.append(frame)
            return bad, good

    bad, good = run(check())
    assert len(bad) == 2
    if form == "binary":
        assert all(m.type is aiohttp.WSMsgType.BINARY for m in bad)
    if form == "schema":
        assert all(json.loads(m.data)["data"]["e"] == "depthUpdate" for m in bad)
    assert all(f["stream"] == "btcusdt@depth@100ms" for f in good)


def test_silence_drops_data_but_answers_pings(exchange):
    async def check() -> tuple[float, list[dict], bytes]:
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(exchange.stream_url + "ws/btcusdt@depth@100ms", autoping=False)
            before = [await receive_json(ws)]
            exchange.fault("silence", seconds=1.5)
            started = time.monotonic()
            # frames already on their way may still arrive; the first after a pause of >= 1 s
            # is the first after the silence
            await ws.ping(b"still there?")
            pong = b""
            last = time.monotonic()
            while True:
                msg = await ws.receive(timeout=20)
                now = time.monotonic()
                if msg.type is aiohttp.WSMsgType.PONG:
                    pong = msg.data
                    continue
                assert msg.type is aiohttp.WSMsgType.TEXT
                before.append(json.loads(msg.data))
                if now - last >= 1.0:
                    return now - started, before, pong
                last = now

    quiet_for, frames, pong = run(check())
    assert quiet_for >= 1.4
    assert pong == b"still there?"
    # what was produced during the silence was lost: the next diff does not follow on
    assert frames[-1]["U"] > frames[-2]["u"] + 1


def test_rest_errors_then_recovery(exchange):
    exchange.fault("rest_error", count=2, status=500)
    exchange.fault("rest_error", count=1, status=503)
    answers = [run(http_get(exchange, "/api/v3/ping")) for _ in range(4)]
    assert [a[0] for a in answers] == [500, 500, 503, 200]
    assert answers[0][2]["code"] == -1001 and answers[2][2]["code"] == -1008
    assert all("X-MBX-USED-WEIGHT-1M" in a[1] for a in answers)


def test_rate_limit_fault_gives_429_with_retry_after(exchange):
    exchange.fault("rate_limit", count=2, retry_after=7)
    answers = [run(http_get(exchange, "/api/v3/depth?symbol=BTCUSDT&limit=5")) for _ in range(3)]
    assert [a[0] for a in answers] == [429, 429, 200]
    assert answers[0][1]["Retry-After"] == "7" and answers[0][2]["code"] == -1003


def test_slow_delays_rest_and_stream_frames(exchange):
    exchange.fault("slow", rest_ms=300, ws_ms=400)
    started = time.monotonic()
    status, _, _ = run(http_get(exchange, "/api/v3/time"))
    assert status == 200 and time.monotonic() - started >= 0.3

    async def lag() -> float:
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(exchange.stream_url + "ws/btcusdt@trade")
            frames = []
            while len(frames) < 5:
                msg = await ws.receive(timeout=20)
                frames.append((time.time() * 1000, json.loads(msg.data)["E"]))
            return min(received - event_ms for received, event_ms in frames)

    assert run(lag()) >= 350  # E is the virtual event time, which keeps step with the wall clock
    exchange.clear_faults()
    assert exchange.fault_status()["pending"]["rest_delay_ms"] == 0


def test_admin_endpoint(exchange):
    async def check() -> None:
        async with aiohttp.ClientSession() as session:
            url = exchange.base_url + "/admin/faults"
            body = [{"kind": "rest_error", "count": 1, "status": 502}, {"kind": "gap", "symbol": "ethusdt"}]
            async with session.post(url, json=body) as response:
                assert response.status == 200
                applied = (await response.json())["applied"]
                assert [a["kind"] for a in applied] == ["rest_error", "gap"] and applied[1]["symbol"] == "ETHUSDT"
            async with session.get(exchange.base_url + "/api/v3/ping") as response:
                assert response.status == 502
            async with session.get(url) as response:
                state = await response.json()
                assert state["pending"]["gaps"].get("ETHUSDT@100ms") in (0, 1, None)
                assert [entry["kind"] for entry in state["log"]][-2:] == ["rest_error", "gap"]
            for bad in ({"kind": "explode"}, {"kind": "gap", "symbol": "XRPUSDT"}, {"kind": "gap", "size": 3},
                        {"kind": "silence", "seconds": "long"}, {"kind": "disconnect", "mode": "politely"}, [1]):
                async with session.post(url, json=bad) as response:
                    assert response.status == 400 and (await response.json())["error"]
            async with session.post(url, data="{nope") as response:
                assert response.status == 400
            async with session.delete(url) as response:
                assert (await response.json()) == {"cleared": True}
            async with session.get(exchange.base_url + "/admin/book?symbol=BTCUSDT&depth=3") as response:
                book = await response.json()
                assert len(book["bids"]) == 3 and isinstance(book["update_id"], int)
            async with session.get(exchange.base_url + f"/admin/book?symbol=BTCUSDT&update_id={book['update_id']}") as r:
                at = await r.json()
                assert at["update_id"] == book["update_id"] and at["bids"][:3] == book["bids"]
            async with session.get(exchange.base_url + "/admin/book?symbol=BTCUSDT&update_id=5") as response:
                assert response.status == 404
            async with session.get(exchange.base_url + "/admin/status") as response:
                status = await response.json()
                assert status["symbols"] == list(SYMBOLS) and status["seed"] == 51

    run(check())


def test_scheduled_and_repeating_faults(exchange):
    async def check() -> aiohttp.WSMessage:
        async with aiohttp.ClientSession() as session:
            ws = await connected(session, exchange, "ws/btcusdt@depth@100ms")
            result = exchange.fault("disconnect", at=0.3)
            assert result["scheduled"] is True
            return await wait_closed(ws)

    assert run(check()).data == 1000
    before = exchange.fault_status()["counters"]["rest_failures"]
    exchange.fault("rest_error", every=0.2)
    deadline = time.monotonic() + 30
    while exchange.fault_status()["counters"]["rest_failures"] < before + 2:
        assert run(http_get(exchange, "/api/v3/ping"))[0] in (200, 500)
        assert time.monotonic() < deadline
    exchange.clear_faults()  # stops the repetition
    assert exchange.fault_status()["pending"]["rest_failures"] == []


def test_faults_given_at_startup():
    spec = parse_fault_text("rest_error:count=1,status=500", {"BTCUSDT"})
    with ExchangeThread(ExchangeConfig(symbols=("BTCUSDT",), seed=3, faults=(spec,))) as ex:
        assert [run(http_get(ex, "/api/v3/ping"))[0] for _ in range(2)] == [500, 200]


def test_command_line_fault_form():
    spec = parse_fault_text("gap:symbol=btcusdt,count=3,at=10,every=5", {"BTCUSDT"})
    assert (spec.kind, spec.params, spec.at, spec.every) == ("gap", {"symbol": "BTCUSDT", "count": 3}, 10.0, 5.0)
    assert parse_fault_text("disconnect", set()).params == {"mode": "clean"}
    assert parse_fault_text("slow:rest_ms=250", set()).params == {"rest_ms": 250.0}
    for text in ("bogus", "gap:count", "gap:count=x", "gap:count=0", "rest_error:status=200", "silence:seconds=-1",
                 "malformed:form=weird", "gap:symbol=ETHUSDT"):
        with pytest.raises(FaultError):
            parse_fault_text(text, {"BTCUSDT"})
