"""The public performance page, ``/performance``: every department's scorecard (no agent
figures, no survey comments), the requests by category and by area, and the map of the areas.
Each table downloads as CSV (``?format=csv&table=departments|areas|categories``). Bad input
gets a message next to its field and the current period: never a 500."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.catalogue.models import Department, ServiceCategory
from portal.core import clock
from portal.i18n import current_locale
from portal.reports import equity, hotspots, scorecards
from portal.reports.views.display import (
    BOARD_KEYS,
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
    volume_charts,
    wants_csv,
    zone,
)
from portal.sla import forecasts
from portal.web import db_session, settings

bp = Blueprint("reports_public", __name__, url_prefix="/performance")

TABLES = ("departments", "areas", "categories", "compliance")


@bp.get("")
def index() -> Any:
    form, period = period_from_request()
    locale = current_locale()
    session = db_session()
    reader = rollups()
    board = scorecards.department_board(
        session,
        period,
        tz=settings().timezone,
        locale=locale,
        rollups=reader,
        min_tasks=settings().wall_min_tasks,
    )
    volumes = hotspots.volumes(session, period, tz=zone(), locale=locale, rollups=reader)
    label = period.label(locale)
    shown = {**volume_charts(volumes, label), "compliance": compliance_chart(board, label)}
    if wants_csv(form):
        table = request.args.get("table", "")
        if table not in TABLES:
            raise bad_export(_("Choose a table to export."))
        stem = f"performance-{table}-{period.kind}-{period.key}"
        if table == "departments":
            return board_csv(board, period)
        return chart_csv(shown["map" if table == "areas" else table], stem)
    columns = {c.key: c for c in scorecard_columns()}
    args = {"period": period.kind, "start": period.key}
    return render_template(
        "reports/public/performance.html",
        form=form,
        period=period,
        period_label=label,
        links=period_links("reports_public.index", period),
        as_of=as_of(reader),
        **board_page("reports_public.index", board, period),
        fame=scorecards.wall_of_fame(board),
        shame=scorecards.wall_of_shame(board),
        shame_wall_name=shame_wall_name(public=True),
        min_tasks=settings().wall_min_tasks,
        columns=[columns[k] for k in BOARD_KEYS],
        share=share,
        change=lambda row, c: change(row, c, period.kind),
        charts=shown,
        volumes=volumes,
        csv_url=lambda table: url_for("reports_public.index", format="csv", table=table, **args),
        calibration=_calibration(session, locale),
        percentile=settings().forecast_percentile,
        on_target=lambda row: forecasts.on_target(row.share, settings().forecast_percentile / 100),
    )


@bp.get("/equity")
def equity_page() -> Any:
    """Whether some areas are served worse or report less (``portal.reports.equity``)."""
    return render_template(
        "reports/public/equity.html", **equity_context("reports_public.equity_page")
    )


def equity_context(endpoint: str) -> dict[str, Any]:
    """The equity table's page (public and staff alike)."""
    form, period = period_from_request()
    locale = current_locale()
    areas, city = equity.area_figures(
        db_session(), period, tz=zone(), now=clock.now(), rollups=rollups()
    )
    page = paginate(areas, page_number())
    args = {"period": period.kind, "start": period.key}

    def page_url(number: int) -> str:
        return url_for(endpoint, page=number, **args)

    return {
        "form": form,
        "period": period,
        "period_label": period.label(locale),
        "links": period_links(endpoint, period),
        "rows": page,
        "city": city,
        "slower": lambda area: equity.slower(area, city),
        "relative": lambda area: equity.relative_rate(area, city),
        "min_duplicates": equity.MIN_DUPLICATES,
        "share": share,
        "number": number,
        "previous_url": page_url(page.page - 1) if page.page > 1 else None,
        "next_url": page_url(page.page + 1) if page.has_next else None,
    }


def _calibration(session: Session, locale: str) -> list[dict[str, Any]]:
    """How often the forecast dates came true, per department and category, with names."""
    found = forecasts.calibration(session)
    names = {
        d.id: d.t("name", locale)
        for d in session.scalars(
            select(Department).where(Department.id.in_([c.department_id for c in found]))
        )
    }
    wanted = {r.group_id for c in found for r in c.categories}
    categories = {
        c.id: c.t("name", locale)
        for c in session.scalars(select(ServiceCategory).where(ServiceCategory.id.in_(wanted)))
    }
    return sorted(
        (
            {
                "name": names.get(c.department_id, ""),
                "total": c.total,
                "categories": [(categories.get(r.group_id, ""), r) for r in c.categories],
            }
            for c in found
        ),
        key=lambda row: str(row["name"]).casefold(),
    )
