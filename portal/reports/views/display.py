"""How report figures are shown, for the staff reports and the public performance page:
the period from the query string, numbers, shares and hours in the reader's language, the
scorecard columns and their change since the previous period, paging of aggregated tables,
the charts and the CSV downloads. The figures themselves come from ``scorecards`` and
``hotspots`` (through the roll-ups)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from flask import request, url_for
from flask_babel import format_decimal, format_percent
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.exceptions import BadRequest

from portal.areas.models import Area
from portal.core import clock
from portal.exports import csv_response
from portal.i18n import current_locale
from portal.reports import charts, hotspots, scorecard_queries, scorecards
from portal.reports.periods import Period
from portal.reports.rollups import RollupReader
from portal.reports.views.staff_forms import PeriodForm, chosen_period
from portal.templating import moment_text
from portal.web import database, db_session, settings

#: Rows of a long table on one page.
PER_PAGE = 50
#: Areas drawn on a map at most.
MAX_AREAS = 500


def zone() -> ZoneInfo:
    return ZoneInfo(settings().timezone)


def today() -> date:
    return clock.now().astimezone(zone()).date()


def rollups() -> RollupReader:
    """The report roll-ups for this request (computed now when missing or stale)."""
    return RollupReader(
        database(),
        db_session(),
        tz=settings().timezone,
        refresh_seconds=settings().report_refresh_seconds,
    )


def as_of(reader: RollupReader) -> str | None:
    """When the figures shown were computed (the oldest that may still change), or that
    they are final, as a sentence for the page."""
    if reader.oldest_live is not None:
        return _(
            "Figures as of %(time)s; they are brought up to date every few minutes.",
            time=moment_text(reader.oldest_live),
        )
    if reader.read_any:
        return _("These figures are final: the period is over.")
    return None


def board_page(
    endpoint: str, rows: Sequence[scorecards.BoardRow], period: Period
) -> dict[str, Any]:
    """One page of the board table, and the links to the pages before and after it."""
    page = paginate(rows, page_number())
    args: dict[str, Any] = {"period": period.kind, "start": period.key, "_anchor": "board"}
    return {
        "board": page.rows,
        "board_previous": url_for(endpoint, page=page.page - 1, **args) if page.page > 1 else None,
        "board_next": url_for(endpoint, page=page.page + 1, **args) if page.has_next else None,
    }


def period_from_request() -> tuple[PeriodForm, Period]:
    form = PeriodForm(formdata=request.args)
    return form, chosen_period(form, today())


def period_links(endpoint: str, period: Period, **args: Any) -> dict[str, str | None]:
    """URLs of the previous and next periods (no next one after today's)."""
    after = period.next()
    return {
        "previous": url_for(endpoint, period=period.kind, start=period.previous().key, **args),
        "next": url_for(endpoint, period=period.kind, start=after.key, **args)
        if after.start <= today()
        else None,
    }


def number(value: float | None, digits: int = 1) -> str:
    if value is None:
        return ""
    return format_decimal(
        round(value, digits), format="#,##0" + ("." + "#" * digits if digits else "")
    )


def shame_wall_name(*, public: bool) -> str:
    """The wall of shame's heading in the current language: the city's own name for it
    (city.toml ``[performance] shame_wall``) or "Wall of shame"; "" on the public page when
    the city keeps it for staff."""
    current = settings()
    if public and not current.public_shame_wall:
        return ""
    names = current.shame_wall_names
    return names.get(current_locale()) or names.get("en") or _("Wall of shame")


def share(value: float | None) -> str:
    return "" if value is None else format_percent(value)  # the locale's own pattern


def hours(value: float | None) -> str:
    return "" if value is None else _("%(num)s working hours", num=number(value))


def since_words(kind: str) -> str:
    return {
        "week": _("since last week"),
        "month": _("since last month"),
        "quarter": _("since last quarter"),
    }[kind]


def page_number() -> int:
    raw = request.args.get("page", "1")
    return int(raw) if raw.isdigit() and 0 < len(raw) < 7 and int(raw) > 0 else 1


@dataclass(frozen=True)
class Pager:
    rows: Sequence[Any]
    page: int
    has_next: bool


def paginate(rows: Sequence[Any], page: int, per_page: int = PER_PAGE) -> Pager:
    """One page of an already aggregated table (a figure per area, category or agent)."""
    start = (page - 1) * per_page
    return Pager(rows[start : start + per_page], page, len(rows) > start + per_page)


def bad_export(message: str) -> BadRequest:
    error = BadRequest(message)
    error.portal_message = True  # type: ignore[attr-defined]
    return error


def map_shapes() -> list[charts.MapShape]:
    areas = db_session().scalars(select(Area).order_by(Area.name, Area.id).limit(MAX_AREAS))
    return [charts.MapShape(a.id, a.name, a.geometry) for a in areas]


def volume_charts(volumes: hotspots.Volumes, period_label: str) -> dict[str, charts.Chart]:
    """The map of requests per area (per 1,000 residents when every area has a
    population), and the bar chart of requests per category."""
    # (area id, row) of the areas: requests without an area are not on the map.
    shown = [(row.area_id, row) for row in volumes.by_area if row.area_id]
    shade = dict(
        title=_("Requests by area, %(period)s", period=period_label),
        description=_(
            "A map of the city's areas, darker where more requests were "
            "made. The table next to it gives each area's figure."
        ),
        value_header=_("Requests"),
        values={area_id: float(row.count) for area_id, row in shown},
    )
    extra = None
    if volumes.per_resident:
        shade = dict(
            title=_("Requests per 1,000 residents by area, %(period)s", period=period_label),
            description=_(
                "A map of the city's areas, darker where residents made more "
                "requests for their number. The table next to it gives each "
                "area's requests and rate."
            ),
            value_header=_("Requests per 1,000 residents"),
            values={area_id: row.per_thousand for area_id, row in shown},
        )
        extra = (_("Requests"), {area_id: number(row.count, 0) for area_id, row in shown})
    area_map = charts.choropleth(
        chart_id="map-areas",
        shapes=map_shapes(),
        area_header=_("Area"),
        class_header=_("Shade"),
        extra=extra,
        class_label=lambda n, of: _("shade %(n)d of %(of)d", n=n, of=of),
        no_data=_("no figure"),
        fmt=lambda v: number(v, 1),
        **shade,
    )
    by_category = charts.bar_chart(
        chart_id="bars-categories",
        title=_("Requests by category, %(period)s", period=period_label),
        description=_(
            "One bar per category, longer for more requests. The table next to "
            "it gives the figures."
        ),
        bars=[(row.category_name, float(row.count)) for row in volumes.by_category],
        label_header=_("Category"),
        value_header=_("Requests"),
        fmt=lambda v: number(v, 0),
    )
    return {"map": area_map, "categories": by_category}


def trend_chart(points: Sequence[hotspots.TrendPoint], locale: str) -> charts.Chart:
    return charts.line_chart(
        chart_id="trend-requests",
        title=_("Requests per period"),
        description=_(
            "A line of the number of requests in each of the last %(n)d periods. "
            "The table next to it gives the figures.",
            n=len(points),
        ),
        labels=[p.period.label(locale) for p in points],
        label_header=_("Period"),
        series=[charts.Series(_("Requests"), [float(p.count) for p in points])],
        fmt=lambda v: number(v, 0),
    )


def chart_csv(chart: charts.Chart, stem: str) -> Any:
    return csv_response([chart.table.headers, *chart.table.rows], f"{stem}.csv")


def wants_csv(form: PeriodForm) -> bool:
    """Whether a CSV is asked for; a 400 with the message when the period was not understood
    (a file never silently holds another period than the one asked for)."""
    if request.args.get("format") != "csv":
        return False
    problems = [str(error) for f in form for error in f.errors]
    if problems:
        raise bad_export(" ".join(problems))
    return True


# -- scorecards -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A figure of a scorecard: its header, how it is shown, its plain CSV value, and which
    way is better (1 up, -1 down, 0 neither) when it is compared with the previous period."""

    key: str
    header: str
    show: Callable[[scorecard_queries.DepartmentFigures], str]
    plain: Callable[[scorecard_queries.DepartmentFigures], Any]
    better: int = 0
    unit: str = "count"  # count | share | hours | score


def _get(name: str) -> Callable[[scorecard_queries.DepartmentFigures], Any]:
    return lambda f: getattr(f, name)


def _pct(name: str) -> Callable[[scorecard_queries.DepartmentFigures], Any]:
    return lambda f: "" if getattr(f, name) is None else round(100 * getattr(f, name), 1)


def _rounded(name: str) -> Callable[[scorecard_queries.DepartmentFigures], Any]:
    return lambda f: "" if getattr(f, name) is None else round(getattr(f, name), 2)


def _of(name: str, clocks: str) -> Callable[[scorecard_queries.DepartmentFigures], str]:
    def show(f: scorecard_queries.DepartmentFigures) -> str:
        value = getattr(f, name)
        if value is None:
            return ""
        return _("%(share)s of %(num)s", share=share(value), num=number(getattr(f, clocks), 0))

    return show


def _recategorised(f: scorecard_queries.DepartmentFigures) -> str:
    """ "12% (41 of 340)": the share of the period's filed requests staff re-categorised."""
    if f.recategorisation_rate is None:
        return ""
    return _(
        "%(share)s (%(num)s of %(total)s)",
        share=share(f.recategorisation_rate),
        num=number(f.recategorised or 0, 0),
        total=number(f.filed or 0, 0),
    )


def age_name(label: str) -> str:
    return {
        "under_2_days": _("Under 2 days"),
        "2_to_7_days": _("2 to 7 days"),
        "7_to_30_days": _("7 to 30 days"),
        "30_days_and_over": _("30 days and over"),
    }[label]


def scorecard_columns(*, by_agent: bool = False) -> list[Column]:
    """The figures of a scorecard, in order (an agent has no first response, reopenings or
    satisfaction of their own: those columns are left out of the agent table)."""

    def count(name: str) -> Callable[[scorecard_queries.DepartmentFigures], str]:
        return lambda f: number(getattr(f, name), 0)

    def hrs(name: str) -> Callable[[scorecard_queries.DepartmentFigures], str]:
        return lambda f: hours(getattr(f, name))

    columns = [
        Column("tasks_opened", _("Tasks opened"), count("tasks_opened"), _get("tasks_opened")),
        Column("tasks_closed", _("Tasks closed"), count("tasks_closed"), _get("tasks_closed")),
        Column(
            "resolution_compliance",
            _("Resolved on time"),
            _of("resolution_compliance", "resolution_clocks"),
            _pct("resolution_compliance"),
            1,
            "share",
        ),
        Column(
            "median_resolution_hours",
            _("Median time to resolve"),
            hrs("median_resolution_hours"),
            _rounded("median_resolution_hours"),
            -1,
            "hours",
        ),
        Column(
            "p90_resolution_hours",
            _("90th percentile time to resolve"),
            hrs("p90_resolution_hours"),
            _rounded("p90_resolution_hours"),
            -1,
            "hours",
        ),
        Column(
            "first_response_compliance",
            _("First response on time"),
            _of("first_response_compliance", "first_response_clocks"),
            _pct("first_response_compliance"),
            1,
            "share",
        ),
        Column(
            "median_first_response_hours",
            _("Median time to first response"),
            hrs("median_first_response_hours"),
            _rounded("median_first_response_hours"),
            -1,
            "hours",
        ),
        Column(
            "p90_first_response_hours",
            _("90th percentile time to first response"),
            hrs("p90_first_response_hours"),
            _rounded("p90_first_response_hours"),
            -1,
            "hours",
        ),
        Column("backlog", _("Backlog (open tasks)"), count("backlog"), _get("backlog"), -1),
        Column(
            "reopen_rate",
            _("Reopen rate"),
            lambda f: share(f.reopen_rate),
            _pct("reopen_rate"),
            -1,
            "share",
        ),
        Column(
            "satisfaction",
            _("Satisfaction (1–5)"),
            lambda f: "" if f.satisfaction is None else number(f.satisfaction, 2),
            _rounded("satisfaction"),
            1,
            "score",
        ),
        Column("responses", _("Survey responses"), count("responses"), _get("responses")),
        Column(
            "recategorisation_rate",
            _("Re-categorised by staff"),
            _recategorised,
            _pct("recategorisation_rate"),
            0,
            "share",
        ),
        Column(
            "recategorised",
            _("Requests re-categorised"),
            count("recategorised"),
            _get("recategorised"),
        ),
    ]
    if by_agent:
        hidden = {
            "first_response_compliance",
            "median_first_response_hours",
            "p90_first_response_hours",
            "reopen_rate",
            "satisfaction",
            "responses",
            "recategorisation_rate",
            "recategorised",
        }
        columns = [c for c in columns if c.key not in hidden]
    return columns


BOARD_KEYS = (
    "resolution_compliance",
    "median_resolution_hours",
    "first_response_compliance",
    "median_first_response_hours",
    "tasks_opened",
    "tasks_closed",
    "backlog",
    "reopen_rate",
    "satisfaction",
    "recategorisation_rate",
)


@dataclass(frozen=True)
class Change:
    arrow: str  # "↑", "↓" or "" (decorative: the words say it)
    words: str
    verdict: str  # "better" | "worse" | ""


def change(row: scorecards.BoardRow, column: Column, kind: str) -> Change:
    """The change of a figure since the previous period, in words ("up 3 points since last
    month, better")."""
    delta = row.change(column.key)
    since = since_words(kind)
    if delta is None:
        return Change("", _("no figure to compare %(since)s", since=since), "")
    if column.unit == "share":
        size = round(100 * delta, 1)
        amount = _("%(num)s points", num=number(abs(size)))
    elif column.unit == "hours":
        size = round(delta, 1)
        amount = _("%(num)s working hours", num=number(abs(size)))
    elif column.unit == "score":
        size = round(delta, 2)
        amount = number(abs(size), 2)
    else:
        size = delta
        amount = number(abs(size), 0)
    if size == 0:
        return Change("", _("no change %(since)s", since=since), "")
    rising = size > 0
    verdict = "" if not column.better else ("better" if rising == (column.better > 0) else "worse")
    if rising:
        words = _("up %(amount)s %(since)s", amount=amount, since=since)
    else:
        words = _("down %(amount)s %(since)s", amount=amount, since=since)
    if verdict:
        words = (
            _("%(change)s, better", change=words)
            if verdict == "better"
            else _("%(change)s, worse", change=words)
        )
    return Change("↑" if rising else "↓", words, verdict)


def compliance_chart(board: Sequence[scorecards.BoardRow], period_label: str) -> charts.Chart:
    return charts.bar_chart(
        chart_id="bars-compliance",
        title=_("Tasks resolved on time by department, %(period)s", period=period_label),
        description=_(
            "One bar per department, longer for a higher share of tasks resolved "
            "within their target. The table next to it gives the figures."
        ),
        bars=[
            (
                row.figures.name,
                None
                if row.figures.resolution_compliance is None
                else 100 * row.figures.resolution_compliance,
            )
            for row in board
        ],
        label_header=_("Department"),
        value_header=_("Resolved on time (%)"),
        fmt=lambda v: share(v / 100),
    )


def board_csv(board: Sequence[scorecards.BoardRow], period: Period) -> Any:
    columns = scorecard_columns()
    rows: list[list[Any]] = [
        [
            _("Rank"),
            _("Department"),
            *(c.header for c in columns),
            *(age_name(label) for label, _days in scorecard_queries.AGE_BUCKETS),
            _("Rank in the previous period"),
        ]
    ]
    rows += [
        [
            row.rank or "",
            row.figures.name,
            *(c.plain(row.figures) for c in columns),
            *(row.figures.backlog_ages[label] for label, _days in scorecard_queries.AGE_BUCKETS),
            row.previous_rank or "",
        ]
        for row in board
    ]
    return csv_response(rows, f"departments-{period.kind}-{period.key}.csv")
