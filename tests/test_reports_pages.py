"""Performance reports on the web: the SVG charts (parsed with xml.etree), the staff pages
(board, drill-down, hotspots) and the public performance page, through HTTP."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

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
    chart = line_chart(chart_id="trend", title="Requests <by> week", description="Two lines",
                       labels=["W1", "W2", "W3"], label_header="Week",
                       series=[Series("Opened", [4, None, 10]), Series("Closed", [2, 3, 5])],
                       fmt=lambda v: f"{v:g} req")
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
    ys = [float(p.split(",")[1]) for p in groups[0].findall(f"{SVG}polyline")[1]
          .get("points").split()]
    assert ys == [16.0]
    assert chart.table.headers == ["Week", "Opened", "Closed"]
    assert chart.table.rows == [["W1", "4 req", "2 req"], ["W2", "", "3 req"],
                                ["W3", "10 req", "5 req"]]


def test_line_chart_refuses_series_of_the_wrong_length():
    with pytest.raises(ValueError):
        line_chart(chart_id="x", title="t", description="d", labels=["a"], label_header="L",
                   series=[Series("s", [1, 2])])


def test_bar_chart_lengths_are_proportional_and_values_written():
    chart = bar_chart(chart_id="bars", title="Backlog age", description="d",
                      bars=[("< 2 days", 5), ("2-7 days", 10), ("> 30 days", None)],
                      label_header="Age", value_header="Open tasks")
    root = _svg(chart)
    bars = root.findall(f".//{SVG}rect[@class='portal-chart__bar']")
    widths = [float(b.get("width")) for b in bars]
    assert widths[1] == pytest.approx(2 * widths[0])
    assert widths[2] == 0
    assert [b.find(f"{SVG}title").text for b in bars] == ["< 2 days: 5", "2-7 days: 10",
                                                         "> 30 days: —"]
    assert chart.table.rows == [["< 2 days", "5"], ["2-7 days", "10"], ["> 30 days", ""]]


def test_class_breaks_are_equal_round_intervals():
    assert class_breaks([0, 3, 9.5]) == [2, 4, 6, 8, 10]
    assert class_breaks([]) == [0, 0, 0, 0, 0]
    breaks = class_breaks([1, 50, 100])
    assert breaks == [20, 40, 60, 80, 100]
    assert [class_of(v, breaks) for v in (0, 20, 20.5, 100, 150)] == [0, 0, 1, 4, 4]


WEST = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [0.0, 0.0]]
EAST = [[1.0, 0.0], [2.0, 0.0], [2.0, 1.0], [1.0, 1.0], [1.0, 0.0]]


def test_choropleth_shades_areas_by_class_with_titles_legend_and_table():
    shapes = [MapShape(1, "West & Co", {"type": "Polygon", "coordinates": [WEST]}),
              MapShape(2, "East", {"type": "MultiPolygon", "coordinates": [[EAST]]}),
              MapShape(3, "Nowhere", {"type": "Polygon", "coordinates": [WEST]})]
    chart = choropleth(chart_id="map", title="Requests per area", description="d",
                       shapes=shapes, values={1: 10, 2: 2, 3: None}, area_header="Area",
                       value_header="Requests", class_header="Class",
                       class_label=lambda n, of: f"class {n} of {of}", no_data="no data")
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
    legend = [t.text for t in root.find(f".//{SVG}g[@class='portal-chart__legend']")
              .iter(f"{SVG}text")]
    assert legend == ["class 1 of 5: 0–2", "class 2 of 5: 2–4", "class 3 of 5: 4–6",
                      "class 4 of 5: 6–8", "class 5 of 5: 8–10", "no data"]
    assert chart.table.rows == [["West & Co", "10", "class 5 of 5"],
                                ["East", "2", "class 1 of 5"], ["Nowhere", "no data", ""]]


def test_choropleth_without_areas_is_still_a_valid_svg():
    chart = choropleth(chart_id="map", title="t", description="d", shapes=[], values={},
                       area_header="Area", value_header="v", class_header="c",
                       class_label=lambda n, of: str(n), no_data="none")
    _svg(chart)
    assert chart.table.rows == []
