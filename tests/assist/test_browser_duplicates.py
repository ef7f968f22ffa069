"""The case page's "Possible duplicates" panel in a browser (issue 22): the first report shown
as a likely duplicate of the second with why, in English and Spanish at 320 and 1280 px, axe
finding nothing (WCAG 2.2 AA), nothing wider than the screen; "Not a duplicate" is a plain form
(works without JavaScript) and the panel says so after."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from portal.assist import duplicates
from portal.core import clock
from portal.staff.models import StaffMembership
from tests.assist.test_duplicates import FIRST, NEAR, SECOND
from tests.casework.test_browser import sign_in
from tests.factories import Factories
from tests.requests.test_browser_filing import axe_violations

pytestmark = pytest.mark.browser

RUNS = [("en", 320), ("es", 320), ("en", 1280), ("es", 1280)]
LIKELY = {"en": "Likely duplicate", "es": "Duplicado probable"}
NOT = {"en": "Not a duplicate", "es": "No es un duplicado"}
DONE = {"en": "Marked as not a duplicate.", "es": "Marcado como no duplicado."}


@pytest.fixture
def cases(committed_app):
    settings = committed_app.extensions["portal.settings"]
    session = committed_app.extensions["portal.db"].session(write=True)
    make = Factories(session, settings)
    streets = make.department(code="streets", name="Streets")
    category = make.category(code="pothole", name="Pothole", department=streets)
    agent = make.user(email="agent@city.example", name="Agent", role="agent")
    session.add(StaffMembership(user_id=agent.id, department_id=streets.id, role="agent"))
    pairs = []
    for _ in RUNS:
        first = make.request(category=category, description=FIRST)
        second = make.request(category=category, description=SECOND, lat=NEAR[0], lon=NEAR[1])
        duplicates.score_filed(session, second, settings=settings, now=clock.now())
        pairs.append((first.reference, second.reference))
    session.commit()
    session.close()
    return pairs


def test_the_panel_in_both_languages_at_two_widths(chromium, live_server, cases) -> None:
    for (lang, width), (first, second) in zip(RUNS, cases, strict=True):
        context = chromium.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
        try:
            page = context.new_page()
            sign_in(page, live_server, "agent@city.example")
            page.goto(f"{live_server}/staff/cases/{second}?lang={lang}")
            item = page.locator(f'[data-duplicate="{first}"]')
            expect(item).to_be_visible()
            expect(item).to_contain_text(LIKELY[lang])
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            assert axe_violations(page) == [], (lang, width)
            item.get_by_role("button", name=NOT[lang]).click()
            expect(page.locator("#duplicates")).to_contain_text(DONE[lang])
            assert page.locator(f'[data-duplicate="{first}"]').count() == 0
            assert axe_violations(page) == [], (lang, width, "after")
        finally:
            context.close()
