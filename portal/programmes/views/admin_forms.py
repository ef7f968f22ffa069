"""Forms of the programmes back office. Dates and times are the city's local ones; the view
turns them into UTC with ``portal.programmes.admin.common.to_utc``. Checks that need the
database or the programme (closes after opens, the completion minimum...) are in the domain
modules of ``portal.programmes.admin``; these forms only parse what was typed, with a clear
message next to the field."""

from __future__ import annotations

import math
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
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, StopValidation

from portal.form_fields import ClearDateField, KnownChoice, optional_int
from portal.programmes.admin import common
from portal.programmes.models import ADMISSIONS, KINDS, TOPICS
from portal.programmes.views.labels import KIND_NAMES, TOPIC_NAMES

ADMISSION_NAMES = {
    "first_come": _l("First come, first served"),
    "application": _l("By application (you approve each person)"),
}
#: The buttons that move a programme from one status to another.
STATUS_ACTIONS = {
    "open": _l("Open enrolment"),
    "closed": _l("Close enrolment"),
    "completed": _l("Mark as completed"),
    "cancelled": _l("Cancel the programme"),
}
STATE_NAMES = {
    "applied": _l("Applied"),
    "enrolled": _l("Enrolled"),
    "waitlisted": _l("Waitlisted"),
    "offered": _l("Offered a place"),
    "cancelled": _l("Cancelled"),
    "rejected": _l("Rejected"),
}
QUESTION_KIND_NAMES = {
    "text": _l("Text"),
    "number": _l("Number"),
    "yesno": _l("Yes or no"),
    "single": _l("One choice from a list"),
    "multi": _l("Several choices from a list"),
    "date": _l("Date"),
}


def _limit(max_: int) -> Length:
    return Length(max=max_, message=_l("Keep this to %(max)d characters or fewer.", max=max_))


def _choices(names: dict[str, Any], keys: tuple[str, ...]) -> list[SelectChoice]:
    return [SelectChoice(key, names[key]) for key in keys]


class OneOf:
    """The value must be one of the field's choices (a forged value is a form error)."""

    field_flags = {"required": True}

    def __init__(self, message: Any) -> None:
        self.message = message

    def __call__(self, _form: FlaskForm, field: Field) -> None:
        if field.data not in {choice.value for choice in field.iter_choices()}:
            raise StopValidation(self.message)


class WholeNumber:
    """An optional whole number from ``low`` to ``high``."""

    field_flags: dict[str, Any] = {}

    def __init__(self, low: int, high: int, message: Any) -> None:
        self.low, self.high, self.message = low, high, message

    def __call__(self, _form: FlaskForm, field: Field) -> None:
        text = (field.data or "").strip()
        if not text:
            return
        if not text.isdigit() or len(text) > 9 or not self.low <= int(text) <= self.high:
            raise StopValidation(self.message)


def whole(field: Field) -> int | None:
    text = (field.data or "").strip()
    return int(text) if text.isdigit() and len(text) <= 9 else None


class Decimal:
    """An optional number (like 18 or 2.5)."""

    field_flags: dict[str, Any] = {}

    def __call__(self, _form: FlaskForm, field: Field) -> None:
        if decimal(field) is None and (field.data or "").strip():
            raise StopValidation(_l("Enter a number, like 18 or 2.5, or leave it empty"))


def decimal(field: Field) -> float | None:
    text = (field.data or "").strip().replace(",", "")
    if not text or len(text) > 20:
        return None
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


#: A date picked in the browser (``YYYY-MM-DD``) with one clear message.
Day = partial(ClearDateField, message=_l("Enter a real date, like 2026-09-14"))


class Clock(TimeField):
    """A time of day (``HH:MM``, 24-hour) with one clear message."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError as error:
            raise ValueError(_l("Enter a time like 18:30")) from error


class ProgrammeForm(FlaskForm):
    title = StringField(
        _l("Title (English)"),
        validators=[DataRequired(_l("Enter the programme's title")), _limit(common.TITLE_MAX)],
    )
    title_es = StringField(_l("Title (Spanish)"), validators=[_limit(common.TITLE_MAX)])
    summary = StringField(_l("Summary (English)"), validators=[_limit(common.SUMMARY_MAX)])
    summary_es = StringField(_l("Summary (Spanish)"), validators=[_limit(common.SUMMARY_MAX)])
    description = TextAreaField(
        _l("Description (English)"), validators=[_limit(common.DESCRIPTION_MAX)]
    )
    description_es = TextAreaField(
        _l("Description (Spanish)"), validators=[_limit(common.DESCRIPTION_MAX)]
    )
    kind = SelectField(
        _l("Kind of programme"),
        choices=_choices(KIND_NAMES, KINDS),
        default="course",
        validate_choice=False,
        validators=[OneOf(_l("Choose a kind from the list"))],
    )
    topic = SelectField(
        _l("Topic"),
        choices=_choices(TOPIC_NAMES, TOPICS),
        default="civic",
        validate_choice=False,
        validators=[OneOf(_l("Choose a topic from the list"))],
    )
    area = SelectField(
        _l("Neighbourhood"),
        choices=[],
        coerce=optional_int,
        validate_choice=False,
        validators=[KnownChoice(_l("Choose a neighbourhood from the list"))],
    )
    admission = RadioField(
        _l("Admission"),
        choices=_choices(ADMISSION_NAMES, ADMISSIONS),
        default="first_come",
        validate_choice=False,
        validators=[OneOf(_l("Choose how people get a place"))],
    )
    opens_day = Day(_l("Enrolment opens on"), validators=[Optional()])
    opens_time = Clock(_l("at (time)"), validators=[Optional()])
    closes_day = Day(_l("Enrolment closes on"), validators=[Optional()])
    closes_time = Clock(_l("at (time)"), validators=[Optional()])
    completion_min_sessions = StringField(
        _l("Sessions to attend to complete"),
        validators=[
            WholeNumber(
                1,
                common.SESSIONS_MAX,
                _l("Enter a whole number of sessions, like 6, or leave it empty for all sessions"),
            )
        ],
    )
    offer_hours = StringField(
        _l("Hours to accept an offered place"),
        validators=[
            WholeNumber(
                1,
                common.OFFER_HOURS_MAX,
                _l(
                    "Enter a whole number of hours from 1 to %(max)d, or leave it empty",
                    max=common.OFFER_HOURS_MAX,
                ),
            )
        ],
    )
    contact_email = StringField(_l("Contact email"), validators=[_limit(common.EMAIL_MAX)])

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        for day, at in ((self.opens_day, self.opens_time), (self.closes_day, self.closes_time)):
            if day.errors or at.errors:
                continue
            if day.data and not at.data:
                at.errors = [*at.errors, _l("Enter the time as well, like 09:00")]
                ok = False
            elif at.data and not day.data:
                day.errors = [*day.errors, _l("Enter the date as well")]
                ok = False
        return ok


class NewProgrammeForm(ProgrammeForm):
    capacity = StringField(
        _l("Places"),
        validators=[
            InputRequired(_l("Enter how many people can take part")),
            WholeNumber(
                1,
                common.CAPACITY_MAX,
                _l("Enter a whole number from 1 to %(max)d", max=common.CAPACITY_MAX),
            ),
        ],
    )


class SessionForm(FlaskForm):
    title = StringField(_l("Session title (English)"), validators=[_limit(common.TITLE_MAX)])
    title_es = StringField(_l("Session title (Spanish)"), validators=[_limit(common.TITLE_MAX)])
    day = Day(_l("Date"), validators=[InputRequired(_l("Enter the date of the session"))])
    start = Clock(_l("Starts at"), validators=[InputRequired(_l("Enter the start time"))])
    end = Clock(_l("Ends at"), validators=[InputRequired(_l("Enter the end time"))])
    place = StringField(_l("Place"), validators=[_limit(common.PLACE_MAX)])
    online_url = StringField(_l("Online link"), validators=[_limit(common.URL_MAX)])
    mandatory = BooleanField(_l("Mandatory: participants must attend it to complete"))


class QuestionForm(FlaskForm):
    prompt = StringField(
        _l("Question (English)"),
        validators=[DataRequired(_l("Enter the question")), _limit(common.PROMPT_MAX)],
    )
    prompt_es = StringField(_l("Question (Spanish)"), validators=[_limit(common.PROMPT_MAX)])
    help = TextAreaField(_l("Hint (English)"), validators=[_limit(common.HELP_MAX)])
    help_es = TextAreaField(_l("Hint (Spanish)"), validators=[_limit(common.HELP_MAX)])
    kind = SelectField(
        _l("Kind of answer"),
        choices=[SelectChoice(k, v) for k, v in QUESTION_KIND_NAMES.items()],
        default="yesno",
        validate_choice=False,
        validators=[OneOf(_l("Choose a kind of answer from the list"))],
    )
    required = BooleanField(_l("An answer is required"), default=True)
    options = TextAreaField(_l("Choices"), validators=[_limit(10_000)])
    eligible_values = StringField(_l("Answers that qualify"), validators=[_limit(2_000)])
    min_value = StringField(_l("Lowest number that qualifies"), validators=[Decimal()])
    max_value = StringField(_l("Highest number that qualifies"), validators=[Decimal()])
    max_length = StringField(
        _l("Longest answer (characters)"),
        validators=[
            WholeNumber(1, 500, _l("Enter a whole number from 1 to 500, or leave it empty"))
        ],
    )
    ineligible_message = TextAreaField(
        _l("Message to people who do not qualify (English)"), validators=[_limit(common.HELP_MAX)]
    )
    ineligible_message_es = TextAreaField(
        _l("Message to people who do not qualify (Spanish)"), validators=[_limit(common.HELP_MAX)]
    )

    def eligible(self) -> list[str]:
        text = (self.eligible_values.data or "").replace("\n", ",")
        return [part.strip() for part in text.split(",") if part.strip()]


class CapacityForm(FlaskForm):
    capacity = StringField(
        _l("Places"),
        validators=[
            InputRequired(_l("Enter how many people can take part")),
            WholeNumber(
                1,
                common.CAPACITY_MAX,
                _l("Enter a whole number from 1 to %(max)d", max=common.CAPACITY_MAX),
            ),
        ],
    )


class StatusForm(FlaskForm):
    status = HiddenField(validators=[InputRequired()])


class ActionForm(FlaskForm):
    """Only the CSRF token (approve, reject, cancel, delete)."""


class CheckInForm(FlaskForm):
    code = StringField(
        _l("Check-in code"),
        validators=[DataRequired(_l("Enter the participant's check-in code")), _limit(20)],
    )


class MarkForm(FlaskForm):
    enrolment = HiddenField(validators=[InputRequired()])
    present = HiddenField(validators=[InputRequired()])


class MessageForm(FlaskForm):
    subject = StringField(
        _l("Subject"), validators=[DataRequired(_l("Enter a subject")), _limit(150)]
    )
    body = TextAreaField(
        _l("Message"), validators=[DataRequired(_l("Write the message")), _limit(5_000)]
    )


class CopyCohortForm(FlaskForm):
    """Run the next cohort: the new first session's date and the title (kept by default)."""

    starts_on = Day(
        _l("First session on"),
        validators=[InputRequired(_l("Enter the date of the new cohort's first session"))],
    )
    title = StringField(
        _l("Title (English)"),
        validators=[DataRequired(_l("Enter the programme's title")), _limit(common.TITLE_MAX)],
    )
    title_es = StringField(_l("Title (Spanish)"), validators=[_limit(common.TITLE_MAX)])
