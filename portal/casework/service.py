"""Case and task operations of the back office (no Flask here).

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

import secrets
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.auth.models import User
from portal.casework import hooks
from portal.casework.assignment import pick_assignee
from portal.casework.models import ResponseTemplate, Task
from portal.catalogue.models import Department, ServiceCategory
from portal.core import clock
from portal.core.config import Settings
from portal.core.i18n import _l
from portal.core.i18n import gettext as translate
from portal.requests import updates
from portal.requests.events import add_event
from portal.requests.hooks import StatusChanged, case_status_changed
from portal.requests.models import (
    CLOSED_STATUSES,
    PRIORITIES,
    Event,
    Follower,
    InvalidTransition,
    ServiceRequest,
    Support,
)
from portal.staff.models import StaffMembership

__all__ = [
    "CaseError",
    "InvalidTransition",
    "StaleCase",
    "acknowledge",
    "add_internal_note",
    "add_task",
    "ask_question",
    "assign_task",
    "cancel_task",
    "change_case_status",
    "check_version",
    "complete_task",
    "merge_duplicate",
    "reopen_case",
    "reply",
    "set_priority",
    "transfer_task",
]

MAX_TITLE = 200
MAX_CHANGES = 20


RESOLVED_NOTE = _l("All the work on this request is done.")


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
    session: Session, request: ServiceRequest, *, actor: User | None, body: str = "", **data: Any
) -> Event:
    return add_event(
        session, request, "internal_note", actor=actor, actor_kind="staff", body=body, data=data
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


def follow_status(session: Session, change: StatusChanged) -> None:
    """Handler of ``case_status_changed``: a closed case leaves no open work behind, and a
    reopened one gets an owning task again."""
    request = change.request
    if not request.is_open:
        _close_tasks(session, request)
        return
    request.duplicate_of_id = None
    if change.reopened:
        actor = change.actor if change.actor_kind == "staff" else None
        ensure_owner(session, request, actor=actor)


def ensure_owner(session: Session, request: ServiceRequest, *, actor: User | None) -> None:
    """Reopened work needs an owner again: a case left without open tasks (reopened by staff,
    by its reporter or through the survey) gets one for its department, back in its queue."""
    if request.is_open and not _open_tasks(session, request):
        add_task(
            session,
            request=request,
            department=request.department,
            title=request.category.name,
            actor=actor,
        )


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


def merge_duplicate(
    session: Session,
    *,
    settings: Settings,
    request: ServiceRequest,
    into: ServiceRequest,
    actor: User,
    version: int | None = None,
    since_event_id: int | None = None,
) -> Event:
    """Close ``request`` as a duplicate of ``into``: its supporters and followers move there
    and its reporter follows ``into``. Raises ``CaseError("self" | "closed")``,
    ``InvalidTransition``, ``StaleCase``."""
    if into.id == request.id:
        raise CaseError("self")
    if into.status in CLOSED_STATUSES or into.duplicate_of_id is not None:
        raise CaseError("closed")
    if version is not None:
        check_version(session, request=request, version=version, since_event_id=since_event_id)
    department = acting_department(session, request, actor)
    previous = request.move_to("duplicate")
    request.duplicate_of_id = into.id
    event = add_event(
        session,
        request,
        "duplicate",
        actor=actor,
        actor_kind="staff",
        data={
            "of": into.reference,
            "from": previous,
            "to": "duplicate",
            "department_name": department.name,
        },
    )
    updates.notify(
        session,
        settings=settings,
        request=request,
        event=event,
        reporter=True,
        followers=True,
        with_message=False,
    )
    case_status_changed.fire(
        session,
        StatusChanged(
            settings=settings,
            request=request,
            event=event,
            previous=previous,
            actor=actor,
            actor_kind="staff",
        ),
    )
    _move_supporters(session, request, into)
    _move_followers(session, request, into)
    _internal(session, into, actor=actor, action="merged", duplicate=request.reference)
    return event


def _move_supporters(session: Session, source: ServiceRequest, into: ServiceRequest) -> None:
    taken = select(Support.supporter_key).where(Support.request_id == into.id)
    moved = 0
    for support in session.scalars(select(Support).where(Support.request_id == source.id)):
        if session.scalar(taken.where(Support.supporter_key == support.supporter_key)):
            session.delete(support)
        else:
            support.request_id = into.id
            moved += 1
    session.flush()
    into.support_count = (into.support_count or 0) + moved
    source.support_count = 0


def _move_followers(session: Session, source: ServiceRequest, into: ServiceRequest) -> None:
    existing = {
        email.lower()
        for email in session.scalars(select(Follower.email).where(Follower.request_id == into.id))
    }
    for follower in session.scalars(select(Follower).where(Follower.request_id == source.id)):
        if follower.email.lower() in existing:
            session.delete(follower)
        else:
            existing.add(follower.email.lower())
            follower.request_id = into.id
    session.flush()
    email = (source.reporter_email or "").strip().lower()
    if not email:
        return
    follower = session.scalar(
        select(Follower).where(Follower.request_id == into.id, func.lower(Follower.email) == email)
    )
    now = clock.now()
    if follower is None:
        locale = source.reporter.locale if source.reporter is not None else source.locale
        follower = Follower(
            request_id=into.id,
            email=email,
            user_id=source.reporter_id,
            locale=locale or "en",
            token=secrets.token_urlsafe(32),
            created_at=now,
        )
        session.add(follower)
    follower.confirmed_at = follower.confirmed_at or now
    session.flush()


# -- tasks ------------------------------------------------------------------------------------


def _open_tasks(session: Session, request: ServiceRequest) -> list[Task]:
    return list(
        session.scalars(
            select(Task)
            .where(Task.request_id == request.id, Task.is_open.is_(True))
            .order_by(Task.id)
        )
    )


def _close(session: Session, task: Task, status: str) -> None:
    now = clock.now()
    task.status = status
    task.is_open = False
    task.closed_at = now
    task.updated_at = now
    hooks.task_closed.fire(session, hooks.TaskChanged(task, now))


def _close_tasks(session: Session, request: ServiceRequest) -> None:
    """A closed case leaves no open work behind."""
    for task in _open_tasks(session, request):
        _close(session, task, "cancelled")
    session.flush()


def add_task(
    session: Session,
    *,
    request: ServiceRequest,
    department: Department,
    title: str,
    actor: User | None,
    assignee: User | None = None,
) -> Task:
    """A new open task for ``department`` on an open case, given to ``assignee`` or else as
    the department chooses (queue, round-robin, least loaded). Raises
    ``CaseError("case_closed" | "title" | "assignee")``."""
    title = (title or "").strip()
    if not request.is_open:
        raise CaseError("case_closed")
    if not title or len(title) > MAX_TITLE:
        raise CaseError("title")
    if assignee is not None and not is_active_member(
        session, user=assignee, department_id=department.id
    ):
        raise CaseError("assignee")
    now = clock.now()
    assignee_id = assignee.id if assignee else pick_assignee(session, department)
    task = Task(
        request_id=request.id,
        department_id=department.id,
        title=title,
        assignee_id=assignee_id,
        status="open",
        is_open=True,
        created_by_id=actor.id if actor else None,
        created_at=now,
        updated_at=now,
    )
    session.add(task)
    session.flush()
    hooks.task_opened.fire(session, hooks.TaskChanged(task, now))
    _internal(
        session,
        request,
        actor=actor,
        action="task_added",
        task_id=task.id,
        department=department.name,
        title=title,
    )
    return task


def assign_task(
    session: Session,
    *,
    task: Task,
    assignee: User | None,
    actor: User,
    settings: Settings | None = None,
) -> Task:
    """Give an open task to an active member of its department (None: back to the queue).
    With ``settings``, someone given a task by another member gets a notice."""
    if not task.is_open:
        raise CaseError("task_closed")
    if assignee is not None and not is_active_member(
        session, user=assignee, department_id=task.department_id
    ):
        raise CaseError("assignee")
    before = task.assignee.name if task.assignee else None
    task.assignee_id = assignee.id if assignee else None
    task.updated_at = clock.now()
    session.flush()
    _internal(
        session,
        task.request,
        actor=actor,
        action="task_assigned",
        task_id=task.id,
        department=task.department.name,
        **{"from": before},
        to=assignee.name if assignee else None,
    )
    hooks.task_assigned.fire(session, hooks.TaskAssigned(task, assignee, actor, settings))
    return task


def transfer_task(
    session: Session,
    *,
    task: Task,
    department: Department,
    reason: str,
    actor: User,
) -> Task:
    """Hand an open task to another department with a reason (kept as an internal note).
    Returns the new task. Raises ``CaseError("task_closed" | "same_department")``."""
    reason = _text(reason)
    if not task.is_open:
        raise CaseError("task_closed")
    if department.id == task.department_id:
        raise CaseError("same_department")
    request = task.request
    _close(session, task, "transferred")
    new = Task(
        request_id=request.id,
        department_id=department.id,
        title=task.title,
        assignee_id=pick_assignee(session, department),
        status="open",
        is_open=True,
        transferred_from_id=task.id,
        created_by_id=actor.id,
        created_at=clock.now(),
        updated_at=clock.now(),
    )
    session.add(new)
    session.flush()
    hooks.task_opened.fire(session, hooks.TaskChanged(new, new.created_at))
    if request.department_id == task.department_id and not any(
        t.department_id == task.department_id for t in _open_tasks(session, request)
    ):
        request.department_id = department.id  # the case now belongs to the new department
    _internal(
        session,
        request,
        actor=actor,
        body=reason,
        action="task_transferred",
        task_id=new.id,
        **{"from": task.department.name},
        to=department.name,
    )
    return new


def complete_task(
    session: Session,
    *,
    settings: Settings,
    task: Task,
    actor: User,
    note: str = "",
) -> Task:
    """Mark a task done; the case resolves when it was its last open task."""
    return _finish(session, settings=settings, task=task, actor=actor, note=note, status="done")


def cancel_task(
    session: Session,
    *,
    settings: Settings,
    task: Task,
    actor: User,
    note: str = "",
) -> Task:
    """Cancel a task; the case resolves when it was its last open task."""
    return _finish(
        session, settings=settings, task=task, actor=actor, note=note, status="cancelled"
    )


def _finish(
    session: Session, *, settings: Settings, task: Task, actor: User, note: str, status: str
) -> Task:
    note = _text(note, required=False)
    if not task.is_open:
        raise CaseError("task_closed")
    request = task.request
    _close(session, task, status)
    session.flush()
    _internal(
        session,
        request,
        actor=actor,
        body=note,
        action=f"task_{status}",
        task_id=task.id,
        department=task.department.name,
    )
    if request.is_open and request.can_move_to("resolved") and not _open_tasks(session, request):
        event = updates.change_status(
            session,
            settings=settings,
            request=request,
            target="resolved",
            actor=actor,
            note=translate(_resident_locale(request), RESOLVED_NOTE),
        )
        _sign(session, event, task.department)
    return task


def _resident_locale(request: ServiceRequest) -> str:
    if request.reporter is not None and request.reporter.locale:
        return request.reporter.locale
    return request.locale or "en"


# -- response templates -----------------------------------------------------------------------


def response_templates(session: Session, request: ServiceRequest) -> list[ResponseTemplate]:
    """Active templates of the case's department and the city-wide ones."""
    return list(
        session.scalars(
            select(ResponseTemplate)
            .where(
                ResponseTemplate.active.is_(True),
                (ResponseTemplate.department_id == request.department_id)
                | ResponseTemplate.department_id.is_(None),
            )
            .order_by(
                ResponseTemplate.department_id.is_(None),
                ResponseTemplate.position,
                ResponseTemplate.id,
            )
            .limit(200)
        )
    )


def fill_template(template: ResponseTemplate, request: ServiceRequest, locale: str) -> str:
    """The template's text with ``{resident_name}``, ``{reference}``, ``{category}`` filled."""
    name = request.reporter.name if request.reporter is not None else request.contact_name
    values = {
        "{resident_name}": name or "",
        "{reference}": request.reference or "",
        "{category}": request.category.t("name", locale),
    }
    text = template.t("body", locale)
    for placeholder, value in values.items():
        text = text.replace(placeholder, value)
    return text
