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
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.auth.models import User
from portal.casework.models import Task
from portal.catalogue.models import Department
from portal.core.audit import AuditEntry
from portal.core.outbox import OutboxMessage
from portal.outbound.config import Endpoint, endpoints
from portal.outbound.models import OutboundTask
from portal.requests.events import add_event
from portal.requests.models import ServiceRequest

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
    _queue(session, link, task, endpoint, dedupe_key=f"{KIND}:{link.id}")
    add_event(
        session,
        request,
        "internal_note",
        actor_kind="system",
        data={"action": "task_sent_out", "task_id": task.id, "system": endpoint.name},
    )
    session.flush()
    return link


def _queue(
    session: Session, link: OutboundTask, task: Task, endpoint: Endpoint, *, dedupe_key: str
) -> None:
    """The outbox message the worker's ``Open311Sender`` posts for ``link``."""
    session.add(
        OutboxMessage(
            kind=KIND,
            channel=CHANNEL,
            dedupe_key=dedupe_key,
            to_address=str(link.id),
            subject=f"{endpoint.name}: {task.request.reference} {task.title}"[:300],
            body_text=json.dumps(post_form(task, endpoint, link.service_code)),
            body_html="",
        )
    )


#: Why a failed task cannot be sent again (``send_again``'s answers).
NOT_FAILED = "not_failed"
NO_ENDPOINT = "no_endpoint"
NO_SERVICE_CODE = "no_service_code"


def send_again(session: Session, link: OutboundTask, *, by: User, now: datetime) -> str | None:
    """Queue a task that failed (``state`` ``failed``) once more, to its department's endpoint
    as configured now (an administrator may have fixed the city's configuration since): None
    when queued, else why not (``NOT_FAILED``, ``NO_ENDPOINT``: the department is no longer
    served by one, ``NO_SERVICE_CODE``: still no code for the category). The task keeps its
    Idempotency-Key, so a POST that did reach the endpoint before is not filed twice there.
    Flushes; the caller commits."""
    if link.state != "failed":
        return NOT_FAILED
    task = session.get(Task, link.task_id)
    endpoint = endpoints(session).get(task.department.code) if task is not None else None
    if task is None or endpoint is None:
        return NO_ENDPOINT
    service_code = endpoint.code_for(task.request.category.code)
    if not service_code:
        return NO_SERVICE_CODE
    before = {"system": link.system, "error": link.last_error}
    link.system = endpoint.name
    link.endpoint = endpoint.endpoint
    link.jurisdiction_id = endpoint.jurisdiction_id
    link.api_key_env = endpoint.api_key_env
    link.service_code = service_code
    link.state = "posting"
    link.last_error = ""
    _queue(session, link, task, endpoint, dedupe_key=f"{KIND}:{link.id}:{now.timestamp():.6f}")
    session.add(
        AuditEntry(
            actor_id=by.id,
            entity="outbound_task",
            entity_id=str(link.task_id),
            action="sent_again",
            before=before,
            after={"system": link.system, "endpoint": link.endpoint},
        )
    )
    add_event(
        session,
        task.request,
        "internal_note",
        actor=by,
        actor_kind="staff",
        data={"action": "task_sent_out", "task_id": task.id, "system": endpoint.name},
    )
    session.flush()
    return None


@dataclass(frozen=True)
class Listed:
    """One line of the administrators' list."""

    link: OutboundTask
    task_title: str
    department: str
    reference: str


def counts(session: Session) -> dict[tuple[str, str], int]:
    """How many tasks each outside system has in each state."""
    rows = session.execute(
        select(OutboundTask.system, OutboundTask.state, func.count()).group_by(
            OutboundTask.system, OutboundTask.state
        )
    )
    return {(system, state): n for system, state, n in rows}


@dataclass(frozen=True)
class Page:
    rows: list[Listed]
    #: The ``before`` of the next page (None: this is the last).
    next_before: int | None


def page(
    session: Session, *, state: str = "", system: str = "", before: int | None = None, limit: int
) -> Page:
    """Newest first, ``limit`` at a time below the id ``before`` (keyset)."""
    query = (
        select(OutboundTask, Task.title, Department.name, ServiceRequest.reference)
        .join(Task, Task.id == OutboundTask.task_id)
        .join(Department, Department.id == Task.department_id)
        .join(ServiceRequest, ServiceRequest.id == Task.request_id)
        .order_by(OutboundTask.id.desc())
        .limit(limit + 1)
    )
    if state:
        query = query.where(OutboundTask.state == state)
    if system:
        query = query.where(OutboundTask.system == system)
    if before is not None:
        query = query.where(OutboundTask.id < before)
    rows = [
        Listed(link, title, department, reference or "")
        for link, title, department, reference in session.execute(query)
    ]
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, rows[-1].link.id if more else None)


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
