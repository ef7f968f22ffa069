"""The horizontal bar chart, drawn wide (each label left of its bar) and narrow (each label
above its bar, so a phone gives the bars and their labels the whole width)."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

from portal.reports.charts.base import (
    AXIS,
    BAR_COLOUR,
    FONT_SIZE,
    INK,
    NARROW_WIDTH,
    WIDE_WIDTH,
    Chart,
    Formatter,
    Table,
    nice_ticks,
    open_svg,
    plain,
    shorten,
)

TOP_PAD = 8
#: Room at the end of the longest bar for its value.
VALUE_W = 64


def bar_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    bars: Sequence[tuple[str, float | None]],
    label_header: str,
    value_header: str,
    fmt: Formatter = plain,
    width: int = WIDE_WIDTH,
) -> Chart:
    """Horizontal bars, one per (label, value), each with its value written at its end; a
    label too long for its room is cut with an ellipsis (the bar's title and the table give
    it whole). ``width`` is the wide drawing's; the narrow one is NARROW_WIDTH wide."""
    top_value = nice_ticks(max((v for _, v in bars if v is not None), default=0))[-1]
    args = (chart_id, title, description, bars, fmt, top_value)
    table = Table(
        caption=title,
        headers=[label_header, value_header],
        rows=[[label, "" if value is None else fmt(value)] for label, value in bars],
    )
    return Chart(
        _wide(*args, width),
        table,
        [(value_header, BAR_COLOUR)],
        narrow=_narrow(*args, NARROW_WIDTH),
    )


def _bar(label: str, shown: str, x: float, y: float, length: float, height: float) -> str:
    return (
        f'<rect class="portal-chart__bar" x="{x:g}" y="{y:g}" '
        f'width="{length:.1f}" height="{height:g}" fill="{BAR_COLOUR}">'
        f"<title>{escape(label)}: {escape(shown)}</title></rect>"
    )


def _wide(
    chart_id: str,
    title: str,
    description: str,
    bars: Sequence[tuple[str, float | None]],
    fmt: Formatter,
    top_value: float,
    width: int,
) -> Markup:
    row_h, label_w = 28, 200
    height = TOP_PAD * 2 + row_h * max(len(bars), 1)
    plot_w = width - label_w - VALUE_W
    parts = open_svg(chart_id, width, height, title, description, narrow=False)
    parts.append(f'<g font-size="{FONT_SIZE}" fill="{INK}">')
    for i, (label, value) in enumerate(bars):
        y = TOP_PAD + i * row_h
        shown = "—" if value is None else fmt(value)
        length = 0.0 if value is None else plot_w * value / top_value
        parts.append(
            f'<text x="{label_w - 8}" y="{y + row_h / 2 + 4:.1f}" '
            f'text-anchor="end">{escape(shorten(label, label_w - 16))}</text>'
        )
        parts.append(_bar(label, shown, label_w, y + 4, length, row_h - 8))
        parts.append(
            f'<text x="{label_w + length + 6:.1f}" y="{y + row_h / 2 + 4:.1f}">'
            f"{escape(shown)}</text>"
        )
    parts.append(
        f'<line x1="{label_w}" x2="{label_w}" y1="{TOP_PAD}" '
        f'y2="{height - TOP_PAD}" stroke="{AXIS}" stroke-width="1"/>'
    )
    parts.append("</g></svg>")
    return Markup("".join(parts))


def _narrow(
    chart_id: str,
    title: str,
    description: str,
    bars: Sequence[tuple[str, float | None]],
    fmt: Formatter,
    top_value: float,
    width: int,
) -> Markup:
    """Each row: the label on its own line, then the bar from the left edge with its value."""
    row_h, left, bar_h = 44, 4, 16
    height = TOP_PAD * 2 + row_h * max(len(bars), 1)
    plot_w = width - left - VALUE_W
    parts = open_svg(chart_id, width, height, title, description, narrow=True)
    parts.append(f'<g font-size="{FONT_SIZE}" fill="{INK}">')
    for i, (label, value) in enumerate(bars):
        y = TOP_PAD + i * row_h
        shown = "—" if value is None else fmt(value)
        length = 0.0 if value is None else plot_w * value / top_value
        parts.append(
            f'<text x="{left}" y="{y + 12}">{escape(shorten(label, width - left - 4))}</text>'
        )
        parts.append(_bar(label, shown, left, y + 18, length, bar_h))
        parts.append(
            f'<text x="{left + length + 6:.1f}" y="{y + 18 + bar_h - 4}">{escape(shown)}</text>'
        )
        parts.append(
            f'<line x1="{left}" x2="{left}" y1="{y + 16}" y2="{y + 18 + bar_h + 2}" '
            f'stroke="{AXIS}" stroke-width="1"/>'
        )
    parts.append("</g></svg>")
    return Markup("".join(parts))
