"""The survey results filter: which survey, departments, category and period, and how to
break the results down."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import ValidationError

from portal.form_fields import ClearDateField

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
