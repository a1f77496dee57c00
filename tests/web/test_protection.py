"""Protection of a running monitor (``tests.web.edge_server``: the real web stack on eventlet)
against other sites' pages and unauthenticated clients, over real sockets and real clients."""
from __future__ import annotations

import json

import pytest

from tests.monitor_process import MonitorProcess
from tests.web.edge_server import MODULE
from tests.web.raw_http import request

pytestmark = pytest.mark.slow

EVIL = "http://evil.example"
POLLING_HANDSHAKE = "/socket.io/?EIO=4&transport=polling"
WEBSOCKET_HEADERS = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
                     "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}


@pytest.fixture(scope="module")
def server():
    with MonitorProcess(["--port", "0", "--symbols", "BTCUSDT"], module=MODULE) as process:
        yield process


def post(url: str, action: str, headers: dict, body: bytes = b"{}"):
    return request(url, method="POST", path=f"/api/stream/{action}", headers=headers, body=body)


def streaming(url: str) -> bool:
    answer = request(url, path="/health")
    assert answer.status == 200
    return json.loads(answer.body)["streaming"]


def handshakes(url: str, origin: str) -> tuple[int, int]:
    """(polling, websocket) status of a Socket.IO handshake sent from a page on ``origin``."""
    polling = request(url, path=POLLING_HANDSHAKE, headers={"Origin": origin}).status
    websocket = request(url, path=POLLING_HANDSHAKE.replace("polling", "websocket"),
                        headers={"Origin": origin, **WEBSOCKET_HEADERS}).status
    return polling, websocket


@pytest.mark.parametrize("headers, body, status", [
    ({"Content-Type": "text/plain", "Origin": EVIL}, b"{}", 403),         # the cross-site POST of issue 11
    ({"Content-Type": "application/json", "Origin": EVIL}, b"{}", 403),
    ({"Content-Type": "application/json", "Origin": "null"}, b"{}", 403),
    ({"Content-Type": "application/json", "Origin": "http://127.0.0.1:1"}, b"{}", 403),
    ({"Content-Type": "application/x-www-form-urlencoded"}, b"action=stop", 415),
    ({"Content-Type": "multipart/form-data; boundary=x"}, b"--x--", 415),
    ({"Content-Type": "text/plain"}, b"{}", 415),
    ({}, b"", 415),
])
def test_cross_site_and_non_json_requests_change_nothing(server, headers, body, status):
    assert streaming(server.url) is True
    answer = post(server.url, "stop", headers, body)
    assert answer.status == status, answer.body
    assert "error" in json.loads(answer.body)
    assert streaming(server.url) is True, "a refused request changed nothing"


def test_json_from_the_page_itself_or_without_origin_is_served(server):
    own = f"http://127.0.0.1:{server.port}"
    answer = post(server.url, "stop", {"Content-Type": "application/json", "Origin": own})
    assert answer.status == 200 and json.loads(answer.body) == {"streaming": False}
    answer = post(server.url, "start", {"Content-Type": "application/json; charset=utf-8"})
    assert answer.status == 200 and json.loads(answer.body) == {"streaming": True}


def test_socketio_accepts_only_the_pages_own_origin_by_default(server):
    assert handshakes(server.url, EVIL) == (400, 400)
    assert handshakes(server.url, f"http://127.0.0.1:{server.port}") == (200, 101)
    assert handshakes(server.url, f"http://localhost:{server.port}") == (400, 400), "Host says 127.0.0.1"


def test_allowed_origins_add_pages_that_may_connect_and_command():
    args = ["--port", "0", "--symbols", "BTCUSDT", "--allowed-origins", "https://dash.example,http://10.0.0.5:8080"]
    with MonitorProcess(args, module=MODULE) as process:
        own = f"http://127.0.0.1:{process.port}"
        for origin in ("https://dash.example", "https://DASH.example:443", "http://10.0.0.5:8080", own):
            assert handshakes(process.url, origin) == (200, 101), origin
        for origin in (EVIL, "http://dash.example", "http://10.0.0.5"):
            assert handshakes(process.url, origin) == (400, 400), origin
        refused = post(process.url, "stop", {"Content-Type": "application/json", "Origin": EVIL})
        assert refused.status == 403 and streaming(process.url) is True
        allowed = post(process.url, "stop", {"Content-Type": "application/json", "Origin": "https://dash.example"})
        assert allowed.status == 200 and streaming(process.url) is False


TOKEN = "live-token-for-tests-0123456789"


def socket_client(url: str, auth: dict | None = None):
    import socketio

    client = socketio.Client(reconnection=False)
    accesses: list[dict] = []
    client.on("access", accesses.append)
    client.connect(url, transports=["websocket"], auth=auth, wait_timeout=20)
    return client, accesses


@pytest.mark.parametrize("how", ["environment", "file"])
def test_the_token_guards_control_on_a_live_server_and_never_shows(tmp_path, how):
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    args, env = ["--port", "0", "--symbols", "BTCUSDT"], {}
    if how == "file":
        args += ["--token-file", str(token_file)]
    else:
        env["MONITOR_TOKEN"] = TOKEN
    with MonitorProcess(args, module=MODULE, env=env) as process:
        json_body = {"Content-Type": "application/json"}
        assert post(process.url, "stop", json_body).status == 401
        assert post(process.url, "stop", {**json_body, "Authorization": "Bearer not-the-token-000000"}).status == 403
        assert streaming(process.url) is True
        watcher, watcher_access = socket_client(process.url)
        controller, controller_access = socket_client(process.url, {"token": TOKEN})
        try:
            ack = watcher.call("stream", {"action": "stop"}, timeout=20)
            assert ack["ok"] is False and "token" in ack["error"]
            assert streaming(process.url) is True
            assert watcher.call("clock", {}, timeout=20)["ok"] is True
            assert controller.call("stream", {"action": "stop"}, timeout=20) == {"ok": True, "streaming": False}
            assert watcher_access == [{"token_required": True, "control": False, "reason": "no token"}]
            assert controller_access == [{"token_required": True, "control": True}]
        finally:
            watcher.disconnect()
            controller.disconnect()
        answer = post(process.url, "start", {**json_body, "Authorization": f"Bearer {TOKEN}"})
        assert answer.status == 200 and streaming(process.url) is True
        for path in ("/", "/api/state", "/health", "/metrics"):
            answer = request(process.url, path=path)
            assert answer.status == 200 and TOKEN.encode() not in answer.body, path
    assert TOKEN not in "".join(process.output)


def test_a_flooding_socketio_client_is_rate_limited_on_a_live_server(server):
    import threading
    import time

    from app.web.rate_limit import BURST, EVENTS_PER_S

    client, _ = socket_client(server.url)
    sent = 5 * BURST
    acks: list[dict] = []
    all_in = threading.Event()

    def answered(ack: dict) -> None:
        acks.append(ack)
        if len(acks) == sent:
            all_in.set()

    try:
        started = time.monotonic()
        for _ in range(sent):
            client.emit("risk", {"symbol": "BTCUSDT", "action": "pause"}, callback=answered)
        assert all_in.wait(30), f"{len(acks)} of {sent} acks"
        elapsed = time.monotonic() - started
    finally:
        client.disconnect()
    accepted = sum(ack["ok"] for ack in acks)
    assert BURST <= accepted <= BURST + EVENTS_PER_S * elapsed + 1, (accepted, elapsed)
    assert all("too many events" in ack["error"] for ack in acks if not ack["ok"])
    assert request(server.url, path="/health").status == 200
