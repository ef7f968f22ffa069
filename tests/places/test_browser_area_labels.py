"""Area names on the maps, in a real browser (issue 20): on every page whose map draws the
city's areas (the location step, the reports-around page for the whole city and around a
point, the tracking page, the case page and the staff queue's map), at 390 and 1280 px, in
English and Spanish, every area the map's view meets carries a visible label with its name,
inside the map, at a point inside the area (the U-shaped area's bounding-box centre is in
another area), at least 12 px, overlapping no other label, the pin or a control; the labels
are hidden from screen readers and the map block's sentence names the same areas once; axe
finds nothing. A streetlight drawn under an area's name still takes the tap. The reports'
area maps (SVG: the public performance page, the staff hotspots page) name every area too,
each name on its own area, at least 12 px as drawn, inside the drawing, none overlapping.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect
from shapely.geometry import Point, box, shape

from portal.areas.geo import label_point
from tests.casework.test_browser import sign_in
from tests.factories import Factories
from tests.requests.test_browser_filing import axe_violations

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[1] / "screenshots"
AGENT = "labels.supervisor@city.example"
#: The smallest name allowed, in CSS px.
SMALLEST = 12

# Around (41.0, -87.0): a U-shaped area 4 km a side open to the north, a square in its notch
# (where the U's bounding-box centre falls), a strip along the north and one to the east.
WEST, EAST, SOUTH, NORTH = -87.024, -86.976, 40.982, 41.018
NOTCH_WEST, NOTCH_EAST, NOTCH_SOUTH = -87.0083, -86.9917, 40.9964
U_SHAPE = [
    [WEST, SOUTH], [EAST, SOUTH], [EAST, NORTH], [NOTCH_EAST, NORTH], [NOTCH_EAST, NOTCH_SOUTH],
    [NOTCH_WEST, NOTCH_SOUTH], [NOTCH_WEST, NORTH], [WEST, NORTH], [WEST, SOUTH],
]  # fmt: skip
NOTCH = [
    [NOTCH_WEST, NOTCH_SOUTH], [NOTCH_EAST, NOTCH_SOUTH], [NOTCH_EAST, NORTH],
    [NOTCH_WEST, NORTH], [NOTCH_WEST, NOTCH_SOUTH],
]  # fmt: skip
NORTH_STRIP = [[WEST, NORTH], [EAST, NORTH], [EAST, 41.0315], [WEST, 41.0315], [WEST, NORTH]]
EAST_STRIP = [[EAST, SOUTH], [-86.952, SOUTH], [-86.952, 41.0315], [EAST, 41.0315], [EAST, SOUTH]]
AREAS = {
    "Riverbend": U_SHAPE,
    "Market Square": NOTCH,
    "Northfield": NORTH_STRIP,
    "Eastgate & Mill": EAST_STRIP,
}
#: The area with the most room around its name: laid out first, so its name never moves.
ROOMIEST = "Eastgate & Mill"
#: The request: in the U, 100 m south of the square (the case map's view meets both).
REQUEST = (NOTCH_SOUTH - 0.0009, -87.0)

#: The map's labels as drawn: name, anchor, box, visibility, font size; the view, the map's
#: box, the pin's and the controls' boxes, and the screen-reader sentence.
MEASURE = """(id) => {
  const element = document.getElementById(id);
  const map = element.portalMap;
  const rect = (r) => [r.left, r.top, r.right, r.bottom];
  const labels = [];
  map.eachLayer((layer) => {
    if (!layer.portalLabel) return;
    const icon = layer.getElement();
    const name = icon.firstChild;
    const at = layer.getLatLng();
    labels.push({name: name.textContent, lat: at.lat, lon: at.lng,
      box: rect(name.getBoundingClientRect()),
      visible: name.checkVisibility({visibilityProperty: true, opacityProperty: true}),
      ariaHidden: icon.getAttribute('aria-hidden'),
      size: parseFloat(getComputedStyle(name).fontSize)});
  });
  const bounds = map.getBounds();
  const pin = element.querySelector('.portal-map__pin');
  const block = element.closest('[data-portal-map-block]');
  return {
    labels,
    view: [bounds.getWest(), bounds.getSouth(), bounds.getEast(), bounds.getNorth()],
    map: rect(element.getBoundingClientRect()),
    pin: pin ? rect(pin.getBoundingClientRect()) : null,
    controls: [...element.querySelectorAll('.leaflet-control')].map(
      (c) => rect(c.getBoundingClientRect())),
    sentence: block.querySelector('[data-map-areas]').textContent,
  };
}"""

SENTENCE = {"en": "Areas on this map: ", "es": "Zonas en este mapa: "}


@pytest.fixture
def labelled_city(committed_app):
    """The four areas, a streetlight category (its light right where the roomiest area's name
    is written on a whole-city map), a request in the U and a supervisor of its department."""
    settings = committed_app.extensions["portal.settings"]
    session = committed_app.extensions["portal.db"].session(write=True)
    make = Factories(session, settings)
    areas = {name: make.area(name=name, ring=ring) for name, ring in AREAS.items()}
    streets = make.department(code="streets", name="Streets")
    make.staff(streets, role="supervisor", email=AGENT, name="Lab Supervisor")
    lights = make.asset_layer()
    category = make.category(
        code="streetlight", name="Streetlight out", department=streets, asset_layer_id=lights.id
    )
    named = label_point({"type": "Polygon", "coordinates": [AREAS[ROOMIEST]]})
    make.asset(lights, "SL-7", named.lat, named.lon, label="SL-7, Eastgate")
    request = make.request(
        category=category, lat=REQUEST[0], lon=REQUEST[1], area_id=areas["Riverbend"].id
    )
    session.commit()
    reference = request.reference
    session.close()
    return reference


def _overlap(a: list[float], b: list[float]) -> bool:
    return a[0] < b[2] - 0.5 and b[0] < a[2] - 0.5 and a[1] < b[3] - 0.5 and b[1] < a[3] - 0.5


def _inside(a: list[float], b: list[float]) -> bool:
    return a[0] >= b[0] - 0.5 and a[1] >= b[1] - 0.5 and a[2] <= b[2] + 0.5 and a[3] <= b[3] + 0.5


def _check_labels(page, map_id: str, language: str, *, whole_city: bool) -> list[str]:
    """Wait for the map's names, then describe every way they fall short (empty: none)."""
    page.wait_for_function(
        "(id) => { const b = document.getElementById(id).closest('[data-portal-map-block]');"
        " return b.querySelector('[data-map-areas]').textContent.length > 0; }",
        arg=map_id,
    )
    page.wait_for_load_state("networkidle")
    found = page.evaluate(MEASURE, map_id)
    view = box(*found["view"])
    expected = {name for name, ring in AREAS.items() if shape_of(ring).intersection(view).area > 0}
    problems = []
    if whole_city and expected != set(AREAS):
        problems.append(f"the whole city is not in view: {sorted(expected)}")
    shown = [label for label in found["labels"] if label["visible"]]
    names = sorted(label["name"] for label in shown)
    if names != sorted(expected):
        problems.append(f"labels {names}, areas in view {sorted(expected)}")
    obstacles = found["controls"] + ([found["pin"]] if found["pin"] else [])
    for label in shown:
        name = label["name"]
        if name in AREAS and not shape_of(AREAS[name]).covers(Point(label["lon"], label["lat"])):
            problems.append(f"{name}: written outside the area")
        if not _inside(label["box"], found["map"]):
            problems.append(f"{name}: outside the map {label['box']} {found['map']}")
        if label["size"] < SMALLEST:
            problems.append(f"{name}: {label['size']} px")
        if any(_overlap(label["box"], other) for other in obstacles):
            problems.append(f"{name}: under the pin or a control")
        if any(_overlap(label["box"], o["box"]) for o in shown if o is not label):
            problems.append(f"{name}: overlaps another name")
    if any(label["ariaHidden"] != "true" for label in found["labels"]):
        problems.append("a label is read by screen readers")
    sentence = found["sentence"]
    if not sentence.startswith(SENTENCE[language]) or any(
        sentence.count(name) != 1 for name in expected
    ):
        problems.append(f"sentence {sentence!r}")
    return problems


#: The reports' area map shown (wide or narrow): each name, its size as drawn (font size
#: times the drawing's scale), its box, and the title of the area drawn under its middle.
MEASURE_SVG = """() => {
  const svg = [...document.querySelectorAll('svg.portal-chart')].find(
    (s) => s.id.startsWith('map-areas') && s.checkVisibility());
  svg.scrollIntoView({block: 'start'});  // elementsFromPoint sees only the viewport
  const rect = (r) => [r.left, r.top, r.right, r.bottom];
  const group = svg.querySelector('.portal-chart__names');
  const names = [...group.querySelectorAll('text')].map((t) => {
    const r = t.getBoundingClientRect();
    const under = document.elementsFromPoint((r.left + r.right) / 2, (r.top + r.bottom) / 2)
      .find((e) => e.matches('path[data-area]'));
    return {name: t.textContent.replace(/\\s+/g, ' ').trim(), box: rect(r),
      size: parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a,
      visible: t.checkVisibility(),
      under: under ? under.querySelector('title').textContent : null};
  });
  return {names, box: rect(svg.getBoundingClientRect()),
          ariaHidden: group.getAttribute('aria-hidden')};
}"""


def _check_svg_names(page) -> list[str]:
    found = page.evaluate(MEASURE_SVG)
    names = found["names"]
    problems = []
    if sorted(n["name"] for n in names if n["visible"]) != sorted(AREAS):
        problems.append(f"names {[n['name'] for n in names]}")
    for n in names:
        if not (n["under"] or "").startswith(f"{n['name']}: "):
            problems.append(f"{n['name']}: written over {n['under']!r}")
        if n["size"] < SMALLEST:
            problems.append(f"{n['name']}: {n['size']:.1f} px")
        if not _inside(n["box"], found["box"]):
            problems.append(f"{n['name']}: outside the map")
        if any(_overlap(n["box"], o["box"]) for o in names if o is not n):
            problems.append(f"{n['name']}: overlaps another name")
    if found["ariaHidden"] != "true":
        problems.append("the names are read by screen readers (the table has them)")
    return problems


def shape_of(ring):
    return shape({"type": "Polygon", "coordinates": [ring]})


def _to_location(page, live_server) -> None:
    page.goto(f"{live_server}/report/?category=streetlight")
    page.locator("#description").fill("Dark corner by the market")
    page.locator("form.usa-form button[type=submit]").click()
    page.wait_for_url(re.compile("/report/location"))


@pytest.mark.markup
@pytest.mark.parametrize("width", [390, 1280])
@pytest.mark.parametrize("language", ["en", "es"])
def test_every_area_map_names_its_areas(chromium, live_server, labelled_city, width, language):
    context = chromium.new_context(
        viewport={"width": width, "height": 900}, bypass_csp=True, device_scale_factor=1
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    problems: dict[str, list[str]] = {}

    def visit(name: str, map_id: str | None, *, whole_city: bool = False) -> None:
        if map_id:
            found = _check_labels(page, map_id, language, whole_city=whole_city)
        else:
            found = _check_svg_names(page)
        violations = axe_violations(page)
        if found or violations:
            problems[name] = found + violations
        if language == "en":
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            shown = f"#{map_id}" if map_id else "svg[id^=map-areas]:visible"
            page.locator(shown).screenshot(
                path=str(SCREENSHOTS / f"area-labels-{name}-{width}.png")
            )

    try:
        # The public pages as a resident, then the staff pages signed in.
        page.goto(f"{live_server}/?lang={language}")
        _to_location(page, live_server)
        visit("location", "location-map", whole_city=True)
        page.goto(f"{live_server}/around/")
        visit("around-city", "around-map", whole_city=True)
        page.goto(f"{live_server}/around/?lat={REQUEST[0]}&lon={REQUEST[1]}")
        visit("around-point", "around-map")
        page.goto(f"{live_server}/requests/{labelled_city}")
        visit("tracking", "request-map")
        page.goto(f"{live_server}/performance")
        visit("performance", None)
        page.goto(f"{live_server}/?lang=en")  # the sign-in helper reads English labels
        sign_in(page, live_server, AGENT)
        page.goto(f"{live_server}/?lang={language}")
        page.goto(f"{live_server}/staff/cases/{labelled_city}")
        visit("case", "case-map")
        page.goto(f"{live_server}/staff/queue/department?display=map")
        visit("queue", "queue-map", whole_city=True)
        page.goto(f"{live_server}/staff/reports/hotspots")
        visit("hotspots", None)
    finally:
        context.close()
    assert problems == {}
    assert errors == []


def test_a_streetlight_under_an_area_name_takes_the_tap(phone, live_server, labelled_city):
    """Eastgate's name is written right over SL-7 on the whole-city map; the light is drawn
    above it and the tap picks it (the name never takes a tap)."""
    page = phone
    _to_location(page, live_server)
    the_map = page.locator("#location-map")
    name = the_map.locator(".portal-map__area-label span", has_text=ROOMIEST)
    light = the_map.locator(".portal-map__asset--pick")
    expect(name).to_be_visible()
    expect(light).to_have_count(1)
    named, lit = name.bounding_box(), light.bounding_box()
    centre = (lit["x"] + lit["width"] / 2, lit["y"] + lit["height"] / 2)
    assert named["x"] < centre[0] < named["x"] + named["width"]
    assert named["y"] < centre[1] < named["y"] + named["height"]
    # What is at the light's centre is the light, not the name.
    on_top = page.evaluate(
        "([x, y]) => document.elementFromPoint(x, y).getAttribute('class')", list(centre)
    )
    assert "portal-map__asset--pick" in on_top
    light.click()
    expect(page.locator("#asset")).to_have_value("SL-7")
