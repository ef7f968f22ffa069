"""The transactional outbox: rendered messages written with the change that causes them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.core import clock
from portal.core.db import Base
from portal.core.models import BigId, JsonDoc


class StaffNotice(Base):
    """An in-app notice for one staff member (SLA thresholds, escalations, assignments).

    ``email_state`` is "none" (not emailed), "queued" (in the outbox), or "digest" (waiting
    for the member's daily digest) then "digested"."""

    __tablename__ = "staff_notices"
    __table_args__ = (
        Index("ix_staff_notices_user_read_id", "user_id", "read_at", "id"),
        Index("ix_staff_notices_user_id", "user_id", "id"),
        Index("ix_staff_notices_email_state_user", "email_state", "user_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_requests.id", ondelete="CASCADE")
    )
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    data: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    email_state: Mapped[str] = mapped_column(String(10), default="none")
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    read_at: Mapped[datetime | None]
