"""Helpers shared by the browser tests.

``page.wait_for_function`` takes a function (``"() => ..."``), never a bare expression:
Playwright polls a bare expression through ``eval``, which the page's Content-Security-Policy
(no 'unsafe-eval') refuses."""
from __future__ import annotations

WAIT_MS = 45_000


def received(page) -> int:
    """Snapshots the page has folded in so far."""
    return page.evaluate("window.monitor.store.received")


def wait_live(page) -> None:
    """Connected and a few snapshots in."""
    page.wait_for_selector("#conn-badge[data-state=live]", timeout=WAIT_MS)
    page.wait_for_function("() => window.monitor && window.monitor.store.received >= 3", timeout=WAIT_MS)
