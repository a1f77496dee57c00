"""The edge: the WSGI layer every request crosses before Flask or Socket.IO sees it.

Rules:
- A request whose ``Host`` is not an allowed name (``app.exposure``) is refused with 421 before
  anything else runs, Socket.IO's handshake included (polling and websocket).
- Nothing internal leaks. An exception that escapes the app (Flask answers its own route errors;
  this catches what escapes Socket.IO, Engine.IO or eventlet's websocket code) is logged here with
  its traceback and answered with a short plain 500: no traceback, path or library version in
  the body.
- A websocket upgrade is RFC 6455 or nothing: without ``Sec-WebSocket-Key`` and version 13 it is
  a 400 here, never a trip into eventlet's pre-standard handshake code (which raises on a
  missing Origin).
- Every response carries the security headers: a Content-Security-Policy that allows only the
  monitor's own files (no inline script, no other site's scripts, styles, fonts or frames; the
  page's assets are all local), no framing by any page, no MIME sniffing, no referrer.
- Every refusal is one short plain-text line.
"""
from __future__ import annotations

import logging
import sys
from typing import Any, Callable, Iterable

from app.exposure import Exposure

log = logging.getLogger(__name__)

WEBSOCKET_VERSION = "13"   # RFC 6455; every browser since 2012

CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    # plotly creates one empty <style> and fills it through the CSSOM (insertRule), which the
    # policy does not govern; this hash admits that empty element and no inline style text.
    "style-src 'self' 'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='",
    "img-src 'self' data:",     # plotly draws its modebar icons and exports from data: URLs
    "font-src 'self'",
    "connect-src 'self'",       # Socket.IO: polling and ws:// to this host and port
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))
SECURITY_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),            # frame-ancestors for browsers that predate it
    ("Referrer-Policy", "no-referrer"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
)


def refuse(start_response: Callable, status: str, reason: str, exc_info: Any = None) -> list[bytes]:
    """A short plain-text answer: ``status`` and one line saying why."""
    body = f"{reason}\n".encode()
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))],
                   exc_info)
    return [body]


def _with_security_headers(start_response: Callable) -> Callable:
    def start(status: str, headers: list, exc_info: Any = None) -> Callable:
        return start_response(status, [*headers, *SECURITY_HEADERS], exc_info)
    return start


def _bad_websocket_upgrade(environ: dict) -> bool:
    if environ.get("HTTP_UPGRADE", "").lower() != "websocket":
        return False
    return not environ.get("HTTP_SEC_WEBSOCKET_KEY") \
        or environ.get("HTTP_SEC_WEBSOCKET_VERSION", "").strip() != WEBSOCKET_VERSION


class Edge:
    """WSGI middleware, outermost: wraps Flask-SocketIO's middleware, so it sees Socket.IO too."""

    def __init__(self, wsgi_app: Callable, exposure: Exposure) -> None:
        self.wsgi_app = wsgi_app
        self.exposure = exposure

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        start_response = _with_security_headers(start_response)
        if not self.exposure.allows_host(environ.get("HTTP_HOST")):
            return refuse(start_response, "421 Misdirected Request", "host not allowed")
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
