"""Machine translation on the case page, in a browser (issue 22): an English-speaking agent
opens a case whose description is Spanish, follows "Show a machine translation into English"
and the translation appears in place (no page load), labelled, under the original; a
Spanish-speaking agent does the same for the resident's English reply. axe finds nothing
(WCAG 2.2 AA) before and after, in English and Spanish, at 390 and 1280 px."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from portal.assist import language
from portal.requests.updates import resident_reply
from portal.staff.models import StaffMembership
from tests.casework.test_browser import sign_in
from tests.casework.test_case_language import SPANISH, _need_apertium
from tests.factories import Factories
from tests.requests.test_browser_filing import axe_violations

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[1] / "screenshots"
ENGLISH = "The hole is still there and it got bigger after the rain last night."
RUNS = [("en", 1280), ("en", 390), ("es", 1280), ("es", 390)]
LINK = {
    "en": "Show a machine translation into English",
    "es": "Mostrar una traducción automática al español",
}
HEADING = {
    "en": "Machine translation (Apertium), from Spanish:",
    "es": "Traducción automática (Apertium), del inglés:",
}


@pytest.fixture
def case(committed_app):
    settings = committed_app.extensions["portal.settings"]
    session = committed_app.extensions["portal.db"].session(write=True)
    make = Factories(session, settings)
    streets = make.department(code="streets", name="Streets")
    category = make.category(code="pothole", name="Pothole", department=streets)
    agent = make.user(email="agent@city.example", name="Agent", role="agent")
    session.add(StaffMembership(user_id=agent.id, department_id=streets.id, role="agent"))
    sr = make.request(category=category, description=SPANISH)
    event = resident_reply(session, settings=settings, request=sr, body=ENGLISH)
    session.commit()
    found = (sr.reference, event.id)
    session.close()
    return found


def test_translation_in_place_and_accessible(chromium, live_server, case) -> None:
    _need_apertium()
    for lang, width in RUNS:
        # Translations are kept in the process (the live server's): each run asks anew.
        language.translations.clear()
        context = chromium.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
        try:
            _run(context.new_page(), live_server, case, lang, width)
        finally:
            context.close()


def _run(page, base: str, case: tuple[str, int], lang: str, width: int) -> None:
    reference, event_id = case
    sign_in(page, base, "agent@city.example")
    page.goto(f"{base}/staff/cases/{reference}?lang={lang}")
    key = "description" if lang == "en" else f"event-{event_id}"
    block = page.locator(f"#text-{key}")
    assert block.locator("p").first.get_attribute("lang") == ("es" if lang == "en" else "en")
    assert axe_violations(page) == [], (lang, width, "before")
    loads: list[str] = []
    page.on("framenavigated", lambda f: loads.append(f.url) if f == page.main_frame else None)
    block.get_by_role("link", name=LINK[lang]).click()
    heading = page.locator(f"#text-{key}").get_by_text(HEADING[lang])
    expect(heading).to_be_visible(timeout=15000)
    expect(heading).to_be_focused()
    assert loads == [], "the translation came in place"
    assert page.locator(f"#text-{key} .usa-summary-box__text").get_attribute("lang") == lang
    assert (SPANISH if lang == "en" else ENGLISH) in page.locator(f"#text-{key}").inner_text()
    assert axe_violations(page) == [], (lang, width, "after")
    SCREENSHOTS.mkdir(exist_ok=True)
    page.locator(f"#text-{key}").screenshot(
        path=str(SCREENSHOTS / f"case-translation-{lang}-{width}.png")
    )
