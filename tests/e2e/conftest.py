"""Browser fixtures: a live monitor and headless Debian Chromium driven by Playwright.

Chromium comes from Debian (/usr/bin/chromium, installed by tests/run.sh when missing); Playwright's
own browser download is never used."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.web.live import LiveMonitor

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
# Every Content-Security-Policy violation, as "directive blocked-url", in window.__cspViolations.
CSP_WATCH = """window.__cspViolations = [];
document.addEventListener('securitypolicyviolation',
    e => window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));"""


@pytest.fixture(scope="module")
def monitor():
    with LiveMonitor("BTCUSDT,ETHUSDT,BNBUSDT") as live:
        yield live


@pytest.fixture(scope="module")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} missing: run `bash tests/run.sh`, which installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _cancelled_icon(request) -> bool:
    """Chromium cancels a favicon fetch when the page is busy (seen under a loaded CI machine):
    not a failure of the page. Any other failed request, or a favicon that failed otherwise, counts."""
    return request.url.endswith("/favicon.svg") and "ERR_ABORTED" in (request.failure or "")


def open_tab(browser, url: str):
    """A fresh browser context (its own storage) with one page on ``url``; ``page.problems``
    collects page errors, console errors (CSP violations among them) and failed requests."""
    context = browser.new_context(viewport={"width": 1680, "height": 1000})
    context.add_init_script(CSP_WATCH)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("console", lambda msg: problems.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None)
    page.on("requestfailed", lambda req: None if _cancelled_icon(req) else problems.append(
        f"request failed: {req.url} ({req.failure})"))
    page.problems = problems
    page.goto(url)
    return context, page


@pytest.fixture
def page(browser, monitor):
    context, page = open_tab(browser, monitor.url + "/")
    yield page
    context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
