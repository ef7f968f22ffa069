"""Staff accounts and department memberships: create, change, deactivate, reactivate (reading
them is in ``portal.staff.queries``).

No Flask here. Functions flush and never commit; the request (or CLI command) commits once.
Every change writes an ``AuditEntry`` (entity "staff") with the state before and after.
Nothing is ever deleted from a member's history: deactivating only switches the account off
and ends its sessions, so their timeline entries and audit entries stay as they were.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from portal.auth.models import User
from portal.auth.service import (
    EmailTaken,
    WeakPassword,
    end_sessions,
    find_by_email,
    normalise_email,
    password_problem,
)
from portal.catalogue.models import Department
from portal.core import clock
from portal.core.audit import AuditEntry
from portal.staff.models import DEPARTMENT_ROLES, STAFF_ROLES, StaffMembership
from portal.staff.queries import member_state, snapshot

__all__ = [
    "DEPARTMENT_ROLES",
    "EmailTaken",
    "WeakPassword",
    "StaffError",
    "UnknownDepartment",
    "InvalidRole",
    "RoleMismatch",
    "MembershipRequired",
    "SelfDeactivation",
    "SelfDemotion",
    "NotStaff",
    "create_staff",
    "NewStaff",
    "create_staff_many",
    "update_staff",
    "update_memberships",
    "deactivate",
    "reactivate",
    "generate_password",
    "unusable_password_hash",
    "default_department_role",
    "check_membership_rules",
]


#: ``(department_id, role)`` pairs; role is "agent" or "supervisor".
Memberships = Sequence[tuple[int, str]]


class StaffError(Exception):
    """Base class for the staff domain errors."""


class UnknownDepartment(StaffError):
    """A membership names a department that does not exist."""

    def __init__(self, department: Any) -> None:
        super().__init__(f"unknown department: {department}")
        self.department = department


class InvalidRole(StaffError):
    """An account role or a department role that is not one of the known roles."""

    def __init__(self, role: str) -> None:
        super().__init__(f"invalid role: {role}")
        self.role = role


class RoleMismatch(StaffError):
    """The account role does not fit its memberships (an agent cannot supervise a department;
    a supervisor supervises at least one)."""


class MembershipRequired(StaffError):
    """Agents and supervisors must belong to at least one department."""


class SelfDeactivation(StaffError):
    """An admin cannot deactivate their own account (someone must be left to undo it)."""


class SelfDemotion(StaffError):
    """An admin cannot take away their own admin role."""


class NotStaff(StaffError):
    """The account is a resident's, not a staff member's."""


def generate_password() -> str:
    """A random password that meets the rules (for accounts whose owner sets their own)."""
    return secrets.token_urlsafe(18)


def unusable_password_hash() -> str:
    """The hash of a random password nobody knows: the account cannot be signed in to until
    its owner sets a password from an emailed link. Slow to compute (werkzeug's hashing is
    slow by design), so an import computes it once for all its new accounts; signing in
    against it costs as much time as against a real password."""
    return generate_password_hash(secrets.token_urlsafe(32))


def default_department_role(role: str) -> str:
    """The department role a membership gets when none is given: an agent or supervisor
    works as such in their departments; coordinators and admins join as agents."""
    return role if role in DEPARTMENT_ROLES else "agent"


def check_membership_rules(role: str, department_roles: Iterable[str]) -> None:
    """The rules an account role and its memberships' roles follow (no database needed).

    Raises ``InvalidRole``, ``MembershipRequired`` or ``RoleMismatch``.
    """
    if role not in STAFF_ROLES:
        raise InvalidRole(role)
    roles = list(department_roles)
    for department_role in roles:
        if department_role not in DEPARTMENT_ROLES:
            raise InvalidRole(department_role)
    if role in DEPARTMENT_ROLES and not roles:
        raise MembershipRequired()
    if role == "agent" and "supervisor" in roles:
        raise RoleMismatch()
    if role == "supervisor" and "supervisor" not in roles:
        raise RoleMismatch()


def _check_password(password: str, email: str) -> None:
    problem = password_problem(password, email=email)
    if problem is not None:
        raise WeakPassword(problem)


def _wanted_memberships(role: str, memberships: Memberships) -> dict[int, str]:
    """Check the account role and the department roles; returns department id -> role."""
    if role not in STAFF_ROLES:
        raise InvalidRole(role)
    wanted: dict[int, str] = {}
    for department_id, department_role in memberships:
        if department_role not in DEPARTMENT_ROLES:
            raise InvalidRole(department_role)
        wanted[department_id] = department_role
    return wanted


def _clean_memberships(session: Session, role: str, memberships: Memberships) -> dict[int, str]:
    """Validate the roles and departments; returns department id -> department role."""
    wanted = _wanted_memberships(role, memberships)
    if wanted:
        found = set(session.scalars(select(Department.id).where(Department.id.in_(wanted))))
        missing = sorted(set(wanted) - found)
        if missing:
            raise UnknownDepartment(missing[0])
    check_membership_rules(role, wanted.values())
    return wanted


def _audit(
    session: Session,
    *,
    actor: User | None,
    user: User,
    action: str,
    before: dict[str, Any],
    after: dict[str, Any],
) -> None:
    session.add(
        AuditEntry(
            actor_id=actor.id if actor is not None else None,
            entity="staff",
            entity_id=str(user.id),
            action=action,
            before=before,
            after=after,
            created_at=clock.now(),
        )
    )
    session.flush()


def _set_memberships(session: Session, user: User, wanted: dict[int, str]) -> None:
    current = {
        m.department_id: m
        for m in session.scalars(select(StaffMembership).where(StaffMembership.user_id == user.id))
    }
    for department_id, membership in current.items():
        if department_id not in wanted:
            session.delete(membership)
        elif membership.role != wanted[department_id]:
            membership.role = wanted[department_id]
    for department_id, role in wanted.items():
        if department_id not in current:
            session.add(StaffMembership(user_id=user.id, department_id=department_id, role=role))
    session.flush()


def _staff_user(user: User) -> User:
    if user.role not in STAFF_ROLES:
        raise NotStaff()
    return user


def create_staff(
    session: Session,
    *,
    email: str,
    name: str,
    role: str,
    memberships: Memberships,
    password: str | None = None,
    password_hash: str | None = None,
    actor: User | None = None,
    locale: str = "en",
) -> User:
    """Create an active staff account with its department memberships (flushed) and audit it.

    Give either ``password`` (checked against the rules, then hashed) or a ready
    ``password_hash`` (an import passes one ``unusable_password_hash()`` for every new member).

    Raises ``InvalidRole``, ``UnknownDepartment``, ``MembershipRequired``, ``RoleMismatch``,
    ``WeakPassword`` or ``EmailTaken`` (also when a concurrent create wins the race).
    """
    if (password is None) == (password_hash is None):
        raise TypeError("give exactly one of password and password_hash")
    wanted = _clean_memberships(session, role, memberships)
    if password is not None:
        _check_password(password, email)
        password_hash = generate_password_hash(password)
    email = normalise_email(email)
    if find_by_email(session, email) is not None:
        raise EmailTaken(email)
    user = User(
        email=email,
        name=name.strip(),
        role=role,
        locale=locale,
        active=True,
        password_hash=password_hash,
        session_version=1,
    )
    try:
        with session.begin_nested():
            session.add(user)
            session.flush()
    except IntegrityError as exc:
        raise EmailTaken(email) from exc
    _set_memberships(session, user, wanted)
    _audit(
        session, actor=actor, user=user, action="created", before={}, after=snapshot(session, user)
    )
    return user


@dataclass(frozen=True)
class NewStaff:
    """One account for ``create_staff_many``: what ``create_staff`` is given for it."""

    email: str
    name: str
    role: str
    memberships: Memberships


def create_staff_many(
    session: Session,
    members: Sequence[NewStaff],
    *,
    password_hash: str,
    actor: User | None = None,
    locale: str = "en",
) -> list[User]:
    """``create_staff`` for many accounts at once, all given the same ready ``password_hash``
    (an import's one ``unusable_password_hash()``). Returns the accounts, in order.

    Writes the same rows as calling ``create_staff`` for each: the account, its memberships
    and a "created" audit entry with ``before={}`` and ``after`` the member's ``snapshot``;
    but in a few multi-row INSERTs (the new ids come back by RETURNING) instead of some ten
    statements an account, so the time spent holding the database's write lock no longer
    grows with a round trip per statement and member.

    Every member is checked before anything is written. Raises what ``create_staff`` raises:
    ``InvalidRole``, ``UnknownDepartment``, ``MembershipRequired``, ``RoleMismatch``, or
    ``EmailTaken`` (an address already in use, also by a concurrent create, or listed twice).
    """
    if not members:
        return []
    wanted = [_wanted_memberships(m.role, m.memberships) for m in members]
    department_ids = sorted({d for w in wanted for d in w})
    codes: dict[int, str] = {}
    if department_ids:
        codes = dict(
            session.execute(
                select(Department.id, Department.code).where(Department.id.in_(department_ids))
            ).all()
        )
        missing = [d for d in department_ids if d not in codes]
        if missing:
            raise UnknownDepartment(missing[0])
    for member, member_wanted in zip(members, wanted, strict=True):
        check_membership_rules(member.role, member_wanted.values())
    emails = [normalise_email(m.email) for m in members]
    seen: set[str] = set()
    for email in emails:
        if email in seen:
            raise EmailTaken(email)
        seen.add(email)

    now = clock.now()
    rows = [
        {
            "email": email,
            "name": m.name.strip(),
            "role": m.role,
            "locale": locale,
            "active": True,
            "password_hash": password_hash,
            "session_version": 1,
            "created_at": now,
        }
        for email, m in zip(emails, members, strict=True)
    ]
    try:
        with session.begin_nested():
            users = _insert_users(session, rows, emails)
    except IntegrityError as exc:
        taken: set[str] = set()
        for start in range(0, len(emails), 500):
            taken.update(
                session.scalars(
                    select(User.email).where(User.email.in_(emails[start : start + 500]))
                )
            )
        raise EmailTaken(next((e for e in emails if e in taken), emails[0])) from exc

    membership_rows = [
        {"user_id": user.id, "department_id": department_id, "role": role, "created_at": now}
        for user, member_wanted in zip(users, wanted, strict=True)
        for department_id, role in member_wanted.items()
    ]
    if membership_rows:
        session.execute(insert(StaffMembership), membership_rows)
    actor_id = actor.id if actor is not None else None
    session.execute(
        insert(AuditEntry),
        [
            {
                "actor_id": actor_id,
                "entity": "staff",
                "entity_id": str(user.id),
                "action": "created",
                "before": {},
                "after": member_state(
                    user,
                    {
                        codes[d]: r
                        for d, r in sorted(member_wanted.items(), key=lambda i: codes[i[0]])
                    },
                ),
                "created_at": now,
            }
            for user, member_wanted in zip(users, wanted, strict=True)
        ],
    )
    return users


def _insert_users(session: Session, rows: list[dict[str, Any]], emails: list[str]) -> list[User]:
    """Insert the accounts (``emails`` are theirs, distinct); returns them in that order.

    The rows come back by RETURNING and are matched by address. Not by asking for them in
    order (``sort_by_parameter_order``): on SQLite that sends one INSERT per row."""
    if session.get_bind().dialect.insert_executemany_returning:
        found = {u.email: u for u in session.scalars(insert(User).returning(User), rows)}
    else:  # no RETURNING with many rows: select them again by address
        session.execute(insert(User), rows)
        found = {}
        for start in range(0, len(emails), 500):
            found.update(
                (u.email, u)
                for u in session.scalars(
                    select(User).where(User.email.in_(emails[start : start + 500]))
                )
            )
    return [found[email] for email in emails]


def update_staff(
    session: Session,
    user: User,
    *,
    name: str,
    role: str,
    memberships: Memberships,
    actor: User | None,
) -> User:
    """Change a member's name, role and memberships; audits the change (if any).

    Raises ``NotStaff``, ``InvalidRole``, ``UnknownDepartment``, ``MembershipRequired``,
    ``RoleMismatch`` or ``SelfDemotion``; nothing is changed then.
    """
    _staff_user(user)
    wanted = _clean_memberships(session, role, memberships)
    if actor is not None and actor.id == user.id and user.role == "admin" and role != "admin":
        raise SelfDemotion()
    before = snapshot(session, user)
    user.name = name.strip()
    user.role = role
    _set_memberships(session, user, wanted)
    after = snapshot(session, user)
    if after != before:
        _audit(session, actor=actor, user=user, action="updated", before=before, after=after)
    return user


def update_memberships(
    session: Session, user: User, memberships: Memberships, *, actor: User | None
) -> User:
    """Replace a member's department memberships, keeping their name and role."""
    return update_staff(
        session, user, name=user.name, role=user.role, memberships=memberships, actor=actor
    )


def deactivate(session: Session, user: User, actor: User | None) -> User:
    """Switch the account off and sign it out everywhere at once; its history stays.

    Raises ``NotStaff``, or ``SelfDeactivation`` when ``actor`` is ``user``. Deactivating an
    inactive account changes nothing.
    """
    _staff_user(user)
    if actor is not None and actor.id == user.id:
        raise SelfDeactivation()
    if not user.active:
        return user
    before = snapshot(session, user)
    user.active = False
    end_sessions(session, user)
    _audit(
        session,
        actor=actor,
        user=user,
        action="deactivated",
        before=before,
        after=snapshot(session, user),
    )
    return user


def reactivate(session: Session, user: User, actor: User | None) -> User:
    """Switch a deactivated account back on (its owner signs in again). Raises ``NotStaff``."""
    _staff_user(user)
    if user.active:
        return user
    before = snapshot(session, user)
    user.active = True
    session.flush()
    _audit(
        session,
        actor=actor,
        user=user,
        action="reactivated",
        before=before,
        after=snapshot(session, user),
    )
    return user
