"""HTTP: the page, health and readiness, Prometheus metrics, state and book queries, stream control."""
from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Response, current_app, g, render_template, request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from werkzeug.exceptions import HTTPException

from app.web.access import state_change_refusal
from app.web.assets import PLOTLY_MAP_STYLE_ID
from app.web.metrics import method_label, status_label
from app.web.wire import encode_json

MAX_BOOK_DEPTH = 5000
DEFAULT_BOOK_DEPTH = 20


def json_response(body: Any, status: int = 200) -> Response:
    return Response(encode_json(body), status=status, mimetype="application/json")


def _web() -> Any:
    return current_app.extensions["monitor"]


def build_routes_blueprint() -> Blueprint:
    routes = Blueprint("monitor", __name__)

    @routes.get("/")
    def page():
        web = _web()
        engine = web.engine
        return render_template(
            "index.html",
            symbols=list(engine.symbols),
            source=engine.source,
            streaming=bool(engine.streaming),
            push_interval_ms=round(web.broadcaster.interval_s * 1000),
            plotly_map_style_id=PLOTLY_MAP_STYLE_ID,
        )

    @routes.get("/health")
    def health():
        return json_response(_web().engine.health())

    @routes.get("/ready")
    def ready():
        engine = _web().engine
        if engine.ready():
            return json_response({"ready": True})
        health = engine.health()
        unsynced = sorted(s for s, h in (health.get("symbols") or {}).items()
                          if isinstance(h, dict) and not h.get("synced"))
        return json_response({"ready": False, "unsynced": unsynced, "reasons": health["reasons"]}, status=503)

    @routes.get("/metrics")
    def metrics():
        return Response(generate_latest(_web().registry), mimetype=CONTENT_TYPE_LATEST)

    @routes.get("/api/state")
    def state():
        return json_response(_web().engine.snapshot())

    @routes.get("/api/book/<symbol>")
    def book(symbol: str):
        try:
            raw_depth = request.args.get("depth", str(DEFAULT_BOOK_DEPTH))
        except UnicodeDecodeError:  # werkzeug decodes the query string strictly, on first access
            return json_response({"error": "the query string is not UTF-8"}, status=400)
        try:
            depth = int(raw_depth)
        except ValueError:
            depth = 0
        if not 1 <= depth <= MAX_BOOK_DEPTH:
            return json_response({"error": f"depth must be an integer 1..{MAX_BOOK_DEPTH}, got {raw_depth!r}"},
                                 status=400)
        try:
            return json_response(_web().engine.book(symbol.upper(), depth))
        except KeyError:
            return json_response({"error": f"unknown symbol {symbol.upper()}"}, status=404)

    @routes.post("/api/stream/<action>")
    def stream(action: str):
        if action not in ("start", "stop"):
            return json_response({"error": f"unknown stream action {action!r}; use start or stop"}, status=404)
        engine = _web().engine
        ack = engine.command("stream", {"action": action})
        if not ack.get("ok", False):
            return json_response({"error": ack.get("error", "stream command refused"),
                                  "streaming": bool(engine.streaming)}, status=409)
        return json_response({"streaming": bool(engine.streaming)})

    @routes.app_errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        return json_response({"error": exc.description or exc.name}, status=exc.code or 500)

    @routes.before_app_request
    def start_timer():
        g.request_started = time.perf_counter()

    @routes.before_app_request
    def guard_state_changes():
        refusal = state_change_refusal(request, _web().exposure)
        if refusal is None:
            return None
        status, reason = refusal
        response = json_response({"error": reason}, status=status)
        if status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="monitor"'
        return response

    @routes.after_app_request
    def count_request(response: Response) -> Response:
        started = g.get("request_started")
        if started is not None:
            metrics = _web().metrics
            endpoint = request.endpoint or "unmatched"
            metrics.http_requests.labels(endpoint=endpoint, method=method_label(request.method),
                                         status=status_label(response.status_code)).inc()
            metrics.http_seconds.labels(endpoint=endpoint).observe(time.perf_counter() - started)
        return response

    return routes
