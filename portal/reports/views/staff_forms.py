"""The period switch of the report pages (a GET form): week, month or quarter, and any day in
it. A value that is not understood gets a message next to its field, and the page falls back
to the current period: never a 500."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice

from portal.form_fields import ClearDateField
from portal.reports.periods import EARLIEST, KINDS, Period, parse_period

KIND_NAMES = {"week": _l("Week"), "month": _l("Month"), "quarter": _l("Quarter")}
DRILL_NAMES = {"category": _l("Category"), "area": _l("Area"), "agent": _l("Agent")}
_DATE = _l("Enter a real date, like 2026-03-31.")


class PeriodForm(FlaskForm):
    """Which period a report shows."""

    class Meta:
        csrf = False  # a GET switch changes nothing

    period = SelectField(
        _l("Period"),
        default="month",
        validate_choice=False,
        choices=[SelectChoice(k, KIND_NAMES[k]) for k in KINDS],
    )
    start = ClearDateField(_l("Any day in the period"), name="start", message=_DATE)


def chosen_period(form: PeriodForm, today: date) -> Period:
    """The period the form asks for, or the current one with a message on the field that was
    not understood (a kind not in the list, a date that does not exist, before 2000, or in a
    period after today's)."""
    form.validate()
    kind = form.period.data
    if kind not in KINDS:
        form.period.errors = [_l("Choose a week, a month or a quarter.")]
        kind = form.period.data = "month"
    day = form.start.data if not form.start.errors else None
    if day is not None and day < EARLIEST:
        form.start.errors = [_l("Choose a day in 2000 or later.")]
        day = None
    elif day is not None and Period.containing(kind, day).start > today:
        form.start.errors = [_l("Choose a day that is not in the future.")]
        day = None
    try:
        period = parse_period(kind, day.isoformat() if day else None, today)
    except ValueError:  # already caught above; the current period as a last resort
        period = Period.containing(kind, today)
    form.start.data = period.start  # the form shows the period used
    return period
