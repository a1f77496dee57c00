"""HTTP routes against the real engine: page and offline assets, health, readiness, metrics, state,
book queries and stream control."""
from __future__ import annotations

import re

from tests.web.conftest import SYMBOLS
from tests.web.schema import health_problems, schema_problems


def test_page_is_dark_and_every_asset_is_served_locally(http):
    page = http.get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-bs-theme="dark"' in html
    for symbol in SYMBOLS:
        assert f'data-symbol="{symbol}"' in html
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == [], "no inline script: the CSP forbids it"
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert not [u for u in urls if u.startswith(("http:", "https:", "//"))], "the page must work offline"
    assets = [u for u in urls if u.startswith(("/static/", "/vendor/"))]
    assert any("socket.io" in u for u in assets)
    assert any("plotly" in u for u in assets)
    assert any("bootstrap.min.css" in u for u in assets)
    for url in assets:
        response = http.get(url)
        assert response.status_code == 200, url
        assert len(response.get_data()) > 100, url
        response.close()


def test_page_scripts_and_icon_font_resolve(http):
    for url in ("/static/js/app.js", "/static/css/monitor.css", "/vendor/bootstrap/js/bootstrap.min.js",
                "/vendor/bootstrap/umd/popper.min.js", "/vendor/bootstrap/css/font/fonts/bootstrap-icons.woff2"):
        response = http.get(url)
        assert response.status_code == 200, url
        response.close()
    assert http.get("/vendor/bootstrap/../../../../etc/passwd").status_code == 404


def test_health_reports_every_field_and_reflects_sync(http, feeder):
    health = http.get("/health").get_json()
    assert health_problems(health, list(SYMBOLS)) == []
    assert health["source"] == "sim" and health["streaming"] is True
    assert health["status"] == "degraded"
    assert not any(entry["synced"] for entry in health["symbols"].values())
    for symbol in SYMBOLS:
        feeder.sync(symbol)
    health = http.get("/health").get_json()
    assert health["status"] == "ok"
    assert all(entry["synced"] for entry in health["symbols"].values())
    assert health["symbols"]["BTCUSDT"]["update_id"] == 1001
    assert health["symbols"]["BTCUSDT"]["msgs"] >= 2


def test_ready_is_503_until_every_book_is_synced(http, feeder):
    response = http.get("/ready")
    assert response.status_code == 503
    assert response.get_json() == {"ready": False, "unsynced": sorted(SYMBOLS),
                                   "reasons": [f"{s}: book not synced" for s in SYMBOLS]}
    feeder.sync("BTCUSDT")
    response = http.get("/ready")
    assert response.status_code == 503
    assert response.get_json()["unsynced"] == ["ETHUSDT"]
    feeder.sync("ETHUSDT")
    response = http.get("/ready")
    assert response.status_code == 200
    assert response.get_json() == {"ready": True}


def test_book_endpoint_depth_and_errors(http, feeder):
    feeder.sync("BTCUSDT")
    book = http.get("/api/book/BTCUSDT?depth=3").get_json()
    assert book["symbol"] == "BTCUSDT"
    assert book["update_id"] == 1001
    assert len(book["bids"]) == 3 and len(book["asks"]) == 3
    assert float(book["bids"][0][0]) == 100.0 and float(book["asks"][0][0]) == 100.01
    assert http.get("/api/book/btcusdt").get_json()["symbol"] == "BTCUSDT"
    assert len(http.get("/api/book/BTCUSDT").get_json()["bids"]) == 20

    unknown = http.get("/api/book/DOGEUSDT")
    assert unknown.status_code == 404
    assert unknown.get_json() == {"error": "unknown symbol DOGEUSDT"}
    for bad in ("0", "-1", "abc", "5001", "1.5", ""):
        response = http.get(f"/api/book/BTCUSDT?depth={bad}")
        assert response.status_code == 400, bad
        assert "depth must be an integer" in response.get_json()["error"]


def test_stream_start_stop_over_http(http, engine):
    assert http.post("/api/stream/stop", json={}).get_json() == {"streaming": False}
    assert engine.streaming is False
    assert http.get("/health").get_json()["streaming"] is False
    assert http.post("/api/stream/start", json={}).get_json() == {"streaming": True}
    assert engine.streaming is True
    assert http.post("/api/stream/pause", json={}).status_code == 404
    assert http.get("/api/stream/start").status_code == 405


def test_state_is_a_schema_conforming_snapshot(http, feeder):
    feeder.sync("BTCUSDT")
    feeder.trade("BTCUSDT", "100.01", "0.25")
    state = http.get("/api/state").get_json()
    assert schema_problems(state, list(SYMBOLS)) == []
    assert state["source"] == "sim"


def test_metrics_expose_http_and_push_counters(http):
    http.get("/health")
    response = http.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    assert 'monitor_http_requests_total{endpoint="monitor.health",method="GET",status="200"} 1.0' in text
    for name in ("monitor_socketio_clients", "monitor_push_seconds", "monitor_push_bytes_total",
                 "monitor_control_commands_total"):
        assert name in text


def test_unknown_paths_answer_json(http):
    response = http.get("/no/such/page")
    assert response.status_code == 404
    assert "error" in response.get_json()
