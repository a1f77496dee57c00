"""The edge: the WSGI layer every request crosses before Flask or Socket.IO sees it.

Rules:
- Nothing internal leaks. An exception that escapes the app (Flask answers its own route errors;
  this catches what escapes Socket.IO, Engine.IO or eventlet's websocket code) is logged here with
  its traceback and answered with a short plain 500: no traceback, path or library version in
  the body.
- A websocket upgrade is RFC 6455 or nothing: without ``Sec-WebSocket-Key`` and version 13 it is
  a 400 here, never a trip into eventlet's pre-standard handshake code (which raises on a
  missing Origin).
- Every refusal is one short plain-text line.
"""
from __future__ import annotations

import logging
import sys
from typing import Any, Callable, Iterable

log = logging.getLogger(__name__)

WEBSOCKET_VERSION = "13"   # RFC 6455; every browser since 2012


def refuse(start_response: Callable, status: str, reason: str, exc_info: Any = None) -> list[bytes]:
    """A short plain-text answer: ``status`` and one line saying why."""
    body = f"{reason}\n".encode()
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))],
                   exc_info)
    return [body]


def _bad_websocket_upgrade(environ: dict) -> bool:
    if environ.get("HTTP_UPGRADE", "").lower() != "websocket":
        return False
    return not environ.get("HTTP_SEC_WEBSOCKET_KEY") \
        or environ.get("HTTP_SEC_WEBSOCKET_VERSION", "").strip() != WEBSOCKET_VERSION


class Edge:
    """WSGI middleware, outermost: wraps Flask-SocketIO's middleware, so it sees Socket.IO too."""

    def __init__(self, wsgi_app: Callable) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if _bad_websocket_upgrade(environ):
            return refuse(start_response, "400 Bad Request", "bad websocket upgrade (RFC 6455, version 13)")
        try:
            return self.wsgi_app(environ, start_response)
        except Exception:
            log.exception("unhandled error serving %s %r", environ.get("REQUEST_METHOD"),
                          environ.get("PATH_INFO", "")[:200])
            # exc_info lets the server replace a response started but not yet sent; once bytes
            # are out it re-raises and the server closes the connection.
            return refuse(start_response, "500 Internal Server Error", "internal error", sys.exc_info())
