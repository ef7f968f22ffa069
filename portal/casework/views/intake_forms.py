"""The staff intake form: one page to file a request for a caller or a walk-in.

The category's own questions are drawn from the category (``q_<code>`` fields), not declared.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from portal.requests.labels import CHANNEL_NAMES
from portal.requests.service import ADDRESS_MAX, DESCRIPTION_MAX, NAME_MAX

#: The channels staff record, in the order call-takers meet them (labels are message ids).
CHANNEL_LABELS = {
    code: _l(CHANNEL_NAMES[code])
    for code in ("phone", "walk_in", "email", "social", "web", "mobile", "api")
}


class IntakeForm(FlaskForm):
    channel = SelectField(
        _l("How did the resident contact us?"),
        choices=[],
        default="phone",  # CHANNEL_LABELS, set by the view
        validators=[DataRequired(_l("Choose how the resident contacted us."))],
    )
    category = SelectField(
        _l("Category"),
        choices=[],
        validators=[DataRequired(_l("Choose a category from the list."))],
        validate_choice=False,  # checked against the active catalogue by the view
    )
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
    address = StringField(
        _l("Street address or nearest intersection"),
        validators=[
            Length(
                max=ADDRESS_MAX,
                message=_l("Keep the address to %(max)d characters or fewer.", max=ADDRESS_MAX),
            )
        ],
    )
    #: The address point of the suggestion chosen as staff typed (JavaScript).
    point = StringField(validators=[Length(max=20)])
    #: Without JavaScript: which of the matches offered was chosen ("none": file the text).
    choice = StringField(validators=[Length(max=8)])
    lat = StringField(_l("Latitude"), validators=[Length(max=32)])
    lon = StringField(_l("Longitude"), validators=[Length(max=32)])
    area = SelectField(_l("Neighbourhood"), validators=[Optional()], choices=[])
    #: The number on the city's asset (a streetlight's "SL-1042") when the category has an
    #: asset layer; checked against the layer by submit_request. Never required of a caller.
    asset = StringField(_l("City asset number"), validators=[Length(max=64)])
    name = StringField(
        _l("Caller's name"),
        validators=[
            Length(
                max=NAME_MAX,
                message=_l("Keep the name to %(max)d characters or fewer.", max=NAME_MAX),
            )
        ],
    )
    email = StringField(_l("Caller's email address"), validators=[Length(max=254)])
    phone = StringField(_l("Caller's phone number"), validators=[Length(max=40)])
    locale = SelectField(_l("Caller's language"), choices=[], validators=[Optional()])
    private = BooleanField(_l("Keep this request private"))
