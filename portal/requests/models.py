"""The case a resident files, its photos, timeline, supporters, followers and drafts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.areas.models import Area
from portal.auth.models import User
from portal.catalogue.models import Department, ServiceCategory
from portal.core import clock
from portal.core.db import Base
from portal.core.models import BigId, JsonDoc, Timestamped

STATUSES = (
    "new",
    "acknowledged",
    "in_progress",
    "waiting_on_resident",
    "waiting_on_third_party",
    "scheduled",
    "resolved",
    "closed",
    "rejected",
    "duplicate",
)
OPEN_STATUSES = (
    "new",
    "acknowledged",
    "in_progress",
    "waiting_on_resident",
    "waiting_on_third_party",
    "scheduled",
)
CLOSED_STATUSES = ("resolved", "closed", "rejected", "duplicate")
CHANNELS = ("web", "mobile", "phone", "walk_in", "email", "social", "api")
PRIORITIES = ("low", "normal", "high", "urgent")

#: Allowed status changes. The same table serves residents (reopen) and staff.
_WAITS = ("waiting_on_resident", "waiting_on_third_party", "scheduled")
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "new": ("acknowledged", "in_progress", *_WAITS, "resolved", "rejected", "duplicate"),
    "acknowledged": ("in_progress", *_WAITS, "resolved", "rejected", "duplicate"),
    "in_progress": (*_WAITS, "resolved", "rejected", "duplicate"),
    "waiting_on_resident": (
        "in_progress",
        "waiting_on_third_party",
        "scheduled",
        "resolved",
        "rejected",
        "duplicate",
    ),
    "waiting_on_third_party": (
        "in_progress",
        "waiting_on_resident",
        "scheduled",
        "resolved",
        "rejected",
        "duplicate",
    ),
    "scheduled": (
        "in_progress",
        "waiting_on_resident",
        "waiting_on_third_party",
        "resolved",
        "rejected",
        "duplicate",
    ),
    "resolved": ("closed", "in_progress"),
    "closed": ("in_progress",),
    "rejected": ("in_progress",),
    "duplicate": ("in_progress",),
}


class InvalidTransition(Exception):
    """A status change the lifecycle does not allow."""

    def __init__(self, current: str, target: str) -> None:
        super().__init__(f"cannot move a request from {current} to {target}")
        self.current = current
        self.target = target


class ServiceRequest(Base):
    __tablename__ = "service_requests"
    __table_args__ = (
        Index("ix_service_requests_category_open_lat", "category_id", "is_open", "lat"),
        Index("ix_service_requests_reporter_created", "reporter_id", "created_at"),
        Index("ix_service_requests_area_created", "area_id", "created_at"),
        Index("ix_service_requests_status_created", "status", "created_at"),
        Index("ix_service_requests_updated", "updated_at"),
        Index("ix_service_requests_public_created", "is_public", "created_at"),
        Index("ix_service_requests_created_id", "created_at", "id"),
        # Equity (portal.reports.equity): the later reports merged into an incident, how many
        # and the first (count and min(created_at) per incident read from the index alone;
        # with duplicate_of_id alone SQLite found that min by walking created_at's index).
        Index("ix_service_requests_duplicate_of_created", "duplicate_of_id", "created_at"),
        #: Open311 lists by service code over a date range.
        Index("ix_service_requests_category_created", "category_id", "created_at"),
        Index("ix_service_requests_api_token", "api_token", unique=True),
        #: Hotspots count requests by area and category over a date range.
        Index("ix_service_requests_area_created_category", "area_id", "created_at", "category_id"),
        #: Public maps: public (open) requests in a lat/lon box, any category.
        Index("ix_service_requests_public_open_lat_lon", "is_public", "is_open", "lat", "lon"),
        # The case page's Related panel and the staff resident page (migration 0025): the
        # requests at one address point, of one contact address, and at one address text.
        Index("ix_service_requests_point_created", "address_point_id", "created_at"),
        Index("ix_service_requests_contact_created", "contact_email", "created_at"),
        Index("ix_service_requests_address_lower", text("lower(address)")),
        # Possible duplicates (migration 0029): every request, open or closed, public or not,
        # in a lat range, lon, filing time and openness checked in the index (PostgreSQL: one
        # bitmap scan for the recent requests, one for the open ones, then only those read).
        Index("ix_service_requests_lat_lon_created_open", "lat", "lon", "created_at", "is_open"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    reference: Mapped[str | None] = mapped_column(String(24), unique=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("service_categories.id"))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    answers: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    address: Mapped[str] = mapped_column(String(300), default="")
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    channel: Mapped[str] = mapped_column(String(16), default="web")
    #: Which one of the channel: the app (its API key's label, as filed) for ``api``.
    channel_detail: Mapped[str] = mapped_column(String(120), default="", server_default="")
    status: Mapped[str] = mapped_column(String(24), default="new")
    is_open: Mapped[bool] = mapped_column(Boolean, default=True)
    priority: Mapped[str] = mapped_column(String(10), default="normal")
    # The reporter: an account, or contact details with a private tracking token.
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    contact_name: Mapped[str] = mapped_column(String(120), default="")
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    contact_phone: Mapped[str] = mapped_column(String(40), default="")
    locale: Mapped[str] = mapped_column(String(8), default="en")
    tracking_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Private by the reporter's choice or because the category is private.
    private_by_reporter: Mapped[bool] = mapped_column(Boolean, default=False)
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)
    support_count: Mapped[int] = mapped_column(Integer, default=0)
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("service_requests.id"))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)
    status_changed_at: Mapped[datetime] = mapped_column(default=clock.now)
    resolved_at: Mapped[datetime | None]
    #: The resident-facing promise: the case resolution clock's due time (null while paused).
    expected_at: Mapped[datetime | None]
    #: Open311: a link to media the reporting app holds, and the app's address id.
    media_url: Mapped[str] = mapped_column(String(500), default="", server_default="")
    address_id: Mapped[str] = mapped_column(String(64), default="", server_default="")
    #: The city's address point the address names (portal.places), and how the address was
    #: placed: "" (none typed, or a map point), "found", "not_found" (kept as text until staff
    #: place it), "placed" (staff placed it). No foreign key (migration 0019 says why).
    address_point_id: Mapped[int | None] = mapped_column(BigId)
    location_status: Mapped[str] = mapped_column(String(16), default="", server_default="")
    #: The city asset the resident picked (the category's asset layer): its row, and its id in
    #: the city's data ("SL-1042") and label, kept as filed even if the asset later leaves the
    #: city's files. No foreign key (migration 0021 says why).
    asset_id: Mapped[int | None] = mapped_column(BigId)
    asset_ref: Mapped[str] = mapped_column(String(64), default="", server_default="")
    asset_label: Mapped[str] = mapped_column(String(120), default="", server_default="")
    #: Open311: the API key that filed it, and the token a client may look it up by.
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id", ondelete="SET NULL"))
    api_token: Mapped[str | None] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    category: Mapped[ServiceCategory] = relationship()
    department: Mapped[Department] = relationship()
    area: Mapped[Area | None] = relationship()
    reporter: Mapped[User | None] = relationship()
    photos: Mapped[list[RequestPhoto]] = relationship(
        back_populates="request", order_by="RequestPhoto.id"
    )

    def can_move_to(self, target: str) -> bool:
        return target in TRANSITIONS.get(self.status, ())

    def move_to(self, target: str) -> str:
        """Change status or raise ``InvalidTransition``; returns the previous status."""
        if not self.can_move_to(target):
            raise InvalidTransition(self.status, target)
        previous = self.status
        now = clock.now()
        self.status = target
        self.is_open = target in OPEN_STATUSES
        self.status_changed_at = now
        self.updated_at = now
        if target == "resolved":
            self.resolved_at = now
        elif target in OPEN_STATUSES:
            self.resolved_at = None
        return previous

    @property
    def reporter_email(self) -> str:
        if self.reporter is not None:
            return self.reporter.email
        return self.contact_email


class RequestPhoto(Timestamped, Base):
    """A re-encoded photo (metadata stripped). Belongs to a draft until the request is filed."""

    __tablename__ = "request_photos"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_requests.id", ondelete="CASCADE"), index=True
    )
    draft_id: Mapped[int | None] = mapped_column(
        ForeignKey("request_drafts.id", ondelete="SET NULL"), index=True
    )
    storage_key: Mapped[str] = mapped_column(String(80), unique=True)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    size_bytes: Mapped[int] = mapped_column(Integer)
    original_name: Mapped[str] = mapped_column(String(200), default="")
    added_by: Mapped[str] = mapped_column(String(16), default="reporter")  # reporter|staff
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Perceptual hash (pHash, 64 bits as 16 hex digits) of the stored picture: the same scene
    #: re-encoded, resized or slightly cropped hashes within a few bits (possible duplicates).
    phash: Mapped[str | None] = mapped_column(String(16))

    request: Mapped[ServiceRequest | None] = relationship(back_populates="photos")


class Event(Base):
    """Append-only timeline and audit record of a request."""

    __tablename__ = "request_events"
    __table_args__ = (
        Index("ix_request_events_request_id_id", "request_id", "id"),
        Index("ix_request_events_actor_created", "actor_id", "created_at"),
        Index("ix_request_events_created", "created_at"),
        # Reports: reopenings and resolutions (status changes) in a period.
        Index("ix_request_events_kind_created", "kind", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_requests.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Who the public sees: "resident", "staff" or a department name; never a resident's name.
    actor_kind: Mapped[str] = mapped_column(String(16), default="system")
    body: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)

    actor: Mapped[User | None] = relationship()


class Support(Timestamped, Base):
    """A "me too" on a request. ``supporter_key`` is ``u:<user id>`` or ``a:<browser key>``."""

    __tablename__ = "request_supports"
    __table_args__ = (UniqueConstraint("request_id", "supporter_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_requests.id", ondelete="CASCADE"))
    supporter_key: Mapped[str] = mapped_column(String(80))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class SupportLimit(Base):
    """An anonymous "me too" counted from one client address, kept a day (the worker deletes
    older rows): one per address and request, and at most so many per address an hour.
    ``address_hash`` is an HMAC of the address with the app's secret key, never the address."""

    __tablename__ = "request_support_limits"
    __table_args__ = (
        UniqueConstraint("request_id", "address_hash"),
        Index("ix_request_support_limits_address_created", "address_hash", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_requests.id", ondelete="CASCADE"))
    address_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=clock.now, index=True)


class Follower(Timestamped, Base):
    """Someone who gets email updates about a request. Anonymous follows are confirmed."""

    __tablename__ = "request_followers"
    __table_args__ = (
        UniqueConstraint("request_id", "email"),
        Index("ix_request_followers_email", "email"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("service_requests.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(254))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    locale: Mapped[str] = mapped_column(String(8), default="en")
    token: Mapped[str] = mapped_column(String(64), unique=True)
    confirmed_at: Mapped[datetime | None]


class RequestDraft(Base):
    """What a resident has entered so far in the multi-step form (server side, not a cookie)."""

    __tablename__ = "request_drafts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    data: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class AreaSubscription(Timestamped, Base):
    """A resident's daily digest of new requests in one area (optionally some categories)."""

    __tablename__ = "area_subscriptions"
    __table_args__ = (
        UniqueConstraint("user_id", "area_id"),
        # The digest job finds due subscriptions by this, every worker round.
        Index("ix_area_subscriptions_last_digest_at", "last_digest_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id", ondelete="CASCADE"))
    category_ids: Mapped[list[int]] = mapped_column(JsonDoc, default=list)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    last_digest_at: Mapped[datetime | None]

    area: Mapped[Area] = relationship()
    user: Mapped[User] = relationship()
