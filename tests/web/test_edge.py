"""The web edge against a real eventlet server over the real stack (``tests.web.edge_server``),
spoken to over bare sockets: nothing internal leaks from any error, whoever causes it."""
from __future__ import annotations

import pytest

from tests.monitor_process import MonitorProcess
from tests.web.edge_server import MODULE, SECRET
from tests.web.raw_http import exchange, request

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server():
    with MonitorProcess(["--port", "0", "--symbols", "BTCUSDT"], module=MODULE) as process:
        yield process


def test_a_malformed_websocket_upgrade_is_a_short_400(server):
    answer = request(server.url, path="/socket.io/?EIO=4&transport=websocket",
                     headers={"Upgrade": "websocket", "Connection": "Upgrade"})
    assert answer.status == 400
    assert answer.leaks() == [] and len(answer.body) < 100, answer.body
    answer = request(server.url, path="/socket.io/?EIO=4&transport=websocket",
                     headers={"Upgrade": "websocket", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
                              "Sec-WebSocket-Version": "8"})
    assert answer.status == 400 and answer.leaks() == []


@pytest.mark.parametrize("raw", [
    b"GARBAGE\r\n\r\n",
    b"GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n",
    b"GET / HTTP/2.0\r\nHost: x\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: b\r\n" % i for i in range(150)) + b"\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 10_000 + b"\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: %s\r\n" % (i, b"b" * 1000) for i in range(90)) + b"\r\n",
    b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: many\r\n\r\n",
], ids=["garbage", "bad-version-text", "http2", "150-headers", "huge-header", "headers-too-large", "long-url",
        "bad-length"])
def test_requests_the_server_cannot_parse_get_a_status_line_and_nothing_else(server, raw):
    answer = exchange(server.url, raw)
    assert 400 <= answer.status < 600, answer.head
    assert answer.leaks() == [], answer.head + answer.body.decode("latin-1")
    assert "server" not in answer.headers
    assert len(answer.body) < 100


def test_an_exception_in_a_route_or_below_flask_is_logged_not_sent(server):
    for path, body in (("/boom", None), ("/boom-under-flask", b"internal error\n")):
        before = len(server.output)
        answer = request(server.url, path=path)
        assert answer.status == 500, path
        assert answer.leaks() == [] and SECRET.encode() not in answer.body and b"RuntimeError" not in answer.body
        assert body is None or answer.body == body
        later = server.wait_for_output(SECRET, since=before)
        assert "Traceback" in later and path in later
    assert request(server.url, path="/health").status == 200, "the server keeps serving"


def metric_series(text: str) -> set[str]:
    """Every series (name and labels) in a Prometheus exposition, without the values."""
    return {line.rsplit(" ", 1)[0] for line in text.splitlines() if line and not line.startswith("#")}


def test_made_up_methods_answer_plainly_and_do_not_grow_the_metrics(server):
    def metrics() -> str:
        answer = request(server.url, path="/metrics")
        assert answer.status == 200
        return answer.body.decode()

    for method, path in (("FOOBAR", "/"), ("PROPFIND", "/api/state"), ("GET", "/no/such/page"),
                         ("DELETE", "/api/stream/start"), ("GET", "/%00%ff"), ("TRACE", "/"), ("MADEUP", "/made/up")):
        answer = request(server.url, method=method, path=path)
        assert answer.status in (404, 405, 415), (method, path, answer.head)
        assert answer.leaks() == [], (method, path, answer.body)
    metrics()  # its own series exist from now on
    before = metrics()
    for n in range(300):
        assert request(server.url, method=f"MADEUP{n}", path=f"/made/up/{n}").status in (404, 405, 415)
    after = metrics()
    assert metric_series(after) == metric_series(before)
    assert len(after) - len(before) < 200, "only counter values changed"
    assert 'method="other"' in after


POLLING_HANDSHAKE = "/socket.io/?EIO=4&transport=polling"
WEBSOCKET_HEADERS = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
                     "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}


def answers(url: str, host: str) -> dict[str, int]:
    """Status of the page, the state, a Socket.IO polling handshake and a websocket upgrade for ``host``."""
    return {
        "page": request(url, path="/", host=host).status,
        "state": request(url, path="/api/state", host=host).status,
        "polling": request(url, path=POLLING_HANDSHAKE, host=host).status,
        "websocket": request(url, path=POLLING_HANDSHAKE.replace("polling", "websocket"), host=host,
                             headers=WEBSOCKET_HEADERS).status,
    }


def test_a_foreign_host_is_refused_on_http_and_on_the_socketio_handshake(server):
    port = server.port
    refused = {"page": 421, "state": 421, "polling": 421, "websocket": 421}
    for host in ("evil.example", f"evil.example:{port}", f"127.0.0.2:{port}", "", "bad host"):
        assert answers(server.url, host) == refused, host
    answer = request(server.url, path="/api/state", host="evil.example")
    assert answer.body == b"host not allowed\n" and answer.leaks() == []
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", "LOCALHOST"):
        assert answers(server.url, host) == {"page": 200, "state": 200, "polling": 200, "websocket": 101}, host


@pytest.mark.parametrize("allowed, served, refused", [
    ("monitor.example,10.1.2.3", ("monitor.example:8080", "10.1.2.3", "localhost"), ("evil.example",)),
    ("*", ("evil.example", "anything.at.all:1"), ()),
])
def test_allowed_hosts_adds_names_and_star_allows_any(allowed, served, refused):
    with MonitorProcess(["--port", "0", "--symbols", "BTCUSDT", "--allowed-hosts", allowed],
                        module=MODULE) as process:
        for host in served:
            assert request(process.url, path="/api/state", host=host).status == 200, host
        for host in refused:
            assert request(process.url, path="/api/state", host=host).status == 421, host


def test_every_response_carries_the_security_headers(server):
    from app.web.edge import SECURITY_HEADERS

    answers = {
        "page": request(server.url, path="/"),
        "state": request(server.url, path="/api/state"),
        "static": request(server.url, path="/static/js/app.js"),
        "vendor": request(server.url, path="/vendor/plotly.min.js"),
        "not found": request(server.url, path="/no/such/page"),
        "bad method": request(server.url, method="PUT", path="/api/state", headers={"Content-Type": "application/json"}),
        "refused post": request(server.url, method="POST", path="/api/stream/stop"),
        "foreign host": request(server.url, path="/", host="evil.example"),
        "bad upgrade": request(server.url, path=POLLING_HANDSHAKE.replace("polling", "websocket"),
                               headers={"Upgrade": "websocket", "Connection": "Upgrade"}),
        "socket.io": request(server.url, path=POLLING_HANDSHAKE),
        "route error": request(server.url, path="/boom"),
        "error below flask": request(server.url, path="/boom-under-flask"),
    }
    for what, answer in answers.items():
        for name, value in SECURITY_HEADERS:
            assert answer.headers.get(name.lower()) == value, (what, name, answer.head)
    policy = answers["page"].headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy
