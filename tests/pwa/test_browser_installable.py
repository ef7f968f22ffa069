"""Installable, in Chromium at a phone's 390x844 (issue 21): the browser parses the manifest
without errors and finds its 192 and 512 px icons, a service worker controls the page after a
reload, Chromium reports no installability error; with the network off, a page never visited
shows the offline page in the resident's language, which axe finds clean at 390 and 1280 px."""

from __future__ import annotations

import json
from typing import Any

import pytest

from portal.demo.loader import CITY_DIR
from tests.browser_plugin import CHROMIUM, CHROMIUM_ARGS
from tests.requests.test_browser_filing import axe_violations

pytestmark = pytest.mark.browser


@pytest.fixture
def imported(committed_app):
    """The demo city's configuration imported as an administrator would (icons drawn)."""
    result = committed_app.test_cli_runner().invoke(args=["city", "import", str(CITY_DIR)])
    assert result.exit_code == 0, result.output
    return committed_app


def _phone(chromium):
    context = chromium.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        service_workers="allow",
        # axe-core is injected as a script (test tooling): the page's CSP must let it run.
        bypass_csp=True,
    )
    return context, context.new_page()


def _controlled(page: Any) -> bool:
    page.evaluate("() => navigator.serviceWorker.ready")
    page.reload()
    page.wait_for_load_state("load")
    return bool(page.evaluate("() => navigator.serviceWorker.controller !== null"))


def test_the_install_criteria_are_met(chromium, live_server, imported, tmp_path):
    # A browser profile on disk: Chromium offers no installing in an incognito-like context
    # (a plain new_context), and says so ("in-incognito").
    context = chromium.browser_type.launch_persistent_context(
        str(tmp_path / "profile"),
        executable_path=str(CHROMIUM),
        headless=True,
        args=CHROMIUM_ARGS,
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        service_workers="allow",
    )
    page = context.pages[0] if context.pages else context.new_page()
    try:
        page.goto(f"{live_server}/")
        assert _controlled(page), "no service worker controls the page after a reload"
        cdp = context.new_cdp_session(page)
        manifest = cdp.send("Page.getAppManifest")
        assert manifest["errors"] == [], manifest["errors"]
        assert manifest["url"] == f"{live_server}/manifest.webmanifest?lang=en"
        data = json.loads(manifest["data"])
        assert (data["short_name"], data["display"]) == ("Riverton 311", "standalone")
        sizes = {icon["sizes"] for icon in data["icons"]}
        assert {"192x192", "512x512"} <= sizes
        errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
        assert errors == [], errors
        theme = page.locator('meta[name="theme-color"]').get_attribute("content")
        assert theme == "#1a4480"
    finally:
        context.close()


def test_offline_a_page_never_visited_shows_the_offline_page(chromium, live_server, imported):
    context, page = _phone(chromium)
    found: dict[str, list[str]] = {}
    try:
        page.goto(f"{live_server}/")
        assert _controlled(page)
        context.set_offline(True)

        failed: list[str] = []
        page.on("requestfailed", lambda request: failed.append(request.url))
        page.goto(f"{live_server}/programmes")  # never loaded while online
        page.wait_for_load_state("load")
        assert page.locator("h1").inner_text() == "You are offline"
        assert page.evaluate("() => document.documentElement.lang") == "en"
        link = page.get_by_role("link", name="Write a report now")
        assert link.get_attribute("href") == "/report/offline"  # the offline report page
        # The design system's styles came from the precache: the header is laid out.
        assert (
            page.locator(".usa-header").evaluate("el => getComputedStyle(el).display") != "inline"
        )
        for width in (390, 1280):
            page.set_viewport_size({"width": width, "height": 844})
            found[f"en {width}"] = axe_violations(page)
        # Everything the offline page uses (styles, scripts, the icons its styles name) was
        # precached: nothing it asked for failed.
        assert failed == [], failed

        # The language link of the offline page, still offline: the Spanish copy.
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(f"{live_server}/around?lang=es")
        assert page.locator("h1").inner_text() == "No tiene conexión"
        assert page.evaluate("() => document.documentElement.lang") == "es"
        for width in (390, 1280):
            page.set_viewport_size({"width": width, "height": 844})
            found[f"es {width}"] = axe_violations(page)
        assert failed == [], failed
    finally:
        context.close()
    assert all(not violations for violations in found.values()), found


def test_offline_the_page_speaks_the_language_the_resident_chose(chromium, live_server, imported):
    context, page = _phone(chromium)
    try:
        page.goto(f"{live_server}/?lang=es")
        assert _controlled(page)
        page.goto(f"{live_server}/accessibility")  # in Spanish (the cookie), tells the worker
        page.wait_for_load_state("load")
        context.set_offline(True)
        page.goto(f"{live_server}/programmes")
        assert page.locator("h1").inner_text() == "No tiene conexión"
        page.goto(f"{live_server}/my/requests")  # a personal page: never cached, offline page
        assert page.locator("h1").inner_text() == "No tiene conexión"
        cached = page.evaluate(
            """async () => {
                const urls = [];
                for (const name of await caches.keys()) {
                    const cache = await caches.open(name);
                    for (const request of await cache.keys()) urls.push(request.url);
                }
                return urls;
            }"""
        )
        paths = [url.split("/", 3)[3] for url in cached]
        # report/offline: the offline report page (static/js/sw-offline-reports.js), anonymous too.
        offline_pages = ("offline?lang=", "report/offline?lang=")
        assert all(
            p.startswith(("static/", *offline_pages, "city/logo", "__portal/")) for p in paths
        ), paths
    finally:
        context.close()
