"""View-side guards for the back office (a web helper, beside ``portal.web``): every back-office
view uses ``staff_required``.

Anonymous visitors are sent to sign in; signed-in people without the role get a 403; a case or
task of a department the member does not work in is a 404 (no hint it exists).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort, g, redirect, request, url_for
from flask_login import current_user

from portal.staff.permissions import StaffAccess, staff_access
from portal.web import db_session

CASEWORK = "casework"  # admins, and agents/supervisors of at least one department
SUPERVISOR = "supervisor"  # admins, and supervisors of at least one department
ADMIN = "admin"
COORDINATOR = "coordinator"  # coordinators and admins


def current_staff() -> StaffAccess:
    """The signed-in staff member's access (only inside a ``staff_required`` view)."""
    return g.staff


def _allowed(access: StaffAccess, need: str) -> bool:
    if need == ADMIN:
        return access.is_admin
    if need == SUPERVISOR:
        return access.is_admin or bool(access.supervised_department_ids)
    if need == COORDINATOR:
        return access.is_admin or access.is_coordinator
    return access.does_casework


def staff_required(need: str = CASEWORK) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return redirect(url_for("auth.sign_in", next=request.full_path.rstrip("?")))
            access = staff_access(db_session(), current_user)
            if access is None or not _allowed(access, need):
                abort(403)
            g.staff = access
            return view(*args, **kwargs)

        wrapped.staff_need = need  # type: ignore[attr-defined]
        return wrapped

    return decorator


def require_department(department_id: int | None, *, supervise: bool = False) -> None:
    """404 unless the current member works in (or supervises) ``department_id``."""
    access = current_staff()
    ok = access.supervises(department_id) if supervise else access.can_work(department_id)
    if not ok:
        abort(404)


#: Departments listed in a filter (a city has dozens, hundreds at most).
MAX_DEPARTMENT_CHOICES = 2000


def department_choices(*, supervised: bool = False) -> list[tuple[int, str]]:
    """``(id, name)`` of the departments the current member works in (or, with
    ``supervised``, supervises), in the page's language; every department for admins."""
    from sqlalchemy import select

    from portal.catalogue.models import Department
    from portal.i18n import current_locale

    access = current_staff()
    query = select(Department).order_by(Department.name).limit(MAX_DEPARTMENT_CHOICES)
    if not access.is_admin:
        ids = access.supervised_department_ids if supervised else access.department_ids
        query = query.where(Department.id.in_(ids))
    locale = current_locale()
    return [(d.id, d.t("name", locale)) for d in db_session().scalars(query)]
