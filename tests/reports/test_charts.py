"""The charts' two drawings (issue 20): the narrow one (for a phone) says what the wide one
says — the same marks with the same titles, its own ids, labels of 12 units — and long
labels are cut or broken rather than run off the drawing."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from portal.reports.charts import (
    NARROW_WIDTH,
    WIDE_WIDTH,
    MapShape,
    Series,
    bar_chart,
    choropleth,
    line_chart,
)

SVG = "{http://www.w3.org/2000/svg}"
SQUARE = [[-87.01, 40.99], [-86.99, 40.99], [-86.99, 41.01], [-87.01, 41.01], [-87.01, 40.99]]
LONG = "Broken or missing streetlight on a residential street"


def _both(chart) -> tuple[ET.Element, ET.Element]:
    return ET.fromstring(str(chart.svg)), ET.fromstring(str(chart.narrow))


def _tips(root: ET.Element) -> list[str]:
    """The titles of the marks (bars, points, areas), in order."""
    return [t.text or "" for t in root.iter(f"{SVG}title")][1:]


def _texts(root: ET.Element) -> list[ET.Element]:
    return [t for t in root.iter(f"{SVG}text")]


def _check_pair(chart, chart_id: str) -> tuple[ET.Element, ET.Element]:
    wide, narrow = _both(chart)
    assert (wide.get("id"), narrow.get("id")) == (chart_id, f"{chart_id}-narrow")
    assert wide.get("class") == "portal-chart"
    assert narrow.get("class") == "portal-chart portal-chart--narrow"
    assert narrow.get("aria-labelledby") == f"{chart_id}-narrow-title {chart_id}-narrow-desc"
    assert wide.find(f"{SVG}title").text == narrow.find(f"{SVG}title").text
    assert wide.find(f"{SVG}desc").text == narrow.find(f"{SVG}desc").text
    for root, width in ((wide, WIDE_WIDTH), (narrow, NARROW_WIDTH)):
        assert root.get("viewBox").split()[2] == str(width) == root.get("width")
        # Every label is drawn at 12 units (its group's size): 12 px at natural size.
        for group in root.iter(f"{SVG}g"):
            if group.find(f"{SVG}text") is not None:
                assert group.get("font-size") == "12"
    assert _tips(wide) == _tips(narrow)
    return wide, narrow


def test_bar_chart_narrow_drawing_puts_labels_above_the_same_bars():
    chart = bar_chart(
        chart_id="bars",
        title="Requests by category",
        description="Bars",
        bars=[(LONG, 12.0), ("Pothole", 3.0), ("Graffiti", None)],
        label_header="Category",
        value_header="Requests",
    )
    wide, narrow = _check_pair(chart, "bars")
    assert _tips(narrow) == [f"{LONG}: 12", "Pothole: 3", "Graffiti: —"]
    lengths = {
        name: [float(r.get("width")) for r in root.iter(f"{SVG}rect")]
        for name, root in (("wide", wide), ("narrow", narrow))
    }
    # Proportional in both drawings: 3 is a quarter of 12 (the top of the scale is 12).
    for found in lengths.values():
        assert abs(found[1] / found[0] - 0.25) < 0.01 and found[2] == 0
    # The narrow drawing writes each label above its bar, from the left edge, cut to fit.
    labels = [t for t in _texts(narrow) if t.get("text-anchor") is None][::2]
    assert [t.get("x") for t in labels] == ["4", "4", "4"]
    assert labels[0].text.endswith("…") and LONG.startswith(labels[0].text[:-1])
    assert 7 * len(labels[0].text) <= NARROW_WIDTH - 8
    assert chart.table.rows == [[LONG, "12"], ["Pothole", "3"], ["Graffiti", ""]]


def test_line_chart_narrow_drawing_labels_fewer_periods_always_the_latest():
    labels = [f"Mar {d}, 2026 – Mar {d + 6}, 2026" for d in range(1, 13)]
    chart = line_chart(
        chart_id="trend",
        title="Requests per week",
        description="A line",
        labels=labels,
        series=[Series("Opened", [float(n) for n in range(12)]), Series("Closed", [1.0] * 12)],
        label_header="Week",
    )
    wide, narrow = _check_pair(chart, "trend")

    def period_labels(root: ET.Element) -> list[str]:
        axis = root.find(f".//{SVG}g[@class='portal-chart__axis']")
        return [" ".join(s.text for s in t) for t in axis.iter(f"{SVG}text") if len(t)]

    shown_wide, shown_narrow = period_labels(wide), period_labels(narrow)
    # Broken after the dash; the latest period always labelled; fewer on a phone.
    assert shown_narrow[-1] == shown_wide[-1] == "Mar 12, 2026 – Mar 18, 2026"
    assert 1 < len(shown_narrow) < len(shown_wide) < 12
    first = narrow.find(f".//{SVG}tspan")
    assert first.text.endswith("–")
    # The legend's two entries wrap inside the narrow drawing.
    legend = narrow.find(f".//{SVG}g[@class='portal-chart__legend']")
    for text in legend.iter(f"{SVG}text"):
        assert float(text.get("x")) + 7 * len(text.text) <= NARROW_WIDTH
    assert chart.legend == [("Opened", "#005ea2"), ("Closed", "#c05600")]


def test_choropleth_narrow_drawing_is_the_same_map_narrower():
    east = [[x + 0.02, y] for x, y in SQUARE]
    chart = choropleth(
        chart_id="map",
        title="Requests by area",
        description="A map",
        shapes=[
            MapShape(1, "West", {"type": "Polygon", "coordinates": [SQUARE]}),
            MapShape(2, "East", {"type": "Polygon", "coordinates": [east]}),
        ],
        values={1: 10000.0, 2: None},
        area_header="Area",
        value_header="Requests",
        class_header="Shade",
        class_label=lambda n, of: f"the shade numbered {n} of the {of} shades",
        no_data="no figure",
    )
    wide, narrow = _check_pair(chart, "map")
    assert [p.get("fill") for p in wide.iter(f"{SVG}path")] == [
        p.get("fill") for p in narrow.iter(f"{SVG}path")
    ]
    # A legend entry too long for the phone's width is broken on two lines, not cut.
    legend = narrow.find(f".//{SVG}g[@class='portal-chart__legend']")
    lines = [t.text for t in legend.iter(f"{SVG}text")]
    assert len(lines) > len(chart.legend)
    assert " ".join(lines).startswith("the shade numbered 1 of the 5 shades: 0–2000")
    assert all(40 + 7 * len(line) <= NARROW_WIDTH for line in lines)


def test_choropleth_names_each_area_inside_it_in_both_drawings():
    """A U-shaped area's name goes in the U (its bounding-box centre is in the square set
    in its notch); a name too long for one line is broken on two; names are hidden from
    screen readers, the table beside the map having them."""
    u_shape = [
        [-87.02, 40.98], [-86.98, 40.98], [-86.98, 41.02], [-86.993, 41.02], [-86.993, 40.995],
        [-87.007, 40.995], [-87.007, 41.02], [-87.02, 41.02], [-87.02, 40.98],
    ]  # fmt: skip
    notch = [[-87.007, 40.995], [-86.993, 40.995], [-86.993, 41.02], [-87.007, 41.02]]
    chart = choropleth(
        chart_id="map",
        title="Requests by area",
        description="A map",
        shapes=[
            MapShape(1, "Riverbend", {"type": "Polygon", "coordinates": [u_shape]}),
            MapShape(
                2, "Market Square and the Old Mill", {"type": "Polygon", "coordinates": [notch]}
            ),
        ],
        values={1: 3.0, 2: 1.0},
        area_header="Area",
        value_header="Requests",
        class_header="Shade",
        class_label=lambda n, of: f"{n}/{of}",
        no_data="none",
    )
    for root in _check_pair(chart, "map"):
        names = root.find(f".//{SVG}g[@class='portal-chart__names']")
        assert names.get("aria-hidden") == "true"
        written = {
            " ".join(span.text for span in text.iter(f"{SVG}tspan")): [
                (float(span.get("x")), float(span.get("y"))) for span in text.iter(f"{SVG}tspan")
            ]
            for text in names.iter(f"{SVG}text")
        }
        assert set(written) == {"Riverbend", "Market Square and the Old Mill"}
        assert len(written["Market Square and the Old Mill"]) == 2
        # The U's name is in its base, south of the square's bottom edge (SVG y grows
        # southwards), not at its bounding box's centre (in the square).
        square = next(p for p in root.iter(f"{SVG}path") if p.get("data-area") == "2")
        bottom = max(float(xy.split(",")[1]) for xy in square.get("d")[1:-2].split(" L"))
        [(_, u_y)] = written["Riverbend"]
        assert u_y > bottom
