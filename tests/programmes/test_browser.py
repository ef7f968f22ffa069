"""Programmes in a real browser (Debian's chromium): a resident takes the last place, a second
joins the waitlist, the first cancels, the second gets the offer at the SMTP server and
accepts it on a phone; the coordinator marks attendance on a tablet and exports the roster."""

from __future__ import annotations

import csv
import io
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from portal.core import clock
from portal.core.audit import AuditEntry
from portal.core.senders import SmtpSender
from portal.core.worker import deliver_outbox
from portal.programmes.models import Attendance, Enrolment, Programme
from portal.programmes.service import process_programme_offers
from tests.casework.test_browser import sign_in
from tests.factories import Factories
from tests.smtp import body_text

pytestmark = pytest.mark.browser

FIRST = "first.resident@example.org"
SECOND = "second.resident@example.org"
COORDINATOR = "coordinator@city.example"


@pytest.fixture
def academy(committed_app):
    """The Citizens Engagement Academy: 3 places, 2 already taken, two sessions, one
    eligibility question; two residents and a coordinator. Returns the programme's id."""
    settings = committed_app.extensions["portal.settings"]
    session = committed_app.extensions["portal.db"].session(write=True)
    make = Factories(session, settings)
    programme = make.programme(
        title="Citizens Engagement Academy",
        capacity=3,
        sessions=2,
        completion_min_sessions=1,
        questions=[
            {
                "code": "lives_in_city",
                "kind": "yesno",
                "required": True,
                "prompt": "Do you live or work in the city?",
                "eligible_values": ["yes"],
                "ineligible_message": "The Academy is for people who live or work here.",
            }
        ],
    )
    for _ in range(2):
        make.enrolment(programme)
    make.user(email=FIRST, name="Ana First")
    make.user(email=SECOND, name='=HYPERLINK("http://evil.example")')
    make.user(email=COORDINATOR, name="Cora Coordinator", role="coordinator")
    session.commit()
    programme_id = programme.id
    session.close()
    return programme_id


def _worker_round(app):
    """What ``flask worker`` does: the offers job, then the outbox to the SMTP server."""
    db = app.extensions["portal.db"]
    settings = app.extensions["portal.settings"]
    process_programme_offers(db, settings, clock.now())
    deliver_outbox(db, SmtpSender(settings), now=clock.now(), max_attempts=3)


def _enrol(page, base, programme_id):
    page.goto(f"{base}/programmes")
    page.get_by_role("link", name="Citizens Engagement Academy").click()
    page.locator(f"a[href$='/programmes/{programme_id}/enrol']").first.click()
    page.get_by_role("group", name="Do you live or work in the city?").get_by_text(
        "Yes", exact=True
    ).click()
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()


def test_last_place_waitlist_offer_accept_attendance_and_roster(
    chromium, phone, live_server, academy, committed_app, smtp
):
    db = committed_app.extensions["portal.db"]
    console_errors: list[str] = []
    phone.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    phone.on("pageerror", lambda error: console_errors.append(str(error)))

    # The first resident takes the last place.
    sign_in(phone, live_server, FIRST)
    _enrol(phone, live_server, academy)
    expect(phone.locator("[data-enrolment-state]")).to_have_attribute(
        "data-enrolment-state", "enrolled"
    )
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    first_page = phone.url
    phone.context.clear_cookies()  # signed out

    # The second joins the waitlist, first in line.
    sign_in(phone, live_server, SECOND)
    _enrol(phone, live_server, academy)
    expect(phone.locator("[data-enrolment-state]")).to_have_attribute(
        "data-enrolment-state", "waitlisted"
    )
    expect(phone.locator("[data-waitlist-position]")).to_have_attribute(
        "data-waitlist-position", "1"
    )
    phone.context.clear_cookies()  # signed out

    # The first cancels.
    sign_in(phone, live_server, FIRST)
    phone.goto(first_page)
    phone.locator("form[action$='/cancel'] button[type=submit]").click()
    phone.wait_for_load_state()
    expect(phone.locator("[data-enrolment-state]")).to_have_attribute(
        "data-enrolment-state", "cancelled"
    )
    phone.context.clear_cookies()  # signed out

    # The worker offers the place; the offer reaches the SMTP server with its deadline.
    _worker_round(committed_app)
    _worker_round(committed_app)
    smtp.wait_for(1)
    offers = [
        m
        for m in smtp.to(SECOND)
        if m["Subject"] == "A place in Citizens Engagement Academy is yours if you want it"
    ]
    assert len(offers) == 1, [m["Subject"] for m in smtp.to(SECOND)]
    link = re.search(r"http://portal\.test(/my/programmes/\d+)\s", body_text(offers[0])).group(1)

    # The second resident opens the link and accepts.
    sign_in(phone, live_server, SECOND)
    phone.goto(f"{live_server}{link}")
    expect(phone.locator("[data-enrolment-state]")).to_have_attribute(
        "data-enrolment-state", "offered"
    )
    phone.locator("form[action$='/accept'] button[type=submit]").click()
    phone.wait_for_load_state()
    expect(phone.locator("[data-enrolment-state]")).to_have_attribute(
        "data-enrolment-state", "enrolled"
    )
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    assert console_errors == []

    session = db.session()
    programme = session.get(Programme, academy)
    second = session.scalar(
        select(Enrolment)
        .where(Enrolment.state == "enrolled")
        .order_by(Enrolment.enrolled_at.desc())
        .limit(1)
    )
    code, first_session = second.check_in_code, programme.sessions[0].id
    assert (programme.taken, programme.waiting) == (3, 0)
    session.close()

    # The coordinator, on a tablet, checks the second resident in by code, marks another
    # participant present by name, and exports the roster.
    tablet = chromium.new_context(
        viewport={"width": 768, "height": 1024}, has_touch=True, accept_downloads=True
    )
    page = tablet.new_page()
    try:
        sign_in(page, live_server, COORDINATOR)
        page.goto(f"{live_server}/staff/programmes/{academy}/sessions/{first_session}/attendance")
        page.get_by_label("Check-in code").fill(code.lower())
        page.locator("form[action$='/attendance'] button[type=submit]").first.click()
        page.wait_for_load_state()
        expect(page.locator(".usa-alert--success")).to_be_visible()
        page.get_by_role("button", name=re.compile(r"^Present Resident \d+$")).first.click()
        # Marked in place (attendance.js), announced in the live region.
        expect(page.locator("#attendance-status")).to_contain_text(": present.")
        assert page.evaluate("document.documentElement.scrollWidth") <= 768

        page.goto(f"{live_server}/staff/programmes/{academy}/roster")
        with page.expect_download() as download_info:
            page.locator(f"a[href$='/staff/programmes/{academy}/roster.csv']").click()
        text = download_info.value.path().read_text(encoding="utf-8-sig")
    finally:
        tablet.close()

    rows = list(csv.reader(io.StringIO(text)))
    names = [row[0] for row in rows[1:]]
    assert "Ana First" in names
    assert '\'=HYPERLINK("http://evil.example")' in names
    session = db.session()
    present = session.scalars(
        select(Attendance).where(Attendance.session_id == first_session, Attendance.present)
    ).all()
    exports = session.scalars(
        select(AuditEntry).where(
            AuditEntry.entity == "programme", AuditEntry.action == "roster_export"
        )
    ).all()
    session.close()
    assert len(present) == 2
    assert [e.entity_id for e in exports] == [str(academy)]


@pytest.mark.markup
def test_programme_pages_meet_wcag_aa_in_english_and_spanish(
    chromium, audited_phone, live_server, academy, committed_app
):
    from tests.requests.test_browser_filing import axe_violations

    db = committed_app.extensions["portal.db"]
    page = audited_phone
    problems: dict[str, list[str]] = {}
    sign_in(page, live_server, FIRST)
    for lang in ("en", "es"):
        for path in ("/programmes", f"/programmes/{academy}", f"/programmes/{academy}/enrol"):
            page.goto(f"{live_server}{path}?lang={lang}")
            problems[f"{path} ({lang})"] = axe_violations(page)
            assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
        # The error state: nothing answered.
        page.goto(f"{live_server}/programmes/{academy}/enrol?lang={lang}")
        page.locator("main form button[type=submit]").click()
        page.wait_for_load_state()
        expect(page.locator(".usa-error-message").first).to_be_visible()
        problems[f"enrol errors ({lang})"] = axe_violations(page)
    assert page.locator("html").get_attribute("lang") == "es"
    page.goto(f"{live_server}/programmes/{academy}/enrol?lang=en")
    page.get_by_role("group", name="Do you live or work in the city?").get_by_text(
        "Yes", exact=True
    ).click()
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    for path in (page.url.removeprefix(live_server), "/my/programmes"):
        for lang in ("en", "es"):
            page.goto(f"{live_server}{path}?lang={lang}")
            problems[f"{path} ({lang})"] = axe_violations(page)

    session = db.session()
    first_session = session.get(Programme, academy).sessions[0].id
    session.close()
    tablet = chromium.new_context(viewport={"width": 768, "height": 1024}, bypass_csp=True)
    staff = tablet.new_page()
    try:
        sign_in(staff, live_server, COORDINATOR)
        base = f"/staff/programmes/{academy}"
        for path in (
            "/staff/programmes",
            "/staff/programmes/new",
            base,
            f"{base}/edit",
            f"{base}/roster",
            f"{base}/message",
            f"{base}/sessions/{first_session}/attendance",
        ):
            staff.goto(f"{live_server}{path}")
            assert staff.locator("h1").count() == 1, path
            problems[path] = axe_violations(staff)
            assert staff.evaluate("document.documentElement.scrollWidth") <= 768, path
        staff.goto(f"{live_server}/staff/programmes/new")
        staff.locator("main form button[type=submit]").last.click()
        staff.wait_for_load_state()
        expect(staff.locator(".usa-error-message").first).to_be_visible()
        problems["new programme errors"] = axe_violations(staff)
    finally:
        tablet.close()
    assert {path: found for path, found in problems.items() if found} == {}
