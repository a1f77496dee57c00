"""Test support (not collected): each injected fault, how it must be detected and counted, and the
recovery to an exact book — shared by test_faults.py and benchmarks/bench_feed_recovery.py.

A scenario runs on a ``LiveMarket`` whose books are synced and exact, injects its faults through
the exchange's admin endpoint, waits (deadline poll) until the pipeline and the feed have noticed
and counted the fault, then until every affected book is synced again, and checks it equals the
exchange's own book at the same update id. It returns the times from injection (or from the end
of the fault, for silence) to detection and to the exact book.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from tests.feeds.live_market import LiveMarket, Mark

SILENCE_S = 3.0


@dataclass(frozen=True)
class Recovery:
    name: str
    detected_s: float  # injection -> fault noticed and counted
    exact_s: float  # injection -> every affected book synced again and exact
    fault_s: float  # how long the fault itself lasted (silence), 0 otherwise

    @property
    def after_fault_s(self) -> float:
        return self.exact_s - self.fault_s


@dataclass(frozen=True)
class Scenario:
    name: str
    faults: tuple[dict, ...]
    affected: tuple[str, ...]  # symbols whose books must resync; () = none (book stays synced)
    detected: Callable[[LiveMarket, Mark, dict], bool]
    check: Callable[[LiveMarket, Mark, dict], None]
    fault_s: float = 0.0


def _before(live: LiveMarket) -> dict:
    feed = live.feed.stats()
    return {
        "reconnects": {s: live.counter("reconnects", s) for s in live.market.symbols},
        "resyncs": {s: live.counter("resyncs", s) for s in live.market.symbols},
        "gaps": {s: live.counter("gaps", s) for s in live.market.symbols},
        "malformed": live.malformed_total(),
        "server_shutdowns": live.market.server_shutdowns,
        "feed": feed,
    }


def _disconnected_with(prefix: str):
    def detected(live: LiveMarket, mark: Mark, before: dict) -> bool:
        return any(e.detail.startswith(prefix) for e in live.events_since(mark, "disconnected")) and \
            bool(live.events_since(mark, "connected"))
    return detected


def _reconnected_and_resynced(live: LiveMarket, mark: Mark, before: dict) -> None:
    for symbol in live.market.symbols:
        assert live.counter("reconnects", symbol) == before["reconnects"][symbol] + 1
        assert live.counter("resyncs", symbol) >= before["resyncs"][symbol] + 1
    assert live.feed.stats().reconnects == before["feed"].reconnects + 1


def _gap_detected(symbol: str):
    def detected(live: LiveMarket, mark: Mark, before: dict) -> bool:
        return live.counter("gaps", symbol) > before["gaps"][symbol]
    return detected


def _only_gap_resynced(symbol: str):
    def check(live: LiveMarket, mark: Mark, before: dict) -> None:
        assert live.counter("gaps", symbol) == before["gaps"][symbol] + 1
        assert live.counter("resyncs", symbol) == before["resyncs"][symbol] + 1
        for other in live.market.symbols:
            if other != symbol:  # its diffs kept flowing: untouched
                assert live.counter("resyncs", other) == before["resyncs"][other]
                assert live.counter("gaps", other) == before["gaps"][other]
        assert not live.events_since(mark, "disconnected")
    return check


def _malformed_seen(count: int):
    def detected(live: LiveMarket, mark: Mark, before: dict) -> bool:
        return live.malformed_total() >= before["malformed"] + count
    return detected


def _malformed_check(resyncs: bool):
    def check(live: LiveMarket, mark: Mark, before: dict) -> None:
        assert not live.events_since(mark, "disconnected")  # garbage never kills the connection
        if not resyncs:
            for symbol in live.market.symbols:
                assert live.counter("resyncs", symbol) == before["resyncs"][symbol]
    return check


def _silence_detected(live: LiveMarket, mark: Mark, before: dict) -> bool:
    return any(e.detail.startswith("silence") for e in live.events_since(mark, "disconnected"))


def _silence_check(live: LiveMarket, mark: Mark, before: dict) -> None:
    assert live.feed.stats().silences > before["feed"].silences
    for symbol in live.market.symbols:
        assert live.counter("reconnects", symbol) > before["reconnects"][symbol]


def _rate_limited(live: LiveMarket, mark: Mark, before: dict) -> bool:
    return live.feed.stats().snapshot_rate_limited > before["feed"].snapshot_rate_limited


def _rate_limit_check(live: LiveMarket, mark: Mark, before: dict) -> None:
    _only_gap_resynced("BTCUSDT")(live, mark, before)
    assert live.feed.stats().snapshot_rate_limited == before["feed"].snapshot_rate_limited + 1


def _server_errors(live: LiveMarket, mark: Mark, before: dict) -> bool:
    return live.feed.stats().snapshot_server_errors >= before["feed"].snapshot_server_errors + 2


def _server_error_check(live: LiveMarket, mark: Mark, before: dict) -> None:
    _reconnected_and_resynced(live, mark, before)
    assert live.feed.stats().snapshot_server_errors == before["feed"].snapshot_server_errors + 2


BOTH = ("BTCUSDT", "ETHUSDT")

SCENARIOS = [
    Scenario("disconnect clean", ({"kind": "disconnect", "mode": "clean"},), BOTH,
             _disconnected_with("ConnectionClosedOK"), _reconnected_and_resynced),
    Scenario("disconnect abrupt", ({"kind": "disconnect", "mode": "abrupt"},), BOTH,
             _disconnected_with("ConnectionClosedError"), _reconnected_and_resynced),
    Scenario("serverShutdown", ({"kind": "disconnect", "mode": "shutdown"},), BOTH,
             _disconnected_with("serverShutdown"),
             lambda live, mark, before: (
                 _reconnected_and_resynced(live, mark, before),
                 _assert(live.market.server_shutdowns == before["server_shutdowns"] + 1),
                 _assert(live.feed.stats().server_shutdowns == before["feed"].server_shutdowns + 1))),
    Scenario("gap", ({"kind": "gap", "symbol": "BTCUSDT"},), ("BTCUSDT",),
             _gap_detected("BTCUSDT"), _only_gap_resynced("BTCUSDT")),
    # Cut JSON names no symbol the parser can trust: counted, dropped, the book stays exact (the
    # injected frame carried no real update: a lost real diff would show as a gap instead).
    Scenario("malformed truncated", ({"kind": "malformed", "form": "truncated"},), (),
             _malformed_seen(1), _malformed_check(resyncs=False)),
    # A depth frame with a broken schema might have carried levels: that book resyncs.
    Scenario("malformed schema", ({"kind": "malformed", "form": "schema"},), ("BTCUSDT",),
             _malformed_seen(1), _malformed_check(resyncs=True)),
    Scenario("malformed garbage", ({"kind": "malformed", "form": "garbage", "count": 3},), (),
             _malformed_seen(3), _malformed_check(resyncs=False)),
    Scenario("malformed binary", ({"kind": "malformed", "form": "binary"},), (),
             _malformed_seen(1), _malformed_check(resyncs=False)),
    Scenario("silence", ({"kind": "silence", "seconds": SILENCE_S},), BOTH,
             _silence_detected, _silence_check, fault_s=SILENCE_S),
    Scenario("REST 429 during resync", ({"kind": "rate_limit", "count": 1, "retry_after": 1},
                                        {"kind": "gap", "symbol": "BTCUSDT"}), ("BTCUSDT",),
             _rate_limited, _rate_limit_check),
    Scenario("REST 500 during resync", ({"kind": "rest_error", "count": 2, "status": 500},
                                        {"kind": "disconnect", "mode": "abrupt"}), BOTH,
             _server_errors, _server_error_check),
]


def _assert(condition: bool) -> None:
    assert condition


def run_scenario(live: LiveMarket, scenario: Scenario) -> Recovery:
    """Inject, await detection, await exact books; returns the measured times."""
    live.until(live.all_synced, what="books synced before the fault")
    live.assert_exact()
    before = _before(live)
    mark = live.fault(*scenario.faults)
    detected = live.until(lambda: scenario.detected(live, mark, before), what=f"{scenario.name} detected")
    if scenario.affected:
        recovered = live.until(lambda: all(live.synced_since(mark, s) for s in scenario.affected),
                               what=f"{scenario.name}: books synced again")
    else:
        recovered = detected
        assert live.all_synced()
    live.assert_exact()
    scenario.check(live, mark, before)
    return Recovery(scenario.name, detected - mark.t0, recovered - mark.t0, scenario.fault_s)
