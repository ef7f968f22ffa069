"""Staff maps in a real browser: the queue's clustered map view and the case page's map, at a
phone's width, under axe in English and Spanish."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.casework.test_browser import case, sign_in  # noqa: F401 - the fixture
from tests.requests.test_browser_filing import axe_violations

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("language", ["en", "es"])
def test_queue_map_and_case_map(audited_phone, live_server, case, language):  # noqa: F811
    page = audited_phone
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    sign_in(page, live_server, "streets.agent@city.example")
    page.goto(f"{live_server}/?lang={language}")
    page.goto(f"{live_server}/staff/queue/department?display=map")
    the_map = page.locator("#queue-map")
    expect(the_map).to_be_visible()
    expect(the_map.locator("path.portal-map__request, .portal-map__cluster").first).to_be_attached()
    page.wait_for_load_state("networkidle")
    found = {"queue map": axe_violations(page)}
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.goto(f"{live_server}/staff/cases/{case}")
    expect(page.locator("#case-map .portal-map__pin")).to_be_visible()
    page.wait_for_load_state("networkidle")
    found["case map"] = axe_violations(page)
    assert not {name: v for name, v in found.items() if v}
    assert problems == []
