"""Residents' photos sized for the screen, in Chromium (issue 21): the browser picks the copy
that fits the screen (an 800 px WebP on a 390 px phone at 2x, 400 px on a desktop's 330 px
column), nothing moves when it arrives (width/height), the link opens the whole photo, and the
markup passes axe in English and Spanish at 390 and 1280 px, on the public tracking page and
on the staff case page."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from portal.requests.models import RequestPhoto
from portal.requests.photos import store_photo
from portal.staff.models import StaffMembership
from tests.casework.test_browser import sign_in
from tests.factories import Factories
from tests.requests.test_browser_filing import axe_violations

# How pages render (the engine changes nothing here): run once, on SQLite (.ci/run).
pytestmark = [pytest.mark.browser, pytest.mark.markup]


def camera_jpeg(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.effect_noise(size, 40).convert("RGB").save(out, format="JPEG", quality=90)
    return out.getvalue()


@pytest.fixture
def photographed(committed_app):
    """A public request with one 1600 x 1200 photo, and a Streets agent who may see it."""
    settings = committed_app.extensions["portal.settings"]
    session = committed_app.extensions["portal.db"].session(write=True)
    make = Factories(session, settings)
    streets = make.department(code="streets", name="Streets")
    category = make.category(code="pothole", name="Pothole", department=streets)
    agent = make.user(email="streets.agent@city.example", name="Streets agent", role="agent")
    session.add(StaffMembership(user_id=agent.id, department_id=streets.id, role="agent"))
    sr = make.request(category=category, description="A deep pothole outside the library")
    stored = store_photo(io.BytesIO(camera_jpeg((1600, 1200))), settings=settings)
    photo = RequestPhoto(
        request_id=sr.id,
        storage_key=stored.storage_key,
        width=stored.width,
        height=stored.height,
        size_bytes=stored.size_bytes,
    )
    session.add(photo)
    session.flush()
    found = (sr.reference, photo.id)
    session.commit()
    session.close()
    return found


#: The copy the browser chose and the image's box once it has loaded.
SHOWN = """(selector) => new Promise((resolve) => {
    const img = document.querySelector(selector);
    img.scrollIntoView();
    const box = () => [img.getBoundingClientRect().width, img.getBoundingClientRect().height];
    const done = () => resolve({src: img.currentSrc, box: box()});
    if (img.complete && img.naturalWidth) done(); else img.addEventListener('load', done);
})"""
BOX = """(selector) => {
    const r = document.querySelector(selector).getBoundingClientRect();
    return [r.width, r.height];
}"""


@pytest.mark.parametrize(
    ("width", "scale", "copy"), [(390, 2, "size=w800&format=webp"), (1280, 1, "size=w400")]
)
def test_the_tracking_page_picks_the_copy_that_fits(
    chromium, live_server, photographed, width, scale, copy
):
    reference, photo_id = photographed
    context = chromium.new_context(
        viewport={"width": width, "height": 844 if width < 400 else 900},
        device_scale_factor=scale,
        bypass_csp=True,
    )
    try:
        page = context.new_page()
        # Before the photo arrives (here: held back) its space is kept, in its proportions (width
        # and height): nothing moves when it does.
        held: list = []
        page.route("**/photos/**", lambda route: held.append(route))  # unanswered while we look
        page.goto(f"{live_server}/requests/{reference}", wait_until="domcontentloaded")
        page.wait_for_function("() => document.querySelector('img.portal-photo')")
        waiting = page.evaluate(BOX, "img.portal-photo")
        assert held, "the photo was not asked for"
        assert waiting[0] > 300 and abs(waiting[1] - waiting[0] * 0.75) < 1.5, waiting
        page.unroute("**/photos/**")  # lets the held requests go on
        for lang in ("en", "es"):
            page.goto(f"{live_server}/requests/{reference}?lang={lang}")
            shown = page.evaluate(SHOWN, "img.portal-photo")
            assert f"/requests/{reference}/photos/{photo_id}?{copy}" in shown["src"], shown
            copy_of = page.request.get(shown["src"])
            with Image.open(io.BytesIO(copy_of.body())) as image:
                assert image.width == int(copy.split("=w")[1].split("&")[0])
            assert shown["box"] == waiting, shown
            assert axe_violations(page) == [], (lang, width)
        link = page.locator(f"a[href='/requests/{reference}/photos/{photo_id}']")
        with page.expect_navigation():
            link.click()
        assert page.evaluate("() => document.images[0].naturalWidth") == 1600  # the whole photo
    finally:
        context.close()


def test_the_case_page_shows_the_photo_in_its_column(chromium, live_server, photographed):
    reference, photo_id = photographed
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    try:
        page = context.new_page()
        sign_in(page, live_server, "streets.agent@city.example")
        for lang in ("en", "es"):
            page.goto(f"{live_server}/staff/cases/{reference}?lang={lang}")
            selector = f"img[src*='/staff/cases/{reference}/photos/{photo_id}?size=']"
            shown = page.evaluate(SHOWN, selector)
            # A third of the main column (about 230 px): the 400 px copy, as WebP.
            assert shown["src"].endswith("?size=w400&format=webp"), shown
            assert axe_violations(page) == [], lang
    finally:
        context.close()
