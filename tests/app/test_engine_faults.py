"""Crash-only engine and truthful health: errors are skipped and counted, stalls and silence are degraded."""
from __future__ import annotations

import pytest

from app.engine import BACKLOG_DEGRADED, ENGINE_STALL_NS, FEED_SILENCE_NS
from app.feed_queue import FeedQueue
from app.web.wire import encode_json
from feeds.messages import ConnectionEvent, FeedMessage

from tests.app.test_engine import SYMBOLS, build_engine, recording, replay

BTC = SYMBOLS[0]


def boom(*_args, **_kwargs):
    raise RuntimeError("injected failure")


def _msgs(engine, symbol=BTC):
    return engine.health()["symbols"][symbol]["msgs"]


def test_a_strategy_that_raises_is_switched_off_and_market_data_goes_on():
    engine, clock = build_engine()
    messages = recording()
    replay(engine, clock, limit=400, messages=messages)
    session = engine.sessions[BTC]
    slot = session.slots[0]
    assert slot.enabled
    slot.strategy.on_book = boom
    before = _msgs(engine)
    replay(engine, clock, limit=400, messages=messages)
    assert _msgs(engine) > before
    assert not slot.enabled and slot.fault == "RuntimeError: injected failure"
    assert engine.sessions[SYMBOLS[1]].slots[0].enabled  # the other symbol's strategy goes on
    faults = engine.health()["engine"]["faults"]
    assert faults["by_place"] == {"strategy": 1}
    assert faults["last"]["symbol"] == BTC and faults["last"]["error"] == "RuntimeError: injected failure"
    entries = [a for a in engine.activity if a.kind == "strategy" and "error" in a.data]
    assert [a.message for a in entries] == ["market_maker stopped: error in on_book: RuntimeError: injected failure"]
    assert engine.publish()["strategies"][BTC]["strategies"][0]["error"] == "RuntimeError: injected failure"


def test_an_error_outside_strategy_code_skips_that_event_only(caplog):
    engine, clock = build_engine()
    messages = recording()
    replay(engine, clock, limit=400, messages=messages)
    engine.sessions[BTC].on_book = boom  # the session (risk, matcher, accounting) fails on every book event
    engine.sessions[BTC].on_timer = boom
    before = _msgs(engine)
    with caplog.at_level("ERROR", logger="app.engine"):
        replay(engine, clock, limit=400, messages=messages)
    assert _msgs(engine) > before and engine.ready()
    faults = engine.health()["engine"]["faults"]
    assert faults["by_place"]["book"] > 1 and faults["by_place"]["timer"] >= 1
    # the log has the traceback once per kind; the public feed a folded one-liner without it
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert len(tracebacks) == 2
    announced = [a for a in engine.activity if a.data.get("fault") == "book"]
    assert len(announced) == 1 and "Traceback" not in announced[0].message and "/" not in announced[0].message
    assert announced[0].message == "error in book (skipped, going on): RuntimeError: injected failure"


def test_a_snapshot_block_that_fails_keeps_the_last_good_one():
    engine, clock = build_engine()
    replay(engine, clock, limit=2000)
    good = engine.publish()
    engine.views[BTC] = Broken()
    snap = engine.publish()
    assert snap["seq"] == good["seq"] + 1
    assert snap["markets"][BTC] == good["markets"][BTC]  # the last good block for the failing symbol
    assert snap["markets"][SYMBOLS[1]]["symbol"] == SYMBOLS[1]
    assert engine.health()["engine"]["faults"]["by_place"] == {"snapshot": 1}
    encode_json(snap)


def test_bodies_orjson_refuses_are_repaired_not_lost():
    class Opaque:
        def __str__(self):
            return "opaque"

    assert encode_json({"a": 2**70, "b": [1, -(2**64)], "c": Opaque()}) == (
        b'{"a":"1180591620717411303424","b":[1,"-18446744073709551616"],"c":"opaque"}')


class Broken:
    """Stands in for any part of the engine: every attribute read fails."""

    def __getattr__(self, name):
        raise RuntimeError("injected failure")


class Ticker:
    def __init__(self, start: int = 10**12) -> None:
        self.now = start

    def __call__(self) -> int:
        return self.now


def test_a_stalled_engine_is_degraded_within_two_seconds_with_the_reason():
    engine, clock = build_engine()
    monotonic = Ticker()
    engine.monotonic_ns = monotonic
    engine.faults._monotonic_ns = monotonic
    replay(engine, clock)  # ticks: beats at the current monotonic time
    assert engine.health()["status"] == "ok" and engine.health()["reasons"] == []
    monotonic.now += ENGINE_STALL_NS + 1
    health = engine.health()
    assert health["status"] == "degraded" and not engine.ready()
    assert health["reasons"] == ["engine stalled: nothing processed for 1.5 s"]
    assert health["engine"]["last_beat_ms"] == pytest.approx(ENGINE_STALL_NS / 1e6, abs=0.1)
    engine.tick(clock.now)
    assert engine.health()["status"] == "ok"
    assert ENGINE_STALL_NS <= 2_000_000_000


def test_a_silent_feed_is_degraded_before_the_watchdog_reconnects():
    engine, clock = build_engine()
    replay(engine, clock)
    assert engine.health()["status"] == "ok"
    assert FEED_SILENCE_NS < 5_000_000_000  # the connection's silence limit
    clock.now += FEED_SILENCE_NS + 100_000_000
    engine.tick(clock.now)
    reasons = engine.health()["reasons"]
    assert len(reasons) == 2 and all("no market data for" in r for r in reasons)
    assert reasons[0].startswith(f"{BTC}: no market data for ")


def test_the_feed_queue_is_bounded_keeps_connection_events_and_reports_its_depth():
    queue = FeedQueue(limit=3)
    for i in range(5):
        queue.put_nowait(FeedMessage(i, "{}", None))
    queue.put_nowait(ConnectionEvent("disconnected", 9))
    assert queue.depth() == 4 and queue.dropped == 2
    engine, clock = build_engine()
    replay(engine, clock)
    big = FeedQueue(limit=BACKLOG_DEGRADED + 10)
    for i in range(BACKLOG_DEGRADED + 1):
        big.put_nowait(FeedMessage(i, "{}", None))
    engine.feed_queue = big
    health = engine.health()
    assert health["engine"]["queue_depth"] == BACKLOG_DEGRADED + 1
    assert health["reasons"] == [f"engine behind: {BACKLOG_DEGRADED + 1} frames waiting"]
    with pytest.raises(ValueError):
        FeedQueue(limit=0)


def test_bad_items_in_a_batch_are_skipped_and_the_rest_processed():
    engine, clock = build_engine()
    items = [FeedMessage(recv_ns, text, symbol) for recv_ns, text, symbol in list(recording())[:300]]
    clock.now = items[-1].recv_ns
    engine.handle_batch([object()] + items[:150] + [FeedMessage(None, None, None)] + items[150:])
    assert engine.health()["symbols"][BTC]["msgs"] + engine.health()["symbols"][SYMBOLS[1]]["msgs"] >= 290
    assert engine.faults.total <= 2


def test_the_processing_loop_is_restarted_with_every_book_resynced_when_it_dies():
    from app.config import MonitorConfig
    from app.runtime import Monitor

    engine, clock = build_engine()
    replay(engine, clock)
    assert engine.ready()
    monitor = Monitor(MonitorConfig(symbols=SYMBOLS))
    monitor.engine = engine
    runs = []

    def pump():
        runs.append(len(runs))
        if len(runs) == 1:
            raise OSError("No space left on device")  # e.g. the recorder's disk
        monitor._stopping = True

    monitor._pump = pump
    monitor._supervise_pump()
    assert runs == [0, 1] and engine.loop_restarts == 1
    assert not any(engine.market.synced(s) for s in SYMBOLS)  # frames of the failed batch may be lost: resync
    health = engine.health()
    assert health["engine"]["loop_restarts"] == 1 and health["engine"]["faults"]["by_place"] == {"loop": 1}
    replay(engine, clock)  # the books come back from the stream
    assert engine.ready()
