"""The control token in headless Chromium against a live monitor started with MONITOR_TOKEN:
the page asks once, watches read-only without the token (controls disabled, a badge, the server
refusing anyway), unlocks with it, and keeps it for the tab only."""
from __future__ import annotations

import pytest

from tests.e2e.conftest import open_tab
from tests.e2e.pages import WAIT_MS, wait_live
from tests.web.live import LiveMonitor

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TOKEN = "browser-token-for-tests-0123456789"
CONTROLS = ("#btn-stop", "#btn-pause", "#limits-apply", "#strategy-list .strategy-toggle")


@pytest.fixture(scope="module")
def guarded():
    with LiveMonitor("BTCUSDT", env={"MONITOR_TOKEN": TOKEN}) as live:
        yield live


@pytest.fixture
def tab(browser, guarded):
    context, page = open_tab(browser, guarded.url + "/")
    yield page
    context.close()


def heard_from_server(page) -> None:
    """The access verdict of the current connection is in."""
    wait_live(page)
    page.wait_for_function("() => window.monitor.access.state !== null", timeout=WAIT_MS)


def disabled(page) -> list[bool]:
    return [page.is_disabled(selector) for selector in CONTROLS]


def test_read_only_without_the_token_then_unlocked_with_it(tab):
    page = tab
    page.wait_for_selector("#token-modal.show #token-input", state="visible", timeout=WAIT_MS)
    page.click("#token-dismiss")
    page.wait_for_selector("#token-modal", state="hidden", timeout=WAIT_MS)
    heard_from_server(page)
    page.wait_for_selector("#strategy-list .strategy-toggle", timeout=WAIT_MS)
    assert page.is_visible("#readonly-badge") and page.is_visible("#unlock-button")
    assert disabled(page) == [True] * len(CONTROLS)
    # The server refuses this tab's commands even when the page is bypassed.
    ack = page.evaluate("""() => new Promise(done => window.monitor.conn.socket.timeout(5000)
                              .emit('risk', {symbol: 'BTCUSDT', action: 'pause'}, (err, ack) => done(ack)))""")
    assert ack["ok"] is False and "token" in ack["error"]
    assert page.inner_text("#risk-state") == "ACTIVE"

    page.reload()   # dismissed: not asked again in this tab
    heard_from_server(page)
    assert page.is_hidden("#token-modal") and page.is_visible("#readonly-badge")

    page.click("#unlock-button")
    page.wait_for_selector("#token-input", state="visible", timeout=WAIT_MS)
    page.fill("#token-input", "not-the-token-0123456789")
    page.click("#token-submit")
    page.wait_for_function("() => document.getElementById('token-error').textContent.includes('rejected')",
                           timeout=WAIT_MS)
    page.fill("#token-input", TOKEN)
    page.click("#token-submit")
    page.wait_for_selector("#token-modal", state="hidden", timeout=WAIT_MS)
    page.wait_for_selector("#readonly-badge", state="hidden", timeout=WAIT_MS)
    page.wait_for_function("() => window.monitor.access.state.control === true", timeout=WAIT_MS)
    page.wait_for_selector("#btn-pause:not([disabled])", timeout=WAIT_MS)
    page.click("#btn-pause")
    page.wait_for_function("() => document.getElementById('risk-state').textContent === 'HALTED'", timeout=WAIT_MS)
    page.click("#btn-resume")
    page.wait_for_function("() => document.getElementById('risk-state').textContent === 'ACTIVE'", timeout=WAIT_MS)
    assert TOKEN not in page.content(), "the token is never rendered"

    page.reload()   # the tab keeps its token: connected with control, no prompt
    heard_from_server(page)
    page.wait_for_function("() => window.monitor.access.state.control === true", timeout=WAIT_MS)
    assert page.is_hidden("#token-modal") and page.is_hidden("#readonly-badge")
    assert page.problems == []


def test_a_new_tab_is_asked_again(tab):
    tab.wait_for_selector("#token-modal.show #token-input", state="visible", timeout=WAIT_MS)
    assert tab.is_visible("#readonly-badge")
    assert tab.problems == []
