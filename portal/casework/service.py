"""Case operations of the back office (no Flask here); tasks are in ``tasks.py``, merging
duplicates in ``merging.py``, response templates in ``responses.py``.

Every function flushes, never commits; the web request commits once. Changes append to the
case's timeline with ``add_event`` (actor = the staff member, ``actor_kind="staff"``); public
entries carry ``data["department_name"]`` so residents see which department spoke. Status
changes, replies and questions reuse ``portal.requests.updates``, which emails the reporter
and followers. Internal entries (``internal_note``) are never public and never emailed; task
changes are internal entries whose ``data["action"]`` says what happened.

Edit conflicts: actions on the case take the ``version`` the form was rendered with and raise
``StaleCase`` (listing what changed since) when the case moved on meanwhile.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.auth.models import User
from portal.casework import hooks
from portal.casework.models import Task
from portal.catalogue.models import Department, ServiceCategory
from portal.core import clock
from portal.core.config import Settings
from portal.requests import updates
from portal.requests.events import add_event
from portal.requests.models import (
    PRIORITIES,
    Event,
    InvalidTransition,
    ServiceRequest,
)
from portal.staff.models import StaffMembership

__all__ = [
    "CaseError",
    "InvalidTransition",
    "StaleCase",
    "acknowledge",
    "add_internal_note",
    "ask_question",
    "change_case_status",
    "check_version",
    "reopen_case",
    "reply",
    "set_priority",
]

MAX_TITLE = 200
MAX_CHANGES = 20


class CaseError(ValueError):
    """An action that cannot be done. ``code`` says why (shown next to the field)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class StaleCase(Exception):
    """The case changed since the form was rendered: ``changes`` are the newer entries."""

    def __init__(self, *, request: ServiceRequest, version: int, changes: list[Event]) -> None:
        super().__init__(f"{request.reference} is at version {request.version}, not {version}")
        self.request = request
        self.version = version
        self.changes = changes


# -- helpers ----------------------------------------------------------------------------------


def check_version(
    session: Session,
    *,
    request: ServiceRequest,
    version: int | None,
    since_event_id: int | None = None,
) -> None:
    """Raise ``StaleCase`` unless ``version`` is the case's current version.

    ``since_event_id`` (the newest entry the editor saw) lists exactly what changed; without
    it the newest entries, one per version step, are listed.
    """
    if version == request.version:
        return
    query = select(Event).where(Event.request_id == request.id)
    if since_event_id is not None:
        query = query.where(Event.id > since_event_id).order_by(Event.id).limit(MAX_CHANGES)
        changes = list(session.scalars(query))
    else:
        steps = max(1, min(MAX_CHANGES, request.version - (version or 0)))
        changes = sorted(
            session.scalars(query.order_by(Event.id.desc()).limit(steps)), key=lambda e: e.id
        )
    raise StaleCase(request=request, version=version or 0, changes=changes)


def _member_department_ids(session: Session, user: User | None) -> set[int]:
    if user is None:
        return set()
    return set(
        session.scalars(
            select(StaffMembership.department_id).where(StaffMembership.user_id == user.id)
        )
    )


def is_active_member(session: Session, *, user: User, department_id: int) -> bool:
    """Whether ``user`` is an active staff member working in ``department_id``."""
    if not user.active or user.role == "resident":
        return False
    return (
        session.scalar(
            select(StaffMembership.id).where(
                StaffMembership.user_id == user.id, StaffMembership.department_id == department_id
            )
        )
        is not None
    )


def acting_department(session: Session, request: ServiceRequest, actor: User | None) -> Department:
    """The department ``actor`` speaks for on ``request``: the case's own if they work there,
    else the department of one of its open tasks they work in, else the case's."""
    mine = _member_department_ids(session, actor)
    if request.department_id in mine or not mine:
        return request.department
    task = session.scalar(
        select(Task)
        .where(Task.request_id == request.id, Task.department_id.in_(mine))
        .order_by(Task.is_open.desc(), Task.id)
    )
    return task.department if task is not None else request.department


def _sign(session: Session, event: Event, department: Department, **extra: Any) -> Event:
    event.data = {**(event.data or {}), "department_name": department.name, **extra}
    session.flush()
    return event


def _internal(
    session: Session,
    request: ServiceRequest,
    *,
    actor: User | None,
    body: str = "",
    actor_kind: str = "staff",
    **data: Any,
) -> Event:
    return add_event(
        session, request, "internal_note", actor=actor, actor_kind=actor_kind, body=body, data=data
    )


def _text(text: str, *, required: bool = True, limit: int = updates.MAX_MESSAGE) -> str:
    text = (text or "").strip()
    if required and not text:
        raise updates.MessageRequired()
    if len(text) > limit:
        raise updates.MessageTooLong()
    return text


# -- case actions -----------------------------------------------------------------------------


def change_case_status(
    session: Session,
    *,
    settings: Settings,
    request: ServiceRequest,
    target: str,
    actor: User,
    note: str = "",
    version: int | None,
    since_event_id: int | None = None,
) -> Event:
    """Move the case to ``target`` (tells the resident). Raises ``InvalidTransition``,
    ``StaleCase``, ``MessageTooLong``."""
    if target == "duplicate":
        raise CaseError("use_merge")  # a duplicate needs the request to keep: merge_duplicate
    check_version(session, request=request, version=version, since_event_id=since_event_id)
    department = acting_department(session, request, actor)
    event = updates.change_status(
        session, settings=settings, request=request, target=target, actor=actor, note=note
    )
    return _sign(session, event, department)


def acknowledge(
    session: Session,
    *,
    settings: Settings,
    request: ServiceRequest,
    actor: User,
    version: int | None,
    since_event_id: int | None = None,
) -> Event:
    """New -> acknowledged. Raises ``InvalidTransition`` from any other status."""
    if request.status != "new":
        raise InvalidTransition(request.status, "acknowledged")
    return change_case_status(
        session,
        settings=settings,
        request=request,
        target="acknowledged",
        actor=actor,
        version=version,
        since_event_id=since_event_id,
    )


def set_priority(
    session: Session,
    *,
    request: ServiceRequest,
    priority: str,
    actor: User,
    version: int | None,
    since_event_id: int | None = None,
) -> Event | None:
    """Change the priority (internal entry ``{"from", "to"}``); None when unchanged."""
    if priority not in PRIORITIES:
        raise CaseError("priority")
    check_version(session, request=request, version=version, since_event_id=since_event_id)
    if priority == request.priority:
        return None
    before, request.priority = request.priority, priority
    event = _internal(
        session, request, actor=actor, action="priority", **{"from": before}, to=priority
    )
    hooks.case_reclassified.fire(session, hooks.CaseReclassified(request, "priority"))
    return event


def change_category(
    session: Session,
    *,
    settings: Settings,
    request: ServiceRequest,
    category: ServiceCategory,
    actor: User,
    version: int | None,
    since_event_id: int | None = None,
) -> Event | None:
    """Re-file the case under another active category (internal entry ``{"from", "to"}``);
    its SLA clocks take the policy that now applies. None when unchanged. Raises
    ``CaseError("category")``, ``StaleCase``."""
    if category is None or not category.active:
        raise CaseError("category")
    check_version(session, request=request, version=version, since_event_id=since_event_id)
    if category.id == request.category_id:
        return None
    before = request.category.name
    request.category_id = category.id
    request.category = category
    request.updated_at = clock.now()
    event = _internal(
        session, request, actor=actor, action="category", **{"from": before}, to=category.name
    )
    hooks.case_reclassified.fire(session, hooks.CaseReclassified(request, "category"))
    return event


def reply(
    session: Session,
    *,
    settings: Settings,
    request: ServiceRequest,
    body: str,
    actor: User,
    version: int | None,
    since_event_id: int | None = None,
) -> Event:
    """A public message to the resident (emailed to them and to followers)."""
    check_version(session, request=request, version=version, since_event_id=since_event_id)
    department = acting_department(session, request, actor)
    event = updates.post_comment(
        session, settings=settings, request=request, body=body, actor=actor, actor_kind="staff"
    )
    return _sign(session, event, department)


def add_internal_note(
    session: Session,
    *,
    request: ServiceRequest,
    body: str,
    actor: User,
) -> Event:
    """A note for staff only: never public, never emailed."""
    return _internal(session, request, actor=actor, body=_text(body), action="note")


def ask_question(
    session: Session,
    *,
    settings: Settings,
    request: ServiceRequest,
    question: str,
    actor: User,
    version: int | None,
    since_event_id: int | None = None,
) -> Event:
    """Ask the resident; the case waits on them. Raises ``InvalidTransition``."""
    check_version(session, request=request, version=version, since_event_id=since_event_id)
    department = acting_department(session, request, actor)
    event = updates.ask_resident(
        session, settings=settings, request=request, question=question, actor=actor
    )
    return _sign(session, event, department)


def reopen_case(
    session: Session,
    *,
    settings: Settings,
    request: ServiceRequest,
    actor: User,
    note: str = "",
    version: int | None,
    since_event_id: int | None = None,
) -> Event:
    """Staff reopen a closed case (back to in progress, the resident is told). A case left
    without open tasks gets a new one for its department."""
    if request.is_open:
        raise InvalidTransition(request.status, "in_progress")
    return change_case_status(
        session,
        settings=settings,
        request=request,
        target="in_progress",
        actor=actor,
        note=note,
        version=version,
        since_event_id=since_event_id,
    )
