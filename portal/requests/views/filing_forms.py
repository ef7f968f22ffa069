"""Forms of the filing steps. Question fields are drawn from the category, not declared here."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from portal.requests.service import ADDRESS_MAX, DESCRIPTION_MAX, NAME_MAX


class CategoryForm(FlaskForm):
    category = HiddenField()  # the radios are drawn by the template, grouped


class DetailsForm(FlaskForm):
    description = TextAreaField(
        _l("Describe the problem"),
        validators=[
            DataRequired(_l("Describe the problem so the crew knows what to look for.")),
            Length(
                max=DESCRIPTION_MAX,
                message=_l(
                    "Keep the description to %(max)d characters or fewer.", max=DESCRIPTION_MAX
                ),
            ),
        ],
    )


class LocationForm(FlaskForm):
    address = StringField(
        _l("Street address or nearest intersection"),
        validators=[
            Length(
                max=ADDRESS_MAX,
                message=_l("Keep the address to %(max)d characters or fewer.", max=ADDRESS_MAX),
            )
        ],
    )
    area = SelectField(_l("Neighbourhood"), validators=[Optional()], choices=[])
    lat = StringField(_l("Latitude"), validators=[Length(max=32)])
    lon = StringField(_l("Longitude"), validators=[Length(max=32)])
    #: The address point of the suggestion chosen as the resident typed (JavaScript).
    point = StringField(validators=[Length(max=20)])
    #: Without JavaScript: which of the matches the resident chose ("none": send the text).
    choice = StringField(validators=[Length(max=8)])
    #: The asset tapped on the map (its id in the city's data), when the category asks for one.
    asset = StringField(validators=[Length(max=64)])


class AssetForm(FlaskForm):
    """Which of the city's assets near the place (the category's asset layer) it is."""

    #: The asset's id from the list, or "none" (none of these / I don't know).
    asset = StringField(validators=[Length(max=64)])
    #: Or the number written on it, typed.
    number = StringField(
        _l("Or type its number"),
        validators=[Length(max=64, message=_l("Keep the number to 64 characters or fewer."))],
    )


class ContactForm(FlaskForm):
    name = StringField(
        _l("Your name"),
        validators=[
            Length(
                max=NAME_MAX,
                message=_l("Keep your name to %(max)d characters or fewer.", max=NAME_MAX),
            )
        ],
    )
    email = StringField(_l("Email address"), validators=[Length(max=254)])
    phone = StringField(_l("Phone number"), validators=[Length(max=40)])
    private = BooleanField(_l("Keep my request private"))


class ConfirmForm(FlaskForm):
    """Only the CSRF token: the check-your-answers page posts this to file."""
