"""The transactional outbox: rendered messages written with the change that causes them, and
delivered by the worker (``portal.core.worker``) with retries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.core import clock
from portal.core.db import Base
from portal.core.models import BigId

OUTBOX_STATES = ("pending", "sending", "sent", "failed")


class OutboxMessage(Base):
    __tablename__ = "outbox_messages"
    __table_args__ = (
        Index("ix_outbox_messages_state_next", "state", "next_attempt_at"),
        Index("ix_outbox_messages_thread", "thread_ref", "to_address", "id"),
        Index("ux_outbox_messages_message_id", "message_id", unique=True),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(48))
    #: How it is delivered: "email" (``to_address`` is the address) or a channel registered
    #: with ``portal.core.senders.register_channel`` ("push": ``to_address`` is the push
    #: subscription's id, ``subject`` the title and ``body_text`` the JSON payload).
    channel: Mapped[str] = mapped_column(String(8), default="email", server_default="email")
    # Optional idempotency key: the same logical message is never queued twice.
    dedupe_key: Mapped[str | None] = mapped_column(String(160), unique=True)
    to_address: Mapped[str] = mapped_column(String(254))
    locale: Mapped[str] = mapped_column(String(8), default="en")
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=clock.now)
    # While "sending", the claim expires here so a crashed worker's message is retried.
    claimed_until: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    sent_at: Mapped[datetime | None]
    # Threading (an email about a case; see portal.core.mail.MailThread): the RFC 5322
    # Message-ID chosen when queued (kept across retries), the case's reference, the
    # Reply-To that brings an answer back to the case, and In-Reply-To/References chaining
    # the earlier messages of the case to this recipient. Empty for mail about no case.
    message_id: Mapped[str | None] = mapped_column(String(250))
    thread_ref: Mapped[str | None] = mapped_column(String(40))
    reply_to: Mapped[str] = mapped_column(String(254), default="", server_default="")
    in_reply_to: Mapped[str] = mapped_column(String(250), default="", server_default="")
    references_header: Mapped[str] = mapped_column(Text, default="", server_default="")
