"""A task handed to an outside Open311 endpoint, and what that endpoint said about it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.casework.models import Task
from portal.core import clock
from portal.core.db import Base
from portal.core.models import BigId

#: ``posting``: queued in the outbox (or being retried); ``filed``: the endpoint has it (its
#: id, or a token still to be resolved to one); ``failed``: the last attempt failed, staff are
#: asked to act; ``closed``: the endpoint closed it and the task is done here.
OUTBOUND_STATES = ("posting", "filed", "failed", "closed")


class OutboundTask(Base):
    __tablename__ = "outbound_tasks"
    __table_args__ = (Index("ix_outbound_tasks_state_endpoint", "state", "endpoint", "polled_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), unique=True)
    #: The outside system's name, as staff know it ("Cityworks").
    system: Mapped[str] = mapped_column(String(120))
    #: Its Open311 base URL (".../open311/v2/"), jurisdiction and the environment variable its
    #: API key is read from (never the key itself), as configured when the task was posted.
    endpoint: Mapped[str] = mapped_column(String(300))
    jurisdiction_id: Mapped[str] = mapped_column(String(120), default="")
    api_key_env: Mapped[str] = mapped_column(String(120), default="")
    service_code: Mapped[str] = mapped_column(String(120))
    #: Sent as the POST's Idempotency-Key: every retry of this task's POST files it once.
    idempotency_key: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(12), default="posting")
    token: Mapped[str] = mapped_column(String(120), default="")
    external_id: Mapped[str] = mapped_column(String(120), default="")
    external_status: Mapped[str] = mapped_column(String(20), default="")
    status_notes: Mapped[str] = mapped_column(Text, default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    posted_at: Mapped[datetime | None]
    #: When the worker last asked the endpoint about it, and when it last answered.
    polled_at: Mapped[datetime | None]
    last_synced_at: Mapped[datetime | None]

    task: Mapped[Task] = relationship()
