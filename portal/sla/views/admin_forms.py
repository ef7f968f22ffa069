"""Forms of the service-level pages (calendars, closures, policies, department settings).
Choices from the database are filled in by the views."""

from __future__ import annotations

from functools import partial
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    Field,
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, StopValidation, ValidationError

from portal.casework.models import ASSIGNMENT_MODES
from portal.form_fields import ClearDateField, KnownChoice, optional_int, optional_str
from portal.requests.models import OPEN_STATUSES
from portal.sla.admin.calendars import CODE_MAX, SUBDIVISION_MAX, TIMEZONE_MAX
from portal.sla.admin.common import NAME_MAX
from portal.sla.admin.policies import AMOUNT_MAX, POSITION_MAX, TARGETS
from portal.sla.models import BREACH_ACTIONS, UNITS, WEEKDAYS

DAY_NAMES = {
    "mon": _l("Monday"),
    "tue": _l("Tuesday"),
    "wed": _l("Wednesday"),
    "thu": _l("Thursday"),
    "fri": _l("Friday"),
    "sat": _l("Saturday"),
    "sun": _l("Sunday"),
}
UNIT_NAMES = {"working_hours": _l("working hours"), "calendar_days": _l("calendar days")}
TARGET_NAMES = {
    "first_response": _l("First response"),
    "resolution": _l("Resolution"),
    "update": _l("Update every"),
}
BREACH_ACTION_NAMES = {
    "escalation_queue": _l("Move breached tasks to the department's escalation queue"),
    "raise_priority": _l("Raise the case's priority one step"),
}
#: How a department's new tasks reach an agent (``portal.casework.assignment``): the short
#: name (the departments list) and what it does (the form).
ASSIGNMENT_MODE_NAMES = {
    "queue": _l("Left in the queue"),
    "round_robin": _l("Round robin"),
    "least_loaded": _l("Least loaded"),
}
ASSIGNMENT_MODE_HINTS = {
    "queue": _l("New tasks wait unassigned in the department's queue until someone takes them."),
    "round_robin": _l("Each new task goes to the department's next active agent in turn."),
    "least_loaded": _l(
        "Each new task goes to the department's active agent with the fewest open tasks."
    ),
}
#: Case statuses as staff say them, for the pause checkboxes.
PAUSE_STATUS_NAMES = {
    "new": _l("New"),
    "acknowledged": _l("Acknowledged"),
    "in_progress": _l("In progress"),
    "waiting_on_resident": _l("Waiting on the resident"),
    "waiting_on_third_party": _l("Waiting on a third party"),
    "scheduled": _l("Scheduled"),
}
HOURS_MAX = 200


def _length(max_: int, message: Any) -> Length:
    return Length(max=max_, message=message)


def _name_field(label: Any, required: Any) -> StringField:
    return StringField(
        label,
        validators=[
            DataRequired(required),
            _length(NAME_MAX, _l("Keep the name to %(max)d characters or fewer.", max=NAME_MAX)),
        ],
    )


class CheckboxesField(SelectMultipleField):
    """Checkboxes; a value not among the choices is a form error, never a crash."""

    def pre_validate(self, form: Any) -> None:
        allowed = {choice.value for choice in self.iter_choices()}
        if any(value not in allowed for value in self.data or []):
            raise StopValidation(_l("Choose from the list"))


def _hours(day: str) -> StringField:
    return StringField(
        DAY_NAMES[day],
        validators=[
            _length(HOURS_MAX, _l("Keep the hours to %(max)d characters or fewer.", max=HOURS_MAX))
        ],
    )


class CalendarForm(FlaskForm):
    code = StringField(
        _l("Code"),
        validators=[
            DataRequired(_l("Enter a code for the calendar")),
            _length(CODE_MAX, _l("Keep the code to %(max)d characters or fewer.", max=CODE_MAX)),
        ],
    )
    name = _name_field(_l("Name"), _l("Enter a name for the calendar"))
    timezone = StringField(
        _l("Time zone"),
        default="America/Chicago",
        validators=[
            DataRequired(_l("Enter the time zone, like America/Chicago")),
            _length(TIMEZONE_MAX, _l("Enter a time zone like America/Chicago")),
        ],
    )
    always_open = BooleanField(_l("Open 24 hours a day, 7 days a week"))
    hours_mon = _hours("mon")
    hours_tue = _hours("tue")
    hours_wed = _hours("wed")
    hours_thu = _hours("thu")
    hours_fri = _hours("fri")
    hours_sat = _hours("sat")
    hours_sun = _hours("sun")
    holiday_country = StringField(
        _l("Public holidays of country"),
        validators=[_length(2, _l("Enter the two-letter country code, like US"))],
    )
    holiday_subdivision = StringField(
        _l("State or region"),
        validators=[_length(SUBDIVISION_MAX, _l("Enter the state or region code, like IL"))],
    )
    state = HiddenField()

    def day_fields(self) -> list[Field]:
        return [getattr(self, f"hours_{day}") for day in WEEKDAYS]

    def hours(self) -> dict[str, str]:
        return {day: getattr(self, f"hours_{day}").data or "" for day in WEEKDAYS}


#: A ``YYYY-MM-DD`` date with one clear message when it is not one.
DayField = partial(
    ClearDateField, message=_l("Enter a real date as year-month-day, like 2026-12-24")
)


class ClosureForm(FlaskForm):
    """Named apart from the calendar form's fields: both are on the calendar page."""

    closure_day = DayField(
        _l("Date"),
        format="%Y-%m-%d",
        validators=[InputRequired(_l("Enter the date as year-month-day, like 2026-12-24"))],
    )
    closure_name = _name_field(_l("Reason"), _l("Say why the city is closed, like Snow day"))


class Amount:
    """An optional whole number of hours or days, more than zero."""

    field_flags: dict[str, Any] = {}

    def __call__(self, _form: FlaskForm, field: Field) -> None:
        text = (field.data or "").strip()
        if not text:
            return
        if text.startswith("-") and text[1:].strip().isdigit():
            raise StopValidation(_l("Enter a number greater than zero, or leave it empty"))
        if not text.isdigit() or len(text) > 9:
            raise StopValidation(_l("Enter a whole number, like 8"))
        if int(text) <= 0:
            raise StopValidation(_l("Enter a number greater than zero, or leave it empty"))
        if int(text) > AMOUNT_MAX:
            raise StopValidation(_l("Enter %(max)d or less", max=AMOUNT_MAX))


def amount_value(field: Field) -> int | None:
    text = (field.data or "").strip()
    return int(text) if text.isdigit() else None


def _amount(label: Any) -> StringField:
    return StringField(label, validators=[Amount()])


class Unit:
    """One of ``UNITS`` (a forged value is a form error)."""

    field_flags = {"required": True}

    def __call__(self, _form: FlaskForm, field: Field) -> None:
        if field.data not in UNITS:
            raise StopValidation(_l("Choose working hours or calendar days"))


def _unit(label: Any) -> SelectField:
    return SelectField(
        label,
        choices=[SelectChoice(u, UNIT_NAMES[u]) for u in UNITS],
        default="working_hours",
        validate_choice=False,
        validators=[Unit()],
    )


def _choice(label: Any, message: Any, *, coerce: Any = optional_int) -> SelectField:
    return SelectField(
        label, choices=[], coerce=coerce, validate_choice=False, validators=[KnownChoice(message)]
    )


class PolicyForm(FlaskForm):
    name = _name_field(_l("Policy name"), _l("Enter a name for the policy"))
    category = _choice(_l("Category"), _l("Choose a category from the list"))
    priority = _choice(_l("Priority"), _l("Choose a priority from the list"), coerce=optional_str)
    department = _choice(_l("Department"), _l("Choose a department from the list"))
    area = _choice(_l("Area"), _l("Choose an area from the list"))
    first_response_amount = _amount(_l("First response within"))
    first_response_unit = _unit(_l("Unit of the first response target"))
    resolution_amount = _amount(_l("Resolution within"))
    resolution_unit = _unit(_l("Unit of the resolution target"))
    update_amount = _amount(_l("Update the resident every"))
    update_unit = _unit(_l("Unit of the update target"))
    pause_statuses = CheckboxesField(
        _l("Clocks pause while the case is"),
        choices=[SelectChoice(s, PAUSE_STATUS_NAMES[s]) for s in OPEN_STATUSES],
    )
    active = BooleanField(_l("Active"), default=True)
    position = StringField(_l("Order"))
    state = HiddenField()

    def validate_position(self, field: Field) -> None:
        text = (field.data or "").strip()
        if text and (not text.isdigit() or len(text) > 9 or int(text) > POSITION_MAX):
            raise ValidationError(
                _l(
                    "Enter a whole number from 0 to %(max)d, or leave it "
                    "empty to add the policy at the end",
                    max=POSITION_MAX,
                )
            )

    def targets(self) -> dict[str, tuple[int | None, str]]:
        return {
            t: (amount_value(getattr(self, f"{t}_amount")), getattr(self, f"{t}_unit").data or "")
            for t in TARGETS
        }

    def position_value(self) -> int | None:
        text = (self.position.data or "").strip()
        return int(text) if text.isdigit() else None


class AssignmentMode:
    """One of ``ASSIGNMENT_MODES`` (a forged or missing value is a form error)."""

    field_flags = {"required": True}

    def __call__(self, _form: FlaskForm, field: Field) -> None:
        if field.data not in ASSIGNMENT_MODES:
            raise StopValidation(_l("Choose how new tasks reach the department's staff"))


class DepartmentSlaForm(FlaskForm):
    calendar = _choice(_l("Business calendar"), _l("Choose a calendar from the list"))
    breach_actions = CheckboxesField(
        _l("When one of its tasks breaches"),
        choices=[SelectChoice(a, BREACH_ACTION_NAMES[a]) for a in BREACH_ACTIONS],
    )
    assignment_mode = RadioField(
        _l("New tasks"),
        choices=[SelectChoice(m, ASSIGNMENT_MODE_NAMES[m]) for m in ASSIGNMENT_MODES],
        validate_choice=False,
        validators=[AssignmentMode()],
    )
    state = HiddenField()
