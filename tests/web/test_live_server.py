"""The real monitor process (eventlet, embedded exchange) with real python-socketio clients:
5 Hz snapshots carrying every field, stream stop/start, subscriptions, /health, the wire format."""
from __future__ import annotations

import queue
import socket
import statistics
import time
from urllib.parse import urlparse

import pytest
import socketio

from tests.web.live import LiveMonitor
from tests.web.schema import health_problems, schema_problems

pytestmark = pytest.mark.slow
SYMBOLS = "BTCUSDT,ETHUSDT"
WAIT_S = 30.0


@pytest.fixture(scope="module")
def monitor():
    with LiveMonitor(SYMBOLS) as live:
        yield live


class Listener:
    """A python-socketio client whose events land in queues the test can wait on."""

    def __init__(self, url: str) -> None:
        self.sio = socketio.Client(reconnection=False)
        self.snapshots: queue.Queue = queue.Queue()
        self.statuses: queue.Queue = queue.Queue()
        self.sio.on("snapshot", lambda data: self.snapshots.put((time.time() * 1000, data)))
        self.sio.on("status", self.statuses.put)
        self.sio.connect(url, transports=["websocket"], wait_timeout=WAIT_S)

    def next_snapshot(self, timeout: float = WAIT_S) -> dict:
        return self.snapshots.get(timeout=timeout)[1]

    def drain(self) -> list:
        items = []
        while True:
            try:
                items.append(self.snapshots.get_nowait())
            except queue.Empty:
                return items

    def call(self, event: str, payload) -> dict:
        return self.sio.call(event, payload, timeout=WAIT_S)

    def close(self) -> None:
        if self.sio.connected:
            self.sio.disconnect()


@pytest.fixture
def listener(monitor):
    clients = []

    def connect() -> Listener:
        client = Listener(monitor.url)
        clients.append(client)
        return client

    yield connect
    for client in clients:
        client.close()


def test_snapshots_arrive_every_200ms_with_every_field_and_live_data(monitor, listener):
    client = listener()
    client.next_snapshot()  # the one sent on connect
    snaps = [client.next_snapshot() for _ in range(25)]
    symbols = SYMBOLS.split(",")
    for snap in snaps:
        assert schema_problems(snap, symbols) == []
        assert snap["source"] == "sim" and snap["streaming"] is True
    seqs = [s["seq"] for s in snaps]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "no push skipped or repeated"
    spacing = statistics.median(b["ts"] - a["ts"] for a, b in zip(snaps, snaps[1:]))
    assert 150 <= spacing <= 300, f"median push spacing {spacing} ms, expected ~200 (5 Hz)"
    last = snaps[-1]
    for symbol in symbols:
        market = last["markets"][symbol]
        assert market["bid"] and market["ask"] and market["bid"] < market["ask"]
        assert len(market["depth"]["bids"]) > 0 and len(market["depth"]["asks"]) > 0
        assert market["feed"]["synced"] is True
        assert isinstance(market["price_decimals"], int)
    assert any(t for s in snaps for m in s["markets"].values() for t in m["trades"]), "trades flow"
    assert any(s["strategies"][sym]["orders"] for s in snaps for sym in symbols), "market maker quotes"


def test_health_reflects_clients_sync_and_traffic(monitor, listener):
    status, first = monitor.get("/health")
    assert status == 200
    assert health_problems(first, SYMBOLS.split(",")) == []
    assert first["status"] == "ok" and first["source"] == "sim" and first["streaming"] is True
    assert all(entry["synced"] for entry in first["symbols"].values())
    baseline = first["clients"]
    a, b = listener(), listener()
    monitor.wait_until(lambda: monitor.get("/health")[1]["clients"] == baseline + 2, "two more clients")
    b.close()
    monitor.wait_until(lambda: monitor.get("/health")[1]["clients"] == baseline + 1, "one client left")
    monitor.wait_until(
        lambda: monitor.get("/health")[1]["symbols"]["BTCUSDT"]["msgs"] > first["symbols"]["BTCUSDT"]["msgs"],
        "message counters to grow")
    assert monitor.get("/ready")[0] == 200
    a.close()


def test_stream_controls_stop_and_restart_the_pushes(monitor, listener):
    client = listener()
    client.next_snapshot()
    assert client.statuses.get(timeout=WAIT_S)["streaming"] is True
    ack = client.call("stream", {"action": "stop"})
    assert ack == {"ok": True, "streaming": False}
    assert client.statuses.get(timeout=WAIT_S)["streaming"] is False
    # Pushes end with one snapshot that says so; then silence.
    deadline = time.monotonic() + WAIT_S
    while client.next_snapshot()["streaming"] is not False:
        assert time.monotonic() < deadline
    client.drain()
    with pytest.raises(queue.Empty):
        client.snapshots.get(timeout=1.5)  # ~7 push periods without a push
    status, health = monitor.get("/health")
    assert health["streaming"] is False and health["status"] == "degraded"
    assert monitor.get("/ready")[0] == 503

    ack = client.call("stream", {"action": "start"})
    assert ack == {"ok": True, "streaming": True}
    assert client.statuses.get(timeout=WAIT_S)["streaming"] is True
    assert client.next_snapshot()["streaming"] is True
    monitor.wait_until(lambda: monitor.get("/ready")[0] == 200, "books resynced after restart")
    assert monitor.get("/health")[1]["status"] == "ok"


def test_http_stream_control_matches_socket_view(monitor, listener):
    client = listener()
    client.next_snapshot()
    assert client.statuses.get(timeout=WAIT_S)["streaming"] is True  # the one sent on connect
    assert monitor.post("/api/stream/stop") == (200, {"streaming": False})
    assert client.statuses.get(timeout=WAIT_S)["streaming"] is False
    assert monitor.post("/api/stream/start") == (200, {"streaming": True})
    assert client.statuses.get(timeout=WAIT_S)["streaming"] is True
    monitor.wait_until(lambda: monitor.get("/ready")[0] == 200, "books resynced")


def test_subscribed_client_gets_only_its_symbols(monitor, listener):
    narrow, wide = listener(), listener()
    assert narrow.call("subscribe", {"symbols": ["ETHUSDT"]}) == {"ok": True, "symbols": ["ETHUSDT"]}
    narrow.drain()
    snap = narrow.next_snapshot()
    assert list(snap["markets"]) == ["ETHUSDT"] and list(snap["strategies"]) == ["ETHUSDT"]
    assert schema_problems(snap, ["ETHUSDT"]) == []
    assert sorted(wide.next_snapshot()["markets"]) == ["BTCUSDT", "ETHUSDT"]
    bad = narrow.call("subscribe", {"symbols": ["NOPEUSDT"]})
    assert bad["ok"] is False and "NOPEUSDT" in bad["error"]


def test_control_commands_change_the_engine_and_show_in_snapshots(monitor, listener):
    client = listener()
    assert client.call("risk", {"symbol": "ETHUSDT", "action": "pause"})["state"] == "HALTED"
    deadline = time.monotonic() + WAIT_S
    while client.next_snapshot()["strategies"]["ETHUSDT"]["risk"]["state"] != "HALTED":
        assert time.monotonic() < deadline
    assert client.call("risk", {"symbol": "ETHUSDT", "action": "resume"})["state"] == "ACTIVE"
    bad = client.call("strategy", {"symbol": "ETHUSDT", "name": "market_maker", "params": {"nope": 1}})
    assert bad["ok"] is False and "nope" in bad["error"]


def test_state_book_and_metrics_endpoints_on_the_live_server(monitor):
    status, state = monitor.get("/api/state")
    assert status == 200 and schema_problems(state, SYMBOLS.split(",")) == []
    status, book = monitor.get("/api/book/BTCUSDT?depth=5")
    assert status == 200 and book["symbol"] == "BTCUSDT" and len(book["bids"]) == 5
    assert monitor.get("/api/book/NOPE")[0] == 404
    assert monitor.get("/api/book/BTCUSDT?depth=x")[0] == 400
    status, text = monitor.get("/metrics")
    assert status == 200 and "monitor_push_seconds_bucket" in text and "monitor_socketio_clients" in text


def test_websocket_handshake_declines_permessage_deflate(monitor):
    """Browsers offer compression; the server answers without it (CPU per client message)."""
    address = urlparse(monitor.url)
    request = (
        "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
        f"Host: {address.netloc}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
    )
    with socket.create_connection((address.hostname, address.port), timeout=WAIT_S) as sock:
        sock.sendall(request.encode())
        response = b""
        while b"\r\n\r\n" not in response:
            chunk = sock.recv(4096)
            assert chunk, "connection closed during the handshake"
            response += chunk
    head = response.split(b"\r\n\r\n")[0].decode().lower()
    assert head.startswith("http/1.1 101")
    assert "permessage-deflate" not in head
