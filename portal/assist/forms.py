"""Forms of the assistance pages: the filing journey's "Describe the problem" step."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, TextAreaField
from wtforms.validators import DataRequired, Length

from portal.requests.service import DESCRIPTION_MAX


class DescribeForm(FlaskForm):
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
    #: A suggested category's button (one click: the description and the choice together).
    category = HiddenField()
