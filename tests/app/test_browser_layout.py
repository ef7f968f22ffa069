"""No back-office page and no public report scrolls sideways (issue 20), in a real browser.

Every page type of the back office (every GET route under /staff without arguments, read from
the app's url_map so a new page is covered without editing this file, plus the pages of a
seeded case, programme, session, staff member, rule, policy, template and department) and the
public reports, at 320, 390 and 1280 px: the page is no wider than the window, and every
table is either no wider than its box or inside a region that scrolls sideways (overflow-x
auto or scroll, role=region). axe-core finds nothing in English and Spanish at 390 and 1280 px.
Screenshots: tests/screenshots/layout-<page>-<width>.png.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from portal.staff.models import StaffMembership
from tests.casework.test_browser import sign_in
from tests.factories import Factories

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[1] / "screenshots"
WIDTHS = (320, 390, 1280)
AUDITED_WIDTHS = (390, 1280)
ADMIN = "layout.admin@city.example"
#: Not pages: files, feeds and JSON answers under /staff.
NOT_PAGES = re.compile(r"\.(csv|geojson|json|eml|ics)$|/updates$")
PUBLIC_PAGES = ("/performance", "/open-data")

#: What the page measures: the page's overflow, and each table wider than its parent that is
#: not in a region scrolling sideways.
LAYOUT = """() => {
  const page = document.scrollingElement;
  const clipped = [];
  for (const table of document.querySelectorAll('table')) {
    if (!table.getClientRects().length) continue;
    const box = table.parentElement;
    const wide = table.getBoundingClientRect().width > box.clientWidth + 1;
    if (!wide) continue;
    let region = box, scrolls = false;
    while (region && region !== document.body) {
      const style = getComputedStyle(region);
      const named = region.getAttribute('role') === 'region';
      if (named && ['auto', 'scroll'].includes(style.overflowX)) {
        scrolls = true; break;
      }
      region = region.parentElement;
    }
    if (!scrolls) {
      const caption = table.caption ? table.caption.textContent.trim().slice(0, 60) : table.id;
      clipped.push(caption + ' (' + Math.round(table.getBoundingClientRect().width) + ' px in '
                   + box.clientWidth + ' px)');
    }
  }
  return {scrollWidth: page.scrollWidth, clientWidth: page.clientWidth, clipped};
}"""


@pytest.fixture
def city(committed_app):
    """An admin, a department with an agent and a supervisor, a case, a programme with a
    session, a routing rule, a policy and a response template. Returns the arguments of the
    pages that need them."""
    from portal.casework.models import ResponseTemplate
    from portal.routing.models import RoutingRule
    from portal.sla.models import SlaPolicy

    settings = committed_app.extensions["portal.settings"]
    session = committed_app.extensions["portal.db"].session(write=True)
    make = Factories(session, settings)
    roads = make.department(code="roads", name="Roads and Pavements Maintenance Department")
    make.area(name="Northside")
    pothole = make.category(code="pothole", name="Pothole", department=roads)
    admin = make.user(email=ADMIN, name="Ada Admin", role="admin")
    agent = make.staff(roads, role="agent", email="a.very.long.address.for.an.agent@city.example")
    make.staff(roads, role="supervisor", email="sue@city.example")
    session.add(StaffMembership(user_id=admin.id, department_id=roads.id, role="supervisor"))
    case = make.request(
        category=pothole,
        description="A deep pothole " * 20,
        address="1200 North Riverside Boulevard, Apartment 1405",
    )
    make.task(case, assignee_id=agent.id)
    programme = make.programme(sessions=2, title="Cycling for beginners")
    rule = RoutingRule(name="Potholes to roads", department_id=roads.id, category_id=pothole.id)
    policy = SlaPolicy(
        name="Potholes",
        category_id=pothole.id,
        first_response_amount=8,
        first_response_unit="working_hours",
        resolution_amount=5,
        resolution_unit="calendar_days",
    )
    template = ResponseTemplate(title="Thanks", body="Thank you for telling us. " * 10)
    session.add_all([rule, policy, template])
    session.commit()
    found = {
        "reference": case.reference,
        "programme_id": programme.id,
        "session_id": programme.sessions[0].id,
        "user_id": agent.id,
        "rule_id": rule.id,
        "policy_id": policy.id,
        "template_id": template.id,
        "department_id": roads.id,
        "code": roads.code,
    }
    session.close()
    return found


def _pages(app, args: dict[str, object]) -> list[str]:
    """Every GET page under /staff whose arguments the seeded city can fill, and the public
    reports."""
    pages: set[str] = set()
    with app.test_request_context():
        from flask import url_for

        for rule in app.url_map.iter_rules():
            if "GET" not in (rule.methods or ()) or not rule.rule.startswith("/staff"):
                continue
            if NOT_PAGES.search(rule.rule) or not set(rule.arguments) <= set(args):
                continue
            if "photo_id" in rule.arguments or "mail_id" in rule.arguments:
                continue
            pages.add(url_for(rule.endpoint, **{k: args[k] for k in rule.arguments}))
    return sorted(pages) + list(PUBLIC_PAGES)


def _name(path: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "home"


@pytest.mark.markup
@pytest.mark.parametrize("width", WIDTHS)
def test_no_page_scrolls_sideways_and_no_table_is_clipped(
    chromium, live_server, committed_app, city, width
):
    from tests.requests.test_browser_filing import axe_violations

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = chromium.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
    page = context.new_page()
    problems: dict[str, object] = {}
    try:
        page.goto(f"{live_server}/?lang=en")
        sign_in(page, live_server, ADMIN)
        pages = _pages(committed_app, city)
        assert len(pages) >= 40, pages
        for path in pages:
            for lang in ("en", "es") if width in AUDITED_WIDTHS else ("en",):
                response = page.goto(f"{live_server}{path}{'&' if '?' in path else '?'}lang={lang}")
                # A page asking for its input (the routing preview's 400) is a page too.
                if response is None or response.status >= 500:
                    problems[f"{path} ({lang})"] = f"status {response and response.status}"
                    continue
                found = page.evaluate(LAYOUT)
                if found["scrollWidth"] > found["clientWidth"]:
                    problems[f"{path} sideways"] = (
                        f"page {found['scrollWidth']} px wide in {found['clientWidth']} px"
                    )
                if found["clipped"]:
                    problems[f"{path} clipped tables"] = found["clipped"]
                if width in AUDITED_WIDTHS:
                    violations = axe_violations(page)
                    if violations:
                        problems[f"{path} axe ({lang})"] = violations
                if lang == "en":
                    page.screenshot(
                        path=str(SCREENSHOTS / f"layout-{_name(path)}-{width}.png"), full_page=True
                    )
    finally:
        context.close()
    assert problems == {}
