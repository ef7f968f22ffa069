"""Webhook endpoints and their delivery log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core import clock
from portal.core.db import Base
from portal.core.models import BigId, JsonDoc

DELIVERY_STATES = ("pending", "delivered", "failed")


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(200), default="")
    #: The event types it wants ("request.created", "request.status_changed", ...).
    events: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
    #: The signing secret, ``whsec_`` + base64 of 32 random bytes (Standard Webhooks). Kept
    #: readable: the admin may show it again, as Standard Webhooks providers do.
    secret: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Why it was switched off by the portal ("410 Gone"), empty otherwise.
    disabled_reason: Mapped[str] = mapped_column(String(200), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)
    secret_rotated_at: Mapped[datetime | None]


class WebhookDelivery(Base):
    """One event sent to one endpoint (one outbox message), with its fate."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        # The log of one endpoint, newest first (keyset on id).
        Index("ix_webhook_deliveries_endpoint_id", "endpoint_id", "id"),
        # The worker's purge of old rows.
        Index("ix_webhook_deliveries_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    #: The ``webhook-id`` header: the same for every attempt of this delivery.
    message_id: Mapped[str] = mapped_column(String(64), unique=True)
    #: The event's own id (``evt_...``), the same at every endpoint it was sent to.
    event_id: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(48))
    #: The JSON body exactly as posted (and signed).
    payload: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str] = mapped_column(Text, default="")
    last_attempt_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    outbox_id: Mapped[int | None] = mapped_column(BigId)

    endpoint: Mapped[WebhookEndpoint] = relationship()
