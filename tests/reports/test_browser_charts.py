"""The reports' charts in a real browser (Debian's chromium), issue 20: on every page that
draws a chart (the public performance page, the staff board, a department's scorecard, the
hotspots dashboard by month and by week), at 320, 390 and 1280 px and in English and Spanish,
every label of the chart shown is at least 12 CSS px as rendered (its font size times the
scale the SVG is drawn at), lies inside its chart and overlaps no other label; each chart
shows exactly one of its two drawings (narrow, wide); no page scrolls sideways; and axe-core
finds nothing at 390 and 1280 px. Screenshots of each chart shown:
tests/screenshots/charts-<page>-<chart>-<width>.png.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from portal.core import clock
from tests.casework.test_browser import sign_in
from tests.factories import Factories

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[1] / "screenshots"
SUPERVISOR = "charts.supervisor@city.example"
WEST = [[-90.0, 38.0], [-89.9, 38.0], [-89.9, 38.1], [-90.0, 38.1], [-90.0, 38.0]]
EAST = [[-89.9, 38.0], [-89.8, 38.0], [-89.8, 38.15], [-89.9, 38.1], [-89.9, 38.0]]
#: The smallest label allowed, in CSS px as rendered.
SMALLEST = 12

#: Each visible chart on the page: its id, its smallest label (font size x the SVG's scale),
#: the labels outside the chart's box, and the pairs of labels that overlap.
MEASURE = """() => {
  const charts = [];
  for (const svg of document.querySelectorAll('svg.portal-chart')) {
    if (!svg.checkVisibility()) continue;
    const box = svg.getBoundingClientRect();
    const texts = [...svg.querySelectorAll('text')].filter(t => t.checkVisibility());
    const rects = texts.map(t => t.getBoundingClientRect());
    const sizes = texts.map(t => parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a);
    const outside = texts.filter((t, i) => rects[i].left < box.left - 0.5
      || rects[i].right > box.right + 0.5 || rects[i].top < box.top - 0.5
      || rects[i].bottom > box.bottom + 0.5).map(t => t.textContent);
    const overlaps = [];
    for (let i = 0; i < rects.length; i++) for (let j = i + 1; j < rects.length; j++) {
      const a = rects[i], b = rects[j];
      if (a.left < b.right - 0.5 && b.left < a.right - 0.5 && a.top < b.bottom - 0.5
          && b.top < a.bottom - 0.5) overlaps.push([texts[i].textContent, texts[j].textContent]);
    }
    charts.push({id: svg.id, labels: texts.length, smallest: Math.min(...sizes),
                 outside, overlaps, width: Math.round(box.width)});
  }
  return {charts, scrollWidth: document.documentElement.scrollWidth, innerWidth};
}"""


@pytest.fixture
def charted_city(committed_app):
    """Two departments (one with a long name), categories with long names, two areas with
    residents, requests over the last twelve weeks with resolved and open tasks; a
    supervisor of the long-named department. Returns that department's id."""
    settings = committed_app.extensions["portal.settings"]
    session = committed_app.extensions["portal.db"].session(write=True)
    make = Factories(session, settings)
    roads = make.department(name="Roads and Pavements Maintenance Department")
    parks = make.department(name="Parks")
    north = make.area(name="Northside", ring=WEST, population=12000)
    south = make.area(name="Southside and the Old Harbour", ring=EAST, population=3400)
    make.staff(roads, role="supervisor", email=SUPERVISOR, name="Sue Supervisor")
    now = clock.now()
    categories = [
        make.category(
            department=roads, name="Broken or missing streetlight on a residential street"
        ),
        make.category(department=roads, name="Pothole"),
        make.category(department=parks, name="Overgrown grass"),
    ]
    for n in range(36):
        created = now - timedelta(hours=1 + 46 * n)
        request = make.request(
            category=categories[n % 3],
            area_id=(north if n % 2 else south).id,
            created_at=created,
        )
        department = roads if n % 3 < 2 else parks
        task = make.task(request, department, created_at=created)
        if n % 4:
            make.sla_clock(
                request,
                task=task,
                stage="met" if n % 5 else "breached",
                working_seconds=3600 * (n % 7 + 1),
                started_at=created,
                stopped_at=created + timedelta(hours=n % 7 + 1),
            )
    session.commit()
    roads_id = roads.id
    session.close()
    return roads_id


def _pages(department_id: int) -> dict[str, tuple[str, int]]:
    """Each page that draws charts: (path, how many charts it shows)."""
    return {
        "performance": ("/performance", 3),
        "board": ("/staff/reports", 1),
        "department": (f"/staff/reports/departments/{department_id}", 1),
        "hotspots": ("/staff/reports/hotspots", 3),
        "hotspots-weeks": ("/staff/reports/hotspots?period=week", 3),
    }


def _name(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _problems(where: str, found: dict, expected: int) -> dict[str, object]:
    """What is wrong with a page's charts as MEASURE found them."""
    problems: dict[str, object] = {}
    if found["scrollWidth"] > found["innerWidth"]:
        problems[f"{where} sideways"] = found["scrollWidth"]
    if len(found["charts"]) != expected:
        problems[f"{where} charts shown"] = [c["id"] for c in found["charts"]]
    for chart in found["charts"]:
        key = f"{where} {chart['id']}"
        if not chart["labels"]:
            problems[f"{key} has no labels"] = chart
        if chart["smallest"] < SMALLEST:
            problems[f"{key} smallest label"] = round(chart["smallest"], 2)
        if chart["outside"]:
            problems[f"{key} labels outside"] = chart["outside"]
        if chart["overlaps"]:
            problems[f"{key} labels overlap"] = chart["overlaps"]
    return problems


@pytest.mark.markup
@pytest.mark.parametrize("width", [320, 390, 1280])
def test_chart_labels_are_readable_at_every_width(chromium, live_server, charted_city, width):
    from tests.requests.test_browser_filing import axe_violations

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = chromium.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
    page = context.new_page()
    problems: dict[str, object] = {}
    smallest: dict[str, float] = {}
    try:
        page.goto(f"{live_server}/?lang=en")
        sign_in(page, live_server, SUPERVISOR)
        for name, (path, expected) in _pages(charted_city).items():
            for lang in ("en", "es"):
                page.goto(f"{live_server}{path}{'&' if '?' in path else '?'}lang={lang}")
                found = page.evaluate(MEASURE)
                problems.update(_problems(f"{name} ({lang})", found, expected))
                for chart in found["charts"]:
                    smallest[f"{name} ({lang}) {chart['id']}"] = round(chart["smallest"], 1)
                if width != 320:
                    violations = axe_violations(page)
                    if violations:
                        problems[f"{name} ({lang}) axe"] = violations
                if lang == "en":
                    for region in page.locator(".portal-chart-region").all():
                        chart_id = region.locator("svg.portal-chart:visible").get_attribute("id")
                        region.screenshot(
                            path=str(SCREENSHOTS / f"charts-{_name(name)}-{chart_id}-{width}.png")
                        )
    finally:
        context.close()
    print(f"smallest labels at {width} px: {smallest}")
    assert problems == {}
