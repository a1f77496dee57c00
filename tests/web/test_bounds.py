"""Every store of the running app that the market or the clients can grow, driven past its bound.

(The feed queue and the metric label sets have their own tests.)"""
from __future__ import annotations

from app.market_view import MAX_TRADES_PER_PUSH
from app.snapshot import MAX_ACTIVITY_PER_PUSH
from strategies.activity import ACTIVITY_KEPT


def test_the_engine_keeps_the_newest_activity(engine):
    for i in range(ACTIVITY_KEPT + 250):
        engine._log(i, "", "system", f"entry {i}")
    assert len(engine.activity) == ACTIVITY_KEPT
    assert list(engine.activity)[-1].message == f"entry {ACTIVITY_KEPT + 249}"


def test_a_push_carries_at_most_its_bounds_of_trades_and_activity(engine, feeder):
    feeder.sync("BTCUSDT")
    engine.publish()
    for i in range(MAX_TRADES_PER_PUSH + 80):
        feeder.trade("BTCUSDT", "100.01", f"{0.001 * (i + 1):.5f}")
    for i in range(MAX_ACTIVITY_PER_PUSH + 300):
        engine._log(i, "", "system", f"entry {i}")
    snapshot = engine.publish()
    trades = snapshot["markets"]["BTCUSDT"]["trades"]
    assert len(trades) == MAX_TRADES_PER_PUSH and trades[-1]["qty"] == 0.18  # the newest
    assert len(snapshot["activity"]) == MAX_ACTIVITY_PER_PUSH
    assert snapshot["activity"][-1]["message"] == f"entry {MAX_ACTIVITY_PER_PUSH + 299}"
    following = engine.publish()
    assert following["markets"]["BTCUSDT"]["trades"] == [] and following["activity"] == []


def test_clients_that_leave_leave_nothing_behind(app, sio, engine):
    audience = app.extensions["monitor"].audience
    for round_ in range(3):
        clients = [sio() for _ in range(20)]
        for i, client in enumerate(clients):
            client.emit("subscribe", {"symbols": [["BTCUSDT"], ["ETHUSDT"], []][i % 3]}, callback=True)
        assert len(audience) == 20 and len(audience.rooms()) == 3
        for client in clients:
            client.disconnect()
        assert len(audience) == 0 and not audience._members and engine.clients == 0
