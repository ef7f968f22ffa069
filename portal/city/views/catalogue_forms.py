"""Forms of the catalogue pages. Texts come in English and in Spanish (shown when the city uses
Spanish); choices from the database are filled in by the views. The rules a resident-facing
question must follow are checked here with messages in the admin's language, and again by the
configuration checker (``portal.city.catalogue_admin``) so nothing the folder format refuses is
stored."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    AnyOf,
    DataRequired,
    Email,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from portal.catalogue.loader import CODE_RE, NOTICE_LEVELS
from portal.catalogue.models import QUESTION_KINDS
from portal.form_fields import KnownChoice, optional_int

CODE_MESSAGE = _l("Use 1-40 lowercase letters, digits, “-” or “_”, like “street-light”.")
KIND_NAMES = {
    "text": _l("Short text"),
    "number": _l("Number"),
    "yesno": _l("Yes or no"),
    "single": _l("One choice from a list"),
    "multi": _l("Several choices from a list"),
    "date": _l("Date"),
}
NOTICE_LEVEL_NAMES = {
    "info": _l("Information"),
    "warning": _l("Warning"),
    "emergency": _l("Emergency"),
}


def _code() -> StringField:
    return StringField(
        _l("Code"),
        validators=[
            DataRequired(_l("Enter a code")),
            Length(max=40, message=CODE_MESSAGE),
            Regexp(CODE_RE, message=CODE_MESSAGE),
        ],
    )


def _text(
    label: Any, *, required: Any = None, max_len: int = 120, area: bool = False
) -> StringField | TextAreaField:
    checks: list[Any] = [
        Length(max=max_len, message=_l("Keep this to %(max)d characters or fewer.", max=max_len))
    ]
    if required is not None:
        checks.insert(0, DataRequired(required))
    else:
        checks.insert(0, Optional())
    return (TextAreaField if area else StringField)(label, validators=checks)


class _Versioned(FlaskForm):
    #: The fingerprint of what the form was drawn from (a change meanwhile is a conflict).
    state = HiddenField()


class DepartmentForm(_Versioned):
    code = _code()
    name = _text(_l("Name"), required=_l("Enter the department's name"))
    name_es = _text(_l("Name in Spanish"))
    email = StringField(
        _l("Email address"),
        validators=[
            Optional(),
            Email(_l("Enter an email address like roads@city.gov")),
            Length(max=254),
        ],
    )
    active = BooleanField(_l("Active (new requests can go to it)"), default=True)


class GroupForm(_Versioned):
    code = _code()
    name = _text(_l("Name"), required=_l("Enter the group's name"))
    name_es = _text(_l("Name in Spanish"))


class CategoryForm(_Versioned):
    code = _code()
    group = SelectField(
        _l("Group"),
        coerce=optional_int,
        validate_choice=False,
        validators=[KnownChoice(_l("Choose from the list"), required_message=_l("Choose a group"))],
    )
    department = SelectField(
        _l("Department"),
        coerce=optional_int,
        validate_choice=False,
        validators=[
            KnownChoice(_l("Choose from the list"), required_message=_l("Choose a department"))
        ],
    )
    name = _text(_l("Name"), required=_l("Enter the category's name"))
    name_es = _text(_l("Name in Spanish"))
    description = _text(
        _l("Description"),
        required=_l("Describe what residents report here"),
        max_len=2000,
        area=True,
    )
    description_es = _text(_l("Description in Spanish"), max_len=2000, area=True)
    keywords = _text(_l("Keywords"), max_len=400)
    notice = _text(_l("Notice at the top of the form"), max_len=2000, area=True)
    notice_es = _text(_l("Notice in Spanish"), max_len=2000, area=True)
    notice_level = SelectField(
        _l("Kind of notice"),
        default="info",
        choices=[SelectChoice(k, NOTICE_LEVEL_NAMES[k]) for k in NOTICE_LEVELS],
    )
    private = BooleanField(_l("Private: requests are never shown to the public"))
    active = BooleanField(_l("Active (residents can choose it)"), default=True)


class QuestionForm(_Versioned):
    code = _code()
    kind = SelectField(
        _l("Kind of answer"),
        default="text",
        choices=[SelectChoice(k, KIND_NAMES[k]) for k in QUESTION_KINDS],
    )
    prompt = _text(_l("Question"), required=_l("Enter the question"), max_len=300)
    prompt_es = _text(_l("Question in Spanish"), max_len=300)
    help = _text(_l("Help text"), max_len=1000)
    help_es = _text(_l("Help text in Spanish"), max_len=1000)
    required = BooleanField(_l("Residents must answer it"))
    options = TextAreaField(_l("Choices"), validators=[Length(max=8000)])
    stop_values = StringField(_l("Answers that stop the form"), validators=[Length(max=400)])
    stop_message = _text(
        _l("What to tell a resident who gives one of them"), max_len=2000, area=True
    )
    stop_message_es = _text(_l("The same in Spanish"), max_len=2000, area=True)
    max_length = IntegerField(
        _l("Longest answer (characters)"),
        validators=[
            Optional(),
            NumberRange(min=1, max=10_000, message=_l("Enter a number from 1 to 10,000")),
        ],
    )
    active = BooleanField(_l("Active (residents are asked it)"), default=True)

    #: Set by the view: the options as parsed, and the first line that could not be.
    parsed_options: list[dict[str, Any]]
    options_problem: tuple[int, str] | None = None

    def stops(self) -> list[str]:
        return [v.strip() for v in (self.stop_values.data or "").split(",") if v.strip()]

    def validate_options(self, field: Any) -> None:
        if self.options_problem is not None:
            line, code = self.options_problem
            if code == "too_many":
                raise ValidationError(
                    _l("Line %(line)d has more labels than the city has languages", line=line)
                )
            raise ValidationError(_l("Line %(line)d: write a choice as “key | label”", line=line))
        kind = self.kind.data
        count = len(self.parsed_options)
        if kind in ("single", "multi") and count < 2:
            raise ValidationError(_l("List at least two choices, one per line"))
        if kind not in ("single", "multi") and count:
            raise ValidationError(_l("Only questions with a list of choices have choices"))
        keys = [o["key"] for o in self.parsed_options]
        if any(not CODE_RE.match(key) or len(key) > 40 for key in keys):
            raise ValidationError(
                _l(
                    "Each choice starts with a key: lowercase letters, digits, "
                    "“-” or “_”, then “|” and its label"
                )
            )
        if len(set(keys)) != len(keys):
            raise ValidationError(_l("Two choices have the same key"))

    def validate_stop_values(self, field: Any) -> None:
        stops = self.stops()
        if not stops:
            if (self.stop_message.data or "").strip():
                raise ValidationError(_l("Say which answers stop the form, or clear the message"))
            return
        kind = self.kind.data
        allowed = (
            ["yes", "no"]
            if kind == "yesno"
            else [o["key"] for o in self.parsed_options]
            if kind in ("single", "multi")
            else []
        )
        if not allowed:
            raise ValidationError(
                _l("Only yes-or-no questions and questions with choices can stop the form")
            )
        if any(stop not in allowed for stop in stops):
            raise ValidationError(
                _l("Use answers of this question: %(answers)s", answers=", ".join(allowed))
            )
        if set(allowed) <= set(stops):
            raise ValidationError(_l("Every answer would stop the form, so nobody could file"))
        if not (self.stop_message.data or "").strip():
            raise ValidationError(_l("Also write what to tell the resident"))

    def validate_max_length(self, field: Any) -> None:
        if field.data is not None and self.kind.data != "text":
            raise ValidationError(_l("Only short-text answers have a longest length"))


class MoveForm(FlaskForm):
    direction = HiddenField(validators=[AnyOf(("up", "down"))])
