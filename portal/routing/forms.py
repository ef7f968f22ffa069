"""Forms of the routing rules pages. Choices are filled in by the view from the database."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from portal.form_fields import KnownChoice, optional_int, optional_str
from portal.requests.labels import CHANNEL_NAMES
from portal.requests.service import DESCRIPTION_MAX
from portal.routing.service import KEYWORDS_MAX, NAME_MAX

CHANNEL_LABELS = {code: _l(name) for code, name in CHANNEL_NAMES.items()}


def _choice_field(
    label: Any, message: Any, *, coerce: Any = optional_int, required_message: Any = None
) -> SelectField:
    return SelectField(
        label,
        choices=[],
        coerce=coerce,
        validate_choice=False,
        validators=[KnownChoice(message, required_message=required_message)],
    )


class ConditionsMixin:
    category = _choice_field(_l("Category"), _l("Choose a category from the list"))
    area = _choice_field(_l("Area"), _l("Choose an area from the list"))
    channel = _choice_field(
        _l("Channel"), _l("Choose a channel from the list"), coerce=optional_str
    )


class RuleForm(ConditionsMixin, FlaskForm):
    name = StringField(
        _l("Rule name"),
        validators=[
            DataRequired(_l("Enter a name for the rule")),
            Length(
                max=NAME_MAX,
                message=_l("Keep the name to %(max)d characters or fewer.", max=NAME_MAX),
            ),
        ],
    )
    keywords = StringField(
        _l("Words in the description"),
        validators=[
            Length(
                max=KEYWORDS_MAX,
                message=_l("Keep the words to %(max)d characters or fewer.", max=KEYWORDS_MAX),
            ),
        ],
    )
    department = _choice_field(
        _l("Send to department"),
        _l("Choose a department from the list"),
        required_message=_l("Choose the department to send to"),
    )
    active = BooleanField(_l("Active"), default=True)
    version = HiddenField()


class PreviewForm(ConditionsMixin, FlaskForm):
    """Read-only (GET): no CSRF token needed."""

    class Meta:
        csrf = False

    category = _choice_field(
        _l("Category"),
        _l("Choose a category from the list"),
        required_message=_l("Choose a category"),
    )
    description = TextAreaField(
        _l("Description"),
        validators=[
            Length(
                max=DESCRIPTION_MAX,
                message=_l(
                    "Keep the description to %(max)d characters or fewer.", max=DESCRIPTION_MAX
                ),
            ),
        ],
    )


class MoveForm(FlaskForm):
    direction = HiddenField(validators=[DataRequired()])
