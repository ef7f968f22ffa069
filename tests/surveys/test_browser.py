"""The survey loop in a real browser (Debian's chromium): staff resolve a case, one invitation
reaches the SMTP server, the resident answers "No" on a phone and the case is back in
progress; the survey page meets WCAG 2.2 AA in English and Spanish."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from portal.core import clock
from portal.core.outbox import OutboxMessage
from portal.core.senders import SmtpSender
from portal.core.worker import deliver_outbox
from portal.requests.models import Event, ServiceRequest
from portal.requests.service import Filing, submit_request
from portal.staff.models import StaffMembership
from portal.surveys.invitations import send_due_invitations
from portal.surveys.models import SurveyInvitation
from tests.casework.test_browser import finish_task, sign_in
from tests.factories import INSIDE, Factories
from tests.smtp import body_text

pytestmark = pytest.mark.browser

SURVEY_SUBJECT = "How did we do with your request"


@pytest.fixture
def case(committed_app):
    """A Streets case filed by a resident by email, one open Streets task; a Streets agent
    and supervisor."""
    settings = committed_app.extensions["portal.settings"]
    session = committed_app.extensions["portal.db"].session(write=True)
    make = Factories(session, settings)
    streets = make.department(code="streets", name="Streets")
    make.area()
    make.category(code="pothole", name="Pothole", department=streets)
    for role in ("agent", "supervisor"):
        user = make.user(email=f"streets.{role}@city.example", name=f"Streets {role}", role=role)
        session.add(StaffMembership(user_id=user.id, department_id=streets.id, role=role))
    submitted = submit_request(
        session,
        settings=settings,
        filing=Filing(
            category_code="pothole",
            description="A deep pothole by the school gate",
            address="3 School Lane",
            lat=INSIDE[0],
            lon=INSIDE[1],
            contact_email="resident@example.org",
        ),
    )
    session.commit()
    reference = submitted.request.reference
    session.close()
    return reference


def _worker_round(app, at):
    """What ``flask worker`` does: the survey job, then the outbox to the SMTP server."""
    db = app.extensions["portal.db"]
    settings = app.extensions["portal.settings"]
    send_due_invitations(db, settings, at)
    deliver_outbox(db, SmtpSender(settings), now=at, max_attempts=3)


def _survey_mails(smtp, address):
    return [m for m in smtp.to(address) if SURVEY_SUBJECT in m["Subject"]]


def test_a_case_resolved_in_the_browser_is_surveyed_once_and_not_resolved_reopens_it(
    chromium, phone, live_server, case, committed_app, smtp
):
    settings = committed_app.extensions["portal.settings"]
    db = committed_app.extensions["portal.db"]
    desk = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = desk.new_page()
    try:
        sign_in(page, live_server, "streets.agent@city.example")
        page.goto(f"{live_server}/staff/cases/{case}")
        finish_task(page, "Streets")
        expect(page.locator("#survey")).to_be_visible()
        expect(page.locator("[data-survey-state]")).to_have_attribute(
            "data-survey-state", "pending"
        )
    finally:
        desk.close()

    session = db.session()
    status = session.scalar(select(ServiceRequest.status).where(ServiceRequest.reference == case))
    session.close()
    assert status == "resolved"

    # Nothing goes out before the delay; after it, exactly one invitation, however many
    # worker rounds run.
    _worker_round(committed_app, clock.now())
    assert _survey_mails(smtp, "resident@example.org") == []
    due = clock.now() + timedelta(hours=settings.survey_delay_hours, minutes=1)
    for _ in range(3):
        _worker_round(committed_app, due)
    smtp.wait_for(1)
    [mail] = _survey_mails(smtp, "resident@example.org")
    assert case in mail["Subject"]
    text = body_text(mail)
    link = re.search(r"http://portal\.test(/surveys/[A-Za-z0-9_-]{20,})\s", text).group(1)
    assert f"/surveys/opt-out/{link.rsplit('/', 1)[1]}" in text

    # The resident opens the link on a phone and says it is not resolved.
    console_errors: list[str] = []
    phone.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    phone.on("pageerror", lambda error: console_errors.append(str(error)))
    phone.goto(f"{live_server}{link}")
    expect(phone.locator("h1")).to_have_text("How did we do with your request?")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.get_by_role("group", name="Was your request resolved?").get_by_text(
        "No", exact=True
    ).click()
    phone.get_by_text("Very dissatisfied", exact=True).click()
    expect(phone.locator("#q-resolved-no")).to_be_checked()
    phone.get_by_label("Is there anything else you would like to tell us?").fill(
        "The pothole is still there and deeper."
    )
    phone.get_by_role("button", name="Send my answers").click()
    expect(phone.locator("h1")).to_have_text("Thank you for your answers")
    expect(phone.get_by_text(f"we have reopened request {case}")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    assert console_errors == []

    session = db.session()
    sr = session.scalar(select(ServiceRequest).where(ServiceRequest.reference == case))
    reopened = session.scalars(
        select(Event).where(Event.request_id == sr.id, Event.kind == "reopened")
    ).all()
    invitation = session.scalar(select(SurveyInvitation))
    notices = session.scalars(
        select(OutboxMessage.to_address).where(OutboxMessage.kind == "staff_notice")
    ).all()
    session.close()
    assert sr.status == "in_progress"
    assert [e.body for e in reopened] == ["The pothole is still there and deeper."]
    assert invitation.state == "answered"
    assert "streets.supervisor@city.example" in notices

    # The link is single-use.
    phone.goto(f"{live_server}{link}")
    expect(phone.locator("h1")).to_have_text("You have already answered this survey")


def _sent_survey_link(app) -> str:
    """Resolve the fixture's case through the domain and send its invitation; the link."""
    from portal.casework import tasks
    from portal.casework.models import Task

    settings = app.extensions["portal.settings"]
    db = app.extensions["portal.db"]
    session = db.session(write=True)
    agent = session.scalar(select(StaffMembership.user_id).limit(1))
    from portal.auth.models import User

    actor = session.get(User, agent)
    for task in session.scalars(select(Task).where(Task.is_open)):
        tasks.complete_task(session, settings=settings, task=task, actor=actor)
    session.commit()
    session.close()
    send_due_invitations(db, settings, clock.now() + timedelta(days=2))
    session = db.session()
    mail = session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "survey_invitation"))
    session.close()
    return re.search(r"http://portal\.test(/surveys/[A-Za-z0-9_-]{20,})\s", mail.body_text).group(1)


@pytest.mark.markup
def test_survey_pages_meet_wcag_aa_in_english_and_spanish(
    audited_phone, live_server, case, committed_app
):
    from tests.requests.test_browser_filing import axe_violations

    link = _sent_survey_link(committed_app)
    page = audited_phone
    problems = {}
    for path in (
        f"{link}?lang=en",
        f"{link}?lang=es",
        "/feedback?lang=en",
        "/feedback?lang=es",
        f"/surveys/opt-out/{link.rsplit('/', 1)[1]}",
    ):
        page.goto(f"{live_server}{path}")
        problems[path] = axe_violations(page)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
    # The error state: the summary, messages beside the fields.
    for lang, button in (("en", "Send my answers"), ("es", None)):
        page.goto(f"{live_server}{link}?lang={lang}")
        page.locator("main form button[type=submit]").click()
        expect(page.locator("[data-error-summary]")).to_be_visible()
        if button:
            expect(page.locator("#q-resolved-error")).to_have_text("Choose an answer.")
        problems[f"{link} errors ({lang})"] = axe_violations(page)
    assert page.locator("html").get_attribute("lang") == "es"
    assert {path: found for path, found in problems.items() if found} == {}
