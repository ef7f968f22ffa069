"""Test data of staff: members of departments with a role."""

from __future__ import annotations

from typing import Any

from portal.auth.models import User
from portal.catalogue.models import Department
from tests.factory_base import FactoryBase


class StaffFactories(FactoryBase):
    def staff(self, *departments: Department, role: str = "agent", **kw: Any) -> User:
        """A staff member of ``departments`` with ``role`` there (and as their user role)."""
        from portal.staff.models import StaffMembership

        user = self.user(role=role, **kw)
        for department in departments:
            self.session.add(
                StaffMembership(user_id=user.id, department_id=department.id, role=role)
            )
        self.session.flush()
        return user
