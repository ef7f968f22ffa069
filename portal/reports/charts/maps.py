"""The choropleth map of the city's areas in five classes, drawn wide and narrow (the same
map at two widths; the legend's labels keep their size), each area named on it."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import shapely
from markupsafe import Markup, escape
from shapely.errors import ShapelyError
from shapely.geometry import Point

from portal.areas.geo import LabelPoint, label_point
from portal.reports.charts.base import (
    CHAR_WIDTH,
    FONT_SIZE,
    INK,
    MAP_CLASSES,
    MAP_OUTLINE,
    NARROW_WIDTH,
    NO_DATA,
    WIDE_WIDTH,
    Chart,
    Formatter,
    MapShape,
    Table,
    open_svg,
    plain,
    two_lines,
)

#: An area as drawn: its id, rings, fill colour and tooltip.
_Area = tuple[int, list[list[tuple[float, float]]], str, str]
#: An area's name as written on the map: the name, where (inside the area) and its shape.
_Name = tuple[str, LabelPoint, Any]
#: A bold character of a name at FONT_SIZE, generously (CHAR_WIDTH is for regular text).
NAME_CHAR_WIDTH = 7.6
#: A name's line height (a 12-unit font's box is about 15 high) and its halo's padding.
NAME_LINE = 16
NAME_PAD = 3


def class_breaks(values: Sequence[float], classes: int = len(MAP_CLASSES)) -> list[float]:
    """Upper bounds of ``classes`` equal intervals from 0 to the largest value, the interval
    rounded up to half a unit of its leading digit (13 in 5 classes: steps of 3), so the
    darkest class always holds the largest value and a class means the same across areas."""
    top = max(values, default=0)
    if top <= 0:
        return [0.0] * classes
    raw = top / classes
    power = 10 ** math.floor(math.log10(raw))
    step = math.ceil(round(raw / power * 2, 9)) / 2 * power
    return [round(step * (i + 1), 10) for i in range(classes)]


def class_of(value: float, breaks: Sequence[float]) -> int:
    """The 0-based class of ``value`` (values above the last bound fall in the last class)."""
    for i, bound in enumerate(breaks):
        if value <= bound:
            return i
    return len(breaks) - 1


def _rings(geometry: Mapping[str, Any]) -> list[list[tuple[float, float]]]:
    kind = geometry.get("type")
    coordinates = geometry.get("coordinates") or []
    polygons = [coordinates] if kind == "Polygon" else coordinates if kind == "MultiPolygon" else []
    return [[(float(p[0]), float(p[1])) for p in ring] for polygon in polygons for ring in polygon]


def choropleth(
    *,
    chart_id: str,
    title: str,
    description: str,
    shapes: Sequence[MapShape],
    values: Mapping[int, float | None],
    area_header: str,
    value_header: str,
    class_header: str,
    class_label: Callable[[int, int], str],
    no_data: str,
    fmt: Formatter = plain,
    width: int = WIDE_WIDTH,
    extra: tuple[str, Mapping[int, str]] | None = None,
) -> Chart:
    """The areas shaded by their value in five classes, with a legend. ``extra`` (a header
    and each area's text) adds a column to the table before the value. ``width`` is the
    wide drawing's; the narrow one is NARROW_WIDTH wide.

    Equirectangular projection of the city's bounding box: x grows with longitude scaled by
    the cosine of the box's middle latitude, y with latitude (north up). ``class_label(n, of)``
    words a class ("class 3 of 5"); an area without a value is white and says ``no_data``.
    """
    breaks = class_breaks([v for v in values.values() if v is not None])
    areas: list[_Area] = []
    names: list[_Name] = []
    rows: list[list[str]] = []
    for shape in shapes:
        names += _name_of(shape)
        value = values.get(shape.id)
        if value is None:
            colour, shown, klass = NO_DATA, no_data, ""
        else:
            n = class_of(value, breaks)
            colour, shown = MAP_CLASSES[n], fmt(value)
            klass = class_label(n + 1, len(MAP_CLASSES))
        tip = f"{shape.name}: {shown}" + (f" ({klass})" if klass else "")
        areas.append((shape.id, _rings(shape.geometry), colour, tip))
        more = [extra[1].get(shape.id, "")] if extra else []
        rows.append([shape.name, *more, shown, klass])
    legend: list[tuple[str, str]] = []
    lower = 0.0
    for n, colour in enumerate(MAP_CLASSES):
        upper = breaks[n]
        legend.append(
            (f"{class_label(n + 1, len(MAP_CLASSES))}: {fmt(lower)}–{fmt(upper)}", colour)
        )
        lower = upper
    legend.append((no_data, NO_DATA))
    drawn = [
        _draw(chart_id, title, description, areas, names, legend, w, most, narrow=narrow)
        for w, most, narrow in ((width, 480, False), (NARROW_WIDTH, 360, True))
    ]
    headers = [area_header, *([extra[0]] if extra else []), value_header, class_header]
    table = Table(caption=title, headers=headers, rows=rows)
    return Chart(drawn[0], table, legend, narrow=drawn[1])


def _name_of(area: MapShape) -> list[_Name]:
    """The area's name and where it goes (inside the area: areas.geo.label_point), or
    nothing when its outline cannot be read."""
    geometry = dict(area.geometry)
    point = label_point(geometry)
    if point is None or not area.name:
        return []
    try:
        outline = shapely.make_valid(shapely.geometry.shape(geometry))
    except (ShapelyError, ValueError, TypeError, AttributeError, KeyError):
        return []
    return [(area.name, point, outline)]


def _names(
    names: Sequence[_Name],
    project: Callable[[float, float], tuple[float, float]],
    unproject: Callable[[float, float], tuple[float, float]],
    width: int,
    bottom: float,
) -> list[str]:
    """Each area's name on a white halo at its point, the roomiest area first; a name that
    would overlap one already written (or leave the map) moves a line down or up if it stays
    inside its area, else is left out: the table beside the map names every area. Hidden from
    screen readers (the SVG is one image whose table says it all)."""
    taken: list[tuple[float, float, float, float]] = []
    parts = [
        f'<g class="portal-chart__names" font-size="{FONT_SIZE}" font-weight="700" '
        f'fill="{INK}" text-anchor="middle" aria-hidden="true">'
    ]
    for name, point, outline in sorted(names, key=lambda n: -n[1].room_m):
        lines = two_lines(name)
        w = max(len(line) for line in lines) * NAME_CHAR_WIDTH + 2 * NAME_PAD
        h = NAME_LINE * len(lines) + 2
        x, home = project(point.lon, point.lat)
        for y in (home, home + h + 2, home - h - 2):
            box = (x - w / 2, y - h / 2, x + w / 2, y + h / 2)
            if box[0] < 2 or box[2] > width - 2 or box[1] < 2 or box[3] > bottom:
                continue
            if any(_overlap(box, other) for other in taken):
                continue
            if y != home and not outline.covers(Point(*unproject(x, y))):
                continue
            taken.append(box)
            parts.append(
                f'<rect x="{box[0]:.1f}" y="{box[1]:.1f}" width="{w:.1f}" height="{h}" rx="2" '
                f'fill="#fff" fill-opacity="0.85" stroke="none"/>'
            )
            # One text per name (its lines in tspans, a space between them), so the name
            # reads whole: "Southside and the Old Harbour".
            top = y - NAME_LINE * (len(lines) - 1) / 2
            spans = " ".join(
                f'<tspan x="{x:.1f}" y="{top + NAME_LINE * n:.1f}">{escape(line)}</tspan>'
                for n, line in enumerate(lines)
            )
            parts.append(f'<text dominant-baseline="central">{spans}</text>')
            break
    parts.append("</g>")
    return parts


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] + 2 and b[0] < a[2] + 2 and a[1] < b[3] + 2 and b[1] < a[3] + 2


def _draw(
    chart_id: str,
    title: str,
    description: str,
    areas: Sequence[_Area],
    names: Sequence[_Name],
    legend: Sequence[tuple[str, str]],
    width: int,
    tallest: float,
    *,
    narrow: bool,
) -> Markup:
    """The map ``width`` wide (and at most ``tallest`` high), its legend below it."""
    points = [p for _id, rings, _c, _t in areas for ring in rings for p in ring]
    if points:
        min_lon = min(p[0] for p in points)
        max_lon = max(p[0] for p in points)
        min_lat = min(p[1] for p in points)
        max_lat = max(p[1] for p in points)
        k = math.cos(math.radians((min_lat + max_lat) / 2))
        span_x = max((max_lon - min_lon) * k, 1e-9)
        span_y = max(max_lat - min_lat, 1e-9)
        scale = (width - 16) / span_x
        map_h = span_y * scale
        if map_h > tallest:
            scale *= tallest / map_h
            map_h = tallest
    else:
        min_lon = max_lat = k = scale = 0.0
        map_h = 0.0
    room = int((width - 44) // CHAR_WIDTH)
    entries = [(two_lines(text, room), colour) for text, colour in legend]
    height = int(map_h + 16 + sum(10 + 14 * len(lines) for lines, _c in entries) + 8)
    parts = open_svg(chart_id, width, height, title, description, narrow=narrow)
    parts.append(f'<g class="portal-chart__areas" stroke="{MAP_OUTLINE}" stroke-width="1">')
    for area_id, rings, colour, tip in areas:
        path = " ".join(
            "M"
            + " L".join(
                f"{8 + (lon - min_lon) * k * scale:.1f},{8 + (max_lat - lat) * scale:.1f}"
                for lon, lat in ring
            )
            + " Z"
            for ring in rings
            if ring
        )
        parts.append(
            f'<path d="{path}" fill="{colour}" fill-rule="evenodd" '
            f'data-area="{area_id}"><title>{escape(tip)}</title></path>'
        )
    parts.append("</g>")
    if points:
        parts += _names(
            names,
            lambda lon, lat: (8 + (lon - min_lon) * k * scale, 8 + (max_lat - lat) * scale),
            lambda x, y: (min_lon + (x - 8) / (k * scale), max_lat - (y - 8) / scale),
            width,
            map_h + 14,
        )
    y = map_h + 16
    parts.append(f'<g class="portal-chart__legend" font-size="{FONT_SIZE}" fill="{INK}">')
    for lines, colour in entries:
        parts.append(
            f'<rect x="8" y="{y:.1f}" width="24" height="16" fill="{colour}" '
            f'stroke="{MAP_OUTLINE}" stroke-width="1"/>'
        )
        parts += [
            f'<text x="40" y="{y + 12 + 14 * n:.1f}">{escape(line)}</text>'
            for n, line in enumerate(lines)
        ]
        y += 10 + 14 * len(lines)
    parts.append("</g></svg>")
    return Markup("".join(parts))
