"""The developer page in a real browser (issue 24): at 320 px the page never scrolls sideways
(code scrolls inside its own labelled region) and axe finds nothing at 320 and 1280 px in
English and Spanish; the OpenAPI viewer (Swagger UI, vendored) draws every operation of the
document under the portal's own Content-Security-Policy, with no violation reported, and
without JavaScript the page still links the raw document."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from portal.open311 import keys
from tests.factories import Factories
from tests.requests.test_browser_filing import axe_violations

pytestmark = pytest.mark.browser
SCREENSHOTS = Path(__file__).resolve().parents[1] / "screenshots"

#: The page's overflow, and each code region (its own width and its scrolling).
MEASURE = """() => {
  const page = document.scrollingElement;
  const regions = [...document.querySelectorAll('.portal-code')].map(r => ({
    role: r.getAttribute('role'), label: r.getAttribute('aria-label'),
    tabindex: r.getAttribute('tabindex'), overflow: getComputedStyle(r).overflowX,
    right: r.getBoundingClientRect().right, scrolls: r.scrollWidth > r.clientWidth}));
  return {scrollWidth: page.scrollWidth, clientWidth: page.clientWidth, regions};
}"""


@pytest.fixture
def city(committed_app):
    db = committed_app.extensions["portal.db"]
    session = db.session(write=True)
    make = Factories(session, committed_app.extensions["portal.settings"])
    make.area()
    make.category(code="pothole", name="Pothole")
    keys.new_key(session, label="Docs", rate_limit="60/minute", contact_email="", by=None)
    session.commit()
    session.close()


@pytest.mark.markup
@pytest.mark.parametrize("width", [320, 1280])
def test_the_developer_page_fits_and_meets_wcag_aa(chromium, live_server, city, width):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = chromium.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
    page = context.new_page()
    problems: dict[str, object] = {}
    try:
        for lang in ("en", "es"):
            page.goto(f"{live_server}/developers/?lang={lang}")
            found = page.evaluate(MEASURE)
            if found["scrollWidth"] > found["clientWidth"]:
                problems[f"{lang} sideways"] = (found["scrollWidth"], found["clientWidth"])
            assert len(found["regions"]) >= 15, found["regions"]
            for region in found["regions"]:
                assert region["role"] == "region" and region["label"], region
                assert region["tabindex"] == "0" and region["overflow"] == "auto", region
                assert region["right"] <= found["clientWidth"], region
            if width == 320:
                # The long curl lines are there, scrolled inside their regions.
                assert any(r["scrolls"] for r in found["regions"])
            violations = axe_violations(page)
            if violations:
                problems[f"{lang} axe"] = violations
            if lang == "en":
                page.screenshot(path=str(SCREENSHOTS / f"developers-{width}.png"), full_page=True)
        # The side navigation goes to its section.
        page.goto(f"{live_server}/developers/?lang=en")
        page.get_by_role("link", name="Rate limits").first.click()
        expect(page).to_have_url(f"{live_server}/developers/?lang=en#limits")
    finally:
        context.close()
    assert problems == {}


def test_the_viewer_draws_the_openapi_document_under_the_portals_csp(chromium, live_server, city):
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text)
            if "Content Security Policy" in message.text
            or "Content-Security-Policy" in message.text
            else None
        ),
    )
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        response = page.goto(f"{live_server}/developers/api?lang=en")
        assert response is not None and response.status == 200
        assert "script-src 'self'" in response.headers["content-security-policy"]
        operations = page.locator("#swagger-ui .opblock")
        expect(operations.first).to_be_visible(timeout=15_000)
        summaries = page.locator("#swagger-ui .opblock-summary-path").all_inner_texts()
        assert "/open311/v2/requests.json" in summaries
        assert "/open311/v2/services/{service_code}.json" in summaries
        # With the viewer drawn, the "needs JavaScript" line is hidden.
        expect(page.locator("#openapi-fallback")).to_be_hidden()
        # A read tried from the viewer reaches this server.
        page.locator(
            "#swagger-ui .opblock-summary-path", has_text="/open311/v2/services.json"
        ).first.click()
        page.get_by_role("button", name="Try it out").first.click()
        page.get_by_role("button", name="Execute").first.click()
        expect(
            page.locator("#swagger-ui .live-responses-table tbody .response-col_status").first
        ).to_contain_text("200", timeout=10_000)
        page.screenshot(path=str(SCREENSHOTS / "developers-api-1280.png"), full_page=False)
    finally:
        context.close()
    assert violations == [] and errors == [], (violations, errors)


def test_without_javascript_the_viewer_page_links_the_document(chromium, live_server, city):
    context = chromium.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(f"{live_server}/developers/api?lang=es")
        link = page.get_by_role("link", name="El documento OpenAPI (JSON)")
        expect(link).to_be_visible()
        link.click()
        assert page.url.endswith("/open311/v2/openapi.json")
    finally:
        context.close()
