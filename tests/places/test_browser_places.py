"""Issue 18's journey in a real browser at 390x844: a resident types the start of an address,
picks the suggestion, sees the map at that point and the "is it one of these?" prompt, files,
and the request carries the address point's coordinates and area; the same journey without
JavaScript files a request with coordinates."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from portal.requests.models import ServiceRequest
from tests.factories import INSIDE, Factories

pytestmark = pytest.mark.browser

POINT = (INSIDE[0] + 0.001, INSIDE[1] + 0.001)


@pytest.fixture
def city(committed_app):
    db = committed_app.extensions["portal.db"]
    session = db.session(write=True)
    make = Factories(session, committed_app.extensions["portal.settings"])
    area = make.area(name="Old Town", code="old-town")
    category = make.category(code="pothole", name="Pothole")
    make.street(
        "Main Street", coordinates=[[POINT[1] - 0.005, POINT[0]], [POINT[1] + 0.005, POINT[0]]]
    )
    point = make.address_point("118", "Main Street", lat=POINT[0], lon=POINT[1], area_id=area.id)
    make.address_point("120", "Main Street", lat=POINT[0], lon=POINT[1] + 0.0002, area_id=area.id)
    # Already reported, 20 m away: the resident is asked whether it is the same problem.
    existing = make.request(category=category, lat=POINT[0] + 0.0002, lon=POINT[1], area=area)
    session.commit()
    ids = {"area": area.id, "point": point.id, "existing": existing.reference}
    session.close()
    return ids


def _filed(committed_app, description: str) -> ServiceRequest:
    session = committed_app.extensions["portal.db"].session()
    try:
        return session.scalar(
            select(ServiceRequest).where(ServiceRequest.description == description)
        )
    finally:
        session.close()


def _details(page, live_server, description: str) -> None:
    page.goto(f"{live_server}/report/?category=pothole")
    page.locator("#description").fill(description)
    page.locator("form.usa-form button[type=submit]").click()
    page.wait_for_url(re.compile("/report/location"))


def _finish(page, reference: str) -> None:
    """From the nearby prompt to the confirmation."""
    page.wait_for_url(re.compile("/report/nearby"))
    expect(page.get_by_text(reference).first).to_be_visible()
    page.get_by_role("link", name="None of these: continue my report").click()
    page.get_by_role("button", name="Continue").click()  # no photos
    page.get_by_role("button", name="Continue").click()  # no contact details
    page.get_by_role("button", name="Send my request").click()
    expect(page.locator("[data-reference]")).to_be_visible()


def test_typed_address_suggestion_map_nearby_and_filing(phone, live_server, city, committed_app):
    page = phone
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    _details(page, live_server, "Pothole by the bakery")

    page.locator("#address").press_sequentially("118 Mai", delay=40)
    option = page.get_by_role("option", name=re.compile("118 Main Street"))
    expect(option).to_be_visible()
    option.click()
    expect(page.locator("#address")).to_have_value("118 Main Street")
    expect(page.locator("#lat")).to_have_value(re.compile(rf"^{POINT[0]:.3f}"))
    # The map is at that point, with the pin on it.
    the_map = page.get_by_role("region", name=re.compile("^Map: drag the pin"))
    expect(the_map).to_be_visible()
    expect(the_map.locator(".portal-map__pin")).to_be_visible()
    page.get_by_role("button", name="Continue").click()

    _finish(page, city["existing"])
    filed = _filed(committed_app, "Pothole by the bakery")
    assert (filed.lat, filed.lon) == POINT
    assert filed.area_id == city["area"] and filed.address_point_id == city["point"]
    assert filed.address == "118 Main Street" and filed.location_status == "found"
    assert not errors


def test_the_same_journey_without_javascript(chromium, live_server, city, committed_app):
    context = chromium.new_context(
        java_script_enabled=False, viewport={"width": 390, "height": 844}
    )
    page = context.new_page()
    try:
        _details(page, live_server, "Pothole by the school")
        page.locator("#address").fill("118 main st")
        page.get_by_role("button", name="Continue").click()
        _finish(page, city["existing"])
    finally:
        context.close()
    filed = _filed(committed_app, "Pothole by the school")
    assert (filed.lat, filed.lon) == POINT
    assert filed.area_id == city["area"] and filed.address_point_id == city["point"]
