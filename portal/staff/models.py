"""Staff belong to departments. ``User.role`` is the account's highest role; memberships say
where an agent or supervisor works. Admins work everywhere; coordinators run programmes."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.auth.models import User
from portal.catalogue.models import Department
from portal.core.db import Base
from portal.core.models import Timestamped

STAFF_ROLES = ("agent", "supervisor", "coordinator", "admin")
DEPARTMENT_ROLES = ("agent", "supervisor")


class StaffMembership(Timestamped, Base):
    __tablename__ = "staff_memberships"
    __table_args__ = (UniqueConstraint("user_id", "department_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    role: Mapped[str] = mapped_column(String(16), default="agent")  # agent | supervisor

    user: Mapped[User] = relationship()
    department: Mapped[Department] = relationship()
