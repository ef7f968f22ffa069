"""The coordinator's journey in a real browser (issue 20): run the next cohort of the Citizens
Engagement Academy by copying it, see its cohorts side by side, then take attendance for a
20-person session (one person marked without a page load, then "Mark all present").

Counted and timed: clicks and page loads. On the code before issue 20 the same journey took 13
clicks and 13 page loads to set up the next cohort by hand (a new programme, then each of 8
sessions and 2 questions typed again) and 21 clicks and 21 page loads to mark 20 people.

axe-core runs after every interaction (0 violations), in English and Spanish at 390 and 1280
px; screenshots go to tests/screenshots/coordinator-<step>-<width>.png."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import delete, func, select

from portal.core import clock
from portal.programmes.models import Attendance, Programme
from tests.casework.test_browser import sign_in
from tests.factories import Factories

pytestmark = pytest.mark.browser

COORDINATOR = "cora.coordinator@city.example"
SHOTS = Path(__file__).resolve().parents[1] / "screenshots"
TITLE = "Citizens Engagement Academy"


@pytest.fixture
def academy(committed_app):
    """This autumn's Academy (8 weekly sessions from next week, 20 enrolled, 2 waiting, two
    questions) and last spring's (completed); a coordinator. Returns the autumn one's id."""
    settings = committed_app.extensions["portal.settings"]
    session = committed_app.extensions["portal.db"].session(write=True)
    make = Factories(session, settings)
    questions = [
        {"code": "lives_here", "kind": "yesno", "required": True, "eligible_values": ["yes"]},
        {"code": "adult", "kind": "yesno", "required": True, "eligible_values": ["yes"]},
    ]
    spring = make.programme(title=TITLE, sessions=2, capacity=25, status="completed")
    for item in spring.sessions:
        item.starts_at -= timedelta(days=200)
        item.ends_at -= timedelta(days=200)
    spring.starts_on = spring.sessions[0].starts_at.date()
    spring.ends_on = spring.sessions[-1].starts_at.date()
    for n in range(4):
        person = make.enrolment(spring, completed=n < 3)
        for item in spring.sessions:
            session.add(Attendance(session_id=item.id, enrolment_id=person.id, present=n != 3))
    programme = make.programme(title=TITLE, sessions=8, capacity=20, questions=questions)
    for n in range(20):
        make.enrolment(programme, make.user(name=f"Participant {n + 1:02d}"))
    for _ in range(2):
        make.enrolment(programme, state="waitlisted")
    make.user(email=COORDINATOR, name="Cora Coordinator", role="coordinator")
    session.commit()
    programme_id = programme.id
    session.close()
    return programme_id


def _axe(page, problems: dict[str, list[str]], name: str) -> None:
    from tests.requests.test_browser_filing import axe_violations

    problems[name] = axe_violations(page)


def _fits(page, width: int, name: str) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width, name


def _shot(page, step: str, width: int) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"coordinator-{step}-{width}.png"), full_page=True)


def _context(chromium, width: int):
    return chromium.new_context(
        viewport={"width": width, "height": 844 if width < 600 else 900},
        is_mobile=width < 600,
        has_touch=width < 600,
        bypass_csp=True,  # to inject axe-core (test tooling)
    )


def test_coordinator_journey_counted_and_timed(chromium, live_server, academy, committed_app):
    db = committed_app.extensions["portal.db"]
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    loads: list[str] = []
    errors: list[str] = []
    page.on("load", lambda: loads.append(page.url))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    clicks = 0

    def click(locator) -> None:
        nonlocal clicks
        clicks += 1
        locator.click()

    try:
        sign_in(page, live_server, COORDINATOR)
        page.goto(f"{live_server}/staff/programmes/{academy}")

        # Run the next cohort: 2 clicks, 2 page loads, one date typed.
        loads.clear()
        started = time.monotonic()
        click(page.get_by_role("link", name="Run the next cohort"))
        page.wait_for_load_state()
        new_start = (clock.now() + timedelta(days=90)).date().isoformat()
        page.get_by_label("First session on").fill(new_start)
        click(page.get_by_role("button", name="Create the next cohort"))
        page.wait_for_load_state()
        expect(page.locator(".usa-alert--success")).to_contain_text("The next cohort is ready")
        copy_clicks, copy_loads = clicks, len(loads)
        copy_seconds = time.monotonic() - started

        # Take attendance for the 20-person session: open the sheet (1 page load), one person
        # marked absent, then everyone else present: no further page load.
        page.goto(f"{live_server}/staff/programmes/{academy}")
        clicks = 0
        loads.clear()
        started = time.monotonic()
        click(page.get_by_role("link", name="Attendance").first)
        page.wait_for_load_state()
        page.evaluate("window.__sameDocument = true")
        click(page.get_by_role("button", name="Absent Participant 07"))
        expect(page.locator("#attendance-status")).to_have_text("Participant 07: absent.")
        click(page.get_by_role("button", name="Mark all present"))
        expect(page.locator("#attendance-status")).to_have_text("19 people marked present.")
        expect(page.locator("#attendance-count")).to_have_text("19 of 20 present")
        assert page.evaluate("window.__sameDocument") is True
        attendance_clicks, attendance_loads = clicks, len(loads)
        attendance_seconds = time.monotonic() - started
    finally:
        context.close()

    print(
        f"\ncoordinator journey (after): next cohort {copy_clicks} clicks, {copy_loads} page "
        f"loads, {copy_seconds:.2f} s; attendance of 20 {attendance_clicks} clicks, "
        f"{attendance_loads} page loads, {attendance_seconds:.2f} s"
    )
    assert (copy_clicks, copy_loads) == (2, 2)
    assert (attendance_clicks, attendance_loads) == (3, 1)
    assert errors == []
    session = db.session()
    cohorts = session.scalar(select(func.count()).where(Programme.title == TITLE))
    first_session = session.get(Programme, academy).sessions[0].id
    marks = dict(
        session.execute(
            select(Attendance.present, func.count())
            .where(Attendance.session_id == first_session)
            .group_by(Attendance.present)
        ).all()
    )
    session.close()
    assert cohorts == 3
    assert marks == {True: 19, False: 1}


@pytest.mark.markup
@pytest.mark.parametrize("width", [390, 1280])
def test_coordinator_pages_meet_wcag_aa_after_every_interaction(
    chromium, live_server, academy, committed_app, width
):
    db = committed_app.extensions["portal.db"]
    session = db.session()
    first_session = session.get(Programme, academy).sessions[0].id
    session.close()
    base = f"/staff/programmes/{academy}"
    problems: dict[str, list[str]] = {}
    context = _context(chromium, width)
    page = context.new_page()
    try:
        sign_in(page, live_server, COORDINATOR)
        for lang in ("en", "es"):
            suffix = "" if lang == "en" else "-es"
            # The copy form, then its errors beside the fields (a date in the past).
            page.goto(f"{live_server}{base}/copy?lang={lang}")
            assert page.locator("html").get_attribute("lang") == lang
            _axe(page, problems, f"copy form {lang}")
            _fits(page, width, "copy form")
            _shot(page, f"copy-form{suffix}", width)
            page.locator("#starts_on").fill("2020-01-07")
            page.locator("main form button[type=submit]").click()
            page.wait_for_load_state()
            expect(page.locator("#starts_on-error-1")).to_be_visible()
            _axe(page, problems, f"copy errors {lang}")
            _fits(page, width, "copy errors")
            _shot(page, f"copy-errors{suffix}", width)

            # The cohorts side by side.
            page.goto(f"{live_server}{base}/cohorts?lang={lang}")
            expect(page.locator("tbody tr")).to_have_count(2)
            _axe(page, problems, f"cohorts {lang}")
            _fits(page, width, "cohorts")
            _shot(page, f"cohorts{suffix}", width)

            # Attendance: one person, then everyone, without a page load.
            page.goto(f"{live_server}{base}/sessions/{first_session}/attendance?lang={lang}")
            page.evaluate("window.__sameDocument = true")
            _axe(page, problems, f"attendance {lang}")
            _fits(page, width, "attendance")
            row = page.locator("li[id^=p-]").nth(2)
            row.locator("button[data-for=absent]").click()
            expect(row).to_have_attribute("data-state", "absent")
            expect(page.locator("#attendance-status")).not_to_be_empty()
            _axe(page, problems, f"attendance one marked {lang}")
            page.locator("form[action$='/attendance/all'] button").click()
            expect(page.locator("li[id^=p-][data-state=unmarked]")).to_have_count(0)
            expect(page.locator("#attendance-count")).to_contain_text("19")
            _axe(page, problems, f"attendance all marked {lang}")
            _fits(page, width, "attendance marked")
            assert page.evaluate("window.__sameDocument") is True
            _shot(page, f"attendance{suffix}", width)
            # Back to "not marked" for the other language's round.
            session = db.session(write=True)
            session.execute(delete(Attendance).where(Attendance.session_id == first_session))
            session.commit()
            session.close()
    finally:
        context.close()
    assert {name: found for name, found in problems.items() if found} == {}


def test_attendance_works_without_javascript(chromium, live_server, academy, committed_app):
    db = committed_app.extensions["portal.db"]
    session = db.session()
    first_session = session.get(Programme, academy).sessions[0].id
    session.close()
    context = chromium.new_context(
        viewport={"width": 390, "height": 844}, java_script_enabled=False
    )
    page = context.new_page()
    try:
        sign_in(page, live_server, COORDINATOR)
        url = f"{live_server}/staff/programmes/{academy}/sessions/{first_session}/attendance"
        page.goto(url)
        page.get_by_role("button", name="Present Participant 03").click()
        page.wait_for_load_state()
        assert "/attendance#p-" in page.url
        expect(page.locator(".usa-alert--success")).to_contain_text("Participant 03: present.")
        page.get_by_role("button", name="Mark all present").click()
        page.wait_for_load_state()
        assert page.url.endswith("#participants")
        expect(page.locator("#attendance-count")).to_have_text("20 of 20 present")
    finally:
        context.close()
