"""Admins' changes to webhook endpoints (each audited, entity ``webhook_endpoint``), the delivery
log, redelivery, the test event, and the worker's purge of old deliveries. No Flask."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from portal.auth.models import User
from portal.core.audit import AuditEntry
from portal.core.config import Settings
from portal.core.db import Database
from portal.core.outbox import OutboxMessage
from portal.webhooks import events, signing
from portal.webhooks.models import WebhookDelivery, WebhookEndpoint
from portal.webhooks.urls import BadUrl, check_url

DESCRIPTION_MAX = 200
PAGE_SIZE = 25


class EndpointError(ValueError):
    """What is wrong with an endpoint, as ``{field: code}``: url (required, too_long, invalid,
    scheme, private), description (too_long), events (unknown)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(", ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def clean(
    settings: Settings, *, url: str, description: str, event_types: list[str]
) -> tuple[str, str, list[str]]:
    """The URL, description and events as stored; raises ``EndpointError`` with every
    problem. No events at all is allowed (an endpoint that only gets test events)."""
    errors: dict[str, str] = {}
    try:
        url = check_url(settings, url)
    except BadUrl as exc:
        errors["url"] = exc.code
    description = " ".join((description or "").split())
    if len(description) > DESCRIPTION_MAX:
        errors["description"] = "too_long"
    chosen = [e for e in events.EVENT_TYPES if e in set(event_types or [])]
    if set(event_types or []) - set(events.EVENT_TYPES):
        errors["events"] = "unknown"
    if errors:
        raise EndpointError(errors)
    return url, description, chosen


def _snapshot(endpoint: WebhookEndpoint) -> dict[str, Any]:
    """What the audit trail keeps: never the secret."""
    return {
        "url": endpoint.url,
        "description": endpoint.description,
        "events": list(endpoint.events or []),
        "active": endpoint.active,
    }


def _audit(
    session: Session,
    endpoint: WebhookEndpoint,
    *,
    action: str,
    by: User | None,
    before: dict[str, Any],
    after: dict[str, Any],
    now: datetime,
) -> None:
    session.add(
        AuditEntry(
            actor_id=by.id if by else None,
            entity="webhook_endpoint",
            entity_id=str(endpoint.id),
            action=action,
            before=before,
            after=after,
            created_at=now,
        )
    )
    session.flush()


def create_endpoint(
    session: Session,
    *,
    settings: Settings,
    url: str,
    description: str,
    event_types: list[str],
    active: bool = True,
    by: User | None,
    now: datetime,
) -> WebhookEndpoint:
    """A new endpoint with a new secret. Raises ``EndpointError``. Flushes."""
    url, description, chosen = clean(
        settings, url=url, description=description, event_types=event_types
    )
    endpoint = WebhookEndpoint(
        url=url,
        description=description,
        events=chosen,
        secret=signing.new_secret(),
        active=active,
        disabled_reason="",
        created_by_id=by.id if by else None,
        created_at=now,
        updated_at=now,
    )
    session.add(endpoint)
    session.flush()
    _audit(session, endpoint, action="create", by=by, before={}, after=_snapshot(endpoint), now=now)
    return endpoint


def update_endpoint(
    session: Session,
    endpoint: WebhookEndpoint,
    *,
    settings: Settings,
    url: str,
    description: str,
    event_types: list[str],
    active: bool,
    by: User | None,
    now: datetime,
) -> bool:
    """Change an endpoint; False when nothing changed (nothing written). Raises
    ``EndpointError``. Switching it back on clears why it was switched off."""
    url, description, chosen = clean(
        settings, url=url, description=description, event_types=event_types
    )
    before = _snapshot(endpoint)
    endpoint.url, endpoint.description, endpoint.events = url, description, chosen
    endpoint.active = active
    after = _snapshot(endpoint)
    if after == before:
        return False
    if active:
        endpoint.disabled_reason = ""
    endpoint.updated_at = now
    _audit(session, endpoint, action="update", by=by, before=before, after=after, now=now)
    return True


def rotate_secret(
    session: Session, endpoint: WebhookEndpoint, *, by: User | None, now: datetime
) -> str:
    """A new secret (the old one stops signing at once); returns it. Audited."""
    endpoint.secret = signing.new_secret()
    endpoint.secret_rotated_at = now
    endpoint.updated_at = now
    _audit(session, endpoint, action="rotate_secret", by=by, before={}, after={}, now=now)
    return endpoint.secret


def record_secret_shown(
    session: Session, endpoint: WebhookEndpoint, *, by: User | None, now: datetime
) -> None:
    """Who looked at the secret, and when (the audit trail)."""
    _audit(session, endpoint, action="show_secret", by=by, before={}, after={}, now=now)


def send_test(session: Session, endpoint: WebhookEndpoint, *, now: datetime) -> WebhookDelivery:
    """A ``webhook.test`` event to this endpoint alone, through the outbox like any other."""
    data = {"message": "A test event from the portal.", "endpoint_id": endpoint.id}
    [delivery] = events.emit(session, events.TEST, data, now=now, endpoint_id=endpoint.id)
    return delivery


def redeliver(session: Session, delivery: WebhookDelivery) -> bool:
    """Send ``delivery`` again (same ``webhook-id`` and body, newly signed); False while it is
    still waiting to be sent."""
    if delivery.state == "pending":
        return False
    events.queue_messages(session, [delivery])
    return True


def list_endpoints(session: Session) -> list[WebhookEndpoint]:
    return list(session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))


def get_endpoint(session: Session, endpoint_id: int) -> WebhookEndpoint | None:
    return session.get(WebhookEndpoint, endpoint_id)


def get_delivery(session: Session, endpoint_id: int, delivery_id: int) -> WebhookDelivery | None:
    delivery = session.get(WebhookDelivery, delivery_id)
    return delivery if delivery is not None and delivery.endpoint_id == endpoint_id else None


@dataclass(frozen=True)
class DeliveryRow:
    delivery: WebhookDelivery
    #: When the outbox tries again (a pending delivery), else None.
    next_attempt_at: datetime | None


@dataclass(frozen=True)
class DeliveryPage:
    rows: list[DeliveryRow]
    next_before: int | None


def list_deliveries(
    session: Session, endpoint_id: int, *, before: int | None = None, limit: int = PAGE_SIZE
) -> DeliveryPage:
    """An endpoint's deliveries, newest first, a page at a time (keyset on id)."""
    query = (
        select(WebhookDelivery, OutboxMessage.next_attempt_at, OutboxMessage.state)
        .outerjoin(OutboxMessage, OutboxMessage.id == WebhookDelivery.outbox_id)
        .where(WebhookDelivery.endpoint_id == endpoint_id)
        .order_by(WebhookDelivery.id.desc())
        .limit(limit + 1)
    )
    if before is not None:
        query = query.where(WebhookDelivery.id < before)
    found = list(session.execute(query))
    more = len(found) > limit
    rows = [
        DeliveryRow(d, next_at if d.state == "pending" and state == "pending" else None)
        for d, next_at, state in found[:limit]
    ]
    return DeliveryPage(rows, rows[-1].delivery.id if more and rows else None)


def purge_deliveries(session: Session, *, settings: Settings, now: datetime) -> int:
    """Delete finished deliveries older than ``webhook_log_days``."""
    cutoff = now - timedelta(days=settings.webhook_log_days)
    result = session.execute(
        delete(WebhookDelivery).where(
            WebhookDelivery.created_at < cutoff, WebhookDelivery.state != "pending"
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def purge_webhook_deliveries(db: Database, settings: Settings, now: datetime) -> str | None:
    """The worker's job: the delivery log keeps ``webhook_log_days`` days."""
    with db.transaction() as session:
        removed = purge_deliveries(session, settings=settings, now=now)
    return f"purged {removed} webhook deliveries" if removed else None
