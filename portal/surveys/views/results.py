"""Survey results for staff: ``GET /staff/surveys/results`` and its CSV exports.

Agents and supervisors see the departments they are members of, admins every department. The
filters come from the query string; a value that is not understood (a department outside the
member's own, a date that does not exist, a period longer than ten years...) gets a message
next to its field and is ignored: never another department's data, never a 500. The CSV export
(``results.csv?table=breakdown|trend|comments`` plus the same filters) refuses such a filter
instead (a 404 for a department outside one's own, a 400 with the message otherwise), so a file
never silently holds something else than what was asked.

The filters are read by ``portal.surveys.views.results_forms``; the figures come from
``portal.surveys.results`` (computed by the database) and the comments from
``portal.surveys.comments``; rows with fewer than five responses show no figures. Cells of the
CSV files that a spreadsheet would read as a formula (starting with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return) are prefixed with a quote.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import format_date, format_decimal, format_percent
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from werkzeug.exceptions import BadRequest

from portal.access import CASEWORK, staff_required
from portal.catalogue.models import Department, ServiceCategory
from portal.exports import csv_response
from portal.i18n import current_locale
from portal.surveys.comments import CommentPage, all_comments, comments_page
from portal.surveys.definitions import load_definitions
from portal.surveys.models import RESOLVED_ANSWERS, SurveyVersion
from portal.surveys.results import (
    MIN_RESPONSES,
    Figures,
    Results,
    survey_results,
)
from portal.surveys.schema import DefinitionError, localized
from portal.surveys.views.results_forms import (
    BREAKDOWN_NAMES,
    MAX_CHOICES,
    Filters,
    ResultsFilterForm,
    SurveyInfo,
    _clean,
    _form,
    _identify,
    _zone,
)
from portal.web import db_session

bp = Blueprint("surveys_results", __name__, url_prefix="/staff/surveys")

#: The CSV of comments holds at most this many (the latest).
MAX_EXPORT_COMMENTS = 5000
TABLES = ("breakdown", "trend", "comments")
MEASURES = ("csat", "resolved", "ces", "nps")

RESOLVED_NAMES = {
    "yes": _l("Yes"),
    "partly": _l("Partly"),
    "no": _l("No"),
    "dont_know": _l("Don't know"),
}
#: Used when a survey's definition has no labels for its 1-5 scale.
CSAT_NAMES = {
    1: _l("Very dissatisfied"),
    2: _l("Dissatisfied"),
    3: _l("Neither satisfied nor dissatisfied"),
    4: _l("Satisfied"),
    5: _l("Very satisfied"),
}


# -- surveys ----------------------------------------------------------------------------------


def survey_catalogue(locale: str) -> dict[str, SurveyInfo]:
    """The surveys results can be shown for: the definition files, and any survey with a
    version on record whose file is gone (shown anonymous to staff, to be safe)."""
    surveys: dict[str, SurveyInfo] = {}
    try:
        definitions = load_definitions()
    except DefinitionError:
        definitions = {}
    for key, definition in definitions.items():
        measured = {q.measure for q in definition.questions}
        csat = next((q for q in definition.questions if q.measure == "csat"), None)
        labels = (
            {int(o.key): localized(o.label, locale) for o in csat.options if o.key.isdigit()}
            if csat
            else {}
        )
        surveys[key] = SurveyInfo(
            key=key,
            title=localized(definition.title, locale),
            anonymous_to_staff=definition.anonymous_to_staff,
            measures=tuple(m for m in MEASURES if m in measured),
            csat_labels={s: labels.get(s) or str(CSAT_NAMES[s]) for s in CSAT_NAMES},
        )
    recorded = db_session().scalars(
        select(SurveyVersion.survey_key)
        .distinct()
        .order_by(SurveyVersion.survey_key)
        .limit(MAX_CHOICES)
    )
    for key in recorded:
        if key not in surveys:
            surveys[key] = SurveyInfo(
                key=key,
                title=key,
                anonymous_to_staff=True,
                measures=MEASURES,
                csat_labels={s: str(n) for s, n in CSAT_NAMES.items()},
            )
    return surveys


# -- display ----------------------------------------------------------------------------------


def _labels(
    breakdown: str, departments: Mapping[int, str], categories: Mapping[int, str]
) -> dict[int | None, str]:
    """Names of the breakdown rows, by key (departments and categories outside the choices
    are looked up, so a renamed or inactive one still has its name)."""
    if breakdown == "overall":
        return {None: _("All responses")}
    names: dict[int | None, str] = dict(departments if breakdown == "department" else categories)
    names[None] = _("No department") if breakdown == "department" else _("No category")
    return names


def _missing_names(results: Results, names: dict[int | None, str], breakdown: str) -> None:
    wanted = [r.key for r in results.rows if r.key is not None and r.key not in names]
    if not wanted:
        return
    model = Department if breakdown == "department" else ServiceCategory
    locale = current_locale()
    for row in db_session().scalars(select(model).where(model.id.in_(wanted))):
        names[row.id] = row.t("name", locale)


def _period_label(first: date, last: date) -> str:
    if first == last:
        return format_date(first, "medium")
    return _(
        "%(first)s to %(last)s",
        first=format_date(first, "medium"),
        last=format_date(last, "medium"),
    )


def _average(value: float | None) -> str:
    return "" if value is None else format_decimal(round(value, 2), format="0.0#")


def _share(value: float | None) -> str:
    return "" if value is None else format_percent(value, format="0%")


def _nps(value: float | None) -> str:
    if value is None:
        return ""
    rounded = round(value)
    return f"+{rounded}" if rounded > 0 else str(rounded)


def _count(value: int | None) -> str:
    return "" if value is None else format_decimal(value)


FORMATS = {"average": _average, "share": _share, "nps": _nps, "count": _count}


# -- the page ---------------------------------------------------------------------------------


@bp.get("/results")
@staff_required(CASEWORK)
def index() -> Any:
    locale = current_locale()
    surveys = survey_catalogue(locale)
    form, departments, categories = _form(surveys)
    filters = _clean(form, surveys)
    if filters is None:
        return render_template(
            "surveys/results/results.html", form=form, filters=None, min_responses=MIN_RESPONSES
        )
    session = db_session()
    results = survey_results(
        session, filters.selection, breakdown=filters.breakdown, trend=filters.trend, zone=_zone()
    )
    names = _labels(filters.breakdown, departments, categories)
    _missing_names(results, names, filters.breakdown)
    page: CommentPage = comments_page(
        session,
        filters.selection,
        identify=_identify(filters.survey),
        after=request.args.get("after"),
        before=request.args.get("before"),
    )
    args = _filter_args(form, filters)
    return render_template(
        "surveys/results/results.html",
        form=form,
        filters=filters,
        results=results,
        names=names,
        department_names=departments,
        category_names=categories,
        comments=page,
        period=_period_label(filters.first_day, filters.last_day),
        bucket_label=lambda b: _period_label(b.first_day, b.last_day),
        fmt=FORMATS,
        min_responses=MIN_RESPONSES,
        max_export=MAX_EXPORT_COMMENTS,
        resolved_names=RESOLVED_NAMES,
        show=set(filters.survey.measures),
        csv_url=lambda table: url_for("surveys_results.export", table=table, **args),
        older_url=url_for(
            "surveys_results.index", **args, after=page.next_cursor, _anchor="comments"
        )
        if page.next_cursor
        else None,
        newer_url=url_for(
            "surveys_results.index", **args, before=page.previous_cursor, _anchor="comments"
        )
        if page.previous_cursor
        else None,
    )


def _filter_args(form: ResultsFilterForm, filters: Filters) -> dict[str, str]:
    """The understood filters, as query-string arguments (for the CSV and paging links)."""
    args = {
        "survey": filters.selection.survey_key,
        "breakdown": filters.breakdown,
        "trend": filters.trend,
        "from": filters.first_day.isoformat(),
        "to": filters.last_day.isoformat(),
    }
    if filters.department_id is not None:
        args["department"] = str(filters.department_id)
    if filters.selection.category_id is not None:
        args["category"] = str(filters.selection.category_id)
    return args


# -- CSV exports ------------------------------------------------------------------------------


def _round(value: float | None, digits: int = 2) -> float | str:
    return "" if value is None else round(value, digits)


def _percent(value: float | None) -> float | str:
    return "" if value is None else round(100 * value, 1)


def _figure_cells(row: Figures, show: set[str]) -> list[Any]:
    if row.suppressed:
        cells: list[Any] = ["", "", ""]
        cells += [""] * (
            (7 if "csat" in show else 0) + ("resolved" in show) + ("ces" in show) + ("nps" in show)
        )
        return [*cells, _("Fewer than %(num)d responses", num=MIN_RESPONSES)]
    cells = [row.invitations, _percent(row.response_rate), row.responses]
    if "csat" in show:
        counts = row.csat_counts or (None,) * 5
        cells += [row.csat_answers, _round(row.csat_average), *counts]
    if "resolved" in show:
        cells.append(_percent(row.share_resolved))
    if "ces" in show:
        cells.append(_round(row.ces_average))
    if "nps" in show:
        cells.append(None if row.nps is None else round(row.nps))
    return [*cells, ""]


def _figure_headers(show: set[str]) -> list[str]:
    headers = [_("Invitations"), _("Response rate (%)"), _("Responses")]
    if "csat" in show:
        headers += [
            _("Satisfaction answers"),
            _("Satisfaction average (1-5)"),
            *(_("Satisfaction %(score)d", score=s) for s in range(1, 6)),
        ]
    if "resolved" in show:
        headers.append(_("Resolved (%)"))
    if "ces" in show:
        headers.append(_("Ease average (1-7)"))
    if "nps" in show:
        headers.append(_("Net promoter score"))
    return [*headers, _("Note")]


def _bad_export(message: str) -> BadRequest:
    error = BadRequest(message)
    error.portal_message = True  # type: ignore[attr-defined]
    return error


@bp.get("/results.csv")
@staff_required(CASEWORK)
def export() -> Any:
    table = request.args.get("table", "")
    if table not in TABLES:
        raise _bad_export(_("Choose a table to export: breakdown, trend or comments."))
    locale = current_locale()
    surveys = survey_catalogue(locale)
    form, departments, categories = _form(surveys)
    filters = _clean(form, surveys)
    if filters is None:
        abort(404)
    if form.department.errors:
        abort(404)  # not one of the member's departments: no hint of anything there
    problems = [error for f in form for error in f.errors]
    if problems:
        raise _bad_export(" ".join(str(p) for p in problems))
    session = db_session()
    show = set(filters.survey.measures)
    stem = (
        f"{filters.selection.survey_key}-{table}-{filters.first_day.isoformat()}-"
        f"{filters.last_day.isoformat()}.csv"
    )
    if table == "comments":
        identify = _identify(filters.survey)
        rows: list[list[Any]] = [
            [
                _("Date"),
                _("Case"),
                _("Department"),
                _("Category"),
                _("Satisfaction (1-5)"),
                _("Resolved"),
                _("Comment"),
            ]
        ]
        zone = _zone()
        for comment in all_comments(
            session, filters.selection, identify=identify, limit=MAX_EXPORT_COMMENTS
        ):
            rows.append(
                [
                    comment.created_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                    comment.reference or "",
                    departments.get(comment.department_id or 0, ""),
                    categories.get(comment.category_id or 0, ""),
                    comment.csat,
                    str(RESOLVED_NAMES[comment.resolved])
                    if comment.resolved in RESOLVED_ANSWERS
                    else "",
                    comment.comment,
                ]
            )
        return csv_response(rows, stem)
    results = survey_results(
        session, filters.selection, breakdown=filters.breakdown, trend=filters.trend, zone=_zone()
    )
    if table == "breakdown":
        names = _labels(filters.breakdown, departments, categories)
        _missing_names(results, names, filters.breakdown)
        rows = [[str(BREAKDOWN_NAMES[filters.breakdown]), *_figure_headers(show)]]
        rows += [[names.get(row.key, ""), *_figure_cells(row, show)] for row in results.rows]
        if filters.breakdown != "overall":
            rows.append([_("Total"), *_figure_cells(results.total, show)])
        return csv_response(rows, stem)
    rows = [[_("From"), _("To"), *_figure_headers(show)]]
    rows += [
        [b.first_day.isoformat(), b.last_day.isoformat(), *_figure_cells(row, show)]
        for b, row in zip(results.buckets, results.trend_rows, strict=True)
    ]
    return csv_response(rows, stem)
