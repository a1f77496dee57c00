"""Socket.IO handlers: connections, symbol subscriptions and the control panel's commands.

Every control event is acknowledged with ``{"ok": bool, "error"?: str, ...}``. Commands that
change trading state (stream, strategy, risk) go to the engine, which applies them between
market events; subscriptions only move the client between rooms. Bad payloads get one clear
error line in the ack, never an exception in the server. Every event passes the ``ControlGate``
first (``app.web.access``): control events need a cleared client.
"""
from __future__ import annotations

import functools
import logging
import time
from typing import Any, Callable

from flask import request
from flask_socketio import ConnectionRefusedError as RefusedConnection
from flask_socketio import Namespace, emit, join_room, leave_room

from app.payload import payload_problem
from app.web.access import ControlGate
from app.web.audience import Audience
from app.web.broadcaster import SnapshotBroadcaster, status_of
from app.web.metrics import WebMetrics
from strategies.parameters import shown

log = logging.getLogger(__name__)

CLIENT_EVENTS = ("subscribe", "stream", "strategy", "risk", "clock")


def _failure(message: str) -> dict:
    return {"ok": False, "error": message}


def _gated(command: str, control: bool = True) -> Callable:
    """A handler of event ``command`` that runs only when the gate lets the client's event through;
    otherwise the gate's refusal is the ack. ``control`` False: watching events."""
    def decorate(handler: Callable) -> Callable:
        @functools.wraps(handler)
        def gated(self: "ControlNamespace", data: Any = None) -> dict:
            refusal = self.gate.refusal(request.sid, control)
            return self._count(command, refusal) if refusal is not None else handler(self, data)
        return gated
    return decorate


class ControlNamespace(Namespace):
    """The default namespace ``/``: one instance serves every client."""

    def __init__(self, engine: Any, audience: Audience, broadcaster: SnapshotBroadcaster,
                 metrics: WebMetrics, max_clients: int, gate: ControlGate) -> None:
        super().__init__("/")
        self.gate = gate
        self.engine = engine
        self.audience = audience
        self.broadcaster = broadcaster
        self.metrics = metrics
        self.max_clients = max_clients

    # -- dispatch ----------------------------------------------------------------------------
    def trigger_event(self, event: Any, *args: Any) -> Any:
        """python-socketio's call for every event: ``args`` is (sid, *what the client sent).

        A client's packet may name any event (any JSON value) with any number of arguments, so
        dispatch is by a fixed list (CLIENT_EVENTS), one argument each. ``connect`` and
        ``disconnect`` run only when python-socketio raises them itself: sent as events by a
        client they are refused like any unknown name (dispatched, they would drop a live client
        from the count or double its pushes).
        """
        if event in ("connect", "disconnect") and self._raised_by_server(event, args):
            return super().trigger_event(event, *args)
        sid, *data = args
        if not isinstance(event, str) or event not in CLIENT_EVENTS:
            return self._count("unknown", _failure(f"unknown event {shown(event)}; events: {', '.join(CLIENT_EVENTS)}"))
        if len(data) > 1:
            return self._count(event, _failure(f"{event} takes one argument, got {len(data)}"))
        return super().trigger_event(event, sid, *data)

    def _raised_by_server(self, event: str, args: tuple) -> bool:
        """A real connect carries the very environ the server stored for the sid; during a real
        disconnect the sid is already pending disconnection. A client's event has neither."""
        sid = args[0]
        if event == "connect":
            return len(args) > 1 and args[1] is self.server.get_environ(sid, self.namespace)
        return not self.server.manager.is_connected(sid, self.namespace)

    # -- connections -------------------------------------------------------------------------
    def on_connect(self, auth: Any = None) -> None:
        if len(self.audience) >= self.max_clients:
            raise RefusedConnection(f"server full ({self.max_clients} clients)")
        sid = request.sid
        join_room(self.audience.join(sid))
        self._clients_changed()
        self.metrics.connections.inc()
        emit("status", status_of(self.engine))
        self._send_latest(None)
        emit("access", self.gate.admit(sid, auth))

    def on_disconnect(self, reason: Any = None) -> None:
        self.gate.forget(request.sid)
        if self.audience.leave(request.sid) is not None:
            self._clients_changed()

    # -- control events ----------------------------------------------------------------------
    @_gated("subscribe", control=False)
    def on_subscribe(self, data: Any = None) -> dict:
        """``{"symbols": [..]}``; an empty list or every symbol means all symbols."""
        if not isinstance(data, dict) or not isinstance(data.get("symbols"), list):
            return self._count("subscribe", _failure('subscribe needs {"symbols": ["BTCUSDT", ...]}'))
        problem = payload_problem(data)
        if problem or not all(isinstance(s, str) for s in data["symbols"]):
            return self._count("subscribe", _failure(f"subscribe: {problem or 'symbols must be strings'}"))
        try:
            symbols = self.audience.normalise(data["symbols"])
            old, new = self.audience.subscribe(request.sid, symbols)
        except ValueError as exc:
            return self._count("subscribe", _failure(str(exc)))
        except KeyError:
            return self._count("subscribe", _failure("not connected"))
        if old != new:
            leave_room(old)
            join_room(new)
            self._send_latest(symbols)
        chosen = sorted(symbols) if symbols is not None else list(self.engine.symbols)
        return self._count("subscribe", {"ok": True, "symbols": chosen})

    @_gated("stream")
    def on_stream(self, data: Any = None) -> dict:
        if not isinstance(data, dict) or data.get("action") not in ("start", "stop"):
            return self._count("stream", _failure('stream needs {"action": "start"|"stop"}'))
        return self._engine_command("stream", data)

    @_gated("strategy")
    def on_strategy(self, data: Any = None) -> dict:
        if not isinstance(data, dict) or not data.get("symbol") or not data.get("name"):
            return self._count("strategy", _failure(
                'strategy needs {"symbol", "name", "enabled"?: bool, "params"?: {..}}'))
        if "params" in data and not isinstance(data["params"], dict):
            return self._count("strategy", _failure("strategy params must be an object"))
        return self._engine_command("strategy", data)

    @_gated("risk")
    def on_risk(self, data: Any = None) -> dict:
        if not isinstance(data, dict) or not data.get("symbol") \
                or data.get("action") not in ("pause", "resume", "limits"):
            return self._count("risk", _failure(
                'risk needs {"symbol", "action": "pause"|"resume"|"limits", "limits"?: {..}}'))
        if data["action"] == "limits" and not isinstance(data.get("limits"), dict):
            return self._count("risk", _failure("risk limits must be an object"))
        return self._engine_command("risk", data)

    @_gated("clock", control=False)
    def on_clock(self, data: Any = None) -> dict:
        """Server time (ms) so a client can estimate its clock offset for latency figures."""
        return {"ok": True, "server_ms": time.time() * 1000.0}

    # -- helpers -----------------------------------------------------------------------------
    def _engine_command(self, name: str, payload: dict) -> dict:
        try:
            ack = self.engine.command(name, payload)
        except Exception as exc:  # the engine rejects with an exception: report it, keep serving
            log.warning("%s command failed: %s", name, exc)
            ack = _failure(f"{name}: {exc}")
        if not isinstance(ack, dict) or "ok" not in ack:
            ack = _failure(f"{name}: engine gave no acknowledgement")
        return self._count(name, ack)

    def _count(self, name: str, ack: dict) -> dict:
        self.metrics.controls.labels(command=name, ok=str(bool(ack.get("ok"))).lower()).inc()
        return ack

    def _clients_changed(self) -> None:
        count = len(self.audience)
        self.metrics.clients.set(count)
        self.engine.clients = count  # the engine reports it in /health and snapshots

    def _send_latest(self, symbols: frozenset[str] | None) -> None:
        frame = self.broadcaster.initial_frame(symbols)
        if frame is not None:
            emit("snapshot", frame)
