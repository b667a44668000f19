"""Helpers for tests in Debian's Chromium: the served app, logging in, axe-core scans, layout."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

from tests.support.promotionkit import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "tests" / "browser" / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
NARROW = {"width": 375, "height": 740}


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, never a browser Playwright downloads."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                              args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@contextmanager
def served(app) -> Iterator[str]:
    """The app on a free local port (threaded: open log streams do not block other pages)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


def log_in(browser, base: str, username: str, **context_options):
    """A new browser context logged in as username; its page, on the dashboard.

    The context bypasses the Content-Security-Policy (unless told bypass_csp=False) only so
    that axe-core can be injected."""
    context_options.setdefault("bypass_csp", True)
    page = browser.new_context(**context_options).new_page()
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    return page


def serious_violations(page) -> list[str]:
    """axe-core's serious and critical findings on the page as it is, one line each."""
    assert AXE.exists(), "axe-core is missing: run `npm ci --prefix tests/browser`"
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("async () => (await axe.run(document)).violations"
                          ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
                          ".map(v => v.id + ': ' + v.help + ' — ' + "
                          "v.nodes.map(n => n.target.join(' ')).join(', '))")
    return [f"{page.url}: {line}" for line in found]


def scrolls_sideways(page) -> bool:
    """True if the page is wider than the viewport."""
    return page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
