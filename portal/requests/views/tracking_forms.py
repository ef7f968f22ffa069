"""Forms for tracking, following, talking to staff and area alerts.

Field names differ between the forms on the request page so each input has a unique id.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import EmailField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, InputRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from portal.requests.updates import MAX_MESSAGE


class FindForm(FlaskForm):
    """Look a request up by reference (a GET form: nothing changes, no CSRF)."""

    class Meta:
        csrf = False

    reference = StringField(
        _l("Request reference"),
        validators=[
            InputRequired(_l("Enter the reference of your request, like SR-2026-000123.")),
            Length(max=40, message=_l("A reference is shorter than that, like SR-2026-000123.")),
        ],
    )


class ReplyForm(FlaskForm):
    message = TextAreaField(
        _l("Your message"),
        validators=[
            DataRequired(_l("Enter your message.")),
            Length(max=MAX_MESSAGE, message=_l("Keep your message to 2000 characters or fewer.")),
        ],
    )


class ReopenForm(FlaskForm):
    reason = TextAreaField(
        _l("What is still wrong?"),
        validators=[
            DataRequired(_l("Tell us what is still wrong, so staff know what to look at.")),
            Length(max=MAX_MESSAGE, message=_l("Keep your message to 2000 characters or fewer.")),
        ],
    )


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class FollowForm(FlaskForm):
    follow_email = EmailField(
        _l("Email address"),
        filters=[_strip],
        validators=[
            DataRequired(_l("Enter your email address.")),
            Length(max=254, message=_l("Enter an email address of 254 characters or fewer.")),
            Email(
                message=_l("Enter an email address in the right format, like name@example.com."),
                check_deliverability=False,
            ),
        ],
    )


class ActionForm(FlaskForm):
    """A button with nothing but the CSRF token (support, unfollow, unsubscribe, remove)."""


class PhotoForm(FlaskForm):
    photos = MultipleFileField(_l("Photos"))


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class AreaAlertForm(FlaskForm):
    """Choices are filled by the view; the service checks the area and categories exist."""

    area = SelectField(_l("Area"), coerce=int, validate_choice=False)
    categories = MultiCheckboxField(
        _l("Only these kinds of problem"), coerce=int, validate_choice=False
    )
