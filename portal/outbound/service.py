"""Handing tasks to outside Open311 endpoints (no Flask here).

``hand_over`` runs on casework's ``task_opened`` and routing's ``case_routed`` hooks, in the
transaction that opens the task: when the task's department is served by an endpoint
(``portal.outbound.config``) it writes an ``OutboundTask`` and an outbox message (channel
``open311``) holding the POST's form; the worker's ``Open311Sender`` posts it. Each outcome is
recorded here: ``record_filed``, ``record_failure`` (the last one flags the task for staff).
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.casework.models import Task
from portal.core.audit import AuditEntry
from portal.core.outbox import OutboxMessage
from portal.outbound.config import Endpoint, endpoints
from portal.outbound.models import OutboundTask
from portal.requests.events import add_event

CHANNEL = "open311"
KIND = "open311_outbound"
#: Open311 descriptions are free text; the outside system gets at most this much of ours.
MAX_DESCRIPTION = 4000
ERROR_LENGTH = 1000


def hand_over(session: Session, task: Task) -> OutboundTask | None:
    """Queue ``task`` for its department's outside endpoint, if it has one (once per task).
    Flushes; the caller commits."""
    endpoint = endpoints(session).get(task.department.code)
    if endpoint is None:
        return None
    existing = session.scalar(select(OutboundTask).where(OutboundTask.task_id == task.id))
    if existing is not None:
        return existing
    request = task.request
    link = OutboundTask(
        task_id=task.id,
        system=endpoint.name,
        endpoint=endpoint.endpoint,
        jurisdiction_id=endpoint.jurisdiction_id,
        api_key_env=endpoint.api_key_env,
        service_code=endpoint.code_for(request.category.code),
        idempotency_key=uuid.uuid4().hex,
        state="posting",
    )
    session.add(link)
    session.flush()
    if not link.service_code:
        _give_up(session, link, f'no service code for category "{request.category.code}"')
        return link
    session.add(
        OutboxMessage(
            kind=KIND,
            channel=CHANNEL,
            dedupe_key=f"{KIND}:{link.id}",
            to_address=str(link.id),
            subject=f"{endpoint.name}: {request.reference} {task.title}"[:300],
            body_text=json.dumps(post_form(task, endpoint, link.service_code)),
            body_html="",
        )
    )
    add_event(
        session,
        request,
        "internal_note",
        actor_kind="system",
        data={"action": "task_sent_out", "task_id": task.id, "system": endpoint.name},
    )
    session.flush()
    return link


def post_form(task: Task, endpoint: Endpoint, service_code: str) -> dict[str, str]:
    """The POST requests.json form (without the API key, which is read when sending)."""
    request = task.request
    text = "\n\n".join(
        part
        for part in (f"{request.reference}: {task.title}".strip(": "), request.description)
        if part
    )
    form: dict[str, str] = {
        "service_code": service_code,
        "description": text[:MAX_DESCRIPTION],
    }
    if endpoint.jurisdiction_id:
        form["jurisdiction_id"] = endpoint.jurisdiction_id
    if request.lat is not None and request.lon is not None:
        form["lat"] = f"{request.lat:.6f}"
        form["long"] = f"{request.lon:.6f}"
    if request.address:
        form["address_string"] = request.address
    return form


def answer_ids(body: Any) -> tuple[str, str]:
    """``(service_request_id, token)`` from a POST's JSON answer (a one-item list)."""
    item = body[0] if isinstance(body, list) and body else body
    if not isinstance(item, dict):
        return "", ""
    return str(item.get("service_request_id") or ""), str(item.get("token") or "")


def record_filed(
    session: Session, link: OutboundTask, *, external_id: str, token: str, now: datetime
) -> None:
    """The endpoint accepted the task: its id (or a token to resolve later)."""
    link.state = "filed"
    link.external_id = external_id[:120]
    link.token = token[:120]
    link.posted_at = now
    link.last_synced_at = now
    link.last_error = ""
    link.attempts += 1
    session.add(
        AuditEntry(
            entity="outbound_task",
            entity_id=str(link.task_id),
            action="posted",
            after={"system": link.system, "external_id": link.external_id, "token": link.token},
        )
    )
    session.flush()


def record_failure(session: Session, link: OutboundTask, *, error: str, final: bool) -> None:
    """A POST failed: kept for staff to see; ``final`` (permanent, or the last attempt)
    flags the task (state ``failed``) instead of trying again."""
    link.attempts += 1
    link.last_error = error[:ERROR_LENGTH]
    if final:
        _give_up(session, link, link.last_error)
    session.flush()


def _give_up(session: Session, link: OutboundTask, error: str) -> None:
    link.state = "failed"
    link.last_error = error[:ERROR_LENGTH]
    session.add(
        AuditEntry(
            entity="outbound_task",
            entity_id=str(link.task_id),
            action="failed",
            after={"system": link.system, "error": link.last_error},
        )
    )
    task = session.get(Task, link.task_id)
    if task is not None:
        add_event(
            session,
            task.request,
            "internal_note",
            actor_kind="system",
            body=link.last_error,
            data={"action": "task_send_failed", "task_id": task.id, "system": link.system},
        )
    session.flush()


def link_for(session: Session, task_id: int) -> OutboundTask | None:
    return session.scalar(select(OutboundTask).where(OutboundTask.task_id == task_id))


def links_for(session: Session, task_ids: list[int]) -> dict[int, OutboundTask]:
    """The outbound state of each of these tasks that was handed to an outside system."""
    if not task_ids:
        return {}
    rows = session.scalars(select(OutboundTask).where(OutboundTask.task_id.in_(task_ids)))
    return {row.task_id: row for row in rows}
