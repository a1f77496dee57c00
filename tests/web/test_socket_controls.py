"""Socket.IO handlers and the broadcaster against the real engine (Flask-SocketIO test client).

The push loop is driven tick by tick (``push_once``) so each assertion sees exactly one push."""
from __future__ import annotations

import pytest

from tests.web.conftest import SYMBOLS
from tests.web.schema import schema_problems


def events(client, name):
    return [e["args"][0] for e in client.get_received() if e["name"] == name]


def test_connect_sends_status_and_latest_snapshot_and_counts_clients(sio, engine, feeder, http):
    feeder.sync("BTCUSDT")
    first = sio()
    received = first.get_received()
    names = [e["name"] for e in received]
    assert names[:2] == ["status", "snapshot"]
    status = received[0]["args"][0]
    assert status["source"] == "sim" and status["streaming"] is True and status["symbols"] == list(SYMBOLS)
    assert schema_problems(received[1]["args"][0], list(SYMBOLS)) == []
    assert engine.clients == 1
    second = sio()
    assert engine.clients == 2
    assert http.get("/health").get_json()["clients"] == 2
    second.disconnect()
    assert engine.clients == 1


def test_push_reaches_every_client_with_the_full_schema(sio, feeder, broadcaster):
    for symbol in SYMBOLS:
        feeder.sync(symbol)
    clients = [sio() for _ in range(3)]
    for client in clients:
        client.get_received()
    feeder.trade("BTCUSDT", "100.01", "0.5")
    assert broadcaster.push_once() == 3
    snaps = [events(c, "snapshot") for c in clients]
    assert all(len(s) == 1 for s in snaps)
    snap = snaps[0][0]
    assert snaps[1][0] == snap == snaps[2][0], "one encoding, same frame for every member"
    assert schema_problems(snap, list(SYMBOLS)) == []
    assert [t["price"] for t in snap["markets"]["BTCUSDT"]["trades"]] == [100.01]
    assert snap["markets"]["BTCUSDT"]["bid"] == 100.0
    # Deltas are consumed by the push: the next one carries no repeated trade.
    assert broadcaster.push_once() == 3
    assert events(clients[0], "snapshot")[0]["markets"]["BTCUSDT"]["trades"] == []


def test_seq_increases_and_ts_is_push_time(sio, broadcaster):
    import time

    client = sio()
    client.get_received()
    before = time.time() * 1000
    broadcaster.push_once()
    broadcaster.push_once()
    after = time.time() * 1000
    first, second = events(client, "snapshot")
    assert second["seq"] == first["seq"] + 1
    assert before - 1 <= first["ts"] <= after + 1


def test_subscribe_moves_a_client_to_its_symbol_room(sio, feeder, broadcaster):
    for symbol in SYMBOLS:
        feeder.sync(symbol)
    narrow, wide = sio(), sio()
    ack = narrow.emit("subscribe", {"symbols": ["ethusdt"]}, callback=True)
    assert ack == {"ok": True, "symbols": ["ETHUSDT"]}
    resent = events(narrow, "snapshot")
    assert resent and list(resent[-1]["markets"]) == ["ETHUSDT"], "subscribing resends the latest view"
    wide.get_received()
    broadcaster.push_once()
    narrow_snap = events(narrow, "snapshot")[0]
    wide_snap = events(wide, "snapshot")[0]
    assert list(narrow_snap["markets"]) == ["ETHUSDT"] and list(narrow_snap["strategies"]) == ["ETHUSDT"]
    assert schema_problems(narrow_snap, ["ETHUSDT"]) == []
    assert sorted(wide_snap["markets"]) == sorted(SYMBOLS)
    assert narrow_snap["seq"] == wide_snap["seq"]
    # Back to everything: an empty list (or every symbol) means all.
    assert narrow.emit("subscribe", {"symbols": []}, callback=True)["ok"] is True
    narrow.get_received()
    broadcaster.push_once()
    assert sorted(events(narrow, "snapshot")[0]["markets"]) == sorted(SYMBOLS)


@pytest.mark.parametrize("payload, fragment", [
    ({"symbols": ["DOGEUSDT"]}, "unknown symbol(s) DOGEUSDT"),
    ({"symbols": "BTCUSDT"}, "subscribe needs"),
    (None, "subscribe needs"),
    ([1, 2], "subscribe needs"),
    ({"symbols": ["X" * 300]}, "strings of at most 256 characters"),
    ({"symbols": ["BTCUSDT"] * 65}, "at most 64 items"),
    ({"symbols": [{"a": 1}]}, "symbols must be strings"),
])
def test_subscribe_rejects_bad_payloads(sio, payload, fragment):
    client = sio()
    ack = client.emit("subscribe", payload, callback=True)
    assert ack["ok"] is False and fragment in ack["error"] and len(ack["error"]) < 200


def test_stream_stop_pushes_one_final_snapshot_then_nothing_until_start(sio, engine, broadcaster):
    client = sio()
    broadcaster.push_once()
    client.get_received()
    ack = client.emit("stream", {"action": "stop"}, callback=True)
    assert ack["ok"] is True and ack["streaming"] is False
    assert engine.streaming is False
    broadcaster.push_once()
    received = client.get_received()
    assert [e["name"] for e in received] == ["status", "snapshot"]
    assert received[0]["args"][0]["streaming"] is False
    final = received[1]["args"][0]
    assert final["streaming"] is False
    assert any(a["message"] == "streaming stopped" for a in final["activity"])
    for _ in range(3):
        assert broadcaster.push_once() == 0
    assert client.get_received() == []
    assert client.emit("stream", {"action": "start"}, callback=True) == {"ok": True, "streaming": True}
    broadcaster.push_once()
    received = client.get_received()
    assert [e["name"] for e in received] == ["status", "snapshot"]
    assert received[1]["args"][0]["streaming"] is True


def test_strategy_and_risk_commands_reach_the_engine(sio, engine, feeder, broadcaster):
    feeder.sync("BTCUSDT")
    client = sio()
    ack = client.emit("strategy", {"symbol": "BTCUSDT", "name": "market_maker", "enabled": False}, callback=True)
    assert ack["ok"] is True
    ack = client.emit("risk", {"symbol": "BTCUSDT", "action": "pause"}, callback=True)
    assert ack == {"ok": True, "symbol": "BTCUSDT", "state": "HALTED"}
    ack = client.emit("risk", {"symbol": "BTCUSDT", "action": "limits", "limits": {"max_open_orders": 7}},
                      callback=True)
    assert ack["ok"] is True
    client.get_received()
    broadcaster.push_once()
    snap = events(client, "snapshot")[0]
    block = snap["strategies"]["BTCUSDT"]
    assert block["risk"]["state"] == "HALTED"
    assert block["risk"]["limits"]["max_open_orders"] == 7
    assert [s["enabled"] for s in block["strategies"] if s["name"] == "market_maker"] == [False]
    kinds = {(a["kind"], a["symbol"]) for a in snap["activity"]}
    assert ("strategy", "BTCUSDT") in kinds
    assert client.emit("risk", {"symbol": "BTCUSDT", "action": "resume"}, callback=True)["state"] == "ACTIVE"


@pytest.mark.parametrize("event, payload, fragment", [
    ("stream", {"action": "pause"}, "stream needs"),
    ("stream", "start", "stream needs"),
    ("strategy", {"symbol": "BTCUSDT"}, "strategy needs"),
    ("strategy", {"symbol": "BTCUSDT", "name": "nope", "enabled": True}, "unknown strategy"),
    ("strategy", {"symbol": "BTCUSDT", "name": "market_maker", "params": 3}, "params must be an object"),
    ("strategy", {"symbol": "XXXUSDT", "name": "market_maker", "enabled": True}, "unknown symbol"),
    ("risk", {"symbol": "BTCUSDT", "action": "explode"}, "risk needs"),
    ("risk", {"symbol": "BTCUSDT", "action": "limits", "limits": [1]}, "limits must be an object"),
    ("risk", {"symbol": "BTCUSDT", "action": "limits", "limits": {"max_position": -1}}, "max_position"),
    ("risk", {"symbol": "BTCUSDT", "action": "limits", "limits": {"bogus": 1}}, "bogus"),
])
def test_bad_commands_are_acknowledged_with_one_clear_error(sio, event, payload, fragment):
    client = sio()
    ack = client.emit(event, payload, callback=True)
    assert ack["ok"] is False
    assert fragment in ack["error"]
    assert "\n" not in ack["error"] and "Traceback" not in ack["error"]


def test_clock_answers_server_time(sio):
    import time

    ack = sio().emit("clock", {}, callback=True)
    assert ack["ok"] is True and abs(ack["server_ms"] - time.time() * 1000) < 5000


def test_control_metrics_count_outcomes(sio, http):
    client = sio()
    client.emit("stream", {"action": "start"}, callback=True)
    client.emit("stream", {"action": "nope"}, callback=True)
    text = http.get("/metrics").get_data(as_text=True)
    assert 'monitor_control_commands_total{command="stream",ok="true"} 1.0' in text
    assert 'monitor_control_commands_total{command="stream",ok="false"} 1.0' in text
    assert "monitor_socketio_clients 1.0" in text


def test_connections_beyond_max_clients_are_refused(engine):
    from app.config import MonitorConfig
    from app.web import create_app, socketio

    app = create_app(MonitorConfig(symbols=SYMBOLS, source="sim", max_clients=1), engine,
                     async_mode="threading", start_push=False)
    first = socketio.test_client(app)
    second = socketio.test_client(app)
    assert first.is_connected() and not second.is_connected()
    assert engine.clients == 1
    first.disconnect()
    third = socketio.test_client(app)
    assert third.is_connected()
    third.disconnect()


def test_newcomers_reuse_the_last_pushed_frame(sio, broadcaster):
    first = sio()
    broadcaster.push_once()
    pushed = events(first, "snapshot")[-1]
    second = sio()
    assert events(second, "snapshot") == [pushed]
