"""Staff insert a knowledge article's link into a reply from the case page's composer, in a
real browser (issue 22): "Link a help article" opens, the article chosen is inserted where the
cursor is, in the resident's language; the reply is sent and the email the resident gets over
SMTP carries the link. axe finds nothing with the list open, at 320 and 1280 px."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from portal.assist import articles
from portal.core import clock
from portal.core.senders import SmtpSender
from portal.core.worker import deliver_outbox
from portal.requests.service import Filing, submit_request
from portal.staff.models import StaffMembership
from tests.assist.test_articles import DEMO_ARTICLES, LANGUAGES
from tests.casework.test_browser import sign_in
from tests.factories import INSIDE, Factories
from tests.requests.test_browser_filing import axe_violations
from tests.smtp import body_text

pytestmark = pytest.mark.browser

RUNS = [
    ("en", 1280, "When is bulk pickup?", "Link a help article", "Send reply"),
    ("es", 320, "¿Cuándo es la recogida de objetos grandes?", "Enlazar un artículo de ayuda",
     "Enviar respuesta"),
]  # fmt: skip


@pytest.fixture
def cases(committed_app):
    """The demo's articles, a Streets agent, and a case filed by a resident in each language."""
    settings = committed_app.extensions["portal.settings"]
    session = committed_app.extensions["portal.db"].session(write=True)
    make = Factories(session, settings)
    streets = make.department(code="streets", name="Streets")
    make.area()
    make.category(code="bulk", name="Missed bulk pickup", department=streets)
    agent = make.user(email="agent@city.example", name="Agent", role="agent")
    session.add(StaffMembership(user_id=agent.id, department_id=streets.id, role="agent"))
    specs, _ = articles.read_articles(DEMO_ARTICLES, LANGUAGES)
    articles.sync_articles(session, specs, now=clock.now())
    references = {}
    for lang, *_ in RUNS:
        references[lang] = submit_request(
            session,
            settings=settings,
            filing=Filing(
                category_code="bulk",
                description="My old sofa is still on the curb",
                address="12 Elm Street",
                lat=INSIDE[0],
                lon=INSIDE[1],
                contact_email=f"resident.{lang}@example.org",
                locale=lang,
            ),
        ).request.reference
    session.commit()
    session.close()
    return references


@pytest.mark.parametrize(("lang", "width", "title", "summary", "send"), RUNS)
def test_staff_insert_an_article_link_and_the_resident_gets_it_by_email(
    chromium, live_server, committed_app, smtp, cases, lang, width, title, summary, send
) -> None:
    reference = cases[lang]
    context = chromium.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        sign_in(page, live_server, "agent@city.example")
        page.goto(f"{live_server}/staff/cases/{reference}?lang={lang}")
        composer = page.locator("#composer")
        links = composer.locator("[data-article-links]")
        links.locator("summary").filter(has_text=summary).click()
        chooser = links.locator("[data-article-insert]")
        expect(chooser).to_be_visible()  # shown by the script (hidden without JavaScript)
        assert axe_violations(page) == [], (lang, width)
        assert page.evaluate("document.documentElement.scrollWidth") <= width

        message = composer.locator("textarea[name=message]")
        opening = "Thank you." if lang == "en" else "Gracias."
        message.fill(opening)
        chooser.locator("select").select_option(label=title)
        chooser.get_by_role("button").click()
        url = f"{live_server}/help/bulk-pickup?lang={lang}"
        expect(message).to_have_value(f"{opening} {url}")
        message.press("End")
        message.press_sequentially(" :)")
        expect(message).to_have_value(f"{opening} {url} :)")  # the cursor is after the link
        # At the very start too (once the person has been in the message), spaced from the text.
        message.press("Control+Home")
        chooser.get_by_role("button").click()
        expect(message).to_have_value(f"{url} {opening} {url} :)")
        composer.get_by_role("button", name=send).click()
        page.wait_for_load_state()
        expect(page.locator("main")).to_contain_text(url)  # on the timeline
        assert errors == []
    finally:
        context.close()

    settings = committed_app.extensions["portal.settings"]
    db = committed_app.extensions["portal.db"]
    stats = deliver_outbox(db, SmtpSender(settings), now=clock.now(), max_attempts=3)
    assert stats.sent >= 1
    received = smtp.to(f"resident.{lang}@example.org")
    replies = [m for m in received if url in body_text(m)]
    assert len(replies) == 1, [m["Subject"] for m in received]
    assert re.search(rf"{re.escape(opening)}\s+{re.escape(url)}", body_text(replies[0]))
