"""Back office: admins manage staff accounts; supervisors see their department's staff."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import or_, select
from werkzeug.wrappers import Response

from portal.access import ADMIN, SUPERVISOR, require_department, staff_required
from portal.auth import sso
from portal.auth.models import User
from portal.catalogue.models import Department
from portal.core.editing import fingerprint
from portal.i18n import current_locale
from portal.staff import importing, queries, service
from portal.staff.forms import (
    DEPT_PREFIX,
    StaffCreateForm,
    StaffEditForm,
    filter_form,
    with_departments,
)
from portal.staff.models import StaffMembership
from portal.web import db_session, settings

bp = Blueprint("staff", __name__, url_prefix="/staff/admin/staff")


def _actor() -> User:
    return current_user._get_current_object()  # type: ignore[attr-defined]


def _departments(member: User | None = None) -> list[Department]:
    """Active departments, and any inactive one the member still belongs to."""
    query = select(Department)
    if member is not None:
        query = query.where(
            or_(
                Department.active.is_(True),
                Department.id.in_(
                    select(StaffMembership.department_id).where(
                        StaffMembership.user_id == member.id
                    )
                ),
            )
        )
    else:
        query = query.where(Department.active.is_(True))
    return list(db_session().scalars(query.order_by(Department.name)))


def _after_key() -> tuple[str, int] | None:
    """The keyset cursor from ``?after=<member id>`` (an unknown id starts from the top)."""
    raw = request.args.get("after", "")
    if not raw.isdigit() or len(raw) > 18:
        return None
    row = db_session().execute(select(User.name, User.id).where(User.id == int(raw))).first()
    return (row[0], row[1]) if row else None


def _page(
    *, department_id: int | None, role: str | None, active: bool | None
) -> tuple[list[User], dict[int, Any], int | None]:
    session = db_session()
    rows = queries.list_staff(
        session,
        department_id=department_id,
        role=role,
        active=active,
        after=_after_key(),
        limit=queries.PAGE_SIZE + 1,
    )
    more = len(rows) > queries.PAGE_SIZE
    rows = rows[: queries.PAGE_SIZE]
    memberships = queries.memberships_by_user(session, [u.id for u in rows])
    return rows, memberships, rows[-1].id if more and rows else None


@bp.get("/")
@staff_required(ADMIN)
def members() -> str:
    departments = _departments()
    form = filter_form(
        list(db_session().scalars(select(Department).order_by(Department.name))), current_locale()
    )
    if not form.validate():
        return render_template(
            "staff/members.html",
            form=form,
            rows=[],
            memberships={},
            next_after=None,
            filters={},
        )
    department_id = None
    if form.department.data:
        department = queries.department_by_code(db_session(), form.department.data)
        department_id = department.id if department else None
    active = {"active": True, "inactive": False}.get(form.status.data or "")
    rows, memberships, next_after = _page(
        department_id=department_id, role=form.role.data or None, active=active
    )
    filters = {
        k: v
        for k, v in (
            ("department", form.department.data),
            ("role", form.role.data),
            ("status", form.status.data),
        )
        if v
    }
    return render_template(
        "staff/members.html",
        form=form,
        rows=rows,
        memberships=memberships,
        next_after=next_after,
        filters=filters,
        departments=departments,
    )


def _membership_error(form: Any, exc: service.StaffError) -> None:
    if isinstance(exc, service.MembershipRequired):
        form.membership_errors.append(
            _("Agents and supervisors must belong to at least one department.")
        )
    elif isinstance(exc, service.RoleMismatch):
        form.membership_errors.append(
            _(
                "An agent cannot supervise a department, and a supervisor must supervise at "
                "least one. Change the role or the memberships."
            )
        )
    elif isinstance(exc, service.UnknownDepartment):
        form.membership_errors.append(
            _("One of the departments no longer exists. Check the memberships and try again.")
        )
    elif isinstance(exc, service.SelfDemotion):
        form.role.errors.append(_("You cannot take away your own administrator role."))
    else:
        form.role.errors.append(_("Choose a role from the list."))


@bp.route("/new", methods=["GET", "POST"])
@staff_required(ADMIN)
def new() -> Any:
    form = with_departments(StaffCreateForm, _departments(), current_locale())
    if form.validate_on_submit():
        session = db_session()
        try:
            user = service.create_staff(
                session,
                email=form.email.data,
                name=form.name.data,
                role=form.role.data,
                memberships=form.memberships(),
                password_hash=service.unusable_password_hash(),
                actor=_actor(),
                locale=current_locale(),
            )
        except service.EmailTaken:
            form.email.errors.append(_("An account already uses this email address."))
        except service.StaffError as exc:
            _membership_error(form, exc)
        else:
            # The same invitation as `flask staff import` sends: a link valid for a week.
            importing.invite(session, settings(), [user])
            flash(
                _(
                    "%(name)s can now work in the back office. We emailed %(email)s a link to "
                    "choose a password.",
                    name=user.name,
                    email=user.email,
                ),
                "success",
            )
            return redirect(url_for("staff.edit", user_id=user.id))
    status = 400 if request.method == "POST" else 200
    return render_template("staff/form.html", form=form, member=None), status


def _member_or_404(user_id: int) -> User:
    member = queries.find_staff(db_session(), user_id)
    if member is None:
        abort(404)
    return member


@bp.route("/<int:user_id>", methods=["GET", "POST"])
@staff_required(ADMIN)
def edit(user_id: int) -> Any:
    session = db_session()
    member = _member_or_404(user_id)
    state = queries.snapshot(session, member)
    current = fingerprint(state)
    data = {"name": member.name, "role": member.role, "state": current}
    department_ids = {d.id: d for d in _departments(member)}
    for membership in session.scalars(
        select(StaffMembership).where(StaffMembership.user_id == member.id)
    ):
        data[f"{DEPT_PREFIX}{membership.department_id}"] = membership.role
    # On a POST only what was posted counts: a select left out means "not a member".
    form = with_departments(
        StaffEditForm,
        list(department_ids.values()),
        current_locale(),
        data=data if request.method == "GET" else None,
    )
    changed = False
    if form.validate_on_submit():
        if form.state.data != current:
            changed = True
            form.state.data = current
        else:
            try:
                service.update_staff(
                    session,
                    member,
                    name=form.name.data,
                    role=form.role.data,
                    memberships=form.memberships(),
                    actor=_actor(),
                )
            except service.StaffError as exc:
                _membership_error(form, exc)
            else:
                flash(_("Changes to %(name)s saved.", name=member.name), "success")
                return redirect(url_for("staff.edit", user_id=member.id))
    status = 409 if changed else (400 if request.method == "POST" else 200)
    return render_template(
        "staff/form.html",
        form=form,
        member=member,
        changed=changed,
        state=state,
        memberships=queries.memberships_by_user(session, [member.id])[member.id],
        identities=sso.identities_of(session, member.id),
    ), status


@bp.post("/<int:user_id>/deactivate")
@staff_required(ADMIN)
def deactivate(user_id: int) -> Response:
    member = _member_or_404(user_id)
    try:
        service.deactivate(db_session(), member, _actor())
    except service.SelfDeactivation:
        flash(_("You cannot deactivate your own account."), "error")
    else:
        flash(
            _("%(name)s is deactivated and signed out. Their history is kept.", name=member.name),
            "success",
        )
    return redirect(url_for("staff.edit", user_id=member.id))


@bp.post("/<int:user_id>/reactivate")
@staff_required(ADMIN)
def reactivate(user_id: int) -> Response:
    member = _member_or_404(user_id)
    service.reactivate(db_session(), member, _actor())
    flash(_("%(name)s is active again.", name=member.name), "success")
    return redirect(url_for("staff.edit", user_id=member.id))


@bp.post("/<int:user_id>/sign-in-links/<int:identity_id>/remove")
@staff_required(ADMIN)
def unlink_sign_in(user_id: int, identity_id: int) -> Response:
    """Remove a single sign-on link (issue 24); sending it again changes nothing."""
    member = _member_or_404(user_id)
    if sso.unlink(db_session(), user=member, identity_id=identity_id, actor=_actor()):
        flash(
            _(
                "The single sign-on link of %(name)s is removed and they are signed out. Their "
                "next single sign-on links again by their verified email address.",
                name=member.name or member.email,
            ),
            "success",
        )
    return redirect(url_for("staff.edit", user_id=member.id))


@bp.get("/department/<code>")
@staff_required(SUPERVISOR)
def department(code: str) -> str:
    found = queries.department_by_code(db_session(), code[:40])
    if found is None:
        abort(404)
    require_department(found.id, supervise=True)
    rows, memberships, next_after = _page(department_id=found.id, role=None, active=None)
    return render_template(
        "staff/department.html",
        department=found,
        rows=rows,
        memberships=memberships,
        next_after=next_after,
    )
