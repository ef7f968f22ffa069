"""Account forms: every message is marked for translation and shown next to its field."""

from __future__ import annotations

import re
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import (
    DataRequired,
    Email,
    EqualTo,
    Length,
    Optional,
    Regexp,
    ValidationError,
)

from portal.auth.service import PASSWORD_MAX, PASSWORD_MIN, password_problem
from portal.i18n import LANGUAGE_NAMES


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def password_message(reason: str) -> Any:
    """The message shown beside the password field for a rule the password breaks."""
    if reason == "too_long":
        return _l("Password must be %(max)d characters or fewer", max=PASSWORD_MAX)
    if reason == "repetitive":
        return _l("Password must not be one character repeated")
    if reason == "email":
        return _l("Your password must not be your email address; choose another")
    if reason == "common":
        return _l("This password is among the most commonly used; choose another")
    return _l("Password must be at least %(min)d characters", min=PASSWORD_MIN)


class PasswordRules:
    """The service's password rules, with the message for each broken rule (the account's
    email address is known here only on the sign-up form; the service checks it again)."""

    def __call__(self, form: FlaskForm, field: PasswordField) -> None:
        email_field = getattr(form, "email", None)
        email = email_field.data if email_field is not None else ""
        problem = password_problem(field.data or "", email=email or "")
        if problem is not None:
            raise ValidationError(password_message(problem))


def _email_field(label: Any) -> StringField:
    return StringField(
        label,
        filters=[_strip],
        validators=[
            DataRequired(_l("Enter your email address")),
            Length(max=254, message=_l("Email address must be 254 characters or fewer")),
            Email(_l("Enter an email address in the correct format, like name@example.com")),
        ],
    )


def _name_field() -> StringField:
    return StringField(
        _l("Full name"),
        filters=[_strip],
        validators=[
            DataRequired(_l("Enter your name")),
            Length(max=120, message=_l("Name must be 120 characters or fewer")),
        ],
    )


def _phone_field() -> StringField:
    return StringField(
        _l("Phone number"),
        filters=[_strip],
        validators=[
            Optional(),
            Length(max=40, message=_l("Phone number must be 40 characters or fewer")),
            Regexp(
                r"^\+?[0-9()\-.\s]{7,}(?:\s*(?:ext|x)\.?\s*[0-9]{1,6})?$",
                flags=re.I,
                message=_l("Enter a phone number, like 555 010 0199"),
            ),
        ],
    )


def _locale_field() -> SelectField:
    choices = [
        SelectChoice(code, label, render_kw={"lang": code})
        for code, label in LANGUAGE_NAMES.items()
    ]
    return SelectField(
        _l("Preferred language"),
        choices=choices,
        validators=[DataRequired(_l("Choose a language"))],
    )


def _new_password_field(label: Any) -> PasswordField:
    return PasswordField(label, validators=[DataRequired(_l("Enter a password")), PasswordRules()])


def _confirm_field() -> PasswordField:
    return PasswordField(
        _l("Confirm password"),
        validators=[
            DataRequired(_l("Enter the password again")),
            EqualTo("password", message=_l("The passwords do not match")),
        ],
    )


class SignUpForm(FlaskForm):
    name = _name_field()
    email = _email_field(_l("Email address"))
    phone = _phone_field()
    locale = _locale_field()
    password = _new_password_field(_l("Password"))
    confirm = _confirm_field()


class SignInForm(FlaskForm):
    email = StringField(
        _l("Email address"),
        filters=[_strip],
        validators=[
            DataRequired(_l("Enter your email address")),
            Length(max=254, message=_l("Enter your email address")),
        ],
    )
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password"))])


class ResetRequestForm(FlaskForm):
    email = _email_field(_l("Email address"))


class ResetPasswordForm(FlaskForm):
    password = _new_password_field(_l("New password"))
    confirm = _confirm_field()


class AccountForm(FlaskForm):
    name = _name_field()
    phone = _phone_field()
    locale = _locale_field()


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(
        _l("Current password"), validators=[DataRequired(_l("Enter your current password"))]
    )
    password = _new_password_field(_l("New password"))
    confirm = _confirm_field()
