"""The web layer: Flask app factory, Socket.IO, HTTP routes, the snapshot broadcaster.

``socketio`` is module level (Flask-SocketIO's application-factory style); ``create_app``
binds it to one Flask app and one engine. The async mode is whatever the process runs: eventlet
in production (``app.green`` patches the process before this is imported), ``threading`` in
in-process tests. Nothing here imports eventlet.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from flask_socketio import SocketIO

from app.web.assets import build_assets_blueprint
from app.web.audience import Audience
from app.web.broadcaster import SnapshotBroadcaster
from app.web.controls import ControlNamespace
from app.web.edge import Edge
from app.web.gc_pacer import GcPacer
from app.web.metrics import WebMetrics, registry_for
from app.web.routes import build_routes_blueprint
from app.web.wire import OrjsonPacket, WithoutWebSocketCompression

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PUSH_INTERVAL_S = 0.2
DEFAULT_MAX_CLIENTS = 5000
DEFAULT_GC_FULL_EVERY_S = 30.0

socketio = SocketIO()


@dataclass(frozen=True)
class WebState:
    """What the routes and handlers share, kept in ``app.extensions["monitor"]``."""

    engine: Any
    audience: Audience
    broadcaster: SnapshotBroadcaster
    metrics: WebMetrics
    registry: Any   # prometheus_client CollectorRegistry served at /metrics


def create_app(config: Any, engine: Any, async_mode: str | None = None, start_push: bool = True) -> Flask:
    """Build the Flask app for ``engine``.

    ``config`` is the monitor's frozen config (``app.config.MonitorConfig``); this reads
    ``push_interval_s`` (s), ``max_clients``, ``websocket_compression`` (default off: see
    ``wire.WithoutWebSocketCompression``) and ``gc_full_every_s`` (default 30 s, 0 = leave
    CPython's collector alone: see ``gc_pacer``), with defaults when ``config`` lacks them.
    ``async_mode`` None lets Flask-SocketIO pick eventlet when it is installed. The push loop
    starts as a background task unless ``start_push`` is False (tests drive it tick by tick).
    """
    interval_s = float(getattr(config, "push_interval_s", DEFAULT_PUSH_INTERVAL_S))
    max_clients = int(getattr(config, "max_clients", DEFAULT_MAX_CLIENTS))
    compression = bool(getattr(config, "websocket_compression", False))
    gc_full_every_s = float(getattr(config, "gc_full_every_s", DEFAULT_GC_FULL_EVERY_S))

    app = Flask("app.web", root_path=str(ROOT), template_folder=str(ROOT / "templates"),
                static_folder=str(ROOT / "static"), static_url_path="/static")
    app.config.update(JSON_SORT_KEYS=False, TEMPLATES_AUTO_RELOAD=False)
    app.json.sort_keys = False

    options: dict[str, Any] = {
        "serializer": OrjsonPacket,
        "manage_session": False,      # no Flask session in socket handlers: saves a copy per event
        "always_connect": True,       # CONNECT goes out first, so the connect handler may emit
        "ping_interval": 20,
        "ping_timeout": 20,
        "max_http_buffer_size": 64 * 1024,
    }
    if async_mode is not None:
        options["async_mode"] = async_mode
    socketio.init_app(app, **options)
    if not compression:
        # Outside Flask-SocketIO's middleware, so the handshake never sees the offer.
        app.wsgi_app = WithoutWebSocketCompression(app.wsgi_app)
    app.wsgi_app = Edge(app.wsgi_app)  # outermost: every request, Socket.IO's too, crosses it first

    registry = registry_for(engine)
    metrics = WebMetrics.of(registry)
    audience = Audience(engine.symbols)
    pacer = GcPacer(gc_full_every_s) if gc_full_every_s > 0 else None
    broadcaster = SnapshotBroadcaster(socketio, engine, audience, metrics, interval_s=interval_s, gc_pacer=pacer)
    app.extensions["monitor"] = WebState(engine, audience, broadcaster, metrics, registry)
    socketio.on_namespace(ControlNamespace(engine, audience, broadcaster, metrics, max_clients))

    app.register_blueprint(build_routes_blueprint())
    app.register_blueprint(build_assets_blueprint())
    if start_push:
        broadcaster.start()
    return app
