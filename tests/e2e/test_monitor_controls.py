"""The monitor page's controls in headless Chromium against a live monitor: symbol tabs, compare
view and theme; strategy, risk and activity controls; watching a subset of symbols."""
from __future__ import annotations

import pytest

from tests.e2e.pages import WAIT_MS, received, wait_live

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_switch_symbols_compare_view_and_theme(page, artifacts):
    wait_live(page)
    page.click("#tab-ETHUSDT")
    page.wait_for_function("() => document.getElementById('head-symbol').textContent === 'ETHUSDT'", timeout=WAIT_MS)
    assert page.get_attribute("#tab-ETHUSDT", "aria-selected") == "true"
    assert page.inner_text("#book-symbol") == "ETHUSDT"
    page.wait_for_function(
        "() => { const g = document.getElementById('price-chart'); return g.layout.uirevision === 'ETHUSDT'; }",
        timeout=WAIT_MS)
    page.click("#tab-compare")
    page.wait_for_function("() => document.querySelectorAll('#compare-grid .cmp-card').length === 3", timeout=WAIT_MS)
    page.wait_for_function(
        "() => { const g = document.getElementById('compare-chart'); return g.data && g.data.length === 3; }",
        timeout=WAIT_MS)
    assert page.is_hidden("#view-symbol")
    page.wait_for_function("() => document.getElementById('compare-chart').data[0].x.length >= 10", timeout=WAIT_MS)
    page.screenshot(path=str(artifacts / "monitor_compare.png"))
    page.click("#compare-grid .cmp-card[data-symbol=BNBUSDT]")
    page.wait_for_function("() => document.getElementById('head-symbol').textContent === 'BNBUSDT'", timeout=WAIT_MS)

    page.click("#theme-toggle")
    assert page.get_attribute("html", "data-bs-theme") == "light"
    page.click("#tab-BTCUSDT")
    page.wait_for_function(
        """() => { const g = document.getElementById('price-chart');
                   return g.layout.uirevision === 'BTCUSDT' && g.data[0].x.length >= 30; }""", timeout=WAIT_MS)
    page.screenshot(path=str(artifacts / "monitor_light.png"))
    page.reload()
    wait_live(page)
    assert page.get_attribute("html", "data-bs-theme") == "light", "the theme choice persists"
    page.click("#theme-toggle")
    assert page.get_attribute("html", "data-bs-theme") == "dark"
    assert page.problems == []


def test_strategy_risk_and_activity_controls(page):
    wait_live(page)
    page.wait_for_selector("#strategy-list .strategy-toggle", timeout=WAIT_MS)
    toggle = "#strategy-BTCUSDT-liquidity_taker"
    was_on = page.is_checked(toggle)
    page.click(toggle)
    page.wait_for_selector("#ack-line.ok", timeout=WAIT_MS)
    page.wait_for_function(
        """on => window.monitor.store.symbol('BTCUSDT').strategy.strategies
              .find(s => s.name === 'liquidity_taker').enabled === on""", arg=not was_on, timeout=WAIT_MS)
    page.click(toggle)
    page.wait_for_function(
        """on => window.monitor.store.symbol('BTCUSDT').strategy.strategies
              .find(s => s.name === 'liquidity_taker').enabled === on""", arg=was_on, timeout=WAIT_MS)

    page.click("#btn-pause")
    page.wait_for_function("() => document.getElementById('risk-state').textContent === 'HALTED'", timeout=WAIT_MS)
    page.click("#btn-resume")
    page.wait_for_function("() => document.getElementById('risk-state').textContent === 'ACTIVE'", timeout=WAIT_MS)

    page.click("#limits-toggle")
    page.wait_for_selector("#limits-form input[name=max_open_orders]", state="visible", timeout=WAIT_MS)
    page.fill("#limits-form input[name=max_open_orders]", "9")
    page.click("#limits-apply")
    page.wait_for_function(
        "() => window.monitor.store.symbol('BTCUSDT').strategy.risk.limits.max_open_orders === 9", timeout=WAIT_MS)
    page.fill("#limits-form input[name=max_open_orders]", "-3")
    page.click("#limits-apply")
    page.wait_for_selector("#ack-line.err", timeout=WAIT_MS)
    assert "max_open_orders" in page.inner_text("#ack-line")

    # Activity filters: by kind and by symbol.
    page.wait_for_function("() => document.querySelectorAll('#activity .act').length >= 1", timeout=WAIT_MS)
    for kind in ("order", "cancel", "fill", "reject", "risk", "feed", "system"):
        page.click(f".kind-chip[data-kind={kind}]")
    kinds = page.evaluate("[...document.querySelectorAll('#activity .act')].map(e => e.dataset.kind)")
    assert set(kinds) <= {"strategy"}
    page.click(".kind-chip[data-kind=order]")
    page.select_option("#activity-symbol", "ETHUSDT")
    symbols = page.evaluate("[...document.querySelectorAll('#activity .act .s')].map(e => e.textContent)")
    assert set(symbols) <= {"ETHUSDT"}
    assert page.problems == []


def test_watching_a_subset_subscribes_to_it(page):
    wait_live(page)
    page.click("#watch-button")
    page.uncheck("#watch-BNBUSDT")
    page.uncheck("#watch-BTCUSDT")
    page.click("#watch-apply")
    page.wait_for_selector("#ack-line.ok", timeout=WAIT_MS)
    assert page.inner_text("#watch-label") == "1 of 3"
    assert page.is_hidden("#tab-BTCUSDT") and page.is_visible("#tab-ETHUSDT")
    page.wait_for_function("() => document.getElementById('head-symbol').textContent === 'ETHUSDT'", timeout=WAIT_MS)
    page.evaluate("""() => { window.__markets = new Set();
        window.monitor.conn.socket.on('snapshot', s => Object.keys(s.markets).forEach(k => window.__markets.add(k))); }""")
    page.wait_for_function(f"() => window.monitor.store.received >= {received(page) + 3}", timeout=WAIT_MS)
    assert page.evaluate("[...window.__markets]") == ["ETHUSDT"]
    page.click("#watch-button")
    page.check("#watch-BNBUSDT")
    page.check("#watch-BTCUSDT")
    page.click("#watch-apply")
    page.wait_for_function("() => document.getElementById('watch-label').textContent === 'All symbols'",
                           timeout=WAIT_MS)
    page.evaluate("window.__markets.clear()")
    page.wait_for_function("() => window.__markets.size === 3", timeout=WAIT_MS)
    assert page.problems == []
