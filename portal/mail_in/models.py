"""Inbound mail: every message received, kept raw (compressed) whatever became of it."""

from __future__ import annotations

import zlib
from datetime import datetime

from sqlalchemy import Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.core import clock
from portal.core.db import Base
from portal.core.models import BigId

MAIL_STATES = ("received", "processed", "failed", "parked")
VIAS = ("smtp", "lmtp", "imap")


class InboundMail(Base):
    """One message as delivered. ``digest`` (sha256 of the raw bytes) is unique: the same
    message delivered twice is stored and processed once. ``state`` is "received" (stored,
    not processed yet), "processed", "failed" (retried at ``next_attempt_at``) or "parked"
    (given up after several attempts: an admin looks, ``last_error`` says why); ``outcome``
    says what processing did and ``request_id`` the case it landed on."""

    __tablename__ = "inbound_mails"
    __table_args__ = (
        Index("ix_inbound_mails_state_next", "state", "next_attempt_at"),
        Index("ix_inbound_mails_from_address", "from_address"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    received_at: Mapped[datetime] = mapped_column(default=clock.now)
    via: Mapped[str] = mapped_column(String(8))
    envelope_from: Mapped[str] = mapped_column(String(254), default="")
    envelope_to: Mapped[str] = mapped_column(String(1000), default="")
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    message_id: Mapped[str] = mapped_column(String(250), default="", index=True)
    from_address: Mapped[str] = mapped_column(String(254), default="")
    subject: Mapped[str] = mapped_column(String(300), default="")
    size: Mapped[int] = mapped_column(Integer)
    raw_gz: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    state: Mapped[str] = mapped_column(String(12), default="received")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=clock.now)
    last_error: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[str] = mapped_column(String(32), default="")
    request_id: Mapped[int | None] = mapped_column(BigId, index=True)
    processed_at: Mapped[datetime | None]

    def raw_bytes(self) -> bytes:
        """The message exactly as it was delivered."""
        return zlib.decompress(self.raw_gz)

    @property
    def envelope_recipients(self) -> list[str]:
        return [a for a in (self.envelope_to or "").split(",") if a]
