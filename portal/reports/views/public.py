"""The public performance page, ``/performance``: every department's scorecard (no agent
figures, no survey comments), the requests by category and by area, and the map of the areas.
Each table downloads as CSV (``?format=csv&table=departments|areas|categories``). Bad input
gets a message next to its field and the current period: never a 500."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request, url_for
from flask_babel import gettext as _

from portal.i18n import current_locale
from portal.reports import hotspots, scorecards
from portal.reports.views.display import (
    BOARD_KEYS,
    as_of,
    bad_export,
    board_csv,
    board_page,
    change,
    chart_csv,
    compliance_chart,
    period_from_request,
    period_links,
    rollups,
    scorecard_columns,
    share,
    volume_charts,
    wants_csv,
    zone,
)
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
        session, period, tz=settings().timezone, locale=locale, rollups=reader
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
        columns=[columns[k] for k in BOARD_KEYS],
        share=share,
        change=lambda row, c: change(row, c, period.kind),
        charts=shown,
        volumes=volumes,
        csv_url=lambda table: url_for("reports_public.index", format="csv", table=table, **args),
    )
