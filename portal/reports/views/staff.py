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

from collections.abc import Sequence
from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from portal.access import CASEWORK, SUPERVISOR, current_staff, staff_required
from portal.catalogue.models import Department, ServiceCategory
from portal.core import clock
from portal.core.audit import AuditEntry
from portal.exports import csv_response
from portal.i18n import current_locale
from portal.reports import (
    charts,
    hotspots,
    scorecard_queries,
    scorecards,
    sentiment,
    spike_sentences,
    themes,
)
from portal.reports.periods import Period
from portal.reports.views.display import (
    BOARD_KEYS,
    age_name,
    as_of,
    bad_export,
    board_csv,
    board_page,
    change,
    chart_csv,
    compliance_chart,
    number,
    page_number,
    paginate,
    period_from_request,
    period_links,
    rollups,
    scorecard_columns,
    shame_wall_name,
    share,
    trend_chart,
    volume_charts,
    wants_csv,
    zone,
)
from portal.reports.views.staff_forms import DRILL_NAMES
from portal.templating import moment_text
from portal.web import db_session, settings

bp = Blueprint("reports_staff", __name__, url_prefix="/staff/reports")

#: Periods drawn in a trend chart.
TREND_PERIODS = 12
MAX_CATEGORIES = 500
#: Survey comments in one CSV (the newest).
MAX_EXPORT_COMMENTS = 5000


@bp.get("")
@staff_required(SUPERVISOR)
def board() -> Any:
    form, period = period_from_request()
    locale = current_locale()
    reader = rollups()
    rows = scorecards.department_board(
        db_session(),
        period,
        tz=settings().timezone,
        locale=locale,
        rollups=reader,
        min_tasks=settings().wall_min_tasks,
    )
    if wants_csv(form):
        return board_csv(rows, period)
    label = period.label(locale)
    columns = {c.key: c for c in scorecard_columns()}
    return render_template(
        "reports/staff/board.html",
        form=form,
        period=period,
        period_label=label,
        links=period_links("reports_staff.board", period),
        as_of=as_of(reader),
        **board_page("reports_staff.board", rows, period),
        fame=scorecards.wall_of_fame(rows),
        shame=scorecards.wall_of_shame(rows),
        shame_wall_name=shame_wall_name(public=False),
        public_shame_wall=settings().public_shame_wall,
        min_tasks=settings().wall_min_tasks,
        columns=[columns[k] for k in BOARD_KEYS],
        share=share,
        change=lambda row, c: change(row, c, period.kind),
        chart=compliance_chart(rows, label),
        csv_url=url_for("reports_staff.board", period=period.kind, start=period.key, format="csv"),
        detail_url=lambda department_id: url_for(
            "reports_staff.department",
            department_id=department_id,
            period=period.kind,
            start=period.key,
        ),
    )


def _grouping(department_id: int) -> tuple[str, str | None]:
    by = request.args.get("by") or "category"
    if by not in scorecards.GROUPINGS:
        return "category", _("Choose category, area or agent.")
    if by == "agent" and not current_staff().supervises(department_id):
        abort(404)  # agents' figures: supervisors of this department and admins only
    return by, None


def backlog_chart(rows: Sequence[scorecard_queries.DepartmentFigures], name: str) -> charts.Chart:
    totals = {
        label: sum(r.backlog_ages[label] for r in rows)
        for label, _days in scorecard_queries.AGE_BUCKETS
    }
    return charts.bar_chart(
        chart_id="bars-backlog",
        title=_("Age of the open tasks of %(department)s at the period end", department=name),
        description=_(
            "One bar per age group, longer for more open tasks. The table next to "
            "it gives the figures."
        ),
        bars=[(age_name(label), float(n)) for label, n in totals.items()],
        label_header=_("Age"),
        value_header=_("Open tasks"),
        fmt=lambda v: number(v, 0),
    )


@bp.get("/equity")
@staff_required(SUPERVISOR)
def equity_page() -> Any:
    """The equity table in the back office (the same figures as the public page)."""
    from portal.reports.views.public import equity_context

    return render_template(
        "reports/staff/equity.html", **equity_context("reports_staff.equity_page")
    )


def may_see_department(department_id: int) -> bool:
    """A department's scorecard: admins and supervisors (every department, as on the board),
    and the department's own agents (its figures, not other agents')."""
    access = current_staff()
    return bool(
        access.is_admin
        or access.supervised_department_ids
        or department_id in access.department_ids
    )


@bp.get("/mine")
@staff_required(CASEWORK)
def mine() -> Any:
    """ "Our results" in the back office: the member's (first) department's scorecard; the
    board for admins and supervisors of no department of their own."""
    access = current_staff()
    if access.department_ids:
        return redirect(
            url_for("reports_staff.department", department_id=sorted(access.department_ids)[0])
        )
    if access.is_admin or access.supervised_department_ids:
        return redirect(url_for("reports_staff.board"))
    abort(404)


@bp.get("/departments/<int:department_id>")
@staff_required(CASEWORK)
def department(department_id: int) -> Any:
    session = db_session()
    found = session.get(Department, department_id)
    if found is None or not may_see_department(department_id):
        abort(404)
    by, by_error = _grouping(department_id)
    form, period = period_from_request()
    locale = current_locale()
    reader = rollups()
    rows = scorecards.department_detail(
        session,
        department_id,
        period,
        tz=settings().timezone,
        by=by,
        include_agents=by == "agent",
        locale=locale,
        rollups=reader,
    )
    columns = scorecard_columns(by_agent=by == "agent")
    name = found.t("name", locale)
    unnamed = {"category": _("No category"), "area": _("No area"), "agent": _("Unassigned")}
    if wants_csv(form):
        if by_error:
            raise bad_export(by_error)
        table: list[list[Any]] = [
            [
                str(DRILL_NAMES[by]),
                *(c.header for c in columns),
                *(age_name(label) for label, _d in scorecard_queries.AGE_BUCKETS),
            ]
        ]
        table += [
            [
                r.name or unnamed[by],
                *(c.plain(r) for c in columns),
                *(r.backlog_ages[label] for label, _d in scorecard_queries.AGE_BUCKETS),
            ]
            for r in rows
        ]
        if by == "agent":
            _audit_agents(department_id, period, len(rows))
        return csv_response(
            table, f"department-{department_id}-{by}-{period.kind}-{period.key}.csv"
        )
    args = {"period": period.kind, "start": period.key}
    page = paginate(rows, page_number())
    return render_template(
        "reports/staff/department.html",
        form=form,
        period=period,
        period_label=period.label(locale),
        links=period_links("reports_staff.department", period, department_id=department_id, by=by),
        department=found,
        name=name,
        by=by,
        by_error=by_error,
        drill_names=DRILL_NAMES,
        as_of=as_of(reader),
        tabs={"category": _("By category"), "area": _("By area"), "agent": _("By agent")},
        show_agents=current_staff().supervises(department_id),
        may_see_board=current_staff().is_admin or bool(current_staff().supervised_department_ids),
        other_departments=_other_departments(department_id, locale),
        rows=page,
        columns=columns,
        unnamed=unnamed[by],
        chart=backlog_chart(rows, name),
        tab_url=lambda key: url_for(
            "reports_staff.department", department_id=department_id, by=key, **args
        ),
        csv_url=url_for(
            "reports_staff.department", department_id=department_id, by=by, format="csv", **args
        ),
        previous_url=url_for(
            "reports_staff.department",
            department_id=department_id,
            by=by,
            page=page.page - 1,
            **args,
        )
        if page.page > 1
        else None,
        next_url=url_for(
            "reports_staff.department",
            department_id=department_id,
            by=by,
            page=page.page + 1,
            **args,
        )
        if page.has_next
        else None,
    )


def _other_departments(department_id: int, locale: str) -> list[tuple[int, str]]:
    """An agent's other departments, to switch between their scorecards."""
    others = [d for d in current_staff().department_ids if d != department_id]
    if not others:
        return []
    found = db_session().scalars(select(Department).where(Department.id.in_(others)))
    return sorted(((d.id, d.t("name", locale)) for d in found), key=lambda x: x[1].casefold())


def _audit_agents(department_id: int, period: Period, count: int) -> None:
    """Agents' figures leave the portal: recorded in the audit trail."""
    session = db_session()
    session.add(
        AuditEntry(
            actor_id=current_staff().user_id,
            entity="department",
            entity_id=str(department_id),
            action="agent_figures_export",
            before={},
            after={"period": f"{period.kind}-{period.key}", "rows": count},
            created_at=clock.now(),
        )
    )
    session.flush()


# -- hotspots ---------------------------------------------------------------------------------


def _categories() -> list[tuple[int, str]]:
    locale = current_locale()
    rows = db_session().scalars(
        select(ServiceCategory).order_by(ServiceCategory.name).limit(MAX_CATEGORIES)
    )
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
    volumes = hotspots.volumes(
        session, period, tz=zone(), category_id=category_id, locale=locale, rollups=reader
    )
    points = hotspots.trend(
        session,
        kind=period.kind,
        periods=TREND_PERIODS,
        tz=zone(),
        category_id=category_id,
        last=period,
        rollups=reader,
    )
    shown = {**volume_charts(volumes, label), "trend": trend_chart(points, locale)}
    flags = hotspots.spikes(session, period, tz=zone(), locale=locale, rollups=reader)
    moods = sentiment.sentiment(session, period, tz=zone(), rollups=reader)
    if wants_csv(form):
        if category_error:
            raise bad_export(category_error)
        return _hotspots_csv(period, shown, volumes, flags, moods)
    comments = sentiment.comments_page(
        session, period, tz=zone(), after=request.args.get("after"), locale=locale
    )
    heard = themes.heard(session, period, settings=settings())
    args = {"period": period.kind, "start": period.key}
    if category_id is not None:
        args["category"] = str(category_id)
    cells = paginate(volumes.cells, page_number())
    return render_template(
        "reports/staff/hotspots.html",
        form=form,
        period=period,
        period_label=label,
        links=period_links("reports_staff.hotspots_page", period, **_without_period(args)),
        categories=categories,
        category_id=category_id,
        category_error=category_error,
        volumes=volumes,
        charts=shown,
        cells=cells,
        flags=flags,
        as_of=as_of(reader),
        sentence=lambda spike: spike_sentences.spike_sentence(spike, locale),
        moods=moods,
        comments=comments,
        themes=heard,
        theme_sentence=lambda theme: themes.theme_sentence(theme, locale),
        number=number,
        share=share,
        when=moment_text,
        csv_url=lambda table: url_for(
            "reports_staff.hotspots_page", format="csv", table=table, **args
        ),
        cells_previous=url_for(
            "reports_staff.hotspots_page", page=cells.page - 1, **args, _anchor="cells"
        )
        if cells.page > 1
        else None,
        cells_next=url_for(
            "reports_staff.hotspots_page", page=cells.page + 1, **args, _anchor="cells"
        )
        if cells.has_next
        else None,
        comments_next=url_for(
            "reports_staff.hotspots_page", after=comments.next_cursor, **args, _anchor="comments"
        )
        if comments.next_cursor
        else None,
        comments_first=url_for("reports_staff.hotspots_page", **args, _anchor="comments")
        if request.args.get("after")
        else None,
    )


def _without_period(args: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in args.items() if k not in ("period", "start")}


def _reason(reason: str) -> str:
    return {
        "baseline": _("Its own recent average"),
        "city": _("The city rate"),
        "both": _("Both"),
    }.get(reason, reason)


def _hotspots_csv(
    period: Period,
    shown: dict[str, charts.Chart],
    volumes: hotspots.Volumes,
    flags: Sequence[hotspots.Spike],
    moods: Sequence[sentiment.AreaSentiment],
) -> Any:
    table = request.args.get("table", "")
    stem = f"hotspots-{table}-{period.kind}-{period.key}"
    if table in ("areas", "categories", "trend"):
        return chart_csv(shown["map" if table == "areas" else table], stem)
    if table == "cells":
        rows: list[list[Any]] = [[_("Area"), _("Category"), _("Requests")]]
        rows += [[c.area_name or _("No area"), c.category_name, c.count] for c in volumes.cells]
        return csv_response(rows, f"{stem}.csv")
    if table == "spikes":
        rows = [
            [
                _("Area"),
                _("Category"),
                _("Requests"),
                _("Flagged against"),
                _("Average of the previous periods"),
                _("Times that average"),
                _("City requests in the category"),
                _("Areas"),
                _("Expected at the city rate"),
                _("Times the city rate"),
            ]
        ]
        rows += [
            [
                s.area_name,
                s.category_name,
                s.count,
                _reason(s.reason),
                round(s.baseline, 2),
                "" if s.baseline_ratio is None else round(s.baseline_ratio, 2),
                s.city_count,
                s.areas,
                round(s.city_rate, 2),
                round(s.city_ratio, 2),
            ]
            for s in flags
        ]
        return csv_response(rows, f"{stem}.csv")
    if table == "sentiment":
        rows = [
            [
                _("Area"),
                _("Responses"),
                _("Satisfaction answers"),
                _("Dissatisfied"),
                _("Dissatisfied (%)"),
                _("Comments"),
            ]
        ]
        rows += [
            [
                m.area_name or _("No area"),
                m.responses,
                m.csat_answers,
                m.dissatisfied,
                "" if m.dissatisfied_share is None else round(100 * m.dissatisfied_share, 1),
                m.comments,
            ]
            for m in moods
        ]
        return csv_response(rows, f"{stem}.csv")
    if table == "comments":
        return _comments_csv(period, stem)
    raise bad_export(_("Choose a table to export."))


def _comments_csv(period: Period, stem: str) -> Any:
    """Residents' own words: every export is recorded in the audit trail."""
    session = db_session()
    rows: list[list[Any]] = [
        [_("Date"), _("Area"), _("Category"), _("Satisfaction (1-5)"), _("Comment")]
    ]
    after: str | None = None
    while len(rows) <= MAX_EXPORT_COMMENTS:
        page = sentiment.comments_page(
            session, period, tz=zone(), after=after, per_page=500, locale=current_locale()
        )
        rows += [
            [
                c.created_at.astimezone(zone()).strftime("%Y-%m-%d %H:%M"),
                c.area_name or _("No area"),
                c.category_name,
                c.csat,
                c.comment,
            ]
            for c in page.comments
        ]
        after = page.next_cursor
        if after is None:
            break
    rows = rows[: MAX_EXPORT_COMMENTS + 1]
    session.add(
        AuditEntry(
            actor_id=current_staff().user_id,
            entity="report",
            entity_id=f"comments-{period.kind}-{period.key}",
            action="comments_export",
            before={},
            after={"rows": len(rows) - 1},
            created_at=clock.now(),
        )
    )
    session.flush()
    return csv_response(rows, f"{stem}.csv")
