"""Reading staff: a member's audited snapshot (edit forms carry its ``portal.core.editing``
fingerprint), finding and listing members (by name, a page at a time), their department
memberships, and departments by code. No Flask here, and nothing is written: changes to accounts
and memberships are in ``portal.staff.service``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from portal.auth.models import User
from portal.catalogue.models import Department
from portal.staff.models import STAFF_ROLES, StaffMembership

PAGE_SIZE = 50


def snapshot(session: Session, user: User) -> dict[str, Any]:
    """The audited state of a member: account fields and ``{department code: role}``."""
    rows = session.execute(
        select(Department.code, StaffMembership.role)
        .join(StaffMembership, StaffMembership.department_id == Department.id)
        .where(StaffMembership.user_id == user.id)
        .order_by(Department.code)
    ).all()
    return member_state(user, {code: role for code, role in rows})


def member_state(user: User, departments: dict[str, str]) -> dict[str, Any]:
    """``snapshot``'s shape, given the member's ``{department code: role}`` in code order."""
    return {
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "active": bool(user.active),
        "departments": departments,
    }


def find_staff(session: Session, user_id: int) -> User | None:
    """The staff account with this id, or None (residents are not staff)."""
    return session.scalar(select(User).where(User.id == user_id, User.role.in_(STAFF_ROLES)))


def list_staff(
    session: Session,
    *,
    department_id: int | None = None,
    role: str | None = None,
    active: bool | None = None,
    after: tuple[str, int] | None = None,
    limit: int = PAGE_SIZE,
) -> list[User]:
    """Staff by name then id, at most ``limit``, starting after the ``(name, id)`` key."""
    query = select(User).where(User.role.in_(STAFF_ROLES))
    if role is not None:
        query = query.where(User.role == role)
    if active is not None:
        query = query.where(User.active.is_(active))
    if department_id is not None:
        query = query.where(
            exists().where(
                StaffMembership.user_id == User.id, StaffMembership.department_id == department_id
            )
        )
    if after is not None:
        name, user_id = after
        query = query.where((User.name > name) | ((User.name == name) & (User.id > user_id)))
    return list(session.scalars(query.order_by(User.name, User.id).limit(limit)))


def memberships_by_user(
    session: Session, user_ids: Iterable[int]
) -> dict[int, list[tuple[Department, str]]]:
    """Each listed member's ``(department, role)`` pairs, by department name."""
    ids = list(user_ids)
    result: dict[int, list[tuple[Department, str]]] = {i: [] for i in ids}
    if not ids:
        return result
    rows = session.execute(
        select(StaffMembership.user_id, Department, StaffMembership.role)
        .join(Department, Department.id == StaffMembership.department_id)
        .where(StaffMembership.user_id.in_(ids))
        .order_by(Department.name)
    ).all()
    for user_id, department, role in rows:
        result[user_id].append((department, role))
    return result


def department_by_code(session: Session, code: str) -> Department | None:
    return session.scalar(select(Department).where(Department.code == code))
