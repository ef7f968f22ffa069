"""The "Describe the problem" step in a real browser (issue 22): as the resident types, the
suggested categories and answers appear, a live region says so, one click goes on with the
words kept; axe finds nothing, in English and Spanish, at 320 px."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from portal.assist import articles, categories
from portal.core import clock
from tests.assist.corpus import arrange
from tests.assist.test_articles import DEMO_ARTICLES, LANGUAGES
from tests.factories import Factories
from tests.requests.test_browser_filing import axe_violations

pytestmark = pytest.mark.browser

DONE_WHEN = "theres a big hole in the road outside 12 elm st my tyre burst"


@pytest.fixture
def settings(settings):
    from dataclasses import replace

    return replace(settings, assist_category_min_examples=20)


@pytest.fixture
def trained(committed_app):
    db = committed_app.extensions["portal.db"]
    session = db.session(write=True)
    make = Factories(session, committed_app.extensions["portal.settings"])
    arrange(make)
    specs, _ = articles.read_articles(DEMO_ARTICLES, LANGUAGES)
    articles.sync_articles(session, specs, now=clock.now())
    session.flush()
    assert categories.retrain(
        session, settings=committed_app.extensions["portal.settings"], now=clock.now()
    )
    session.commit()
    session.close()


@pytest.mark.parametrize("language", ["en", "es"])
def test_suggestions_appear_as_the_resident_types(audited_phone, live_server, trained, language):
    page = audited_phone
    page.set_viewport_size({"width": 320, "height": 800})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live_server}/report/describe?lang={language}")
    assert axe_violations(page) == []
    box = page.locator("textarea#description")
    status = page.locator("[data-suggestion-status]")
    assert status.get_attribute("role") == "status"
    if language == "en":
        box.press_sequentially("when do you pick up my old couch", delay=5)
        answers = page.get_by_role("region", name="Answers that may help")
        expect(answers.get_by_role("link", name="When is bulk pickup?")).to_be_visible()
        box.fill("")
        box.press_sequentially(DONE_WHEN, delay=5)
        first = page.locator("[data-suggestion-list] button").first
        expect(first).to_have_text("Pothole")
        expect(status).to_contain_text("suggested kind")
    else:
        box.press_sequentially("se fundio el foco del poste de luz", delay=5)
        first = page.locator("[data-suggestion-list] button").first
        expect(first).to_have_text("Alumbrado público apagado")
        expect(status).to_contain_text("sugerido")
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    assert axe_violations(page) == []
    first.click()
    page.wait_for_url(re.compile(r"/report/details"))
    typed = DONE_WHEN if language == "en" else "se fundio el foco del poste de luz"
    expect(page.locator("textarea#description")).to_have_value(typed)
    assert errors == []


def test_without_javascript_continue_offers_the_same_choices(chromium, live_server, trained):
    context = chromium.new_context(
        java_script_enabled=False, viewport={"width": 320, "height": 800}
    )
    page = context.new_page()
    page.goto(f"{live_server}/report/describe")
    page.locator("textarea#description").fill(DONE_WHEN)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(re.compile(r"/report/describe/choose"))
    buttons = page.locator("button[name=category]")
    expect(buttons.first).to_have_text("Pothole")
    page.get_by_role("link", name="See all categories").click()
    page.wait_for_url(re.compile(r"/report/$"))
    context.close()
