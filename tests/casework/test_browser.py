"""Two departments resolve a case together, in a real browser (Debian's chromium)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from portal.requests.models import ServiceRequest
from portal.requests.service import Filing, submit_request
from portal.staff.models import StaffMembership
from tests.factories import INSIDE, PASSWORD, Factories

pytestmark = pytest.mark.browser


@pytest.fixture
def case(committed_app):
    settings = committed_app.extensions["portal.settings"]
    session = committed_app.extensions["portal.db"].session(write=True)
    make = Factories(session, settings)
    streets = make.department(code="streets", name="Streets")
    water = make.department(code="water", name="Water")
    make.area()
    make.category(code="pothole", name="Pothole", department=streets)
    agents = {}
    for name, dept in (("streets", streets), ("water", water)):
        agents[name] = make.user(
            email=f"{name}.agent@city.example", name=f"{name} agent", role="agent"
        )
        session.add(StaffMembership(user_id=agents[name].id, department_id=dept.id, role="agent"))
    submitted = submit_request(
        session,
        settings=settings,
        filing=Filing(
            category_code="pothole",
            description="Sinking road over a leaking main",
            address="8 Canal Street",
            lat=INSIDE[0],
            lon=INSIDE[1],
            contact_email="resident@example.org",
        ),
    )
    session.commit()
    reference = submitted.request.reference
    session.close()
    return reference


def sign_in(page, base, email):
    page.goto(f"{base}/account/sign-in")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()


def sign_out(page):
    page.locator("form[action$='/account/sign-out'] button").first.click()
    page.wait_for_load_state()


def finish_task(page, department):
    """The task card of ``department``: "Mark done" (sent in place; the result shows on the
    Tasks section)."""
    card = page.locator(".case-task", has_text=department).filter(has=page.locator("form"))
    card.locator(".case-task__actions form[action$='/complete'] button").click()
    expect(page.locator("#tasks [data-case-outcome]")).to_contain_text("Task marked done.")


def test_two_departments_resolve_a_case(chromium, live_server, case, committed_app):
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        sign_in(page, live_server, "streets.agent@city.example")
        page.goto(f"{live_server}/staff/queue/department")
        page.get_by_role("link", name=case).click()
        expect(page.locator("h1")).to_contain_text(case)

        page.locator("form[action$='/tasks'] select").select_option(label="Water")
        page.locator("form[action$='/tasks'] input[type=text]").fill("Repair the main first")
        page.locator("form[action$='/tasks'] button").click()
        expect(page.get_by_text("Repair the main first").first).to_be_visible()

        page.locator("#composer textarea[name=message]").fill(
            "Water will repair the main, then we resurface."
        )
        page.locator("#composer button[name=send]").click()
        expect(page.locator("#composer [data-case-outcome]")).to_be_visible()
        page.locator("#composer").get_by_text("Internal note", exact=True).click()
        page.locator("#composer textarea[name=message]").fill("SECRET internal remark")
        page.locator("#composer button[name=send]").click()
        expect(page.locator("#timeline")).to_contain_text("SECRET internal remark")
        finish_task(page, "Streets")
        sign_out(page)

        sign_in(page, live_server, "water.agent@city.example")
        page.goto(f"{live_server}/staff/queue/department")
        page.get_by_role("link", name=case).click()
        finish_task(page, "Water")
        # The last task closed: the case is resolved, and that is said where the click was
        # and in the bar at the top.
        expect(page.locator("#tasks [data-case-outcome]")).to_contain_text(
            "That was the last open task: the case is now resolved."
        )
        expect(page.locator("#case-summary [data-case-flag=resolved]")).to_be_visible()
        sign_out(page)

        session = committed_app.extensions["portal.db"].session()
        status = session.scalar(
            select(ServiceRequest.status).where(ServiceRequest.reference == case)
        )
        session.close()
        assert status == "resolved"

        page.goto(f"{live_server}/requests/{case}")
        public = page.locator("main").inner_text()
        assert "Water will repair the main" in public
        assert "SECRET" not in public and "Repair the main first" not in public
        assert "Resolved" in public
    finally:
        context.close()


@pytest.mark.markup
def test_back_office_pages_meet_wcag_aa(chromium, live_server, case, committed_app):
    from tests.requests.test_browser_filing import axe_violations

    session = committed_app.extensions["portal.db"].session(write=True)
    Factories(session, committed_app.extensions["portal.settings"]).user(
        email="admin@city.example", role="admin"
    )
    session.commit()
    session.close()
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = context.new_page()
    try:
        sign_in(page, live_server, "admin@city.example")
        problems = {}
        for path in (
            "/staff/",
            "/staff/queue/everything",
            f"/staff/cases/{case}",
            "/staff/search/?q=main",
            "/staff/intake/",
            "/staff/audit/",
            "/staff/admin/routing/",
            "/staff/admin/staff/",
            "/staff/escalations/",
            "/staff/notices",
            "/staff/notices/settings",
            "/staff/admin/sla/",
            "/staff/admin/sla/policies/new",
            "/staff/admin/sla/calendars/",
            "/staff/admin/sla/calendars/new",
            "/staff/admin/sla/departments/",
            "/staff/api-keys/",
            "/staff/api-keys/new",
        ):
            page.goto(f"{live_server}{path}")
            found = axe_violations(page)
            if found:
                problems[path] = found
        assert not problems, problems
    finally:
        context.close()
