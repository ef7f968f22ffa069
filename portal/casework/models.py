"""Tasks: the pieces of a case owned by departments, worked in parallel; response templates."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.auth.models import User
from portal.catalogue.models import Department
from portal.core import clock
from portal.core.db import Base
from portal.core.models import BigId, Timestamped, Translatable
from portal.requests.models import ServiceRequest

TASK_STATUSES = ("open", "in_progress", "waiting", "done", "cancelled", "transferred")
OPEN_TASK_STATUSES = ("open", "in_progress", "waiting")
ASSIGNMENT_MODES = ("queue", "round_robin", "least_loaded")


class Task(Base):
    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_department_open_created", "department_id", "is_open", "created_at", "id"),
        Index("ix_tasks_assignee_open_created", "assignee_id", "is_open", "created_at", "id"),
        Index("ix_tasks_request_id", "request_id"),
        Index("ix_tasks_department_status_closed", "department_id", "status", "closed_at"),
        Index("ix_tasks_department_open_due", "department_id", "is_open", "due_at", "id"),
        Index("ix_tasks_assignee_open_due", "assignee_id", "is_open", "due_at", "id"),
        # Reports: tasks opened / closed in a period, and the backlog closed after it ends.
        Index("ix_tasks_department_created", "department_id", "created_at"),
        Index("ix_tasks_department_closed", "department_id", "closed_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_requests.id", ondelete="CASCADE"))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16), default="open")
    is_open: Mapped[bool] = mapped_column(Boolean, default=True)
    #: The task this one was transferred from (the old one ends as "transferred").
    transferred_from_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: From the task's SLA clock: when it falls due (null while paused or without a policy)
    #: and when it becomes at risk (75% of the target).
    due_at: Mapped[datetime | None]
    at_risk_at: Mapped[datetime | None]
    #: The task clock's stage ("running", "paused", "met", ...); None when no policy applies.
    sla_stage: Mapped[str | None] = mapped_column(String(12))
    #: "main", or "escalation" once a breach moved it to the department's escalation queue.
    queue: Mapped[str] = mapped_column(String(16), default="main")
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)
    closed_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    request: Mapped[ServiceRequest] = relationship()
    department: Mapped[Department] = relationship()
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])


class ResponseTemplate(Translatable, Timestamped, Base):
    """A canned reply a department's staff pick while replying. Placeholders:
    ``{resident_name}``, ``{reference}``, ``{category}``."""

    __tablename__ = "response_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Its key in the city's configuration (``templates.toml``).
    code: Mapped[str | None] = mapped_column(String(40), unique=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
