"""The issue's hostile payloads against a real monitor process, before and after a restart on its state dir."""
from __future__ import annotations

import json

import pytest
import socketio

from tests.app.test_command_validation import HOSTILE
from tests.app.test_serve_cli import get_json, wait_for
from tests.monitor_process import MonitorProcess

pytestmark = pytest.mark.slow
SYMBOLS = ("BTCUSDT", "ETHUSDT")


def _counts(url):
    return {s: h["msgs"] for s, h in get_json(url + "/health")["symbols"].items()}


def _still_processing(url, before):
    """Every symbol's message count rises past ``before`` and /api/state answers (get_json raises on non-200)."""
    wait_for(lambda h: all(h["symbols"][s]["msgs"] > before[s] + 20 for s in SYMBOLS), url + "/health")
    state = get_json(url + "/api/state")
    assert sorted(state["markets"]) == sorted(SYMBOLS)


def test_hostile_payloads_are_refused_and_the_monitor_keeps_processing_across_a_restart(tmp_path):
    args = ["serve", "--source", "sim", "--port", "0", "--symbols", ",".join(SYMBOLS), "--state-dir", str(tmp_path),
            "--strategies", "market_maker,avellaneda_stoikov,liquidity_taker"]
    with MonitorProcess(args) as monitor:
        wait_for(lambda h: h["status"] == "ok", monitor.url + "/health")
        client = socketio.Client(reconnection=False)
        client.connect(monitor.url, transports=["websocket"], wait_timeout=20)
        try:
            for name, payload, field in HOSTILE:
                payload = {**payload, "symbol": "BTCUSDT"}
                try:
                    json.dumps(payload, allow_nan=False)
                except ValueError:
                    continue  # NaN is not JSON: the Socket.IO server cannot even decode the packet
                ack = client.call(name, payload, timeout=20)
                assert ack["ok"] is False and field in ack["error"], (payload, ack)
            ok = client.call("strategy", {"symbol": "BTCUSDT", "name": "market_maker", "params": {"spread_bps": 12}},
                             timeout=20)
            assert ok["ok"], ok  # a valid change is saved: the state dir now has settings to poison
            before = _counts(monitor.url)
        finally:
            client.disconnect()
        _still_processing(monitor.url, before)
        assert get_json(monitor.url + "/health")["engine"]["faults"]["total"] == 0
    # a value saved by hand (or by an older version) that no longer validates is reported and left out
    settings_file = tmp_path / "settings.json"
    saved = json.loads(settings_file.read_text())
    assert saved["symbols"]["BTCUSDT"]["strategies"]["market_maker"]["params"]["spread_bps"] == 12.0
    saved["symbols"]["BTCUSDT"]["strategies"]["market_maker"]["params"]["levels"] = True
    saved["symbols"]["BTCUSDT"]["risk_limits"]["max_open_orders"] = 10**20
    settings_file.write_text(json.dumps(saved))
    with MonitorProcess(args) as monitor:
        wait_for(lambda h: h["status"] == "ok", monitor.url + "/health")
        before = _counts(monitor.url)
        _still_processing(monitor.url, before)
        state = get_json(monitor.url + "/api/state")
        mm = next(s for s in state["strategies"]["BTCUSDT"]["strategies"] if s["name"] == "market_maker")
        assert mm["params"]["spread_bps"] == 12.0 and mm["error"] is None  # the last valid value stays
        assert mm["params"]["levels"] == 1
        assert state["strategies"]["BTCUSDT"]["risk"]["limits"]["max_open_orders"] == 50
        ignored = [a["message"] for a in state["activity"] if a["message"].startswith("saved setting ignored")]
        assert len(ignored) in (0, 2)  # (the start-up entries may already have been pushed)
        messages = [line for line in monitor.output]
        assert not any("Traceback" in line for line in messages), "".join(messages)
