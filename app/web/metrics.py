"""Prometheus metrics of the web layer (HTTP, Socket.IO clients, pushes), in the engine's registry.

The engine owns the registry and fills it with feed/strategy metrics; this adds what only the web
layer sees, so ``/metrics`` exposes one coherent set.

Every label value comes from a fixed set: a label a client could choose (an HTTP method is any
token the client sends) would let anyone grow ``/metrics`` and the server's memory without
bound. HTTP methods and statuses outside the known sets count as ``other``; endpoints are the
app's own route names (``unmatched`` for the rest); commands are the handlers' names; symbols
are the configured ones.
"""
from __future__ import annotations

import http
import weakref

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

_PUSH_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0)
_HTTP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)

OTHER = "other"
HTTP_METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"))
HTTP_STATUSES = frozenset(str(status.value) for status in http.HTTPStatus)


def method_label(method: str) -> str:
    return method if method in HTTP_METHODS else OTHER


def status_label(code: int) -> str:
    text = str(code)
    return text if text in HTTP_STATUSES else OTHER


# One set per registry: a second app over the same engine (tests) reuses the collectors
# instead of failing on duplicate names.
_by_registry: "weakref.WeakKeyDictionary[CollectorRegistry, WebMetrics]" = weakref.WeakKeyDictionary()


class WebMetrics:
    """HTTP requests, connected clients, push cost (s) and volume (bytes, messages)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.http_requests = Counter(
            "monitor_http_requests", "HTTP requests served", ("endpoint", "method", "status"), registry=registry)
        self.http_seconds = Histogram(
            "monitor_http_request_seconds", "HTTP request handling time (s)", ("endpoint",),
            buckets=_HTTP_BUCKETS, registry=registry)
        self.clients = Gauge("monitor_socketio_clients", "connected Socket.IO clients", registry=registry)
        self.connections = Counter("monitor_socketio_connections", "Socket.IO connections accepted", registry=registry)
        self.rooms = Gauge("monitor_socketio_rooms", "distinct symbol-set rooms with members", registry=registry)
        self.pushes = Counter("monitor_push_ticks", "broadcaster ticks that pushed at least one snapshot",
                              registry=registry)
        self.push_seconds = Histogram(
            "monitor_push_seconds", "server time to build, encode and queue one push to every room (s)",
            buckets=_PUSH_BUCKETS, registry=registry)
        self.publish_seconds = Histogram(
            "monitor_publish_seconds", "time for the engine to build one snapshot (s)",
            buckets=_PUSH_BUCKETS, registry=registry)
        self.encode_seconds = Histogram(
            "monitor_push_encode_seconds", "time to encode one room's snapshot with orjson (s)",
            buckets=_PUSH_BUCKETS, registry=registry)
        self.push_bytes = Counter("monitor_push_bytes", "snapshot bytes queued to clients", registry=registry)
        self.push_messages = Counter("monitor_push_messages", "snapshot messages queued to clients",
                                     registry=registry)
        self.push_late = Counter("monitor_push_late", "ticks that started more than one interval late",
                                 registry=registry)
        self.push_errors = Counter("monitor_push_errors", "pushes that failed (logged, then retried next tick)",
                                   registry=registry)
        self.gc_seconds = Histogram(
            "monitor_gc_full_seconds", "paced full garbage collections between pushes (s)",
            buckets=_PUSH_BUCKETS, registry=registry)
        self.controls = Counter("monitor_control_commands", "control commands from clients", ("command", "ok"),
                                registry=registry)

    @classmethod
    def of(cls, registry: CollectorRegistry) -> "WebMetrics":
        metrics = _by_registry.get(registry)
        if metrics is None:
            metrics = _by_registry[registry] = cls(registry)
        return metrics


class EngineHealthCollector:
    """Exports ``engine.health()`` at scrape time: per-symbol feed counters and sync state.

    Used when the engine brings no metrics registry of its own, so ``/metrics`` still shows
    the feed. Reading health() at scrape time costs nothing between scrapes.
    """

    def __init__(self, engine) -> None:
        self.engine = engine

    def describe(self):
        return []

    def collect(self):
        health = self.engine.health()
        up = GaugeMetricFamily("monitor_streaming", "1 while market data streams")
        up.add_metric([], 1.0 if health.get("streaming") else 0.0)
        uptime = GaugeMetricFamily("monitor_uptime_seconds", "seconds since the engine started")
        uptime.add_metric([], float(health.get("uptime_s") or 0.0))
        synced = GaugeMetricFamily("monitor_book_synced", "1 when the symbol's book is synced", labels=["symbol"])
        age = GaugeMetricFamily("monitor_book_last_event_age_seconds", "age of the last book event (s)",
                                labels=["symbol"])
        counters = {
            key: CounterMetricFamily(f"monitor_feed_{key}", f"feed {key} per symbol", labels=["symbol"])
            for key in ("msgs", "gaps", "resyncs", "reconnects", "malformed")
        }
        for symbol, entry in (health.get("symbols") or {}).items():
            synced.add_metric([symbol], 1.0 if entry.get("synced") else 0.0)
            if entry.get("last_event_age_ms") is not None:
                age.add_metric([symbol], entry["last_event_age_ms"] / 1000.0)
            for key, family in counters.items():
                if entry.get(key) is not None:
                    family.add_metric([symbol], float(entry[key]))
        yield from (up, uptime, synced, age, *counters.values())


def registry_for(engine) -> CollectorRegistry:
    """The engine's registry when it has one; otherwise a registry exporting its health()."""
    registry = getattr(engine, "metrics_registry", None)
    if registry is None:
        registry = CollectorRegistry()
        registry.register(EngineHealthCollector(engine))
    return registry
