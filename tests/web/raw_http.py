"""HTTP over a bare socket, for requests no HTTP client library will send (made-up methods,
malformed upgrades, oversized or missing headers) and for reading exactly what came back."""
from __future__ import annotations

import socket
from dataclasses import dataclass
from urllib.parse import urlparse

TIMEOUT_S = 10.0

# What an answer must never carry: tracebacks, source paths, server software and versions.
LEAK_MARKERS = (b"Traceback", b'File "', b".py", b"site-packages", b"/work/", b"Python/", b"BaseHTTP",
                b"eventlet", b"Werkzeug", b"werkzeug", b"flask", b"engineio", b"socketio")


@dataclass
class Answer:
    status: int
    head: str           # status line and headers, as received
    headers: dict       # lower-case name -> value (the last one wins)
    body: bytes

    def leaks(self) -> list[str]:
        raw = self.head.encode("latin-1") + self.body
        return [marker.decode() for marker in LEAK_MARKERS if marker in raw]


def exchange(url: str, request: bytes) -> Answer:
    """Send ``request`` as is and read until the server closes, the body's length is in, or the
    protocol switched (101: the websocket stays open, its head is the answer)."""
    address = urlparse(url)
    with socket.create_connection((address.hostname, address.port), timeout=TIMEOUT_S) as sock:
        sock.sendall(request)
        data = b""
        while True:
            if b"\r\n\r\n" in data:
                head, _, body = data.partition(b"\r\n\r\n")
                length = _content_length(head)
                if head.split(b" ", 2)[1:2] == [b"101"] or (length is not None and len(body) >= length):
                    break
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    text = head.decode("latin-1")
    lines = text.split("\r\n")
    parts = lines[0].split(" ", 2)
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Answer(status, text, headers, body)


def _content_length(head: bytes) -> int | None:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length" and value.strip().isdigit():
            return int(value.strip())
    return None


def request(url: str, method: str = "GET", path: str = "/", headers: dict | None = None, body: bytes = b"",
            host: str | None = None) -> Answer:
    """One request with ``Connection: close``; ``host`` overrides the Host header ("" leaves it out)."""
    address = urlparse(url)
    lines = [f"{method} {path} HTTP/1.1"]
    host = address.netloc if host is None else host
    if host:
        lines.append(f"Host: {host}")
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if body:
        lines.append(f"Content-Length: {len(body)}")
    lines.append("Connection: close")
    return exchange(url, ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
