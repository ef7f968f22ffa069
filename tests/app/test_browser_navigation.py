"""The headers' phone menu in a real browser (issue 21): without JavaScript the Menu link opens
the navigation (its target) and every item can be reached at 320 and 390 px, in the resident
header and the back office's; with JavaScript the menu is USWDS's (buttons, Close and Escape,
focus in the panel); axe finds nothing in English and Spanish at 390 and 1280 px, menu open
and closed."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.auth.factories import PASSWORD
from tests.factories import Factories
from tests.requests.test_browser_filing import axe_violations

pytestmark = pytest.mark.browser

MENU = {"en": "Menu", "es": "Menú"}


@pytest.fixture
def people(committed_app):
    db = committed_app.extensions["portal.db"]
    session = db.session(write=True)
    make = Factories(session, committed_app.extensions["portal.settings"])
    department = make.department(code="streets", name="Streets")
    make.staff(department, email="agent@example.org", role="agent")
    make.user(email="kim@example.org")
    session.commit()
    session.close()


def _sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/account/sign-in")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()


def _reachable(page, link, width: int) -> None:
    """``link`` is shown, inside the window's width, and takes a tap."""
    expect(link).to_be_visible()
    box = link.bounding_box()
    assert box is not None
    assert box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5, box
    assert box["height"] >= 24, box  # WCAG 2.2 target size


def _open_menu(page, width: int, language: str = "en"):
    """Open the header's menu by its Menu link; return the navigation."""
    nav = page.locator("header nav.usa-nav")
    expect(nav).to_be_hidden()
    menu = page.get_by_role("link", name=MENU[language], exact=True)
    _reachable(page, menu, width)
    menu.click()
    expect(nav).to_be_visible()
    _slid_in(nav)
    return nav


def _slid_in(nav) -> None:
    """Wait for the panel's slide-in animation to end."""
    nav.evaluate("n => Promise.all(n.getAnimations().map(a => a.finished))")


@pytest.mark.parametrize("width", [320, 390])
def test_resident_menu_without_javascript(chromium, live_server, people, width):
    context = chromium.new_context(
        java_script_enabled=False, viewport={"width": width, "height": 740}
    )
    page = context.new_page()
    try:
        page.goto(f"{live_server}/")
        nav = _open_menu(page, width)
        items = ["Report a problem", "Track a request", "Programmes", "Sign in"]
        for name in items:
            _reachable(page, nav.get_by_role("link", name=name, exact=True), width)
        _reachable(page, nav.get_by_role("link", name="Español"), width)
        assert page.evaluate("document.documentElement.scrollWidth") <= width

        # Close folds it away again.
        nav.get_by_role("link", name="Close").click()
        expect(nav).to_be_hidden()

        # Every item leads where it says.
        for name, path in [
            ("Track a request", "/requests"),
            ("Programmes", "/programmes"),
            ("Report a problem", "/report/"),
            ("Sign in", "/account/sign-in"),
        ]:
            nav = _open_menu(page, width)
            nav.get_by_role("link", name=name, exact=True).click()
            expect(page).to_have_url(re.compile(re.escape(path)))
        nav = _open_menu(page, width)
        nav.get_by_role("link", name="Español").click()
        expect(page.locator("html")).to_have_attribute("lang", "es")
        nav = _open_menu(page, width, "es")
        _reachable(page, nav.get_by_role("link", name="Iniciar sesión", exact=True), width)

        # Signed in, the resident's own pages and Sign out are there too.
        _sign_in(page, live_server, "kim@example.org")
        page.goto(f"{live_server}/?lang=en")
        nav = _open_menu(page, width)
        for name in ["My requests", "My programmes", "Area alerts"]:
            _reachable(page, nav.get_by_role("link", name=name, exact=True), width)
        _reachable(page, nav.get_by_role("button", name="Sign out"), width)
    finally:
        context.close()


@pytest.mark.parametrize("width", [320, 390])
def test_back_office_menu_without_javascript(chromium, live_server, people, width):
    context = chromium.new_context(
        java_script_enabled=False, viewport={"width": width, "height": 740}
    )
    page = context.new_page()
    try:
        _sign_in(page, live_server, "agent@example.org")
        page.goto(f"{live_server}/staff/")
        nav = _open_menu(page, width)
        for name in ["Queues", "Search", "New request", "Notices", "Public site", "Your account"]:
            _reachable(page, nav.get_by_role("link", name=name), width)
        _reachable(page, nav.get_by_role("link", name="Español"), width)
        _reachable(page, nav.get_by_role("button", name="Sign out"), width)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        nav.get_by_role("link", name="Search", exact=True).click()
        expect(page).to_have_url(re.compile("/staff/search"))
        nav = _open_menu(page, width)
        nav.get_by_role("link", name="Close").click()
        expect(nav).to_be_hidden()
    finally:
        context.close()


def test_menu_with_javascript_is_uswds(phone, live_server, people):
    page = phone
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live_server}/")
    nav = page.locator("header nav.usa-nav")
    menu = page.get_by_role("button", name="Menu", exact=True)
    expect(menu).to_be_visible()
    expect(nav).to_be_hidden()
    menu.click()
    expect(nav).to_be_visible()
    expect(page.get_by_role("button", name="Close")).to_be_focused()
    assert "#" not in page.url  # the script's button: no jump
    page.keyboard.press("Escape")
    expect(nav).to_be_hidden()
    expect(menu).to_be_focused()
    page.keyboard.press(" ")  # a button works with Space too
    expect(nav).to_be_visible()
    page.get_by_role("button", name="Close").click()
    expect(nav).to_be_hidden()

    # A menu opened by its link before the script ran stays open, then closes as the script's.
    page.goto(f"{live_server}/requests#site-navigation")
    expect(nav).to_be_visible()
    page.get_by_role("button", name="Close").click()
    expect(nav).to_be_hidden()
    assert errors == []


@pytest.mark.parametrize("language", ["en", "es"])
def test_headers_meet_wcag_aa(chromium, live_server, people, language):
    problems: dict[str, list[str]] = {}
    for width in (390, 1280):
        context = chromium.new_context(viewport={"width": width, "height": 844}, bypass_csp=True)
        page = context.new_page()
        try:
            page.goto(f"{live_server}/?lang={language}")
            problems[f"home {width}"] = axe_violations(page)
            if width == 390:
                page.get_by_role("button", name=MENU[language], exact=True).click()
                expect(page.locator("header nav.usa-nav")).to_be_visible()
                _slid_in(page.locator("header nav.usa-nav"))
                problems[f"home, menu open {width}"] = axe_violations(page)
            _sign_in(page, live_server, "agent@example.org")
            page.goto(f"{live_server}/staff/")
            problems[f"back office {width}"] = axe_violations(page)
            if width == 390:
                page.get_by_role("button", name=MENU[language], exact=True).click()
                expect(page.locator("header nav.usa-nav")).to_be_visible()
                _slid_in(page.locator("header nav.usa-nav"))
                problems[f"back office, menu open {width}"] = axe_violations(page)
        finally:
            context.close()
    found = {name: seen for name, seen in problems.items() if seen}
    assert not found, found
