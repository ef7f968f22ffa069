"""Back office: service levels (admins only): SLA policies, and each department's calendar,
breach actions and assignment mode; the blueprint, with what every service-level page shares
(the acting admin, rows by id, error messages). The calendar pages are in
``portal.sla.views.admin_calendars``."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.access import ADMIN, staff_required
from portal.catalogue.models import Department
from portal.catalogue.names import CatalogueNames
from portal.confirm import ConfirmDeleteForm, unconfirmed
from portal.i18n import current_locale
from portal.requests.models import PRIORITIES
from portal.sla.admin import calendars as calendar_admin
from portal.sla.admin import common
from portal.sla.admin import departments as department_admin
from portal.sla.admin import policies as policy_admin
from portal.sla.models import DEFAULT_PAUSE_STATUSES, SlaPolicy
from portal.sla.views.admin_forms import (
    ASSIGNMENT_MODE_HINTS,
    ASSIGNMENT_MODE_NAMES,
    BREACH_ACTION_NAMES,
    PAUSE_STATUS_NAMES,
    TARGET_NAMES,
    UNIT_NAMES,
    DepartmentSlaForm,
    PolicyForm,
)
from portal.templating import PRIORITY_NAMES
from portal.web import db_session

bp = Blueprint("sla_admin", __name__, url_prefix="/staff/admin/sla")


def acting_user() -> Any:
    return current_user._get_current_object()  # type: ignore[attr-defined]


#: Ids are 32-bit integer columns: a larger one in a URL is simply not found (SQLite and
#: PostgreSQL would fail on it).
MAX_ID = 2**31 - 1


def row_or_404(model: type[Any], row_id: int, *, lock: bool = False) -> Any:
    if row_id > MAX_ID:
        abort(404)
    session = db_session()
    row = common.locked(session, model, row_id) if lock else session.get(model, row_id)
    if row is None:
        abort(404)
    return row


def _message(field_name: str, code: str) -> str:
    specific = {
        ("code", "invalid"): _(
            "Use lower-case letters, digits, hyphens and underscores, like public-works"
        ),
        ("code", "taken"): _("Another calendar already uses this code"),
        ("name", "taken"): _("Another policy has this name: give each policy its own"),
        ("timezone", "unknown"): _("Enter a time zone from the IANA list, like America/Chicago"),
        ("holiday_country", "unknown"): _(
            "The holidays package does not know this country: enter a two-letter code like US"
        ),
        ("holiday_country", "required"): _("Enter the country of the state or region"),
        ("holiday_subdivision", "unknown"): _(
            "This is not a state or region of that country "
            "the holidays package knows, like IL in US"
        ),
        ("hours", "no_hours"): _(
            "Enter at least one working period, or choose open 24 hours a day"
        ),
        ("day", "duplicate_day"): _("The calendar is already closed on this day"),
        ("first_response_amount", "no_target"): _("Set at least one target"),
        ("position", "invalid"): _("Enter a whole number from 0"),
        ("pause_statuses", "unknown"): _("Choose from the list"),
        ("breach_actions", "unknown"): _("Choose from the list"),
        ("assignment_mode", "unknown"): _("Choose how new tasks reach the department's staff"),
    }.get((field_name, code))
    if specific:
        return specific
    if code == "not_positive":
        return _("Enter a number greater than zero, or leave it empty")
    if code == "too_large":
        return _("Enter %(max)d or less", max=policy_admin.AMOUNT_MAX)
    return {
        "required": _("This is required"),
        "too_long": _("This is too long"),
        "unknown": _("Choose from the list"),
    }.get(code, _("Check this"))


def show_errors(form: Any, error: common.SlaAdminError, *, prefix: str = "") -> None:
    fields = {"hours": "hours_mon"}
    for key, code in error.errors.items():
        field = getattr(form, prefix + fields.get(key, key), None)
        if field is None:
            form.form_errors.append(_message(key, code))
            continue
        message = (
            _hours_message(code, error.details.get(key, ""))
            if code.startswith("hours_")
            else _message(key, code)
        )
        field.errors = [*field.errors, message]


def _hours_message(code: str, part: str) -> str:
    """The reason an hours field was refused, in the reader's language."""
    reasons = {
        "hours_format": _("“%(part)s” is not a period like 08:00-12:00", part=part),
        "hours_time": _("“%(part)s” has a time that does not exist", part=part),
        "hours_backwards": _("“%(part)s” ends before it starts", part=part),
        "hours_overlap": _("The periods must be in order and must not overlap"),
    }
    return _(
        "Enter the hours like 08:00-12:00, 13:00-17:00: %(problem)s",
        problem=reasons.get(code, _("check this")),
    )


# --- policies --------------------------------------------------------------------------------


class Names(CatalogueNames):
    """The catalogue's names for this page, with priorities, units and statuses."""

    def __init__(self) -> None:
        super().__init__(db_session(), current_locale())
        self.priorities = {p: str(PRIORITY_NAMES[p]) for p in PRIORITIES}
        self.units = {u: str(name) for u, name in UNIT_NAMES.items()}
        self.statuses = {s: str(name) for s, name in PAUSE_STATUS_NAMES.items()}
        self.targets = {t: str(name) for t, name in TARGET_NAMES.items()}

    def fill(self, form: PolicyForm) -> None:
        form.category.choices = [("", _("Any category")), *self.categories.items()]
        form.priority.choices = [("", _("Any priority")), *self.priorities.items()]
        form.department.choices = [("", _("Any department")), *self.departments.items()]
        form.area.choices = [("", _("Any area")), *self.areas.items()]


@bp.get("/")
@staff_required(ADMIN)
def policies() -> str:
    return render_template(
        "sla/admin/policies.html",
        policies=policy_admin.list_policies(db_session()),
        names=Names(),
        targets=policy_admin.TARGETS,
    )


def _policy_input(form: PolicyForm) -> policy_admin.PolicyInput:
    return policy_admin.PolicyInput(
        name=form.name.data or "",
        category_id=form.category.data,
        priority=form.priority.data,
        department_id=form.department.data,
        area_id=form.area.data,
        targets=form.targets(),
        pause_statuses=list(form.pause_statuses.data or []),
        active=bool(form.active.data),
        position=form.position_value(),
    )


def _policy_page(
    form: PolicyForm,
    policy: SlaPolicy | None,
    names: Names,
    status: int = 200,
    *,
    conflict: bool = False,
    confirm_errors: dict[str, str] | None = None,
) -> tuple[str, int]:
    return render_template(
        "sla/admin/policy_form.html",
        form=form,
        policy=policy,
        names=names,
        conflict=conflict,
        confirm_errors=confirm_errors or {},
        targets=policy_admin.TARGETS,
    ), status


def _policy_form(policy: SlaPolicy, names: Names) -> PolicyForm:
    """The edit form filled in with the policy as it is (and its fingerprint)."""
    data = policy_admin.policy_snapshot(policy)
    data = {
        **data,
        "category": data["category_id"],
        "department": data["department_id"],
        "area": data["area_id"],
        "position": str(data["position"]),
        "state": common.fingerprint(data),
    }
    for target in policy_admin.TARGETS:
        amount = data[f"{target}_amount"]
        data[f"{target}_amount"] = "" if amount is None else str(amount)
    form = PolicyForm(formdata=None, data=data)
    names.fill(form)
    return form


@bp.route("/policies/new", methods=["GET", "POST"])
@staff_required(ADMIN)
def new_policy() -> Any:
    names = Names()
    if request.method == "GET":
        form = PolicyForm(data={"pause_statuses": list(DEFAULT_PAUSE_STATUSES), "active": True})
        names.fill(form)
        return _policy_page(form, None, names)
    form = PolicyForm()
    names.fill(form)
    if form.validate():
        try:
            policy = policy_admin.create_policy(
                db_session(), _policy_input(form), actor=acting_user()
            )
        except common.SlaAdminError as error:
            show_errors(form, error)
        else:
            flash(_("Policy “%(name)s” added.", name=policy.name), "success")
            return redirect(url_for(".policies"))
    return _policy_page(form, None, names, 400)


@bp.route("/policies/<int:policy_id>/edit", methods=["GET", "POST"])
@staff_required(ADMIN)
def edit_policy(policy_id: int) -> Any:
    names = Names()
    if request.method == "GET":
        policy = row_or_404(SlaPolicy, policy_id)
        form = _policy_form(policy, names)
        return _policy_page(form, policy, names)
    policy = row_or_404(SlaPolicy, policy_id, lock=True)
    form = PolicyForm()
    names.fill(form)
    if form.validate():
        try:
            policy_admin.update_policy(
                db_session(),
                policy,
                _policy_input(form),
                actor=acting_user(),
                expected=form.state.data or "",
            )
        except common.Conflict:
            form.state.data = common.fingerprint(policy_admin.policy_snapshot(policy))
            return _policy_page(form, policy, names, 409, conflict=True)
        except common.SlaAdminError as error:
            show_errors(form, error)
        else:
            flash(_("Policy “%(name)s” saved.", name=policy.name), "success")
            return redirect(url_for(".policies"))
    return _policy_page(form, policy, names, 400)


@bp.post("/policies/<int:policy_id>/delete")
@staff_required(ADMIN)
def delete_policy(policy_id: int) -> Any:
    policy = row_or_404(SlaPolicy, policy_id, lock=True)
    form = ConfirmDeleteForm()
    if not form.validate():
        abort(400)
    if not form.confirmed:
        names = Names()
        return _policy_page(
            _policy_form(policy, names),
            policy,
            names,
            400,
            confirm_errors=unconfirmed("confirm-policy"),
        )
    name = policy.name
    policy_admin.delete_policy(db_session(), policy, actor=acting_user())
    flash(
        _("Policy “%(name)s” deleted. Clocks it started keep their targets.", name=name), "success"
    )
    return redirect(url_for(".policies"))


# --- departments -----------------------------------------------------------------------------


def _modes() -> dict[str, str]:
    return {m: str(n) for m, n in ASSIGNMENT_MODE_NAMES.items()}


def _calendar_names() -> dict[int, str]:
    return {c.id: c.name for c in calendar_admin.list_calendars(db_session())}


@bp.get("/departments/")
@staff_required(ADMIN)
def departments() -> str:
    locale = current_locale()
    rows = department_admin.list_departments(db_session())
    return render_template(
        "sla/admin/departments.html",
        departments=rows,
        names={d.id: d.t("name", locale) for d in rows},
        calendars=_calendar_names(),
        actions={a: str(n) for a, n in BREACH_ACTION_NAMES.items()},
        modes=_modes(),
    )


@bp.route("/departments/<int:department_id>/edit", methods=["GET", "POST"])
@staff_required(ADMIN)
def edit_department(department_id: int) -> Any:
    calendars = _calendar_names()
    if request.method == "GET":
        department = row_or_404(Department, department_id)
        snapshot = department_admin.department_snapshot(department)
        form = DepartmentSlaForm(
            data={
                "calendar": snapshot["calendar_id"],
                "breach_actions": snapshot["breach_actions"],
                "assignment_mode": snapshot["assignment_mode"],
                "state": common.fingerprint(snapshot),
            }
        )
    else:
        department = row_or_404(Department, department_id, lock=True)
        form = DepartmentSlaForm()
    form.calendar.choices = [("", _("City default")), *calendars.items()]
    status, conflict = 200, False
    if request.method == "POST":
        status = 400
        if form.validate():
            try:
                department_admin.update_department(
                    db_session(),
                    department,
                    calendar_id=form.calendar.data,
                    breach_actions=list(form.breach_actions.data or []),
                    assignment_mode=form.assignment_mode.data,
                    actor=acting_user(),
                    expected=form.state.data or "",
                )
            except common.Conflict:
                status, conflict = 409, True
                form.state.data = common.fingerprint(
                    department_admin.department_snapshot(department)
                )
            except common.SlaAdminError as error:
                show_errors(form, error)
            else:
                flash(
                    _(
                        "Service levels of %(name)s saved.",
                        name=department.t("name", current_locale()),
                    ),
                    "success",
                )
                return redirect(url_for(".departments"))
    return render_template(
        "sla/admin/department_form.html",
        form=form,
        department=department,
        name=department.t("name", current_locale()),
        conflict=conflict,
        calendars=calendars,
        actions={a: str(n) for a, n in BREACH_ACTION_NAMES.items()},
        modes=_modes(),
        mode_hints={m: str(h) for m, h in ASSIGNMENT_MODE_HINTS.items()},
    ), status
