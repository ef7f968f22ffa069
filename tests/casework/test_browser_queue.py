"""Queues for speed (issue 20) in a real browser (Debian's chromium), at 390x800 and 1280x800
in English and Spanish: the first case row within the first screen, keyboard shortcuts (and
none while typing in a field), the sticky bulk bar with select-all, "1 new case — show" after a
case is filed, assign to me and reply from the keyboard; axe after every interaction (0
violations). Screenshots to tests/screenshots/queue-<step>-<width>.png; the measured first-row
position and 50-row page height are printed (``pytest -s``)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from portal.casework.models import Task
from portal.core import clock
from portal.notifications.models import StaffNotice
from portal.requests.models import ServiceRequest
from portal.requests.service import Filing, submit_request
from tests.factories import INSIDE, PASSWORD, Factories

pytestmark = pytest.mark.browser

SHOTS = Path(__file__).resolve().parents[1] / "screenshots"
HEIGHT = 800
DESCRIPTIONS = [
    "Water has been pouring out of the hydrant on the corner since early this morning and the "
    "street is starting to flood near the school entrance",
    "Streetlight out",
    "Large pothole in the left lane, cars swerving into the bike lane to avoid it",
]


@pytest.fixture
def office(committed_app):
    settings = committed_app.extensions["portal.settings"]
    session = committed_app.extensions["portal.db"].session(write=True)
    make = Factories(session, settings)
    streets = make.department(code="streets", name="Streets")
    make.area()
    pothole = make.category(code="pothole", name="Pothole", department=streets)
    agent = make.staff(streets, email="agent@city.example", name="Ana Agent")
    make.staff(streets, email="other@city.example", name="Otto Other")
    now = clock.now()
    for n in range(60):
        case = make.request(
            category=pothole,
            description=DESCRIPTIONS[n % 3],
            priority=("urgent", "normal", "high", "normal")[n % 4],
            created_at=now - timedelta(hours=n + 1),
        )
        make.task(
            case,
            streets,
            created_at=now - timedelta(hours=n + 1),
            due_at=now + timedelta(hours=n - 5) if n % 3 else None,
            sla_stage="running" if n % 3 else None,
            at_risk_at=now + timedelta(hours=n - 8) if n % 3 else None,
        )
    session.commit()
    ids = {"agent": agent.id}
    session.close()
    return ids


def _sign_in(page, base, email):
    page.goto(f"{base}/account/sign-in")
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()


def _file_a_case(committed_app) -> str:
    settings = committed_app.extensions["portal.settings"]
    session = committed_app.extensions["portal.db"].session(write=True)
    submitted = submit_request(
        session,
        settings=settings,
        filing=Filing(
            category_code="pothole",
            description="Brand new: a manhole cover is missing",
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


def _geometry(page) -> dict:
    return page.evaluate(
        """() => {
            const row = document.querySelector('[data-queue-table] tbody tr');
            const box = row.getBoundingClientRect();
            return {firstRowTop: Math.round(box.top + window.scrollY),
                    firstRowBottom: Math.round(box.bottom + window.scrollY),
                    pageHeight: document.documentElement.scrollHeight,
                    pageWidth: document.documentElement.scrollWidth,
                    viewportWidth: window.innerWidth,
                    rows: document.querySelectorAll('[data-queue-table] tbody tr').length};
        }"""
    )


def _current_reference(page) -> str | None:
    return page.evaluate(
        "() => { const r = document.querySelector('tr.is-current [data-open]');"
        " return r && document.activeElement === r ? r.textContent.trim() : null; }"
    )


def _references(page) -> list[str]:
    return page.locator("[data-queue-table] tbody [data-open]").all_inner_texts()


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("width", [390, 1280])
def test_the_queue_is_fast_to_work_in(
    chromium, live_server, office, committed_app, width, language
):
    from tests.requests.test_browser_filing import axe_violations

    SHOTS.mkdir(parents=True, exist_ok=True)
    context = chromium.new_context(viewport={"width": width, "height": HEIGHT}, bypass_csp=True)
    page = context.new_page()
    problems: dict[str, list[str]] = {}
    suffix = f"{width}" if language == "en" else f"{width}-{language}"

    def audit(step: str) -> None:
        found = axe_violations(page)
        if found:
            problems[step] = found
        page.screenshot(path=str(SHOTS / f"queue-{step}-{suffix}.png"))

    try:
        _sign_in(page, live_server, "agent@city.example")
        page.goto(f"{live_server}/staff/queue/department?lang={language}")
        queue_url = f"{live_server}/staff/queue/department"
        page.goto(queue_url)
        expect(page.locator("html")).to_have_attribute("lang", language)

        # The first screen is the work: the first row starts (and ends) within it.
        geometry = _geometry(page)
        print(f"\nqueue {width}x{HEIGHT} {language}: {geometry}")
        assert geometry["rows"] == 50
        assert geometry["firstRowBottom"] <= HEIGHT, geometry
        assert geometry["pageWidth"] <= geometry["viewportWidth"], geometry  # no sideways scroll
        page.screenshot(path=str(SHOTS / f"queue-full-{suffix}.png"), full_page=True)
        audit("first-screen")

        # j/k move the current row (its link has the focus, the row is outlined), k stops at 1.
        references = _references(page)
        page.keyboard.press("j")
        assert _current_reference(page) == references[0]
        page.keyboard.press("j")
        page.keyboard.press("j")
        assert _current_reference(page) == references[2]
        page.keyboard.press("k")
        assert _current_reference(page) == references[1]
        # Visible: the row (on a phone) or its cells are outlined.
        outline = page.evaluate(
            """() => [document.querySelector('tr.is-current'),
                      document.querySelector('tr.is-current > th')]
                     .map(el => getComputedStyle(el).boxShadow).filter(v => v !== 'none')"""
        )
        assert outline
        audit("current-row")

        # Nothing fires while typing in a field (the saved view's name, in "More filters").
        page.locator("summary.portal-more__summary").click()
        name = page.locator("input[name=name]")
        name.click()
        page.keyboard.type("jjkxa?o")
        assert name.input_value() == "jjkxa?o"
        assert page.locator("dialog[data-shortcuts]").evaluate("d => d.open") is False
        assert page.locator("input[name=task]:checked").count() == 0
        assert page.url == queue_url
        audit("more-filters")
        page.locator("summary.portal-more__summary").click()

        # ? lists the shortcuts in a dialog; Escape closes it.
        page.locator("[data-queue-table] tbody [data-open]").nth(1).focus()
        page.keyboard.press("?")
        dialog = page.locator("dialog[data-shortcuts]")
        expect(dialog).to_be_visible()
        audit("shortcuts")
        page.keyboard.press("Escape")
        expect(dialog).to_be_hidden()

        # x selects the current row: the count says so; the header box selects the page.
        page.keyboard.press("x")
        count = page.locator("[data-selected-count]")
        expect(count).to_have_text("Selected: 1" if language == "en" else "Seleccionadas: 1")
        page.locator("[data-select-all]").check()
        expect(count).to_contain_text("50")
        # The bulk bar stays in view at the bottom of the page.
        page.evaluate("() => window.scrollTo(0, document.documentElement.scrollHeight)")
        page.wait_for_timeout(100)
        bar = page.locator("[data-bulkbar]").bounding_box()
        assert bar is not None and -1 <= bar["y"] <= 1 and bar["height"] < HEIGHT / 2, bar
        audit("bulk-bar")
        page.locator("[data-select-all]").uncheck()
        expect(count).not_to_contain_text("50")

        # A case is filed: "1 new case — show" appears (the tab's poll; asked at once here).
        page.evaluate("() => window.scrollTo(0, 0)")
        reference = _file_a_case(committed_app)
        page.evaluate("() => document.dispatchEvent(new Event('portal:check-updates'))")
        notice = page.locator("[data-new-cases] a")
        expect(notice).to_have_text(
            "1 new case — show" if language == "en" else "1 caso nuevo — mostrar"
        )
        # A notice for the agent: the header's count follows on the same poll.
        session = committed_app.extensions["portal.db"].session(write=True)
        session.add(StaffNotice(user_id=office["agent"], kind="sla_half", data={}))
        session.commit()
        session.close()
        page.evaluate("() => document.dispatchEvent(new Event('portal:check-updates'))")
        expect(page.locator("[data-unread-badge]")).to_have_text("1")
        expect(page.locator("[data-unread-text]")).to_have_text(
            "(1 unread notice)" if language == "en" else "(1 aviso sin leer)"
        )
        audit("new-cases")
        notice.click()
        page.wait_for_load_state()
        assert _references(page)[0] == reference  # newest first
        audit("newest-first")

        # a assigns the current row's task to me (the bulk form, so the same checks).
        page.keyboard.press("j")
        page.keyboard.press("a")
        page.wait_for_load_state()
        expect(page.locator(".usa-alert--success")).to_be_visible()
        session = committed_app.extensions["portal.db"].session()
        assignee = session.scalar(
            select(Task.assignee_id)
            .join(ServiceRequest, Task.request_id == ServiceRequest.id)
            .where(ServiceRequest.reference == reference)
        )
        session.close()
        assert assignee == office["agent"]
        audit("assigned")

        # r opens the case at its composer (a public reply by default).
        page.keyboard.press("j")
        page.keyboard.press("r")
        page.wait_for_url(f"**/staff/cases/{reference}#composer")
        assert not problems, problems
    finally:
        context.close()


def test_the_queue_works_without_javascript_at_320(chromium, live_server, office):
    """No script: chips are links, "Select all on this page" ticks every row (a GET of the
    same queue), the bulk bar applies to them; nothing scrolls sideways at 320 px."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = chromium.new_context(
        viewport={"width": 320, "height": HEIGHT}, java_script_enabled=False
    )
    page = context.new_page()
    try:
        _sign_in(page, live_server, "agent@city.example")
        page.goto(f"{live_server}/staff/queue/department")
        geometry = _geometry(page)
        print(f"\nqueue 320x{HEIGHT} without JavaScript: {geometry}")
        assert geometry["pageWidth"] <= geometry["viewportWidth"], geometry
        assert geometry["firstRowBottom"] <= HEIGHT, geometry
        page.screenshot(path=str(SHOTS / "queue-no-js-first-screen-320.png"))
        page.get_by_role("link", name="Due soon").click()
        page.wait_for_load_state()
        assert "sla=at_risk" in page.url
        page.get_by_role("button", name="Select all on this page").click()
        page.wait_for_load_state()
        assert "select=all" in page.url and "sla=at_risk" in page.url
        boxes = page.locator("input[name=task]")
        assert (
            boxes.count() > 0 and boxes.count() == page.locator("input[name=task]:checked").count()
        )
        page.screenshot(path=str(SHOTS / "queue-no-js-selected-320.png"))
        page.locator("select[name=action]").select_option("priority")
        page.locator("select[name=bulk_priority]").select_option("low")
        page.get_by_role("button", name="Apply to the selected rows").click()
        page.wait_for_load_state()
        assert page.locator(".usa-alert--success").count() == 1
    finally:
        context.close()
