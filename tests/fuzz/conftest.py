"""One real monitor for the HTTP and Socket.IO fuzzers: ``python -m app serve --source sim`` with every
strategy enabled (so accepted parameters reach running strategies) and a state dir (so every
accepted command is saved, as in production)."""
from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, settings

from strategies.registry import STRATEGIES
from tests.web import raw_http
from tests.web.live import LiveMonitor

SYMBOLS = ("BTCUSDT", "ETHUSDT")
JSON_HEADERS = {"Content-Type": "application/json"}


def fixtures_once(test):
    """A fuzz test whose fixtures are set up once for all its examples, on purpose (one live monitor,
    one check after the run), which hypothesis would otherwise call a mistake. Applied when the test
    module is imported, after --hypothesis-profile has chosen the other settings."""
    return settings(suppress_health_check=[*settings().suppress_health_check,
                                           HealthCheck.function_scoped_fixture])(test)


@pytest.fixture(scope="package")
def monitor(tmp_path_factory):
    state_dir = tmp_path_factory.mktemp("fuzz-state")
    extra = ("--strategies", ",".join(STRATEGIES), "--state-dir", str(state_dir))
    with LiveMonitor(",".join(SYMBOLS), extra=extra) as live:
        yield live


@pytest.fixture
def keeps_processing(monitor):
    """After the test the engine still processes market data (checked at teardown)."""
    before = message_counts(monitor)
    yield
    assert_still_processing(monitor, before)


def health(monitor) -> dict:
    """/health, waiting out any refusal (a rate limit, say) until the deadline."""
    answers = []
    monitor.wait_until(lambda: answers.append(monitor.get("/health")) or answers[-1][0] == 200,
                       "/health to answer 200", timeout_s=30)
    return answers[-1][1]


def message_counts(monitor) -> dict[str, int]:
    return {symbol: entry["msgs"] for symbol, entry in health(monitor)["symbols"].items()}


def assert_still_processing(monitor, before: dict[str, int]) -> None:
    """Streaming switched back on (a fuzzer may have stopped it), then every symbol's message count
    rises past ``before``, with no fault counted and /api/state answering."""
    monitor.wait_until(lambda: raw_http.request(monitor.url, "POST", "/api/stream/start",
                                                headers=JSON_HEADERS).status == 200, "streaming restarted", 30)
    deadline = time.monotonic() + 60
    while True:
        counts = message_counts(monitor)
        if all(counts[s] > before[s] for s in SYMBOLS):
            break
        assert time.monotonic() < deadline, f"message counts stuck at {counts} (before the run: {before})"
        time.sleep(0.1)  # polled over HTTP: there is no event to wait on across processes
    faults = health(monitor)["engine"]["faults"]
    assert faults["total"] == 0, faults
    status, state = monitor.get("/api/state")
    assert status == 200 and sorted(state["markets"]) == sorted(SYMBOLS)
