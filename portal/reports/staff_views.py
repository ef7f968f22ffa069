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
from portal.catalogue.models import ServiceCategory
from portal.exports import csv_response
from portal.i18n import current_locale
from portal.reports import charts, hotspots
from portal.reports.forms import PeriodForm, chosen_period
from portal.reports.periods import Period
from portal.staff.access import SUPERVISOR, current_staff, staff_required
from portal.web import db_session, settings

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
    return "" if value is None else format_percent(value, format="#,##0%")


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
        no_data=_("no figure"), fmt=lambda v: number(v, 0))
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


def wants_csv() -> bool:
    return request.args.get("format") == "csv"


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
    volumes = hotspots.volumes(session, period, tz=zone(), category_id=category_id,
                               locale=locale)
    points = hotspots.trend(session, kind=period.kind, periods=TREND_PERIODS, tz=zone(),
                            category_id=category_id, last=period)
    shown = {**volume_charts(volumes, label), "trend": trend_chart(points, locale)}
    flags = hotspots.spikes(session, period, tz=zone(), locale=locale)
    moods = hotspots.sentiment(session, period, tz=zone())
    if wants_csv():
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
        volumes=volumes, charts=shown, cells=cells, flags=flags,
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


def scorecard_staff_check(department_id: int) -> None:
    """404 unless the viewer may see the agents of ``department_id``."""
    if not current_staff().supervises(department_id):
        abort(404)


Formatter = Callable[[float | None], str]
