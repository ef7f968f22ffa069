"""Area alerts: residents subscribe to a daily digest of new public requests in an area.

``send_area_digests`` is a worker job. Once a day, from ``settings.digest_hour_utc`` (UTC) on,
each subscription not yet served since that day's digest hour gets one email listing the public
requests created in its area (and chosen categories) since its last digest; a subscription with
nothing new gets no email but is marked done. Tying the day to a fixed hour, rather than to
"24 hours after the last one", keeps the digest from drifting later every day.

The job reads subscriptions in batches by id (claimed with ``SKIP LOCKED`` on PostgreSQL) and
the requests through the ``(area_id, created_at)`` index; each batch is its own transaction.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from portal.areas.models import Area
from portal.auth.models import User
from portal.catalogue.models import ServiceCategory
from portal.core.config import Settings
from portal.core.db import Database
from portal.core.mail import queue_email
from portal.core.worker import register_job
from portal.requests import access
from portal.requests.models import AreaSubscription, ServiceRequest

DIGEST_LIMIT = 50
BATCH = 100
MAX_SUBSCRIPTIONS = 20


class AlertError(ValueError):
    """``code``: ``unknown_area``, ``unknown_category`` or ``too_many``."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


# -- subscriptions ---------------------------------------------------------------------------


def subscribe(
    session: Session, *, user: User, area_id: int, category_ids: list[int], now: datetime
) -> AreaSubscription:
    """Subscribe ``user`` to ``area_id`` (all categories when ``category_ids`` is empty).

    Subscribing again to the same area replaces the category choice. Raises ``AlertError``.
    """
    if session.get(Area, area_id) is None:
        raise AlertError("unknown_area")
    wanted = sorted(set(category_ids))
    if wanted:
        found = set(
            session.scalars(select(ServiceCategory.id).where(ServiceCategory.id.in_(wanted)))
        )
        if found != set(wanted):
            raise AlertError("unknown_category")
    subscription = session.scalar(
        select(AreaSubscription).where(
            AreaSubscription.user_id == user.id, AreaSubscription.area_id == area_id
        )
    )
    if subscription is None:
        count = (
            session.scalar(
                select(func.count())
                .select_from(AreaSubscription)
                .where(AreaSubscription.user_id == user.id)
            )
            or 0
        )
        if count >= MAX_SUBSCRIPTIONS:
            raise AlertError("too_many")
        subscription = AreaSubscription(
            user_id=user.id,
            area_id=area_id,
            token=secrets.token_urlsafe(32),
            created_at=now,
            last_digest_at=now,
        )
        session.add(subscription)
    subscription.category_ids = wanted
    session.flush()
    return subscription


def user_subscriptions(session: Session, *, user_id: int) -> list[AreaSubscription]:
    return list(
        session.scalars(
            select(AreaSubscription)
            .where(AreaSubscription.user_id == user_id)
            .options(selectinload(AreaSubscription.area))
            .order_by(AreaSubscription.id)
            .limit(MAX_SUBSCRIPTIONS)
        )
    )


def remove_subscription(session: Session, *, user_id: int, subscription_id: int) -> bool:
    """Delete one of ``user_id``'s subscriptions; False if it is not theirs or is gone."""
    subscription = session.get(AreaSubscription, subscription_id)
    if subscription is None or subscription.user_id != user_id:
        return False
    cancel(session, subscription=subscription)
    return True


def cancel(session: Session, *, subscription: AreaSubscription) -> None:
    """Delete a subscription (from its owner's page or the email's unsubscribe link)."""
    session.delete(subscription)
    session.flush()


def subscription_by_token(session: Session, token: str) -> AreaSubscription | None:
    if not token or len(token) > 64:
        return None
    return session.scalar(
        select(AreaSubscription)
        .where(AreaSubscription.token == token)
        .options(selectinload(AreaSubscription.area))
    )


def unsubscribe_url(settings: Settings, subscription: AreaSubscription) -> str:
    return f"{settings.base_url}/alerts/unsubscribe/{subscription.token}"


# -- the daily digest ------------------------------------------------------------------------


def digest_slot(settings: Settings, now: datetime) -> datetime | None:
    """Today's digest time, or None before it (then nothing is due)."""
    if now.hour < settings.digest_hour_utc:
        return None
    return now.replace(hour=settings.digest_hour_utc, minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class Digest:
    requests: list[ServiceRequest]
    more: int


def new_requests(
    session: Session, subscription: AreaSubscription, *, since: datetime, until: datetime
) -> Digest:
    """Public requests created in the subscription's area and categories in (since, until]."""
    condition: list[Any] = [
        ServiceRequest.area_id == subscription.area_id,
        ServiceRequest.created_at > since,
        ServiceRequest.created_at <= until,
        ServiceRequest.is_public.is_(True),
        ServiceRequest.reference.is_not(None),
    ]
    if subscription.category_ids:
        condition.append(ServiceRequest.category_id.in_(subscription.category_ids))
    rows = list(
        session.scalars(
            select(ServiceRequest)
            .where(*condition)
            .order_by(ServiceRequest.created_at, ServiceRequest.id)
            .limit(DIGEST_LIMIT + 1)
            .options(selectinload(ServiceRequest.category))
        )
    )
    more = 0
    if len(rows) > DIGEST_LIMIT:
        total = session.scalar(select(func.count()).select_from(ServiceRequest).where(*condition))
        more = (total or 0) - DIGEST_LIMIT
    return Digest(rows[:DIGEST_LIMIT], more)


def _due(slot: datetime) -> Any:
    return or_(AreaSubscription.last_digest_at.is_(None), AreaSubscription.last_digest_at < slot)


def _claim_batch(session: Session, *, slot: datetime, after_id: int) -> list[AreaSubscription]:
    query = (
        select(AreaSubscription)
        .where(_due(slot), AreaSubscription.id > after_id)
        .order_by(AreaSubscription.id)
        .limit(BATCH)
        .options(selectinload(AreaSubscription.user), selectinload(AreaSubscription.area))
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=AreaSubscription)
    return list(session.scalars(query))


def _send_one(
    session: Session, settings: Settings, subscription: AreaSubscription, now: datetime
) -> bool:
    since = subscription.last_digest_at or subscription.created_at
    digest = new_requests(session, subscription, since=since, until=now)
    subscription.last_digest_at = now
    if not digest.requests:
        return False
    user, area = subscription.user, subscription.area
    if user is None or area is None or not user.active or not user.email:
        return False
    locale = user.locale if user.locale in settings.languages else "en"
    items = [
        {
            "reference": sr.reference,
            "category": sr.category.t("name", locale),
            "address": sr.address,
            "link": access.public_link(settings, sr.reference or ""),
        }
        for sr in digest.requests
    ]
    message = queue_email(
        session,
        settings=settings,
        to=user.email,
        template="area_digest",
        locale=locale,
        context={
            "area": area.name,
            "items": items,
            "more": digest.more,
            "unsubscribe_url": unsubscribe_url(settings, subscription),
            "alerts_url": f"{settings.base_url}/my/alerts/",
        },
        dedupe_key=f"digest:{subscription.id}:{now:%Y-%m-%d}",
    )
    return message is not None


@register_job
def send_area_digests(db: Database, settings: Settings, now: datetime) -> int:
    """Send today's due digests; returns how many emails were queued (0: nothing to do).

    Harmless to re-run: a served subscription is not due again until tomorrow's slot.
    """
    slot = digest_slot(settings, now)
    if slot is None:
        return 0
    sent = 0
    after_id = 0
    while True:
        with db.transaction() as session:
            batch = _claim_batch(session, slot=slot, after_id=after_id)
            for subscription in batch:
                sent += _send_one(session, settings, subscription, now)
        if len(batch) < BATCH:
            return sent
        after_id = batch[-1].id


__all__ = ["Digest", "send_area_digests"]
