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
