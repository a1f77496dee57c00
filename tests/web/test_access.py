"""The control token in-process (real engine, real Flask app, Flask-SocketIO's test client):
watching needs nothing, every control action needs the token, and the token never shows."""
from __future__ import annotations

import pytest

from app.config import MonitorConfig
from tests.web.conftest import SYMBOLS

TOKEN = "s3cret-token-for-tests-0123456789"
CONTROL_EVENTS = [
    ("stream", {"action": "stop"}),
    ("strategy", {"symbol": "BTCUSDT", "name": "market_maker", "enabled": False}),
    ("risk", {"symbol": "BTCUSDT", "action": "pause"}),
]


@pytest.fixture
def guarded(engine):
    from app.web import create_app

    return create_app(MonitorConfig(symbols=SYMBOLS, source="sim", token=TOKEN), engine,
                      async_mode="threading", start_push=False)


def connect(app, auth=None):
    from app.web import socketio

    client = socketio.test_client(app, auth=auth)
    assert client.is_connected()
    return client


def access_of(client) -> dict:
    [access] = [e["args"][0] for e in client.get_received() if e["name"] == "access"]
    return access


def controls_unchanged(engine) -> bool:
    block = engine.snapshot()["strategies"]["BTCUSDT"]
    enabled = [s["enabled"] for s in block["strategies"] if s["name"] == "market_maker"]
    return engine.streaming is True and block["risk"]["state"] == "ACTIVE" and enabled == [True]


@pytest.mark.parametrize("auth, reason", [(None, "no token"), ({}, "no token"), ({"token": ""}, "no token"),
                                          ({"token": "wrong-token-0123456789"}, "token rejected"),
                                          ({"token": 12345}, "token rejected"), ("not-a-dict", "no token")])
def test_a_client_without_the_token_watches_but_every_control_event_is_refused(guarded, engine, auth, reason):
    client = connect(guarded, auth)
    assert access_of(client) == {"token_required": True, "control": False, "reason": reason}
    for event, payload in CONTROL_EVENTS:
        ack = client.emit(event, payload, callback=True)
        assert ack["ok"] is False and "token" in ack["error"], (event, ack)
    assert controls_unchanged(engine)
    assert client.emit("subscribe", {"symbols": ["ETHUSDT"]}, callback=True)["ok"] is True
    assert client.emit("clock", {}, callback=True)["ok"] is True
    client.disconnect()


def test_a_client_with_the_token_controls(guarded, engine):
    client = connect(guarded, {"token": TOKEN})
    assert access_of(client) == {"token_required": True, "control": True}
    for event, payload in CONTROL_EVENTS:
        assert client.emit(event, payload, callback=True)["ok"] is True, event
    assert engine.streaming is False
    client.disconnect()


def test_without_a_token_configured_every_client_controls(app):
    client = connect(app)
    assert access_of(client) == {"token_required": False, "control": True}
    assert client.emit("stream", {"action": "stop"}, callback=True)["ok"] is True
    client.disconnect()


def test_http_control_needs_the_bearer_token_and_watching_does_not(guarded, engine):
    http = guarded.test_client()
    for path in ("/", "/api/state", "/health", "/metrics", "/api/book/BTCUSDT"):
        response = http.get(path)
        assert response.status_code == 200, path
        assert TOKEN not in response.get_data(as_text=True), path
    missing = http.post("/api/stream/stop", json={})
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"].startswith("Bearer")
    for header in (f"Basic {TOKEN}", "Bearer", "Bearer wrong-token-0123456789", f"Bearer {TOKEN}x"):
        response = http.post("/api/stream/stop", json={}, headers={"Authorization": header})
        assert response.status_code in (401, 403), header
        assert TOKEN not in response.get_data(as_text=True)
    assert engine.streaming is True
    response = http.post("/api/stream/stop", json={}, headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200 and engine.streaming is False


def test_the_token_is_never_in_a_repr():
    from app.exposure import Exposure

    config = MonitorConfig(token=TOKEN)
    assert TOKEN not in repr(config) and TOKEN not in repr(Exposure.of(config))
