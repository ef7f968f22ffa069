"""Performance reports in a real browser (Debian's chromium): the board, a drill-down, the
hotspots dashboard and the public page meet WCAG 2.2 AA (axe-core) in English and Spanish,
with the period error state, and fit a phone's width (wide tables scroll inside their box)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from portal.core import clock
from tests.casework.test_browser import sign_in
from tests.factories import Factories

pytestmark = pytest.mark.browser

SUPERVISOR = "supervisor@city.example"
WEST = [[-90.0, 38.0], [-89.9, 38.0], [-89.9, 38.1], [-90.0, 38.1], [-90.0, 38.0]]
EAST = [[-89.9, 38.0], [-89.8, 38.0], [-89.8, 38.1], [-89.9, 38.1], [-89.9, 38.0]]


@pytest.fixture
def settings(settings):
    """A small city whose departments are ranked with a task or two (the minimum volume is
    tested in test_fair_walls.py)."""
    return replace(settings, wall_min_tasks=1)


@pytest.fixture
def reported_city(committed_app):
    """Two departments with resolved and open tasks, two areas with requests, a survey
    comment; a supervisor of Roads. Returns the Roads department's id."""
    settings = committed_app.extensions["portal.settings"]
    session = committed_app.extensions["portal.db"].session(write=True)
    make = Factories(session, settings)
    roads, parks = make.department(name="Roads"), make.department(name="Parks")
    north = make.area(name="Northside", ring=WEST)
    south = make.area(name="Southside", ring=EAST)
    supervisor = make.staff(roads, role="supervisor", email=SUPERVISOR, name="Sue Supervisor")
    now = clock.now()
    for department, stages in ((roads, ("met", "met", "breached")), (parks, ("met",))):
        category = make.category(department=department, name=f"{department.name} repairs")
        for n, stage in enumerate(stages):
            request = make.request(category=category, area_id=(north if n else south).id)
            task = make.task(
                request,
                assignee_id=supervisor.id if n else None,
                created_at=now - timedelta(hours=5),
            )
            make.sla_clock(
                request,
                task=task,
                stage=stage,
                working_seconds=3600 * (n + 1),
                started_at=now - timedelta(hours=5),
                stopped_at=now - timedelta(minutes=5),
            )
            make.survey_response(
                request_id=request.id, csat=1 + n, comment="The crew was quick.", created_at=now
            )
    # Themes heard in Northside this week and month (the worker stores them once a period is
    # over; written here so the pages show them).
    from zoneinfo import ZoneInfo

    from portal.assist.models import AssistTheme
    from portal.reports.periods import Period

    today = now.astimezone(ZoneInfo(settings.timezone)).date()
    for kind in ("week", "month"):
        session.add(
            AssistTheme(
                period_kind=kind,
                period_key=Period.containing(kind, today).key,
                area_id=north.id,
                position=0,
                label="loud music",
                terms=["music", "loud", "bar"],
                size=14,
                previous=3,
                examples=["loud music from the bar every night", "the bar plays loud music"],
                computed_at=now,
            )
        )
    session.commit()
    roads_id = roads.id
    session.close()
    return roads_id


@pytest.mark.markup
def test_report_pages_meet_wcag_aa_in_english_and_spanish(
    chromium, audited_phone, live_server, reported_city
):
    from tests.requests.test_browser_filing import axe_violations

    page = audited_phone
    problems: dict[str, list[str]] = {}
    for lang in ("en", "es"):
        for path in (
            "/performance",
            "/performance/equity?period=quarter",
            "/performance?period=decade&start=2026-02-30",  # last: its error is checked below
        ):
            page.goto(f"{live_server}{path}{'&' if '?' in path else '?'}lang={lang}")
            assert page.locator("h1").count() == 1, path
            problems[f"{path} ({lang})"] = axe_violations(page)
            assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
    expect(page.locator(".usa-error-message").first).to_be_visible()
    expect(page.locator("svg.portal-chart").first).to_be_visible()

    page.goto(f"{live_server}/?lang=en")  # the sign-in form's labels are found in English
    sign_in(page, live_server, SUPERVISOR)
    for lang in ("en", "es"):
        for path in (
            "/staff/reports",
            f"/staff/reports/departments/{reported_city}",
            f"/staff/reports/departments/{reported_city}?by=agent",
            f"/staff/reports/departments/{reported_city}?by=area",
            "/staff/reports/hotspots",
            "/staff/reports/hotspots?period=week",
            "/staff/reports?period=week&start=x",
            "/staff/reports/equity",
        ):
            page.goto(f"{live_server}{path}{'&' if '?' in path else '?'}lang={lang}")
            assert page.locator("h1").count() == 1, path
            problems[f"{path} ({lang})"] = axe_violations(page)
            assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
    assert page.locator("html").get_attribute("lang") == "es"
    page.goto(f"{live_server}/staff/reports/hotspots?period=week&lang=en")
    themes = page.locator("[data-themes-area]")
    expect(themes).to_contain_text("Northside: 14 comments about “loud music”, up from 3")
    themes.get_by_text("Examples (2)").click()  # a details summary, no script needed
    expect(themes.get_by_text("the bar plays loud music")).to_be_visible()

    # The period switch works from the keyboard-reachable form.
    page.goto(f"{live_server}/staff/reports?lang=en")
    page.get_by_role("combobox", name="Period").select_option("quarter")
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_load_state()
    assert "period=quarter" in page.url
    # Roads' 2 of 3 on time shows at least 20.8% for certain, Parks' 1 of 1 at least 20.7%
    # (the lower ends of their Wilson intervals): Roads ranks first.
    expect(page.locator("[data-wall='wall-of-fame'] li").first).to_contain_text("Roads")
    assert {path: found for path, found in problems.items() if found} == {}
