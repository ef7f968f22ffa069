"""The survey results filter: which survey, departments, category and period, and how to
break the results down.

``_form`` builds the filter form from the query string with the departments and categories the
viewer may choose, and ``_clean`` turns it into ``Filters`` (a ``Selection`` of the results):
a value that is not understood gets a message next to its field and falls back to its default,
so a member never sees another department's data. ``_identify`` says whether the viewer may see
the case a response is about. Used by ``portal.surveys.views.results``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import ValidationError

from portal.access import current_staff, department_choices
from portal.catalogue.models import ServiceCategory
from portal.core import clock
from portal.form_fields import ClearDateField
from portal.i18n import current_locale
from portal.surveys.results import ResultsError, Selection, buckets
from portal.web import db_session, settings

FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2099, 12, 31)
BREAKDOWN_NAMES = {
    "department": _l("Department"),
    "category": _l("Category"),
    "overall": _l("Overall"),
}
TREND_NAMES = {"month": _l("By month"), "week": _l("By week")}
_DATE = _l("Enter a real date, like 2026-03-31.")


def choices(pairs: Iterable[tuple[Any, Any]]) -> list[SelectChoice]:
    return [SelectChoice(str(value), label) for value, label in pairs]


class _Date(ClearDateField):
    """A date between 2000 and 2099; anything else gets one clear message."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, message=_DATE, **kwargs)

    def pre_validate(self, form: Any) -> None:
        if self.data is not None and not FIRST_DAY <= self.data <= LAST_DAY:
            self.data = None
            raise ValidationError(_l("Enter a date between 2000 and 2099."))


class ResultsFilterForm(FlaskForm):
    """Which survey, departments, category and period; how to break the results down."""

    class Meta:
        csrf = False  # a GET filter changes nothing

    survey = SelectField(_l("Survey"), validate_choice=False)
    department = SelectField(_l("Department"), default="", validate_choice=False)
    category = SelectField(_l("Category"), default="", validate_choice=False)
    start = _Date(_l("From"), name="from")
    end = _Date(_l("To (inclusive)"), name="to")
    breakdown = SelectField(
        _l("Break down by"),
        default="department",
        validate_choice=False,
        choices=choices(BREAKDOWN_NAMES.items()),
    )
    trend = SelectField(
        _l("Trend"), default="month", validate_choice=False, choices=choices(TREND_NAMES.items())
    )


MAX_CHOICES = 500
#: The longest period the page computes (the trend by week is limited to five years).
MAX_PERIOD_DAYS = 3660
DEFAULT_SURVEY = "request-resolved"


@dataclass(frozen=True)
class SurveyInfo:
    key: str
    title: str
    #: Agents do not see which case a response is about.
    anonymous_to_staff: bool
    #: The measures the survey asks for (csat, resolved, ces, nps): the columns shown.
    measures: tuple[str, ...]
    #: Labels of the 1-5 satisfaction scale, by score.
    csat_labels: Mapping[int, str]


@dataclass(frozen=True)
class Filters:
    survey: SurveyInfo
    selection: Selection
    breakdown: str
    trend: str
    first_day: date
    last_day: date
    department_id: int | None


def _allowed(field: Any) -> set[str]:
    return {
        choice.value if isinstance(choice, SelectChoice) else str(choice[0])
        for choice in field.choices
    }


def _clean(form: ResultsFilterForm, surveys: Mapping[str, SurveyInfo]) -> Filters | None:
    """The filters, with a message on each field that was not understood (that field falls
    back to its default). None when there is no survey at all."""
    form.validate()
    if not surveys:
        return None
    key = _survey_key(form, surveys)
    department_id = _chosen_id(
        form.department,
        _("Choose one of your departments.")
        if not current_staff().is_admin
        else _("Choose one of the departments in the list."),
    )
    category_id = _chosen_id(form.category, _("Choose one of the categories in the list."))
    for select_field, default in ((form.breakdown, "department"), (form.trend, "month")):
        if select_field.data not in _allowed(select_field):
            if request.args.get(select_field.name):
                select_field.errors = [_("Choose one of the options in the list.")]
            select_field.data = default
    first, last = _period(form)
    zone = _zone()
    start = datetime.combine(first, time.min, tzinfo=zone)
    end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=zone)
    if form.trend.data == "week":
        try:
            buckets(start, end, "week", zone)
        except ResultsError:
            form.trend.errors = [
                _(
                    "A trend by week covers at most five years: choose a "
                    "shorter period or a trend by month."
                )
            ]
            form.trend.data = "month"
    department_ids: tuple[int, ...] | None
    if department_id is not None:
        department_ids = (department_id,)
    else:
        access = current_staff()
        department_ids = None if access.is_admin else tuple(access.department_ids)
    return Filters(
        survey=surveys[key],
        selection=Selection(
            survey_key=key,
            start=start,
            end=end,
            department_ids=department_ids,
            category_id=category_id,
        ),
        breakdown=form.breakdown.data,
        trend=form.trend.data,
        first_day=first,
        last_day=last,
        department_id=department_id,
    )


def _survey_key(form: ResultsFilterForm, surveys: Mapping[str, SurveyInfo]) -> str:
    key = form.survey.data
    if key not in surveys:
        if key:
            form.survey.errors = [_("Choose one of the surveys in the list.")]
        key = DEFAULT_SURVEY if DEFAULT_SURVEY in surveys else next(iter(surveys))
        form.survey.data = key
    return key


def _chosen_id(field: SelectField, message: str) -> int | None:
    """The id picked in ``field`` when it is one of its choices; a message otherwise (and
    the field falls back to "all")."""
    if not field.data:
        return None
    if field.data in _allowed(field):
        return int(field.data)
    field.errors = [message]
    field.data = ""
    return None


def _period(form: ResultsFilterForm) -> tuple[date, date]:
    """(first day, last day) in the city's calendar: the last twelve months by default."""
    today = clock.now().astimezone(_zone()).date()
    last = form.end.data if form.end.data and not form.end.errors else today
    first = form.start.data if form.start.data and not form.start.errors else _months_back(last, 11)
    if first > last:
        form.end.errors = [*form.end.errors, _("The end date must be on or after the start date.")]
        first, last = _months_back(today, 11), today
    elif (last - first).days >= MAX_PERIOD_DAYS:
        form.start.errors = [*form.start.errors, _("Choose a period of at most ten years.")]
        first = _months_back(last, 11)
    form.start.data, form.end.data = first, last  # the form shows the period used
    return first, last


def _months_back(day: date, months: int) -> date:
    """The first day of the month ``months`` before ``day``'s."""
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def _zone() -> ZoneInfo:
    return ZoneInfo(settings().timezone)


def _categories() -> list[tuple[int, str]]:
    locale = current_locale()
    query = select(ServiceCategory).order_by(ServiceCategory.name).limit(MAX_CHOICES)
    return [(c.id, c.t("name", locale)) for c in db_session().scalars(query)]


def _form(
    surveys: Mapping[str, SurveyInfo],
) -> tuple[ResultsFilterForm, dict[int, str], dict[int, str]]:
    form = ResultsFilterForm(formdata=request.args)
    departments = department_choices()
    categories = _categories()
    form.survey.choices = choices((s.key, s.title) for s in surveys.values())
    everywhere = _("All departments") if current_staff().is_admin else _("All my departments")
    form.department.choices = choices([("", everywhere), *departments])
    form.category.choices = choices([("", _("All categories")), *categories])
    return form, dict(departments), dict(categories)


def _identify(survey: SurveyInfo) -> Any:
    """Whether the viewer may see the case of a response of a department: always, unless the
    survey is anonymous to staff and the viewer is an agent there (not a supervisor)."""
    access = current_staff()
    if not survey.anonymous_to_staff:
        return lambda department_id: True
    return access.supervises
