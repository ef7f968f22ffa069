"""Browser tests: Debian's chromium driven by Playwright, against a live server on loopback.

Without /usr/bin/chromium the browser tests are skipped with a plain reason, except under CI
(``CI=true``) where a missing browser is a failure.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import make_server

CHROMIUM = Path(os.environ.get("PORTAL_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("CI") == "true":
        return  # the fixture fails loudly instead
    reason = f"browser tests skipped: {CHROMIUM} not found (apt-get install chromium)"
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture
def live_server(committed_app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, committed_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


@pytest.fixture
def chromium():
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: CI must install Debian's chromium package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


def _phone_page(chromium, **options):
    context = chromium.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        **options,
    )
    return context, context.new_page()


@pytest.fixture
def phone(chromium):
    """A page at a phone's viewport (390x844), under the portal's own CSP."""
    context, page = _phone_page(chromium)
    yield page
    context.close()


@pytest.fixture
def audited_phone(chromium):
    """A phone page that may inject axe-core (test tooling, so the CSP is bypassed)."""
    context, page = _phone_page(chromium, bypass_csp=True)
    yield page
    context.close()
