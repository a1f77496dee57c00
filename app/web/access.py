"""Who may change things: the checks in front of every state-changing HTTP request.

Rules:
- Reading (GET, HEAD, OPTIONS) is open: the page, ``/api/state``, ``/health``, ``/metrics``.
- Every other method changes state, and is refused unless
  - its ``Origin``, when it has one, is allowed (``Exposure.allows_origin``: the page's own, or
    one of ``--allowed-origins``), else 403: another site's page cannot act through the user's
    browser. A request without ``Origin`` (curl, scripts) is not a browser's cross-site request;
  - its body is declared ``application/json``, else 415. A cross-site form or ``text/plain``
    request is one a browser sends without asking; ``application/json`` from another origin
    needs a CORS preflight, which this server never grants.
- A refused request changes nothing: the checks run before the route.
"""
from __future__ import annotations

from typing import Any

from app.exposure import Exposure

READING_METHODS = frozenset(("GET", "HEAD", "OPTIONS"))
JSON_MIMETYPE = "application/json"


def state_change_refusal(request: Any, exposure: Exposure) -> tuple[int, str] | None:
    """(status, reason) when ``request`` (a Flask request) may not change state; None when it may."""
    if request.method in READING_METHODS:
        return None
    claimed = request.headers.get("Origin")
    if claimed is not None and not exposure.allows_origin(claimed, request.environ):
        return 403, "cross-origin request refused: this page's origin may not change the monitor"
    if request.mimetype != JSON_MIMETYPE:
        return 415, f"state-changing requests must be {JSON_MIMETYPE}"
    return None
