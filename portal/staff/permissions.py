"""Who may do what in the back office (no Flask here).

- admin: everything, in every department;
- supervisor: everything an agent may do in the departments they supervise, plus the
  department's settings, templates and the agents' figures;
- agent: the cases and tasks of their departments;
- coordinator: community programmes only (no casework);
- resident: nothing in the back office.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.auth.models import User
from portal.staff.models import StaffMembership


@dataclass(frozen=True)
class StaffAccess:
    user_id: int
    role: str
    #: department id -> "agent" | "supervisor"
    departments: dict[int, str] = field(default_factory=dict)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_coordinator(self) -> bool:
        return self.role == "coordinator"

    @property
    def does_casework(self) -> bool:
        return self.is_admin or bool(self.departments)

    def can_work(self, department_id: int | None) -> bool:
        return self.is_admin or (department_id is not None and department_id in self.departments)

    def supervises(self, department_id: int | None) -> bool:
        return self.is_admin or (
            department_id is not None and self.departments.get(department_id) == "supervisor"
        )

    @property
    def supervised_department_ids(self) -> list[int]:
        return sorted(d for d, role in self.departments.items() if role == "supervisor")

    @property
    def department_ids(self) -> list[int]:
        return sorted(self.departments)


def staff_access(session: Session, user: User | None) -> StaffAccess | None:
    """The staff member's access, or ``None`` for anonymous visitors, residents and
    deactivated accounts."""
    if user is None or not user.is_authenticated or not user.active or user.role == "resident":
        return None
    memberships = session.execute(
        select(StaffMembership.department_id, StaffMembership.role).where(
            StaffMembership.user_id == user.id
        )
    ).all()
    return StaffAccess(user.id, user.role, {d: r for d, r in memberships})
