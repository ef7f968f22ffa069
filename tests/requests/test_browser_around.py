"""Maps in a real browser: reports around here, the tracking page's map and the location step's
pin, at phone width and at 320 px, keyboard operable, under axe in English and Spanish."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from portal.places.models import Street
from tests.factories import Factories
from tests.requests.test_browser_filing import axe_violations

pytestmark = pytest.mark.browser


@pytest.fixture
def city(committed_app):
    db = committed_app.extensions["portal.db"]
    session = db.session(write=True)
    make = Factories(session, committed_app.extensions["portal.settings"])
    make.area(name="Old Town", code="old-town")
    session.add(
        Street(
            name="Mill Street", key="mill st", active=True,
            geometry={"type": "LineString", "coordinates": [[-87.008, 41.0], [-86.992, 41.0]]},
            min_lat=41.0, max_lat=41.0, min_lon=-87.008, max_lon=-86.992,
        )
    )  # fmt: skip
    category = make.category(code="pothole", name="Pothole")
    filed = [
        make.request(category=category, address=f"{n} Mill Street", lat=41.0, lon=-87.0 + n / 1e4)
        for n in range(1, 4)
    ]
    private = make.request(category=category, private_by_reporter=True, address="Secret Lane")
    session.commit()
    out = {"public": [sr.reference for sr in filed], "private": private.reference}
    session.close()
    return out


def test_reports_around_a_point_list_and_map(phone, live_server, city):
    page = phone
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(f"{live_server}/")
    page.get_by_role("link", name="See what is already reported around you").click()
    page.goto(f"{live_server}/around/?lat=41.0&lon=-87.0")
    for reference in city["public"]:
        expect(page.get_by_role("link", name=re.compile(reference))).to_be_visible()
    expect(page.get_by_text(city["private"])).to_have_count(0)
    the_map = page.get_by_role("region", name="Map of reports around this point")
    expect(the_map).to_be_visible()
    expect(the_map.locator("path.portal-map__request")).to_have_count(3)  # the same reports
    expect(the_map.locator("path.portal-map__street")).to_have_count(1)  # the city's streets
    # A marker opens a link to its report.
    page.wait_for_load_state("networkidle")
    the_map.locator("path.portal-map__request").first.click(force=True)
    expect(the_map.locator(".leaflet-popup-content a")).to_have_attribute(
        "href", re.compile("/requests/SR-")
    )
    # The map pans with the keyboard (Leaflet's keyboard handler).
    the_map.focus()
    before = the_map.locator(".leaflet-map-pane").get_attribute("style")
    page.keyboard.press("ArrowLeft")
    expect(the_map.locator(".leaflet-map-pane")).not_to_have_attribute("style", before or "")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert problems == []


def test_tracking_page_shows_where_the_request_is(phone, live_server, city):
    page = phone
    page.goto(f"{live_server}/requests/{city['public'][0]}")
    the_map = page.get_by_role("region", name=re.compile("Map of where request"))
    expect(the_map.locator(".portal-map__pin")).to_be_visible()
    page.get_by_role("link", name="Reports around this request").click()
    expect(page.locator("h1")).to_have_text("Reports around this point")


@pytest.mark.markup
@pytest.mark.parametrize("width", [320])
def test_maps_fit_a_narrow_phone(chromium, live_server, city, width):
    context = chromium.new_context(viewport={"width": width, "height": 640})
    page = context.new_page()
    try:
        for path in ("/around/?lat=41.0&lon=-87.0", f"/requests/{city['public'][0]}"):
            page.goto(f"{live_server}{path}")
            expect(page.locator(".leaflet-container").first).to_be_visible()
            assert page.evaluate("document.documentElement.scrollWidth") <= width, path
    finally:
        context.close()


@pytest.mark.markup
@pytest.mark.parametrize("language", ["en", "es"])
def test_map_pages_meet_wcag_aa(audited_phone, live_server, city, language):
    page = audited_phone
    seen: dict[str, list[str]] = {}
    page.goto(f"{live_server}/?lang={language}")
    for name, path in (
        ("around a point", "/around/?lat=41.0&lon=-87.0"),
        ("around, citywide", "/around/?status=all"),
        ("around, bad address", "/around/?q=999+Nowhere+Road"),
        ("tracking page", f"/requests/{city['public'][0]}"),
    ):
        page.goto(f"{live_server}{path}")
        expect(page.locator(".leaflet-container").first).to_be_visible()
        page.wait_for_load_state("networkidle")
        seen[name] = axe_violations(page)
    problems = {name: found for name, found in seen.items() if found}
    assert not problems, problems


def test_reports_around_without_javascript(chromium, live_server, city):
    context = chromium.new_context(
        java_script_enabled=False, viewport={"width": 390, "height": 844}
    )
    page = context.new_page()
    try:
        page.goto(f"{live_server}/around/")
        expect(page.locator("[data-portal-map-block]")).to_be_hidden()
        page.get_by_label("Street address").fill("999 Nowhere Road")
        page.get_by_role("button", name="Show reports").click()
        expect(page.get_by_text("We could not find that address").first).to_be_visible()
        for reference in city["public"]:
            expect(page.get_by_role("link", name=re.compile(reference))).to_be_visible()
    finally:
        context.close()
