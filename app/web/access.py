"""Who may change things: the checks in front of every state-changing HTTP request and every
Socket.IO control event.

Rules:
- Reading (GET, HEAD, OPTIONS) is open: the page, ``/api/state``, ``/health``, ``/metrics``.
- Every other method changes state, and is refused unless
  - its ``Origin``, when it has one, is allowed (``Exposure.allows_origin``: the page's own, or
    one of ``--allowed-origins``), else 403: another site's page cannot act through the user's
    browser. A request without ``Origin`` (curl, scripts) is no browser's cross-site request:
    the token judges it;
  - its body is declared ``application/json``, else 415. A cross-site form or ``text/plain``
    request is one a browser sends without asking; ``application/json`` from another origin
    needs a CORS preflight, which this server never grants.
  - with a control token set, it carries ``Authorization: Bearer <token>``: without one 401,
    with another 403.
- A refused request changes nothing: the checks run before the route.
- Socket.IO: a client presents the token once, at connect (``auth={"token": ...}``). Without it
  (or with a wrong one) it still connects and watches, and is told so in its ``access`` event;
  every control event it sends is acknowledged ``{"ok": false, "error": ...}``. Subscribing to
  symbols and the clock are watching, not control.
- Every event from a client, watching or control, first takes a token from the client's bucket
  (``rate_limit``); over budget it is refused with the time to retry.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

from app.exposure import Exposure
from app.web import rate_limit

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
    if exposure.token is not None:
        scheme, _, credential = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not credential.strip():
            return 401, "this action needs the monitor's token: Authorization: Bearer <token>"
        if not exposure.accepts_token(credential.strip()):
            return 403, "token rejected"
    return None


NEEDS_TOKEN = "this action needs the monitor's token: watching only"


@dataclass
class _Client:
    cleared: bool                   # presented the token (or none is needed)
    budget: rate_limit.TokenBucket


class ControlGate:
    """Which connected Socket.IO clients may send control commands, and whether any client's
    event is within its budget (by session id)."""

    def __init__(self, exposure: Exposure, clock: Callable[[], float] = time.monotonic) -> None:
        self.exposure = exposure
        self.clock = clock
        self._clients: dict[str, _Client] = {}   # one entry per connected client

    def admit(self, sid: str, auth: Any) -> dict:
        """Note what ``sid`` presented at connect; the ``access`` event that tells the client."""
        required = self.exposure.token is not None
        presented = auth.get("token") if isinstance(auth, dict) else None
        cleared = self.exposure.accepts_token(presented)
        self._clients[sid] = _Client(cleared, rate_limit.TokenBucket(self.clock()))
        access: dict[str, Any] = {"token_required": required, "control": cleared}
        if not cleared:
            access["reason"] = "token rejected" if presented else "no token"
        return access

    def forget(self, sid: str) -> None:
        self._clients.pop(sid, None)

    def refusal(self, sid: str, control: bool) -> dict | None:
        """The ack refusing an event from ``sid`` (a control event when ``control``), or None."""
        client = self._clients.get(sid)
        if client is None:
            return {"ok": False, "error": "not connected"}
        retry_after_s = client.budget.take(self.clock())
        if retry_after_s > 0:
            return rate_limit.refusal(retry_after_s)
        if control and not client.cleared:
            return {"ok": False, "error": NEEDS_TOKEN}
        return None
