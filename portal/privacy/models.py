"""Residents' data rights: downloads of their data, and what the retention sweep has done."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.core import clock
from portal.core.db import Base
from portal.core.models import BigId

#: pending (the worker has yet to build it), ready (emailed, not downloaded), downloaded (the
#: file is gone), expired (not downloaded in time; the file is gone), failed.
EXPORT_STATES = ("pending", "ready", "downloaded", "expired", "failed")


class DataExport(Base):
    """One "download my data" request: built by the worker, emailed as a single-use link whose
    token only the hash of is stored."""

    __tablename__ = "data_exports"
    __table_args__ = (
        Index("ix_data_exports_user_created", "user_id", "created_at"),
        Index("ix_data_exports_state_id", "state", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(12), default="pending")
    locale: Mapped[str] = mapped_column(String(8), default="en")
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    #: The ZIP's name under the exports folder (generated, never from input).
    file_name: Mapped[str] = mapped_column(String(80), default="")
    size_bytes: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    ready_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    downloaded_at: Mapped[datetime | None]


class RequestRedaction(Base):
    """A closed request whose reporter's contact details and free text the retention sweep
    removed (so the sweep never does it twice)."""

    __tablename__ = "request_redactions"

    request_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("service_requests.id", ondelete="CASCADE"), primary_key=True
    )
    done_at: Mapped[datetime] = mapped_column(default=clock.now)
