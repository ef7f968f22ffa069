"""Data rights forms: every message is marked for translation and shown next to its field."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField
from wtforms.validators import DataRequired, Length


class DownloadForm(FlaskForm):
    """Only the CSRF token: asking for a download is one button on the confirm page."""


class DeleteAccountForm(FlaskForm):
    password = PasswordField(
        _l("Current password"),
        validators=[
            DataRequired(message=_l("Enter your password")),
            Length(max=128, message=_l("Enter your password")),
        ],
    )
    understood = BooleanField(
        _l("I understand that my account and my details will be deleted and cannot be restored"),
        validators=[
            DataRequired(message=_l("Tick the box to confirm you want to delete your account"))
        ],
    )


class ConfirmedDeleteForm(FlaskForm):
    """Deleting after signing in again at the city's provider: no password to type."""

    understood = BooleanField(
        _l("I understand that my account and my details will be deleted and cannot be restored"),
        validators=[
            DataRequired(message=_l("Tick the box to confirm you want to delete your account"))
        ],
    )


class ReauthenticateForm(FlaskForm):
    """Only the CSRF token: "Confirm by signing in again" starts the provider's round trip."""
