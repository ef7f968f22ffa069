"""Server-rendered SVG charts (no Flask, no JavaScript): line and bar charts and a choropleth
map of the city's areas. Every chart comes with the data of the table shown beside it.

Callers pass text already translated and a ``fmt`` that formats a number for the page's
locale; everything drawn is escaped here. Accessibility: each ``<svg>`` has ``role="img"``, a
``<title>`` and a ``<desc>`` (referenced by ``aria-labelledby``), every mark has its own
``<title>`` with its value, series differ by dash pattern and marker shape as well as colour,
and map classes are numbered in the legend, so colour is never the only way to read a chart.
The colours have at least 3:1 contrast against the white background (lines, bars, outlines)
and text is the body ink (#1b1b1b).

Readable at any width (issue 20): each chart is drawn twice, narrow (``Chart.narrow``, for a
phone) and wide (``Chart.svg``), its labels 12 user units high; the page shows one drawing,
never narrower than its natural width (one unit, one CSS px), so a label is never drawn below
12 px (templates/reports/_macros.html, static/css/portal.css "charts").
"""

from portal.reports.charts.bars import bar_chart
from portal.reports.charts.base import (
    BAR_COLOUR,
    MAP_CLASSES,
    NARROW_WIDTH,
    NO_DATA,
    SERIES_STYLES,
    WIDE_WIDTH,
    Chart,
    MapShape,
    Series,
    Table,
    nice_ticks,
)
from portal.reports.charts.lines import line_chart
from portal.reports.charts.maps import choropleth, class_breaks, class_of

__all__ = [
    "BAR_COLOUR",
    "MAP_CLASSES",
    "NARROW_WIDTH",
    "NO_DATA",
    "SERIES_STYLES",
    "WIDE_WIDTH",
    "Chart",
    "MapShape",
    "Series",
    "Table",
    "bar_chart",
    "choropleth",
    "class_breaks",
    "class_of",
    "line_chart",
    "nice_ticks",
]
