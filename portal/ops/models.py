"""The worker's heartbeat: one row per worker process, touched every round."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.core.db import Base


class WorkerHeartbeat(Base):
    """``worker`` is ``host:pid``; ``seen_at`` the start of its latest round."""

    __tablename__ = "worker_heartbeats"

    worker: Mapped[str] = mapped_column(String(120), primary_key=True)
    started_at: Mapped[datetime]
    seen_at: Mapped[datetime] = mapped_column(index=True)
    rounds: Mapped[int] = mapped_column(Integer, default=0)
