"""The monitor page in headless Chromium against a live monitor: live data fills every panel,
stream stop/start, bounded DOM and a responsive main thread; the screenshot is saved."""
from __future__ import annotations

import pytest

from tests.e2e.pages import WAIT_MS, received, wait_live

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_page_fills_with_live_data(page, artifacts):
    wait_live(page)

    def expect_text(selector: str) -> None:
        page.wait_for_function(
            "s => { const el = document.querySelector(s); return el && /\\d/.test(el.textContent); }",
            arg=selector, timeout=WAIT_MS)

    assert page.get_attribute("html", "data-bs-theme") == "dark"
    assert page.inner_text("#source-badge") == "SIMULATED"
    assert page.inner_text("#stream-badge") == "STREAMING"
    for selector in ("#head-last", "#head-bid", "#head-ask", "#head-spread", "#tab-BTCUSDT .tab-last",
                     "#pnl-realized", "#pnl-unrealized", "#pnl-position", "#pnl-drawdown", "#pnl-sharpe-sub",
                     "#latency", "#push-rate"):
        expect_text(selector)
    page.wait_for_function("() => document.querySelectorAll('#ladder .ladder-row.ask:not(.empty)').length >= 5",
                           timeout=WAIT_MS)
    page.wait_for_function("() => document.querySelectorAll('#ladder .ladder-row.bid:not(.empty)').length >= 5",
                           timeout=WAIT_MS)
    page.wait_for_function("() => document.querySelectorAll('#tape-body tr').length >= 1", timeout=WAIT_MS)
    page.wait_for_function("() => document.querySelectorAll('#activity .act').length >= 1", timeout=WAIT_MS)
    page.wait_for_function(
        "() => { const g = document.getElementById('price-chart'); return g.data && g.data[0].x.length >= 5; }",
        timeout=WAIT_MS)
    page.wait_for_function(
        "() => { const g = document.getElementById('depth-chart'); return g.data && g.data[1].x.length >= 1; }",
        timeout=WAIT_MS)
    page.wait_for_function("() => !!document.getElementById('equity-chart').data", timeout=WAIT_MS)
    # Ladder: asks above bids, best ask above best bid, numbers at the symbol's precision.
    prices = page.evaluate("""() => {
        const best = s => document.querySelector(`#ladder .ladder-row.${s}:not(.empty) .price`).textContent;
        return {ask: best('ask'), bid: best('bid'), decimals: window.monitor.store.symbol('BTCUSDT').priceDecimals};
    }""")
    ask, bid = (float(prices[k].replace(",", "")) for k in ("ask", "bid"))
    assert ask > bid
    assert len(prices["ask"].split(".")[1]) == prices["decimals"]
    # The market maker's resting orders are marked on the ladder (or listed beyond its levels).
    page.wait_for_function(
        """() => document.querySelector('#ladder .has-own')
                 || document.querySelector('#ladder .ladder-beyond').textContent.includes('@')""",
        timeout=WAIT_MS)
    # Strategy controls were built from the snapshot.
    page.wait_for_selector("#strategy-list .strategy-toggle", timeout=WAIT_MS)
    # A few seconds of history on the chart, then the screenshot.
    page.wait_for_function("() => document.getElementById('price-chart').data[0].x.length >= 30", timeout=WAIT_MS)
    page.screenshot(path=str(artifacts / "monitor_dark.png"))
    # Sharpe carries its definition in a tooltip.
    page.hover("#sharpe-info")
    page.wait_for_selector(".tooltip-inner", timeout=WAIT_MS)
    definition = page.evaluate("window.monitor.store.portfolio.sharpe_definition")
    assert page.inner_text(".tooltip-inner") == definition
    # Seconds into a session, no annualised Sharpe: "n/a" and how much sample time it still needs.
    assert page.inner_text("#pnl-sharpe") == "n/a"
    # Portfolio totals say which asset they are in.
    assert page.inner_text("#pf-valuation") == "USDT"
    assert page.inner_text("#fee-tier") == "maker 10.0 bps · taker 10.0 bps"  # Binance's regular spot tier
    assert page.get_attribute("#portfolio-strip", "title").startswith("Portfolio totals in USDT")
    # Amounts that round to zero read 0.00, never -0.00.
    signs = page.evaluate("""async () => {
        const { signed } = await import('/static/js/format.js');
        return [signed(-0.001, 2), signed(0.004, 2), signed(-0.4, 2), signed(1.25, 2), signed(-0.0000004, 6)];
    }""")
    assert signs == ["0.00", "0.00", "-0.40", "+1.25", "0.000000"]
    page.wait_for_function("() => /needs 30 min of 1-second samples, [\\d,]+ s so far/"
                           ".test(document.getElementById('pnl-sharpe-sub').textContent)", timeout=WAIT_MS)
    assert page.problems == []


def test_stop_and_start_streaming(page):
    wait_live(page)
    page.click("#btn-stop")
    page.wait_for_function("() => document.getElementById('stream-badge').textContent === 'STOPPED'", timeout=WAIT_MS)
    page.wait_for_selector("#ack-line.ok", timeout=WAIT_MS)
    assert page.is_visible("#stopped-banner")
    assert page.is_disabled("#btn-stop") and page.is_enabled("#btn-start")
    # the health badge says why it is degraded
    page.wait_for_function("() => document.getElementById('health').title.includes('not streaming')",
                           timeout=WAIT_MS)
    assert page.inner_text("#health") == "DEGRADED"
    before = received(page)
    page.wait_for_timeout(1500)  # ~7 push periods: nothing may arrive while stopped
    assert received(page) - before <= 1  # at most the final "streaming stopped" snapshot in flight
    page.click("#btn-start")
    page.wait_for_function("() => document.getElementById('stream-badge').textContent === 'STREAMING'", timeout=WAIT_MS)
    page.wait_for_function(f"() => window.monitor.store.received >= {received(page) + 3}", timeout=WAIT_MS)
    assert not page.is_visible("#stopped-banner")
    assert page.problems == []


def test_page_stays_bounded_and_responsive(page):
    """DOM and buffers stay bounded; the main thread is not saturated (reported, loosely checked)."""
    wait_live(page)
    page.evaluate("""() => {
        window.__long = 0;
        new PerformanceObserver(l => { for (const e of l.getEntries()) window.__long += e.duration; })
            .observe({entryTypes: ['longtask']});
    }""")
    page.wait_for_timeout(5_000)
    sizes = page.evaluate("""() => ({
        tape: document.querySelectorAll('#tape-body tr').length,
        activity: document.querySelectorAll('#activity .act').length,
        ladder: document.querySelectorAll('#ladder .ladder-row').length,
        nodes: document.getElementsByTagName('*').length,
        long: window.__long,
    })""")
    assert sizes["tape"] <= 60 and sizes["activity"] <= 200 and sizes["ladder"] == 40
    assert sizes["nodes"] < 8000
    print(f"\nmain thread long tasks: {sizes['long']:.0f} ms in 5 s; DOM nodes {sizes['nodes']}")
    assert sizes["long"] < 4_500, "the page must never freeze the browser"
    assert page.problems == []


def test_own_orders_where_the_market_has_no_level_get_a_ladder_row(page):
    # The page's own Ladder module, fed a fixed book and orders: deterministic, no live timing.
    result = page.evaluate("""async () => {
        const { Ladder } = await import('/static/js/ladder.js');
        const box = document.createElement('div');
        document.body.append(box);
        const ladder = new Ladder(box, 5);
        const market = {
            depth: {bids: [[100.00, 1], [99.98, 2], [99.95, 3], [99.90, 1], [99.80, 1]],
                    asks: [[100.05, 1], [100.07, 2], [100.10, 1], [100.20, 1], [100.30, 1]]},
            mid: 100.025, spread: 0.05, spread_bps: 5,
        };
        ladder.update(market, [
            {side: 'buy', price: 100.02, qty: 0.5, filled: 0},    // inside the spread
            {side: 'sell', price: 100.08, qty: 0.3, filled: 0.1}, // between two ask levels
            {side: 'buy', price: 99.98, qty: 1, filled: 0},       // on a market level
            {side: 'sell', price: 101.00, qty: 1, filled: 0},     // beyond the five levels shown
        ], 2, 2);
        const rows = side => [...box.querySelectorAll(`.ladder-row.${side}:not(.empty)`)].map(
            r => [r.querySelector('.price').textContent, r.querySelector('.qty').textContent,
                  r.querySelector('.own').textContent]);
        return {bids: rows('bid'), asks: rows('ask'), beyond: box.querySelector('.ladder-beyond').textContent};
    }""")
    assert result["bids"] == [["100.02", "—", "0.50"], ["100.00", "1.00", ""], ["99.98", "2.00", "1.00"],
                              ["99.95", "3.00", ""], ["99.90", "1.00", ""]]
    assert result["asks"] == [["100.05", "1.00", ""], ["100.07", "2.00", ""], ["100.08", "—", "0.20"],
                              ["100.10", "1.00", ""], ["100.20", "1.00", ""]]
    assert result["beyond"] == "own beyond view: S 1.00 @ 101.00"
    assert not page.problems


def test_the_content_security_policy_holds_and_the_page_never_violates_it(page, monitor):
    response = page.reload()
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert response.headers["x-frame-options"] == "DENY" and response.headers["x-content-type-options"] == "nosniff"
    wait_live(page)
    # Everything that draws: charts, the compare view, tooltips, the theme switch.
    page.wait_for_function("() => document.getElementById('price-chart').data[0].x.length >= 10", timeout=WAIT_MS)
    page.click("#tab-compare")
    page.wait_for_function("() => document.querySelectorAll('#compare-grid .cmp-card').length === 3", timeout=WAIT_MS)
    page.click("#tab-BTCUSDT")
    page.hover("#sharpe-info")
    page.wait_for_selector(".tooltip-inner", timeout=WAIT_MS)
    page.click("#theme-toggle")
    page.click("#theme-toggle")
    page.wait_for_function(f"() => window.monitor.store.received >= {received(page) + 3}", timeout=WAIT_MS)
    assert page.evaluate("window.__cspViolations") == []
    assert page.problems == []
    assert page.evaluate("document.getElementById('plotly.js-style-global').sheet.cssRules.length") > 10, \
        "plotly's own style rules apply (through the CSSOM) under the policy"
    # The policy is in force: a script injected into the page does not run.
    ran = page.evaluate("""() => { const s = document.createElement('script');
        s.textContent = 'window.__injectedRan = true'; document.head.append(s);
        return window.__injectedRan === true; }""")
    assert ran is False
    page.wait_for_function("() => window.__cspViolations.some(v => v.startsWith('script-src'))", timeout=WAIT_MS)
