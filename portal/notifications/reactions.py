"""Staff notices that follow casework and the resident (``portal.core.hooks``): someone given
a task by another member gets a notice, and when the reporter answers a question or writes on
a case (tracking page or email), its assignees are told — or, while nobody has it, the members
of its department (its queue). Connected by ``connect()``."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.auth.models import User
from portal.casework import hooks as casework_hooks
from portal.casework.models import Task
from portal.notifications.staff import excerpt, notify_staff
from portal.requests import hooks as request_hooks
from portal.requests.models import ServiceRequest
from portal.staff.models import StaffMembership

#: At most this many people are told about one message (a department's queue).
RECIPIENT_LIMIT = 200


def _task_assigned(session: Session, change: casework_hooks.TaskAssigned) -> None:
    task, assignee = change.task, change.assignee
    if change.settings is None or assignee is None or assignee.id == change.actor.id:
        return
    notify_staff(
        session,
        settings=change.settings,
        user=assignee,
        kind="task_assigned",
        request=task.request,
        task=task,
        data={"due_at": task.due_at.isoformat() if task.due_at else None},
    )


def case_people(session: Session, request: ServiceRequest) -> list[User]:
    """Who hears from the resident: the assignees of the case's open tasks; while none of
    them is assigned, the active members of the case's department (its queue)."""
    assignees = list(
        session.scalars(
            select(User)
            .join(Task, Task.assignee_id == User.id)
            .where(Task.request_id == request.id, Task.is_open.is_(True), User.active.is_(True))
            .distinct()
            .order_by(User.id)
            .limit(RECIPIENT_LIMIT)
        )
    )
    if assignees or request.department_id is None:
        return assignees
    return list(
        session.scalars(
            select(User)
            .join(StaffMembership, StaffMembership.user_id == User.id)
            .where(StaffMembership.department_id == request.department_id, User.active.is_(True))
            .order_by(User.id)
            .limit(RECIPIENT_LIMIT)
        )
    )


def _resident_wrote(session: Session, change: request_hooks.ResidentWrote) -> None:
    request, event = change.request, change.event
    kind = "resident_answered" if event.kind == "answer" else "resident_wrote"
    for user in case_people(session, request):
        if user.id == request.reporter_id:  # a member who filed on their own account
            continue
        notify_staff(
            session,
            settings=change.settings,
            user=user,
            kind=kind,
            request=request,
            data={
                "excerpt": excerpt(event.body or ""),
                "event_id": event.id,
                "department_name": request.department.t("name", user.locale)
                if request.department is not None
                else None,
            },
        )


def connect() -> None:
    casework_hooks.task_assigned.connect(_task_assigned)
    request_hooks.resident_wrote.connect(_resident_wrote)
