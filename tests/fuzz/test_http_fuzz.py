"""Every HTTP route of a real monitor, as a hostile client would call it: any method, path, query
string, header and body, sent as raw bytes over a socket.

For each request: an answer with a status line, never a 5xx, nothing internal in it (traceback,
source path, server software or library version); a refusal (any non-2xx) changes nothing the
monitor reports (streaming, clients). After the run the engine is still processing market data.
A 4xx is a fine answer to a hostile request, whichever checks (Host, Origin, content type, token,
rate limits) stand in front of the routes.
"""
from __future__ import annotations

import json
import platform
import re
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.conftest import fixtures_once, health
from tests.web import raw_http

ROOT = Path(__file__).resolve().parents[2]
ROUTES = ("/", "/health", "/ready", "/metrics", "/api/state", "/api/book/BTCUSDT", "/api/book/btcusdt",
          "/api/stream/start", "/api/stream/stop", "/socket.io/", "/static/js/app.js", "/vendor/plotly.min.js",
          "/favicon.ico", "/api", "/api/book/", "/api/stream/", "//health", "/health/", "/static/../app/engine.py")
SERVED_FILES = ("/static/", "/vendor/")  # their content is the product's assets, not an internal leak
OWN_METRIC_PREFIX = b"monitor_socketio_"  # the product's metric names (/metrics), not a library talking
METHODS = ("GET", "POST", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH", "TRACE", "CONNECT", "PROPFIND", "get")
TOKEN = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
LATIN1_LINE = st.characters(min_codepoint=0x20, max_codepoint=0xFF)  # anything a header line can hold but CR/LF


def _pinned_versions() -> list[str]:
    """Versions of the web stack and Python: none may appear in an answer."""
    stack = ("flask", "flask-socketio", "python-socketio", "python-engineio", "eventlet", "werkzeug")
    versions = [platform.python_version()]
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        name, _, version = line.partition("==")
        if name.strip().lower() in stack and version:
            versions.append(version.strip())
    return versions


VERSION_LEAK = re.compile("|".join(rf"(?<![\d.]){re.escape(v)}(?![\d.])" for v in _pinned_versions()).encode())

paths = st.one_of(
    st.sampled_from(ROUTES),
    st.text(LATIN1_LINE, max_size=30).map(lambda s: "/api/book/" + quote(s, safe="")),
    st.text(LATIN1_LINE, max_size=30).map(lambda s: "/api/stream/" + quote(s, safe="")),
    st.lists(st.text(LATIN1_LINE.filter(lambda c: c not in " /?#"), max_size=12), max_size=4)
      .map(lambda parts: "/" + "/".join(parts)),
    st.integers(1, 9000).map(lambda n: "/" + "a" * n),
)
queries = st.one_of(
    st.just(""),
    st.sampled_from(["depth=1", "depth=5000", "depth=5001", "depth=0", "depth=-1", "depth=1e3", "depth=",
                     "depth=99999999999999999999999", "depth=%ff", "depth=\xff", "EIO=4&transport=polling",
                     "EIO=4&transport=websocket", "EIO=3", "EIO=4&transport=polling&sid=nope", "a=1&a=2"]),
    st.lists(st.tuples(st.text(LATIN1_LINE.filter(lambda c: c not in " &=#"), max_size=10),
                       st.text(LATIN1_LINE.filter(lambda c: c not in " &#"), max_size=20)), max_size=4)
      .map(lambda pairs: "&".join(f"{k}={v}" for k, v in pairs)),
)
header_values = st.text(LATIN1_LINE, max_size=60)


def _free_name(name: str) -> bool:
    """Not a header that frames the request: a made-up Content-Length would only make the server
    wait for a body that never comes."""
    return name.lower() not in ("host", "content-length", "transfer-encoding", "expect", "connection")


@st.composite
def headers(draw, url: str) -> tuple[str | None, dict[str, str]]:
    """(Host: the monitor's own, another, empty or absent; other headers, odd ones included)."""
    netloc = url.split("//", 1)[1]
    host = draw(st.one_of(st.just(None), st.sampled_from(["", "evil.example", "localhost", "127.0.0.1", netloc + "x",
                                                           "[::1]", "a" * 300]), header_values))
    chosen: dict[str, str] = {}
    optional = {
        "Content-Type": st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=", "application/json; charset=\xff"]),
        "Origin": st.sampled_from(["null", "http://evil.example", url, url + "/", "file://"]),
        "Upgrade": st.sampled_from(["websocket", "WebSocket", "h2c", "\xff"]),
        "Connection": st.sampled_from(["Upgrade", "keep-alive, Upgrade", "close"]),
        "Sec-WebSocket-Key": st.sampled_from(["dGhlIHNhbXBsZSBub25jZQ==", "", "!!"]),
        "Sec-WebSocket-Version": st.sampled_from(["13", "8", "", "99999999999999999999"]),
        "Content-Length": st.sampled_from(["-1", "abc", " ", "1e3", "0x10"]),
        "Transfer-Encoding": st.sampled_from(["gzip", "identity", "chunked, chunked"]),
        "Authorization": st.sampled_from(["Bearer ", "Bearer x", "Basic Og==", "\xff" * 8]),
        "Cookie": header_values,
        "Accept-Encoding": st.sampled_from(["gzip", "br", "*;q=0", "\xff"]),
        "X-Forwarded-For": header_values,
        "Range": st.sampled_from(["bytes=0-0", "bytes=-1", "bytes=99999999999999999999-"]),
        "Expect": st.sampled_from(["bogus", "200-ok"]),
    }
    for name in draw(st.lists(st.sampled_from(sorted(optional)), unique=True, max_size=5)):
        chosen[name] = draw(optional[name])
    for name, value in draw(st.lists(st.tuples(st.text(TOKEN, min_size=1, max_size=20).filter(_free_name),
                                               header_values), max_size=3)):
        chosen.setdefault(name, value)
    if draw(st.booleans()) and not draw(st.booleans()):
        chosen["X-Big"] = "a" * draw(st.integers(1000, 20000))
    return host, chosen


bodies = st.one_of(st.just(b""), st.binary(max_size=2000), st.sampled_from([b"{}", b'{"action": "stop"}', b"[",
                                                                             b'{"a": ' * 2000, b"\x00" * 100]))


def _not_ready(answer: raw_http.Answer, path: str) -> bool:
    """/ready's documented 503 (a book not synced, streaming stopped): an answer, not a failure."""
    if path != "/ready" or answer.status != 503:
        return False
    try:
        return json.loads(answer.body)["ready"] is False
    except (ValueError, KeyError, TypeError):
        return False


def refusal_problems(answer: raw_http.Answer, path: str) -> list[str]:
    problems = []
    if answer.status == 0:
        problems.append("no status line in the answer")
    if answer.status >= 500 and not _not_ready(answer, path):
        problems.append(f"status {answer.status}")
    served_file = 200 <= answer.status < 300 and path.startswith(SERVED_FILES)
    body = b"" if served_file else answer.body.replace(OWN_METRIC_PREFIX, b"monitor_")
    leaked = raw_http.Answer(answer.status, answer.head, answer.headers, body).leaks()
    if leaked:
        problems.append(f"leaks {leaked}")
    if VERSION_LEAK.search(answer.head.encode("latin-1") + body):
        problems.append("leaks a library version")
    return problems


@pytest.mark.fuzz
@fixtures_once
@given(method=st.one_of(st.sampled_from(METHODS), st.text(TOKEN, min_size=1, max_size=20)),
       path=paths, query=queries, head=st.data(), body=bodies)
def test_every_http_request_gets_a_clean_answer_and_a_refusal_changes_nothing(monitor, keeps_processing, method,
                                                                              path, query, head, body):
    host, extra = head.draw(headers(monitor.url), label="headers")
    if method == "HEAD":
        extra.pop("Connection", None)  # kept alive, a HEAD answer's Content-Length has no body to wait for
    target = path + ("?" + query if query else "")
    seen = health(monitor)
    answer = raw_http.request(monitor.url, method, target, headers=extra, body=body, host=host)
    assert refusal_problems(answer, path) == [], (answer.status, answer.head, answer.body[:2000])
    after = health(monitor)
    stream_action = re.fullmatch(r"/api/stream/(start|stop)", path)
    if 200 <= answer.status < 300 and method == "POST" and stream_action:
        assert after["streaming"] is (stream_action.group(1) == "start")
    else:
        assert after["streaming"] is seen["streaming"], f"{method} {target} -> {answer.status} changed streaming"
    assert after["clients"] == seen["clients"]


def test_a_query_string_that_is_not_utf8_is_a_400(monitor):
    answer = raw_http.exchange(monitor.url, b"GET /api/book/BTCUSDT?depth=\xff HTTP/1.1\r\nHost: "
                               + monitor.url.split("//", 1)[1].encode() + b"\r\nConnection: close\r\n\r\n")
    assert answer.status == 400 and b"not UTF-8" in answer.body and answer.leaks() == []
