"""Performance reports for supervisors and admins: ``/staff/reports`` (the department board),
``/staff/reports/departments/<id>`` (one department by category, area or agent) and
``/staff/reports/hotspots`` (the map, volumes, trend, spike flags and sentiment).

Any supervisor sees every department's scorecards (they are published on /performance too);
the figures of agents only the supervisors of that department and admins (a 404 otherwise).
Every table downloads as CSV with ``?format=csv&table=...``; the CSV of survey comments is
recorded in the audit trail. The period comes from the query string; a value that is not
understood gets a message next to its field and the current period is shown: never a 500.
The figures come from ``portal.reports.scorecards`` and ``portal.reports.hotspots``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import format_datetime, format_decimal, format_percent
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.exceptions import BadRequest

from portal import clock
from portal.areas.models import Area
from portal.casework.models import AuditEntry
from portal.catalogue.models import Department, ServiceCategory
from portal.exports import csv_response
from portal.i18n import current_locale
from portal.reports import charts, hotspots, scorecards
from portal.reports.forms import DRILL_NAMES, PeriodForm, chosen_period
from portal.reports.periods import Period
from portal.reports.rollups import RollupReader
from portal.staff.access import SUPERVISOR, current_staff, staff_required
from portal.web import database, db_session, settings

bp = Blueprint("reports", __name__, url_prefix="/staff/reports")

#: Periods drawn in a trend chart.
TREND_PERIODS = 12
#: Rows of a long table on one page.
PER_PAGE = 50
MAX_AREAS = 500
MAX_CATEGORIES = 500
#: Survey comments in one CSV (the newest).
MAX_EXPORT_COMMENTS = 5000


# -- shared by the staff and public pages -----------------------------------------------------

def zone() -> ZoneInfo:
    return ZoneInfo(settings().timezone)


def today() -> date:
    return clock.now().astimezone(zone()).date()


def rollups() -> RollupReader:
    """The report roll-ups for this request (computed now when missing or stale)."""
    return RollupReader(database(), db_session(), tz=settings().timezone,
                        refresh_seconds=settings().report_refresh_seconds)


def as_of(reader: RollupReader) -> str | None:
    """When the figures shown were computed (the oldest roll-up read), for the page."""
    return None if reader.oldest is None else format_datetime(reader.oldest, "short")


def board_page(endpoint: str, rows: Sequence[scorecards.BoardRow],
               period: Period) -> dict[str, Any]:
    """One page of the board table, and the links to the pages before and after it."""
    page = paginate(rows, page_number())
    args = {"period": period.kind, "start": period.key, "_anchor": "board"}
    return {"board": page.rows,
            "board_previous": url_for(endpoint, page=page.page - 1, **args)
            if page.page > 1 else None,
            "board_next": url_for(endpoint, page=page.page + 1, **args)
            if page.has_next else None}


def period_from_request() -> tuple[PeriodForm, Period]:
    form = PeriodForm(formdata=request.args)
    return form, chosen_period(form, today())


def period_links(endpoint: str, period: Period, **args: Any) -> dict[str, str | None]:
    """URLs of the previous and next periods (no next one after today's)."""
    after = period.next()
    return {
        "previous": url_for(endpoint, period=period.kind, start=period.previous().key, **args),
        "next": url_for(endpoint, period=period.kind, start=after.key, **args)
        if after.start <= today() else None,
    }


def number(value: float | None, digits: int = 1) -> str:
    if value is None:
        return ""
    return format_decimal(round(value, digits), format="#,##0" + ("." + "#" * digits
                                                                   if digits else ""))


def share(value: float | None) -> str:
    return "" if value is None else format_percent(value)  # the locale's own pattern


def hours(value: float | None) -> str:
    return "" if value is None else _("%(num)s working hours", num=number(value))


def since_words(kind: str) -> str:
    return {"week": _("since last week"), "month": _("since last month"),
            "quarter": _("since last quarter")}[kind]


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
    return Pager(rows[start:start + per_page], page, len(rows) > start + per_page)


def bad_export(message: str) -> BadRequest:
    error = BadRequest(message)
    error.portal_message = True  # type: ignore[attr-defined]
    return error


def map_shapes() -> list[charts.MapShape]:
    areas = db_session().scalars(select(Area).order_by(Area.name, Area.id).limit(MAX_AREAS))
    return [charts.MapShape(a.id, a.name, a.geometry) for a in areas]


def volume_charts(volumes: hotspots.Volumes, period_label: str) -> dict[str, charts.Chart]:
    """The map of requests per area, and the bar chart of requests per category."""
    counts = {row.area_id: float(row.count) for row in volumes.by_area if row.area_id}
    area_map = charts.choropleth(
        chart_id="map-areas", title=_("Requests by area, %(period)s", period=period_label),
        description=_("A map of the city's areas, darker where more requests were made. "
                      "The table next to it gives each area's figure."),
        shapes=map_shapes(), values=counts, area_header=_("Area"),
        value_header=_("Requests"), class_header=_("Shade"),
        class_label=lambda n, of: _("shade %(n)d of %(of)d", n=n, of=of),
        no_data=_("no figure"), fmt=lambda v: number(v, 1))
    by_category = charts.bar_chart(
        chart_id="bars-categories",
        title=_("Requests by category, %(period)s", period=period_label),
        description=_("One bar per category, longer for more requests. The table next to "
                      "it gives the figures."),
        bars=[(row.category_name, float(row.count)) for row in volumes.by_category],
        label_header=_("Category"), value_header=_("Requests"), fmt=lambda v: number(v, 0))
    return {"map": area_map, "categories": by_category}


def trend_chart(points: Sequence[hotspots.TrendPoint], locale: str) -> charts.Chart:
    return charts.line_chart(
        chart_id="trend-requests", title=_("Requests per period"),
        description=_("A line of the number of requests in each of the last %(n)d periods. "
                      "The table next to it gives the figures.", n=len(points)),
        labels=[p.period.label(locale) for p in points], label_header=_("Period"),
        series=[charts.Series(_("Requests"), [float(p.count) for p in points])],
        fmt=lambda v: number(v, 0))


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
    show: Callable[[scorecards.DepartmentFigures], str]
    plain: Callable[[scorecards.DepartmentFigures], Any]
    better: int = 0
    unit: str = "count"  # count | share | hours | score


def _get(name: str) -> Callable[[scorecards.DepartmentFigures], Any]:
    return lambda f: getattr(f, name)


def _pct(name: str) -> Callable[[scorecards.DepartmentFigures], Any]:
    return lambda f: "" if getattr(f, name) is None else round(100 * getattr(f, name), 1)


def _rounded(name: str) -> Callable[[scorecards.DepartmentFigures], Any]:
    return lambda f: "" if getattr(f, name) is None else round(getattr(f, name), 2)


def _of(name: str, clocks: str) -> Callable[[scorecards.DepartmentFigures], str]:
    def show(f: scorecards.DepartmentFigures) -> str:
        value = getattr(f, name)
        if value is None:
            return ""
        return _("%(share)s of %(num)s", share=share(value), num=number(getattr(f, clocks), 0))
    return show


def age_name(label: str) -> str:
    return {"under_2_days": _("Under 2 days"), "2_to_7_days": _("2 to 7 days"),
            "7_to_30_days": _("7 to 30 days"), "30_days_and_over": _("30 days and over")}[label]


def scorecard_columns(*, by_agent: bool = False) -> list[Column]:
    """The figures of a scorecard, in order (an agent has no first response, reopenings or
    satisfaction of their own: those columns are left out of the agent table)."""
    def count(name: str) -> Callable[[scorecards.DepartmentFigures], str]:
        return lambda f: number(getattr(f, name), 0)

    def hrs(name: str) -> Callable[[scorecards.DepartmentFigures], str]:
        return lambda f: hours(getattr(f, name))

    columns = [
        Column("tasks_opened", _("Tasks opened"), count("tasks_opened"), _get("tasks_opened")),
        Column("tasks_closed", _("Tasks closed"), count("tasks_closed"), _get("tasks_closed")),
        Column("resolution_compliance", _("Resolved on time"),
               _of("resolution_compliance", "resolution_clocks"),
               _pct("resolution_compliance"), 1, "share"),
        Column("median_resolution_hours", _("Median time to resolve"),
               hrs("median_resolution_hours"), _rounded("median_resolution_hours"), -1,
               "hours"),
        Column("p90_resolution_hours", _("90th percentile time to resolve"),
               hrs("p90_resolution_hours"), _rounded("p90_resolution_hours"), -1, "hours"),
        Column("first_response_compliance", _("First response on time"),
               _of("first_response_compliance", "first_response_clocks"),
               _pct("first_response_compliance"), 1, "share"),
        Column("median_first_response_hours", _("Median time to first response"),
               hrs("median_first_response_hours"), _rounded("median_first_response_hours"),
               -1, "hours"),
        Column("p90_first_response_hours", _("90th percentile time to first response"),
               hrs("p90_first_response_hours"), _rounded("p90_first_response_hours"), -1,
               "hours"),
        Column("backlog", _("Backlog (open tasks)"), count("backlog"), _get("backlog"), -1),
        Column("reopen_rate", _("Reopen rate"), lambda f: share(f.reopen_rate),
               _pct("reopen_rate"), -1, "share"),
        Column("satisfaction", _("Satisfaction (1–5)"),
               lambda f: "" if f.satisfaction is None else number(f.satisfaction, 2),
               _rounded("satisfaction"), 1, "score"),
        Column("responses", _("Survey responses"), count("responses"), _get("responses")),
    ]
    if by_agent:
        hidden = {"first_response_compliance", "median_first_response_hours",
                  "p90_first_response_hours", "reopen_rate", "satisfaction", "responses"}
        columns = [c for c in columns if c.key not in hidden]
    return columns


BOARD_KEYS = ("resolution_compliance", "median_resolution_hours", "first_response_compliance",
              "median_first_response_hours", "tasks_opened", "tasks_closed", "backlog",
              "reopen_rate", "satisfaction")


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
    verdict = "" if not column.better else (
        "better" if rising == (column.better > 0) else "worse")
    if rising:
        words = _("up %(amount)s %(since)s", amount=amount, since=since)
    else:
        words = _("down %(amount)s %(since)s", amount=amount, since=since)
    if verdict:
        words = _("%(change)s, better", change=words) if verdict == "better" else \
            _("%(change)s, worse", change=words)
    return Change("↑" if rising else "↓", words, verdict)


def compliance_chart(board: Sequence[scorecards.BoardRow], period_label: str) -> charts.Chart:
    return charts.bar_chart(
        chart_id="bars-compliance",
        title=_("Tasks resolved on time by department, %(period)s", period=period_label),
        description=_("One bar per department, longer for a higher share of tasks resolved "
                      "within their target. The table next to it gives the figures."),
        bars=[(row.figures.name, None if row.figures.resolution_compliance is None
               else 100 * row.figures.resolution_compliance) for row in board],
        label_header=_("Department"), value_header=_("Resolved on time (%)"),
        fmt=lambda v: share(v / 100))


def board_csv(board: Sequence[scorecards.BoardRow], period: Period) -> Any:
    columns = scorecard_columns()
    rows: list[list[Any]] = [[_("Rank"), _("Department"), *(c.header for c in columns),
                              *(age_name(label) for label, _days in scorecards.AGE_BUCKETS),
                              _("Rank in the previous period")]]
    rows += [[row.rank or "", row.figures.name, *(c.plain(row.figures) for c in columns),
              *(row.figures.backlog_ages[label] for label, _days in scorecards.AGE_BUCKETS),
              row.previous_rank or ""] for row in board]
    return csv_response(rows, f"departments-{period.kind}-{period.key}.csv")


@bp.get("")
@staff_required(SUPERVISOR)
def board() -> Any:
    form, period = period_from_request()
    locale = current_locale()
    reader = rollups()
    rows = scorecards.department_board(db_session(), period, tz=settings().timezone,
                                       locale=locale, rollups=reader)
    if wants_csv(form):
        return board_csv(rows, period)
    label = period.label(locale)
    columns = {c.key: c for c in scorecard_columns()}
    return render_template(
        "reports/board.html", form=form, period=period, period_label=label,
        links=period_links("reports.board", period), as_of=as_of(reader),
        **board_page("reports.board", rows, period),
        fame=scorecards.wall_of_fame(rows), shame=scorecards.wall_of_shame(rows),
        columns=[columns[k] for k in BOARD_KEYS], share=share,
        change=lambda row, c: change(row, c, period.kind),
        chart=compliance_chart(rows, label),
        csv_url=url_for("reports.board", period=period.kind, start=period.key, format="csv"),
        detail_url=lambda department_id: url_for("reports.department",
                                                 department_id=department_id,
                                                 period=period.kind, start=period.key))


def _grouping(department_id: int) -> tuple[str, str | None]:
    by = request.args.get("by") or "category"
    if by not in scorecards.GROUPINGS:
        return "category", _("Choose category, area or agent.")
    if by == "agent" and not current_staff().supervises(department_id):
        abort(404)  # agents' figures: supervisors of this department and admins only
    return by, None


def backlog_chart(rows: Sequence[scorecards.DepartmentFigures], name: str) -> charts.Chart:
    totals = {label: sum(r.backlog_ages[label] for r in rows)
              for label, _days in scorecards.AGE_BUCKETS}
    return charts.bar_chart(
        chart_id="bars-backlog", title=_("Age of the open tasks of %(department)s at the "
                                         "period end", department=name),
        description=_("One bar per age group, longer for more open tasks. The table next to "
                      "it gives the figures."),
        bars=[(age_name(label), float(n)) for label, n in totals.items()],
        label_header=_("Age"), value_header=_("Open tasks"), fmt=lambda v: number(v, 0))


@bp.get("/departments/<int:department_id>")
@staff_required(SUPERVISOR)
def department(department_id: int) -> Any:
    session = db_session()
    found = session.get(Department, department_id)
    if found is None:
        abort(404)
    by, by_error = _grouping(department_id)
    form, period = period_from_request()
    locale = current_locale()
    reader = rollups()
    rows = scorecards.department_detail(session, department_id, period,
                                        tz=settings().timezone, by=by,
                                        include_agents=by == "agent", locale=locale,
                                        rollups=reader)
    columns = scorecard_columns(by_agent=by == "agent")
    name = found.t("name", locale)
    unnamed = {"category": _("No category"), "area": _("No area"), "agent": _("Unassigned")}
    if wants_csv(form):
        if by_error:
            raise bad_export(by_error)
        table: list[list[Any]] = [[str(DRILL_NAMES[by]), *(c.header for c in columns),
                                   *(age_name(label) for label, _d in scorecards.AGE_BUCKETS)]]
        table += [[r.name or unnamed[by], *(c.plain(r) for c in columns),
                   *(r.backlog_ages[label] for label, _d in scorecards.AGE_BUCKETS)]
                  for r in rows]
        if by == "agent":
            _audit_agents(department_id, period, len(rows))
        return csv_response(table, f"department-{department_id}-{by}-{period.kind}-"
                                   f"{period.key}.csv")
    args = {"period": period.kind, "start": period.key}
    page = paginate(rows, page_number())
    return render_template(
        "reports/department.html", form=form, period=period, period_label=period.label(locale),
        links=period_links("reports.department", period, department_id=department_id, by=by),
        department=found, name=name, by=by, by_error=by_error, drill_names=DRILL_NAMES,
        as_of=as_of(reader),
        tabs={"category": _("By category"), "area": _("By area"), "agent": _("By agent")},
        show_agents=current_staff().supervises(department_id), rows=page, columns=columns,
        unnamed=unnamed[by], chart=backlog_chart(rows, name),
        tab_url=lambda key: url_for("reports.department", department_id=department_id,
                                    by=key, **args),
        csv_url=url_for("reports.department", department_id=department_id, by=by,
                        format="csv", **args),
        previous_url=url_for("reports.department", department_id=department_id, by=by,
                             page=page.page - 1, **args) if page.page > 1 else None,
        next_url=url_for("reports.department", department_id=department_id, by=by,
                         page=page.page + 1, **args) if page.has_next else None)


def _audit_agents(department_id: int, period: Period, count: int) -> None:
    """Agents' figures leave the portal: recorded in the audit trail."""
    session = db_session()
    session.add(AuditEntry(actor_id=current_staff().user_id, entity="department",
                           entity_id=str(department_id), action="agent_figures_export",
                           before={}, after={"period": f"{period.kind}-{period.key}",
                                             "rows": count}, created_at=clock.now()))
    session.flush()


# -- hotspots ---------------------------------------------------------------------------------

def _categories() -> list[tuple[int, str]]:
    locale = current_locale()
    rows = db_session().scalars(select(ServiceCategory).order_by(ServiceCategory.name)
                                .limit(MAX_CATEGORIES))
    return [(c.id, c.t("name", locale)) for c in rows]


def _chosen_category(categories: Sequence[tuple[int, str]]) -> tuple[int | None, str | None]:
    """The category filter, or None with a message when it is not one in the list."""
    raw = request.args.get("category", "")
    if not raw:
        return None, None
    known = {str(i): i for i, _name in categories}
    if raw in known:
        return known[raw], None
    return None, _("Choose one of the categories in the list.")


HOTSPOT_TABLES = ("areas", "categories", "cells", "trend", "spikes", "sentiment", "comments")


@bp.get("/hotspots")
@staff_required(SUPERVISOR)
def hotspots_page() -> Any:
    form, period = period_from_request()
    locale = current_locale()
    session = db_session()
    categories = _categories()
    category_id, category_error = _chosen_category(categories)
    label = period.label(locale)
    reader = rollups()
    volumes = hotspots.volumes(session, period, tz=zone(), category_id=category_id,
                               locale=locale, rollups=reader)
    points = hotspots.trend(session, kind=period.kind, periods=TREND_PERIODS, tz=zone(),
                            category_id=category_id, last=period, rollups=reader)
    shown = {**volume_charts(volumes, label), "trend": trend_chart(points, locale)}
    flags = hotspots.spikes(session, period, tz=zone(), locale=locale, rollups=reader)
    moods = hotspots.sentiment(session, period, tz=zone(), rollups=reader)
    if wants_csv(form):
        if category_error:
            raise bad_export(category_error)
        return _hotspots_csv(period, shown, volumes, flags, moods)
    comments = hotspots.comments_page(session, period, tz=zone(),
                                      after=request.args.get("after"), locale=locale)
    args = {"period": period.kind, "start": period.key}
    if category_id is not None:
        args["category"] = str(category_id)
    cells = paginate(volumes.cells, page_number())
    return render_template(
        "reports/hotspots.html", form=form, period=period, period_label=label,
        links=period_links("reports.hotspots_page", period, **_without_period(args)),
        categories=categories, category_id=category_id, category_error=category_error,
        volumes=volumes, charts=shown, cells=cells, flags=flags, as_of=as_of(reader),
        sentence=lambda spike: hotspots.spike_sentence(spike, locale),
        moods=moods, comments=comments, number=number, share=share,
        when=lambda moment: format_datetime(moment, "medium"),
        csv_url=lambda table: url_for("reports.hotspots_page", format="csv", table=table,
                                      **args),
        cells_previous=url_for("reports.hotspots_page", page=cells.page - 1, **args,
                               _anchor="cells") if cells.page > 1 else None,
        cells_next=url_for("reports.hotspots_page", page=cells.page + 1, **args,
                           _anchor="cells") if cells.has_next else None,
        comments_next=url_for("reports.hotspots_page", after=comments.next_cursor, **args,
                              _anchor="comments") if comments.next_cursor else None,
        comments_first=url_for("reports.hotspots_page", **args, _anchor="comments")
        if request.args.get("after") else None,
    )


def _without_period(args: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in args.items() if k not in ("period", "start")}


def _reason(reason: str) -> str:
    return {"baseline": _("Its own recent average"), "city": _("The city rate"),
            "both": _("Both")}.get(reason, reason)


def _hotspots_csv(period: Period, shown: dict[str, charts.Chart], volumes: hotspots.Volumes,
                  flags: Sequence[hotspots.Spike],
                  moods: Sequence[hotspots.AreaSentiment]) -> Any:
    table = request.args.get("table", "")
    stem = f"hotspots-{table}-{period.kind}-{period.key}"
    if table in ("areas", "categories", "trend"):
        return chart_csv(shown["map" if table == "areas" else table], stem)
    if table == "cells":
        rows: list[list[Any]] = [[_("Area"), _("Category"), _("Requests")]]
        rows += [[c.area_name or _("No area"), c.category_name, c.count]
                 for c in volumes.cells]
        return csv_response(rows, f"{stem}.csv")
    if table == "spikes":
        rows = [[_("Area"), _("Category"), _("Requests"), _("Flagged against"),
                 _("Average of the previous periods"), _("Times that average"),
                 _("City requests in the category"), _("Areas"), _("City rate per area"),
                 _("Times the city rate")]]
        rows += [[s.area_name, s.category_name, s.count, _reason(s.reason),
                  round(s.baseline, 2), "" if s.baseline_ratio is None
                  else round(s.baseline_ratio, 2), s.city_count, s.areas,
                  round(s.city_rate, 2), round(s.city_ratio, 2)] for s in flags]
        return csv_response(rows, f"{stem}.csv")
    if table == "sentiment":
        rows = [[_("Area"), _("Responses"), _("Satisfaction answers"), _("Dissatisfied"),
                 _("Dissatisfied (%)"), _("Comments")]]
        rows += [[m.area_name or _("No area"), m.responses, m.csat_answers, m.dissatisfied,
                  "" if m.dissatisfied_share is None else round(100 * m.dissatisfied_share, 1),
                  m.comments] for m in moods]
        return csv_response(rows, f"{stem}.csv")
    if table == "comments":
        return _comments_csv(period, stem)
    raise bad_export(_("Choose a table to export."))


def _comments_csv(period: Period, stem: str) -> Any:
    """Residents' own words: every export is recorded in the audit trail."""
    session = db_session()
    rows: list[list[Any]] = [[_("Date"), _("Area"), _("Category"), _("Satisfaction (1-5)"),
                              _("Comment")]]
    after: str | None = None
    while len(rows) <= MAX_EXPORT_COMMENTS:
        page = hotspots.comments_page(session, period, tz=zone(), after=after,
                                      per_page=500, locale=current_locale())
        rows += [[c.created_at.astimezone(zone()).strftime("%Y-%m-%d %H:%M"),
                  c.area_name or _("No area"), c.category_name, c.csat, c.comment]
                 for c in page.comments]
        after = page.next_cursor
        if after is None:
            break
    rows = rows[:MAX_EXPORT_COMMENTS + 1]
    session.add(AuditEntry(actor_id=current_staff().user_id, entity="report",
                           entity_id=f"comments-{period.kind}-{period.key}",
                           action="comments_export", before={},
                           after={"rows": len(rows) - 1}, created_at=clock.now()))
    session.flush()
    return csv_response(rows, f"{stem}.csv")


