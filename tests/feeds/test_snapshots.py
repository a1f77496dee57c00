"""SnapshotFetcher against a real HTTP server on loopback that answers from a script."""
from __future__ import annotations

import asyncio
import random
import time

import aiohttp
import pytest
from aiohttp import web

from feeds.backoff import BackoffPolicy
from feeds.snapshots import SnapshotConfig, SnapshotFetcher, depth_weight, retry_after_s

BODY = '{"lastUpdateId":1027024,"bids":[["4.00000000","431.00000000"]],"asks":[["4.00000200","12.00000000"]]}'
DEADLINE_S = 20.0


class ScriptedDepth:
    """/api/v3/depth answering each request with the next scripted reply (then 200 BODY).

    A reply is (status, headers, body), "drop" (close the connection without answering) or
    "hang" (never answer)."""

    def __init__(self, script=()):
        self.script = list(script)
        self.requests: list[tuple[float, str, str]] = []  # (monotonic s, symbol, limit)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((time.monotonic(), request.query["symbol"], request.query["limit"]))
        reply = self.script.pop(0) if self.script else (200, {}, BODY)
        if reply == "drop":
            request.transport.close()
            await asyncio.sleep(1)
        if reply == "hang":
            await asyncio.sleep(3600)
        status, headers, body = reply
        return web.Response(status=status, headers=headers, text=body, content_type="application/json")


async def _serve(scripted: ScriptedDepth):
    app = web.Application()
    app.router.add_get("/api/v3/depth", scripted.handle)
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    return runner, f"http://127.0.0.1:{port}/api/v3/depth"


async def _until(predicate, deadline_s=DEADLINE_S):
    end = time.monotonic() + deadline_s
    while not predicate():
        assert time.monotonic() < end, "condition not reached before the deadline"
        await asyncio.sleep(0.01)


FAST_RETRY = SnapshotConfig(limit=100, retry=BackoffPolicy(initial_s=0.05, cap_s=0.2))


def _run(script, scenario, config=FAST_RETRY, clock_ns=time.time_ns):
    """Run ``scenario(fetcher, delivered, scripted)`` against a fresh server and fetcher."""

    async def main():
        scripted = ScriptedDepth(script)
        runner, url = await _serve(scripted)
        delivered = []
        async with aiohttp.ClientSession() as session:
            fetcher = SnapshotFetcher(session, url, delivered.append, config, clock_ns, random.Random(5))
            try:
                await scenario(fetcher, delivered, scripted)
            finally:
                await fetcher.close()
        await runner.cleanup()

    asyncio.run(main())


def test_delivers_the_raw_body_with_symbol_and_receive_time():
    async def scenario(fetcher, delivered, scripted):
        before = time.time_ns()
        assert fetcher.request("BTCUSDT")
        await _until(lambda: delivered)
        message = delivered[0]
        assert message.text == BODY and message.symbol == "BTCUSDT"
        assert before <= message.recv_ns <= time.time_ns()
        assert scripted.requests[0][1:] == ("BTCUSDT", "100")
        assert fetcher.pending == frozenset()

    _run([], scenario)


def test_duplicate_requests_are_coalesced_while_one_is_under_way():
    async def scenario(fetcher, delivered, scripted):
        assert fetcher.request("ETHUSDT")
        assert not fetcher.request("ETHUSDT")
        assert not fetcher.request("ETHUSDT")
        assert fetcher.request("BNBUSDT")  # another symbol is not a duplicate
        await _until(lambda: len(delivered) == 2)
        assert fetcher.counters.coalesced == 2
        assert sorted(symbol for _, symbol, _ in scripted.requests) == ["BNBUSDT", "ETHUSDT"]
        assert fetcher.request("ETHUSDT")  # done: a new request fetches again
        await _until(lambda: len(delivered) == 3)

    _run([], scenario)


def test_429_pauses_every_request_for_retry_after():
    async def scenario(fetcher, delivered, scripted):
        fetcher.request("BTCUSDT")
        await _until(lambda: fetcher.counters.rate_limited == 1)
        fetcher.request("ETHUSDT")  # must wait for the same pause
        await _until(lambda: len(delivered) == 2)
        first = scripted.requests[0][0]
        assert all(t - first >= 0.95 for t, _, _ in scripted.requests[1:])
        assert fetcher.counters.retries == 1

    _run([(429, {"Retry-After": "1"}, '{"code":-1003,"msg":"Too many requests"}')], scenario)


def test_418_ban_is_honoured_like_429():
    async def scenario(fetcher, delivered, scripted):
        fetcher.request("BTCUSDT")
        await _until(lambda: delivered)
        assert scripted.requests[1][0] - scripted.requests[0][0] >= 0.95
        assert fetcher.counters.rate_limited == 1

    _run([(418, {"Retry-After": "1"}, '{"code":-1003,"msg":"Way too many requests; IP banned"}')], scenario)


def test_server_errors_and_dropped_connections_are_retried_until_success():
    # aiohttp itself retries once when a reused keep-alive connection drops: drop twice.
    script = [(500, {}, "Internal error"), (503, {}, '{"code":-1008,"msg":"busy"}'), "drop", "drop",
              (502, {}, "bad gateway")]

    async def scenario(fetcher, delivered, scripted):
        fetcher.request("SOLUSDT")
        await _until(lambda: delivered)
        assert [m.text for m in delivered] == [BODY]
        assert len(scripted.requests) == 6
        assert fetcher.counters.server_errors == 3
        assert fetcher.counters.network_errors == 1
        assert fetcher.counters.retries == 4

    _run(script, scenario)


def test_retry_after_on_a_5xx_is_a_lower_bound_for_the_retry():
    async def scenario(fetcher, delivered, scripted):
        fetcher.request("SOLUSDT")
        await _until(lambda: delivered)
        assert scripted.requests[1][0] - scripted.requests[0][0] >= 0.95

    _run([(503, {"Retry-After": "1"}, "maintenance")], scenario)


def test_a_client_error_is_not_retried():
    async def scenario(fetcher, delivered, scripted):
        fetcher.request("NOPEUSDT")
        await _until(lambda: fetcher.counters.rejected == 1)
        await _until(lambda: not fetcher.pending)
        assert delivered == [] and len(scripted.requests) == 1

    _run([(400, {}, '{"code":-1121,"msg":"Invalid symbol."}')], scenario)


def test_weight_budget_pauses_until_the_next_minute():
    # A wall clock 59.7 s into a minute: the pause lasts ~0.35 s, to the next minute boundary.
    offset = 1_700_000_040_000_000_000 + 59_700_000_000 - time.monotonic_ns()

    def clock_ns():
        return time.monotonic_ns() + offset

    async def scenario(fetcher, delivered, scripted):
        fetcher.request("BTCUSDT")
        await _until(lambda: delivered)
        fetcher.request("ETHUSDT")
        await _until(lambda: len(delivered) == 2)
        assert fetcher.counters.weight_pauses == 1
        assert scripted.requests[1][0] - scripted.requests[0][0] >= 0.25

    used = str(5400 - depth_weight(100) + 1)  # one more request would pass 90 % of 6000
    _run([(200, {"X-MBX-USED-WEIGHT-1M": used}, BODY)], scenario, clock_ns=clock_ns)


def test_close_cancels_a_fetch_in_flight():
    async def scenario(fetcher, delivered, scripted):
        fetcher.request("BTCUSDT")
        await _until(lambda: scripted.requests)
        await fetcher.close()
        assert fetcher.pending == frozenset() and delivered == []
        assert not fetcher.request("BTCUSDT")  # closed: no new fetches

    _run(["hang"], scenario)


def test_depth_weight_and_retry_after_parsing():
    assert [depth_weight(n) for n in (5, 100, 101, 500, 1000, 5000)] == [5, 5, 25, 25, 50, 250]
    assert retry_after_s("2") == 2.0
    assert retry_after_s(None) is None
    assert retry_after_s("soon") is None
    assert retry_after_s("Wed, 21 Oct 2015 07:28:00 GMT", now_s=1445412478.0) == pytest.approx(2.0)


def test_bad_config_is_refused():
    with pytest.raises(ValueError):
        SnapshotConfig(limit=0)
    with pytest.raises(ValueError):
        SnapshotConfig(max_concurrent=0)
