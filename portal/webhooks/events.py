"""Webhook events: what is sent, and the fan-out of one event to every endpoint that wants it.

The body is Standard Webhooks' recommended shape, ``{"type", "timestamp", "data"}`` plus the
event's own ``id``; ``data.request`` is the request exactly as the public Open311 API shows it
(``portal.open311.serialize.request_row``, in English): nothing about the resident. Requests
that are not public (private categories) send no events.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.casework.models import Task
from portal.core import clock
from portal.core.config import Settings
from portal.core.outbox import OutboxMessage
from portal.open311 import serialize
from portal.requests.models import Event, ServiceRequest
from portal.webhooks.models import WebhookDelivery, WebhookEndpoint

REQUEST_CREATED = "request.created"
STATUS_CHANGED = "request.status_changed"
TASK_ADDED = "task.added"
TASK_DONE = "task.done"
COMMENT_ADDED = "comment.added"
TEST = "webhook.test"
#: The events an endpoint may subscribe to, in the order the form lists them.
EVENT_TYPES = (REQUEST_CREATED, STATUS_CHANGED, TASK_ADDED, TASK_DONE, COMMENT_ADDED)
CHANNEL = "webhook"


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"not JSON: {type(value).__name__}")


def dumps(body: dict[str, Any]) -> str:
    return json.dumps(body, default=_json_default, ensure_ascii=False, separators=(",", ":"))


def city_settings(settings: Settings | None) -> Settings:
    """The settings the Open311 row needs (the city's time zone). Task hooks carry none: the
    city's zone is then the one ``create_app`` gave the clock (photo addresses are not used)."""
    if settings is not None:
        return settings
    return replace(Settings(), timezone=clock.city_zone())


def request_data(
    request: ServiceRequest, settings: Settings | None, *, status_notes: str | None = None
) -> dict[str, Any]:
    """The request as ``GET requests/{id}`` shows it (``status_notes``: the public note that
    came with a status change)."""
    return serialize.request_row(
        request, settings=city_settings(settings), status_notes=status_notes
    )


def task_data(task: Task) -> dict[str, Any]:
    """A task as integrators see it: what and who (the department), never the assignee."""
    return {
        "id": task.id,
        "title": task.title,
        "department": task.department.name if task.department else None,
        "status": task.status,
        "created_at": task.created_at,
        "closed_at": task.closed_at,
    }


def comment_data(event: Event, settings: Settings | None) -> dict[str, Any]:
    """A public comment as an Open311 note, and who wrote it ("staff" or "resident")."""
    note = serialize.note_row(event, city_settings(settings))
    note["author"] = "resident" if event.actor_kind == "resident" else "staff"
    return note


def _wanted(session: Session, event_type: str, endpoint_id: int | None) -> list[WebhookEndpoint]:
    query = select(WebhookEndpoint).order_by(WebhookEndpoint.id)
    if endpoint_id is not None:
        return list(session.scalars(query.where(WebhookEndpoint.id == endpoint_id)))
    endpoints = session.scalars(query.where(WebhookEndpoint.active.is_(True)))
    return [e for e in endpoints if event_type in (e.events or [])]


def subscribed(session: Session, *event_types: str) -> bool:
    """Whether any active endpoint wants one of ``event_types``: one small read, so that a
    city with no webhooks pays nothing more on filing, status changes and comments (the
    event's data is built only when someone will receive it)."""
    wanted = set(event_types)
    rows = session.scalars(select(WebhookEndpoint.events).where(WebhookEndpoint.active.is_(True)))
    return any(wanted.intersection(events or []) for events in rows)


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(18)}"


def _delivery(
    endpoint: WebhookEndpoint, *, event_id: str, event_type: str, body: str
) -> WebhookDelivery:
    return WebhookDelivery(
        endpoint_id=endpoint.id,
        message_id=new_id("msg"),
        event_id=event_id,
        event_type=event_type,
        payload=body,
        state="pending",
        attempts=0,
        last_error="",
        created_at=clock.now(),
    )


def _message(delivery: WebhookDelivery) -> OutboxMessage:
    return OutboxMessage(
        kind="webhook",
        channel=CHANNEL,
        to_address=str(delivery.id),
        locale="en",
        subject=delivery.event_type,
        body_text="",  # the body is the delivery's payload, kept once
        body_html="",
        next_attempt_at=clock.now(),
    )


def queue_messages(session: Session, deliveries: list[WebhookDelivery]) -> None:
    """An outbox message for each (flushed) delivery, so the worker (re)sends it: three
    flushes in all, whatever the number of endpoints."""
    messages = [_message(d) for d in deliveries]
    session.add_all(messages)
    session.flush()
    for delivery, message in zip(deliveries, messages, strict=True):
        delivery.outbox_id = message.id
        delivery.state = "pending"
    session.flush()


def emit(
    session: Session,
    event_type: str,
    data: dict[str, Any],
    *,
    now: datetime,
    endpoint_id: int | None = None,
) -> list[WebhookDelivery]:
    """Send ``event_type`` with ``data`` to every active endpoint that subscribed to it (or to
    endpoint ``endpoint_id`` alone, whatever it subscribed to: the test event). Writes one
    delivery and one outbox message per endpoint, in the caller's transaction."""
    endpoints = _wanted(session, event_type, endpoint_id)
    if not endpoints:
        return []
    event_id = new_id("evt")
    body = dumps(
        {
            "id": event_id,
            "type": event_type,
            "timestamp": now.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "data": data,
        }
    )
    deliveries = [
        _delivery(endpoint, event_id=event_id, event_type=event_type, body=body)
        for endpoint in endpoints
    ]
    session.add_all(deliveries)
    session.flush()
    queue_messages(session, deliveries)
    return deliveries
