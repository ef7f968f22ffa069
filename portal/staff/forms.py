"""Staff admin forms: one select per department for the member's role there.

The department fields are added per request (``with_departments``), named ``dept_<id>``. A
posted ``dept_<id>`` that is not one of them (a forged form, or a department removed since the
page was shown) is a form error, never silently dropped.
"""

from __future__ import annotations

from typing import Any, TypeVar

from flask import request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field, HiddenField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Email, InputRequired, Length

from portal.catalogue.models import Department

DEPT_PREFIX = "dept_"

ROLE_CHOICES = [
    SelectChoice("agent", _l("Agent")),
    SelectChoice("supervisor", _l("Supervisor")),
    SelectChoice("coordinator", _l("Programme coordinator")),
    SelectChoice("admin", _l("Administrator")),
]
MEMBERSHIP_CHOICES = [
    SelectChoice("", _l("Not a member")),
    SelectChoice("agent", _l("Agent")),
    SelectChoice("supervisor", _l("Supervisor")),
]
STATUS_CHOICES = [
    SelectChoice("", _l("Active and inactive")),
    SelectChoice("active", _l("Active")),
    SelectChoice("inactive", _l("Inactive")),
]


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class _MemberForm(FlaskForm):
    name = StringField(
        _l("Full name"),
        filters=[_strip],
        validators=[
            DataRequired(_l("Enter the member's name")),
            Length(max=120, message=_l("Name must be 120 characters or fewer")),
        ],
    )
    role = SelectField(
        _l("Role"),
        choices=ROLE_CHOICES,
        default="agent",
        validators=[InputRequired(_l("Choose a role"))],
    )

    #: Set by ``with_departments``.
    departments: list[Department]
    #: Problems with the memberships as a whole, shown at the departments fieldset.
    membership_errors: list[Any]

    def department_fields(self) -> list[tuple[Department, Field]]:
        return [(d, self[f"{DEPT_PREFIX}{d.id}"]) for d in self.departments]

    def memberships(self) -> list[tuple[int, str]]:
        """The chosen ``(department_id, role)`` pairs."""
        return [(d.id, f.data) for d, f in self.department_fields() if f.data]

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        known = {f"{DEPT_PREFIX}{d.id}" for d in self.departments}
        if any(key.startswith(DEPT_PREFIX) and key not in known for key in request.form):
            self.membership_errors.append(
                _l("One of the departments no longer exists. Check the memberships and try again.")
            )
            ok = False
        return ok


class StaffCreateForm(_MemberForm):
    email = StringField(
        _l("Email address"),
        filters=[_strip],
        validators=[
            DataRequired(_l("Enter the member's email address")),
            Length(max=254, message=_l("Email address must be 254 characters or fewer")),
            Email(_l("Enter an email address in the correct format, like name@example.com")),
        ],
    )


class StaffEditForm(_MemberForm):
    #: A digest of the member as the form was shown: a concurrent change is noticed.
    state = HiddenField()


class StaffFilterForm(FlaskForm):
    class Meta:
        csrf = False

    department = SelectField(_l("Department"), default="")
    role = SelectField(
        _l("Role"), choices=[SelectChoice("", _l("Any role")), *ROLE_CHOICES], default=""
    )
    status = SelectField(_l("Status"), choices=STATUS_CHOICES, default="")


F = TypeVar("F", bound=_MemberForm)


def with_departments(
    form_class: type[F], departments: list[Department], locale: str, **kwargs: Any
) -> F:
    """An instance of ``form_class`` with one membership select per department."""

    class Form(form_class):  # type: ignore[valid-type,misc]
        pass

    for department in departments:
        setattr(
            Form,
            f"{DEPT_PREFIX}{department.id}",
            SelectField(department.t("name", locale), choices=MEMBERSHIP_CHOICES, default=""),
        )
    Form.__name__ = form_class.__name__
    form = Form(**kwargs)
    form.departments = departments
    form.membership_errors = []
    return form


def filter_form(departments: list[Department], locale: str) -> StaffFilterForm:
    form = StaffFilterForm(request.args)
    form.department.choices = [SelectChoice("", _l("All departments"))] + [
        SelectChoice(d.code, d.t("name", locale)) for d in departments
    ]
    return form
