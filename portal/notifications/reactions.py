"""Staff notices that follow casework (``portal.core.hooks``): someone given a task by another
member gets a notice. Connected by ``connect()``."""

from __future__ import annotations

from sqlalchemy.orm import Session

from portal.casework import hooks as casework_hooks
from portal.notifications.staff import notify_staff


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


def connect() -> None:
    casework_hooks.task_assigned.connect(_task_assigned)
