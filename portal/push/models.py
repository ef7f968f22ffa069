"""A device subscribed to Web Push notifications."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.core import clock
from portal.core.db import Base
from portal.core.models import BigId


class PushSubscription(Base):
    """One browser's push subscription (RFC 8030 endpoint, RFC 8291 keys)."""

    __tablename__ = "push_subscriptions"
    __table_args__ = (
        Index("ix_push_subscriptions_user", "user_id"),
        Index("ix_push_subscriptions_request", "request_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: The push service's URL for this browser; its SHA-256 (hex) is unique.
    endpoint: Mapped[str] = mapped_column(Text)
    endpoint_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: The browser's P-256 public key (65-byte uncompressed point) and auth secret, base64url.
    p256dh: Mapped[str] = mapped_column(String(100))
    auth: Mapped[str] = mapped_column(String(40))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_requests.id", ondelete="CASCADE")
    )
    language: Mapped[str] = mapped_column(String(8), default="en")
    #: Which device, as the resident sees it in their settings ("Chrome on Android").
    device_label: Mapped[str] = mapped_column(String(80), default="")
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    last_success_at: Mapped[datetime | None]
