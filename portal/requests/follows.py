"""Following a request (email updates) and supporting it ("me too").

A signed-in resident follows at once with their account's email; anyone else confirms by
email first (double opt-in), so nobody can sign a stranger up. Every follower has a random
token that is their unsubscribe link. Support is counted once per person: the ``Support`` row
is inserted with insert-on-conflict-do-nothing and the counter is bumped with one
``UPDATE ... SET support_count = support_count + 1`` only when that insert happened.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from portal.auth.models import User
from portal.core import clock
from portal.core.config import Settings
from portal.core.mail import queue_email
from portal.requests import access
from portal.requests.models import Follower, ServiceRequest, Support, SupportLimit
from portal.requests.updates import dedupe_key, resident_thread, unsubscribe_url

#: Anonymous support from one client address: one per request a day, this many an hour.
ANONYMOUS_SUPPORTS_PER_HOUR = 10
SUPPORT_LIMIT_KEPT = timedelta(days=1)


class NotPublic(ValueError):
    """Only public requests can be followed or supported."""


class SupportLimited(ValueError):
    """This client address has supported this request today, or too many requests this hour."""


def address_hash(settings: Settings, address: str) -> str:
    """The HMAC-SHA256 of a client address with the app's secret key: what support limits
    keep, so the address itself is never stored."""
    key = settings.secret_key.encode()
    return hmac.new(key, f"support-address:{address}".encode(), hashlib.sha256).hexdigest()


def _normal_email(email: str) -> str:
    return (email or "").strip().lower()


def follow_request(
    session: Session,
    *,
    settings: Settings,
    request: ServiceRequest,
    email: str,
    user: User | None = None,
    locale: str,
) -> Follower:
    """Follow ``request`` by email; returns the (new or existing) ``Follower``.

    With ``user`` the follow uses the account's email and is confirmed at once. Otherwise it
    stays unconfirmed until the emailed link is opened (at most one such email per address,
    request and day). Following again never duplicates. Raises ``NotPublic``.
    """
    if not request.is_public:
        raise NotPublic(request.reference)
    address = _normal_email(user.email if user is not None else email)
    if not address:
        raise ValueError("an email address is needed to follow a request")
    follower = session.scalar(
        select(Follower).where(Follower.request_id == request.id, Follower.email == address)
    )
    now = clock.now()
    if follower is None:
        follower = Follower(
            request_id=request.id,
            email=address,
            locale=locale,
            token=secrets.token_urlsafe(32),
            created_at=now,
        )
        session.add(follower)
    if user is not None:
        follower.user_id = user.id
        follower.locale = user.locale or locale
        if follower.confirmed_at is None:
            follower.confirmed_at = now
    session.flush()
    if follower.confirmed_at is None:
        _queue_confirmation(
            session, settings=settings, request=request, follower=follower, locale=locale
        )
    return follower


def _queue_confirmation(
    session: Session,
    *,
    settings: Settings,
    request: ServiceRequest,
    follower: Follower,
    locale: str,
) -> None:
    locale = locale if locale in settings.languages else "en"
    queue_email(
        session,
        settings=settings,
        to=follower.email,
        template="follow_confirm",
        locale=locale,
        context={
            "reference": request.reference,
            "category": request.category.t("name", locale),
            "confirm_url": f"{settings.base_url}/follow/confirm/{follower.token}",
            "link": access.public_link(settings, request.reference or ""),
        },
        dedupe_key=dedupe_key(
            f"follow-confirm:{follower.id}:{clock.now():%Y-%m-%d}", follower.email
        ),
        thread=resident_thread(request, user_id=follower.user_id),
    )


def follower_by_token(session: Session, token: str) -> Follower | None:
    if not token or len(token) > 64:
        return None
    return session.scalar(select(Follower).where(Follower.token == token))


def confirm_follow(session: Session, *, token: str) -> Follower | None:
    """Confirm the follow behind an emailed link (again is harmless); None for a bad token."""
    follower = follower_by_token(session, token)
    if follower is None:
        return None
    if follower.confirmed_at is None:
        follower.confirmed_at = clock.now()
        session.flush()
    return follower


def unfollow(session: Session, *, follower: Follower) -> None:
    """Stop the emails: the follower row is deleted (its token stops working)."""
    session.delete(follower)
    session.flush()


def support_request(
    session: Session,
    *,
    request: ServiceRequest,
    supporter_key: str,
    user_id: int | None,
    address: str | None = None,
) -> bool:
    """Add one "me too" from ``supporter_key`` (``u:<user id>`` or ``a:<browser key>``).

    Returns True when counted, False when this supporter had already supported it. Safe under
    concurrency: the unique (request, supporter) row decides, the counter follows it.
    ``address`` (an ``address_hash``) is the client's, for anonymous support: a browser key is
    only a cookie, so one address counts once per request a day and at most
    ``ANONYMOUS_SUPPORTS_PER_HOUR`` times an hour, else ``SupportLimited`` is raised.
    Raises ``NotPublic``.
    """
    if not request.is_public:
        raise NotPublic(request.reference)
    if user_id is None and address is not None:
        if has_supported(session, request=request, supporter_key=supporter_key):
            return False
        _count_address(session, request=request, address=address)
    return _insert_support(session, request=request, supporter_key=supporter_key, user_id=user_id)


def _insert_or_nothing(
    session: Session,
    model: type[Support] | type[SupportLimit],
    values: dict[str, Any],
    returning: Any,
) -> int | None:
    """Insert a row unless it breaks a unique constraint; its id, or None when it did."""
    dialect = session.get_bind().dialect.name
    insert: postgresql.Insert | sqlite.Insert
    if dialect == "postgresql":
        insert = postgresql.insert(model).values(**values).on_conflict_do_nothing()
    elif dialect == "sqlite":
        insert = sqlite.insert(model).values(**values).on_conflict_do_nothing()
    else:  # pragma: no cover - the portal runs on PostgreSQL or SQLite
        raise RuntimeError(f"unsupported database {dialect}")
    return session.execute(insert.returning(returning)).scalar_one_or_none()


def _count_address(session: Session, *, request: ServiceRequest, address: str) -> None:
    """Record one anonymous support from ``address`` or raise ``SupportLimited``."""
    now = clock.now()
    this_hour = session.scalar(
        select(func.count())
        .select_from(SupportLimit)
        .where(
            SupportLimit.address_hash == address,
            SupportLimit.created_at > now - timedelta(hours=1),
        )
    )
    if (this_hour or 0) >= ANONYMOUS_SUPPORTS_PER_HOUR:
        raise SupportLimited(request.reference)
    # A row older than a day that the worker has not deleted yet no longer counts.
    session.execute(
        delete(SupportLimit).where(
            SupportLimit.request_id == request.id,
            SupportLimit.address_hash == address,
            SupportLimit.created_at <= now - SUPPORT_LIMIT_KEPT,
        )
    )
    recorded = _insert_or_nothing(
        session,
        SupportLimit,
        {"request_id": request.id, "address_hash": address, "created_at": now},
        SupportLimit.id,
    )
    if recorded is None:
        raise SupportLimited(request.reference)


def sweep_support_limits(session: Session, *, now: datetime, batch: int = 5000) -> int:
    """Delete the support limits older than a day, a batch at a time; returns how many."""
    old = select(SupportLimit.id).where(SupportLimit.created_at <= now - SUPPORT_LIMIT_KEPT)
    removed = 0
    while ids := list(session.scalars(old.limit(batch))):
        session.execute(delete(SupportLimit).where(SupportLimit.id.in_(ids)))
        removed += len(ids)
    return removed


def _insert_support(
    session: Session, *, request: ServiceRequest, supporter_key: str, user_id: int | None
) -> bool:
    values = {
        "request_id": request.id,
        "supporter_key": supporter_key[:80],
        "user_id": user_id,
        "created_at": clock.now(),
    }
    inserted = _insert_or_nothing(session, Support, values, Support.id)
    if inserted is None:
        return False
    session.execute(
        update(ServiceRequest)
        .where(ServiceRequest.id == request.id)
        .values(support_count=ServiceRequest.support_count + 1),
        execution_options={"synchronize_session": False},
    )
    session.expire(request, ["support_count"])
    return True


def has_supported(session: Session, *, request: ServiceRequest, supporter_key: str) -> bool:
    return (
        session.scalar(
            select(Support.id).where(
                Support.request_id == request.id, Support.supporter_key == supporter_key
            )
        )
        is not None
    )


__all__ = [
    "NotPublic",
    "SupportLimited",
    "address_hash",
    "sweep_support_limits",
    "confirm_follow",
    "follow_request",
    "follower_by_token",
    "has_supported",
    "support_request",
    "unfollow",
    "unsubscribe_url",
]
