"""API keys for the Open311 API. The key itself is shown once, when it is made; only its
sha256 is stored. Each key has its own rate limits (posts, reads) and records its use."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.core import clock
from portal.core.db import Base


class ApiKey(Base):
    __tablename__ = "api_keys"
    __table_args__ = (Index("ix_api_keys_revoked_created", "revoked_at", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Who uses it ("FixIt mobile app", "County 311 bridge").
    label: Mapped[str] = mapped_column(String(120))
    #: The first characters of the key, to tell keys apart in lists and logs.
    prefix: Mapped[str] = mapped_column(String(12))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: A Flask-Limiter rate ("60/minute", "1000/hour;60/minute").
    rate_limit: Mapped[str] = mapped_column(String(60), default="60/minute")
    #: Its own limit for reads (every GET resource), instead of the per-address one.
    read_rate_limit: Mapped[str] = mapped_column(
        String(60), default="1000/minute", server_default="1000/minute"
    )
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    #: Web origins of the app using the key, one a line ("https://app.example.org"): it may
    #: read and file requests from a browser there (CORS; portal.open311.origins).
    allowed_origins: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    last_used_at: Mapped[datetime | None]
    #: Requests made with the key (every authenticated call), and requests it filed.
    use_count: Mapped[int] = mapped_column(BigInteger, default=0)
    filed_count: Mapped[int] = mapped_column(BigInteger, default=0)

    @property
    def active(self) -> bool:
        return self.revoked_at is None
