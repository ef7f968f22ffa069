"""Performance reports on the web: the SVG charts (parsed with xml.etree), the staff pages
(board, drill-down, hotspots) and the public performance page, through HTTP."""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select

from portal.core.audit import AuditEntry
from portal.reports.charts import (
    MAP_CLASSES,
    MapShape,
    Series,
    bar_chart,
    choropleth,
    class_breaks,
    class_of,
    line_chart,
    nice_ticks,
)
from portal.requests.models import ServiceRequest
from tests.conftest import sign_in

SVG = "{http://www.w3.org/2000/svg}"


def _svg(chart) -> ET.Element:
    root = ET.fromstring(str(chart.svg))
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    title_id, desc_id = root.get("aria-labelledby").split()
    assert root.find(f"{SVG}title").get("id") == title_id
    assert root.find(f"{SVG}desc").get("id") == desc_id
    return root


# -- charts -----------------------------------------------------------------------------------


def test_nice_ticks_cover_the_top_value_in_round_steps():
    assert nice_ticks(9.2) == [0, 2, 4, 6, 8, 10]
    assert nice_ticks(100) == [0, 20, 40, 60, 80, 100]
    assert nice_ticks(0.37) == [0, 0.1, 0.2, 0.3, 0.4]
    assert nice_ticks(0) == [0, 1]


def test_line_chart_draws_each_series_with_titled_points_and_a_table():
    chart = line_chart(
        chart_id="trend",
        title="Requests <by> week",
        description="Two lines",
        labels=["W1", "W2", "W3"],
        label_header="Week",
        series=[Series("Opened", [4, None, 10]), Series("Closed", [2, 3, 5])],
        fmt=lambda v: f"{v:g} req",
    )
    root = _svg(chart)
    assert root.find(f"{SVG}title").text == "Requests <by> week"
    groups = root.findall(f".//{SVG}g[@class='portal-chart__series']")
    assert [g.get("data-series") for g in groups] == ["Opened", "Closed"]
    # A missing value breaks the first line in two; the second is one line.
    assert len(groups[0].findall(f"{SVG}polyline")) == 2
    assert len(groups[1].findall(f"{SVG}polyline")) == 1
    tips = [t.text for t in groups[0].iter(f"{SVG}title")]
    assert tips == ["Opened, W1: 4 req", "Opened, W3: 10 req"]
    # The two lines differ by more than colour: dash pattern and marker shape.
    first, second = groups[0].find(f"{SVG}polyline"), groups[1].find(f"{SVG}polyline")
    assert first.get("stroke-dasharray") != second.get("stroke-dasharray")
    assert groups[0][-1].tag != groups[1][-1].tag
    # The highest point (10) sits below the top tick (10 -> top of the plot) and above 4.
    ys = [
        float(p.split(",")[1]) for p in groups[0].findall(f"{SVG}polyline")[1].get("points").split()
    ]
    assert ys == [16.0]
    assert chart.table.headers == ["Week", "Opened", "Closed"]
    assert chart.table.rows == [
        ["W1", "4 req", "2 req"],
        ["W2", "", "3 req"],
        ["W3", "10 req", "5 req"],
    ]


def test_line_chart_refuses_series_of_the_wrong_length():
    with pytest.raises(ValueError):
        line_chart(
            chart_id="x",
            title="t",
            description="d",
            labels=["a"],
            label_header="L",
            series=[Series("s", [1, 2])],
        )


def test_bar_chart_lengths_are_proportional_and_values_written():
    chart = bar_chart(
        chart_id="bars",
        title="Backlog age",
        description="d",
        bars=[("< 2 days", 5), ("2-7 days", 10), ("> 30 days", None)],
        label_header="Age",
        value_header="Open tasks",
    )
    root = _svg(chart)
    bars = root.findall(f".//{SVG}rect[@class='portal-chart__bar']")
    widths = [float(b.get("width")) for b in bars]
    assert widths[1] == pytest.approx(2 * widths[0])
    assert widths[2] == 0
    assert [b.find(f"{SVG}title").text for b in bars] == [
        "< 2 days: 5",
        "2-7 days: 10",
        "> 30 days: —",
    ]
    assert chart.table.rows == [["< 2 days", "5"], ["2-7 days", "10"], ["> 30 days", ""]]


def test_class_breaks_are_equal_round_intervals():
    assert class_breaks([0, 3, 9.5]) == [2, 4, 6, 8, 10]
    assert class_breaks([]) == [0, 0, 0, 0, 0]
    assert class_breaks([13, 2]) == [3, 6, 9, 12, 15]  # the largest is in the darkest class
    assert class_breaks([12]) == [2.5, 5, 7.5, 10, 12.5]
    assert class_breaks([0.37]) == [0.075, 0.15, 0.225, 0.3, 0.375]
    breaks = class_breaks([1, 50, 100])
    assert breaks == [20, 40, 60, 80, 100]
    assert [class_of(v, breaks) for v in (0, 20, 20.5, 100, 150)] == [0, 0, 1, 4, 4]


WEST = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [0.0, 0.0]]
EAST = [[1.0, 0.0], [2.0, 0.0], [2.0, 1.0], [1.0, 1.0], [1.0, 0.0]]


def test_choropleth_shades_areas_by_class_with_titles_legend_and_table():
    shapes = [
        MapShape(1, "West & Co", {"type": "Polygon", "coordinates": [WEST]}),
        MapShape(2, "East", {"type": "MultiPolygon", "coordinates": [[EAST]]}),
        MapShape(3, "Nowhere", {"type": "Polygon", "coordinates": [WEST]}),
    ]
    chart = choropleth(
        chart_id="map",
        title="Requests per area",
        description="d",
        shapes=shapes,
        values={1: 10, 2: 2, 3: None},
        area_header="Area",
        value_header="Requests",
        class_header="Class",
        class_label=lambda n, of: f"class {n} of {of}",
        no_data="no data",
    )
    root = _svg(chart)
    paths = {p.get("data-area"): p for p in root.iter(f"{SVG}path")}
    assert paths["1"].get("fill") == MAP_CLASSES[4]
    assert paths["2"].get("fill") == MAP_CLASSES[0]
    assert paths["3"].get("fill") == "#ffffff"
    assert paths["1"].find(f"{SVG}title").text == "West & Co: 10 (class 5 of 5)"
    assert paths["3"].find(f"{SVG}title").text == "Nowhere: no data"
    # Equirectangular: the west area is left of the east one; north is up.
    west_x = [float(pt.split(",")[0]) for pt in paths["1"].get("d")[1:-2].split(" L")]
    east_x = [float(pt.split(",")[0]) for pt in paths["2"].get("d")[1:-2].split(" L")]
    assert max(west_x) == pytest.approx(min(east_x))
    legend = [
        t.text for t in root.find(f".//{SVG}g[@class='portal-chart__legend']").iter(f"{SVG}text")
    ]
    assert legend == [
        "class 1 of 5: 0–2",
        "class 2 of 5: 2–4",
        "class 3 of 5: 4–6",
        "class 4 of 5: 6–8",
        "class 5 of 5: 8–10",
        "no data",
    ]
    assert chart.table.rows == [
        ["West & Co", "10", "class 5 of 5"],
        ["East", "2", "class 1 of 5"],
        ["Nowhere", "no data", ""],
    ]


def test_choropleth_without_areas_is_still_a_valid_svg():
    chart = choropleth(
        chart_id="map",
        title="t",
        description="d",
        shapes=[],
        values={},
        area_header="Area",
        value_header="v",
        class_header="c",
        class_label=lambda n, of: str(n),
        no_data="none",
    )
    _svg(chart)
    assert chart.table.rows == []


# -- the pages --------------------------------------------------------------------------------

ZONE = ZoneInfo("America/Chicago")
NOW = datetime(2026, 3, 20, 15, 0, tzinfo=UTC)


def local(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, time(hour), ZONE).astimezone(UTC)


@pytest.fixture
def settings(settings):
    """These small cities rank every department with a task finished: the minimum volume and
    the Wilson ranking are tested in test_fair_walls.py."""
    return replace(settings, wall_min_tasks=1)


@pytest.fixture(autouse=True)
def frozen(freeze_clock):
    freeze_clock(NOW)


def add_requests(db, category, area, when: datetime, n: int) -> None:
    db.execute(
        insert(ServiceRequest),
        [
            {
                "category_id": category.id,
                "department_id": category.department_id,
                "area_id": area.id if area is not None else None,
                "created_at": when,
                "updated_at": when,
                "status_changed_at": when,
            }
            for _ in range(n)
        ],
    )


def read_csv(response) -> list[list[str]]:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


@pytest.fixture
def city(make, db):
    """Two areas side by side, one department with two categories, and a spike: 12 parking
    requests in Northside in March 2026 (none before), 2 in Southside; 3 potholes in
    Southside in February."""
    streets = make.department(name="Streets")
    north = make.area(name="Northside", ring=WEST)
    south = make.area(name="Southside", ring=EAST)
    parking = make.category(
        name="Parking", department=streets, translations={"es": {"name": "Estacionamiento"}}
    )
    potholes = make.category(name="Potholes", department=streets)
    add_requests(db, parking, north, local(date(2026, 3, 10)), 12)
    add_requests(db, parking, south, local(date(2026, 3, 11)), 2)
    add_requests(db, potholes, south, local(date(2026, 2, 11)), 3)
    db.flush()
    return {
        "streets": streets,
        "north": north,
        "south": south,
        "parking": parking,
        "potholes": potholes,
    }


@pytest.fixture
def supervisor(make, city):
    return make.staff(city["streets"], role="supervisor")


def test_hotspots_page_shows_flags_map_tables_and_trend(client, city, supervisor):
    sign_in(client, supervisor)
    html = client.get("/staff/reports/hotspots?period=month&start=2026-03-01").get_data(
        as_text=True
    )
    assert "Parking in Northside: 12 requests in March 2026" in html
    assert f'data-spike="{city["north"].id}-{city["parking"].id}"' in html
    # The map: Northside darkest (12), Southside lightest (2), each with its title.
    assert "<title>Northside: 12 (shade 5 of 5)</title>" in html
    assert "<title>Southside: 2 (shade 1 of 5)</title>" in html
    assert html.count('class="portal-chart"') == 3  # map, categories, trend
    # The trend of the last 12 months ends with February (3) and March (14).
    assert "<title>Requests, February 2026: 3</title>" in html
    assert "<title>Requests, March 2026: 14</title>" in html


def test_hotspots_in_spanish_and_filtered_by_category(client, city, supervisor):
    sign_in(client, supervisor)
    html = client.get(
        f"/staff/reports/hotspots?lang=es&category={city['potholes'].id}"
        "&period=month&start=2026-02-05"
    ).get_data(as_text=True)
    assert '<html lang="es">' in html
    assert "<title>Southside: 3 (" in html
    assert "<title>Northside: 0 (" in html  # every area is drawn, 0 when it had none
    assert ">Estacionamiento</option>" in html
    assert "Parking in Northside" not in html  # the flag is of March, not February


def test_hotspots_csv_tables(client, city, supervisor):
    sign_in(client, supervisor)
    base = "/staff/reports/hotspots?period=month&start=2026-03-01&format=csv&table="
    areas = read_csv(client.get(base + "areas"))
    assert areas[0] == ["Area", "Requests", "Shade"]
    assert areas[1:] == [["Northside", "12", "shade 5 of 5"], ["Southside", "2", "shade 1 of 5"]]
    assert read_csv(client.get(base + "categories"))[1:] == [["Parking", "14"]]
    cells = read_csv(client.get(base + "cells"))
    assert cells[1:] == [["Northside", "Parking", "12"], ["Southside", "Parking", "2"]]
    trend = read_csv(client.get(base + "trend"))
    assert len(trend) == 13 and trend[-1] == ["March 2026", "14"]
    spikes = read_csv(client.get(base + "spikes"))
    assert spikes[1][:4] == ["Northside", "Parking", "12", "Its own recent average"]
    assert read_csv(client.get(base + "sentiment")) == [
        [
            "Area",
            "Responses",
            "Satisfaction answers",
            "Dissatisfied",
            "Dissatisfied (%)",
            "Comments",
        ]
    ]
    assert client.get(base + "nonsense").status_code == 400


def test_comments_are_paged_and_their_export_is_audited(client, db, make, city, supervisor):
    sr = make.request(category=city["parking"], area_id=city["north"].id)
    for n in range(23):
        make.survey_response(
            request_id=sr.id,
            csat=1 + n % 5,
            comment=f"Comment number {n}",
            created_at=local(date(2026, 3, 1 + n % 10), 9 + n % 5),
        )
    sign_in(client, supervisor)
    first = client.get("/staff/reports/hotspots").get_data(as_text=True)
    assert first.count("Comment number") == 20
    assert "Older comments" in first
    older = re.search(r'href="([^"]*after=[^"]*)"', first).group(1).replace("&amp;", "&")
    second = client.get(older).get_data(as_text=True)
    assert second.count("Comment number") == 3
    rows = read_csv(client.get("/staff/reports/hotspots?format=csv&table=comments"))
    assert len(rows) == 24
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "comments_export")).one()
    assert entry.actor_id == supervisor.id and entry.after == {"rows": 23}


@pytest.mark.parametrize(
    "query, message",
    [
        ("period=fortnight", "Choose a week, a month or a quarter."),
        ("start=2026-02-30", "Enter a real date, like 2026-03-31."),
        ("start=1999-12-31", "Choose a day in 2000 or later."),
        ("start=2026-04-01", "Choose a day that is not in the future."),
        ("category=999999", "Choose one of the categories in the list."),
    ],
)
def test_bad_period_input_gets_a_message_and_the_current_period(
    client, city, supervisor, query, message
):
    sign_in(client, supervisor)
    response = client.get(f"/staff/reports/hotspots?{query}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert message in html
    assert "usa-error-message" in html and 'aria-invalid="true"' in html
    assert "Showing March 2026." in html or "Showing Q1 2026." in html


def test_hotspots_refused_to_agents_and_residents(client, make, city):
    agent = make.staff(city["streets"], role="agent")
    sign_in(client, agent)
    assert client.get("/staff/reports/hotspots").status_code == 403


# -- the board and the drill-down -------------------------------------------------------------

H = 3600


def resolved_clock(
    make, category, *, stage: str, hours: float, day: date, assignee=None, kind: str = "resolution"
) -> None:
    """A case with a task whose resolution clock stopped on ``day`` after ``hours`` working
    hours, ``met`` or ``breached``."""
    request = make.request(category=category)
    task = make.task(
        request,
        assignee_id=assignee.id if assignee else None,
        created_at=local(day) - timedelta(days=3),
        status="done",
        is_open=False,
        closed_at=local(day),
    )
    make.sla_clock(
        request,
        task=task,
        kind=kind,
        stage=stage,
        working_seconds=int(hours * H),
        started_at=local(day) - timedelta(days=3),
        stopped_at=local(day),
    )


@pytest.fixture
def departments(make):
    """March 2026: Parks 2 of 2 on time, Roads 3 of 4 (1, 2, 3 and 10 hours), Water 1 of 2,
    Waste 0 of 1; Lights nothing. February: Roads 1 of 2."""
    made = {
        name: make.department(name=name) for name in ("Parks", "Roads", "Water", "Waste", "Lights")
    }
    cats = {name: make.category(department=d, name=f"{name} work") for name, d in made.items()}
    march = date(2026, 3, 5)
    for hours in (5, 7):
        resolved_clock(make, cats["Parks"], stage="met", hours=hours, day=march)
    for stage, hours in (("met", 1), ("met", 2), ("met", 3), ("breached", 10)):
        resolved_clock(make, cats["Roads"], stage=stage, hours=hours, day=march)
    for stage in ("met", "breached"):
        resolved_clock(make, cats["Roads"], stage=stage, hours=4, day=date(2026, 2, 10))
        resolved_clock(make, cats["Water"], stage=stage, hours=4, day=march)
    resolved_clock(make, cats["Waste"], stage="breached", hours=30, day=march)
    return made, cats


def rows_of(html: str, marker: str) -> list[str]:
    section = html.split(marker, 1)[1].split("</section>", 1)[0]
    return re.findall(r'data-department="(\d+)"', section)


def test_board_ranks_departments_with_walls_changes_and_units(client, make, departments):
    made, _cats = departments
    supervisor = make.staff(made["Roads"], role="supervisor")
    sign_in(client, supervisor)
    html = client.get("/staff/reports?period=month&start=2026-03-10").get_data(as_text=True)
    ids = {name: str(d.id) for name, d in made.items()}
    fame = rows_of(html, 'data-wall="wall-of-fame"')
    shame = rows_of(html, 'data-wall="wall-of-shame"')
    assert fame[0] == ids["Parks"] and shame[0] == ids["Waste"]  # best first, worst first
    assert not set(fame) & set(shame) and ids["Lights"] not in fame + shame
    assert (
        "Rank 1: Parks</strong> — 100% of 2 tasks resolved on time, median 5 working "
        "hours; no figure to compare since last month" in html
    )
    board = html.split('id="board"', 1)[1]
    assert re.findall(r'<tr data-department="(\d+)"', board) == [
        ids["Parks"],
        ids["Roads"],
        ids["Water"],
        ids["Waste"],
        ids["Lights"],
    ]
    roads = board.split(f'<tr data-department="{ids["Roads"]}"', 1)[1].split("</tr>", 1)[0]
    # 3 of 4 on time (75%), nearest-rank median of 1, 2, 3, 10 hours is 2; 50% in February.
    assert "75% of 4" in roads
    assert "2 working hours" in roads
    assert "up 25 points since last month, better" in roads
    assert "↑" in roads
    parks = board.split(f'<tr data-department="{ids["Parks"]}"', 1)[1].split("</tr>", 1)[0]
    assert "100% of 2" in parks and "5 working hours" in parks
    assert "no figure to compare since last month" in parks
    lights = board.split(f'<tr data-department="{ids["Lights"]}"', 1)[1].split("</tr>", 1)[0]
    assert "not ranked" in lights
    assert 'class="portal-chart"' in html and "<title>Roads: 75%</title>" in html


def test_board_in_spanish_formats_numbers_for_the_locale(client, make, departments):
    made, _cats = departments
    sign_in(client, make.user(role="admin"))
    html = client.get("/staff/reports?period=month&start=2026-03-10&lang=es").get_data(as_text=True)
    assert '<html lang="es">' in html
    assert "75\xa0%" in html  # Spanish puts a (no-break) space before the percent sign
    assert "marzo de 2026" in html


def test_board_csv_has_every_figure(client, make, departments):
    made, _cats = departments
    sign_in(client, make.user(role="admin"))
    rows = read_csv(client.get("/staff/reports?period=month&start=2026-03-10&format=csv"))
    header = rows[0]
    assert header[:4] == ["Rank", "Department", "Tasks opened", "Tasks closed"]
    roads = next(r for r in rows if r[1] == "Roads")
    figures = dict(zip(header, roads, strict=True))
    assert figures["Rank"] == "2"
    assert figures["Resolved on time"] == "75.0"
    assert figures["Median time to resolve"] == "2.0"
    assert figures["90th percentile time to resolve"] == "10.0"
    assert figures["Rank in the previous period"] == "1"
    assert next(r for r in rows if r[1] == "Lights")[0] == ""


def test_board_shows_the_share_of_requests_staff_recategorised(client, db, make, departments):
    made, cats = departments
    signs = make.category(department=made["Roads"], name="Signs")
    supervisor = make.staff(made["Roads"], role="supervisor")
    case = db.scalars(
        select(ServiceRequest).where(ServiceRequest.category_id == cats["Roads"].id)
    ).first()
    sign_in(client, supervisor)
    page = client.get(f"/staff/cases/{case.reference}").get_data(as_text=True)
    form = {
        name: re.search(rf'name="{name}"[^>]*value="([^"]*)"', page).group(1)
        for name in ("csrf_token", "version", "seen")
    }
    response = client.post(
        f"/staff/cases/{case.reference}/category", data={**form, "category": str(signs.id)}
    )
    assert response.status_code == 302
    filed = len(
        db.scalars(
            select(ServiceRequest.id).where(ServiceRequest.department_id == made["Roads"].id)
        ).all()
    )
    assert filed == 6  # all filed on NOW, in March
    html = client.get("/staff/reports?period=month&start=2026-03-10").get_data(as_text=True)
    ids = {name: str(d.id) for name, d in made.items()}
    board = html.split('id="board"', 1)[1]
    roads = board.split(f'<tr data-department="{ids["Roads"]}"', 1)[1].split("</tr>", 1)[0]
    parks = board.split(f'<tr data-department="{ids["Parks"]}"', 1)[1].split("</tr>", 1)[0]
    assert "17% (1 of 6)" in roads and "0% (0 of 2)" in parks
    assert "Re-categorised by staff" in html
    rows = read_csv(client.get("/staff/reports?period=month&start=2026-03-10&format=csv"))
    figures = dict(zip(rows[0], next(r for r in rows if r[1] == "Roads"), strict=True))
    assert (figures["Re-categorised by staff"], figures["Requests re-categorised"]) == ("16.7", "1")
    base = f"/staff/reports/departments/{made['Roads'].id}?period=month&start=2026-03-10"
    by_category = client.get(base).get_data(as_text=True)
    row = by_category.split(f'<tr data-group="{signs.id}"', 1)[1].split("</tr>", 1)[0]
    assert "100% (1 of 1)" in row
    spanish = client.get("/staff/reports?period=month&start=2026-03-10&lang=es")
    assert "Recategorizadas por el personal" in spanish.get_data(as_text=True)
    public = client.get("/performance?period=month&start=2026-03-10&lang=en")
    assert "17% (1 of 6)" in public.get_data(as_text=True)


def test_quarter_and_week_boards_and_period_links(client, make, departments):
    sign_in(client, make.user(role="admin"))
    html = client.get("/staff/reports?period=quarter&start=2026-02-01").get_data(as_text=True)
    assert "Showing Q1 2026." in html
    assert "start=2025-10-01" in html  # the previous quarter
    assert "Next period" not in html  # nothing after today's quarter
    week = client.get("/staff/reports?period=week&start=2026-03-04").get_data(as_text=True)
    assert "Showing Mar 2, 2026 – Mar 8, 2026." in week
    assert "start=2026-03-09" in week  # the next week has started


def test_drill_down_by_category_area_and_agent(client, db, make, departments):
    made, cats = departments
    north = make.area(name="Northside", ring=WEST)
    supervisor = make.staff(made["Roads"], role="supervisor", name="Sue Supervisor")
    agent = make.staff(made["Roads"], role="agent", name="Andy Agent")
    for stage, hours in (("met", 1), ("breached", 20)):
        resolved_clock(
            make, cats["Roads"], stage=stage, hours=hours, day=date(2026, 3, 6), assignee=agent
        )
    request = make.request(category=cats["Roads"], area_id=north.id)
    make.task(request, created_at=local(date(2026, 3, 17)))  # open: 2.9 days old at NOW
    sign_in(client, supervisor)
    base = f"/staff/reports/departments/{made['Roads'].id}?period=month&start=2026-03-10"
    by_category = client.get(base).get_data(as_text=True)
    assert "Roads work" in by_category and "4 of 6" not in by_category
    assert "67% of 6" in by_category  # 4 met of 6 resolution clocks
    by_agent = client.get(base + "&by=agent").get_data(as_text=True)
    assert "Andy Agent" in by_agent and "50% of 2" in by_agent
    assert "Unassigned" in by_agent
    by_area = client.get(base + "&by=area").get_data(as_text=True)
    assert "Northside" in by_area and "No area" in by_area
    assert "<title>2 to 7 days: 1</title>" in by_area  # the open task, 2 days old
    rows = read_csv(client.get(base + "&by=agent&format=csv"))
    assert rows[0][0] == "Agent" and [r[0] for r in rows[1:]] == ["Andy Agent", "Unassigned"]
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "agent_figures_export")).one()
    assert entry.actor_id == supervisor.id and entry.entity_id == str(made["Roads"].id)
    assert read_csv(client.get(base + "&by=area&format=csv"))[0][0] == "Area"


def test_agent_figures_hidden_from_a_supervisor_of_another_department(client, make, departments):
    made, _cats = departments
    sign_in(client, make.staff(made["Parks"], role="supervisor"))
    base = f"/staff/reports/departments/{made['Roads'].id}"
    page = client.get(base)
    assert page.status_code == 200
    assert "By agent" not in page.get_data(as_text=True)
    assert client.get(base + "?by=agent").status_code == 404
    assert client.get(base + "?by=agent&format=csv").status_code == 404
    own = client.get(f"/staff/reports/departments/{made['Parks'].id}").get_data(as_text=True)
    assert "By agent" in own


def test_drill_down_bad_input(client, make, departments):
    made, _cats = departments
    sign_in(client, make.user(role="admin"))
    base = f"/staff/reports/departments/{made['Roads'].id}"
    html = client.get(base + "?by=colour&start=not-a-date").get_data(as_text=True)
    assert "Choose category, area or agent." in html
    assert "Enter a real date, like 2026-03-31." in html
    assert client.get(base + "?by=colour&format=csv").status_code == 400
    assert client.get("/staff/reports/departments/999999999").status_code == 404


def test_reports_refused_to_agents_residents_and_coordinators(client, make, departments):
    made, _cats = departments
    for user in (
        make.staff(made["Roads"], role="agent"),
        make.user(),
        make.user(role="coordinator"),
    ):
        browser = client.application.test_client()
        sign_in(browser, user)
        assert browser.get("/staff/reports").status_code == 403
        # An agent opens their own department's scorecard (test_agent_scorecard.py), no other.
        own = browser.get(f"/staff/reports/departments/{made['Roads'].id}").status_code
        assert own == (200 if user.role == "agent" else 403)
        assert browser.get(f"/staff/reports/departments/{made['Parks'].id}").status_code in (
            403,
            404,
        )
        assert browser.get("/staff/reports/hotspots").status_code == 403
    anonymous = client.get("/staff/reports")
    assert anonymous.status_code == 302 and "/account/sign-in" in anonymous.headers["Location"]


# -- the public page --------------------------------------------------------------------------


def test_public_performance_page_without_agents_or_comments(client, make, departments, city):
    made, cats = departments
    agent = make.staff(made["Roads"], role="agent", name="Andy Agent")
    resolved_clock(make, cats["Roads"], stage="met", hours=1, day=date(2026, 3, 6), assignee=agent)
    sr = make.request(category=city["parking"], area_id=city["north"].id)
    make.survey_response(
        request_id=sr.id,
        csat=1,
        comment="My neighbour Bob is awful",
        created_at=local(date(2026, 3, 12)),
    )
    response = client.get("/performance?period=month&start=2026-03-10")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    # Roads, 4 of 5 on time, shows more for certain (Wilson: 38%) than Parks' 2 of 2 (34%).
    assert "Rank 1: Roads" in html and "Departments ranked, March 2026" in html
    assert "<title>Northside: 13 (shade 5 of 5)</title>" in html  # with the surveyed one
    assert "<title>Parking: 15</title>" in html
    assert "Andy Agent" not in html and "Bob" not in html
    assert "/staff/reports" not in html  # no links into the back office
    assert 'href="/open-data"' in html
    assert 'href="/performance"' in client.get("/").get_data(as_text=True)  # the footer


def test_public_performance_csv_tables(client, departments, city):
    base = "/performance?period=month&start=2026-03-10&format=csv&table="
    departments_csv = read_csv(client.get(base + "departments"))
    assert [r[1] for r in departments_csv[1:]] == [
        "Parks",
        "Roads",
        "Water",
        "Waste",
        "Lights",
        "Streets",
    ]
    assert read_csv(client.get(base + "areas"))[1:] == [
        ["Northside", "12", "shade 5 of 5"],
        ["Southside", "2", "shade 1 of 5"],
    ]
    categories = read_csv(client.get(base + "categories"))
    assert categories[1] == ["Parking", "14"]  # most first
    assert ["Roads work", "6"] in categories
    assert read_csv(client.get(base + "compliance"))[1] == ["Parks", "100%"]
    assert client.get(base + "agents").status_code == 400


def test_public_page_bad_input(client):
    html = client.get("/performance?period=decade&start=2026-13-01").get_data(as_text=True)
    assert "Choose a week, a month or a quarter." in html
    assert "Enter a real date, like 2026-03-31." in html
    assert "Showing March 2026." in html
    bad = client.get("/performance?start=2026-13-01&format=csv&table=areas")
    assert bad.status_code == 400
    assert "Enter a real date, like 2026-03-31." in bad.get_data(as_text=True)


def test_board_tables_are_paged(client, make):
    made = [make.department(name=f"Department {n:02d}") for n in range(53)]
    sign_in(client, make.staff(made[0], role="supervisor"))
    for path in ("/staff/reports?period=month", "/performance?period=month"):
        first = client.get(path).get_data(as_text=True).split('id="board"', 1)[1]
        table = first.split("</table>", 1)[0]
        assert len(re.findall(r'<tr data-department="', table)) == 50
        assert "Department 49" in table and "Department 50" not in table
        next_url = re.search(r'href="([^"]*page=2[^"]*)"', first).group(1).replace("&amp;", "&")
        second = client.get(next_url).get_data(as_text=True).split('id="board"', 1)[1]
        assert re.findall(r'<tr data-department="(\d+)"', second) == [str(d.id) for d in made[50:]]
        assert re.search(r'href="[^"]*page=1[^"]*"', second)


def test_the_map_is_shaded_per_resident_when_every_area_has_a_population(
    client, db, city, supervisor
):
    city["north"].population, city["south"].population = 40_000, 5_000
    db.flush()
    sign_in(client, supervisor)
    html = client.get("/staff/reports/hotspots?period=month&start=2026-03-01").get_data(
        as_text=True
    )
    # March: Northside 12 requests for 40,000 residents (0.3 per 1,000), Southside 2 for
    # 5,000 (0.4): the smaller area is the darker one.
    assert "Requests per 1,000 residents by area, March 2026" in html
    assert "<title>Southside: 0.4 (shade 5 of 5)</title>" in html
    assert "<title>Northside: 0.3 (shade 4 of 5)</title>" in html
    areas = read_csv(
        client.get("/performance?period=month&start=2026-03-01&format=csv&table=areas")
    )
    assert areas == [
        ["Area", "Requests", "Requests per 1,000 residents", "Shade"],
        ["Northside", "12", "0.3", "shade 4 of 5"],
        ["Southside", "2", "0.4", "shade 5 of 5"],
    ]
