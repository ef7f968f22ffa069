"""Each department's service levels (no Flask here): its business calendar, what happens when
one of its tasks breaches, and how its new tasks are assigned. Every change is audited (entity
``department_sla``); ``portal.sla.admin.common`` has the errors, fingerprints and audit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.auth.models import User
from portal.casework.models import ASSIGNMENT_MODES
from portal.catalogue.models import Department
from portal.sla.admin.common import MAX_ROWS, SlaAdminError, audit, check_expected
from portal.sla.models import BREACH_ACTIONS, BusinessCalendar


def list_departments(session: Session) -> list[Department]:
    return list(
        session.scalars(select(Department).order_by(Department.name, Department.id).limit(MAX_ROWS))
    )


def department_snapshot(department: Department) -> dict[str, Any]:
    return {
        "calendar_id": department.calendar_id,
        "breach_actions": list(department.breach_actions or []),
        "assignment_mode": department.assignment_mode or "queue",
    }


def update_department(
    session: Session,
    department: Department,
    *,
    calendar_id: int | None,
    breach_actions: Sequence[str],
    assignment_mode: str,
    actor: User | None,
    expected: str | None = None,
) -> Department:
    """Set the department's calendar (``None``: the city default), breach actions and how its
    new tasks are assigned (``ASSIGNMENT_MODES``, see ``portal.casework.assignment``), or
    raise ``Conflict`` / ``SlaAdminError``."""
    before = department_snapshot(department)
    check_expected(expected, before)
    errors: dict[str, str] = {}
    if calendar_id is not None and session.get(BusinessCalendar, calendar_id) is None:
        errors["calendar"] = "unknown"
    if any(action not in BREACH_ACTIONS for action in breach_actions):
        errors["breach_actions"] = "unknown"
    if assignment_mode not in ASSIGNMENT_MODES:
        errors["assignment_mode"] = "unknown"
    if errors:
        raise SlaAdminError(errors)
    department.calendar_id = calendar_id
    department.breach_actions = [a for a in BREACH_ACTIONS if a in breach_actions]
    department.assignment_mode = assignment_mode
    after = department_snapshot(department)
    if after == before:
        return department
    session.flush()
    audit(
        session,
        actor=actor,
        entity="department_sla",
        entity_id=department.id,
        action="updated",
        before=before,
        after=after,
    )
    return department
