"""Server-rendered SVG charts (no Flask, no JavaScript): line and bar charts and a choropleth
map of the city's areas. Every chart comes with the data of the table shown beside it.

Callers pass text already translated and a ``fmt`` that formats a number for the page's
locale; everything drawn is escaped here. Accessibility: each ``<svg>`` has ``role="img"``, a
``<title>`` and a ``<desc>`` (referenced by ``aria-labelledby``), every mark has its own
``<title>`` with its value, series differ by dash pattern and marker shape as well as colour,
and map classes are numbered in the legend, so colour is never the only way to read a chart.
The colours have at least 3:1 contrast against the white background (lines, bars, outlines)
and text is the body ink (#1b1b1b).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape

INK = "#1b1b1b"
AXIS = "#565c65"
GRID = "#dfe1e2"
#: Series colours (USWDS blue-60v, orange-60v... all >= 3:1 on white) with dash patterns.
SERIES_STYLES = (
    ("#005ea2", ""),
    ("#c05600", "6 3"),
    ("#008817", "2 3"),
    ("#8168b3", "8 3 2 3"),
    ("#1b1b1b", "1 2"),
)
MARKERS = ("circle", "square", "diamond", "triangle", "cross")
BAR_COLOUR = "#005ea2"
#: Sequential classes of the map, light to dark (USWDS blue 5v .. 80v).
MAP_CLASSES = ("#e8f5ff", "#aacdec", "#73b3e7", "#2378c3", "#162e51")
MAP_OUTLINE = "#1b1b1b"
NO_DATA = "#ffffff"

Formatter = Callable[[float], str]


@dataclass(frozen=True)
class Table:
    """The data of a chart as a table: a caption, column headers and rows of display text."""

    caption: str
    headers: list[str]
    rows: list[list[str]]


@dataclass(frozen=True)
class Chart:
    svg: Markup
    table: Table
    #: The legend entries (label, colour, dash or class number) for the caller's own use.
    legend: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]


@dataclass(frozen=True)
class MapShape:
    """One area to draw: its id, display name and GeoJSON geometry (lon/lat)."""

    id: int
    name: str
    geometry: Mapping[str, Any]


def _plain(value: float) -> str:
    return f"{value:g}"


def _attr(text: str) -> str:
    return str(escape(text))


def _open_svg(chart_id: str, width: int, height: int, title: str, description: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="portal-chart" id="{_attr(chart_id)}" '
        f'viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{_attr(chart_id)}-title {_attr(chart_id)}-desc" focusable="false">',
        f'<title id="{_attr(chart_id)}-title">{escape(title)}</title>',
        f'<desc id="{_attr(chart_id)}-desc">{escape(description)}</desc>',
    ]


def nice_ticks(top: float, count: int = 5) -> list[float]:
    """Round axis values from 0 to at least ``top`` (about ``count`` steps of 1, 2, 2.5 or 5
    times a power of ten)."""
    if not math.isfinite(top) or top <= 0:
        return [0.0, 1.0]
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    steps = math.ceil(top / step - 1e-9)
    return [round(i * step, 10) for i in range(steps + 1)]


# -- line chart -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Frame:
    """Where the plot sits in the SVG, and the value at its top."""

    left: float
    top: float
    width: float
    height: float
    count: int
    top_value: float

    def x_at(self, i: int) -> float:
        return self.left + self.width * (i + 0.5) / max(self.count, 1)

    def y_at(self, value: float) -> float:
        return self.top + self.height * (1 - value / self.top_value)


def line_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    labels: Sequence[str],
    series: Sequence[Series],
    label_header: str,
    fmt: Formatter = _plain,
    width: int = 640,
    height: int = 280,
) -> Chart:
    """Series over ``labels`` (periods, in order). Missing values (None) break the line."""
    if any(len(line.values) != len(labels) for line in series):
        raise ValueError("every series needs one value per label")
    values = [v for line in series for v in line.values if v is not None]
    ticks = nice_ticks(max(values, default=0))
    frame = _Frame(
        left=56,
        top=16,
        width=width - 56 - 16,
        height=height - 16 - 48,
        count=len(labels),
        top_value=ticks[-1],
    )
    parts = _open_svg(chart_id, width, height, title, description)
    parts.append(_line_axes(frame, ticks, labels, fmt))
    legend = []
    for n, line in enumerate(series):
        legend.append((line.name, SERIES_STYLES[n % len(SERIES_STYLES)][0]))
        parts.append(_line_series(frame, line, labels, n, fmt))
    if len(series) > 1:
        parts.append(_line_legend(series, frame.left, height - 14))
    parts.append("</svg>")
    rows = [
        [label, *_cells([line.values[i] for line in series], fmt)] for i, label in enumerate(labels)
    ]
    table = Table(caption=title, headers=[label_header, *(line.name for line in series)], rows=rows)
    return Chart(Markup("".join(parts)), table, legend)


def _cells(values: Sequence[float | None], fmt: Formatter) -> list[str]:
    return ["" if value is None else fmt(value) for value in values]


def _line_axes(frame: _Frame, ticks: Sequence[float], labels: Sequence[str], fmt: Formatter) -> str:
    right = frame.left + frame.width
    bottom = frame.top + frame.height
    parts = [f'<g class="portal-chart__axis" font-size="12" fill="{INK}">']
    for tick in ticks:
        y = frame.y_at(tick)
        parts.append(
            f'<line x1="{frame.left}" x2="{right}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="{GRID}" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{frame.left - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(fmt(tick))}</text>"
        )
    every = max(1, math.ceil(len(labels) / 8))
    for i, label in enumerate(labels):
        if i % every == 0 or i == len(labels) - 1:
            parts.append(
                f'<text x="{frame.x_at(i):.1f}" y="{bottom + 18}" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
    parts.append(
        f'<line x1="{frame.left}" x2="{right}" y1="{bottom}" y2="{bottom}" '
        f'stroke="{AXIS}" stroke-width="1"/></g>'
    )
    return "".join(parts)


def _line_series(frame: _Frame, line: Series, labels: Sequence[str], n: int, fmt: Formatter) -> str:
    colour, dash = SERIES_STYLES[n % len(SERIES_STYLES)]
    dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
    segments: list[list[str]] = [[]]
    for i, value in enumerate(line.values):
        if value is None:
            segments.append([])
        else:
            segments[-1].append(f"{frame.x_at(i):.1f},{frame.y_at(value):.1f}")
    parts = [f'<g class="portal-chart__series" data-series="{_attr(line.name)}">']
    parts += [
        f'<polyline points="{" ".join(points)}" fill="none" stroke="{colour}" '
        f'stroke-width="2.5"{dash_attr}/>'
        for points in segments
        if points
    ]
    parts += [
        _marker(
            MARKERS[n % len(MARKERS)],
            frame.x_at(i),
            frame.y_at(value),
            colour,
            f"{line.name}, {labels[i]}: {fmt(value)}",
        )
        for i, value in enumerate(line.values)
        if value is not None
    ]
    parts.append("</g>")
    return "".join(parts)


def _marker(kind: str, x: float, y: float, colour: str, tip: str) -> str:
    title = f"<title>{escape(tip)}</title>"
    if kind == "circle":
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{colour}">{title}</circle>'
    if kind == "square":
        return (
            f'<rect x="{x - 4:.1f}" y="{y - 4:.1f}" width="8" height="8" '
            f'fill="{colour}">{title}</rect>'
        )
    shapes = {
        "diamond": [(0, -5), (5, 0), (0, 5), (-5, 0)],
        "triangle": [(0, -5), (5, 4), (-5, 4)],
        "cross": [
            (-5, -2),
            (-2, -2),
            (-2, -5),
            (2, -5),
            (2, -2),
            (5, -2),
            (5, 2),
            (2, 2),
            (2, 5),
            (-2, 5),
            (-2, 2),
            (-5, 2),
        ],
    }
    points = " ".join(f"{x + dx:.1f},{y + dy:.1f}" for dx, dy in shapes[kind])
    return f'<polygon points="{points}" fill="{colour}">{title}</polygon>'


def _line_legend(series: Sequence[Series], x: float, y: float) -> str:
    parts = [f'<g class="portal-chart__legend" font-size="12" fill="{INK}">']
    for n, line in enumerate(series):
        colour, dash = SERIES_STYLES[n % len(SERIES_STYLES)]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(
            f'<line x1="{x:.1f}" x2="{x + 24:.1f}" y1="{y - 4:.1f}" y2="{y - 4:.1f}" '
            f'stroke="{colour}" stroke-width="2.5"{dash_attr}/>'
        )
        parts.append(_marker(MARKERS[n % len(MARKERS)], x + 12, y - 4, colour, line.name))
        parts.append(f'<text x="{x + 30:.1f}" y="{y:.1f}">{escape(line.name)}</text>')
        x += 40 + 7 * len(line.name)
    parts.append("</g>")
    return "".join(parts)


# -- bar chart --------------------------------------------------------------------------------


def bar_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    bars: Sequence[tuple[str, float | None]],
    label_header: str,
    value_header: str,
    fmt: Formatter = _plain,
    width: int = 640,
) -> Chart:
    """Horizontal bars, one per (label, value), each with its value written at its end."""
    row_h, top_pad, label_w, value_w = 28, 8, 180, 72
    height = top_pad * 2 + row_h * max(len(bars), 1)
    plot_w = width - label_w - value_w
    top_value = nice_ticks(max((v for _, v in bars if v is not None), default=0))[-1]
    parts = _open_svg(chart_id, width, height, title, description)
    parts.append(f'<g font-size="12" fill="{INK}">')
    for i, (label, value) in enumerate(bars):
        y = top_pad + i * row_h
        short = label if len(label) <= 26 else label[:25] + "…"
        parts.append(
            f'<text x="{label_w - 8}" y="{y + row_h / 2 + 4:.1f}" '
            f'text-anchor="end">{escape(short)}</text>'
        )
        shown = "" if value is None else fmt(value)
        length = 0.0 if value is None else plot_w * value / top_value
        parts.append(
            f'<rect class="portal-chart__bar" x="{label_w}" y="{y + 4}" '
            f'width="{length:.1f}" height="{row_h - 8}" fill="{BAR_COLOUR}">'
            f"<title>{escape(label)}: {escape(shown or '—')}</title></rect>"
        )
        parts.append(
            f'<text x="{label_w + length + 6:.1f}" y="{y + row_h / 2 + 4:.1f}">'
            f"{escape(shown or '—')}</text>"
        )
    parts.append(
        f'<line x1="{label_w}" x2="{label_w}" y1="{top_pad}" '
        f'y2="{height - top_pad}" stroke="{AXIS}" stroke-width="1"/>'
    )
    parts.append("</g></svg>")
    table = Table(
        caption=title,
        headers=[label_header, value_header],
        rows=[[label, "" if value is None else fmt(value)] for label, value in bars],
    )
    return Chart(Markup("".join(parts)), table, [(value_header, BAR_COLOUR)])


# -- choropleth map ---------------------------------------------------------------------------


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
    fmt: Formatter = _plain,
    width: int = 640,
    extra: tuple[str, Mapping[int, str]] | None = None,
) -> Chart:
    """The areas shaded by their value in five classes, with a legend. ``extra`` (a header
    and each area's text) adds a column to the table before the value.

    Equirectangular projection of the city's bounding box: x grows with longitude scaled by
    the cosine of the box's middle latitude, y with latitude (north up). ``class_label(n, of)``
    words a class ("class 3 of 5"); an area without a value is white and says ``no_data``.
    """
    rings_by_area = {shape.id: _rings(shape.geometry) for shape in shapes}
    points = [p for rings in rings_by_area.values() for ring in rings for p in ring]
    known = [v for v in values.values() if v is not None]
    breaks = class_breaks(known)
    legend_h = 24 * (len(MAP_CLASSES) + 1) + 8
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
        if map_h > 480:
            scale *= 480 / map_h
            map_h = 480.0
    else:
        min_lon = max_lat = k = scale = 0.0
        map_h = 0.0
    height = int(map_h + 16 + legend_h)
    parts = _open_svg(chart_id, width, height, title, description)
    parts.append(f'<g class="portal-chart__areas" stroke="{MAP_OUTLINE}" stroke-width="1">')
    rows: list[list[str]] = []
    legend: list[tuple[str, str]] = []
    for shape in shapes:
        value = values.get(shape.id)
        if value is None:
            colour, shown, klass = NO_DATA, no_data, ""
        else:
            n = class_of(value, breaks)
            colour, shown = MAP_CLASSES[n], fmt(value)
            klass = class_label(n + 1, len(MAP_CLASSES))
        path = " ".join(
            "M"
            + " L".join(
                f"{8 + (lon - min_lon) * k * scale:.1f},{8 + (max_lat - lat) * scale:.1f}"
                for lon, lat in ring
            )
            + " Z"
            for ring in rings_by_area[shape.id]
            if ring
        )
        tip = f"{shape.name}: {shown}" + (f" ({klass})" if klass else "")
        parts.append(
            f'<path d="{path}" fill="{colour}" fill-rule="evenodd" '
            f'data-area="{shape.id}"><title>{escape(tip)}</title></path>'
        )
        more = [extra[1].get(shape.id, "")] if extra else []
        rows.append([shape.name, *more, shown, klass])
    parts.append("</g>")
    y = map_h + 16
    parts.append(f'<g class="portal-chart__legend" font-size="12" fill="{INK}">')
    lower = 0.0
    for n, colour in enumerate(MAP_CLASSES):
        upper = breaks[n]
        text = f"{class_label(n + 1, len(MAP_CLASSES))}: {fmt(lower)}–{fmt(upper)}"
        legend.append((text, colour))
        parts.append(
            f'<rect x="8" y="{y:.1f}" width="24" height="16" fill="{colour}" '
            f'stroke="{MAP_OUTLINE}" stroke-width="1"/>'
            f'<text x="40" y="{y + 12:.1f}">{escape(text)}</text>'
        )
        lower = upper
        y += 24
    parts.append(
        f'<rect x="8" y="{y:.1f}" width="24" height="16" fill="{NO_DATA}" '
        f'stroke="{MAP_OUTLINE}" stroke-width="1"/>'
        f'<text x="40" y="{y + 12:.1f}">{escape(no_data)}</text>'
    )
    legend.append((no_data, NO_DATA))
    parts.append("</g></svg>")
    headers = [area_header, *([extra[0]] if extra else []), value_header, class_header]
    table = Table(caption=title, headers=headers, rows=rows)
    return Chart(Markup("".join(parts)), table, legend)
