"""A resident files a request in a real browser (Debian's chromium) on a phone-sized screen."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import select

from portal.core import clock
from portal.core.senders import SmtpSender
from portal.core.worker import deliver_outbox
from portal.requests.models import RequestPhoto, ServiceRequest
from tests.factories import Factories
from tests.smtp import body_text

pytestmark = pytest.mark.browser


@pytest.fixture
def city(committed_app):
    db = committed_app.extensions["portal.db"]
    session = db.session(write=True)
    make = Factories(session, committed_app.extensions["portal.settings"])
    area = make.area(name="Old Town", code="old-town")
    make.category(
        code="pothole",
        name="Pothole",
        questions=[
            {
                "code": "size",
                "kind": "single",
                "required": True,
                "prompt": "How big is it?",
                "options": [
                    {"key": "small", "label": "Smaller than a plate"},
                    {"key": "large", "label": "Larger than a plate"},
                ],
            },
        ],
    )
    session.commit()
    area_id = area.id
    session.close()
    return area_id


def photo_file(tmp_path):
    path = tmp_path / "pothole.jpg"
    Image.new("RGB", (800, 600), (90, 90, 90)).save(path, format="JPEG")
    return path


def test_resident_files_a_request_on_a_phone(
    phone, live_server, city, committed_app, smtp, tmp_path
):
    page = phone
    console_errors: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: console_errors.append(str(error)))
    page.goto(f"{live_server}/report/")
    page.locator("label", has_text="Pothole").click()
    page.get_by_role("button", name="Continue").click()

    page.get_by_label("Describe the problem").fill("A deep pothole outside the library")
    page.get_by_text("Larger than a plate").click()
    page.get_by_role("button", name="Continue").click()

    page.get_by_label("Street address or nearest intersection").fill("12 Mill Street")
    the_map = page.get_by_role("region", name=re.compile("^Map: drag the pin"))
    expect(the_map.locator(".portal-map__area").first).to_be_attached()  # the city's own areas
    map_box = the_map.bounding_box()
    assert map_box and map_box["width"] <= 390
    page.mouse.click(map_box["x"] + map_box["width"] / 2, map_box["y"] + map_box["height"] / 2)
    expect(page.locator("#lat")).not_to_have_value("")
    # The pin also moves with the arrow keys.
    tapped = page.locator("#lon").input_value()
    page.get_by_role("button", name=re.compile("^The problem's location")).press("ArrowRight")
    expect(page.locator("#lon")).not_to_have_value(tapped)
    page.get_by_role("button", name="Continue").click()

    page.locator("#photos").set_input_files(str(photo_file(tmp_path)))
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_role("button", name="Remove photo 1")).to_be_visible()
    page.get_by_role("button", name="Continue").click()

    page.get_by_label("Email address").fill("ana@example.org")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("A deep pothole outside the library")).to_be_visible()
    page.get_by_role("button", name="Send my request").click()

    expect(page.locator("[data-reference]")).to_be_visible()
    reference = page.locator("[data-reference]").inner_text().strip()
    assert reference.startswith("SR-")
    # No horizontal scrolling at 390 px.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    page.get_by_role("link", name=f"Track request {reference}").click()
    expect(page.locator("h1")).to_contain_text(reference)

    # No script error and nothing blocked by the Content-Security-Policy on the way.
    assert console_errors == []

    db = committed_app.extensions["portal.db"]
    session = db.session()
    filed = session.scalar(select(ServiceRequest).where(ServiceRequest.reference == reference))
    assert filed is not None
    assert filed.area_id == city
    assert filed.lat is not None
    photos = session.scalars(select(RequestPhoto).where(RequestPhoto.request_id == filed.id)).all()
    assert len(photos) == 1
    session.close()

    settings = committed_app.extensions["portal.settings"]
    stats = deliver_outbox(db, SmtpSender(settings), now=clock.now(), max_attempts=3)
    assert stats.sent >= 1
    received = smtp.to("ana@example.org")
    assert received and reference in received[0]["Subject"]
    assert reference in body_text(received[0])


AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"


def axe_violations(page) -> list[str]:
    """Run axe-core (WCAG 2.0-2.2 A and AA rules) on the page; describe each violation."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: `make assets` installs axe-core from npm")
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        """() => axe.run(document, {runOnly: {type: 'tag', values:
            ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}})"""
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
    ]


@pytest.mark.markup
@pytest.mark.parametrize("language", ["en", "es"])
def test_every_step_meets_wcag_aa(audited_phone, live_server, city, language):
    page = audited_phone
    seen: dict[str, list[str]] = {}

    def check(name: str, path: str) -> None:
        page.wait_for_url(re.compile(re.escape(path)))
        page.wait_for_load_state()
        seen[name] = axe_violations(page)

    page.goto(f"{live_server}/?lang={language}")
    check("home", "/")
    page.goto(f"{live_server}/report/")
    check("category", "/report/")
    page.goto(f"{live_server}/report/?category=pothole")
    page.locator("form.usa-form button[type=submit]").click()  # nothing filled: errors
    check("details with errors", "/report/details")
    page.locator("#description").fill("A deep pothole")
    page.locator("label[for=q_size]").click()
    page.locator("form.usa-form button[type=submit]").click()
    check("location", "/report/location")
    page.locator("#address").fill("12 Mill Street")
    page.locator("form.usa-form button[type=submit]").click()
    check("photos", "/report/photos")
    page.locator("button[value=continue]").click()
    check("contact", "/report/contact")
    page.locator("#email").fill("not-an-email")
    page.locator("form.usa-form button[type=submit]").click()
    check("contact with errors", "/report/contact")
    page.locator("#email").fill("ana@example.org")
    page.locator("form.usa-form button[type=submit]").click()
    check("check your answers", "/report/check")
    page.locator("main form button[type=submit]").click()
    check("confirmation", "/report/done")
    page.locator("a[href^='/requests/SR-']").first.click()
    check("tracking page", "/requests/SR-")
    page.goto(f"{live_server}/account/sign-in")
    check("sign in", "/account/sign-in")
    page.goto(f"{live_server}/account/sign-up")
    check("sign up", "/account/sign-up")
    problems = {name: found for name, found in seen.items() if found}
    assert not problems, problems


def test_the_form_works_without_javascript(chromium, live_server, city, committed_app):
    context = chromium.new_context(
        java_script_enabled=False, viewport={"width": 390, "height": 844}
    )
    page = context.new_page()
    try:
        page.goto(f"{live_server}/report/")
        page.locator("label", has_text="Pothole").click()
        page.get_by_role("button", name="Continue").click()
        page.get_by_label("Describe the problem").fill("Hole by the school gate")
        page.get_by_text("Smaller than a plate").click()
        page.get_by_role("button", name="Continue").click()
        expect(page.locator("[data-portal-map-block]")).to_be_hidden()  # the map needs JavaScript
        page.get_by_label("Street address or nearest intersection").fill("3 School Lane")
        page.get_by_role("button", name="Continue").click()
        page.get_by_role("button", name="Continue").click()  # no photos
        page.get_by_role("button", name="Continue").click()  # anonymous, no contact
        page.get_by_role("button", name="Send my request").click()
        expect(page.locator("[data-reference]")).to_have_text(re.compile(r"SR-\d{4}-\d{6}"))
    finally:
        context.close()
