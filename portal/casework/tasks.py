"""A case's tasks (no Flask here): adding, assigning, transferring, finishing them — the last
one finished resolves the case — and the case's own rules for them: a closed case leaves no open
task behind, and a reopened case gets an owning task again (``follow_status``, connected to
``case_status_changed``), whoever reopened it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.auth.models import User
from portal.casework import hooks
from portal.casework.assignment import pick_assignee
from portal.casework.models import Task
from portal.casework.service import (
    MAX_TITLE,
    CaseError,
    _internal,
    _sign,
    _text,
    is_active_member,
)
from portal.catalogue.models import Department
from portal.core import clock
from portal.core.config import Settings
from portal.core.i18n import gettext as translate
from portal.requests import updates
from portal.requests.event_text import SYSTEM_NOTES
from portal.requests.hooks import StatusChanged
from portal.requests.models import ServiceRequest

RESOLVED_NOTE = SYSTEM_NOTES["work_done"]


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
    # "from" is a keyword, so the entry's data is spelled as a dict.
    change: dict[str, Any] = {
        "from": task.assignee.name if task.assignee else None,
        "to": assignee.name if assignee else None,
    }
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
        **change,
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


def complete_task_for_system(
    session: Session, *, settings: Settings, task: Task, system: str, note: str = ""
) -> Task:
    """Mark a task done by an outside system (``system``: its name; outbound Open311): the
    same as staff marking it done — its clock stops, the case resolves when it was its last
    open task — with the system, not a person, on the timeline."""
    return _finish(
        session, settings=settings, task=task, actor=None, note=note, status="done", system=system
    )


def _finish(
    session: Session,
    *,
    settings: Settings,
    task: Task,
    actor: User | None,
    note: str,
    status: str,
    system: str = "",
) -> Task:
    note = _text(note, required=False)
    if not task.is_open:
        raise CaseError("task_closed")
    request = task.request
    _close(session, task, status)
    session.flush()
    extra = {"system": system} if system else {}
    _internal(
        session,
        request,
        actor=actor,
        actor_kind="system" if system else "staff",
        body=note,
        action=f"task_{status}",
        task_id=task.id,
        department=task.department.name,
        **extra,
    )
    if request.is_open and request.can_move_to("resolved") and not _open_tasks(session, request):
        event = updates.change_status(
            session,
            settings=settings,
            request=request,
            target="resolved",
            actor=actor,
            actor_kind="system" if system else "staff",
            note=translate(_resident_locale(request), RESOLVED_NOTE),
        )
        # The timeline words the note for each reader from "note" (portal.requests.event_text);
        # the body keeps what the resident was emailed.
        _sign(session, event, task.department, note="work_done")
    return task


def _resident_locale(request: ServiceRequest) -> str:
    if request.reporter is not None and request.reporter.locale:
        return request.reporter.locale
    return request.locale or "en"
