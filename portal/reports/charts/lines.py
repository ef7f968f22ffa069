"""The line chart: series over periods, drawn narrow and wide. Period labels are spread so
they never touch (every k-th label, counted back from the latest period, which is always
labelled), long ones broken on two lines; the legend wraps to the drawing's width."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from portal.reports.charts.base import (
    AXIS,
    FONT_SIZE,
    GRID,
    INK,
    MARKERS,
    NARROW_WIDTH,
    SERIES_STYLES,
    WIDE_WIDTH,
    Chart,
    Formatter,
    Series,
    Table,
    attr,
    nice_ticks,
    open_svg,
    plain,
    text_width,
    two_lines,
)

LINE_GAP = 14
LEGEND_ROW = 20


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
    fmt: Formatter = plain,
    width: int = WIDE_WIDTH,
    height: int = 280,
) -> Chart:
    """Series over ``labels`` (periods, in order). Missing values (None) break the line.
    ``width`` and ``height`` are the wide drawing's; the narrow one is NARROW_WIDTH wide."""
    if any(len(line.values) != len(labels) for line in series):
        raise ValueError("every series needs one value per label")
    drawn = [
        _draw(chart_id, title, description, labels, series, fmt, w, h, narrow=narrow)
        for w, h, narrow in ((width, height, False), (NARROW_WIDTH, height - 40, True))
    ]
    rows = [
        [label, *_cells([line.values[i] for line in series], fmt)] for i, label in enumerate(labels)
    ]
    table = Table(caption=title, headers=[label_header, *(line.name for line in series)], rows=rows)
    legend = [
        (line.name, SERIES_STYLES[n % len(SERIES_STYLES)][0]) for n, line in enumerate(series)
    ]
    return Chart(drawn[0], table, legend, narrow=drawn[1])


def _draw(
    chart_id: str,
    title: str,
    description: str,
    labels: Sequence[str],
    series: Sequence[Series],
    fmt: Formatter,
    width: int,
    height: int,
    *,
    narrow: bool,
) -> Markup:
    values = [v for line in series for v in line.values if v is not None]
    ticks = nice_ticks(max(values, default=0))
    left = max(32.0, max(text_width(fmt(t)) for t in ticks) + 10)
    lines = [two_lines(label) for label in labels]
    rows = max((len(x) for x in lines), default=1)
    legend = _legend_rows(series, left, width) if len(series) > 1 else []
    bottom = 10 + rows * LINE_GAP + 8 + len(legend) * LEGEND_ROW
    frame = _Frame(
        left=left,
        top=16,
        width=width - left - 12,
        height=max(height - 16 - bottom, 80),
        count=len(labels),
        top_value=ticks[-1],
    )
    total = frame.top + frame.height + bottom
    parts = open_svg(chart_id, width, total, title, description, narrow=narrow)
    parts.append(_axes(frame, ticks, lines, fmt, width))
    parts += [_series(frame, line, labels, n, fmt) for n, line in enumerate(series)]
    if legend:
        parts.append(_legend(legend, frame.top + frame.height + 10 + rows * LINE_GAP + 20))
    parts.append("</svg>")
    return Markup("".join(parts))


def _cells(values: Sequence[float | None], fmt: Formatter) -> list[str]:
    return ["" if value is None else fmt(value) for value in values]


def _shown(frame: _Frame, lines: Sequence[list[str]], width: int) -> dict[int, float]:
    """The labels drawn (index -> x of their middle): every k-th counted back from the last,
    k the smallest step that keeps the widest label clear of its neighbours and, pushed in
    from the drawing's edges, still clear."""
    if not lines:
        return {}
    widest = max(text_width(line) for label in lines for line in label)
    slot = frame.width / max(frame.count, 1)
    overhang = max(0.0, widest / 2 - (width - frame.x_at(frame.count - 1)))
    overhang += max(0.0, widest / 2 - frame.x_at(0))
    step = max(1, math.ceil((widest + 12 + overhang) / slot))
    half = widest / 2 + 1
    return {
        i: min(max(frame.x_at(i), half), width - half) for i in range(frame.count - 1, -1, -step)
    }


def _axes(
    frame: _Frame, ticks: Sequence[float], lines: Sequence[list[str]], fmt: Formatter, width: int
) -> str:
    right = frame.left + frame.width
    bottom = frame.top + frame.height
    parts = [f'<g class="portal-chart__axis" font-size="{FONT_SIZE}" fill="{INK}">']
    for tick in ticks:
        y = frame.y_at(tick)
        parts.append(
            f'<line x1="{frame.left:g}" x2="{right:g}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="{GRID}" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{frame.left - 6:g}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(fmt(tick))}</text>"
        )
    for i, x in sorted(_shown(frame, lines, width).items()):
        if len(lines[i]) == 1:
            parts.append(
                f'<text x="{x:.1f}" y="{bottom + 18:g}" text-anchor="middle">'
                f"{escape(lines[i][0])}</text>"
            )
            continue
        spans = "".join(
            f'<tspan x="{x:.1f}" y="{bottom + 18 + n * LINE_GAP:g}">{escape(line)}</tspan>'
            for n, line in enumerate(lines[i])
        )
        parts.append(f'<text text-anchor="middle">{spans}</text>')
    parts.append(
        f'<line x1="{frame.left:g}" x2="{right:g}" y1="{bottom:g}" y2="{bottom:g}" '
        f'stroke="{AXIS}" stroke-width="1"/></g>'
    )
    return "".join(parts)


def _series(frame: _Frame, line: Series, labels: Sequence[str], n: int, fmt: Formatter) -> str:
    colour, dash = SERIES_STYLES[n % len(SERIES_STYLES)]
    dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
    segments: list[list[str]] = [[]]
    for i, value in enumerate(line.values):
        if value is None:
            segments.append([])
        else:
            segments[-1].append(f"{frame.x_at(i):.1f},{frame.y_at(value):.1f}")
    parts = [f'<g class="portal-chart__series" data-series="{attr(line.name)}">']
    parts += [
        f'<polyline points="{" ".join(points)}" fill="none" stroke="{colour}" '
        f'stroke-width="2.5"{dash_attr}/>'
        for points in segments
        if points
    ]
    parts += [
        marker(
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


def marker(kind: str, x: float, y: float, colour: str, tip: str) -> str:
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


#: A legend entry: the series' number, its name and where its entry starts.
_Entry = tuple[int, str, float]


def _legend_rows(series: Sequence[Series], left: float, width: int) -> list[list[_Entry]]:
    """The legend's entries in rows that fit the drawing."""
    rows: list[list[_Entry]] = [[]]
    x = left
    for n, line in enumerate(series):
        wide = 30 + text_width(line.name) + 14
        if rows[-1] and x + wide > width:
            rows.append([])
            x = left
        rows[-1].append((n, line.name, x))
        x += wide
    return rows


def _legend(rows: Sequence[Sequence[_Entry]], y: float) -> str:
    """The legend, its first row's text on ``y``."""
    parts = [f'<g class="portal-chart__legend" font-size="{FONT_SIZE}" fill="{INK}">']
    for row in rows:
        for n, name, x in row:
            colour, dash = SERIES_STYLES[n % len(SERIES_STYLES)]
            dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
            parts.append(
                f'<line x1="{x:.1f}" x2="{x + 24:.1f}" y1="{y - 4:.1f}" y2="{y - 4:.1f}" '
                f'stroke="{colour}" stroke-width="2.5"{dash_attr}/>'
            )
            parts.append(marker(MARKERS[n % len(MARKERS)], x + 12, y - 4, colour, name))
            parts.append(f'<text x="{x + 30:.1f}" y="{y:.1f}">{escape(name)}</text>')
        y += LEGEND_ROW
    parts.append("</g>")
    return "".join(parts)
