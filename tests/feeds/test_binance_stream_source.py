"""probe_binance: the quick reachability check behind `serve --source auto` / `record --source auto`.

Binance itself is unreachable from the test machines, so only the failure paths are tested
against it; the success path runs against the embedded (Binance-compatible) exchange.
"""
from __future__ import annotations

import gc
import socket
import warnings

import pytest

from feeds.aio_thread import AsyncioThread
from feeds.exchange.config import ExchangeConfig
from feeds.exchange.runner import ExchangeThread
from feeds.exchange_info import instruments_from_body
from feeds.source_probe import BINANCE_API_URL, BINANCE_STREAM_URL, probe_binance
from tests.feeds.stream_scripts import free_port

TIMEOUT_S = 2.0


@pytest.fixture(scope="module")
def runner():
    thread = AsyncioThread(name="probe").start()
    yield thread
    thread.stop()


def probe(runner, symbols, api_url, stream_url, timeout_s=TIMEOUT_S):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = runner.run(probe_binance(symbols, api_url, stream_url, timeout_s), timeout_s + 30)
        gc.collect()
    leaks = [str(w.message) for w in caught if not issubclass(w.category, DeprecationWarning)]
    assert leaks == []  # no unclosed sessions or sockets, whatever failed
    return result


def test_real_binance_unreachable_is_reported_fast(runner):
    result = probe(runner, ["BTCUSDT"], BINANCE_API_URL, BINANCE_STREAM_URL)
    assert not result.reachable and result.exchange_info is None
    assert result.detail.startswith(("Binance unreachable", "Binance did not answer"))
    assert result.elapsed_s < TIMEOUT_S + 1.0


def test_refused_connection_is_unreachable(runner):
    port = free_port()
    result = probe(runner, ["BTCUSDT"], f"http://127.0.0.1:{port}/api", f"ws://127.0.0.1:{port}/")
    assert not result.reachable and "Binance unreachable" in result.detail


def test_a_server_that_never_answers_times_out(runner):
    with socket.socket() as blackhole:  # listens but never accepts: connects hang in the backlog
        blackhole.bind(("127.0.0.1", 0))
        blackhole.listen(16)
        port = blackhole.getsockname()[1]
        result = probe(runner, ["BTCUSDT"], f"http://127.0.0.1:{port}/api", f"ws://127.0.0.1:{port}/",
                       timeout_s=1.0)
    assert not result.reachable
    assert result.detail == "Binance did not answer within 1 s"
    assert result.elapsed_s >= 1.0


def test_a_binance_compatible_server_is_reachable_and_its_exchange_info_usable():
    with ExchangeThread(ExchangeConfig(symbols=("BTCUSDT", "ETHUSDT"), seed=1)) as exchange:
        runner = AsyncioThread(name="probe-ok").start()
        try:
            result = probe(runner, ["BTCUSDT", "ETHUSDT"], exchange.base_api_url, exchange.stream_url)
            unknown = probe(runner, ["BTCUSDT", "ZZZZUSDT"], exchange.base_api_url, exchange.stream_url)
        finally:
            runner.stop()
    assert result.reachable, result.detail
    instruments = instruments_from_body(result.exchange_info, ["BTCUSDT", "ETHUSDT"], "probe")
    assert sorted(instruments) == ["BTCUSDT", "ETHUSDT"]
    assert not unknown.reachable and "Invalid symbol" in unknown.detail
