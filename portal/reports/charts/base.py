"""What every chart shares: the chart and its table, colours, the SVG's opening, axis ticks,
and the estimate of a label's width that the layouts use to keep labels apart."""

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

#: The two drawings of a chart, in user units that are CSS px when drawn at natural size.
#: The narrow one fits a 320 px phone's column (288 px); the wide one a desktop's chart
#: column (about 550 px). static/css/portal.css ("charts") shows the wide one when its box is
#: at least WIDE_WIDTH (33.75rem) wide and never draws either below its natural width.
NARROW_WIDTH = 288
WIDE_WIDTH = 540
#: Labels' size in user units: 12 CSS px at natural size, more when the chart is drawn wider.
FONT_SIZE = 12
#: A generous estimate of a character's width at FONT_SIZE (Source Sans Pro averages about 6
#: px, its fallbacks up to 6.7), so labels placed by it do not touch.
CHAR_WIDTH = 7.0

Formatter = Callable[[float], str]


@dataclass(frozen=True)
class Table:
    """The data of a chart as a table: a caption, column headers and rows of display text."""

    caption: str
    headers: list[str]
    rows: list[list[str]]


@dataclass(frozen=True)
class Chart:
    """A chart drawn twice, wide (``svg``) and narrow (``narrow``), with the table of its data.
    The page shows one drawing at a time (see ``NARROW_WIDTH``)."""

    svg: Markup
    table: Table
    #: The legend entries (label, colour, dash or class number) for the caller's own use.
    legend: list[tuple[str, str]] = field(default_factory=list)
    narrow: Markup = Markup("")


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


def plain(value: float) -> str:
    return f"{value:g}"


def attr(text: str) -> str:
    return str(escape(text))


def open_svg(
    chart_id: str, width: int, height: float, title: str, description: str, *, narrow: bool
) -> list[str]:
    """The SVG's opening tag, title and description; the narrow drawing's ids end in
    ``-narrow`` and its class says which drawing it is."""
    svg_id = f"{chart_id}-narrow" if narrow else chart_id
    klass = "portal-chart portal-chart--narrow" if narrow else "portal-chart"
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{klass}" id="{attr(svg_id)}" '
        f'width="{width}" height="{height:g}" viewBox="0 0 {width} {height:g}" role="img" '
        f'aria-labelledby="{attr(svg_id)}-title {attr(svg_id)}-desc" focusable="false">',
        f'<title id="{attr(svg_id)}-title">{escape(title)}</title>',
        f'<desc id="{attr(svg_id)}-desc">{escape(description)}</desc>',
    ]


def text_width(text: str) -> float:
    """About how wide ``text`` is drawn at FONT_SIZE (an overestimate)."""
    return CHAR_WIDTH * len(text)


def shorten(text: str, room: float) -> str:
    """``text``, cut with an ellipsis to fit ``room`` units."""
    fits = max(1, int(room // CHAR_WIDTH))
    return text if len(text) <= fits else text[: fits - 1].rstrip() + "…"


def two_lines(text: str, longest: int = 14) -> list[str]:
    """``text`` on one line, or on two when it is longer than ``longest`` characters: broken
    at the space nearest its middle, after a dash if it has one ("Mar 2, 2026 –" and
    "Mar 8, 2026")."""
    spaces = [i for i, c in enumerate(text) if c == " "]
    if len(text) <= longest or not spaces:
        return [text]
    spaces = [i for i in spaces if text[i - 1] in "–—-"] or spaces
    cut = min(spaces, key=lambda i: max(i, len(text) - i - 1))
    return [text[:cut], text[cut + 1 :]]


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
